"""Writing a whole file or nothing, and cleaning up after a process that was killed.

Every write modelreg makes goes beside its target and is renamed into place,
so a crash leaves the old file or the new one, never half of one. What a
killed process leaves beside a target (a partial download can be hundreds of
megabytes) is recorded first in a journal under ``.git/modelreg/tmp/``, one
file per process; the next modelreg run that writes removes what dead processes
left (:func:`sweep`). The journals live inside ``.git`` so that no commit can
plant one: a journal says what to delete.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: below the git directory (or the registry, outside a git work tree)
JOURNAL_DIR = "modelreg/tmp"
#: the most a journal is read (a process writes a line per temporary file)
JOURNAL_MAX_BYTES = 1024 * 1024
#: every temporary name starts with this, so a sweep removes only what it recognises
PREFIX = ".modelreg-"


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file beside it, renamed over it."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    target = os.fspath(path)
    folder, name = os.path.split(target)
    fd, tmp = _beside(folder or ".", name)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: numbers the temporary files of this process (a catalog writes 200,000 files)
_SERIAL = itertools.count()
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _beside(folder: str, name: str) -> tuple[int, str]:
    """A new file in ``folder`` beside ``name``, open for writing, mode 0644: named by this process
    and a serial number (one ``open``, where ``mkstemp`` draws names at random), or by ``mkstemp``
    when someone took that name. Never a link followed: the name must not exist."""
    tmp = f"{folder}/{PREFIX}{name}.{os.getpid()}-{next(_SERIAL)}.tmp"
    try:
        fd = os.open(tmp, _NEW, 0o600)
    except FileExistsError:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{PREFIX}{name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


@contextlib.contextmanager
def scratch_dir(root: Path, beside: Path) -> Iterator[Path]:
    """A temporary directory beside ``beside`` (same file system: renames out of it are atomic),
    journalled under ``root`` so that it is removed even if this process is killed."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    journal = _journal(root)
    path = Path(tempfile.mkdtemp(dir=beside.parent, prefix=f"{PREFIX}{beside.name}.", suffix=".tmp"))
    with open(journal, "a", encoding="utf-8") as log:
        log.write(f"{path}\n")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def scratch_file(root: Path, directory: Path) -> Iterator[Path]:
    """A temporary file name in ``directory``, journalled like :func:`scratch_dir`."""
    directory.mkdir(parents=True, exist_ok=True)
    journal = _journal(root)
    fd, name = tempfile.mkstemp(dir=directory, prefix=PREFIX, suffix=".tmp")
    os.close(fd)
    with open(journal, "a", encoding="utf-8") as log:
        log.write(f"{name}\n")
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def journal_dir(root: Path) -> Path:
    git_dir = root / ".git"
    return (git_dir if git_dir.is_dir() else root / ".modelreg") / JOURNAL_DIR


def _journal(root: Path) -> Path:
    folder = journal_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{os.getpid()}.journal"


def sweep(root: Path) -> list[str]:
    """Remove what killed modelreg processes left behind; return the paths removed."""
    folder = journal_dir(root)
    removed: list[str] = []
    try:
        journals = sorted(folder.glob("*.journal"))
    except OSError:
        return removed
    for journal in journals:
        pid = journal.name.removesuffix(".journal")
        if not pid.isdigit() or len(pid) > 9 or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for line in _read_journal(journal).splitlines():
                path = Path(line)
                if not path.name.startswith(PREFIX) or not path.is_absolute():
                    continue  # only names this module makes
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(line)
                elif path.exists() or path.is_symlink():
                    path.unlink(missing_ok=True)
                    removed.append(line)
            journal.unlink()
    return removed


def _read_journal(path: Path) -> str:
    """A journal's text: a regular file, not a link, within the cap (never blocks, never grows)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return file.read(JOURNAL_MAX_BYTES).decode("utf-8")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
