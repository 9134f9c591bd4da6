"""A child process and everything it starts, stopped together.

A process group is not enough: a program can leave it (``setsid``), and a
daemon that forks twice is re-parented away from its ancestors. So a
:class:`Tree` finds the run's processes three ways, each re-scanned until
nothing is left:

- while it runs, modelreg is a *child subreaper* (Linux ``prctl``): a
  descendant whose parent exits is re-parented to modelreg, not to init, so the
  whole family stays below modelreg's own process in ``/proc``;
- every process below the ones found so far (``/proc/*/stat`` parent links);
- every process of this user whose environment carries the run's marker
  variable (:data:`MARKER`), inherited unless a program clears it.

Processes modelreg had started before the run (``git cat-file``) are never
counted. Without ``/proc`` (not Linux) only the process group is stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

#: the environment variable that marks a run's processes
MARKER = "_MODELREG_RUN_ID"
_PROC = Path("/proc")
_PR_SET_CHILD_SUBREAPER = 36
#: how long the final SIGKILL sweeps go on (a fork bomb must not hold the deploy job forever)
KILL_SECONDS = 5.0


class Tree:
    """The processes of one run: ``env()`` for the leader, ``stop()`` when it is over."""

    def __init__(self) -> None:
        self.run_id = uuid.uuid4().hex
        self._before: set[int] = set()
        self.leader: int | None = None

    def env(self) -> dict[str, str]:
        return {MARKER: self.run_id}

    @contextlib.contextmanager
    def watching(self) -> Iterator[Tree]:
        """Start the leader inside this block: orphans of the run come back to this process."""
        self._before = _children(os.getpid())
        subreaper = _set_subreaper(True)
        try:
            yield self
        finally:
            if subreaper:
                _set_subreaper(False)

    def members(self) -> set[int]:
        """Every live process of the run now (the leader included while it lives)."""
        if not _PROC.is_dir():
            return set()
        table = _table()
        own = os.getpid()
        roots = {pid for pid, (ppid, _) in table.items() if ppid == own and pid not in self._before}
        if self.leader is not None:
            roots.add(self.leader)
        found = {pid for pid in roots if pid in table}
        found |= {pid for pid in table if pid != own and _marked(pid, self.run_id)}
        frontier = set(found)
        while frontier:  # children of children, until none
            frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier and pid not in found}
            found |= frontier
        return {pid for pid in found if table[pid][1] not in ("Z", "X")}

    def stop(self, grace: float) -> int:
        """SIGTERM every member, then SIGKILL what is left after ``grace`` seconds, sweeping until
        none is left; return how many processes were signalled."""
        if not _PROC.is_dir():
            return self._stop_group(grace)
        members = self.members()
        if not members:
            self._reap()
            return 0
        signalled = set(members)
        _signal(members, signal.SIGTERM)
        if self.leader is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.leader, signal.SIGTERM)
        ends = time.monotonic() + grace
        while members and time.monotonic() < ends:
            time.sleep(0.05)
            self._reap()
            members = self.members()
        ends = time.monotonic() + KILL_SECONDS
        while True:
            if self.leader is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.leader, signal.SIGKILL)
            members = self.members()
            if not members or time.monotonic() > ends:
                break
            signalled |= members
            # stopped first, so a member cannot fork a new one between the scan and its kill
            _signal(members, signal.SIGSTOP)
            _signal(members | self.members(), signal.SIGKILL)
            self._reap()
        self._reap()
        return len(signalled)

    def _stop_group(self, grace: float) -> int:
        """Without /proc: the leader's process group, as far as signals to it reach."""
        if self.leader is None:
            return 0
        try:
            os.killpg(self.leader, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return 0
        ends = time.monotonic() + grace
        while time.monotonic() < ends:
            try:
                os.killpg(self.leader, 0)
            except (ProcessLookupError, PermissionError):
                return 1
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.leader, signal.SIGKILL)
        return 1

    def _reap(self) -> None:
        """Collect the exit status of the run's processes re-parented to this one (no zombies)."""
        for pid in _children(os.getpid()) - self._before - ({self.leader} if self.leader else set()):
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)


def _signal(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _table() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, state) of every process in /proc."""
    table = {}
    for entry in os.listdir(_PROC):
        if not entry.isdigit():
            continue
        try:
            stat = (_PROC / entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        fields = stat.rsplit(")", 1)[1].split()  # the name may hold spaces and parentheses
        table[int(entry)] = (int(fields[1]), fields[0])
    return table


def _children(pid: int) -> set[int]:
    if not _PROC.is_dir():
        return set()
    return {child for child, (ppid, _) in _table().items() if ppid == pid}


def _marked(pid: int, run_id: str) -> bool:
    try:
        environ = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False  # another user's, or gone
    return f"{MARKER}={run_id}".encode() in environ.split(b"\0")


def _set_subreaper(on: bool) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0)
    except (OSError, AttributeError):  # not Linux
        return False
