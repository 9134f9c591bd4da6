"""The shape every reader relies on: a parsed file checked against its shipped JSON Schema.

The read path cannot afford pydantic or jsonschema (importing either costs more
than a whole ``modelreg resolve``), yet a value must never be shown as
something it is not: ``framework: {version: 1.10}`` unquoted is the number 1.1,
and ``show`` must say so rather than print ``1.1``. This module walks a
document against the JSON Schema that modelreg ships for its kind (generated
from the pydantic models in ``formats/spec.py``), using only the keywords those
schemas contain, the date-and-time pattern included. It is the only validator at run
time (``models.validate`` is this walk and a record built from the document), so
``check``, every write, every read command and the Python API report the same
first error; ``tests/test_formats_agree.py`` proves it refuses what pydantic
refuses. It runs once per file content: the manifest memo keeps only documents
that passed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from typing import Any

from modelreg.errors import InputError
from modelreg.formats import names

_SHIPPED = os.path.join(os.path.dirname(__file__), "schemas")
_schemas: dict[str, dict[str, Any]] = {}
_patterns: dict[str, re.Pattern[str]] = {}

#: a date and time as ``created_at`` is written: a date, a time to the minute at least, a zone.
#: Wider than RFC 3339 (seconds optional, a space for the T, +0100), so the schema marks such a
#: field with the pattern below, never ``format: date-time``: an editor asserting formats (or
#: jsonschema with rfc3339-validator installed) would refuse what modelreg accepts.
DATE_TIME = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
             r"(?:Z|[+-][0-9]{2}:?[0-9]{2})$")

#: the same, as the calendar allows it: months 01-12, the days of each month (29 February in leap
#: years only), hours 00-23, minutes and seconds 00-59, zones within ±23:59, year 0001 on. A regular
#: expression can say all of that, so the schema says it and an editor refuses what the gate does.
#: ``(?![\s\S])`` ends the text in ECMA and Python alike (Python's ``$`` passes a final newline).
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_LEAP = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DAY = (rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
        rf"|02-(?:0[1-9]|1[0-9]|2[0-8]))|{_LEAP}-02-29)")
CALENDAR_DATE_TIME = (rf"^{_DAY}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{{1,9}})?)?"
                      r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])(?![\s\S])$")

def is_date_time(node: dict[str, Any]) -> bool:
    """Whether a schema node is a date and time (spec.py's ``Timestamp``)."""
    return node.get("pattern") == CALENDAR_DATE_TIME


_TYPES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
          "object": "a mapping", "array": "a list", "null": "null"}


#: the fix for a name that breaks the pattern of the names allowed in a mapping
_NAME_RULES = {
    names.ALIAS_NAME.pattern: "alias names are lower case: a letter, then letters, digits, '-' and '_' "
                              "('latest' is reserved)",
    names.KEY_NAME.pattern: "use letters, digits and _ . : / = + - (no spaces), at most 128 characters",
}


class _Mismatch(Exception):
    def __init__(self, path: tuple[str | int, ...], message: str, fix: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.fix = fix


def check(kind: str, doc: Any, source: str, text: bytes | str | None = None,
          definition: str | None = None) -> None:
    """Raise InputError (file, line, field, fix) at the first place ``doc`` breaks its schema
    (or the schema's ``$defs[definition]``, for one part of a file such as a deploy target)."""
    root = schema(kind)
    try:
        _walk(root, root if definition is None else root["$defs"][definition], doc, ())
    except _Mismatch as exc:
        from modelreg.formats import yamlio

        lines = yamlio.key_lines(text) if text is not None else {}
        line = next((lines[exc.path[:i]] for i in range(len(exc.path), 0, -1) if exc.path[:i] in lines),
                    None)
        field = ".".join(str(p) for p in exc.path) or None
        raise InputError(exc.message, file=source, line=line, field=field, fix=exc.fix) from None


def schema(kind: str) -> dict[str, Any]:
    """The shipped JSON Schema of one file format (read once per process)."""
    if kind not in _schemas:
        with open(os.path.join(_SHIPPED, f"{kind}.schema.json"), encoding="utf-8") as file:
            _schemas[kind] = json.load(file)
    return _schemas[kind]


def pattern(text: str) -> re.Pattern[str]:
    """A JSON Schema pattern with its ECMA meaning: ``$`` is the end of the text (Python's ``$``
    also matches before a final newline, which would let ``"fraud\\n"`` pass as a name)."""
    if text not in _patterns:
        _patterns[text] = re.compile(text[:-1] + r"\Z" if text.endswith("$") and not text.endswith(
            "\\$") else text)
    return _patterns[text]


def type_of(value: Any) -> str:
    """The JSON type of a parsed value (a bool is not an integer, as in pydantic's strict mode)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def fits(expected: str, actual: str) -> bool:
    return expected == actual or (expected == "number" and actual == "integer")


def resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The schema a ``$ref`` points at (the generated schemas refer only to ``#/$defs/...``)."""
    if "$ref" in node:
        target: dict[str, Any] = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return target
    return node


def value_schema(node: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The schema of ``key``'s value in a mapping: its property, its pattern, or the rest."""
    if key in node.get("properties", {}):
        found: dict[str, Any] = node["properties"][key]
        return found
    patterns: dict[str, dict[str, Any]] = node.get("patternProperties", {})
    for regex, sub in patterns.items():
        if pattern(regex).search(key):
            return sub
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _walk(root: dict[str, Any], node: dict[str, Any], value: Any, path: tuple[str | int, ...]) -> None:
    node = resolve(root, node)
    if "anyOf" in node:
        _any_of(root, node["anyOf"], value, path)
        return
    if "oneOf" in node:
        _one_of(root, node, value, path)
        return
    if "const" in node and value != node["const"]:
        raise _Mismatch(path, f"must be {node['const']!r}, not {value!r}", f"write {node['const']!r}")
    if "enum" in node and value not in node["enum"]:
        allowed = ", ".join(map(str, node["enum"]))
        raise _Mismatch(path, f"{value!r} is not one of {allowed}", f"write one of {allowed}")
    expected = node.get("type")
    actual = type_of(value)
    if expected is not None and not fits(expected, actual):
        raise _Mismatch(path, f"expected {_TYPES[expected]}, got {_TYPES.get(actual, actual)} {value!r}",
                        _type_fix(expected, actual, path))
    if actual == "object":
        _object(root, node, value, path)
    elif actual == "array":
        if len(value) < node.get("minItems", 0):
            raise _Mismatch(path, f"needs at least {node['minItems']} item(s)", "see docs/format.md")
        for index, item in enumerate(value if "items" in node else ()):
            _walk(root, node["items"], item, (*path, index))
    else:
        _scalar(node, value, actual, path)
    if "not" in node and _valid(root, node["not"], value):
        refused = node["not"]
        if "enum" in refused:
            raise _Mismatch(path, f"{value!r} is reserved", "choose another name")
        raise _Mismatch(path, f"{value!r} is not allowed here", "see docs/format.md for this field")


def _valid(root: dict[str, Any], node: dict[str, Any], value: Any) -> bool:
    try:
        _walk(root, node, value, ())
    except _Mismatch:
        return False
    return True


def _scalar(node: dict[str, Any], value: Any, actual: str, path: tuple[str | int, ...]) -> None:
    if actual == "string":
        if is_date_time(node) and (problem := _date_time(value)):
            raise _Mismatch(path, f"{value!r} {problem}",
                            "write an ISO 8601 date and time with a zone, e.g. 2026-11-20T10:02:11Z")
        if "pattern" in node and not pattern(node["pattern"]).search(value):
            raise _Mismatch(path, f"{value!r} is not allowed here", _case_fix(node["pattern"], value)
                            or "see docs/format.md for this field")
        if len(value) < node.get("minLength", 0):
            raise _Mismatch(path, "is empty", "write a value")
        if "maxLength" in node and len(value) > node["maxLength"]:
            raise _Mismatch(path, f"is longer than {node['maxLength']} characters", "shorten it")
    elif actual in ("integer", "number"):
        if actual == "number" and not math.isfinite(value):
            # JSON has no NaN or infinity: the YAML reader refuses them, a Python caller may not
            raise _Mismatch(path, f"{value} is not a finite number", "write a finite number")
        if "minimum" in node and value < node["minimum"]:
            raise _Mismatch(path, f"{value} is below the minimum {node['minimum']}", "see docs/format.md")
        if "maximum" in node and value > node["maximum"]:
            raise _Mismatch(path, f"{value} is above the maximum {node['maximum']}", "see docs/format.md")


def _object(root: dict[str, Any], node: dict[str, Any], value: dict[str, Any],
            path: tuple[str | int, ...]) -> None:
    properties: dict[str, Any] = node.get("properties", {})
    patterns: dict[str, Any] = node.get("patternProperties", {})
    names = node.get("propertyNames")
    for key, item in value.items():
        if names is not None:
            _walk(root, names, key, (*path, key))
        if key in properties:
            _walk(root, properties[key], item, (*path, key))
            continue
        matched = [sub for regex, sub in patterns.items() if pattern(regex).search(key)]
        for sub in matched:
            _walk(root, sub, item, (*path, key))
        if matched:
            continue
        extra = node.get("additionalProperties", True)
        if extra is False:
            if patterns:
                rule = next(iter(patterns))
                raise _Mismatch((*path, key), f"{key!r} is not allowed as a name here",
                                _case_fix(rule, key) or _NAME_RULES.get(rule, "see docs/format.md for the "
                                                                        "names allowed here"))
            raise _Mismatch((*path, key), "unknown field (a typo?)", "see docs/format.md for the fields")
        if isinstance(extra, dict):
            _walk(root, extra, item, (*path, key))
    for key in node.get("required", []):
        if key not in value:
            raise _Mismatch((*path, key), "required field is missing", "see docs/format.md for this field")


def _any_of(root: dict[str, Any], options: list[dict[str, Any]], value: Any,
            path: tuple[str | int, ...]) -> None:
    actual = type_of(value)
    kinds = [schema_type(root, o) for o in options]
    errors = []
    for option in options:
        try:
            _walk(root, option, value, path)
            return
        except _Mismatch as exc:
            errors.append(exc)
    # An option of the value's own type explains best what is wrong inside it.
    for kind, error in zip(kinds, errors, strict=True):
        if kind is not None and fits(kind, actual):
            raise error
    wanted = " or ".join(_TYPES.get(k, k) for k in kinds if k and k != "null")
    raise _Mismatch(path, f"expected {wanted}, got {_TYPES.get(actual, actual)} {value!r}",
                    _type_fix(next((k for k in kinds if k and k != "null"), ""), actual, path))


def _one_of(root: dict[str, Any], node: dict[str, Any], value: Any, path: tuple[str | int, ...]) -> None:
    """A tagged union (pydantic's discriminator): the tag picks the one schema to check against."""
    tag = node.get("discriminator", {})
    mapping: dict[str, str] = tag.get("mapping", {})
    name = tag.get("propertyName")
    if name and isinstance(value, dict):
        given = value.get(name)
        chosen = mapping.get(given) if isinstance(given, str) else None
        if chosen is None:
            allowed = ", ".join(sorted(mapping))
            raise _Mismatch((*path, name), f"{value.get(name)!r} is not one of {allowed}",
                            f"write {name}: one of {allowed}")
        _walk(root, {"$ref": chosen}, value, path)
        return
    _any_of(root, node["oneOf"], value, path)


def schema_type(root: dict[str, Any], option: dict[str, Any]) -> str | None:
    """The JSON type an option of a union stands for, None when it names none."""
    kind = resolve(root, option).get("type")
    return kind if isinstance(kind, str) else None


def _date_time(text: str) -> str | None:
    """What is wrong with a ``created_at``, None when nothing is."""
    if not pattern(DATE_TIME).search(text):
        return "is not a date and time with a zone"
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return "is not a date and time of the calendar"  # month 13, 25 o'clock, 30 February, year 0
    return None


def _case_fix(rule: str, text: str) -> str | None:
    """"did you mean production?" for an alias written in another case: files hold names in lower
    case only, while a person's input (``--to Production``) is matched ignoring case."""
    if rule == names.ALIAS_NAME.pattern and text != text.lower() and pattern(rule).search(text.lower()):
        return f"did you mean {text.lower()!r}? alias names in files are lower case"
    return None


def _type_fix(expected: str, actual: str, path: tuple[str | int, ...]) -> str:
    name = next((str(p) for p in reversed(path) if isinstance(p, str)), "value")
    if path and isinstance(path[-1], int):
        name = f"each item of {name}"
    if expected == "string" and actual in ("integer", "number", "boolean"):
        return (f"quote it in YAML ({name}: \"...\"): unquoted, 1.10 is the number 1.1 and "
                "true is a boolean")
    if expected in ("integer", "number") and actual == "string":
        return "write the number without quotes"
    return f"make {name} {_TYPES.get(expected, expected)} (see docs/format.md)"
