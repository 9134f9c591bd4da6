"""The deploy workflow that ``modelreg init`` writes, run for real by ``act`` on ``push`` events.

The registry has an ``origin`` (a bare repository on disk) that the job pushes the
ledger to, a local DVC remote, and a ``directory`` target. The install step installs
the working tree's wheel, as in the gate workflow's tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from modelreg.edges import ledger
from modelreg.write import workflows
from tests.helpers import Cli, commit_all, git, register
from tests.installs import Installs
from tests.test_gate_workflow import ACT_TIER, act

pytest_plugins = ["tests.installs"]
pytestmark = ACT_TIER


def _aliases(root: Path, **aliases: int) -> None:
    path = root / "registry/fraud/model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["aliases"] = aliases
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def repo(registry: Path, workdir: Path, tmp_path: Path, cli: Cli) -> Path:
    """production served from tmp/srv; the deploy workflow regenerated for it; an origin."""
    config = registry / "modelreg.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv")}]}}
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    (registry / workflows.DEPLOY_PATH).unlink()
    cli.ok("init", str(registry))  # as a user does: the workflow follows modelreg.yaml again
    (registry / "policies/default.yaml").write_text("schema_version: 1\n")
    for seed in (1, 2):
        register(cli, registry, workdir, "fraud", "-m", f"v{seed}", seed=seed)
    commit_all(registry, "Production environment; fraud v1 and v2")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(registry, "remote", "add", "origin", str(origin))
    git(registry, "push", "-q", "origin", "main")
    return registry


def merge(root: Path, message: str, **aliases: int) -> dict[str, object]:
    """Commit the change on main as a merged pull request would land, push it: the push event."""
    before = git(root, "rev-parse", "HEAD").strip()
    _aliases(root, **aliases)
    after = commit_all(root, message)
    git(root, "push", "-q", "origin", "main")
    return {"ref": "refs/heads/main", "before": before, "after": after,
            "repository": {"full_name": "acme/registry"}}


def test_merges_deploy_roll_back_and_record(repo: Path, tmp_path: Path, installs: Installs) -> None:
    assert "deploy-production" in yaml.safe_load((repo / workflows.DEPLOY_PATH).read_text())["jobs"]
    run = act(repo, "push", merge(repo, "Promote fraud v1 (#3)", production=1), tmp_path, installs,
              workflow=workflows.DEPLOY_PATH)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "✓ production: fraud production (none) → v1" in run.stdout
    link = tmp_path / "srv" / "fraud" / "production"
    assert os.readlink(link) == "1"

    run = act(repo, "push", merge(repo, "Promote fraud v2 (#4)", production=2), tmp_path, installs,
              workflow=workflows.DEPLOY_PATH)
    assert run.returncode == 0, run.stdout + run.stderr
    assert os.readlink(link) == "2" and (tmp_path / "srv/fraud/1").is_dir()  # the old one kept

    run = act(repo, "push", merge(repo, "Roll back fraud (#5)", production=1), tmp_path, installs,
              workflow=workflows.DEPLOY_PATH)
    assert run.returncode == 0, run.stdout + run.stderr
    assert os.readlink(link) == "1"

    # the ledger reached origin: any clone reads what happened, with the PR numbers
    reader = tmp_path / "reader"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(reader))
    assert ledger.fetch(reader)
    deployed = [(r.after, r.outcome, r.pr) for r in ledger.read(reader) if r.kind == "deployment"]
    assert deployed == [(1, "succeeded", 3), (2, "succeeded", 4), (1, "succeeded", 5)]


def test_a_failed_deployment_fails_the_job_and_the_previous_version_serves(repo: Path, tmp_path: Path,
                                                                           installs: Installs) -> None:
    run = act(repo, "push", merge(repo, "Promote fraud v1", production=1), tmp_path, installs,
              workflow=workflows.DEPLOY_PATH)
    assert run.returncode == 0, run.stdout + run.stderr
    md5 = yaml.safe_load((repo / "registry/fraud/v2/version.yaml").read_text())["artifact"]["md5"]
    (repo / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]).unlink()  # lost from the remote
    run = act(repo, "push", merge(repo, "Promote fraud v2", production=2), tmp_path, installs,
              workflow=workflows.DEPLOY_PATH)
    assert run.returncode != 0
    assert "✗ production: fraud production v1 → v2" in run.stdout
    assert "the DVC remote has no object" in run.stdout
    assert os.readlink(tmp_path / "srv" / "fraud" / "production") == "1"
