"""``modelreg search``: versions whose fields satisfy every ``--where`` condition.

A condition is ``FIELD OP VALUE``: FIELD is a dotted path into version.yaml
(``metrics.roc_auc``, ``tags.team``, ``framework.name``) or one of the derived
fields ``stage``, ``approval``, ``alias``; OP is one of ``>= <= > < = != ~``
(``~`` is "contains"). Numbers compare as numbers, everything else as text.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from modelreg.catalog import ModelVersion, finite_number
from modelreg.errors import InputError

_CONDITION = re.compile(r"^\s*(?P<field>[A-Za-z0-9_.:/=+-]+?)\s*(?P<op>>=|<=|!=|==|=|>|<|~)\s*(?P<value>.*)$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "=": operator.eq, "==": operator.eq, "!=": operator.ne,
    "~": lambda a, b: str(b) in str(a),
}


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
        if self.op != "~" and finite_number(actual):
            try:
                return _OPS[self.op](float(actual), float(self.value))
            except ValueError:
                return self.op == "!="
        if self.op in (">=", "<=", ">", "<"):
            return False
        text = str(actual).lower() if isinstance(actual, bool) else str(actual)
        return _OPS[self.op](text, self.value)


_MISSING = object()


def parse(text: str) -> Condition:
    match = _CONDITION.match(text)
    if not match:
        raise InputError(f"{text!r} is not a condition", field="--where",
                         fix='write FIELD OP VALUE, e.g. "metrics.roc_auc>=0.95" or "tags.team=fraud"')
    return Condition(match.group("field"), match.group("op"), match.group("value").strip())


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


def search(versions: Iterable[ModelVersion], conditions: list[Condition]) -> list[ModelVersion]:
    return [mv for mv in versions if all(c.matches(mv) for c in conditions)]
