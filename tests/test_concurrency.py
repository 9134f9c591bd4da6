"""Two writers at once: both succeed with distinct versions, or one fails clearly; never a commit
on another run's branch, never a half-written change left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelreg.edges import lock
from modelreg.errors import ConflictError
from tests.helpers import Cli, artifact, commit_all, git, register

LOCKED = "another modelreg command is changing this registry"


def _start(registry: Path, art: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "modelreg", "-C", str(registry), "register", "fraud",
                             "--artifact", str(art), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def one_model(registry: Path, workdir: Path, cli: Cli) -> Path:
    register(cli, registry, workdir, "fraud")
    commit_all(registry, "Register fraud v1")
    return registry


def _versions_on(registry: Path, ref: str) -> list[str]:
    out = git(registry, "ls-tree", "--name-only", f"{ref}:registry/fraud")
    return sorted(n for n in out.split() if n.startswith("v"))


@pytest.mark.parametrize("round_", range(4))
def test_concurrent_commits_get_distinct_versions_or_a_clear_refusal(one_model: Path, workdir: Path,
                                                                     round_: int) -> None:
    arts = [artifact(workdir / f"r{round_}-{i}" / "model.pkl", seed=100 * round_ + i) for i in range(3)]
    runs = [_start(one_model, art, "--commit") for art in arts]
    results = [(run.wait(timeout=120), run.stdout.read() if run.stdout else "",
                run.stderr.read() if run.stderr else "") for run in runs]
    won = [out for code, out, _ in results if code == 0]
    for code, _, err in results:
        assert code == 0 or (code == 1 and LOCKED in err and len(err.strip().splitlines()) == 1), err
    assert won, "at least one run must get the lock"
    log = git(one_model, "log", "--format=%s").splitlines()
    registered = [line for line in log if line.startswith("Register fraud v")]
    assert len(registered) == 1 + len(won)
    assert len(set(registered)) == len(registered), "two commits claimed one version"
    assert _versions_on(one_model, "HEAD") == [f"v{n}" for n in range(1, len(won) + 2)]
    assert git(one_model, "status", "--porcelain", "--", "registry") == ""
    assert not lock.path_for(one_model).exists()


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_branches_never_cross(one_model: Path, workdir: Path, round_: int) -> None:
    main = git(one_model, "rev-parse", "HEAD").strip()
    arts = [artifact(workdir / f"b{round_}-{i}" / "model.pkl", seed=50 + 10 * round_ + i) for i in range(2)]
    runs = [_start(one_model, art, "--branch", f"reg-{round_}-{i}") for i, art in enumerate(arts)]
    codes = [run.wait(timeout=120) for run in runs]
    errors = [run.stderr.read() if run.stderr else "" for run in runs]
    for i, code in enumerate(codes):
        branch = f"reg-{round_}-{i}"
        exists = bool(git(one_model, "branch", "--list", branch).strip())
        if code != 0:
            assert LOCKED in errors[i], errors[i]
            assert not exists
            continue
        # the branch holds exactly its own registration on top of where it started
        commits = git(one_model, "log", "--format=%s", f"{main}..{branch}").splitlines()
        assert commits == ["Register fraud v2"] or (
            len(commits) == 2 and commits[0] == "Register fraud v3"), commits
    assert any(code == 0 for code in codes)


def test_a_failed_commit_leaves_the_user_where_they_were(one_model: Path, workdir: Path, cli: Cli) -> None:
    (one_model / "notes.txt").write_text("mine, staged\n")
    git(one_model, "add", "notes.txt")
    hook = one_model / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy: no commits today' >&2\nexit 1\n")
    hook.chmod(0o755)
    before_status = git(one_model, "status", "--porcelain")
    art = artifact(workdir / "v2" / "model.pkl", seed=2)
    err = cli.fails("-C", str(one_model), "register", "fraud", "--artifact", str(art), "--branch",
                    "register/fraud-v2").err
    assert "policy: no commits today" in err
    assert git(one_model, "branch", "--show-current").strip() == "main"
    assert git(one_model, "branch", "--list", "register/fraud-v2").strip() == ""
    assert git(one_model, "status", "--porcelain") == before_status  # staged notes.txt still staged
    assert not (one_model / "registry/fraud/v2").exists()
    assert not lock.path_for(one_model).exists()


def test_a_held_lock_names_its_holder(one_model: Path, workdir: Path, cli: Cli) -> None:
    with lock.held(one_model, "promote fraud 1 --to production"):
        art = artifact(workdir / "v2" / "model.pkl", seed=2)
        err = cli.fails("-C", str(one_model), "register", "fraud", "--artifact", str(art)).err
    assert f"`modelreg promote fraud 1 --to production` (pid {os.getpid()} on" in err
    assert f"remove {lock.path_for(one_model)}" in err
    assert not (one_model / "registry/fraud/v2").exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over(one_model: Path, workdir: Path, cli: Cli) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = lock.path_for(one_model)
    path.write_text(f'{{"pid": {dead.pid}, "host": "{os.uname().nodename}", "command": "register x", '
                    f'"since": {time.time() - 3600}}}')
    register(cli, one_model, workdir, "fraud", seed=2)
    assert (one_model / "registry/fraud/v2/version.yaml").exists()
    assert not path.exists()


def test_a_live_holder_is_never_taken_over(one_model: Path) -> None:
    path = lock.path_for(one_model)
    path.write_text(f'{{"pid": {os.getppid()}, "host": "{os.uname().nodename}", "command": "register x"}}')
    with pytest.raises(ConflictError, match=LOCKED), lock.held(one_model, "register y"):
        pass
    assert "register x" in path.read_text()
