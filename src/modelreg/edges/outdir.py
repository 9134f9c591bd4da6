"""A directory modelreg writes files into: never through a link, and it deletes only what it wrote.

``site -o``, ``card -o``, ``get -o`` and the ``directory`` deploy target write
into a directory someone else may also write into. Two rules hold for all of them:

- **No link inside is followed.** The directory itself is taken as given: when
  the user names a symbolic link, its target is where they asked to write. Below
  it, every directory on the way to a file must be a real directory (one that is
  a link is refused, with its path and the fix), and a link where a file is to
  go is replaced, never written through.
- **Only what modelreg wrote is deleted.** What it writes is listed in a
  manifest, :data:`MANIFEST` in the directory (JSON, written atomically, read as a
  regular file only); :meth:`OutDir.prune` deletes listed files that are no longer
  wanted and nothing else, so a user's own file in the directory survives every
  rebuild. A damaged or missing manifest deletes nothing.

The checks are made on the path before each write; a process that swaps a
directory for a link between the check and the write (a race with a local
attacker who can already write there) is not defended against.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from modelreg.edges import atomic
from modelreg.errors import ConflictError

#: the list of files modelreg wrote, in the directory it wrote them into
MANIFEST = ".modelreg-written.json"
#: the most of a manifest read (a million page names is far beyond any catalog)
MANIFEST_MAX_BYTES = 64 * 1024 * 1024
_FORMAT = 1


class OutDir:
    """``root``, a directory modelreg writes into (see the module)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.abspath(root))
        #: directories below the root this object found real (or made): each checked once, not
        #: once per file written into it (a catalog writes 200 files into each of 1,000 folders)
        self._real: set[Path] = set()
        self._folders: dict[str, str] = {}  # the same, by the relative path a file names

    def ensure(self) -> Path:
        """Create the directory when it does not exist; refuse a file."""
        if self.root.exists() and not self.root.is_dir():
            raise ConflictError(f"{self.root} is a file", fix="give a directory to write into")
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def path(self, rel: str) -> Path:
        """Where ``rel`` goes, its parent directories made real directories (created if need be).

        Raises ConflictError when one of them is a link or a file. The final component may
        be a link: a write replaces it (:func:`modelreg.edges.atomic.write_atomic` renames
        over it), it never follows it.
        """
        folder = self._folder(rel)
        target = folder / rel.rpartition("/")[2]
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISDIR(os.lstat(target).st_mode):
                raise _is_directory(target)
        return target

    def _folder(self, rel: str) -> Path:
        """The directory ``rel`` goes into, each directory on the way made real (see :meth:`path`);
        raises ValueError when ``rel`` is not a relative path inside."""
        parts = _parts(rel)
        folder = self.root
        for part in parts[:-1]:
            folder = folder / part
            if folder in self._real:
                continue
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                try:
                    folder.mkdir()
                    self._real.add(folder)
                    continue
                except FileExistsError:  # another process (site --jobs) made it meanwhile: judge it
                    mode = os.lstat(folder).st_mode
            if stat.S_ISLNK(mode):
                raise ConflictError(f"{folder} is a symbolic link; modelreg does not write through links "
                                    f"inside {self.root}", fix=f"remove the link {folder} and run again")
            if not stat.S_ISDIR(mode):
                raise ConflictError(f"{folder} is not a directory", fix=f"remove {folder} and run again")
            self._real.add(folder)
        return folder

    def write_text(self, rel: str, text: str) -> int:
        """Write ``rel`` whole or not at all; return its size in bytes."""
        data = text.encode("utf-8")
        under, _, name = rel.rpartition("/")
        folder = self._folders.get(under)
        if folder is None:
            folder = self._folders[under] = str(self._folder(rel))
        else:
            _parts(rel)
        target = f"{folder}/{name}"
        try:
            atomic.write_atomic(target, data)  # renamed over a link, never through it
        except IsADirectoryError:
            raise _is_directory(Path(target)) from None
        return len(data)

    def written(self) -> set[str]:
        """What the manifest lists (empty when there is none, or it is not one modelreg wrote)."""
        try:
            fd = os.open(self.root / MANIFEST, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                         | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return set()
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return set()
            try:
                data = json.loads(file.read(MANIFEST_MAX_BYTES + 1))
            except (ValueError, OSError):
                return set()
        files = data.get("files") if isinstance(data, dict) and data.get("format") == _FORMAT else None
        if not isinstance(files, list):
            return set()
        return {f for f in files if isinstance(f, str) and _valid(f)}

    def record(self, files: Iterable[str]) -> None:
        """Make the manifest list exactly ``files`` (atomically)."""
        listing = sorted(set(files))
        text = json.dumps({"format": _FORMAT, "written_by": "modelreg", "files": listing}, indent=0) + "\n"
        atomic.write_atomic(self.path(MANIFEST), text)

    def prune(self, keep: Iterable[str], *, under: str = "") -> list[str]:
        """Delete the files the manifest lists below ``under`` that are not in ``keep``, then the
        directories that left empty; list ``keep`` (and what else is listed, elsewhere) in the
        manifest. Return what was deleted. Nothing is deleted through a link."""
        kept = set(keep)
        listed = self.written()
        prefix = under.rstrip("/") + "/" if under else ""
        removed = []
        for rel in sorted(listed - kept, reverse=True):
            if rel.startswith(prefix) and self.remove(rel):
                removed.append(rel)
        self.record((listed - set(removed)) | kept)
        return sorted(removed)

    def remove(self, rel: str) -> bool:
        """Delete ``rel`` when it is a file (or a link) whose every parent is a real directory, then
        its parents that are left empty, up to the root. Whether it was deleted."""
        parts = _parts(rel)
        folder = self.root
        for part in parts[:-1]:
            folder = folder / part
            try:
                if not stat.S_ISDIR(os.lstat(folder).st_mode):  # a link, a file: not ours to cross
                    return False
            except FileNotFoundError:
                return False
        target = folder / parts[-1]
        try:
            if stat.S_ISDIR(os.lstat(target).st_mode):
                return False
            target.unlink()
        except FileNotFoundError:
            return False
        while folder != self.root:
            try:
                folder.rmdir()  # only when empty: a user's file keeps its directory
            except OSError:
                break
            self._real.discard(folder)
            self._folders.clear()
            folder = folder.parent
        return True

    def foreign(self, under: str, listed: set[str] | None = None) -> list[str]:
        """Files (and links) below ``under`` that ``listed`` (default: the manifest) does not name:
        what replacing ``under`` would destroy."""
        listed = self.written() if listed is None else listed
        top = self.root / under
        out = []
        if top.is_symlink() or not top.is_dir():
            return [under] if os.path.lexists(top) and under not in listed else []
        for folder, dirs, files in os.walk(top):
            for name in [*files, *(d for d in dirs if (Path(folder) / d).is_symlink())]:
                rel = (Path(folder) / name).relative_to(self.root).as_posix()
                if rel not in listed:
                    out.append(rel)
        return sorted(out)


def _is_directory(target: Path) -> ConflictError:
    return ConflictError(f"{target} is a directory where modelreg writes a file",
                         fix=f"remove or rename {target} and run again")


def _parts(rel: str) -> list[str]:
    if not _valid(rel):
        raise ValueError(f"{rel!r} is not a relative path inside the output directory")
    return rel.split("/")


def _valid(rel: str) -> bool:
    """A relative POSIX path written as git would: no empty, ``.`` or ``..`` part (so neither
    absolute nor ending in ``/``), no backslash, no NUL. String tests, not ``PurePosixPath``: a
    catalog's manifest lists some 100,000 pages."""
    return bool(rel) and "\\" not in rel and "\0" not in rel \
        and all(part not in ("..", ".", "") for part in rel.split("/"))
