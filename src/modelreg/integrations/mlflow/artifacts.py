"""A version's artifact as an MLflow artifact repository: bytes verified by sha256, read-only.

MLflow builds it for the ``modelreg:`` URIs the store hands out (entry point
``mlflow.artifact_repository``), e.g. when ``mlflow.pyfunc.load_model("models:/M@champion")``
asks for the download URI of that version. Every download fetches the artifact through DVC
and checks its sha256 against ``version.yaml`` while copying it out of the cache, exactly as
``modelreg get`` does (``read/artifacts.py``): a file that does not match fails the download
and nothing of it is left in the destination. The repository's root is the artifact itself
when it is a directory (so an MLflow model directory has its ``MLmodel`` at the root), and the
version's directory, listing the one file, when it is a file.

The bytes are also held to the version's policy before MLflow sees them, as ``load_model``
holds them (``_admit``): a signature the policy requires is verified, ``artifact.code_execution``
is applied (``refuse``: no file that runs code; ``scan``: only what a scan cleared), and an
``MLmodel`` naming a path outside the directory is refused.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from mlflow.entities import FileInfo
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, PERMISSION_DENIED, RESOURCE_DOES_NOT_EXIST
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.utils.file_utils import create_tmp_dir

from modelreg.api import Registry
from modelreg.errors import InputError, IntegrityError, NotFoundError
from modelreg.integrations.mlflow.store import translated
from modelreg.integrations.mlflow.uri import ArtifactUri, parse_artifact
from modelreg.read.artifacts import download
from modelreg.read.catalog import ModelVersion


class ModelregArtifactRepository(ArtifactRepository):
    """MLflow's artifact repository over one version's artifact (see the module's docstring)."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None,
                 registry_uri: str | None = None) -> None:
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        with translated():
            self.place: ArtifactUri = parse_artifact(artifact_uri)
        self._listed: tempfile.TemporaryDirectory[str] | None = None

    # reads ---------------------------------------------------------------------------------------

    def download_artifacts(self, artifact_path: str | None, dst_path: str | None = None) -> str:
        """Fetch and verify the whole artifact into ``dst_path`` (a new temporary directory when
        None), then keep the part ``artifact_path`` names; return its local path."""
        rel = _relative(artifact_path)
        if dst_path:
            dst = os.path.abspath(dst_path)
            if not os.path.isdir(dst):
                raise MlflowException(f"the destination {dst} is not an existing directory",
                                      error_code=RESOURCE_DOES_NOT_EXIST)
        else:
            dst = create_tmp_dir()
        with tempfile.TemporaryDirectory(prefix=".modelreg-", dir=dst) as scratch:
            root = self._fetch(Path(scratch))
            source = root / rel if rel else root
            if not source.exists():
                raise MlflowException(f"{self.artifact_uri} has no {rel!r}",
                                      error_code=RESOURCE_DOES_NOT_EXIST)
            target = Path(dst) / rel if rel else Path(dst)
            _move(source, target)
        return str(target)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = _relative(path)
        if self._listed is None:
            self._listed = tempfile.TemporaryDirectory(prefix="modelreg-mlflow-")
            self._root = self._fetch(Path(self._listed.name))
        here = self._root / rel if rel else self._root
        if not here.is_dir():
            return []
        return [FileInfo(posixpath.join(rel, p.name) if rel else p.name, p.is_dir(),
                         None if p.is_dir() else p.stat().st_size)
                for p in sorted(here.iterdir())]

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        rel = _relative(remote_file_path)
        with tempfile.TemporaryDirectory(prefix="modelreg-mlflow-") as scratch:
            source = self._fetch(Path(scratch)) / rel
            if not source.is_file():
                raise MlflowException(f"{self.artifact_uri} has no file {rel!r}",
                                      error_code=RESOURCE_DOES_NOT_EXIST)
            shutil.copyfile(source, local_path)

    def _fetch(self, scratch: Path) -> Path:
        """The artifact fetched and verified under ``scratch``; the directory that is this
        repository's root."""
        place = self.place
        with translated(), Registry(place.registry.root, at=place.registry.at) as reg:
            mv = reg.version(place.model, place.version)
            name = str(mv.artifact.get("path", ""))
            if place.artifact is not None and place.artifact != name:
                raise NotFoundError(f"{mv.uri} has no artifact {place.artifact!r} (its artifact is {name!r})",
                                    fix="use the URI get_model_version_download_uri returns")
            written = download(mv, f"{scratch}/")
            _admit(reg, mv, written)
        if place.artifact is None or not written.is_dir():
            if place.inner:
                raise MlflowException(f"{self.artifact_uri}: {name} is a file, with nothing below it",
                                      error_code=RESOURCE_DOES_NOT_EXIST)
            return scratch
        return written / place.inner if place.inner else written

    # writes --------------------------------------------------------------------------------------

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise MlflowException(
            f"{self.artifact_uri} is a version's artifact in a modelreg registry: it is never changed "
            "through MLflow; register a new version (`modelreg register MODEL --artifact PATH`) and open "
            "a pull request", error_code=PERMISSION_DENIED)

    log_artifact = log_artifacts = delete_artifacts = _refuse


def _admit(reg: Registry, mv: ModelVersion, written: Path) -> None:
    """What MLflow is about to load, held to the version's policy as ``load_model`` holds it: the
    signature where the policy requires one (verified on these very bytes), then
    ``artifact.code_execution``: under ``refuse`` no pickle, compiled, native or Python source
    file, under ``scan`` only what a scan cleared (code no scanner reads is refused, as serve
    refuses it), under ``allow`` MLflow's own choice. An ``MLmodel`` naming a path outside the
    directory is refused under every rule. Raises a ModelregError; the caller leaves nothing."""
    from modelreg.edges import weights
    from modelreg.integrations.load import code_files
    from modelreg.policies import signing
    from modelreg.policies.weights import judge
    from modelreg.serve import safety

    verdict = signing.verify_version(reg.catalog.snapshot, mv.model, mv.version, mv.data, written)
    if not verdict.ok:
        raise IntegrityError(f"{mv.uri}: signature not verified, {verdict.problem}; nothing was downloaded",
                             fix="its policy requires signing: load a signed version, or restore its bundle")
    rule = safety.rule_for(reg, mv)
    found = code_files(written, rule, mv.uri) if rule.inspects \
        else weights.outside_paths(written, written.name)
    problems = judge(rule, found)
    if problems:
        raise InputError(f"{mv.uri}: {problems[0].message}; MLflow would run it when loading the model, "
                         "and nothing was downloaded", fix=problems[0].fix)


def _relative(path: str | None) -> str:
    """``path`` as a relative POSIX path inside the repository ("" its root); no ``..``."""
    if not path:
        return ""
    norm = posixpath.normpath(path.replace(os.sep, "/")).lstrip("/") if not path.startswith("/") else None
    if norm is None or norm == ".." or norm.startswith("../"):
        raise MlflowException(f"{path!r} is not a path inside the artifact",
                              error_code=INVALID_PARAMETER_VALUE)
    return "" if norm == "." else norm


def _move(source: Path, target: Path) -> None:
    """Put ``source`` (verified) at ``target``; a directory's entries join what is there."""
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for entry in source.iterdir():
            _move(entry, target / entry.name)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    os.replace(source, target)
