"""The rule ``artifact.code_execution``: whether files that run code when loaded may be registered.

``allow`` (the default) lets them be; ``scan`` lets a pickle through only when picklescan
read it to its end and found no import that runs code; ``refuse`` lets none through,
whatever a scan would say. A file that could not be inspected fails closed under both.
Pure: the files come from ``edges/weights.py``; register, the artifact gate and serve
turn the problems into their own errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelreg.policies import select

if TYPE_CHECKING:
    from modelreg.edges.snapshot import Snapshot
    from modelreg.edges.weights import CodeFile
    from modelreg.formats import models
    from modelreg.read.change import Change

MODES = ("allow", "scan", "refuse")
SAFE_FORMATS = "safetensors, ONNX or skops"


@dataclass(frozen=True)
class Rule:
    """The mode that applies, and the policies that asked for it (for the fix)."""

    mode: str
    policies: tuple[str, ...] = ()

    @property
    def inspects(self) -> bool:
        return self.mode != "allow"

    @property
    def scans(self) -> bool:
        return self.mode == "scan"

    def named(self) -> str:
        return f"artifact.code_execution: {self.mode} in policy {' and '.join(self.policies)}"


def mode_of(policy: models.Policy) -> str:
    return str(policy.artifact.code_execution)


def strictest(selected: Iterable[tuple[str, models.Policy]]) -> Rule:
    """The strictest mode among the policies that judge a change (name, policy): a pull request
    that relaxes the rule is still judged by the base's."""
    rule = Rule("allow")
    for name, policy in selected:
        mode = mode_of(policy)
        if MODES.index(mode) > MODES.index(rule.mode):
            rule = Rule(mode, (name,))
        elif mode == rule.mode and mode != "allow":
            rule = Rule(mode, (*rule.policies, name))
    return rule


def governing(change: Change, model: str, tags: dict[str, str]) -> Rule:
    """The rule that judges a new version of ``model`` in ``change``: the strictest of the policy
    after the change and the one before it (``select.governing``: for a model the change
    creates, the policy the base would have chosen for it). Raises InputError when no policy
    governs it after the change.
    """
    return strictest([(s.name, s.policy) for s in select.governing(change, model, tags)])


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    fix: str


def at(snapshot: Snapshot, model: str, version_doc: dict[str, Any]) -> Rule:
    """The rule of the policy that governs ``model``'s version at ``snapshot`` (deploy, serve);
    ``allow`` when no policy reads (the gate reports that)."""
    from modelreg.errors import InputError
    from modelreg.formats import documents, names

    policies, _ = select.load_all(snapshot)
    try:
        chosen = select.select(policies, select.default_name(snapshot), model,
                               documents.mapping(snapshot, names.model_file(model)) or {},
                               select.tags_of(version_doc))
    except InputError:
        return Rule("allow")
    return strictest([(chosen.name, chosen.policy)])


def judge(rule: Rule, files: Iterable[CodeFile]) -> list[Problem]:
    """What ``rule`` refuses among ``files`` (those that run code when loaded). An MLmodel that
    points outside its directory is refused whatever the rule; under ``allow`` nothing else is."""
    problems = []
    for f in files:
        named = f" ({rule.named()})"
        if f.outside:
            problems.append(Problem(f.file, f"{f.file} names {', '.join(repr(p) for p in f.outside[:3])}, "
                                    "outside the model directory, which MLflow would load unverified",
                                    "save the model again with mlflow's save_model, which writes paths "
                                    "relative to the directory, and register it"))
        elif rule.mode == "allow":
            continue
        elif f.program and rule.mode == "scan":
            problems.append(Problem(f.file, f"{f.file} is {_article(f.kind)} {f.kind}, which runs code when "
                                    "imported and which no scanner reads",
                                    f"remove it, or export the model to {SAFE_FORMATS}{named}"))
        elif f.dangerous:
            problems.append(Problem(f.file, f"{f.file}: the {f.kind} imports {', '.join(f.dangerous)}, "
                                    "which runs code when it is loaded",
                                    f"do not load it; rebuild the artifact from code you trust, or export "
                                    f"the model to {SAFE_FORMATS}{named}"))
        elif rule.mode == "refuse" and not f.unknown:
            imports = f" (it imports {', '.join(f.imports[:4])}{', ...' if len(f.imports) > 4 else ''})" \
                if f.imports else ""
            problems.append(Problem(f.file,
                                    f"{f.file} is {_article(f.kind)} {f.kind}, a format that runs code when "
                                    f"loaded{imports}",
                                    f"export the model to {SAFE_FORMATS}, which load without running "
                                    f"code{named}"))
        elif f.error is not None:
            problems.append(Problem(f.file, f"{f.file}: the {f.kind} could not be inspected: {f.error}",
                                    f"a file that cannot be inspected is refused; save the model as "
                                    f"{SAFE_FORMATS}, or as a plain pickle (pickle.dump), which is read to "
                                    f"its end{named}"))
    return problems


def _article(kind: str) -> str:
    return "an" if kind[:1].lower() in "aeiou" else "a"
