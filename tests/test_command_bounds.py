"""The command target: nothing it starts outlives it, it gets no secret it was not given, and
nothing secret comes back from its output, in any common encoding."""

from __future__ import annotations

import base64
import json
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from modelreg.deploy.targets import Activation
from modelreg.deploy.targets.command import Command, _Tail, make
from modelreg.edges.secrets import Scrubber, secret_values
from modelreg.formats import models

TOKEN = "ghs_FakeJobToken0123456789abcdefXYZ"
AWS = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def activation(root: Path) -> Activation:
    artifact = root / "model.bin"
    artifact.write_bytes(b"m")
    return Activation(environment="production", model="m", alias="production", version=1, sha256="0" * 64,
                      md5="0" * 32, artifact_name="model.bin", uri="models:/m/1", commit="c" * 40,
                      registry=root, fetch_to=lambda dest: artifact, local_path=lambda: artifact)


def script(root: Path, text: str) -> Path:
    path = root / f"deploy-{uuid.uuid4().hex[:8]}.sh"
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return path


def survivors(marker: str) -> list[int]:
    """Live processes (not zombies) whose command line carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def escapees(marker: str) -> str:
    """A shell fragment starting processes that leave the command's session and family."""
    double_fork = (f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                   f"        time.sleep(1000)  # {marker}\n    os._exit(0)\nos._exit(0)\n")
    return (f"setsid sh -c 'sleep 1000; : {marker}-setsid' &\n"
            f"env -i setsid sh -c 'sleep 1000; : {marker}-clean-env' &\n"
            f"{sys.executable} -c '{double_fork}' {marker}-double-fork\n"
            f"(sh -c 'sleep 1000; : {marker}-background' &)\n")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("ending", ["sleep 1000\n", "exit 0\n"], ids=["timeout", "exits-at-once"])
def test_nothing_the_command_started_survives_it(tmp_path: Path, ending: str) -> None:
    marker = f"modelreg-escapee-{uuid.uuid4().hex}"
    path = script(tmp_path, escapees(marker) + "sleep 0.5\n" + ending)
    started = time.monotonic()
    outcome = Command([str(path)], 2.0, tmp_path, grace=0.5).activate(activation(tmp_path))
    assert time.monotonic() - started < 15
    assert outcome.ok == (ending == "exit 0\n"), outcome.message
    left = survivors(marker)
    assert not left, f"processes outlived the command target: {left}"


def test_the_command_gets_a_minimal_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("SOME_JOB_SETTING", "not-for-the-command")
    monkeypatch.setenv("DEPLOY_CLUSTER", "prod-eu")
    code = "import json, os; print(json.dumps(sorted(os.environ)))"
    config = models.CommandTarget.model_validate({"type": "command", "run": [sys.executable, "-c", code],
                                                  "env": ["DEPLOY_CLUSTER", "NOT_SET_ANYWHERE"]})
    outcome = make(config, tmp_path).activate(activation(tmp_path))
    assert outcome.ok, outcome.message
    names = set(json.loads(outcome.detail["stdout"]))
    assert {n for n in names if not n.startswith(("MODELREG_", "_MODELREG_"))} <= {
        "PATH", "HOME", "LANG", "LC_ALL", "DEPLOY_CLUSTER", "LC_CTYPE"}
    assert "DEPLOY_CLUSTER" in names and "PATH" in names
    assert not names & {"GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "SOME_JOB_SETTING"}


def _encodings(value: str) -> dict[str, str]:
    raw = value.encode()
    return {
        "plain": value,
        "base64": base64.b64encode(raw).decode(),
        "base64-echo": base64.b64encode(raw + b"\n").decode(),
        "base64-urlsafe": base64.urlsafe_b64encode(b"?" + raw).decode(),
        "basic-auth": base64.b64encode(b"x-access-token:" + raw).decode(),
        "url": urllib.parse.quote(value, safe=""),
        "url-lower": urllib.parse.quote(value, safe="").lower(),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
    }


@pytest.mark.parametrize("passed", [True, False], ids=["passed-as-secret_env", "read-from-elsewhere"])
def test_no_secret_comes_back_from_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              passed: bool) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS)
    monkeypatch.setenv("HOOK_SIGNING", "named-in-the-config-42")  # a name that does not look secret
    lines = [f"{kind}={form}" for value in (TOKEN, AWS, "named-in-the-config-42")
             for kind, form in _encodings(value).items()]
    leaked = tmp_path / "leaked.txt"  # e.g. a credentials file the command can read
    leaked.write_text("\n".join(lines) + "\n")
    path = script(tmp_path, f"cat {leaked}\ncat {leaked} >&2\necho \"last: $GITHUB_TOKEN\" >&2\nexit 4\n")
    secret_env = ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "HOOK_SIGNING"] if passed else ["HOOK_SIGNING"]
    outcome = Command([str(path)], 10.0, tmp_path, secret_env=secret_env).activate(activation(tmp_path))
    recorded = json.dumps(outcome.to_dict())
    for value in (TOKEN, AWS, "named-in-the-config-42"):
        for kind, form in _encodings(value).items():
            core = form[3:-3]  # the middle of each form: the ends may mix in other bytes
            assert core not in recorded and core not in json.loads(recorded)["detail"]["stdout"], \
                f"{kind} form of a secret in the record"
    assert outcome.message == ("exit code 4: last: ***" if passed else "exit code 4: last:")


def test_a_secret_cut_by_the_tail_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    scrub = Scrubber(secret_values())
    # whole tokens after the cut shrink when masked: the tail shown must still not reach back
    # into the part of a token the cut left
    for pad in range(0, 64 + scrub.margin + len(TOKEN)):
        tail = _Tail(64, scrub)
        tail.add(("a" * 100 + TOKEN + "b" * pad + TOKEN * 3 + "c").encode())
        shown = tail.text()
        for k in range(4, len(TOKEN)):
            assert TOKEN[-k:] not in shown, (pad, shown)
