"""Gate ``promotion``: changes to ``model.yaml`` leave every alias on a version fit to serve.

Every alias points at an existing version that is neither archived nor
rejected. For each alias the change moves, the policy's promotion rule for
that alias holds: the version must have held the ``after`` alias first, for
at least ``min_soak``, both read from the first-parent git history of the
base (a time in ``after`` that ended still counts for as long as it lasted;
decided in ``policies/promotion.py``).
Approvals (``promotion.<alias>.approvals``) are reviews of the pull request:
``modelreg approvals`` checks them (``approvals_check.py``), in a workflow of
its own that runs again on every review.
"""

from __future__ import annotations

from modelreg.checks.context import CheckContext
from modelreg.checks.results import Comparison, Finding, GateResult
from modelreg.errors import InputError
from modelreg.formats import names
from modelreg.formats.desired import DesiredState, moves
from modelreg.policies.evaluate import baseline_version, baselines, metric_table
from modelreg.policies.promotion import soak
from modelreg.policies.select import tags_of
from modelreg.read.history import Event, history

GATE = "promotion"


def run(ctx: CheckContext) -> GateResult:
    result = GateResult()
    for model in ctx.changed_models:
        head, base = ctx.desired(ctx.head, model), ctx.desired(ctx.base, model)
        if head is None:
            continue  # missing or malformed: the schema gate reports it
        targets = _targets(ctx, head)
        result.findings.extend(targets)
        moved = {m.alias: m.after for m in moves(base, head)
                 if m.kind == "alias" and m.alias is not None and m.after is not None}
        if moved and not targets:  # this model's own findings: another model's must not hide these
            _rules(ctx, model, moved, result)
    return result


def _targets(ctx: CheckContext, state: DesiredState) -> list[Finding]:
    path = names.model_file(state.model)
    existing = set(ctx.versions(ctx.head, state.model))
    findings = []
    for key, listed in (("archived", sorted(state.archived)), ("rejected", sorted(state.rejected))):
        for number in listed:
            if number not in existing:
                findings.append(Finding(GATE, f"names v{number}, which does not exist", file=path,
                                        field=key, fix=f"take v{number} out of {key} (a typo?)"))
    for alias, number in sorted(state.aliases.items()):
        field = f"aliases.{alias}"
        if number not in existing:
            known = ", ".join(f"v{n}" for n in sorted(existing))
            findings.append(Finding(GATE, f"points at v{number}, which does not exist", file=path,
                                    field=field, fix=f"point it at one of {known}" if known
                                    else "register a version first"))
        elif number in state.archived:
            findings.append(Finding(GATE, f"points at v{number}, which is archived", file=path, field=field,
                                    fix=f"point it at a live version, or take v{number} out of archived"))
        elif number in state.rejected:
            findings.append(Finding(GATE, f"points at v{number}, which was rejected "
                                    f"({state.rejected[number].reason})", file=path, field=field,
                                    fix="point it at a version that was not rejected"))
    return findings


def _rules(ctx: CheckContext, model: str, moved: dict[str, int], result: GateResult) -> None:
    path = names.model_file(model)
    events: list[Event] | None = None
    for alias, number in sorted(moved.items()):
        version_doc = ctx.document(ctx.head, names.version_file(model, number)) or {}
        try:
            selections = ctx.policies_for(model, tags_of(version_doc), alias=alias)
        except InputError as exc:
            result.findings.append(Finding.from_error(GATE, exc))
            continue
        # The version's own quality was gated when it was registered; here only the table is wanted.
        head = selections[0]
        rows = metric_table(head.policy, head.name, version_doc, names.version_file(model, number),
                            baselines(ctx.base, model), against=alias)
        result.comparisons.append(Comparison(model, number, head.name, alias,
                                             baseline_version(ctx.base, model, alias), rows))
        for selected in selections:  # the policy now, and the one before when it differs
            rule = selected.policy.promotion.get(alias)
            if rule is None or rule.after is None:
                continue
            if events is None:
                events = history(ctx.root, model, ctx.base.commit)
            finding = soak(events, rule.after, rule.min_soak, number, alias, ctx.base_ref, selected.name)
            if finding is not None:
                result.findings.append(Finding(GATE, finding[0], file=path, field=f"aliases.{alias}",
                                               fix=finding[1]))
                break  # one finding per alias: the first policy that refuses it
