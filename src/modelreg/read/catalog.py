"""The read path: models and versions as records, read from a Snapshot.

Every file is read through the snapshot's one reader (``formats/documents.py``:
strict YAML, checked against its shipped JSON Schema, so a read refuses what
``modelreg check`` refuses), or taken from the parse memo (``edges/memo.py``)
when its exact bytes were read before; nothing here imports pydantic or DVC.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from modelreg.edges import memo
from modelreg.edges.memo import Memo
from modelreg.edges.snapshot import Snapshot
from modelreg.errors import InputError, NotFoundError
from modelreg.formats import documents, layout, names
from modelreg.formats.documents import ModelFile
from modelreg.formats.pointers import Pointer, pointer_from

if TYPE_CHECKING:
    from pathlib import Path

STAGE_ALIASES = {"production": "Production", "staging": "Staging"}


class Model(ModelFile):
    """``registry/<name>/model.yaml`` plus the version numbers present beside it."""

    # Plain classes, not dataclasses, on the read path: generating dataclass
    # code at import costs milliseconds that every `modelreg resolve` would pay.
    def __init__(self, name: str, data: dict[str, Any], versions: tuple[int, ...]) -> None:
        super().__init__(name, data)
        self.versions = versions

    def __repr__(self) -> str:
        return (f"<Model {self.name} versions={list(self.versions)} aliases={self.aliases} "
                f"latest={self.latest}>")

    @property
    def aliases(self) -> dict[str, int]:
        return self.desired.aliases

    @property
    def archived(self) -> frozenset[int]:
        return self.desired.archived

    @property
    def rejected(self) -> dict[int, str]:
        """Rejected version → the reason given."""
        return {v: r.reason for v, r in self.desired.rejected.items()}

    @property
    def latest(self) -> int | None:
        """Highest version that is neither archived nor rejected (MLflow's ``latest``)."""
        live = self.desired.is_live
        return next((v for v in reversed(self.versions) if live(v)), None)  # versions are sorted

    def aliases_of(self, version: int) -> list[str]:
        return self.desired.aliases_of(version)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "owners": self.owners,
                "policy": self.policy, "aliases": self.aliases, "latest": self.latest, "tags": self.tags,
                "archived": sorted(self.archived),
                "rejected": [{"version": r.version, "reason": r.reason, "by": r.by}
                             for _, r in sorted(self.desired.rejected.items())]}

    def stage(self, version: int) -> str:
        """SageMaker-style lifecycle stage, derived from the desired state."""
        if version in self.archived:
            return "Archived"
        aliases = self.aliases_of(version)
        for alias, stage in STAGE_ALIASES.items():
            if alias in aliases:
                return stage
        return "None"

    def approval(self, version: int) -> str:
        """SageMaker-style approval status: an alias pointing at a version approved it."""
        if version in self.rejected:
            return "Rejected"
        if self.aliases_of(version):
            return "Approved"
        return "PendingManualApproval"


class ModelVersion:
    """One ``version.yaml`` with the state its model gives it."""

    def __init__(self, model: str, version: int, data: dict[str, Any], *, root: str,
                 commit: str | None, aliases: tuple[str, ...] = (), stage: str = "None",
                 approval: str = "PendingManualApproval", pointer: Pointer | None = None) -> None:
        self.model = model
        self.version = version
        self.data = data
        self.root = root
        self.commit = commit
        self.aliases = aliases
        self.stage = stage
        self.approval = approval
        self.pointer = pointer

    def __repr__(self) -> str:
        return f"<ModelVersion {self.uri} aliases={list(self.aliases)} stage={self.stage}>"

    @property
    def source(self) -> str:
        return names.version_file(self.model, self.version)

    @property
    def uri(self) -> str:
        return f"models:/{self.model}/{self.version}"

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.data.get("metrics") or {})

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.data.get("params") or {})

    @property
    def tags(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.data.get("tags") or {}).items()}

    @property
    def lineage(self) -> dict[str, Any]:
        return dict(self.data.get("lineage") or {})

    @property
    def artifact(self) -> dict[str, Any]:
        return dict(self.data.get("artifact") or {})

    @property
    def description(self) -> str:
        return str(self.data.get("description") or "")

    @property
    def created_at(self) -> str:
        return str(self.data.get("created_at") or "")

    def download(self, dest: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Fetch the artifact through DVC, verify its sha256, write it atomically at ``dest``.

        ``dest`` is the output path, or a directory (existing, or ending in ``/``)
        to write ``<dest>/<artifact name>`` into.
        """
        from modelreg.read.artifacts import download

        return download(self, dest, force=force)

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape of a version (docs/format.md, "A version as JSON"): what show,
        search, resolve, get and list print, and the Python API returns."""
        return {
            "model": self.model,
            "version": self.version,
            "uri": self.uri,
            "commit": self.commit,
            "aliases": list(self.aliases),
            "stage": self.stage,
            "approval": self.approval,
            "created_at": self.created_at,
            "created_by": self.data.get("created_by"),
            "description": self.description,
            "metrics": self.metrics,
            "tags": self.tags,
            "manifest": self.data,
        }


class ModelDetail:
    """A model with every version: what ``modelreg show MODEL`` prints."""

    def __init__(self, model: Model, versions: list[ModelVersion]) -> None:
        self.model = model
        self.versions = versions

    def __repr__(self) -> str:
        return f"<ModelDetail {self.model.name} versions={[mv.version for mv in self.versions]}>"

    def to_dict(self) -> dict[str, Any]:
        return {**self.model.to_dict(), "versions": [mv.to_dict() for mv in self.versions]}


class Catalog:
    """Reads models and versions from one snapshot, each file at most once."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._models: dict[str, Model] = {}
        self._memos: dict[str, Memo] = {}
        self._root: dict[str, str] | None = None
        self._root_checked = False
        #: each model's tree as its read listed it (``Snapshot.entries``), for its versions' checks
        self._trees: dict[str, layout.ModelTree] = {}
        #: models listed one level deep (their tree known whole): a version read lists its directory
        self._listed_alone: set[str] = set()
        #: whether every model is being read (``model_names`` was asked): ``list``, ``search``, the site
        self._listing = False

    def _load(self, model: str, path: str, kind: str | None) -> dict[str, Any] | None:
        """A file of ``model``, parsed strictly and checked against the schema of its ``kind``
        (``model``, ``version``, or None for a DVC pointer), or from the memo of that exact content.

        A miss is read by ``documents`` (the snapshot's one parse of the file); a hit is handed to
        it, so another reader of this snapshot does not parse the file again."""
        blob = self.snapshot.blob_id(path)
        if blob is None:
            return None
        key = memo.key(kind or "pointer", blob)
        # model.yaml is in the model's own memo and in the one of every model's: a listing looks in
        # that one first (one file, not one a model), any other read in the model's own (a small
        # file, where the memo of a thousand models' would cost more than the read)
        if kind == "model":
            where = [memo.MODELS, model] if self._listing else [model, memo.MODELS]
        else:
            where = [memo.shard(model, names.parse_version_dir(path.split("/")[2]))]
        doc: dict[str, Any] | None = None
        for at, name in enumerate(where):  # a memo is opened only when the ones before it missed
            doc = self._memo(name).get(key)
            if doc is not None:
                for earlier in where[:at]:  # so that it is found first next time
                    self._memo(earlier).put(key, doc)
                documents.remember(self.snapshot, kind, path, doc)
                return doc
        doc = documents.checked(self.snapshot, kind, path) if kind is not None else \
            documents.mapping(self.snapshot, path)
        if doc is not None:
            for name in where:
                self._memo(name).put(key, doc)
        return doc

    def _memo(self, name: str) -> Memo:
        if name not in self._memos:
            self._memos[name] = Memo(self.snapshot.root, name,
                                     max_unused=memo.MAX_MODELS if name == memo.MODELS else memo.MAX_UNUSED)
        return self._memos[name]

    def save_memos(self) -> None:
        for each in self._memos.values():
            each.save()
        self.snapshot.save()

    def model_names(self, *, check: bool = True) -> list[str]:
        """The models under ``registry/``. Raises InputError for anything else there (a file, a
        link, a directory no model could be named), unless ``check`` is False (the gate's own
        listing: it reports every such entry)."""
        entries = self._registry_entries()
        self._listing = True
        if check:
            self._check_registry()
        return sorted(n for n, kind in entries.items() if kind == layout.DIRECTORY and n
                      and names.MODEL_NAME.fullmatch(n) and len(n) <= names.MODEL_NAME_MAX)

    def _registry_entries(self) -> dict[str, str]:
        if self._root is None:
            self._root = self.snapshot.entries(names.REGISTRY_DIR, 1)
        return self._root

    def _check_registry(self) -> None:
        if not self._root_checked:
            layout.check(layout.registry_problems(self._registry_entries()))
            self._root_checked = True

    def model(self, name: str) -> Model:
        """A model as its files say. Raises NotFoundError when there is none, and InputError (file,
        line, field, fix) for a file that breaks its format or a tree that holds what the format
        does not allow (``formats/layout.py``): the top of ``registry/``, the model's directory and
        each version directory are checked from the listings the read makes anyway."""
        names.check_model_name(name)
        if name not in self._models:
            self._check_registry()
            top = names.model_dir(name)
            # A tree found whole before and unchanged since (its tree id, or in a work tree its
            # directories' inode and times, say so) needs no rules run: the model's own listing is
            # all a read needs, and each version read lists its own directory (`_version`).
            known = self.snapshot.whole(top)
            if known is not None:
                tree = known
                self._listed_alone.add(name)
            else:
                tree = layout.ModelTree(self.snapshot.entries(top, 2))
                if tree.kind is None:
                    raise self._unknown_model(name)
                layout.check(layout.model_problems(
                    name, tree, work_tree=self.snapshot.work_tree,
                    manifest=lambda n: self._load(name, names.version_file(name, n), "version")))
                self.snapshot.found_whole(top)
            data = self._load(name, names.model_file(name), "model")
            if data is None:
                raise self._unknown_model(name)
            self._models[name] = Model(name=name, data=data, versions=tuple(sorted(tree.versions)))
            self._trees[name] = tree
        return self._models[name]

    def _unknown_model(self, name: str) -> NotFoundError:
        from modelreg.read.suggest import did_you_mean

        where = f" at {self.snapshot.commit[:12]}" if self.snapshot.commit else ""
        known = [n for n in self.model_names() if self.snapshot.exists(names.model_file(n))]
        return NotFoundError(f"no model named {name!r}{where}",
                             fix=did_you_mean(name, known, "models")
                             or "run `modelreg list` to see the registered models")

    def version(self, name: str, number: int, *, with_pointer: bool = True) -> ModelVersion:
        mv = self._version(name, number, with_pointer=with_pointer)
        self.save_memos()
        return mv

    def versions(self, name: str) -> list[ModelVersion]:
        model = self.model(name)
        if name in self._listed_alone:  # every version read: one listing of all, not one each
            self._trees[name] = layout.ModelTree(self.snapshot.entries(names.model_dir(name), 2))
            self._listed_alone.discard(name)
        out = [self._version(name, n, with_pointer=False) for n in model.versions]
        self.save_memos()
        return out

    def _version(self, name: str, number: int, *, with_pointer: bool) -> ModelVersion:
        model = self.model(name)
        source = names.version_file(name, number)
        data = self._load(name, source, "version") if number in model.versions else None
        if data is None:
            raise NotFoundError(f"model {name!r} has no version {number}",
                                fix=f"run `modelreg show {name}` to see its versions")
        recorded = data.get("version")
        if recorded != number or data.get("model") != name:
            raise InputError(f"says {data.get('model')}/v{recorded}, but lives in {name}/v{number}",
                             file=source, field="version",
                             fix="a manifest must match its directory")
        tree = self._trees[name]
        if name in self._listed_alone and not tree.versions[number]:
            entries = self.snapshot.entries(names.version_dir(name, number), 1)
            tree.versions[number] = {k: v for k, v in entries.items() if k}
        layout.check(layout.read_problems(name, number, tree, data, work_tree=self.snapshot.work_tree))
        pointer = self._pointer(name, number, data) if with_pointer else None
        return ModelVersion(
            model=name, version=number, data=data, root=self.snapshot.root,
            commit=self.snapshot.commit, aliases=tuple(model.aliases_of(number)),
            stage=model.stage(number), approval=model.approval(number), pointer=pointer,
        )

    def _pointer(self, name: str, number: int, data: dict[str, Any]) -> Pointer | None:
        artifact = data.get("artifact")
        if not isinstance(artifact, dict) or not isinstance(artifact.get("path"), str):
            return None
        path = f"{names.version_dir(name, number)}/{artifact['path']}.dvc"
        doc = self._load(name, path, None) if names.FILE_NAME.fullmatch(artifact["path"]) else None
        return pointer_from(doc, path) if doc is not None else None


def finite_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))
