"""The registry's files as they are in the work tree, or at a git revision.

Every read goes through a Snapshot, so ``--at REV`` works on every read
command and never touches the work tree: a revision is read from git objects.
A command opens one snapshot per revision it reads, as a context manager
(a revision holds a ``git cat-file`` process, closed on exit), and every
reader of a file asks the snapshot's documents cache (``documents.py``),
so a file is parsed once per revision however many readers want it. A
work tree snapshot is one moment too: what it parsed is kept, so a
long-lived reader that must see later edits opens a new snapshot.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from array import array
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from modelreg.edges.git import BlobReader

from modelreg.edges import memo
from modelreg.edges.listings import FileStamp, Listings, Stamp, Wholes
from modelreg.edges.memo import blob_id
from modelreg.errors import InputError
from modelreg.formats import layout, names
from modelreg.formats.names import inside

#: the strict YAML loader's cap (yamlio.MAX_BYTES; yamlio itself is not imported on warm reads)
MAX_FILE_BYTES = 1024 * 1024
# No following a link out of the repository; no waiting on a FIFO that nobody writes.
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_DIRECTORY", 0)


class Snapshot(Protocol):
    @property
    def root(self) -> str:
        """The registry's top directory."""

    @property
    def commit(self) -> str | None:
        """The commit id read from, or None for the work tree."""

    def read(self, path: str) -> bytes | None:
        """Bytes of a repository-relative file, or None when it does not exist."""

    def listdir(self, path: str) -> list[str]:
        """Names directly inside a repository-relative directory (empty when missing)."""

    def entries(self, path: str, depth: int) -> dict[str, str]:
        """What a repository-relative directory holds, ``depth`` levels deep: "" → the kind of
        ``path`` itself, then each path below it (relative to it) → its kind (``formats/layout.py``:
        a file, a directory, a symbolic link, a submodule, a special file); what lies deeper is
        seen as its directory at ``depth``. Empty when ``path`` does not exist."""

    @property
    def work_tree(self) -> bool:
        """Whether files git ignores can be here (a work tree), not only what git holds."""

    def blob_id(self, path: str) -> str | None:
        """The git blob id of a file's content (what memoised parses are keyed by), or None."""

    def exists(self, path: str) -> bool:
        """Whether a repository-relative file exists."""

    def whole(self, path: str) -> layout.ModelTree | None:
        """A model directory (``registry/<model>``) found whole before (:meth:`found_whole`) and
        unchanged since, as far as the layout rules look: its version numbers and other entries,
        each version directory's entries to be listed when it is read; else None. A revision knows
        it by the model's tree id, a work tree by the inode and times of its directories
        (``edges/listings.py``)."""

    def found_whole(self, path: str) -> None:
        """Remember that the model directory this snapshot listed two levels deep holds only what the
        layout allows (the reader checked it), until what it holds changes."""

    def save(self) -> None:
        """Keep what :meth:`found_whole` learnt (a failure only costs speed next time)."""

    def cache_for(self, path: str) -> dict[tuple[str, str], Any]:
        """Where what is made of ``path`` is kept: (kind, path) → what the one reader of that kind
        made of the file (or the InputError it raised). Filled and read by ``documents.py`` only."""

    def close(self) -> None:
        """Stop what the snapshot started (a revision's ``git cat-file``)."""

    def __enter__(self) -> Snapshot: ...

    def __exit__(self, *exc: object) -> None: ...


class _Closing:
    """What the snapshots share: their documents cache, and closing as a context manager."""

    _documents: dict[tuple[str, str], Any]

    def whole(self, path: str) -> layout.ModelTree | None:
        """Nothing is known whole in the index or an overlay (no tree object names what they hold)."""
        return None

    def found_whole(self, path: str) -> None:
        """Nothing to remember where nothing is known whole."""

    def save(self) -> None:
        """Nothing learnt to keep."""

    def cache_for(self, path: str) -> dict[tuple[str, str], Any]:
        return self._documents

    def close(self) -> None:
        """Nothing to stop (the work tree holds no process)."""

    def __enter__(self) -> Any:  # Any: each subclass returns itself
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WorkTree(_Closing):
    def __init__(self, root: str) -> None:
        self.root = root
        self.commit: str | None = None
        self._documents = {}
        self._real_root = os.path.realpath(root).rstrip(os.sep) + os.sep
        #: each model directory listed two levels deep: what it held, its own stamp and its version
        #: directories' stamps, taken before each was listed (what :meth:`found_whole` keeps)
        self._models: dict[str, tuple[dict[str, str], Stamp, dict[str, Stamp], dict[str, FileStamp]]] = {}
        self._wholes: Wholes | None = None

    def read(self, path: str) -> bytes | None:
        """A registry file's bytes: a regular file, not a link, read up to one byte past the
        strict loader's cap (which then names it as too large), never blocking on a FIFO."""
        if not inside(path):
            return None
        full = os.path.join(self.root, path)
        try:
            fd = os.open(full, _READ_FLAGS)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror}", file=path,
                             fix="registry files are regular files, not symbolic links") from None
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):  # opened as a directory (Linux allows it): no file of that name
            os.close(fd)
            return None
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(mode):
                raise InputError("is not a regular file", file=path, fix="replace it with a regular file")
            # O_NOFOLLOW guards the last name only: a linked directory (registry/m -> /elsewhere)
            # must not lead a read out of the repository either.
            if "/" in path and not os.path.realpath(full).startswith(self._real_root):
                raise InputError("is reached through a symbolic link that leaves the repository",
                                 file=path, fix="registry directories are real directories, not links")
            return file.read(MAX_FILE_BYTES + 1)

    def listdir(self, path: str) -> list[str]:
        if not inside(path):
            return []
        try:
            return sorted(os.listdir(os.path.join(self.root, path)))
        except (FileNotFoundError, NotADirectoryError):
            return []

    work_tree = True

    def blob_id(self, path: str) -> str | None:
        data = self.read(path)
        return blob_id(data) if data is not None else None

    def exists(self, path: str) -> bool:
        return inside(path) and os.path.isfile(os.path.join(self.root, path))

    def entries(self, path: str, depth: int) -> dict[str, str]:
        if not inside(path):
            return {}
        full = os.path.join(self.root, path)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return {}
        own = _kind(st.st_mode)
        out = {"": own}
        if own == layout.DIRECTORY and depth == 2 and path.count("/") == 1:
            stamps: dict[str, Stamp] = {}
            manifests: dict[str, FileStamp] = {}
            _walk_model(self.root, full, path, out, stamps, manifests)
            self._models[path] = (out, _stamp(st), stamps, manifests)
        elif own == layout.DIRECTORY:
            _walk(full, "", depth, out, path)
        return out

    def whole(self, path: str) -> layout.ModelTree | None:
        """One ``lstat`` of the model's directory and of each version directory (and of the manifest
        of each version whose verdict read it), compared with what they were when found whole."""
        if not inside(path) or path.count("/") != 1 or os.stat not in os.supports_dir_fd:
            return None
        kept = self._kept().get(path.rsplit("/", 1)[1])
        if kept is None:
            return None
        lstat = os.stat  # with follow_symlinks=False, relative to the model's directory
        now = array("Q")
        try:
            own, numbers, others, stamps, manifests = kept
            versions = array("Q")
            versions.frombytes(numbers)
            fd = os.open(os.path.join(self.root, path), _DIR_FLAGS)
        except (OSError, ValueError, TypeError):  # gone, a link, or a record another modelreg wrote
            return None
        try:
            if _stamp(os.fstat(fd)) != own:
                return None
            for number in versions:
                st = lstat(f"v{number}", dir_fd=fd, follow_symlinks=False)
                now.extend((st.st_ino & _U64, st.st_mtime_ns & _U64, st.st_ctime_ns & _U64))
            if now.tobytes() != stamps:
                return None
            for number, manifest in manifests:
                st = lstat(f"v{number}/{names.VERSION_FILE}", dir_fd=fd, follow_symlinks=False)
                if (*_stamp(st), st.st_size) != manifest:
                    return None
            kinds = dict(others)
            if not set(kinds.values()) <= _KINDS or not _numbered(versions):
                return None
            return layout.ModelTree.known(versions, kinds)
        except (OSError, ValueError, TypeError):  # gone, or a record another modelreg wrote: list it
            return None
        finally:
            os.close(fd)

    def found_whole(self, path: str) -> None:
        listed = self._models.get(path)
        if listed is None:
            return
        entries, own, stamps, manifest_stamps = listed
        tree = layout.ModelTree(entries)
        numbers = array("Q", sorted(tree.versions))
        now = array("Q")
        manifests = []
        for number in numbers:
            stamp = stamps.get(f"v{number}")
            if stamp is None:
                return
            now.extend(s & _U64 for s in stamp)
            if tree.usual(number, True) is None:  # the verdict read the manifest, stamped before
                manifest = manifest_stamps.get(f"v{number}")
                if manifest is None:
                    return
                manifests.append((number, manifest))
        self._kept().put(path.rsplit("/", 1)[1], (own, numbers.tobytes(), tuple(tree.others.items()),
                                                  now.tobytes(), tuple(manifests)))

    def save(self) -> None:
        if self._wholes is not None:
            self._wholes.save()

    def _kept(self) -> Wholes:
        if self._wholes is None:
            self._wholes = Wholes(self.root)
        return self._wholes


class Revision(_Closing):
    def __init__(self, root: str, rev: str, *, resolved: bool = False,
                 blobs: BlobReader | None = None) -> None:
        """``rev`` is anything git or a date names; ``resolved=True`` when it is a commit id already.

        ``blobs``: a reader shared with other revisions (one ``cat-file`` for a walk through
        history), closed by whoever opened it; without it the revision starts its own on its
        first read and stops it on :meth:`close`.
        """
        from modelreg.edges import git  # only reads of the past pay for subprocess

        self._git = git
        self.root = root
        self.rev = rev if resolved else git.resolve_revision(root, rev)
        self.commit: str | None = self.rev
        self._documents = {}
        self._owns_blobs = blobs is None
        self._blobs = blobs if blobs is not None else git.BlobReader(root)
        self._dirs: dict[str, list[str]] = {}
        self._trees: dict[str, dict[str, tuple[str, str | None]]] = {}
        self._objects: dict[str, tuple[str, dict[str, tuple[str, str]]] | None] = {}
        self._wholes: memo.Memo | None = None
        self._listed = 0  # model directories listed one by one
        self._all_listed = False
        #: files read with their ids (:meth:`blob_id`), kept for the read that follows a miss
        self._read: dict[str, bytes] = {}
        #: files of model directories known whole: path → (mode, blob id), as their tree object says
        self._files: dict[str, tuple[str, str]] = {}

    def read(self, path: str) -> bytes | None:
        if not inside(path):
            return None
        if path in self._read:
            return self._read[path]
        return self._blobs.read(f"{self.rev}:{path}")

    def tree_id(self, path: str) -> str | None:
        """The id of the tree object of a directory: what it holds, all the way down, in one id (from
        its parent's tree object, which the listing of the parent read already)."""
        parent, _, name = path.rstrip("/").rpartition("/")
        if not parent:
            found = self._object_of(name)
            return found[0] if found is not None else None
        above = self._object_of(parent)
        mode, oid = above[1].get(name, ("", "")) if above is not None else ("", "")
        return oid if layout.git_kind(mode) == layout.DIRECTORY else None

    def whole(self, path: str) -> layout.ModelTree | None:
        """Known by the model's tree id, which names all it holds: its version numbers and its other
        entries (with their blob ids, so model.yaml is then found without reading the tree) kept
        with it."""
        tree = self.tree_id(path) if inside(path) and path.count("/") == 1 else None
        if tree is None:
            return None
        kept = self._layout().get(memo.key("whole", f"{layout.RULES} {path} {tree}"))
        try:  # what .git/modelreg holds is checked as any input is: a record of another shape is none
            numbers, files = kept
            versions = _unpacked(numbers)
            others = {name: _GIT_MODES[mode] for name, mode, oid in files
                      if isinstance(name, str) and _NAME.fullmatch(name) and _OBJECT_ID.fullmatch(oid)}
            if len(others) != len(files) or not _numbered(versions):
                return None
        except (ValueError, TypeError, KeyError):
            return None
        self._files.update((f"{path}/{name}", (mode, oid)) for name, mode, oid in files)
        return layout.ModelTree.known(versions, others)

    def found_whole(self, path: str) -> None:
        """Kept from the listing the check read (``git ls-tree -r``: what a checkout would hold),
        under the model's tree id."""
        tree, listed = self.tree_id(path), self._trees.get(path)
        if tree is None or listed is None:
            return
        prefix = path + "/"
        versions, others = set(), []
        for full, (mode, oid) in listed.items():
            name, slash, _ = full[len(prefix):].partition("/")
            number = names.parse_version_dir(name) if slash else None
            if number is not None:
                versions.add(number)
            elif not slash and oid is not None:
                others.append((name, mode, oid))
            elif slash or oid is None:
                return  # a directory no version, or a submodule: never whole (the check refused it)
        self._layout().put(memo.key("whole", f"{layout.RULES} {path} {tree}"),
                           (_packed(sorted(versions)), tuple(others)))

    def save(self) -> None:
        if self._wholes is not None:
            self._wholes.save()

    def _layout(self) -> memo.Memo:
        if self._wholes is None:
            self._wholes = memo.Memo(self.root, memo.LAYOUT, max_unused=memo.MAX_MODELS)
        return self._wholes

    def _object_of(self, directory: str) -> tuple[str, dict[str, tuple[str, str]]] | None:
        """A directory's tree object (its id, then name → (mode, id)), read through the running
        ``cat-file``: one round trip, no process, whatever the registry's size. An empty tree in
        it is left out, as ``git ls-tree -r`` and a checkout leave it out (a commit can hold one;
        no work tree does)."""
        if directory not in self._objects:
            found = self._blobs.read_tree_ids(f"{self.rev}:{directory}")
            if found is not None and any(oid in _EMPTY_TREES for _, oid in found[1].values()):
                found = (found[0], {n: e for n, e in found[1].items() if e[1] not in _EMPTY_TREES})
            self._objects[directory] = found
        return self._objects[directory]

    def close(self) -> None:
        if self._owns_blobs:
            self._blobs.close()

    def listdir(self, path: str) -> list[str]:
        if not inside(path):
            return []
        if path not in self._dirs:
            if path.count("/") == 1:  # registry/<model>: its tree object
                found = self._object_of(path.rstrip("/"))
                self._dirs[path] = sorted(found[1]) if found is not None else []
            else:
                self._dirs[path] = sorted(self._git.ls_tree(self.root, self.rev, path))
        return self._dirs[path]

    work_tree = False

    def blob_id(self, path: str) -> str | None:
        if not inside(path) or path.count("/") < 2:
            data = self.read(path)
            return blob_id(data) if data is not None else None
        if path in self._files:  # a file of a model directory known whole
            mode, oid = self._files[path]
            return oid if layout.git_kind(mode) in (layout.FILE, layout.LINK) else None
        model = "/".join(path.split("/")[:2])
        if model in self._trees:  # the model's whole listing is made already
            return self._trees[model].get(path, ("", None))[1]
        parent, _, name = path.rpartition("/")
        if path.count("/") == 2 and parent not in self._objects:
            # model.yaml: its id comes with its bytes, where the model's tree object would list
            # every version (a walk through history asks at each commit)
            blob = self._blobs.read_blob(f"{self.rev}:{path}")
            if blob is None:
                return None
            self._read[path] = blob[1]
            return blob[0]
        # else its directory's tree object: a read of one version costs what one version holds
        found = self._object_of(parent)
        mode, oid = found[1].get(name, ("", "")) if found is not None else ("", "")
        return oid if layout.git_kind(mode) in (layout.FILE, layout.LINK) else None

    def exists(self, path: str) -> bool:
        return self.blob_id(path) is not None

    def entries(self, path: str, depth: int) -> dict[str, str]:
        """A model directory (``registry/<model>``) from the listing its reads use already; any other
        directory, one level deep, from its tree object, read through the running ``cat-file``."""
        path = path.rstrip("/")
        if not inside(path) or not path:
            return {}
        if path.count("/") == 1 and depth > 1:
            prefix = path + "/"
            found = {p[len(prefix):]: layout.git_kind(mode) for p, (mode, _) in self._tree(path).items()}
            return _collapsed(found, depth) if found else self._own(path)
        tree = self._object_of(path)
        if tree is None:
            return self._own(path)
        return {"": layout.DIRECTORY, **{name: layout.git_kind(mode) for name, (mode, _) in tree[1].items()}}

    def _own(self, path: str) -> dict[str, str]:
        """A path that is no directory with files below it: what its parent's tree says it is."""
        parent, _, name = path.rpartition("/")
        tree = self._blobs.read_tree(f"{self.rev}:{parent}")
        mode = tree.get(name) if tree is not None else None
        return {"": layout.git_kind(mode)} if mode is not None else {}

    def _tree(self, directory: str) -> dict[str, tuple[str, str | None]]:
        """One ``git ls-tree -r`` per model directory gives every entry below it: blob ids, modes.
        When many models are listed so (``list`` at a revision none was read at before), one
        listing of every model's directory serves the rest: one process, not a thousand."""
        if directory not in self._trees:
            parent = directory.rpartition("/")[0]
            self._listed += 1
            if self._listed > _ONE_BY_ONE and parent == names.REGISTRY_DIR and not self._all_listed:
                self._all_listed = True
                every: dict[str, dict[str, tuple[str, str | None]]] = {}
                for path, entry in self._git.ls_entries(self.root, self.rev, parent, recursive=True).items():
                    every.setdefault(path[:path.find("/", len(parent) + 1)], {})[path] = entry
                for model, entries in every.items():
                    self._trees.setdefault(model, entries)
                self._trees.setdefault(directory, {})
            else:
                self._trees[directory] = self._git.ls_entries(self.root, self.rev, directory, recursive=True)
        return self._trees[directory]


class Index(Revision):
    """The files as staged for the next commit (what a pre-commit hook must check)."""

    def __init__(self, root: str) -> None:
        super().__init__(root, "", resolved=True)  # blobs are read as ":path"
        self.commit = None

    def tree_id(self, path: str) -> str | None:
        return None  # the index holds no tree objects of what is staged

    def whole(self, path: str) -> layout.ModelTree | None:
        return None

    def found_whole(self, path: str) -> None:
        """What is staged is checked each time (a pre-commit hook's listing)."""

    def listdir(self, path: str) -> list[str]:
        if not inside(path):
            return []
        if path not in self._dirs:
            prefix = path.rstrip("/") + "/"
            self._dirs[path] = sorted({p[len(prefix):].split("/")[0] for p in self._staged(path)
                                       if p.startswith(prefix)})
        return self._dirs[path]

    def blob_id(self, path: str) -> str | None:
        if not inside(path):
            return None
        mode, oid = self._staged(path.split("/")[0]).get(path, ("", None))
        return oid if layout.git_kind(mode) in (layout.FILE, layout.LINK) else None

    def entries(self, path: str, depth: int) -> dict[str, str]:
        path = path.rstrip("/")
        if not inside(path) or not path:
            return {}
        staged = self._staged(path)
        if path in staged:
            return {"": layout.git_kind(staged[path][0])}
        prefix = path + "/"
        found = {p[len(prefix):]: layout.git_kind(mode) for p, (mode, _) in staged.items()
                 if p.startswith(prefix)}
        return _collapsed(found, depth) if found else {}

    def _staged(self, top: str) -> dict[str, tuple[str, str | None]]:
        top = top.split("/")[0]
        if top not in self._trees:
            self._trees[top] = dict(self._git.ls_index(self.root, top))
        return self._trees[top]


class Overlay(_Closing):
    """A snapshot with some files replaced: the tree as a command is about to write it.

    Closing it closes the snapshot under it, which it owns."""

    def __init__(self, under: Snapshot, files: dict[str, bytes]) -> None:
        self._under = under
        self._files = files
        self.root = under.root
        self.commit = under.commit
        self._documents = {}

    def close(self) -> None:
        self._under.close()

    def cache_for(self, path: str) -> dict[tuple[str, str], Any]:
        """A file not replaced is the snapshot's underneath, and so is what was made of it."""
        return self._documents if path in self._files else self._under.cache_for(path)

    def read(self, path: str) -> bytes | None:
        return self._files[path] if path in self._files else self._under.read(path)

    def listdir(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        extra = {p[len(prefix):].split("/")[0] for p in self._files if p.startswith(prefix)}
        return sorted(set(self._under.listdir(path)) | extra)

    @property
    def work_tree(self) -> bool:
        return self._under.work_tree

    def entries(self, path: str, depth: int) -> dict[str, str]:
        prefix = path.rstrip("/") + "/"
        added = {p[len(prefix):]: layout.FILE for p in self._files if p.startswith(prefix)}
        under = self._under.entries(path, depth)
        return {**under, **_collapsed(added, depth)} if added else under

    def blob_id(self, path: str) -> str | None:
        return blob_id(self._files[path]) if path in self._files else self._under.blob_id(path)

    def exists(self, path: str) -> bool:
        return path in self._files or self._under.exists(path)


#: the empty tree's id (SHA-1, SHA-256): a commit can hold one, a checkout never shows it
_EMPTY_TREES = frozenset({"4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                          "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"})
#: git's modes of what a kept listing may hold, and their kinds
_GIT_MODES = {"100644": layout.FILE, "100755": layout.FILE, "120000": layout.LINK}
_KINDS = frozenset({layout.FILE, layout.DIRECTORY, layout.LINK, layout.SUBMODULE, layout.SPECIAL})
_NAME = re.compile(r"[^/\x00]+")
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
#: model directories a revision lists one ``ls-tree`` each before it lists them all in one
_ONE_BY_ONE = 8
#: stamps are kept as unsigned 64-bit numbers (a time before 1970 wraps, exactly)
_U64 = (1 << 64) - 1


def _packed(versions: list[int]) -> tuple[int, int] | bytes:
    """Sorted version numbers as kept: (first, last) when they run without a gap (the usual model,
    a tenth of the size), else packed 64-bit numbers."""
    if versions and versions[-1] - versions[0] == len(versions) - 1:
        return (versions[0], versions[-1])
    return array("Q", versions).tobytes()


def _unpacked(numbers: object) -> array[int] | range:
    """What :func:`_packed` kept (raises ValueError or TypeError for anything else)."""
    if isinstance(numbers, tuple):
        first, last = numbers
        if not isinstance(first, int) or not isinstance(last, int) or last - first > names.VERSION_MAX:
            raise ValueError("not a range of versions")
        return range(first, last + 1)
    versions = array("Q")
    versions.frombytes(numbers)  # type: ignore[arg-type]  # bytes, or the TypeError the caller catches
    return versions


def _numbered(versions: array[int] | range) -> bool:
    """Whether every number can name a version directory (checked in C: a model of 100,000)."""
    return not versions or (min(versions) >= 1 and max(versions) <= names.VERSION_MAX)


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return layout.DIRECTORY
    if stat.S_ISREG(mode):
        return layout.FILE
    return layout.LINK if stat.S_ISLNK(mode) else layout.SPECIAL


def _walk(directory: str, prefix: str, depth: int, out: dict[str, str], where: str) -> None:
    """The file system's entries below ``directory`` (``where`` in the repository) into ``out``;
    never through a link."""
    subdirs = []
    try:
        found = os.scandir(directory)
    except OSError as exc:
        raise InputError(f"cannot be listed: {exc.strerror}", file=f"{where}/{prefix}".rstrip("/"),
                         fix="make it readable, or remove it") from None
    with found:
        for entry in found:
            if entry.is_file(follow_symlinks=False):  # the common case first: one test
                kind = layout.FILE
            elif entry.is_dir(follow_symlinks=False):
                kind = layout.DIRECTORY
            else:
                kind = layout.LINK if entry.is_symlink() else layout.SPECIAL
            out[prefix + entry.name] = kind
            if kind == layout.DIRECTORY and depth > 1:
                subdirs.append(entry)
    for entry in subdirs:
        _walk(entry.path, f"{prefix}{entry.name}/", depth - 1, out, where)


def _walk_model(root: str, directory: str, where: str, out: dict[str, str],
                stamps: dict[str, Stamp], manifests: dict[str, FileStamp]) -> None:
    """A model directory two levels deep into ``out``, as :func:`_walk` lists it; a version
    directory whose inode and times are those it had when last listed is taken from that listing
    (``edges/listings.py``): one ``lstat`` where a ``scandir`` was. Each directory's stamp, taken
    before it was listed, into ``stamps``; and the manifest's of each version directory holding more
than every version holds (whose verdict reads the manifest), into ``manifests``."""
    listings = Listings(root, where.rsplit("/", 1)[-1])
    top: dict[str, str] = {}
    _walk(directory, "", 1, top, where)
    out.update(top)
    for name, kind in top.items():
        if kind != layout.DIRECTORY:
            continue
        path = os.path.join(directory, name)
        try:
            st = os.lstat(path)
        except OSError:
            st = None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns) if st is not None else None
        if stamp is not None:
            stamps[name] = stamp
        known = listings.get(name, stamp) if stamp is not None else None
        if known is None:
            below: dict[str, str] = {}
            _walk(path, "", 1, below, f"{where}/{name}")
            known = tuple(below.items())
            if stamp is not None:
                listings.put(name, stamp, known)
        for entry, what in known:
            out[f"{name}/{entry}"] = what
        if layout.usual_pointer(dict(known), work_tree=True) is None:
            # before anything reads the manifest: a verdict that reads it stands while this does
            # (none without it: the model is not kept)
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(path, names.VERSION_FILE))
                manifests[name] = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
    listings.save({name for name, kind in top.items() if kind == layout.DIRECTORY})


def _collapsed(found: dict[str, str], depth: int) -> dict[str, str]:
    """Paths below a directory, as git lists them (files only), seen ``depth`` levels deep: the
    directories they imply are entries too, and what lies deeper is its directory at ``depth``."""
    out = {"": layout.DIRECTORY}
    for rel, kind in found.items():
        end = -1
        for _ in range(depth):  # each directory on the way, down to ``depth``
            end = rel.find("/", end + 1)
            if end < 0:
                out[rel] = kind
                break
            out[rel[:end]] = layout.DIRECTORY
    return out


def open_snapshot(root: str, at: str | None) -> Snapshot:
    if at:
        from modelreg.edges import git  # only reads of the past pay for subprocess

        return Revision(root, git.resolve_revision(root, at, option="--at"), resolved=True)
    return WorkTree(root)
