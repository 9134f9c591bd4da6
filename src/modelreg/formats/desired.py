"""Desired state: what ``model.yaml`` asks for, and what moved between two revisions.

A model's desired state is its aliases, its archived versions and its
rejected ones. It is read from ``model.yaml`` by ``documents.model_file``
(the one reader of that file, light: no pydantic), for the catalog (stage
and approval), history, the promotion and policy gates, the promotion
commands, approvals and deploy, so a bad entry is the same error for everyone.
:func:`moves` is the one pure function that says what changed between two
states.
"""

from __future__ import annotations

from typing import Any


class Rejection:
    def __init__(self, version: int, reason: str, by: str | None = None) -> None:
        self.version = version
        self.reason = reason
        self.by = by

    def __repr__(self) -> str:
        return f"Rejection(v{self.version}, {self.reason!r}, by={self.by!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rejection) and vars(self) == vars(other)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "reason": self.reason}
        if self.by:
            out["by"] = self.by
        return out


class DesiredState:
    """One model's aliases, archived and rejected versions (immutable once built)."""

    def __init__(self, model: str, aliases: dict[str, int] | None = None,
                 archived: frozenset[int] | set[int] = frozenset(),
                 rejected: dict[int, Rejection] | None = None) -> None:
        self.model = model
        self.aliases = dict(aliases or {})
        self.archived = frozenset(archived)
        self.rejected = dict(rejected or {})

    @classmethod
    def from_doc(cls, model: str, doc: dict[str, Any]) -> DesiredState:
        """From a ``model.yaml`` document that passed ``shape.check("model", ...)``."""
        return cls(model, aliases=dict(doc.get("aliases") or {}),
                   archived=frozenset(doc.get("archived") or ()),
                   rejected={r["version"]: Rejection(r["version"], r["reason"], r.get("by"))
                             for r in doc.get("rejected") or ()})

    def __repr__(self) -> str:
        return (f"<DesiredState {self.model} aliases={self.aliases} archived={sorted(self.archived)} "
                f"rejected={sorted(self.rejected)}>")

    def aliases_of(self, version: int) -> list[str]:
        return sorted(a for a, v in self.aliases.items() if v == version)

    def is_live(self, version: int) -> bool:
        return version not in self.archived and version not in self.rejected

    def to_doc(self) -> dict[str, Any]:
        """The desired-state fields as ``model.yaml`` holds them."""
        return {"aliases": dict(sorted(self.aliases.items())), "archived": sorted(self.archived),
                "rejected": [self.rejected[v].to_dict() for v in sorted(self.rejected)]}


class Move:
    """One change of desired state: an alias set, moved or removed; a version (un)archived or
    (un)rejected. ``before``/``after`` are versions (None: the alias was not set)."""

    def __init__(self, model: str, kind: str, *, alias: str | None = None, before: int | None = None,
                 after: int | None = None, reason: str | None = None) -> None:
        self.model = model
        self.kind = kind  # alias | archived | unarchived | rejected | unrejected
        self.alias = alias
        self.before = before
        self.after = after
        self.reason = reason

    def __repr__(self) -> str:
        return f"<Move {self.describe()}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Move) and vars(self) == vars(other)

    @property
    def version(self) -> int | None:
        """The version the move is about: where an alias now points, or the (un)archived one."""
        return self.after

    def describe(self) -> str:
        """``fraud production: v3 → v4``, ``fraud v2 archived``..."""
        if self.kind == "alias":
            return f"{self.model} {self.alias}: {_v(self.before)} → {_v(self.after)}"
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.model} v{self.after} {self.kind}{why}"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "(none)"


def moves(before: DesiredState | None, after: DesiredState | None) -> list[Move]:
    """What changed from ``before`` to ``after`` (either may be None: no model.yaml), in a stable
    order: aliases by name, then archived, unarchived, rejected, unrejected by version."""
    either = after or before
    model = either.model if either is not None else ""
    old = before or DesiredState(model)
    new = after or DesiredState(model)
    out = [Move(model, "alias", alias=alias, before=old.aliases.get(alias), after=new.aliases.get(alias))
           for alias in sorted(set(old.aliases) | set(new.aliases))
           if old.aliases.get(alias) != new.aliases.get(alias)]
    out += [Move(model, "archived", after=v) for v in sorted(new.archived - old.archived)]
    out += [Move(model, "unarchived", after=v) for v in sorted(old.archived - new.archived)]
    out += [Move(model, "rejected", after=v, reason=new.rejected[v].reason)
            for v in sorted(set(new.rejected) - set(old.rejected))]
    out += [Move(model, "unrejected", after=v) for v in sorted(set(old.rejected) - set(new.rejected))]
    return out
