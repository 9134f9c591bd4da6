"""Which version to serve, and its bytes, verified against the registry.

For ``MODEL@ALIAS``, what is *deployed* is served: the version the alias link of a
``directory`` target points at, in an environment of ``modelreg.yaml`` that serves that
alias. That may lag the registry (a promotion merged, not yet deployed): the version the
link names is served, and a note says so. For a version number (or ``latest``), a
``directory`` target holding that version is used. Otherwise the artifact is fetched through
DVC into ``.modelreg/artifacts/`` (as ``load_path`` does) and verified on the way.

Whatever the source, the file is read once into memory, its sha256 compared with the
version's manifest, and those very bytes are what the loader gets: a file changed on the
target is refused, and cannot be swapped between the check and the load.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from modelreg.api import Registry
from modelreg.deploy.targets import directory
from modelreg.errors import InputError, IntegrityError, NotFoundError
from modelreg.formats import models, names
from modelreg.read.catalog import ModelVersion
from modelreg.read.resolve import Reference, parse


@dataclass(frozen=True)
class Servable:
    """The version to serve and where its bytes are (``path`` None: in the DVC remote)."""

    mv: ModelVersion
    path: Path | None
    #: where the bytes come from, for people: "the directory target /srv/models (environment production)"
    source: str
    notes: tuple[str, ...] = ()


def find(reg: Registry, uri: str, *, env: str | None = None) -> Servable:
    """The version ``uri`` serves, preferring what a ``directory`` target has deployed."""
    ref = parse(uri)
    roots = _directory_roots(reg, ref, env)
    if ref.alias is not None:
        for root, where in roots:
            link = root / ref.model / ref.alias
            version = _linked_version(link)
            if version is None:
                continue
            mv = reg.version(ref.model, version)
            wanted = reg.model(ref.model).aliases.get(ref.alias)
            notes = () if wanted == version else (
                f"{where} serves {ref.alias} = v{version}, but the registry says "
                f"{f'v{wanted}' if wanted is not None else 'no version'}: serving what is deployed "
                "(`modelreg status` shows the drift, `modelreg deploy` or `reconcile` moves it)",)
            return Servable(mv, _artifact_in(link.parent / str(version), mv), where, notes)
    mv = reg.resolve(uri)
    if ref.alias is None:
        for root, where in roots:
            version_dir = root / ref.model / str(mv.version)
            if (version_dir / directory.RECORD).is_file():
                return Servable(mv, _artifact_in(version_dir, mv), where)
    notes = ()
    if roots and ref.alias is not None:
        notes = (f"no directory target of an environment serving {ref.alias} holds it: "
                 f"fetched v{mv.version} from the DVC remote",)
    return Servable(mv, None, "the DVC remote", notes)


def read_verified(reg: Registry, found: Servable) -> bytes:
    """The artifact's bytes, whose sha256 matched the manifest and, where the version's policy
    requires signing, whose signature verified; :class:`IntegrityError` otherwise."""
    mv = found.mv
    expected = str(mv.artifact.get("sha256", ""))
    if found.path is not None:
        data = _read(found.path)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise IntegrityError(
                f"{found.path}: sha256 {actual}, but {mv.source} records {expected}; refusing to load it",
                fix="the file was changed after it was deployed: `modelreg status --verify` shows it, "
                "`modelreg reconcile` puts the registered bytes back")
    else:
        data = _fetched(reg, mv, expected)
    _signed(reg, mv, data)
    return data


def _signed(reg: Registry, mv: ModelVersion, data: bytes) -> None:
    """Refuse bytes whose policy requires signing unless their bundle verifies on these very
    bytes (a copy of them is what is verified: the file could change after it was read)."""
    import tempfile

    from modelreg.policies import signing

    snapshot = reg.catalog.snapshot
    try:
        required = signing.at(snapshot, mv.model, mv.data).required
    except InputError as exc:
        raise IntegrityError(f"{mv.uri}: the signing rule cannot be read: {exc}; refusing to load it",
                             fix="fix the policy (`modelreg check --all` names the problem)") from exc
    if not required:
        return
    with tempfile.TemporaryDirectory(prefix="modelreg-serve-") as tmp:
        copy = Path(tmp) / names.check_file_name(str(mv.artifact.get("path", "artifact")))
        copy.write_bytes(data)
        verdict = signing.verify_version(snapshot, mv.model, mv.version, mv.data, copy)
    if not verdict.ok:
        raise IntegrityError(f"{mv.uri}: signature not verified, {verdict.problem}; refusing to load it",
                             fix="its policy requires signing: serve a signed version, or restore its bundle")


def _fetched(reg: Registry, mv: ModelVersion, expected: str) -> bytes:
    """From the cache ``load_path`` uses when it still matches, else downloaded (verified) into it."""
    from modelreg.read.artifacts import download, target_path

    folder = reg.root / ".modelreg" / "artifacts" / mv.model / f"v{mv.version}"
    cached = target_path(mv, f"{folder}/")
    if cached.is_file():
        data = _read(cached)
        if hashlib.sha256(data).hexdigest() == expected:
            return data
    path = download(mv, f"{folder}/", force=True)
    data = _read(path)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:  # changed between the download's check and this read
        raise IntegrityError(f"{path}: sha256 {actual}, but {mv.source} records {expected}; "
                             "refusing to load it", fix="something is writing to .modelreg/artifacts/")
    return data


def _directory_roots(reg: Registry, ref: Reference, env: str | None) -> list[tuple[Path, str]]:
    """The roots of the ``directory`` targets to look in, with a description of each."""
    config = models.load_config(reg.catalog.snapshot)
    if env is not None and env not in config.environments:
        known = ", ".join(sorted(config.environments)) or "none"
        raise NotFoundError(f"no environment {env!r} in {names.CONFIG_FILE} (environments: {known})",
                            fix="name one of them, or leave out --env")
    if env is not None and ref.alias is not None and config.environments[env].alias != ref.alias:
        raise InputError(f"environment {env!r} serves the alias {config.environments[env].alias!r}, "
                         f"not {ref.alias!r}",
                         fix=f"serve {ref.model}@{config.environments[env].alias}, or leave out --env")
    out = []
    for name in sorted(config.environments):
        environment = config.environments[name]
        if env is not None and name != env:
            continue
        if ref.alias is not None and environment.alias != ref.alias:
            continue
        if environment.models and ref.model not in environment.models:
            continue
        for target in environment.targets:
            if target.type == "directory":
                root = directory.make(target, reg.root).root
                out.append((root, f"the directory target {root} (environment {name})"))
    return out


def _linked_version(link: Path) -> int | None:
    """The version an alias link points at; None when there is no link."""
    try:
        pointed = os.readlink(link)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if not link.exists():
            return None
        raise IntegrityError(f"{link} is not a link to a version directory ({exc.strerror})",
                             fix="`modelreg reconcile` puts the deployed state back") from exc
    if not pointed.isascii() or not pointed.isdigit() or int(pointed) < 1:
        raise IntegrityError(f"{link} points at {pointed!r}, not at a version directory",
                             fix="`modelreg reconcile` puts the deployed state back")
    return int(pointed)


def _artifact_in(version_dir: Path, mv: ModelVersion) -> Path:
    return version_dir / names.check_file_name(str(mv.artifact.get("path", "")))


def _read(path: Path) -> bytes:
    """A regular file's bytes (a FIFO or device is refused rather than read forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise NotFoundError(f"{path} does not exist", fix="`modelreg reconcile` deploys it again") from exc
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IntegrityError(f"{path} is not a regular file", fix="serve loads a single-file artifact")
        return file.read()
