"""Many pipelines at once: the action's own step scripts, run as real processes outside act.

Six training pipelines register the same new model into one bare registry within the same
moment, each through the action's ``register`` step (``modelreg register --registry`` on a
branch of the run's own, the pull request opened on the GitHub stand-in). All six claim v1.
Then the pull requests merge one by one, as a merge queue would, and after each push to main
the registry runs the action's ``renumber`` step, which moves every open registration branch
whose number main took to the next free one. Counted at the end: all land, none lost (each
artifact exactly once), the numbers contiguous, every merged version through every gate.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.github_stub import GitHubStub
from tests.helpers import Cli, commit_all, copy_registry, git, make_code_repo, register

PROJECT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((PROJECT / "action.yml").read_text())
TOKEN = "t0ken-for-pipelines"
PIPELINES = 6


def step(name: str) -> str:
    """The ``run:`` script of the action's step ``name``."""
    return next(s["run"] for s in ACTION["runs"]["steps"] if s["name"] == name)


def runner(tmp: Path) -> dict[str, str]:
    """A runner's temporary folder with the action's install in place (this interpreter, with the
    sources under test on its path), and the files a step writes its outputs to."""
    bin_dir = tmp / "modelreg-action" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    modelreg = bin_dir / "modelreg"
    modelreg.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m modelreg "$@"\n')
    modelreg.chmod(0o755)
    (tmp / "output").touch()
    (tmp / "summary").touch()
    return {"RUNNER_TEMP": str(tmp), "MODELREG": str(modelreg), "GITHUB_OUTPUT": str(tmp / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp / "summary"),
            "PYTHONPATH": os.pathsep.join([str(PROJECT / "src"), str(PROJECT)]), "TMPDIR": str(tmp)}


def outputs(tmp: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (tmp / "output").read_text().splitlines())


def pipeline(tmp_path: Path, i: int, bare: Path, api: str) -> tuple[Path, dict[str, str]]:
    """Training repository ``i`` with its model and metrics, and the env of the action's register
    step in its run (the inputs as the action passes them)."""
    train = make_code_repo(tmp_path / f"train{i}")
    (train / "model.pkl").write_bytes(b"\x80\x04K\x01." + f"weights of run {i}".encode() * 50)
    (train / "metrics.json").write_text(json.dumps({"roc_auc": 0.9 + i / 100}))
    commit_all(train, "Model trained")
    return train, {**os.environ, **runner(tmp_path / f"runner{i}"), "REGISTRY": bare.as_uri(),
                   "MODEL": "fraud", "ARTIFACT": "model.pkl", "METRICS": "metrics.json", "PARAMS": "",
                   "TAGS": f"team=fraud\n  run={i}\n", "DESCRIPTION": f"weekly retrain {i}", "CARD": "",
                   "OWNER": "@acme/fraud", "SIGN_KEY": "", "GITHUB_TOKEN": TOKEN,
                   "GITHUB_API_URL": api, "REPO": "acme/registry", "BASE": "",
                   "PREFIX": "modelreg/register-", "RUN_ID": str(1000 + i),
                   "RUN_ATTEMPT": "1", "RUN_URL": f"https://github.com/acme/fraud/actions/runs/{1000 + i}",
                   "ACTOR": "pipeline-bot", "ACTOR_ID": "41"}


@pytest.fixture
def bare(tmp_path: Path, registry: Path) -> Path:
    """The registry as a server holds it, its DVC remote a folder every clone reaches by path."""
    (tmp_path / "dvc-remote").mkdir()
    shared = copy_registry(registry, tmp_path / "registry-shared", remote=str(tmp_path / "dvc-remote"))
    (shared / "policies/default.yaml").write_text("schema_version: 1\n")
    commit_all(shared, "No thresholds")
    path = tmp_path / "registry.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(shared), str(path))
    return path


def test_six_pipelines_at_once_all_land_numbered_1_to_6(tmp_path: Path, bare: Path, cli: Cli) -> None:
    with GitHubStub(token=TOKEN) as github:
        procs: list[tuple[Path, subprocess.Popen[str]]] = []
        digests = set()
        for i in range(1, PIPELINES + 1):
            train, env = pipeline(tmp_path, i, bare, github.url)
            digests.add(hashlib.sha256((train / "model.pkl").read_bytes()).hexdigest())
            procs.append((tmp_path / f"runner{i}", subprocess.Popen(
                ["bash", "-e", "-c", step("Register and open the pull request")], cwd=train, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        for where, proc in procs:
            out, _ = proc.communicate(timeout=600)
            assert proc.returncode == 0, out
            assert outputs(where)["version"] == "1"  # each claims the next number on main: v1
        pulls = sorted(github.created, key=lambda p: p["head"])
        assert len(pulls) == PIPELINES
        assert {p["head"] for p in pulls} == {f"modelreg/register-fraud-run{1000 + i}-1"
                                              for i in range(1, PIPELINES + 1)}
        assert all(p["base"] == "main" and p["title"] == "Register fraud v1" for p in pulls)

    # The merge queue: each pull request in turn gets the gate on its branch, then merges; after
    # each push to main the registry's workflow runs the action's renumber step.
    registry = tmp_path / "merger"
    git(tmp_path, "clone", "--quiet", str(bare), str(registry))
    renumber_env = {**os.environ, **runner(tmp_path / "registry-runner"), "BASE": "main",
                    "PREFIX": "modelreg/register-", "GIT_COMMITTER_NAME": "modelreg",
                    "GIT_COMMITTER_EMAIL": "modelreg@example.com"}
    renumbered = 0
    for number, pull in enumerate(pulls, start=1):
        git(registry, "fetch", "--quiet", "--prune", "origin")
        git(registry, "switch", "--quiet", "--force", "-C", pull["head"], f"origin/{pull['head']}")
        report = cli("-C", str(registry), "check", "--head", "--base", "origin/main", "--format", "json")
        assert report.code == 0, report.out  # every gate, the artifact in the shared remote included
        assert json.loads(report.out)["new_versions"] == [f"models:/fraud/{number}"]
        git(registry, "switch", "--quiet", "main")
        git(registry, "reset", "--quiet", "--hard", "origin/main")
        git(registry, "merge", "--quiet", "--no-ff", "-m", f"Merge {pull['head']}", f"origin/{pull['head']}")
        git(registry, "push", "--quiet", "origin", "main", f":{pull['head']}")  # merged; branch deleted
        done = subprocess.run(["bash", "-e", "-c", step("Renumber the open registration branches")],
                              cwd=registry, env=renumber_env, capture_output=True, text=True, timeout=600,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        renumbered += done.stdout.count("renumbering ")
        assert done.stdout.count("renumbering ") == PIPELINES - number  # every branch still open
    assert renumbered == PIPELINES * (PIPELINES - 1) // 2

    git(registry, "fetch", "--quiet", "origin")
    git(registry, "switch", "--quiet", "main")
    git(registry, "reset", "--quiet", "--hard", "origin/main")
    versions = sorted(int(p.name[1:]) for p in (registry / "registry/fraud").glob("v*"))
    assert versions == list(range(1, PIPELINES + 1))  # contiguous: none skipped, none twice
    manifests: list[dict[str, Any]] = [yaml.safe_load((registry / f"registry/fraud/v{n}/version.yaml")
                                                      .read_text()) for n in versions]
    assert [m["version"] for m in manifests] == versions
    assert sorted(m["artifact"]["sha256"] for m in manifests) == sorted(digests)  # none lost, none twice
    assert sorted(m["tags"]["run"] for m in manifests) == [str(i) for i in range(1, PIPELINES + 1)]
    cli.ok("-C", str(registry), "check", "--all", "--verify-artifacts")
    assert git(bare, "for-each-ref", "refs/heads").split()[-1] == "refs/heads/main"  # no branch left


def test_a_number_main_took_before_the_push_is_settled_by_the_action(tmp_path: Path, bare: Path) -> None:
    """The registry moved between the clone and the end of the register step: the action's next
    step finds the number taken on main and moves the branch to the next free one."""
    with GitHubStub(token=TOKEN) as github:
        first, first_env = pipeline(tmp_path, 1, bare, github.url)
        second, second_env = pipeline(tmp_path, 2, bare, github.url)
        for train, env in ((first, first_env), (second, second_env)):
            done = subprocess.run(["bash", "-e", "-c", step("Register and open the pull request")], cwd=train,
                                  env=env, capture_output=True, text=True, timeout=600, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
    first_out, second_out = outputs(tmp_path / "runner1"), outputs(tmp_path / "runner2")
    assert first_out["version"] == second_out["version"] == "1"
    git(bare, "update-ref", "refs/heads/main", first_out["branch"])  # the first merged (fast-forward)
    settle = {**second_env, "BRANCH": second_out["branch"], "BASE": second_out["base"],
              "GIT_COMMITTER_NAME": "modelreg", "GIT_COMMITTER_EMAIL": "modelreg@example.com"}
    done = subprocess.run(["bash", "-e", "-c", step("Settle the number")], cwd=second, env=settle,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"main took the number meanwhile: renumbered fraud v1 → v2 and pushed {second_out['branch']}" \
        in done.stdout
    assert outputs(tmp_path / "runner2")["version"] == "2"
    main = git(bare, "rev-parse", "main").strip()
    assert git(bare, "rev-parse", f"{second_out['branch']}^").strip() == main
    manifest = yaml.safe_load(git(bare, "show", f"{second_out['branch']}:registry/fraud/v2/version.yaml"))
    assert manifest["version"] == 2 and manifest["description"] == "weekly retrain 2"
    # Run again (nothing moved since): the number is settled, nothing is pushed.
    tip = git(bare, "rev-parse", second_out["branch"])
    done = subprocess.run(["bash", "-e", "-c", step("Settle the number")], cwd=second, env=settle,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and "renumbered" not in done.stdout, done.stdout + done.stderr
    assert git(bare, "rev-parse", second_out["branch"]) == tip
    assert not (tmp_path / "runner2/modelreg-settle").exists()


def test_renumber_mode_pushes_what_it_can_and_fails_on_what_it_cannot(tmp_path: Path, bare: Path,
                                                                     cli: Cli) -> None:
    """Main took v1 from three open registration branches: one is renumbered and pushed; one whose
    policy fails is renumbered and pushed too (its pull request shows the policy); one that also
    edits a policy is left alone, and the job fails naming it."""
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(bare), str(work))
    (tmp_path / "files").mkdir()
    (work / "policies/default.yaml").write_text("schema_version: 1\nrequired: [description]\n")
    commit_all(work, "Descriptions required")
    git(work, "push", "--quiet", "origin", "main")

    def branch(name: str, seed: int, *extra: str) -> None:
        git(work, "switch", "--quiet", "--force", "-C", name, "origin/main")
        register(cli, work, tmp_path / "files", "fraud", "--commit", *extra, seed=seed)
        git(work, "push", "--quiet", "origin", name)

    branch("modelreg/register-fraud-good", 1, "-m", "good")
    branch("modelreg/register-fraud-nodesc", 2)
    branch("modelreg/register-fraud-policy", 3, "-m", "and a policy edit")
    (work / "policies/default.yaml").write_text("schema_version: 1\n")
    commit_all(work, "Loosen the policy")
    git(work, "push", "--quiet", "origin", "modelreg/register-fraud-policy")
    branch("main", 4, "-m", "merged first")  # main's own v1: the three are behind now

    registry = tmp_path / "registry-checkout"
    git(tmp_path, "clone", "--quiet", str(bare), str(registry))
    env = {**os.environ, **runner(tmp_path / "registry-runner"), "BASE": "main",
           "PREFIX": "modelreg/register-", "GIT_COMMITTER_NAME": "modelreg",
           "GIT_COMMITTER_EMAIL": "modelreg@example.com"}
    done = subprocess.run(["bash", "-e", "-c", step("Renumber the open registration branches")], cwd=registry,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count("renumbering ") == 3
    assert "::error::modelreg: modelreg/register-fraud-policy was not renumbered on origin" in done.stdout
    assert "changes policies/default.yaml, which is not part of a new version" in done.stderr
    for name, description in (("good", "good"), ("nodesc", "")):
        manifest = yaml.safe_load(git(bare, "show", f"modelreg/register-fraud-{name}:registry/fraud/v2/"
                                                    "version.yaml"))
        assert manifest["version"] == 2 and manifest["description"] == description
    left = git(bare, "ls-tree", "-r", "--name-only", "modelreg/register-fraud-policy", "registry/fraud")
    assert "registry/fraud/v1/version.yaml" in left and "v2/" not in left
