"""The one reader of each registry file kind, parsed once per snapshot.

Every reader of a registry file goes through here: :func:`parsed` for any
YAML file, :func:`model_file` for ``model.yaml``, :func:`policy_file` for a
policy; ``models.load_config`` reads ``modelreg.yaml`` with :func:`cached`.
What a reader made of a file, or the InputError it raised, is kept in the
snapshot's cache (``Snapshot.cache_for``), keyed by kind and path: the gates, the
catalog, approvals, codeowners and deploy asking for the same file at the
same revision share one parse and one error. A bad file is one InputError
(file, line, field, fix) for every reader; what a reader does with it (fail,
or leave it to the schema gate) is the reader's decision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from modelreg.errors import InputError
from modelreg.formats import names
from modelreg.formats.desired import DesiredState

if TYPE_CHECKING:
    from modelreg.edges.snapshot import Snapshot
    from modelreg.formats.models import Policy

T = TypeVar("T")
_MISSING = object()


def cached(snapshot: Snapshot, kind: str, path: str, build: Callable[[], T]) -> T:
    """``build()``, once per snapshot for (kind, path); an InputError it raised is raised again."""
    key = (kind, path)
    cache = snapshot.cache_for(path)
    found = cache.get(key, _MISSING)
    if found is _MISSING:
        try:
            found = build()
        except InputError as exc:
            found = exc
        cache[key] = found
    if isinstance(found, InputError):
        raise found
    return cast(T, found)  # what build() returned for this key


def raw(snapshot: Snapshot, path: str) -> bytes | None:
    """A file's bytes, read once per snapshot (errors point at lines in them)."""
    return cached(snapshot, "bytes", path, lambda: snapshot.read(path))


def parsed(snapshot: Snapshot, path: str) -> Any:
    """A YAML file parsed by the strict loader; None when it does not exist.

    Raises InputError (file, line, fix) when it does not parse."""

    def parse() -> Any:
        from modelreg.formats import yamlio  # a read answered from the memo never loads PyYAML

        data = raw(snapshot, path)
        return None if data is None else yamlio.loads(data, path)

    return cached(snapshot, "yaml", path, parse)


def mapping(snapshot: Snapshot, path: str) -> dict[str, Any] | None:
    """A YAML file that must hold a mapping (a manifest, a DVC pointer); None when it does not exist.
    Raises InputError (file, line, fix)."""

    def build() -> dict[str, Any] | None:
        doc = parsed(snapshot, path)
        if doc is None and raw(snapshot, path) is None:
            return None
        if not isinstance(doc, dict):
            raise InputError("expected a mapping at the top level", file=path,
                             fix="see docs/format.md for the file's fields")
        return doc

    return cached(snapshot, "mapping", path, build)


def remember(snapshot: Snapshot, kind: str | None, path: str, doc: dict[str, Any]) -> None:
    """Hand over a document found in the parse memo (``memo.py``): it is what :func:`checked`
    (or :func:`mapping`, for ``kind`` None) makes of those exact bytes."""
    cache = snapshot.cache_for(path)
    for key in (("yaml", path), ("mapping", path), (kind, path) if kind else ("mapping", path)):
        cache.setdefault(key, doc)


def checked(snapshot: Snapshot, kind: str, path: str) -> dict[str, Any] | None:
    """A file parsed and checked against the shipped JSON Schema of ``kind`` (``model``,
    ``version``); None when it does not exist. Raises InputError (file, line, field, fix)."""

    def check() -> dict[str, Any] | None:
        from modelreg.formats import shape

        doc = mapping(snapshot, path)
        if doc is None:
            return None
        shape.check(kind, doc, path, raw(snapshot, path))
        return doc

    return cached(snapshot, kind, path, check)


class ModelFile:
    """``registry/<name>/model.yaml``, read and checked: the typed record every reader shares."""

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.data = data
        self.desired = DesiredState.from_doc(name, data)

    def __repr__(self) -> str:
        return f"<ModelFile {self.name} {self.desired!r}>"

    @property
    def source(self) -> str:
        return names.model_file(self.name)

    @property
    def description(self) -> str:
        return str(self.data.get("description") or "")

    @property
    def owners(self) -> list[str]:
        return [str(o) for o in self.data.get("owners") or []]

    @property
    def policy(self) -> str | None:
        value = self.data.get("policy")
        return str(value) if value is not None else None

    @property
    def tags(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.data.get("tags") or {}).items()}


def model_file(snapshot: Snapshot, model: str) -> ModelFile | None:
    """A model's ``model.yaml`` in a snapshot; None when it has none.

    Raises InputError (file, line, field, fix) when it does not parse or breaks its schema.
    """
    path = names.model_file(model)

    def build() -> ModelFile | None:
        doc = checked(snapshot, "model", path)
        return None if doc is None else ModelFile(model, doc)

    return cached(snapshot, "model-file", path, build)


def desired(snapshot: Snapshot, model: str) -> DesiredState | None:
    """A model's desired state in a snapshot; None without a ``model.yaml``. Raises InputError."""
    found = model_file(snapshot, model)
    return found.desired if found is not None else None


def policy_file(snapshot: Snapshot, path: str) -> Policy | None:
    """A policy file, validated; None when it does not exist. Raises InputError."""

    def build() -> Policy | None:
        from modelreg.formats import models

        data = raw(snapshot, path)
        if data is None:
            return None
        return models.validate(models.Policy, parsed(snapshot, path), path, data)

    return cached(snapshot, "policy", path, build)
