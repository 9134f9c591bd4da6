"""The only module that imports DVC: it moves bytes between the cache and the remote.

DVC is imported lazily inside each function, so importing this module is
free. Hashing is ours (one pass computes md5 for DVC and sha256 for us while
copying into DVC's cache), which avoids ``dvc add``'s separate hash and copy
passes; DVC then pushes and pulls objects by hash.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg import names
from modelreg.dvcfiles import Pointer
from modelreg.errors import InputError, IntegrityError, ModelregError, RemoteError
from modelreg.hashing import FileDigest, Progress, digest, listing_sha256, walk_files


@dataclass(frozen=True)
class Staged:
    """An artifact hashed into the local DVC cache, ready to push."""

    pointer: Pointer
    sha256: str
    files: int | None
    #: object ids to push, children before their .dir object
    objects: tuple[str, ...]


def _import_repo() -> Any:
    from dvc.repo import Repo

    # DVC's import binds log handlers to the streams of that moment. Failures
    # reach the user as our exceptions, which say what DVC would log and more.
    logger = logging.getLogger("dvc")
    logger.handlers = [logging.NullHandler()]
    logger.propagate = False
    return Repo


@contextmanager
def _repo(root: Path) -> Iterator[Any]:
    repo_class = _import_repo()
    from dvc.config import ConfigError

    fix = "check .dvc/config and .dvc/config.local (`dvc config --list --show-origin`)"
    try:
        repo = repo_class(str(root))
    except ConfigError as exc:
        raise InputError(f"DVC configuration error: {exc}", file=".dvc/config", fix=fix) from None
    try:
        yield repo
    except ConfigError as exc:  # DVC reads some settings only when they are first used
        raise InputError(f"DVC configuration error: {exc}", file=".dvc/config", fix=fix) from None
    finally:
        repo.close()


def init(root: Path, remote_url: str, remote_name: str) -> None:
    """``dvc init`` plus a default remote, in an existing git repository."""
    with contextlib.redirect_stdout(io.StringIO()):  # DVC's own "now commit" advice
        repo = _import_repo().init(str(root))
    try:
        with repo.config.edit() as conf:
            conf["remote"][remote_name] = {"url": remote_url}
            conf["core"]["remote"] = remote_name
    finally:
        repo.close()


def stage(root: Path, src: Path, name: str, progress: Progress) -> Staged:
    """Hash ``src`` (a file or a directory) into the DVC cache of the registry at ``root``."""
    with _repo(root) as repo:
        cache = repo.cache.local
        if src.is_file():
            file = _into_cache(cache, src, name, progress)
            return Staged(Pointer(name, file.md5, file.size), file.sha256, None, (file.md5,))
        files = [_into_cache(cache, path, rel, progress) for path, rel in walk_files(src)]
        if not files:
            raise InputError(f"{src} is an empty directory", field="--artifact",
                             fix="point --artifact at the model file or a non-empty directory")
        tree_oid = _write_tree(cache, files)
        pointer = Pointer(name, tree_oid, sum(f.size for f in files), nfiles=len(files))
        children = tuple(dict.fromkeys(f.md5 for f in files))
        return Staged(pointer, listing_sha256(files), len(files), (*children, tree_oid))


def _into_cache(cache: Any, src: Path, relpath: str, progress: Progress) -> FileDigest:
    os.makedirs(cache.path, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.path, prefix=".modelreg-", suffix=".tmp")
    os.close(fd)
    try:
        file = digest(src, relpath, copy_to=Path(tmp), progress=progress)
        _place(Path(tmp), Path(cache.oid_to_path(file.md5)))
    finally:
        Path(tmp).unlink(missing_ok=True)
    return file


def _place(tmp: Path, final: Path) -> None:
    if final.exists():
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(tmp, 0o444)  # DVC keeps cache objects read-only
    os.replace(tmp, final)


def _write_tree(cache: Any, files: list[FileDigest]) -> str:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

    tree = Tree()  # type: ignore[no-untyped-call]
    for file in files:
        tree.add(tuple(file.relpath.split("/")), Meta(size=file.size), HashInfo("md5", file.md5))
    tree.digest()
    oid = str(tree.hash_info.value)
    fd, tmp = tempfile.mkstemp(dir=cache.path, prefix=".modelreg-", suffix=".tmp")
    with os.fdopen(fd, "wb") as out:
        out.write(tree.as_bytes())
    try:
        _place(Path(tmp), Path(cache.oid_to_path(oid)))
    finally:
        Path(tmp).unlink(missing_ok=True)
    return oid


def push(root: Path, objects: tuple[str, ...]) -> None:
    """Upload cached objects to the default remote; a .dir goes last so it never dangles."""
    children = [o for o in objects if not o.endswith(".dir")]
    trees = [o for o in objects if o.endswith(".dir")]
    with _repo(root) as repo:
        for batch in (children, trees):
            if batch:
                _transfer(repo, "push", batch)


def fetch(root: Path, pointer: Pointer) -> dict[str, Path]:
    """Download an artifact's objects into the cache; map each relpath ('' for a file) to its object."""
    with _repo(root) as repo:
        cache = repo.cache.local
        _transfer(repo, "pull", [pointer.md5])
        top = Path(cache.oid_to_path(pointer.md5))
        if not pointer.is_dir:
            return {"": top}
        try:
            entries = json.loads(top.read_bytes())
            listing = {e["relpath"]: e["md5"] for e in entries}
        except (ValueError, KeyError, TypeError):
            evict(top)
            raise IntegrityError(f"the directory listing {pointer.md5} in the remote is corrupt",
                                 fix="re-register the artifact") from None
        _check_listing(pointer.md5, listing)
        _transfer(repo, "pull", sorted(set(listing.values())))
        return {rel: Path(cache.oid_to_path(md5)) for rel, md5 in listing.items()}


@contextmanager
def _remote_failures(action: str) -> Iterator[None]:
    """Turn whatever DVC raises for an unreachable remote into one RemoteError."""
    from dvc.config import ConfigError

    try:
        yield
    except (ModelregError, ConfigError):
        raise  # ours, or a configuration error that _repo reports as such
    except Exception as exc:  # DVC surfaces network and auth failures as many types
        raise RemoteError(f"{action} failed: {type(exc).__name__}: {exc}",
                          fix="check the remote in .dvc/config is reachable "
                          "(`dvc remote list`, credentials, network)") from exc


def remote_sizes(root: Path, oids: list[str]) -> dict[str, int | None]:
    """Size of each object in the default remote, or None where the remote lacks it."""
    sizes: dict[str, int | None] = {}
    with _repo(root) as repo, _remote_failures("querying the DVC remote"):
        odb = repo.cloud.get_remote_odb(None, "check")
        for oid in oids:
            try:
                sizes[oid] = int(odb.fs.size(odb.oid_to_path(oid)))
            except FileNotFoundError:
                sizes[oid] = None
    return sizes


def _check_listing(oid: str, listing: dict[Any, Any]) -> None:
    """A ``.dir`` object comes from the remote: its hashes become cache paths and its relpaths
    output paths, so each must be exactly what DVC writes, or nothing is touched."""
    fix = "the remote holds a hostile or damaged object; re-register the artifact"
    for rel, md5 in listing.items():
        if not isinstance(md5, str) or not re.fullmatch(r"[0-9a-f]{32}", md5):
            raise IntegrityError(f"the directory listing {oid} has an invalid hash {md5!r}", fix=fix)
        if not isinstance(rel, str) or not names.inside(rel) or rel in ("", ".") or \
                any(part in ("", ".", "..") for part in rel.split("/")):
            raise IntegrityError(f"the directory listing {oid} has the path {rel!r}, which leaves "
                                 "the artifact", fix=fix)
    paths = set(listing)
    for rel in paths:
        parts = rel.split("/")
        if any("/".join(parts[:i]) in paths for i in range(1, len(parts))):
            raise IntegrityError(f"the directory listing {oid} has {rel!r} inside a file", fix=fix)


def _transfer(repo: Any, direction: str, oids: list[str]) -> None:
    from dvc_data.hashfile.hash_info import HashInfo

    hashes = [HashInfo("md5", oid) for oid in oids]
    with _remote_failures(f"DVC {direction}"):
        result = getattr(repo.cloud, direction)(hashes)
    failed = {h.value for h in result.failed}
    if direction == "pull":
        # DVC only logs a warning for objects the remote does not have.
        failed |= {oid for oid in oids if not Path(repo.cache.local.oid_to_path(oid)).exists()}
    if failed:
        missing = ", ".join(sorted(failed))
        if direction == "push":
            raise RemoteError(f"DVC could not push {missing} to the remote",
                              fix="check the remote is reachable and writable, then run the command again")
        raise RemoteError(f"DVC could not pull {missing} from the remote (missing, unreadable, "
                          "or its content does not match its hash)",
                          fix="check the remote is reachable; an artifact lost from the remote must be "
                          "restored or registered again")


def evict(path: Path) -> None:
    """Drop a cache object that failed verification, so the next attempt downloads it anew."""
    try:
        os.chmod(path, 0o644)
        path.unlink()
    except FileNotFoundError:
        pass
