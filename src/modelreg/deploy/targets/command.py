"""Target ``command``: run a program of the registry's choosing; its exit code decides.

``run`` is an argument list (no shell), started in the registry's root with the
model in the environment, added to what modelreg inherited:

==========================  ==================================================
``MODELREG_ENVIRONMENT``    the environment being deployed (``prod``)
``MODELREG_MODEL``          the model (``fraud-detector``)
``MODELREG_VERSION``        the version number (``4``)
``MODELREG_ALIAS``          the alias that moved (``production``)
``MODELREG_ARTIFACT``       a local path to the artifact, verified by sha256
``MODELREG_URI``            the version's URI
``MODELREG_SHA256``         the artifact's sha256
``MODELREG_COMMIT``         the registry commit being deployed
==========================  ==================================================

Exit code 0 is success; anything else, a program that cannot be started, or a
run longer than ``timeout`` (the whole process group is then terminated, then
killed) is a failure, and the previous version keeps serving as far as modelreg
is concerned. The outcome keeps the exit code and the last
:data:`OUTPUT_TAIL` bytes of stdout and of stderr: output is read as it comes
and only the tail is kept, so a chatty program cannot exhaust memory.

A command cannot say what it serves, so :meth:`Command.serving` answers None.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from modelreg.deploy.targets import Activation, Serving, TargetOutcome
from modelreg.errors import ModelregError
from modelreg.formats import models
from modelreg.formats.durations import seconds

#: bytes of stdout and of stderr kept for the record
OUTPUT_TAIL = 2048
#: after SIGTERM at the timeout, how long the process group has before SIGKILL
GRACE_SECONDS = 5.0
_CHUNK = 65536
#: the longest command line shown in a target's name
_NAME_MAX = 80


class _Tail:
    """The last ``cap`` bytes of a stream, and how many bytes it carried in all."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self._buffer = bytearray()

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self._buffer += data
        if len(self._buffer) > self.cap:
            del self._buffer[:-self.cap]

    def text(self) -> str:
        text = self._buffer.decode("utf-8", "replace")
        return f"…{text}" if self.total > len(self._buffer) else text


class Command:
    def __init__(self, run: list[str], timeout: float, root: Path, *, grace: float = GRACE_SECONDS,
                 output_tail: int = OUTPUT_TAIL) -> None:
        self.run = list(run)
        self.timeout = timeout
        self.root = root
        self.grace = grace
        self.output_tail = output_tail
        line = shlex.join(self.run)
        self.name = f"command {line if len(line) <= _NAME_MAX else line[:_NAME_MAX - 1] + '…'}"

    def environment(self, act: Activation, artifact: Path) -> dict[str, str]:
        """The inherited environment, less the job's GitHub tokens (they can push to the registry),
        with the model's MODELREG_* variables added."""
        return {
            **{k: v for k, v in os.environ.items() if k not in _WITHHELD},
            "MODELREG_ENVIRONMENT": act.environment,
            "MODELREG_MODEL": act.model,
            "MODELREG_VERSION": str(act.version),
            "MODELREG_ALIAS": act.alias,
            "MODELREG_ARTIFACT": str(artifact),
            "MODELREG_URI": act.uri,
            "MODELREG_SHA256": act.sha256,
            "MODELREG_COMMIT": act.commit,
        }

    def activate(self, act: Activation) -> TargetOutcome:
        try:
            artifact = act.local_path()
        except (ModelregError, OSError) as exc:
            return TargetOutcome(False, self.name, f"the artifact could not be fetched: {exc}")
        program = self.run[0]
        started = time.monotonic()
        try:
            proc = subprocess.Popen(self.run, cwd=self.root, env=self.environment(act, artifact),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError:
            return TargetOutcome(False, self.name, f"{program}: no such program (run from {self.root})",
                                 detail={"command": self.run, "exit_code": None})
        except PermissionError:
            return TargetOutcome(False, self.name,
                                 f"{program}: not executable; `chmod +x` it or run it through "
                                 "its interpreter (e.g. run: [sh, script.sh])",
                                 detail={"command": self.run, "exit_code": None})
        except OSError as exc:
            return TargetOutcome(False, self.name, f"{program}: cannot be started: {exc.strerror}",
                                 detail={"command": self.run, "exit_code": None})
        stdout, stderr = _Tail(self.output_tail), _Tail(self.output_tail)
        with proc:
            timed_out = self._communicate(proc, stdout, stderr, started + self.timeout)
            if timed_out:
                self._stop(proc)
            code = proc.wait()
        # What a command prints goes into the ledger and notifications: no secret of this
        # environment may go with it.
        detail = {"command": self.run, "exit_code": code, "timed_out": timed_out,
                  "seconds": round(time.monotonic() - started, 3),
                  "stdout": scrub(stdout.text()), "stderr": scrub(stderr.text())}
        ok = code == 0 and not timed_out
        message = scrub(_message(code, timed_out, self.timeout, stderr, stdout))
        return TargetOutcome(ok, self.name, message, detail)

    def serving(self, model: str, alias: str, *, verify: bool = False) -> Serving | None:
        return None  # a command cannot tell

    def _communicate(self, proc: subprocess.Popen[bytes], stdout: _Tail, stderr: _Tail,
                     deadline: float) -> bool:
        """Read both pipes into their tails until the process ends; True when the deadline came first.

        A process that exits while a background child of its own still holds the pipes open is
        done: the rest of the output is not waited for.
        """
        assert proc.stdout is not None and proc.stderr is not None
        streams: dict[int, tuple[IO[bytes], _Tail]] = {
            proc.stdout.fileno(): (proc.stdout, stdout), proc.stderr.fileno(): (proc.stderr, stderr)}
        with selectors.DefaultSelector() as selector:
            for fd, (pipe, _) in streams.items():
                selector.register(pipe, selectors.EVENT_READ, fd)
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return proc.poll() is None
                exited = proc.poll() is not None
                events = selector.select(0 if exited else min(remaining, 0.1))
                for key, _ in events:
                    data = os.read(key.data, _CHUNK)
                    if data:
                        streams[key.data][1].add(data)
                    else:
                        selector.unregister(key.fileobj)
                if exited and not events:
                    break  # drained what was there when it ended
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return True
        return False

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the process group, then SIGKILL after the grace period."""
        for sig, wait in ((signal.SIGTERM, self.grace), (signal.SIGKILL, None)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                # the leader is gone: its group may not be, and nothing may outlive a timeout
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                return
            except subprocess.TimeoutExpired:
                continue


#: not passed to commands: a deploy job's token can push to the registry
_WITHHELD = frozenset({"GITHUB_TOKEN", "MODELREG_REVIEW_TOKEN", "ACTIONS_RUNTIME_TOKEN",
                       "ACTIONS_ID_TOKEN_REQUEST_TOKEN"})
_SECRET_NAME = re.compile(r"(?:TOKEN|SECRET|PASSWORD|PASSWD|_KEY|CREDENTIALS?)$", re.IGNORECASE)


def scrub(text: str) -> str:
    """``text`` with the value of every secret-looking environment variable replaced by ``***``."""
    for name, value in os.environ.items():
        if len(value) >= 6 and (_SECRET_NAME.search(name) or name in _WITHHELD):
            text = text.replace(value, "***")
    return text


def _message(code: int, timed_out: bool, timeout: float, stderr: _Tail, stdout: _Tail) -> str:
    if timed_out:
        return f"timed out after {timeout:g}s; its process group was stopped"
    if code == 0:
        return "exit code 0"
    last = _last_line(stderr) or _last_line(stdout)
    what = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    return f"{what}: {last}" if last else what


def _last_line(tail: _Tail) -> str:
    lines = [line.strip() for line in tail.text().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def make(config: models.CommandTarget, root: Path) -> Command:
    return Command(config.run, float(seconds(config.timeout)), root)
