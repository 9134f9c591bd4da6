"""One writer at a time: the registry's lock, taken the way git takes ``index.lock``.

Commands that write to the registry (``register``, ``promote`` and the other
desired-state edits) hold ``<git dir>/modelreg.lock`` from the moment they pick
a version number or read the state they change until their commit is made. The
file is created atomically (``O_CREAT | O_EXCL``) and names its holder (pid,
host, command, start time), so a second command fails at once with who holds
it. A lock whose holder died on this host is stale and is taken over; the
takeover itself is serialised by ``flock`` on a guard file, so two processes
cannot both decide to remove the same stale lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from modelreg.edges import git
from modelreg.errors import ConflictError

NAME = "modelreg.lock"


def path_for(root: Path) -> Path:
    return Path(git.git_dir(root)) / NAME


@contextlib.contextmanager
def held(root: Path, command: str) -> Iterator[None]:
    """Hold the registry's lock for ``command`` (for messages), or raise ConflictError at once."""
    path = path_for(root)
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": time.time()}
    with _guard(path):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if not _stale(holder):
                raise _busy(path, holder) from None
            path.unlink(missing_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(mine, out)
    try:
        yield
    finally:
        with _guard(path):
            if _holder(path).get("pid") == mine["pid"]:
                path.unlink(missing_ok=True)


@contextlib.contextmanager
def _guard(path: Path) -> Iterator[None]:
    guard = path.with_name(path.name + ".guard")
    with open(guard, "a", encoding="utf-8") as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def _holder(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stale(holder: dict[str, object]) -> bool:
    """The holder died on this host (or the file holds nothing readable: a crash while writing it)."""
    pid = holder.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**31:
        return True  # no process can have that pid
    if holder.get("host") != socket.gethostname():
        return False  # another machine's process (a shared file system): cannot be checked
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _busy(path: Path, holder: dict[str, object]) -> ConflictError:
    since = holder.get("since")
    age = f", started {time.time() - since:.0f} s ago" if isinstance(since, (int, float)) else ""
    who = f"`modelreg {holder.get('command')}` (pid {holder.get('pid')} on {holder.get('host')}{age})"
    return ConflictError(f"another modelreg command is changing this registry: {who}",
                         fix=f"wait for it and run the command again; if no modelreg is running "
                         f"there, remove {path}")
