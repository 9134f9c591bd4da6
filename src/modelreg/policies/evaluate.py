"""Evaluating a policy: pure functions from a manifest, a policy and the baselines to problems.

What a version must meet (required fields, metric thresholds, per-slice
thresholds and the gap between slices, regression against the version an
alias points at on the base, the artifact's size and format, the sections of
its model card), decided here and nowhere else. A metric that is missing,
not a number, or not finite is a problem saying which. The ``policy`` gate
(``checks/policy.py``) turns problems into findings; the ``promotion`` gate
shows :func:`metric_table`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from modelreg import cards
from modelreg.errors import InputError
from modelreg.formats import documents, names, yamlio

if TYPE_CHECKING:
    from modelreg.edges.snapshot import Snapshot
    from modelreg.formats import models

_MISSING = object()

#: alias → (the version it points at, that version's manifest); None when the manifest does not read
Baselines = dict[str, "tuple[int, dict[str, Any]] | None"]


def baselines(snapshot: Snapshot, model: str) -> Baselines:
    """What ``model``'s aliases point at in ``snapshot`` (the base), for every alias a policy may
    compare against. A model.yaml or manifest that does not read gives no baseline (the schema
    gate reports it)."""
    state = _desired(snapshot, model)
    out: Baselines = {}
    for alias, number in (state.aliases.items() if state is not None else []):
        try:
            doc = documents.mapping(snapshot, names.version_file(model, number))
        except InputError:
            doc = None
        out[alias] = (number, doc) if doc is not None else None
    return out


def baseline_version(snapshot: Snapshot, model: str, alias: str) -> int | None:
    """The version ``alias`` points at in ``snapshot``, or None."""
    state = _desired(snapshot, model)
    return state.aliases.get(alias) if state is not None else None


def _desired(snapshot: Snapshot, model: str) -> Any:
    try:
        return documents.desired(snapshot, model)
    except InputError:
        return None


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


class MetricComparison:
    """One metric of a candidate against the version it would replace."""

    def __init__(self, metric: str, current: float | None, candidate: float | None, rule: str,
                 ok: bool | None) -> None:
        self.metric = metric
        self.current = current
        self.candidate = candidate
        self.rule = rule
        self.ok = ok

    @property
    def delta(self) -> float | None:
        if self.current is None or self.candidate is None:
            return None
        return self.candidate - self.current

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "delta": self.delta}


class _Evaluation:
    def __init__(self, policy_name: str, doc: dict[str, Any], path: str, text: bytes | None) -> None:
        self.policy_name = policy_name
        self.doc = doc
        self.path = path
        self.text = text
        self.problems: list[InputError] = []
        self._lines: dict[tuple[str | int, ...], int] | None = None

    def fail(self, field: str, message: str, fix: str) -> None:
        self.problems.append(InputError(message, file=self.path, line=self.line(field), field=field,
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
             baselines: Baselines, *, against: str, text: bytes | None = None,
             card: bytes | InputError | None = None) -> tuple[list[InputError], list[MetricComparison]]:
    """Check one manifest against one policy: (problems, rows of candidate vs ``against``'s version).

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
    rows = _metric_rules(ev, policy, baselines, against)
    return ev.problems, rows


def metric_table(policy: models.Policy, policy_name: str, doc: dict[str, Any], path: str,
                 baselines: Baselines, *, against: str) -> list[MetricComparison]:
    """Only the table of :func:`evaluate` (the metric rules it shows): what a promotion of a version
    already judged at registration reports."""
    return _metric_rules(_Evaluation(policy_name, doc, path, None), policy, baselines, against)


def _metric_rules(ev: _Evaluation, policy: models.Policy, baselines: Baselines,
                  against: str) -> list[MetricComparison]:
    doc = ev.doc
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
        rows.append(MetricComparison(metric, current, candidate, "; ".join(rules.get(metric, [])) or "-",
                                     verdicts.get(metric)))
    return rows


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
        ev.problems.append(InputError(card.detail, file=card.file or ev.path, line=card.line,
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
        ev.problems.append(InputError(exc.detail, file=exc.file, line=exc.line, field=exc.field,
                                      fix=f"{exc.fix} (policy {ev.policy_name})"))
        return
    missing = cards.missing_sections(registered, required)
    if missing:
        named = ", ".join(f"{cards.SECTIONS[key]} ({key})" for key in missing)
        wanted = ", ".join(f"'## {cards.SECTIONS[key]}'" for key in missing)
        ev.problems.append(InputError(
            f"the model card lacks the required section{'s' if len(missing) > 1 else ''} {named}",
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
                baselines: Baselines, rules: dict[str, list[str]],
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
