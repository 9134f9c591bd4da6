"""``modelreg search``: versions whose fields satisfy every ``--where`` condition.

A condition is ``FIELD OP VALUE``: FIELD is a dotted path into version.yaml
(``metrics.roc_auc``, ``tags.team``, ``framework.name``) or one of the derived
fields ``stage``, ``approval``, ``alias``, ``model``, ``version``; OP is one of
``>= <= > < = != ~`` (``~`` is "contains"). Numbers compare as numbers, everything
else as text; ``>= <= > <`` need a number. Stage, approval and alias match in any
case, as URIs do. A condition that could never mean anything (an unknown field,
``>=`` against a word, a stage that does not exist) is an error showing the right
form, never an empty result.

``--order-by FIELD [ASC|DESC]`` (repeatable: the first key decides, the next breaks its ties)
sorts by the same fields; numbers sort as numbers and before text. A version that lacks a key
sorts after those that have it, in either direction (the best version is never one that did
not report the metric), and :class:`Found` counts them so that the output can say so.
``limit`` keeps the first N after sorting.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from modelreg.errors import InputError
from modelreg.read.catalog import ModelVersion, finite_number
from modelreg.read.suggest import closest

_CONDITION = re.compile(r"^\s*(?P<field>[A-Za-z0-9_.:/=+-]+?)\s*(?P<op>>=|<=|!=|==|=|>|<|~)\s*(?P<value>.*)$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
    "~": lambda a, b: str(b) in str(a),
}
_ORDERING = (">=", "<=", ">", "<")

#: the top-level fields of version.yaml (the version schema's properties; a test keeps them in step)
MANIFEST_FIELDS = ("schema_version", "model", "version", "created_at", "created_by", "description",
                   "artifact", "framework", "metrics", "slices", "params", "lineage", "tags", "card",
                   "signature")
#: fields derived from model.yaml and the path, with the values they can take (None: any)
DERIVED: dict[str, tuple[str, ...] | None] = {
    "stage": ("None", "Staging", "Production", "Archived"),
    "approval": ("PendingManualApproval", "Approved", "Rejected"),
    "alias": None, "model": None, "version": None,
}
_CASELESS = ("stage", "approval", "alias")
FIELD_FORMS = ("FIELD is metrics.NAME, params.NAME, tags.NAME, another path into version.yaml "
               "(framework.name, artifact.format), or stage, approval, alias, model, version")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str

    def matches(self, mv: ModelVersion) -> bool:
        actual = lookup(mv, self.field)
        if actual is _MISSING:
            return self.op == "!="
        if isinstance(actual, list):  # alias: any of them
            return any(self._compare(item) for item in actual) if self.op != "!=" else \
                all(self._compare(item) for item in actual)
        return self._compare(actual)

    def _compare(self, actual: Any) -> bool:
        number = _numeric(actual, self.field)
        if self.op != "~" and number is not None:
            try:
                return _OPS[self.op](number, float(self.value))
            except ValueError:
                return self.op == "!="
        if self.op in _ORDERING:
            return False
        text = str(actual).lower() if isinstance(actual, bool) else str(actual)
        if self.field in _CASELESS:
            return _OPS[self.op](text.lower(), self.value.lower())
        return _OPS[self.op](text, self.value)


_MISSING = object()


def parse(text: str) -> Condition:
    match = _CONDITION.match(text)
    if not match:
        raise InputError(f"{text!r} is not a condition", field="--where",
                         fix='write FIELD OP VALUE, e.g. "metrics.roc_auc>=0.95" or "tags.team=fraud"')
    condition = Condition(match.group("field"), match.group("op"), match.group("value").strip())
    field, op, value = condition.field, condition.op, condition.value
    if op in _ORDERING and not _is_number(value):
        numeric = field if field.startswith(("metrics.", "slices.", "params.")) else "metrics.roc_auc"
        raise InputError(f"{value!r} is not a number, and {op} compares numbers", field="--where",
                         fix=f'write a number, as in "{numeric}{op}0.95"; text compares with =, != or ~')
    choices = DERIVED.get(field)
    by_lower = {c.lower(): c for c in choices or ()}
    if choices and op != "~" and value.lower() not in by_lower:
        guess = closest(value.lower(), by_lower)
        hint = f'did you mean "{field}{op}{by_lower[guess]}"? ' if guess else ""
        raise InputError(f"{value!r} is not {'an' if field[0] in 'aeiou' else 'a'} {field}", field="--where",
                         fix=f"{hint}{field} is one of {', '.join(choices)} (in any case)")
    return condition


def _is_number(text: str) -> bool:
    try:
        return finite_number(float(text))
    except ValueError:
        return False


def check_field(condition: Condition, versions: list[ModelVersion]) -> None:
    """Raise InputError, with the likely intended form, for a field no version can have."""
    field = condition.field
    if _known(field):
        return
    guess = _intended(condition, versions)
    raise InputError(f"unknown field {field!r}", field="--where",
                     fix=f'did you mean "{guess}{condition.op}{condition.value}"? {FIELD_FORMS}')


def _known(field: str) -> bool:
    return field in DERIVED or field.split(".")[0] in MANIFEST_FIELDS


def _intended(condition: Condition, versions: list[ModelVersion]) -> str:
    """``roc_auc`` → ``metrics.roc_auc`` when versions record it so; ``metric.f1`` → ``metrics.f1``."""
    field = condition.field
    for section in ("metrics", "params", "tags"):
        if any(field in (mv.data.get(section) or {}) for mv in versions):
            return f"{section}.{field}"
    head, dot, rest = field.partition(".")
    close = closest(head, [*MANIFEST_FIELDS, *DERIVED])
    if close:
        return f"{close}{dot}{rest}"
    return f"{'metrics' if _is_number(condition.value) else 'tags'}.{field}"


def lookup(mv: ModelVersion, field: str) -> Any:
    derived = {"stage": mv.stage, "approval": mv.approval, "alias": list(mv.aliases),
               "model": mv.model, "version": mv.version}
    if field in derived:
        return derived[field]
    value: Any = mv.data
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


@dataclass(frozen=True)
class Order:
    """One ``--order-by`` key: a field as ``--where`` names it, and its direction."""

    field: str
    descending: bool = False

    def __str__(self) -> str:
        return f"{self.field} {'DESC' if self.descending else 'ASC'}"


_ORDER = re.compile(r"^\s*(?P<field>[A-Za-z0-9_.:/=+-]+)(?:\s+(?P<dir>[A-Za-z]+))?\s*$")


def parse_order(text: str) -> Order:
    """``metrics.roc_auc DESC``, ``created_at asc`` or ``version`` (ascending)."""
    match = _ORDER.match(text)
    direction = (match.group("dir") or "ASC").upper() if match else ""
    if not match or direction not in ("ASC", "DESC"):
        raise InputError(f"{text!r} is not a sort key", field="--order-by",
                         fix='write FIELD, FIELD ASC or FIELD DESC, e.g. "metrics.roc_auc DESC"')
    order = Order(match.group("field"), direction == "DESC")
    if not _known(order.field):
        guess = _intended(Condition(order.field, "=", ""), [])
        raise InputError(f"unknown field {order.field!r}", field="--order-by",
                         fix=f'did you mean "{guess} {direction}"? {FIELD_FORMS}')
    return order


class Found(list[ModelVersion]):
    """The versions a search found, in order; ``missing``: for each sort key, how many of the
    versions that matched (before ``limit``) lack it, and so were sorted last; ``matched``: how
    many matched before ``limit``; ``close``: for a key none of them has, the field they record
    that is most like it (a typo: ``metrics.rocauc`` → ``metrics.roc_auc``)."""

    def __init__(self, versions: Iterable[ModelVersion] = (), *, missing: dict[str, int] | None = None,
                 matched: int | None = None, close: dict[str, str] | None = None) -> None:
        super().__init__(versions)
        self.missing: dict[str, int] = missing or {}
        self.matched = len(self) if matched is None else matched
        self.close: dict[str, str] = close or {}


def search(versions: Iterable[ModelVersion], conditions: list[Condition], *,
           order: Iterable[Order] = (), limit: int | None = None) -> Found:
    pool = list(versions)
    for condition in conditions:
        check_field(condition, pool)
    found = [mv for mv in pool if all(c.matches(mv) for c in conditions)]
    keys = list(order)
    missing = {}
    for key in reversed(keys):  # stable sorts, the last key first: the first key decides
        have = [(mv, _sort_value(mv, key.field)) for mv in found]
        present = sorted(((mv, v) for mv, v in have if v is not None), key=lambda pair: pair[1],
                         reverse=key.descending)
        found = [mv for mv, _ in present] + [mv for mv, v in have if v is None]
        missing[key.field] = len(have) - len(present)
    if limit is not None and limit < 1:
        raise InputError(f"{limit} is not a limit", field="--limit", fix="give a whole number of 1 or more")
    close = {key.field: guess for key in keys if found and missing[key.field] == len(found)
             and (guess := _recorded_like(key.field, found))}
    return Found(found[:limit], missing={k.field: missing[k.field] for k in keys}, matched=len(found),
                 close=close)


def _recorded_like(field: str, versions: list[ModelVersion]) -> str | None:
    section, dot, name = field.partition(".")
    if not dot or section not in ("metrics", "params", "tags", "slices"):
        return None
    recorded = {key for mv in versions for key in (mv.data.get(section) or {})}
    guess = closest(name, recorded)
    return f"{section}.{guess}" if guess else None


def _sort_value(mv: ModelVersion, field: str) -> tuple[int, float | str] | None:
    """Numbers before text; None when the version lacks the field (or it is empty or not a value)."""
    value = lookup(mv, field)
    if isinstance(value, list):  # alias: in name order
        value = ",".join(sorted(value)) or None
    if value is _MISSING or value is None or isinstance(value, dict):
        return None
    if isinstance(value, float) and not math.isfinite(value):  # NaN ranks nowhere: as if not reported
        return None
    number = _numeric(value, field)
    if number is not None:
        return (0, number)
    return (1, str(value).lower() if isinstance(value, bool) else str(value))


def _numeric(value: Any, field: str) -> float | None:
    """The value as a number: a number, or a tag whose text reads as a finite one (tags are text in
    version.yaml, `--tag score=5`, yet compared and sorted as numbers where they read as ones)."""
    if finite_number(value):
        return float(value)
    if field.startswith("tags.") and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
