"""Gate ``policy``: each new version meets the policy that governs its model.

The policy is the one ``model.yaml`` names, else the first whose
``applies_to`` matches, else the registry's default (``policies/select.py``);
what it asks is decided by ``policies/evaluate.py``. This gate only reads
what the evaluation needs and turns its problems into findings.

With ``--all`` every version is held to the policy's rules, but the regression
rule judges only candidates (versions new on the head): a version released
before was compared when it was new, and a better one promoted since must not
fail it forever.
"""

from __future__ import annotations

from typing import Any

from modelreg import cards
from modelreg.checks.context import CheckContext
from modelreg.checks.results import Comparison, Finding, GateResult
from modelreg.errors import InputError
from modelreg.formats import documents, models, names
from modelreg.policies.evaluate import baseline_version, baselines, evaluate
from modelreg.policies.select import tags_of

GATE = "policy"


def run(ctx: CheckContext) -> GateResult:
    result = GateResult()
    evaluated = {model for model, _ in ctx.new_versions}
    for model in ctx.changed_models:
        if model not in evaluated:  # a changed model.yaml must still name a policy that exists
            try:
                ctx.policy_for(model, {})
            except InputError as exc:
                result.findings.append(Finding.from_error(GATE, exc))
    for model, number in ctx.new_versions:
        path = names.version_file(model, number)
        doc = ctx.document(ctx.head, path)
        if doc is None:
            if ctx.head.read(path) is not None:
                result.findings.append(Finding(GATE, "cannot be evaluated: the file does not parse",
                                               file=path, fix="fix the schema gate's findings first"))
            continue
        try:
            selections = ctx.policies_for(model, tags_of(doc))
        except InputError as exc:
            result.findings.append(Finding.from_error(GATE, exc))
            continue
        # --all reads every version, but only a candidate is held against what an alias serves now
        candidate = (model, number) in ctx.candidates
        for index, selected in enumerate(selections):  # the policy now, and the one before if it differs
            against = selected.policy.regression[0].against if selected.policy.regression else "production"
            problems, rows = evaluate(selected.policy, selected.name, doc, path,
                                      baselines(ctx.base, model) if candidate else {},
                                      against=against, text=documents.raw(ctx.head, path),
                                      card=_card_bytes(ctx, model, number, doc, selected.policy))
            seen = {str(f) for f in result.findings}
            result.findings.extend(f for f in map(_finding, problems) if str(f) not in seen)
            if index == 0 and candidate:
                current = baseline_version(ctx.base, model, against)
                result.comparisons.append(Comparison(model, number, selected.name, against, current, rows))
    return result


def _card_bytes(ctx: CheckContext, model: str, number: int, doc: dict[str, Any],
                policy: models.Policy) -> bytes | InputError | None:
    """The card the manifest names, read only when the policy has card rules."""
    name = doc.get("card")
    if not policy.card.required_sections or not isinstance(name, str) or not name:
        return None
    try:
        return ctx.head.read(cards.card_file(model, number, name))
    except InputError as exc:  # a bad name, a link, not a regular file: the card cannot be read
        return exc


def _finding(problem: InputError) -> Finding:
    return Finding.from_error(GATE, problem)
