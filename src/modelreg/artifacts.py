"""Getting an artifact out of the registry: fetch through DVC, verify, write atomically.

Bytes are checked against the manifest's sha256 while they are copied out of
the cache, because DVC does not re-hash what it downloads from a cloud remote
and a swapped remote object would otherwise pass. Nothing appears at the destination
unless every byte matched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from modelreg import dvc
from modelreg.catalog import ModelVersion
from modelreg.errors import ConflictError, IntegrityError, NotFoundError, RemoteError
from modelreg.hashing import Progress, digest, listing_sha256, no_progress, walk_files


def target_path(mv: ModelVersion, dest: str | os.PathLike[str]) -> Path:
    """``dest`` itself, or ``dest/<artifact name>`` when dest is a directory (or ends in /)."""
    name = str(mv.artifact.get("path", ""))
    if Path(dest).is_dir() or str(dest).endswith(("/", os.sep)):
        return Path(dest) / name
    return Path(dest)


def download(mv: ModelVersion, dest: str | os.PathLike[str], *, force: bool = False,
             progress: Progress = no_progress) -> Path:
    """Fetch, verify and place ``mv``'s artifact; return the path written."""
    pointer = mv.pointer
    if pointer is None:
        raise NotFoundError(f"{mv.source} has no DVC pointer beside it",
                            fix="the version is incomplete; register it again")
    target = target_path(mv, dest)
    if target.exists() and not force:
        raise ConflictError(f"{target} already exists", fix="remove it, or pass --force")
    expected = str(mv.artifact.get("sha256", ""))
    try:
        objects = dvc.fetch(Path(mv.root), pointer)
    except RemoteError as exc:
        raise RemoteError(f"{mv.uri}: {exc.message}; nothing was written to {target}", fix=exc.fix) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        staged = workdir / target.name
        files = []
        for rel, obj in sorted(objects.items()):
            out = staged / rel if rel else staged
            out.parent.mkdir(parents=True, exist_ok=True)
            files.append(digest(obj, rel, copy_to=out, progress=progress))
        actual = listing_sha256(files) if pointer.is_dir else files[0].sha256
        if actual != expected:
            for obj in objects.values():  # so that a retry downloads afresh
                dvc.evict(obj)
            raise IntegrityError(
                f"{mv.uri}: sha256 of the downloaded artifact is {actual}, "
                f"but {mv.source} records {expected}; nothing was written to {target}",
                fix="the remote object was replaced or corrupted; restore it, "
                "or register the version again")
        if target.exists():
            _remove(target)
        os.replace(staged, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def verify_existing(mv: ModelVersion, path: Path) -> bool:
    """True when the file or directory at ``path`` has the sha256 ``mv`` records."""
    if path.is_dir():
        actual = listing_sha256([digest(p, rel) for p, rel in walk_files(path)])
    else:
        actual = digest(path, path.name).sha256
    return actual == mv.artifact.get("sha256")
