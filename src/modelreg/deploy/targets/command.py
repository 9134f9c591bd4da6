"""Target ``command``: run a program of the registry's choosing; its exit code decides.

``run`` is an argument list (no shell), started in the registry's root, in a
new session, with a minimal environment: ``PATH``, ``HOME``, ``LANG`` and
``LC_ALL`` (when set), the variables ``env`` and ``secret_env`` name (taken from
the job's environment), and the model:

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

(and ``_MODELREG_RUN_ID``, the mark by which its processes are found when it
ends). Nothing else of the job's environment reaches it: not its GitHub token (which
can push to the registry), not cloud credentials, unless ``env`` or
``secret_env`` names them.

Exit code 0 is success; anything else, a program that cannot be started, or a
run longer than ``timeout`` is a failure, and the previous version keeps
serving as far as modelreg is concerned. When the run ends (at the timeout, or
when the program exits) every process it started is stopped, those that left
its session or were re-parented by a double fork included
(:mod:`modelreg.edges.processes`): SIGTERM, then SIGKILL after
:data:`GRACE_SECONDS`. A deploy step leaves nothing running on the runner.

The outcome keeps the exit code and the last :data:`OUTPUT_TAIL` bytes of
stdout and of stderr: output is read as it comes and only the tail is kept,
so a chatty program cannot exhaust memory. Before it is kept, the value of
every secret of the job (each secret-looking environment variable, and those
``secret_env`` names) is masked in it, as it is and in its common encodings
(:mod:`modelreg.edges.secrets`).

A command cannot say what it serves, so :meth:`Command.serving` answers None.
"""

from __future__ import annotations

import os
import selectors
import shlex
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from modelreg.deploy.targets import Activation, Serving, TargetOutcome
from modelreg.edges import processes
from modelreg.edges.secrets import Scrubber, secret_values
from modelreg.errors import ModelregError
from modelreg.formats import models
from modelreg.formats.durations import seconds

#: bytes of stdout and of stderr kept for the record
OUTPUT_TAIL = 2048
#: after SIGTERM at the timeout, how long the run's processes have before SIGKILL
GRACE_SECONDS = 5.0
_CHUNK = 65536
#: the longest command line shown in a target's name
_NAME_MAX = 80


class _Tail:
    """The last ``cap`` bytes of a stream, masked of the job's secrets, and how many bytes it carried."""

    def __init__(self, cap: int, scrub: Scrubber) -> None:
        self.cap = cap
        self.scrub = scrub
        self.total = 0
        self._buffer = bytearray()
        # more than is shown: a secret cut by the start of the tail is recognised there and dropped
        self._keep = cap + scrub.margin

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self._buffer += data
        if len(self._buffer) > self._keep:
            del self._buffer[:-self._keep]

    def text(self) -> str:
        text = self._buffer.decode("utf-8", "replace")
        if self.total <= self.cap:
            return self.scrub(text)
        # masked first, then cut: a cut never leaves part of a secret unmasked
        whole = self.total <= len(self._buffer)  # else the buffer begins mid-stream
        masked = self.scrub(text) if whole else self.scrub.cut(text)
        return "…" + masked.encode()[-self.cap:].decode("utf-8", "ignore")


class Command:
    def __init__(self, run: list[str], timeout: float, root: Path, *, grace: float = GRACE_SECONDS,
                 output_tail: int = OUTPUT_TAIL, env: Sequence[str] = (),
                 secret_env: Sequence[str] = ()) -> None:
        self.run = list(run)
        self.env = list(env)
        self.secret_env = list(secret_env)
        self.timeout = timeout
        self.root = root
        self.grace = grace
        self.output_tail = output_tail
        line = shlex.join(self.run)
        self.name = f"command {line if len(line) <= _NAME_MAX else line[:_NAME_MAX - 1] + '…'}"

    def environment(self, act: Activation, artifact: Path) -> dict[str, str]:
        """The minimal environment (see the module), with the model's MODELREG_* variables."""
        passed = (*_BASE_ENV, *self.env, *self.secret_env)
        return {
            **{name: os.environ[name] for name in passed if name in os.environ},
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
        scrub = Scrubber(secret_values(names=self.secret_env))
        tree = processes.Tree()
        started = time.monotonic()
        try:
            with tree.watching():
                proc = subprocess.Popen(self.run, cwd=self.root,
                                        env={**self.environment(act, artifact), **tree.env()},
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
                tree.leader = proc.pid
                stdout, stderr = _Tail(self.output_tail, scrub), _Tail(self.output_tail, scrub)
                with proc:
                    timed_out = self._communicate(proc, stdout, stderr, started + self.timeout)
                    # nothing it started outlives it, whether it timed out or not
                    stopped = tree.stop(self.grace if timed_out else min(self.grace, 1.0))
                    code = proc.wait()
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
        # What a command prints goes into the ledger and notifications: no secret of this
        # job may go with it (the tails are masked before anything is cut from them).
        out, err = stdout.text(), stderr.text()
        detail = {"command": self.run, "exit_code": code, "timed_out": timed_out,
                  "seconds": round(time.monotonic() - started, 3), "stdout": out, "stderr": err}
        if stopped and not timed_out:
            detail["stopped_after_exit"] = stopped
        ok = code == 0 and not timed_out
        return TargetOutcome(ok, self.name, _message(code, timed_out, self.timeout, err, out), detail)

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


#: what every command gets from the job's environment (besides what its configuration names)
_BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL")


def _message(code: int, timed_out: bool, timeout: float, stderr: str, stdout: str) -> str:
    if timed_out:
        return f"timed out after {timeout:g}s; its process group was stopped"
    if code == 0:
        return "exit code 0"
    last = _last_line(stderr) or _last_line(stdout)
    what = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    return f"{what}: {last}" if last else what


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def make(config: models.CommandTarget, root: Path) -> Command:
    return Command(config.run, float(seconds(config.timeout)), root, env=config.env,
                   secret_env=config.secret_env)
