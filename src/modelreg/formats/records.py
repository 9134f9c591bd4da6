"""Typed, read-only records of validated documents, built from the shipped JSON Schemas.

What a pydantic instance gives a reader (the fields as attributes, under the same
names, ``from_`` for the ``from`` key, nested records, defaults, the target
chosen by its ``type``) without importing pydantic: the schema generated from
the pydantic model says everything needed. ``formats/models.py`` names a
:class:`Kind` per model and types it, for mypy, as the pydantic class;
``tests/test_formats_agree.py`` checks that a record exposes exactly what
``Model.model_validate(doc)`` does.
"""

from __future__ import annotations

import datetime as dt
import keyword
from typing import Any

from modelreg.formats import shape


class FormatRecord:
    """One object of a file format, validated: its fields as read-only attributes."""

    __slots__ = ("_fields", "_kind")
    _kind: str
    _fields: dict[str, Any]  # keyed as in the file ("from", not "from_")

    def __init__(self, kind: str, fields: dict[str, Any]) -> None:
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, name: str) -> Any:
        key = _key(name)
        if not name.startswith("__") and key in self._fields:
            return self._fields[key]
        raise AttributeError(f"{self._kind} has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self._kind} is read-only")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FormatRecord):
            return NotImplemented
        return self._kind == other._kind and self._fields == other._fields

    def __hash__(self) -> int:
        # as a frozen pydantic model: hashable when every field is
        return hash((self._kind, *self._fields.values()))

    def __reduce__(self) -> tuple[type[FormatRecord], tuple[str, dict[str, Any]]]:
        # copy, deepcopy and pickle rebuild through __init__ (__setattr__ refuses)
        return FormatRecord, (self._kind, self._fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{_attribute(k)}={v!r}" for k, v in self._fields.items())
        return f"{self._kind}({fields})"

    def model_dump(self, *, by_alias: bool = False) -> dict[str, Any]:
        """The fields as plain data, nested records included (pydantic's ``model_dump``)."""
        return {(k if by_alias else _attribute(k)): _dump(v, by_alias) for k, v in self._fields.items()}


class Kind:
    """A record type at run time: what ``models.Policy`` is without pydantic.

    Called with fields (``CheckSettings(verify_sha256=True)``) or given a parsed document
    (``model_validate``), it validates against the shipped schema and returns a :class:`FormatRecord`.
    """

    def __init__(self, schema: str, name: str) -> None:
        self.schema = schema  # the schema file stem: version, model, policy, config
        self.__name__ = name  # the pydantic class's name: the schema's title or one of its $defs

    @property
    def definition(self) -> str | None:
        """The ``$defs`` entry of this kind, None for the schema's root."""
        return None if shape.schema(self.schema).get("title") == self.__name__ else self.__name__

    def _schema(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The whole schema (for ``$ref``) and this kind's part of it."""
        root = shape.schema(self.schema)
        definition = self.definition
        return root, root if definition is None else root["$defs"][definition]

    def __call__(self, **fields: Any) -> FormatRecord:
        return self.model_validate({_key(k): _dump(v, True) for k, v in fields.items()})

    def model_validate(self, data: Any, *, by_alias: bool = True) -> FormatRecord:
        # by_alias: pydantic's signature; a file's keys are the aliases ("from") either way
        shape.check(self.schema, data, self.__name__, definition=self.definition)
        return self.build(data)

    def model_construct(self, **fields: Any) -> FormatRecord:
        """A record of these fields as they are, unvalidated, the others at their defaults
        (pydantic's ``model_construct``: for tests of what a later guard refuses on its own)."""
        root, node = self._schema()
        given = {_key(k): v for k, v in fields.items()}
        values = {key: given[key] if key in given else _build(root, sub, sub["default"])
                  for key, sub in node["properties"].items() if key in given or "default" in sub}
        return FormatRecord(self.__name__, values)

    def build(self, data: Any) -> FormatRecord:
        """The record of a document that already passed ``shape.check`` against this kind."""
        root, node = self._schema()
        record: FormatRecord = _build(root, node, data)
        return record

    def __instancecheck__(self, instance: Any) -> bool:
        # isinstance(record, models.Policy) holds, as it would for the pydantic instance
        return isinstance(instance, FormatRecord) and instance._kind == self.__name__

    def __repr__(self) -> str:
        return f"<record kind {self.__name__}>"


def _key(attribute: str) -> str:
    """The file's key for an attribute: pydantic appends ``_`` to keys that are Python keywords."""
    return attribute[:-1] if attribute.endswith("_") and keyword.iskeyword(attribute[:-1]) else attribute


def _attribute(key: str) -> str:
    return f"{key}_" if keyword.iskeyword(key) else key


def _dump(value: Any, by_alias: bool) -> Any:
    if isinstance(value, FormatRecord):
        return value.model_dump(by_alias=by_alias)
    if isinstance(value, list):
        return [_dump(v, by_alias) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, by_alias) for k, v in value.items()}
    return value


def _build(root: dict[str, Any], node: dict[str, Any], value: Any) -> Any:
    node = shape.resolve(root, node)
    if "oneOf" in node:
        tag = node["discriminator"]
        return _build(root, {"$ref": tag["mapping"][value[tag["propertyName"]]]}, value)
    if "anyOf" in node:
        actual = shape.type_of(value)
        option = next(o for o in node["anyOf"] if shape.fits(shape.schema_type(root, o) or actual, actual))
        return _build(root, option, value)
    if isinstance(value, dict):
        if "properties" not in node:  # a mapping of names to values
            return {k: _build(root, shape.value_schema(node, k) or {}, v) for k, v in value.items()}
        fields = {}
        for key, sub in node["properties"].items():
            if key in value:
                fields[key] = _build(root, sub, value[key])
            elif "default" in sub:
                fields[key] = _build(root, sub, sub["default"])
        return FormatRecord(node.get("title", "FormatRecord"), fields)
    if isinstance(value, list):
        items = node.get("items", {})
        return [_build(root, items, v) for v in value]
    if node.get("type") == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # pydantic's float field gives 1.0 for 1
    if shape.is_date_time(node) and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value
