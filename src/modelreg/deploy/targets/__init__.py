"""Deploy targets: one module per ``type:``, each a class with ``activate`` and ``serving``.

A target receives an :class:`Activation` (the model, version, alias, hashes,
the commit, and a way to get the artifact's verified bytes) and returns an
:class:`TargetOutcome`. Adding a target is adding a module and a line in
:data:`TARGETS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Activation:
    """What goes live: ``model`` v``version`` under ``alias`` in ``environment``."""

    environment: str
    model: str
    alias: str
    version: int
    sha256: str
    md5: str
    artifact_name: str
    uri: str
    commit: str
    #: the registry's top directory (where scratch files are journalled)
    registry: Path
    #: writes the artifact, verified by sha256, at the given path (atomically) and returns it
    fetch_to: Callable[[Path], Path]
    #: the artifact at a local path of modelreg's choosing, fetched once per deployment
    local_path: Callable[[], Path]
    #: the version's manifest, for targets that describe the model (format, framework)
    manifest: dict[str, Any] = field(default_factory=dict)
    #: install the bytes again even when the target's record says they are there (reconcile)
    reinstall: bool = False


@dataclass(frozen=True)
class Serving:
    """What a target says it serves for a model and alias."""

    version: int | None
    #: the sha256 of the bytes hashed now (``verified``), else what the target's own record says
    sha256: str | None
    #: True when the bytes were hashed now; False when the target's own record was trusted
    verified: bool = False
    drift: str | None = None
    #: the commit the target records deploying (a newer one is never moved back by an older run)
    commit: str | None = None
    #: what was checked, in words, when the bytes were not hashed now (the fast path, a manifest)
    unverified: str | None = None


@dataclass
class TargetOutcome:
    ok: bool
    target: str
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    #: the bytes now in place on the target hashed to the manifest's sha256 in this run
    verified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "target": self.target, "message": self.message, "detail": self.detail,
                "verified": self.verified}


class Target(Protocol):
    #: a short name for records and messages, e.g. "directory /srv/models"
    name: str

    def activate(self, act: Activation) -> TargetOutcome:
        """Make ``act`` live; on failure the previous version keeps serving."""

    def serving(self, model: str, alias: str, *, verify: bool = False) -> Serving | None:
        """What this target serves for ``model``/``alias`` (None: it cannot tell); ``verify``
        hashes the bytes, where the target can show them."""


def build(config: Any, root: Path) -> Target:
    """The target a ``modelreg.yaml`` entry describes (``config`` is a schema model)."""
    import importlib

    module = importlib.import_module(f"modelreg.deploy.targets.{TARGETS[config.type]}")
    target: Target = module.make(config, root)
    return target


#: ``type:`` in modelreg.yaml → module in this package
TARGETS: dict[str, str] = {
    "directory": "directory",
    "command": "command",
    "webhook": "webhook",
    "kserve": "kserve",
}
