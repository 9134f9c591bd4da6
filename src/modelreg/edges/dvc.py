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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.edges import atomic
from modelreg.edges.hashing import (
    CHUNK,
    FileDigest,
    Progress,
    digest,
    listing_sha256,
    no_progress,
    walk_files,
)
from modelreg.errors import InputError, IntegrityError, ModelregError, NotFoundError, RemoteError
from modelreg.formats import names, urls
from modelreg.formats.pointers import Pointer, object_path


@dataclass(frozen=True)
class Staged:
    """An artifact hashed into the local DVC cache, ready to push."""

    pointer: Pointer
    sha256: str
    files: int | None
    #: object ids to push, children before their .dir object
    objects: tuple[str, ...]
    #: each file's digests, as hashed while copied into the cache (what a signature at register signs)
    digests: tuple[FileDigest, ...] = ()


def _quiet_logs() -> None:
    """DVC's import binds log handlers to the streams of that moment. Failures reach the user
    as our exceptions, which say what DVC would log and more."""
    import dvc  # noqa: F401  (its import sets up the handlers silenced here)

    for name in ("dvc", "dvc_data", "dvc_objects"):  # the latter two log a failed transfer
        logger = logging.getLogger(name)
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False


class _Reasons(logging.Handler):
    """Keeps why DVC failed to transfer an object: DVC logs it and reports only which failed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.reasons: list[str] = []
        self.causes: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            self.reasons.append(f"{type(exc).__name__}: {exc}")
            self.causes.append(exc)


class _Store:
    """DVC's data layer for one registry, without DVC's ``Repo``: its configuration, its local
    cache and its default remote, built as ``Repo``'s ``CacheManager`` and ``DataCloud`` build
    them (``dvc.config``, ``dvc.fs``, ``dvc_data``). ``dvc.repo`` costs ~0.4 s to import and
    ~0.25 s to open (git through scmrepo, the stage and plot machinery, a state database),
    none of which moving objects by hash needs. No remote index is kept (DVC keeps one outside
    the repository to skip asking the remote what it holds): each transfer asks."""

    def __init__(self, root: Path) -> None:
        from dvc.config import Config

        dvc_dir = root / ".dvc"
        if not dvc_dir.is_dir():
            raise InputError(f"{root} has no .dvc directory", file=".dvc",
                             fix="run `modelreg init` (or `dvc init`) in the registry")
        self.root = root
        self.config: Any = Config(str(dvc_dir), local_dvc_dir=str(dvc_dir))
        self._cache: Any = None
        self._remote: tuple[str, Any, str, dict[str, Any]] | None = None

    @property
    def cache(self) -> Any:
        """The local cache's object database (``dvc cache dir``, ``files/md5`` under it)."""
        if self._cache is None:
            from dvc.config_schema import LOCAL_COMMON
            from dvc.fs import get_cloud_fs
            from dvc_data.hashfile.db import get_odb

            conf = self.config["cache"]
            settings: dict[str, Any] = {"name": conf["local"]} if conf.get("local") else \
                {"url": conf.get("dir") or str(self.root / ".dvc" / "cache"),
                 **{str(opt): conf[opt] for opt in LOCAL_COMMON if opt in conf}}
            cls, fs_conf, path = get_cloud_fs(self.config, **settings)
            fs = cls(**fs_conf)
            self._cache = get_odb(fs, fs.join(path, "files", "md5"), **fs_conf)  # type: ignore[no-untyped-call]  # dvc_data leaves it unannotated
        return self._cache

    def remote(self, command: str) -> tuple[str, Any, str]:
        """The default remote: its name, file system and path."""
        return self._default_remote(command)[:3]

    def remote_odb(self, command: str) -> Any:
        """The default remote's object database (``files/md5`` under its path), as DVC's
        ``DataCloud.get_remote_odb`` makes it."""
        from dvc.config import RemoteConfigError
        from dvc_data.hashfile.db import get_odb

        _, fs, path, conf = self._default_remote(command)
        odb_conf = {k: v for k, v in conf.items() if k != "worktree"}
        if fs.version_aware or conf.get("worktree"):
            raise RemoteConfigError(f"'{command}' is unsupported for cloud versioned remotes")
        return get_odb(fs, fs.join(path, "files", "md5"), hash_name="md5",  # type: ignore[no-untyped-call]  # unannotated
                       **odb_conf)

    def _default_remote(self, command: str) -> tuple[str, Any, str, dict[str, Any]]:
        if self._remote is None:
            from dvc.config import NoRemoteError
            from dvc.fs import get_cloud_fs

            name = self.config["core"].get("remote")
            if not name:  # DVC's words
                raise NoRemoteError(
                    f"no remote specified in {self.root}. Setup default remote with\n    dvc remote "
                    f"default <remote name>\nor use:\n    dvc {command} -r <remote name>"
                    if self.config["remote"] else f"no remote specified in {self.root}. Create a "
                    "default remote with\n    dvc remote add -d <remote name> <remote url>")
            cls, conf, path = get_cloud_fs(self.config, name=name)
            self._remote = (str(name), cls(**conf), path, conf)
        return self._remote


@contextmanager
def _open(root: Path) -> Iterator[_Store]:
    _quiet_logs()
    from dvc.config import ConfigError

    fix = "check .dvc/config and .dvc/config.local (`dvc config --list --show-origin`)"
    try:
        yield _Store(root)
    except ConfigError as exc:  # DVC reads some settings only when they are first used
        raise InputError(f"DVC configuration error: {exc}", file=".dvc/config", fix=fix) from None


def init(root: Path, remote_url: str, remote_name: str) -> None:
    """``dvc init`` plus a default remote, in an existing git repository."""
    _quiet_logs()
    from dvc.repo import Repo

    with contextlib.redirect_stdout(io.StringIO()):  # DVC's own "now commit" advice
        repo = Repo.init(str(root))
    try:
        with repo.config.edit() as conf:
            conf["remote"][remote_name] = {"url": remote_url}
            conf["core"]["remote"] = remote_name
    finally:
        repo.close()


def stage(root: Path, src: Path, name: str, progress: Progress) -> Staged:
    """Hash ``src`` (a file or a directory) into the DVC cache of the registry at ``root``."""
    with _open(root) as store:
        cache = store.cache
        if src.is_file():
            file = _into_cache(root, cache, src, name, progress)
            return Staged(Pointer(name, file.md5, file.size), file.sha256, None, (file.md5,), (file,))
        files = [_into_cache(root, cache, path, rel, progress) for path, rel in walk_files(src)]
        if not files:
            raise InputError(f"{src} is an empty directory", field="--artifact",
                             fix="point --artifact at the model file or a non-empty directory")
        tree_oid = _write_tree(root, cache, files)
        pointer = Pointer(name, tree_oid, sum(f.size for f in files), nfiles=len(files))
        children = tuple(dict.fromkeys(f.md5 for f in files))
        return Staged(pointer, listing_sha256(files), len(files), (*children, tree_oid), tuple(files))


def _into_cache(root: Path, cache: Any, src: Path, relpath: str, progress: Progress) -> FileDigest:
    with atomic.scratch_file(root, Path(cache.path)) as tmp:
        file = digest(src, relpath, copy_to=tmp, progress=progress)
        _place(tmp, Path(cache.oid_to_path(file.md5)))
    return file


def _place(tmp: Path, final: Path) -> None:
    if final.exists():
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(tmp, 0o444)  # DVC keeps cache objects read-only
    os.replace(tmp, final)


def _write_tree(root: Path, cache: Any, files: list[FileDigest]) -> str:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta
    from dvc_data.hashfile.tree import Tree

    tree = Tree()  # type: ignore[no-untyped-call]
    for file in files:
        tree.add(tuple(file.relpath.split("/")), Meta(size=file.size), HashInfo("md5", file.md5))
    tree.digest()
    oid = str(tree.hash_info.value)
    with atomic.scratch_file(root, Path(cache.path)) as tmp:
        tmp.write_bytes(tree.as_bytes())
        _place(tmp, Path(cache.oid_to_path(oid)))
    return oid


def push(root: Path, objects: tuple[str, ...]) -> None:
    """Upload cached objects to the default remote; a .dir goes last so it never dangles."""
    children = [o for o in objects if not o.endswith(".dir")]
    trees = [o for o in objects if o.endswith(".dir")]
    with _open(root) as store:
        for batch in (children, trees):
            if batch:
                _push(store, batch)


class ObjectMismatch(IntegrityError):
    """A remote object's bytes are not what its name (their md5) says: swapped or corrupted."""

    def __init__(self, oid: str, relpath: str, actual: FileDigest) -> None:
        super().__init__(f"the remote object {oid} holds other bytes (sha256 {actual.sha256})",
                         fix="the object was left in the remote as evidence; restore it, "
                         "or register the version again")
        self.oid = oid
        self.relpath = relpath
        self.actual = actual


@dataclass
class Fetched:
    """An artifact's objects in the local cache (relpath, '' for a file → object), and the digests
    of those downloaded and verified by this very fetch (which need no second hashing)."""

    objects: dict[str, Path]
    verified: dict[Path, FileDigest]


def fetch(root: Path, pointer: Pointer, progress: Progress = no_progress, *,
          sha256: str | None = None) -> Fetched:
    """Make an artifact's objects present in the local cache.

    What the cache lacks is streamed through DVC's file system layer into a journalled
    scratch file, hashed on the way, and enters the cache only when it is what it should be:
    a single-file artifact whose ``sha256`` is given is checked against it (one fast hash
    instead of md5), anything else by its md5, its name. A remote object whose bytes were
    swapped raises :class:`ObjectMismatch` and is left where it is: DVC's own pull would
    verify it too, but then delete it from a local remote, destroying the evidence.
    """
    atomic.sweep(root)
    with _open(root) as store:
        fetcher = _ObjectFetcher(root, store, progress)
        top = fetcher.ensure(pointer.md5, "", None if pointer.is_dir else sha256)
        if not pointer.is_dir:
            return Fetched({"": top}, fetcher.verified)
        try:
            entries = json.loads(top.read_bytes())
            listing = {e["relpath"]: e["md5"] for e in entries}
        except (ValueError, KeyError, TypeError):
            evict(top)
            raise IntegrityError(f"the directory listing {pointer.md5} in the remote is corrupt",
                                 fix="re-register the artifact") from None
        _check_listing(pointer.md5, listing)
        objects = {rel: fetcher.ensure(md5, rel, None) for rel, md5 in sorted(listing.items())}
        return Fetched(objects, fetcher.verified)


def cached(root: Path, pointer: Pointer) -> Fetched | None:
    """The artifact's objects when every one is in the registry's default local cache
    (``.dvc/cache``), found without importing DVC: a second of start-up that verifying an artifact
    already here does not need. None when one is missing or a DVC config names a cache (then
    :func:`fetch`). Nothing is verified here: the caller hashes the objects against the manifest's
    sha256, whichever cache they came from."""
    dvc_dir = root / ".dvc"
    for config in ("config", "config.local"):
        try:
            text = (dvc_dir / config).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if re.search(r"^\s*\[\s*['\"]?cache", text, re.MULTILINE):
            return None
    cache = dvc_dir / "cache"
    top = cache / object_path(pointer.md5)
    if not top.is_file():
        return None
    if not pointer.is_dir:
        return Fetched({"": top}, {})
    try:
        listing = {e["relpath"]: e["md5"] for e in json.loads(top.read_bytes())}
    except (ValueError, KeyError, TypeError, OSError):
        return None  # fetch evicts it and says so
    _check_listing(pointer.md5, listing)
    objects = {rel: cache / object_path(md5) for rel, md5 in sorted(listing.items())}
    return Fetched(objects, {}) if all(p.is_file() for p in objects.values()) else None


class _ObjectFetcher:
    def __init__(self, root: Path, repo: _Store, progress: Progress) -> None:
        self.root = root
        self.repo = repo
        self.cache = repo.cache
        self.progress = progress
        self.verified: dict[Path, FileDigest] = {}
        self._odb: Any = None

    def ensure(self, oid: str, relpath: str, sha256: str | None) -> Path:
        final = Path(self.cache.oid_to_path(oid))
        if final.exists():
            return final
        with _remote_failures("DVC fetch", self.repo):
            if self._odb is None:
                self._odb = self.repo.remote_odb("fetch")
            odb = self._odb
            with atomic.scratch_file(self.root, Path(self.cache.path)) as tmp:
                try:
                    got = _stream(odb.fs, odb.oid_to_path(oid), tmp, relpath, self.progress,
                                  md5=sha256 is None)
                except FileNotFoundError as exc:
                    _check_reached(self.repo, exc)
                    _check_local_remote(self.repo)
                    raise NotFoundError(f"the DVC remote has no object {oid} (remote "
                                        f"{_remote_name(self.repo)!r})",
                                        fix="an artifact lost from the remote must be restored or "
                                        "registered again") from None
                wrong = got.sha256 != sha256 if sha256 is not None else got.md5 != oid.removesuffix(".dir")
                if wrong:
                    raise ObjectMismatch(oid, relpath, got)
                _place(tmp, final)
        self.verified[final] = got
        return final


@dataclass(frozen=True)
class RemoteLocation:
    """Where a registry's default DVC remote is, as its ``.dvc/config`` says (``.dvc/config.local``
    too, when there is one): its name, DVC's protocol (``local``, ``s3``, ``ssh``...) and its path
    (for a local remote, absolute: DVC reads a relative one from the directory of the config)."""

    name: str
    protocol: str
    path: str


def default_remote(root: Path) -> RemoteLocation:
    """The registry's default remote, read without reaching it; InputError when none is set."""
    from dvc.config import NoRemoteError

    with _open(root) as repo:
        try:
            name, fs, path = repo.remote("push")
        except NoRemoteError as exc:
            raise InputError(" ".join(str(exc).split()), file=".dvc/config",
                             fix="set a default remote: `dvc remote add -d storage s3://BUCKET/PATH`, "
                             "and commit .dvc/config") from None
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        return RemoteLocation(name, str(protocol), str(path))


def _check_local_remote(repo: _Store) -> None:
    """Raise RemoteError when the default remote is a local folder that does not exist here: the
    registry's default remote lives inside the clone that registered the artifact, so another
    clone (or another machine) cannot reach it."""
    name, fs, path = repo.remote("fetch")
    if fs.protocol != "local" or os.path.isdir(path):
        return
    raise RemoteError(f"the DVC remote {name!r} is the local folder {path}, which does "
                      "not exist on this machine",
                      fix="the default remote, .modelreg/remote, is a folder inside the clone that "
                      "registered the artifacts, which other clones cannot reach: set a shared remote "
                      f"(`dvc remote add -d -f {name} s3://BUCKET/PATH`), copy that folder's "
                      "contents into it, and commit .dvc/config")


def _stream(fs: Any, source: str, dest: Path, relpath: str, progress: Progress, *,
            md5: bool) -> FileDigest:
    """Copy a remote object to ``dest``, hashing as it goes (sha256, and md5 when asked)."""
    import hashlib

    sha = hashlib.sha256()
    mdh = hashlib.md5(usedforsecurity=False) if md5 else None
    size = 0
    with fs.open(source, "rb") as reader, open(dest, "wb") as out:
        while chunk := reader.read(CHUNK):
            sha.update(chunk)
            if mdh is not None:
                mdh.update(chunk)
            out.write(chunk)
            size += len(chunk)
            progress(len(chunk))
    return FileDigest(relpath, mdh.hexdigest() if mdh is not None else "", sha.hexdigest(), size)


_REACH_FIX = "check the remote in .dvc/config is reachable (`dvc remote list`, credentials, network)"
#: the user and password of a URL (``https://user:secret@host``), never shown: up to the last ``@``
#: before the host, as a password may hold a raw ``@``
#: settings of a remote that hold credentials (DVC's names across its file systems)
_SECRET_SETTINGS = re.compile(r"password|secret|token|key|credential|passphrase|sas|connection_string|"
                              r"session", re.IGNORECASE)


def _remote_name(repo: Any) -> str:
    """The default remote's name, for messages (a config without one fails before any transfer)."""
    return str(repo.config["core"].get("remote") or "")


def _remote_settings(repo: Any) -> dict[str, Any]:
    try:
        return dict(repo.config["remote"].get(_remote_name(repo)) or {})
    except (KeyError, TypeError, AttributeError):
        return {}


def _scrub(text: str, repo: Any) -> str:
    """``text`` without the remote's credentials: a URL's user and password, and the value of any
    setting that holds a secret (DVC and its libraries may echo them in an error)."""
    text = urls.masked(text)
    for key, value in _remote_settings(repo).items():
        if _SECRET_SETTINGS.search(str(key)) and isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def _where(repo: Any) -> str:
    """``'storage' (s3://bucket/path)``: the default remote's name and URL, without credentials."""
    url = _remote_settings(repo).get("url")
    return f"{_remote_name(repo)!r} ({_scrub(str(url), repo)})" if url else repr(_remote_name(repo))


def _reach_fix(repo: Any, what: str = "") -> str:
    """What to check, for the remote this repository uses (``dvc remote list`` shows it)."""
    return (f"{_REACH_FIX}: the default remote is {_where(repo)}"
            + (f"; {what}" if what else ""))


def _failure(cause: BaseException) -> str:
    """What a transfer's exception says about the remote, in words: refused credentials, failed,
    unreachable; '' when it says nothing we can name. aiohttp's types are matched by name."""
    status = getattr(cause, "status", None)
    kinds = {k.__name__ for k in type(cause).__mro__}
    if isinstance(status, int) and status in (401, 403, 407):
        return f"it refused the credentials (HTTP {status}): check the user, password or token it is given"
    if isinstance(status, int) and status >= 500:
        return f"it failed (HTTP {status}): the server is down or broken; try again when it is back"
    if kinds & {"ClientConnectionError", "ConnectionError", "TimeoutError", "gaierror"}:
        return "nothing answered at that address: check the host, the port and the network"
    if "PermissionError" in kinds:
        return "it refused access (permission denied): check who may read and write it"
    return ""


def _cause_words(exc: BaseException, repo: Any) -> str:
    """:func:`_failure` of the first exception in ``exc``'s chain that says something; for a local
    folder that is not there, that (a transfer to it cannot make it: a missing mount, a typo)."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and all(cause is not c for c in chain):
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if words := next((w for w in map(_failure, chain) if w), ""):
        return words
    local = "://" not in str(_remote_settings(repo).get("url", "://"))
    if local and any(isinstance(c, FileNotFoundError) for c in chain):
        return "that folder does not exist and cannot be made: check the path, or the disk it is on"
    return ""


@contextmanager
def _remote_failures(action: str, repo: Any) -> Iterator[None]:
    """Turn whatever DVC raises for an unreachable remote into one RemoteError naming the remote."""
    from dvc.config import ConfigError

    try:
        yield
    except (ModelregError, ConfigError):
        raise  # ours, or a configuration error that _open reports as such
    except Exception as exc:  # DVC surfaces network and auth failures as many types
        raise RemoteError(_scrub(f"{action} failed (DVC remote {_remote_name(repo)!r}): "
                                 f"{type(exc).__name__}: {exc}", repo),
                          fix=_reach_fix(repo, _cause_words(exc, repo))) from exc


def _check_reached(repo: Any, missing: FileNotFoundError) -> None:
    """Raise RemoteError when "not found" stands for a remote that did not answer.

    fsspec's HTTP file system reports any failure to stat a URL (connection refused, a hang-up,
    a timeout, 500, 401) as FileNotFoundError, aiohttp's error as its cause: only a 404/410, or
    no such cause at all (a local or SSH remote's own "no such file"), means the remote answered
    that it lacks the object. aiohttp is matched by name: this module does not import it."""
    cause: BaseException | None = missing
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:  # a chain that loops ends
        seen.add(id(cause))
        status = getattr(cause, "status", None)
        connection = any(k.__name__ == "ClientConnectionError" for k in type(cause).__mro__)
        if connection or (isinstance(status, int) and status not in (404, 410)):
            raise RemoteError(_scrub(f"the DVC remote {_remote_name(repo)!r} did not answer: "
                                     f"{type(cause).__name__}: {cause}", repo),
                              fix=_reach_fix(repo, _failure(cause))) from missing
        cause = cause.__cause__ or cause.__context__


def remote_sizes(root: Path, oids: list[str]) -> dict[str, int | None]:
    """Size of each object in the default remote, or None where the remote lacks it."""
    sizes: dict[str, int | None] = {}
    with _open(root) as repo, _remote_failures("querying the DVC remote", repo):
        odb = repo.remote_odb("check")
        for oid in oids:
            try:
                sizes[oid] = int(odb.fs.size(odb.oid_to_path(oid)))
            except FileNotFoundError as exc:
                _check_reached(repo, exc)
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


def _push(repo: _Store, oids: list[str]) -> None:
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.transfer import transfer

    reasons = _Reasons()
    logger = logging.getLogger("dvc_data")
    logger.addHandler(reasons)
    try:
        with _remote_failures("DVC push", repo):
            odb = repo.remote_odb("push")  # what `dvc push` does, without its progress bar
            result = transfer(repo.cache, odb, [HashInfo("md5", oid) for oid in oids],
                              cache_odb=repo.cache)
    finally:
        logger.removeHandler(reasons)
    failed = {str(h.value) for h in result.failed}
    if failed:
        why = f": {reasons.reasons[0]}" if reasons.reasons else ""
        words = next((w for w in (_cause_words(c, repo) for c in reasons.causes) if w), "")
        raise RemoteError(_scrub(f"DVC could not push {', '.join(sorted(failed))} to the remote "
                                 f"{_remote_name(repo)!r}{why}", repo),
                          fix="check the remote is reachable and writable, then run the command again: "
                          f"the default remote is {_where(repo)}" + (f"; {words}" if words else ""))


def evict(path: Path) -> None:
    """Drop a cache object that failed verification, so the next attempt downloads it anew."""
    try:
        os.chmod(path, 0o644)
        path.unlink()
    except FileNotFoundError:
        pass


def export(repo: Path, rev: str, path: str, dest: Path) -> Path:
    """The bytes DVC tracks at ``path`` in another repository (``modelreg import gto``), as they
    were at ``rev``, copied to ``dest`` from that repository's cache or remote.
    Raises NotFoundError when DVC tracks nothing there, RemoteError when the bytes cannot be had."""
    _quiet_logs()
    from dvc.api import DVCFileSystem

    try:
        fs = DVCFileSystem(str(repo), rev=rev)
    except Exception as exc:  # DVC raises many types for a repository it cannot open
        raise InputError(f"{repo}: DVC cannot read the repository at {rev[:12]}: {type(exc).__name__}: {exc}",
                         fix="check that the repository is a DVC project") from None
    if not fs.exists(path):
        raise NotFoundError(f"{repo}: nothing at {path} at {rev[:12]}, in git or in DVC",
                            fix="check the artifact's path in dvc.yaml or artifacts.yaml at that commit")
    try:
        fs.get(path, str(dest), recursive=fs.isdir(path))
    except Exception as exc:  # the cache and the remote both lack the bytes, or a remote failed
        raise RemoteError(f"{repo}: DVC could not fetch {path} at {rev[:12]}: {type(exc).__name__}: {exc}",
                          fix="run `dvc pull` in that repository, or check its DVC remote") from None
    return dest
