"""``action.yml``, the GitHub Action: hardened as the generated workflows are, its install step
the action's own checkout by default, its ``check`` mode the gate (the step scripts run outside
act here; tests/test_action_workflow.py runs the action under act)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path

import pytest

from modelreg import __version__
from modelreg.write import workflows
from tests.helpers import Cli, commit_all, git, register
from tests.installs import Installs, path_without_modelreg, tool
from tests.test_check import GOOD, POLICY
from tests.test_pipelines import ACTION, PROJECT, runner, step

pytest_plugins = ["tests.installs"]
ZIZMOR = tool("zizmor")


def test_the_action_is_hardened() -> None:
    steps = ACTION["runs"]["steps"]
    assert ACTION["runs"]["using"] == "composite"
    for each in steps:
        # every value reaches a script through env:, never as an expression inside run:
        assert "${{" not in each.get("run", ""), each["name"]
        # no third-party action; were one added, it is pinned by full commit SHA
        assert "uses" not in each or re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", each["uses"])
    install = next(s for s in steps if s["name"] == "Install modelreg")
    assert install["env"]["UV_VERSION"] == workflows.UV_VERSION  # the uv the generated workflows pin
    assert set(ACTION["outputs"]) == {"pr-url", "version", "branch"}
    assert {"registry", "model", "artifact", "metrics", "params", "tags", "card", "sign-key", "token",
            "base", "mode", "install"} <= set(ACTION["inputs"])


@pytest.mark.skipif(ZIZMOR is None, reason="needs zizmor (in the test extra)")
def test_zizmor_finds_nothing() -> None:
    assert ZIZMOR is not None
    done = subprocess.run([ZIZMOR, "--offline", "action.yml"], cwd=PROJECT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_register_mode_names_a_missing_input(tmp_path: Path) -> None:
    env = {**os.environ, **runner(tmp_path / "runner"), "REGISTRY": "https://example.com/r.git", "MODEL": "",
           "ARTIFACT": "model.pkl"}
    done = subprocess.run(["bash", "-e", "-c", step("Register and open the pull request")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stdout.strip() == "::error::modelreg action: the input model is required in mode register"


def test_check_mode_runs_the_gates(registry: Path, workdir: Path, cli: Cli, tmp_path: Path) -> None:
    (registry / "policies/default.yaml").write_text(POLICY)
    commit_all(registry, "Policy")
    git(registry, "switch", "-q", "-c", "feature")
    register(cli, registry, workdir, "fraud", "-m", "first", metrics=GOOD, seed=1)
    commit_all(registry, "Register fraud v1")
    env = {**os.environ, **runner(tmp_path / "runner"), "BASE_REF": "refs/heads/main"}
    done = subprocess.run(["bash", "-e", "-c", step("Run the gates")], cwd=registry, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "## modelreg check: passed" in done.stdout
    path = registry / "registry/fraud/v1/version.yaml"
    path.write_text(path.read_text().replace("roc_auc: 0.95", "roc_auc: 0.5"))
    commit_all(registry, "worse")
    done = subprocess.run(["bash", "-e", "-c", step("Run the gates")], cwd=registry, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "0.5 is outside the threshold (>= 0.9)" in done.stdout


@pytest.mark.packaging
def test_by_default_the_action_installs_its_own_checkout(tmp_path: Path, installs: Installs) -> None:
    """``install`` unset: modelreg[sign] from ``github.action_path``, built from the action's source."""
    install = next(s for s in ACTION["runs"]["steps"] if s["name"] == "Install modelreg")
    env = {**os.environ, "PATH": path_without_modelreg(), **installs.env, "MODELREG_INSTALL": "",
           "ACTION_PATH": str(PROJECT), "UV_VERSION": install["env"]["UV_VERSION"],
           "RUNNER_TEMP": str(tmp_path)}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(["bash", "-e", "-c", install["run"]], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith(f"modelreg, version {__version__}")
    # the sign extra came along: the gates verify signatures where a policy requires them
    python = tmp_path / "modelreg-action/bin/python"
    subprocess.run([str(python), "-c", "import model_signing"], check=True)


def test_register_mode_gives_git_the_token_for_an_https_registry(tmp_path: Path) -> None:
    """git asks the registry's host with the token in a header (as actions/checkout does), not in
    the URL nor in a file; the header goes to that host only."""
    from tests.http_sink import HttpSink

    (tmp_path / "model.pkl").write_bytes(b"weights")
    with HttpSink() as sink:
        sink.answer(404, times=10)
        env = {**os.environ, **runner(tmp_path / "runner"), "REGISTRY": f"{sink.url}/acme/registry.git",
               "MODEL": "fraud", "ARTIFACT": "model.pkl", "GITHUB_TOKEN": "t0ken-for-git", "ACTOR": "bot",
               "ACTOR_ID": "1", "PREFIX": "modelreg/register-", "RUN_ID": "7", "RUN_ATTEMPT": "1",
               "RUN_URL": "https://github.com/acme/train/actions/runs/7", "GITHUB_API_URL": sink.url}
        done = subprocess.run(["bash", "-e", "-c", step("Register and open the pull request")],
                              cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0  # the stand-in serves no repository
    assert "could not clone the registry" in done.stderr
    git_requests = [r for r in sink.requests if "/acme/registry.git/" in r.path]
    assert git_requests, sink.requests
    expected = "basic " + base64.b64encode(b"x-access-token:t0ken-for-git").decode()
    assert all(r.headers.get("authorization") == expected for r in git_requests)
    assert "t0ken-for-git" not in done.stdout + done.stderr
    assert f"::add-mask::{expected.split()[1]}" in done.stdout


def test_register_mode_reads_the_model_input_as_a_name_only(tmp_path: Path) -> None:
    """An input that looks like an option is the model's name, refused as one: never an option."""
    (tmp_path / "model.pkl").write_bytes(b"weights")
    env = {**os.environ, **runner(tmp_path / "runner"), "REGISTRY": str(tmp_path / "nowhere.git"),
           "MODEL": "--help", "ARTIFACT": "model.pkl", "GITHUB_TOKEN": "t", "ACTOR": "bot", "ACTOR_ID": "1",
           "PREFIX": "modelreg/register-", "RUN_ID": "7", "RUN_ATTEMPT": "1", "RUN_URL": "https://x/7",
           "GITHUB_API_URL": "http://127.0.0.1:9"}
    done = subprocess.run(["bash", "-e", "-c", step("Register and open the pull request")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "Usage:" not in done.stdout + done.stderr
    assert "--help" in done.stderr and "model" in done.stderr.lower(), done.stderr


def _fake_modelreg(tmp: Path, script: str) -> dict[str, str]:
    """The runner with a modelreg that runs ``script`` (sh) instead: what a server's answers made."""
    env = runner(tmp)
    Path(env["MODELREG"]).write_text(f"#!/bin/sh\n{script}\n")
    return env


def _register_env(tmp_path: Path, env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**os.environ, **env, "REGISTRY": str(tmp_path / "r.git"), "MODEL": "fraud",
            "ARTIFACT": "model.pkl", "GITHUB_TOKEN": "", "ACTOR": "bot", "ACTOR_ID": "1",
            "PREFIX": "modelreg/register-", "RUN_ID": "7", "RUN_ATTEMPT": "1", "RUN_URL": "https://x/7",
            **extra}


def test_an_output_with_a_line_break_is_never_written(tmp_path: Path) -> None:
    """A hostile API's pull request URL with a line break would add outputs of its own."""
    answer = ('{"model": "fraud", "version": 1, "branch": "b", "base": "main", "repo": "acme/r", '
              '"pr_url": "https://x/1\\nversion=666"}')
    env = _fake_modelreg(tmp_path / "runner", f"printf '%s' '{answer}'")
    done = subprocess.run(["bash", "-e", "-c", step("Register and open the pull request")], cwd=tmp_path,
                          env=_register_env(tmp_path, env), capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "the output pr-url holds a line break" in done.stdout + done.stderr
    assert Path(env["GITHUB_OUTPUT"]).read_text() == ""


KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIPrivateKeyBytesHere\n-----END EC PRIVATE KEY-----"
ANSWER = '{"model": "fraud", "version": 1, "branch": "b", "base": "main", "repo": "", "pr_url": ""}'
#: a modelreg that records its argv and the --sign-key file (mode and text), then answers
RECORD = (f'printf "%s\\n" "$@" > "$RUNNER_TEMP/argv"; while [ $# -gt 0 ]; do '
          f'if [ "$1" = --sign-key ]; then stat -c %a "$2" > "$RUNNER_TEMP/mode"; '
          f'cat "$2" > "$RUNNER_TEMP/key"; fi; shift; done; printf "%s" \'{ANSWER}\'')


@pytest.mark.parametrize("value", [KEY, f"\n  {KEY}\n", f" {KEY}", "MHcCAQEEIPrivateKeyBytesHere"])
def test_a_sign_key_that_is_key_text_never_reaches_argv(value: str, tmp_path: Path) -> None:
    """Key text with a leading line break or space (or no PEM armour) is still key text: written
    to a file only the runner's user reads, never passed where an error would echo it."""
    env = _fake_modelreg(tmp_path / "runner", RECORD)
    done = subprocess.run(["bash", "-e", "-c", step("Register and open the pull request")], cwd=tmp_path,
                          env=_register_env(tmp_path, env, SIGN_KEY=value), capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    runner_temp = Path(env["RUNNER_TEMP"])
    argv = (runner_temp / "argv").read_text()
    assert "PrivateKeyBytes" not in argv and "--sign-key" in argv
    assert (runner_temp / "mode").read_text().strip() == "600"
    assert (runner_temp / "key").read_text() == value.strip() + "\n"
    assert not (runner_temp / "modelreg-sign-key.pem").exists()


def test_a_sign_key_that_is_a_path_is_passed_as_one(tmp_path: Path) -> None:
    (tmp_path / "signing.pem").write_text(KEY)
    env = _fake_modelreg(tmp_path / "runner", RECORD)
    done = subprocess.run(["bash", "-e", "-c", step("Register and open the pull request")], cwd=tmp_path,
                          env=_register_env(tmp_path, env, SIGN_KEY=" signing.pem\n"), capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "signing.pem\n" in (Path(env["RUNNER_TEMP"]) / "argv").read_text()


def test_the_cli_never_echoes_a_sign_key_value(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(b"weights")
    err = cli.fails("register", "fraud", "-a", str(tmp_path / "model.pkl"), "--sign-key", f"\n{KEY}",
                    code=2).err
    assert "PrivateKeyBytes" not in err and "BEGIN" not in err
    assert "--sign-key" in err and "the value is not shown: it may be a key" in err
