"""``register`` holds a new artifact to its policy's ``artifact.code_execution`` before a byte is
staged: a refused file leaves nothing registered, and the error names the file and the import.
An MLflow directory whose ``MLmodel`` names a path outside it is refused under every rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelreg.edges import weights
from modelreg.edges.snapshot import WorkTree
from modelreg.errors import InputError, ModelregError
from modelreg.policies import select
from modelreg.policies.weights import Rule, judge, strictest


def check(root: Path, model: str, model_doc: dict[str, Any] | None, tags: dict[str, str],
          artifact: Path) -> None:
    """Raise InputError when the policy governing ``model`` refuses what ``artifact`` holds.

    ``model_doc`` is the model.yaml being created (None: the one in the work tree).
    """
    rule = _rule(root, model, model_doc, tags)
    try:
        # under ``allow`` only the MLmodel is read: a path outside the directory is refused always
        found = weights.inspect(artifact, artifact.name, scan=rule.scans) if rule.inspects \
            else weights.outside_paths(artifact, artifact.name)
    except weights.ScannerMissing:
        raise ModelregError(f"{rule.named()} needs picklescan to scan {artifact.name}, and it is not "
                            "installed; nothing was registered", fix=weights.EXTRA) from None
    problems = judge(rule, found)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more file{'s' if len(problems) > 2 else ''})" \
            if len(problems) > 1 else ""
        raise InputError(f"{first.message}{more}; nothing was registered", field="--artifact",
                         fix=first.fix)


def _rule(root: Path, model: str, model_doc: dict[str, Any] | None, tags: dict[str, str]) -> Rule:
    tree = WorkTree(str(root))
    policies, _ = select.load_all(tree)
    doc = model_doc
    if doc is None:
        from modelreg.formats import documents, names

        try:
            doc = documents.mapping(tree, names.model_file(model)) or {}
        except InputError:
            doc = {}
    try:
        chosen = select.select(policies, select.default_name(tree), model, doc, tags)
    except InputError:
        return Rule("allow")  # no policy governs it yet: the policy gate refuses the version
    return strictest([(chosen.name, chosen.policy)])
