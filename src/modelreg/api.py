"""The Python API: one object per registry, mirroring the CLI.

>>> reg = Registry(".")                       # the work tree
>>> old = Registry(".", at="v1.2")            # any commit, branch, tag or date
>>> mv = reg.resolve("models:/fraud-detector@champion")
>>> mv.metrics["roc_auc"], mv.aliases, mv.stage
>>> mv.download("out/")
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from modelreg.errors import NotARegistryError
from modelreg.formats import names
from modelreg.formats.snapshot import open_snapshot
from modelreg.read.catalog import Catalog, Model, ModelVersion
from modelreg.read.resolve import resolve

if TYPE_CHECKING:
    from pathlib import Path

    from modelreg.read.diff import Row
    from modelreg.read.history import Event
    from modelreg.write.register import Registered, Registration

ENV_ROOT = "MODELREG_REGISTRY"


def find_root(start: str | os.PathLike[str] | None = None) -> str:
    """The registry containing ``start`` (default: $MODELREG_REGISTRY, else the current directory)."""
    origin = candidate = os.path.realpath(start or os.environ.get(ENV_ROOT) or ".")
    while True:
        if os.path.isfile(os.path.join(candidate, names.CONFIG_FILE)):
            return candidate
        parent = os.path.dirname(candidate)
        if parent == candidate:
            break
        candidate = parent
    raise NotARegistryError(f"{origin} is not inside a modelreg registry (no {names.CONFIG_FILE})",
                            fix="run `modelreg init`, or pass --registry PATH")


class ModelSummary:
    def __init__(self, model: Model, latest: int | None) -> None:
        self.model = model
        self.latest = latest

    def __repr__(self) -> str:
        return (f"<ModelSummary {self.model.name} latest={self.latest} versions={len(self.model.versions)} "
                f"aliases={self.model.aliases}>")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.model.name, "description": self.model.description,
                "owners": self.model.owners, "aliases": self.model.aliases,
                "latest": self.latest, "versions": len(self.model.versions),
                "tags": self.model.tags}


class Registry:
    def __init__(self, path: str | os.PathLike[str] = ".", *, at: str | None = None) -> None:
        self.top = find_root(path)
        self.at = at
        self.catalog = Catalog(open_snapshot(self.top, at))

    def close(self) -> None:
        """Stop the git process a registry read at a revision holds (``with Registry(...)``)."""
        self.catalog.snapshot.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def root(self) -> Path:
        """The registry's top directory (``top`` is the same as a str)."""
        from pathlib import Path  # off the CLI's read path, which uses `top`

        return Path(self.top)

    @property
    def commit(self) -> str | None:
        """The commit read from, or None for the work tree."""
        return self.catalog.snapshot.commit

    # reads ------------------------------------------------------------------

    def models(self) -> builtins.list[str]:
        return self.catalog.model_names()

    def model(self, name: str) -> Model:
        return self.catalog.model(name)

    def version(self, name: str, number: int) -> ModelVersion:
        return self.catalog.version(name, number)

    def versions(self, name: str) -> builtins.list[ModelVersion]:
        return self.catalog.versions(name)

    def resolve(self, uri: str) -> ModelVersion:
        return resolve(self.catalog, uri)

    def list(self, *, tags: dict[str, str] | None = None,
             alias: str | None = None) -> builtins.list[ModelSummary]:
        """Models with aliases and latest version; ``tags`` match model or latest-version tags."""
        out = []
        for name in self.models():
            model = self._model_or_none(name)
            if model is None:
                continue
            if alias and alias not in model.aliases:
                continue
            if tags and not self._has_tags(model, tags):
                continue
            out.append(ModelSummary(model, model.latest))
        self.catalog.save_memos()
        return out

    def _model_or_none(self, name: str) -> Model | None:
        """A model, or None for a directory under registry/ that has no model.yaml."""
        if not self.catalog.snapshot.exists(names.model_file(name)):
            return None
        return self.catalog.model(name)

    def _has_tags(self, model: Model, wanted: dict[str, str]) -> bool:
        have = dict(model.tags)
        if model.latest is not None:
            have = {**self.catalog.version(model.name, model.latest, with_pointer=False).tags, **have}
        return all(have.get(k) == v for k, v in wanted.items())

    def history(self, name: str, *, repo: str | None = None, offline: bool = False) -> builtins.list[Event]:
        """Every change to the model, newest first, with who approved each pull request when
        GitHub can be asked (see ``history.with_approvers``)."""
        from modelreg.read.history import history, with_approvers, with_ledger

        self.catalog.model(name)
        events = with_approvers(self.top, history(self.top, name, self.commit), repo=repo, offline=offline)
        return with_ledger(self.top, name, events, self.commit)

    def diff(self, name: str, a: str | int,
             b: str | int) -> tuple[ModelVersion, ModelVersion, builtins.list[Row]]:
        """Compare two versions of ``name``; ``a`` and ``b`` are numbers (3, "3", "v3"), aliases
        ("@production"), "latest", or whole URIs, as ``modelreg diff`` takes them."""
        from modelreg.read.diff import diff

        left, right = (self.resolve(_as_uri(name, ref)) for ref in (a, b))
        return left, right, diff(left, right)

    def search(self, where: Iterable[str], *, model: str | None = None) -> builtins.list[ModelVersion]:
        from modelreg.read.search import parse, search

        conditions = [parse(w) for w in where]
        models = [model] if model else [m for m in self.models() if self._model_or_none(m)]
        return search((mv for m in models for mv in self.catalog.versions(m)), conditions)

    # writes and transfers ---------------------------------------------------

    def register(self, registration: Registration, **options: Any) -> Registered:
        """Register a new version in the work tree (see :func:`modelreg.write.register.register`)."""
        from modelreg.write.register import register

        if self.at:
            raise NotARegistryError("cannot register into a past revision",
                                    fix="open the registry without at=")
        return register(self.root, registration, **options)

    def download(self, uri: str, dest: str | os.PathLike[str], *, force: bool = False) -> Path:
        return self.resolve(uri).download(dest, force=force)


def _as_uri(model: str, ref: str | int) -> str:
    if isinstance(ref, int):
        ref = str(ref)
    if ref.startswith("models:/"):
        return ref
    if ref.startswith("@"):
        return f"models:/{model}{ref}"
    return f"models:/{model}/{ref}"


def load_path(uri: str, *, registry: str | os.PathLike[str] = ".",
              dest: str | os.PathLike[str] | None = None) -> Path:
    """Download the artifact ``uri`` names (verified) and return its local path.

    Without ``dest`` it lands in ``<registry>/.modelreg/artifacts/<model>/v<N>/``
    and is reused, after a fresh sha256 check, on the next call.
    """
    from modelreg.read.artifacts import download, target_path, verify_existing

    reg = Registry(registry)
    mv = reg.resolve(uri)
    if dest is None:
        folder = reg.root / ".modelreg" / "artifacts" / mv.model / f"v{mv.version}"
        existing = target_path(mv, f"{folder}/")
        if existing.exists() and verify_existing(mv, existing):
            return existing
        return download(mv, f"{folder}/", force=True)
    return download(mv, dest)
