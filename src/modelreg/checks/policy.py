"""Gate ``policy``: each new version meets the policy that governs its model.

The policy is the one ``model.yaml`` names, else the first whose
``applies_to`` matches, else the registry's default (see ``policies.py``).
It checks required fields, metric thresholds, per-slice thresholds and the
gap between slices, regression against the version an alias points at on
the base, the artifact's size and format, and the sections the version's
model card must write. A metric that is missing, not a number, or not finite
fails with a message saying which.
"""

from __future__ import annotations

import math
from typing import Any

from modelreg import cards
from modelreg.checks.context import CheckContext
from modelreg.checks.results import Comparison, Finding, GateResult, Row
from modelreg.errors import InputError
from modelreg.formats import models, names, yamlio

GATE = "policy"
_MISSING = object()


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
        for index, selected in enumerate(selections):  # the policy now, and the one before if it differs
            against = selected.policy.regression[0].against if selected.policy.regression else "production"
            findings, rows = evaluate(selected.policy, selected.name, doc, path, baselines(ctx, model),
                                      against=against, text=ctx.head.read(path),
                                      card=_card_bytes(ctx, model, number, doc, selected.policy))
            seen = {str(f) for f in result.findings}
            result.findings.extend(f for f in findings if str(f) not in seen)
            if index == 0:
                current = alias_target(ctx, model, against)
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


def tags_of(doc: dict[str, Any]) -> dict[str, str]:
    tags = doc.get("tags")
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def alias_target(ctx: CheckContext, model: str, alias: str) -> int | None:
    state = ctx.desired(ctx.base, model)
    return state.aliases.get(alias) if state is not None else None


def baselines(ctx: CheckContext, model: str) -> dict[str, tuple[int, dict[str, Any]] | None]:
    """alias → (version, manifest) on the base, for every alias the policy may compare against."""
    state = ctx.desired(ctx.base, model)
    out: dict[str, tuple[int, dict[str, Any]] | None] = {}
    for alias, number in (state.aliases.items() if state is not None else []):
        doc = ctx.document(ctx.base, names.version_file(model, number))
        out[alias] = (number, doc) if doc is not None else None
    return out


def lookup(doc: dict[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> tuple[float | None, str | None]:
    """(the value, None) for a finite number; (None, what is wrong) otherwise."""
    if value is _MISSING or value is None:
        return None, "is missing"
    if isinstance(value, bool):
        return None, f"is a boolean ({value}), not a number"
    if isinstance(value, str):
        return None, f"is a string ({value!r}), not a number"
    if not isinstance(value, (int, float)):
        return None, f"is a {type(value).__name__}, not a number"
    if not math.isfinite(value):
        return None, f"is {value}, not a finite number"
    return float(value), None


class _Evaluation:
    def __init__(self, policy_name: str, doc: dict[str, Any], path: str, text: bytes | None) -> None:
        self.policy_name = policy_name
        self.doc = doc
        self.path = path
        self.text = text
        self.findings: list[Finding] = []
        self._lines: dict[tuple[str | int, ...], int] | None = None

    def fail(self, field: str, message: str, fix: str) -> None:
        self.findings.append(Finding(GATE, message, file=self.path, line=self.line(field), field=field,
                                     fix=f"{fix} (policy {self.policy_name})"))

    def line(self, field: str) -> int | None:
        if self._lines is None:  # a second parse, paid only when something failed
            self._lines = yamlio.key_lines(self.text) if self.text is not None else {}
        parts = tuple(field.split("."))
        for end in range(len(parts), 0, -1):
            if parts[:end] in self._lines:
                return self._lines[parts[:end]]
        return None


def evaluate(policy: models.Policy, policy_name: str, doc: dict[str, Any], path: str,
             baselines: dict[str, tuple[int, dict[str, Any]] | None], *, against: str,
             text: bytes | None = None, card: bytes | InputError | None = None
             ) -> tuple[list[Finding], list[Row]]:
    """Check one manifest against one policy: (findings, rows of candidate vs ``against``'s version).

    ``card`` is the content of the card the manifest names (None when absent or not read, an
    InputError when it could not be read).
    """
    ev = _Evaluation(policy_name, doc, path, text)
    for field in policy.required:
        value = lookup(doc, field)
        if value is _MISSING or value in (None, "", [], {}):
            ev.fail(field, "is required", f"record {field} when registering")
    _artifact_rules(ev, policy)
    _card_rules(ev, policy, card)
    metrics = _mapping(doc.get("metrics"))
    rules: dict[str, list[str]] = {}
    verdicts: dict[str, bool] = {}
    for metric, bounds in policy.thresholds.items():
        value, problem = _number(metrics.get(metric, _MISSING))
        rule = " and ".join(r for r in (f">= {bounds.min:g}" if bounds.min is not None else "",
                                        f"<= {bounds.max:g}" if bounds.max is not None else "") if r)
        rules.setdefault(metric, []).append(rule)
        if problem:
            ev.fail(f"metrics.{metric}", problem, "the policy sets a threshold on it")
            verdicts[metric] = False
        elif (bounds.min is not None and value is not None and value < bounds.min) or \
                (bounds.max is not None and value is not None and value > bounds.max):
            ev.fail(f"metrics.{metric}", f"{value:g} is outside the threshold ({rule})",
                    "train a better model, or change the policy in a reviewed pull request")
            verdicts[metric] = False
        else:
            verdicts.setdefault(metric, True)
    _slice_rules(ev, policy, doc)
    for rule_ in policy.regression:
        _regression(ev, rule_, metrics, baselines, rules, verdicts)
    baseline = baselines.get(against)
    current_metrics = _mapping(baseline[1].get("metrics")) if baseline else {}
    names_ = list(dict.fromkeys([*rules, *sorted(metrics)]))
    rows = []
    for metric in names_:
        candidate, _ = _number(metrics.get(metric, _MISSING))
        current, _ = _number(current_metrics.get(metric, _MISSING)) if current_metrics else (None, None)
        rows.append(Row(metric, current, candidate, "; ".join(rules.get(metric, [])) or "-",
                        verdicts.get(metric)))
    return ev.findings, rows


def _artifact_rules(ev: _Evaluation, policy: models.Policy) -> None:
    artifact = _mapping(ev.doc.get("artifact"))
    size, fmt = artifact.get("size"), artifact.get("format")
    if policy.artifact.max_size is not None and isinstance(size, int) and size > policy.artifact.max_size:
        ev.fail("artifact.size", f"{size:,} bytes is over the limit of {policy.artifact.max_size:,}",
                "shrink the artifact (quantise, prune) or raise artifact.max_size in the policy")
    if policy.artifact.formats is not None and fmt not in policy.artifact.formats:
        shown = repr(fmt) if fmt else "not recorded"
        ev.fail("artifact.format", f"format {shown} is not allowed (allowed: "
                f"{', '.join(policy.artifact.formats)})",
                "export the model to an allowed format, e.g. ONNX instead of pickle")


def _card_rules(ev: _Evaluation, policy: models.Policy, card: bytes | InputError | None) -> None:
    required = list(policy.card.required_sections)
    if not required:
        return
    headings = ", ".join(f"'## {cards.SECTIONS[key]}'" for key in required)
    name = ev.doc.get("card")
    if not isinstance(name, str) or not name:
        ev.fail("card", f"there is no model card; the policy requires one with the sections "
                f"{', '.join(required)}", f"write a card.md with the headings {headings}, each followed "
                "by its text, and register the version with --card card.md")
        return
    if isinstance(card, InputError):
        ev.findings.append(Finding(GATE, card.detail, file=card.file or ev.path, line=card.line,
                                   field=card.field if card.file else "card",
                                   fix=f"{card.fix} (policy {ev.policy_name})"))
        return
    source = f"{ev.path.rsplit('/', 1)[0]}/{name}"
    if card is None:
        ev.fail("card", f"names the card {name!r}, which is not beside version.yaml",
                f"add {source}, written as the policy asks")
        return
    try:
        registered = cards.parse(card, source)
    except InputError as exc:
        ev.findings.append(Finding(GATE, exc.detail, file=exc.file, line=exc.line, field=exc.field,
                                   fix=f"{exc.fix} (policy {ev.policy_name})"))
        return
    missing = cards.missing_sections(registered, required)
    if missing:
        named = ", ".join(f"{cards.SECTIONS[key]} ({key})" for key in missing)
        wanted = ", ".join(f"'## {cards.SECTIONS[key]}'" for key in missing)
        ev.findings.append(Finding(
            GATE, f"the model card lacks the required section{'s' if len(missing) > 1 else ''} {named}",
            file=source, line=next((registered.lines[k] for k in missing if k in registered.lines), None),
            fix=f"add {wanted} with text under each (a heading with nothing or only a placeholder under "
            f"it does not count) (policy {ev.policy_name})"))


def _slice_rules(ev: _Evaluation, policy: models.Policy, doc: dict[str, Any]) -> None:
    slices = _mapping(doc.get("slices"))
    for metric, bounds in policy.slices.items():
        values: dict[str, float] = {}
        for name, scores in slices.items():
            if not isinstance(scores, dict) or metric not in scores:
                continue
            value, problem = _number(scores[metric])
            if problem or value is None:
                ev.fail(f"slices.{name}.{metric}", problem or "is missing", "slice metrics must be numbers")
                continue
            values[name] = value
            low = bounds.min is not None and value < bounds.min
            if low or (bounds.max is not None and value > bounds.max):
                limit = f">= {bounds.min:g}" if low else f"<= {bounds.max:g}"
                ev.fail(f"slices.{name}.{metric}", f"{value:g} on slice {name!r} breaks {limit}",
                        "improve the model on this segment")
        if not values:
            ev.fail("slices", f"no slice reports {metric}",
                    f"record per-slice {metric} under slices in the metrics file")
        elif bounds.max_gap is not None and max(values.values()) - min(values.values()) > bounds.max_gap:
            worst, best = min(values, key=values.__getitem__), max(values, key=values.__getitem__)
            gap = values[best] - values[worst]
            ev.fail("slices", f"{metric} differs by {gap:.4g} between {best!r} and {worst!r} "
                    f"(max_gap {bounds.max_gap:g})", "reduce the disparity between segments")


def _regression(ev: _Evaluation, rule: models.Regression, metrics: dict[str, Any],
                baselines: dict[str, tuple[int, dict[str, Any]] | None], rules: dict[str, list[str]],
                verdicts: dict[str, bool]) -> None:
    text = " and ".join(t for t in (f"drop <= {rule.max_drop:g}" if rule.max_drop is not None else "",
                                    f"rise <= {rule.max_rise:g}" if rule.max_rise is not None else "") if t)
    rules.setdefault(rule.metric, []).append(f"{text} vs {rule.against}")
    baseline = baselines.get(rule.against)
    if baseline is None:
        return  # nothing in that alias yet: nothing to regress against
    number, base_doc = baseline
    current, _ = _number(lookup(base_doc, f"metrics.{rule.metric}"))
    candidate, problem = _number(metrics.get(rule.metric, _MISSING))
    field = f"metrics.{rule.metric}"
    if problem or candidate is None:
        ev.fail(field, problem or "is missing", f"it is compared against {rule.against} (v{number})")
        verdicts[rule.metric] = False
        return
    if current is None:
        return
    if rule.max_drop is not None and current - candidate > rule.max_drop:
        ev.fail(field, f"{candidate:g} is {current - candidate:.4g} below {rule.against} v{number} "
                f"({current:g}); at most {rule.max_drop:g} allowed", "do not ship a regression")
        verdicts[rule.metric] = False
    elif rule.max_rise is not None and candidate - current > rule.max_rise:
        ev.fail(field, f"{candidate:g} is {candidate - current:.4g} above {rule.against} v{number} "
                f"({current:g}); at most {rule.max_rise:g} allowed", "do not ship a regression")
        verdicts[rule.metric] = False
    else:
        verdicts.setdefault(rule.metric, True)
