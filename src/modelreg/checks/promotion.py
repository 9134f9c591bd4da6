"""Gate ``promotion``: changes to ``model.yaml`` leave every alias on a version fit to serve.

Every alias points at an existing version that is neither archived nor
rejected. For each alias the change moves, the policy's promotion rule for
that alias holds: the version must have held the ``after`` alias first, for
at least ``min_soak``, both read from the first-parent git history of the
base (a time in ``after`` that ended still counts for as long as it lasted).
Approvals (``promotion.<alias>.approvals``) are reviews of the pull request:
``modelreg approvals`` checks them (``approvals_check.py``), in a workflow of
its own that runs again on every review.
"""

from __future__ import annotations

import time
from datetime import datetime

from modelreg.checks import policy as policy_gate
from modelreg.checks.context import CheckContext
from modelreg.checks.results import Comparison, Finding, GateResult
from modelreg.errors import InputError
from modelreg.formats import names
from modelreg.formats.desired import DesiredState, moves
from modelreg.read.history import Event, history

GATE = "promotion"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(duration: str) -> int:
    return int(duration[:-1]) * _UNITS[duration[-1]]


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
            selections = ctx.policies_for(model, policy_gate.tags_of(version_doc), alias=alias)
        except InputError as exc:
            result.findings.append(Finding.from_error(GATE, exc))
            continue
        # The version's own quality was gated when it was registered; here only the table is wanted.
        head = selections[0]
        _, rows = policy_gate.evaluate(head.policy, head.name, version_doc,
                                       names.version_file(model, number), policy_gate.baselines(ctx, model),
                                       against=alias)
        result.comparisons.append(Comparison(model, number, head.name, alias,
                                             policy_gate.alias_target(ctx, model, alias), rows))
        for selected in selections:  # the policy now, and the one before when it differs
            rule = selected.policy.promotion.get(alias)
            if rule is None or rule.after is None:
                continue
            if events is None:
                events = history(ctx.root, model, ctx.base.commit)
            finding = _soak(events, rule.after, rule.min_soak, number, alias, ctx.base_ref, selected.name)
            if finding is not None:
                result.findings.append(Finding(GATE, finding[0], file=path, field=f"aliases.{alias}",
                                               fix=finding[1]))
                break  # one finding per alias: the first policy that refuses it


def _soak(events: list[Event], after: str, min_soak: str | None, number: int, alias: str, base_ref: str,
          policy: str) -> tuple[str, str] | None:
    """(message, fix) when ``number`` has not held ``after`` (long enough) to go to ``alias``."""
    held = _time_in(events, after, number)
    if held is None:
        return (f"v{number} goes to {alias} but was never in {after} on {base_ref}",
                f"promote v{number} to {after} first, in its own pull request (policy {policy})")
    if min_soak is not None and held < seconds(min_soak):
        return (f"v{number} has been in {after} for {_human(held)}; {min_soak} required",
                f"wait until it has soaked, then run the checks again (policy {policy})")
    return None


def _time_in(events: list[Event], alias: str, number: int) -> float | None:
    """Seconds ``number`` spent in ``alias``, counting its latest stint (until now if it is still there).

    Times are committer dates (when a change landed; an author date is whatever the
    author says), taken in the branch's own order, oldest first.
    """
    moves = [e for e in reversed(events) if e.kind == "alias" and e.alias == alias]
    start: float | None = None
    end: float | None = None
    for event in moves:
        stamp = datetime.fromisoformat(event.date).timestamp()
        if event.version == number:
            start, end = stamp, None
        elif start is not None and end is None:
            end = stamp
    if start is None:
        return None
    return (end if end is not None else time.time()) - start


def _human(elapsed: float) -> str:
    hours = elapsed / 3600
    return f"{hours:.1f}h" if hours >= 1 else f"{elapsed / 60:.0f}m"
