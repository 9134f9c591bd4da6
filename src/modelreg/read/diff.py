"""``modelreg diff``: two versions side by side, with deltas for numbers."""

from __future__ import annotations

from typing import Any, NamedTuple

from modelreg.read.catalog import ModelVersion, finite_number

SECTIONS = ("metrics", "slices", "params", "tags", "lineage", "artifact", "framework")


class FieldDiff:
    """One field of two versions side by side."""

    def __init__(self, section: str, key: str, a: Any, b: Any) -> None:
        self.section = section
        self.key = key
        self.a = a
        self.b = b

    def __repr__(self) -> str:
        delta = f" ({self.delta:+.6g})" if self.delta is not None else ""
        return f"<FieldDiff {self.section}.{self.key}: {self.a!r} -> {self.b!r}{delta}>"

    @property
    def changed(self) -> bool:
        return bool(self.a != self.b)

    @property
    def delta(self) -> float | None:
        if finite_number(self.a) and finite_number(self.b):
            return float(self.b) - float(self.a)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.section, "key": self.key, "a": self.a, "b": self.b,
                "delta": self.delta, "changed": self.changed}


class Compared(NamedTuple):
    """Two versions and their rows: what ``modelreg diff`` prints (a tuple, to unpack)."""

    a: ModelVersion
    b: ModelVersion
    rows: list[FieldDiff]

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.uri, "b": self.b.uri, "rows": [r.to_dict() for r in self.rows]}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"code": {"commit": "1a"}}`` → ``{"code.commit": "1a"}``; lists are indexed."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for index, sub in enumerate(value):
            out.update(flatten(sub, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def diff(a: ModelVersion, b: ModelVersion) -> list[FieldDiff]:
    rows: list[FieldDiff] = []
    for section in SECTIONS:
        left, right = flatten(a.data.get(section) or {}), flatten(b.data.get(section) or {})
        rows.extend(FieldDiff(section, key, left.get(key), right.get(key))
                    for key in sorted(set(left) | set(right)))
    return rows
