"""Getting an artifact out of the registry: fetch through DVC, verify, write atomically.

Nothing at the destination is replaced without ``--force``, and then only the
artifact itself: a link there is removed, never written through, and a
directory holding files that are not the artifact's is left alone
(:mod:`modelreg.edges.outdir`).

Bytes are checked against the manifest's sha256 while they are copied out of
the cache, because DVC does not re-hash what it downloads from a cloud remote
and a swapped remote object would otherwise pass. Nothing appears at the destination
unless every byte matched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from modelreg.edges import atomic, dvc
from modelreg.edges.hashing import Progress, digest, listing_sha256, no_progress, walk_files
from modelreg.edges.outdir import OutDir
from modelreg.errors import ConflictError, IntegrityError, NotFoundError, RemoteError
from modelreg.formats.pointers import Pointer
from modelreg.read.catalog import ModelVersion


def target_path(mv: ModelVersion, dest: str | os.PathLike[str]) -> Path:
    """``dest`` itself, or ``dest/<artifact name>`` when dest is a directory (or ends in /)."""
    name = str(mv.artifact.get("path", ""))
    if Path(dest).is_dir() or str(dest).endswith(("/", os.sep)):
        return Path(dest) / name
    return Path(dest)


class Downloaded:
    """A version's artifact written and verified at ``path``: what ``modelreg get`` prints."""

    def __init__(self, version: ModelVersion, path: Path) -> None:
        self.version = version
        self.path = path

    def __repr__(self) -> str:
        return f"<Downloaded {self.version.uri} at {self.path}>"

    def to_dict(self) -> dict[str, Any]:
        return {**self.version.to_dict(), "path": str(self.path),
                "sha256": self.version.artifact.get("sha256")}


def download(mv: ModelVersion, dest: str | os.PathLike[str], *, force: bool = False,
             progress: Progress = no_progress) -> Path:
    """Fetch, verify and place ``mv``'s artifact; return the path written.

    Nothing is deleted from the remote, whatever it holds; temporary files are journalled
    (see :mod:`modelreg.edges.atomic`), so a killed download leaves nothing the next run keeps.
    """
    pointer = mv.pointer
    if pointer is None:
        raise NotFoundError(f"{mv.source} has no DVC pointer beside it",
                            fix="the version is incomplete; register it again")
    target = target_path(mv, dest)
    if os.path.lexists(target) and not force:  # a link too: what is there is not modelreg's to replace
        raise ConflictError(f"{target} already exists", fix="remove it, or pass --force")
    expected = str(mv.artifact.get("sha256", ""))
    # A damaged local cache copy is evicted and fetched again, once; bytes that came from the
    # remote and still do not match are an error.
    for attempt in (1, 2):
        downloaded = _fetch(mv, pointer, target, progress)
        with atomic.scratch_dir(Path(mv.root), target) as workdir:
            staged = workdir / target.name
            actual = _copy_out(downloaded[0], staged, pointer.is_dir,
                               progress if not downloaded[1] else no_progress)
            if actual == expected:
                if os.path.lexists(target):
                    _refuse_foreign(target, staged)
                    _remove(target)
                os.replace(staged, target)
                return target
        for obj in downloaded[0].objects.values():  # local cache copies only: a retry downloads afresh
            dvc.evict(obj)
        if downloaded[1] or attempt == 2:
            break
    raise IntegrityError(
        f"{mv.uri}: sha256 of the downloaded artifact is {actual}, "
        f"but {mv.source} records {expected}; nothing was written to {target}",
        fix="the remote object was replaced or corrupted; restore it, or register the version again")


def _fetch(mv: ModelVersion, pointer: Pointer, target: Path,
           progress: Progress) -> tuple[dvc.Fetched, int]:
    """The artifact's objects in the local cache, and how many bytes were downloaded for them."""
    downloaded = 0

    def fetched(done: int) -> None:
        nonlocal downloaded
        downloaded += done
        progress(done)

    try:
        found = dvc.fetch(Path(mv.root), pointer, fetched, sha256=str(mv.artifact.get("sha256", "")))
        return found, downloaded
    except dvc.ObjectMismatch as exc:
        what = f"the file {exc.relpath} of " if exc.relpath else ""
        recorded = "whose md5 names other bytes" if exc.relpath else \
            f"but {mv.source} records {mv.artifact.get('sha256')}"
        raise IntegrityError(
            f"{mv.uri}: {what}the artifact in the DVC remote (object {exc.oid}) has sha256 "
            f"{exc.actual.sha256}, {recorded}; nothing was written to {target}", fix=exc.fix) from exc
    except (RemoteError, NotFoundError) as exc:  # unreachable (exit code 4), or lacks the object (1)
        raise type(exc)(f"{mv.uri}: {exc.message}; nothing was written to {target}", fix=exc.fix) from exc


def _copy_out(fetched: dvc.Fetched, staged: Path, is_dir: bool, progress: Progress) -> str:
    """Copy the objects to ``staged``; return the artifact's sha256.

    Objects this fetch downloaded were hashed on their way in and are copied as they are (the
    kernel's fast copy); objects that were in the cache already are hashed as they are copied,
    since nothing has checked them since they got there.
    """
    files = []
    for rel, obj in sorted(fetched.objects.items()):
        out = staged / rel if rel else staged
        out.parent.mkdir(parents=True, exist_ok=True)
        known = fetched.verified.get(obj)
        if known is not None:
            shutil.copyfile(obj, out)
            files.append(known)
        else:
            files.append(digest(obj, rel, copy_to=out, progress=progress))
    return listing_sha256(files) if is_dir else files[0].sha256


def _refuse_foreign(target: Path, staged: Path) -> None:
    """``--force`` replaces the artifact, never a file the artifact does not have: a directory
    at ``target`` is replaced only when every file in it is one the new copy writes again."""
    if target.is_symlink() or not target.is_dir():
        return  # the one path the user named, with --force; a link is removed, not followed
    ours = {f"{target.name}/{rel}" for _, rel in walk_files(staged)} if staged.is_dir() else set()
    foreign = OutDir(target.parent).foreign(target.name, ours)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ConflictError(f"{target} holds files that are not part of the artifact ({shown}); "
                            "--force does not delete them",
                            fix="move them elsewhere, or choose another output")


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
