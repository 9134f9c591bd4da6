"""The one resolver: which version does a model URI point at, in a snapshot.

The CLI, the Python API and the CI gates all call :func:`resolve`. URIs
follow MLflow's forms; the ``models:/`` prefix is optional:

- ``models:/fraud-detector/3`` (or ``fraud-detector/v3``): version 3
- ``models:/fraud-detector@champion``: the version alias ``champion`` points at
- ``models:/fraud-detector/latest``: the highest live (not archived/rejected) version
- ``models:/fraud-detector/Production``: MLflow's stage URI, read as the alias
  ``production``
"""

from __future__ import annotations

import re
from typing import Any

from modelreg.errors import InputError, NotFoundError
from modelreg.formats.names import alias_input, check_model_name
from modelreg.formats.pointers import Remote, default_remote
from modelreg.read.catalog import Catalog, ModelVersion

_DIGITS = re.compile(r"^[0-9]{1,9}$")  # ASCII only: str.isdigit() also accepts superscripts
_URI = re.compile(r"^(?:models:/)?(?P<model>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<ref>[^/@]+))?$")


class Reference:
    """A parsed model URI: exactly one of ``version``, ``alias``, ``latest`` is set."""

    def __init__(self, model: str, *, version: int | None = None, alias: str | None = None,
                 latest: bool = False) -> None:
        self.model = model
        self.version = version
        self.alias = alias
        self.latest = latest

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"<Reference {self}>"

    def __str__(self) -> str:
        if self.version is not None:
            return f"models:/{self.model}/{self.version}"
        if self.alias is not None:
            return f"models:/{self.model}@{self.alias}"
        return f"models:/{self.model}/latest"


def parse(uri: str) -> Reference:
    match = _URI.match(uri.strip())
    if not match:
        raise InputError(f"{uri!r} is not a model URI",
                         fix="use models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/latest")
    model = check_model_name(match.group("model"))
    if match.group("alias"):
        return Reference(model, alias=alias_input(match.group("alias")))
    ref = match.group("ref")
    if ref is None:
        raise InputError(f"{uri!r} names a model but not a version",
                         fix=f"add /VERSION, @ALIAS or /latest: models:/{model}/latest")
    number = ref[1:] if ref[:1] in "vV" and _DIGITS.match(ref[1:]) else ref
    if _DIGITS.match(number):
        if int(number) < 1:
            raise InputError(f"{uri!r}: versions start at 1", fix=f"try models:/{model}/1")
        return Reference(model, version=int(number))
    if ref.lower() == "latest":
        return Reference(model, latest=True)
    # MLflow stage URIs (models:/m/Production) read as the alias of that name.
    return Reference(model, alias=alias_input(ref))


def resolve(catalog: Catalog, uri: str | Reference) -> ModelVersion:
    ref = parse(uri) if isinstance(uri, str) else uri
    model = catalog.model(ref.model)
    if ref.version is not None:
        return catalog.version(ref.model, ref.version)
    if ref.latest:
        if model.latest is None:
            raise NotFoundError(f"model {ref.model!r} has no live version",
                                fix=f"register one with `modelreg register {ref.model} ...`")
        return catalog.version(ref.model, model.latest)
    assert ref.alias is not None
    if ref.alias not in model.aliases:
        raise _unknown_alias(ref.model, ref.alias, model.aliases)
    return catalog.version(ref.model, model.aliases[ref.alias])


def _unknown_alias(model: str, alias: str, aliases: dict[str, int]) -> NotFoundError:
    """A mistyped alias gets the closest one; only an alias like none of them is offered to be set."""
    from modelreg.read.suggest import did_you_mean

    guess = did_you_mean(alias, aliases, "aliases")
    if guess:
        return NotFoundError(f"model {model!r} has no alias {alias!r}", fix=guess)
    known = ", ".join(sorted(aliases)) or "none"
    return NotFoundError(f"model {model!r} has no alias {alias!r} (aliases: {known})",
                         fix=f"set aliases.{alias} in registry/{model}/model.yaml")


class Located:
    """A version a URI named, with its artifact's hashes and where the remote keeps its bytes:
    what ``modelreg resolve`` prints."""

    def __init__(self, requested: str, version: ModelVersion, remote: Remote) -> None:
        self.requested = requested
        self.version = version
        self.remote = remote

    def __repr__(self) -> str:
        return f"<Located {self.requested!r} -> {self.version.uri}>"

    @property
    def location(self) -> str:
        assert self.version.pointer is not None  # locate() refuses a version without one
        return self.remote.location(self.version.pointer.md5)

    def to_dict(self) -> dict[str, Any]:
        """The version's JSON (see ``ModelVersion.to_dict``), the URI as asked, the artifact's
        hashes and size from its DVC pointer, and its remote location."""
        pointer = self.version.pointer
        assert pointer is not None
        art = self.version.artifact
        return {**self.version.to_dict(), "requested": self.requested,
                "artifact": {"path": art.get("path"), "type": art.get("type", "file"), "size": pointer.size,
                             "md5": pointer.md5, "sha256": art.get("sha256"), "format": art.get("format")},
                "remote": {"name": self.remote.name, "location": self.location}}


def locate(catalog: Catalog, uri: str) -> Located:
    """Resolve ``uri`` and find where its artifact's bytes are (no remote is contacted)."""
    mv = resolve(catalog, uri)
    if mv.pointer is None:
        raise NotFoundError(f"{mv.source} has no DVC pointer for its artifact",
                            fix="the version is incomplete; run `modelreg check` on it")
    return Located(uri, mv, default_remote(catalog.snapshot))
