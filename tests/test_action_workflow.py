"""The GitHub Action (``action.yml``) in a training repository, run for real by ``act``; then the
registry's own workflows on what it opened: the gate on the pull request, the deploy on the merge.

The training repository's workflow trains (here: its model and metrics are committed), evaluates
against a threshold, and uses the action from a local path (a copy of this repository's
``action.yml``: act runs ``uses: ./PATH`` actions, and a training repository would write
``uses: OWNER/modelreg@SHA``). The registry is a bare repository on disk with a DVC remote every
clone reaches by path; the GitHub API is the local stand-in. The install step installs the wheel
of the working tree, offline, as in the gate workflow's tests.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelreg import __version__
from modelreg.write import workflows
from tests.github_stub import GitHubStub
from tests.helpers import Cli, commit_all, copy_registry, git, make_code_repo, register, set_aliases
from tests.installs import Installs
from tests.test_check import GOOD, POLICY, hours_ago
from tests.test_gate_workflow import ACT_TIER, act

pytest_plugins = ["tests.installs"]
pytestmark = ACT_TIER

PROJECT = Path(__file__).resolve().parents[1]
TOKEN = "t0ken-of-the-registry-app"
TRAIN_PATH = ".github/workflows/train.yml"

#: a training repository's workflow, as docs/pipelines.md shows it (the action from a local path)
TRAIN = f"""\
name: train
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  train:
    runs-on: ubuntu-latest
    steps:
      - uses: {workflows.CHECKOUT}
        with:
          persist-credentials: false
      - name: Train
        run: echo "training... (model.pkl and metrics.json are committed in this test)"
      - name: Evaluate
        run: python3 -c 'import json, sys; m = json.load(open("metrics.json")); sys.exit(m["roc_auc"] < 0.9)'
      - name: Register
        id: register
        uses: ./.github/actions/modelreg
        with:
          registry: ${{{{ vars.REGISTRY_URL }}}}
          repo: acme/registry
          model: fraud
          artifact: model.pkl
          metrics: metrics.json
          description: weekly retrain
          tags: |
            team=fraud
            trigger=push
          token: ${{{{ secrets.REGISTRY_TOKEN }}}}
          install: ${{{{ vars.MODELREG_INSTALL }}}}
      - name: Show the pull request
        env:
          PR_URL: ${{{{ steps.register.outputs.pr-url }}}}
          VERSION: ${{{{ steps.register.outputs.version }}}}
          BRANCH: ${{{{ steps.register.outputs.branch }}}}
        run: echo "opened $PR_URL for v$VERSION from $BRANCH"
"""


@pytest.fixture
def stub() -> Any:
    with GitHubStub(token=TOKEN) as gh:
        yield gh


@pytest.fixture
def bare(tmp_path: Path, registry: Path, workdir: Path, cli: Cli) -> Path:
    """The registry on its server: the policy, fraud v1 in production and staging, an environment
    that serves staging from a folder, the workflows `init` writes for it; its DVC remote shared."""
    (tmp_path / "dvc-remote").mkdir()
    root = copy_registry(registry, tmp_path / "registry-src", remote=str(tmp_path / "dvc-remote"))
    config = root / "modelreg.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["environments"] = {"staging": {"alias": "staging", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv")}]}}
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    (root / workflows.DEPLOY_PATH).unlink()
    cli.ok("init", str(root))
    (root / "policies/default.yaml").write_text(POLICY)
    register(cli, root, workdir, "fraud", "-m", "first", metrics=GOOD, seed=1)
    commit_all(root, "Register fraud v1", date=hours_ago(72))
    set_aliases(root, "fraud", {"staging": 1, "production": 1})
    commit_all(root, "Promote v1 (#2)", date=hours_ago(24))
    path = tmp_path / "registry.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(root), str(path))
    return path


def test_a_training_pipeline_registers_the_gate_passes_and_the_merge_deploys(
        tmp_path: Path, bare: Path, stub: GitHubStub, installs: Installs, cli: Cli) -> None:
    train = make_code_repo(tmp_path / "train")
    (train / ".github/actions/modelreg").mkdir(parents=True)
    shutil.copy(PROJECT / "action.yml", train / ".github/actions/modelreg/action.yml")
    (train / TRAIN_PATH).parent.mkdir(parents=True)
    (train / TRAIN_PATH).write_text(TRAIN)
    (train / "model.pkl").write_bytes(b"\x80\x04K\x02." + b"weights" * 200)
    (train / "metrics.json").write_text(json.dumps({**GOOD, "roc_auc": 0.951}))
    trained = commit_all(train, "Train weekly")

    run = act(train, "push", {"ref": "refs/heads/main"}, tmp_path, installs,
              "--env", f"GITHUB_API_URL={stub.url}", "--secret", f"REGISTRY_TOKEN={TOKEN}",
              "--var", f"REGISTRY_URL={bare.as_uri()}",
              "--var", f"MODELREG_INSTALL=modelreg[sign]=={__version__}", workflow=TRAIN_PATH)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert TOKEN not in out
    assert f"modelreg, version {__version__}\n" in out  # the action's install step, this modelreg
    # The pull request on the stand-in: base, head, title, and the gate report as its body.
    [pull] = stub.created
    branch = pull["head"]
    assert branch.startswith("modelreg/register-fraud-run") and pull["base"] == "main"
    assert pull["title"] == "Register fraud v2"
    assert "## modelreg check: passed" in pull["body"]
    assert "### fraud v2 vs production (v1)" in pull["body"]
    assert f"opened https://github.com/acme/registry/pull/1 for v2 from {branch}" in out
    manifest = yaml.safe_load(git(bare, "show", f"{branch}:registry/fraud/v2/version.yaml"))
    assert manifest["lineage"]["code"]["commit"] == trained  # the training repository's commit
    assert manifest["tags"] == {"team": "fraud", "trigger": "push"}
    assert manifest["lineage"]["run"]["url"].startswith("https://github.com/")

    # The registry's gate workflow on that pull request passes.
    clone = tmp_path / "registry-clone"
    git(tmp_path, "clone", "--quiet", str(bare), str(clone))
    git(clone, "switch", "--quiet", "-c", branch, f"origin/{branch}")
    pr = {"pull_request": {"number": 1, "base": {"ref": "main"}, "head": {"ref": branch}}}
    gate = act(clone, "pull_request", pr, tmp_path, installs)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "all 7 gates passed (fraud v2; base main" in gate.stdout

    # Merged, then promoted to staging: the deploy workflow deploys v2 there.
    git(clone, "switch", "--quiet", "main")
    git(clone, "merge", "--quiet", "--no-ff", "-m", f"Merge pull request #1 from {branch}", branch)
    before = git(clone, "rev-parse", "HEAD").strip()
    cli.ok("-C", str(clone), "promote", "fraud", "2", "--to", "staging", "--commit", "-m", "Promote (#3)")
    git(clone, "push", "--quiet", "origin", "main")
    push = {"ref": "refs/heads/main", "before": before, "after": git(clone, "rev-parse", "HEAD").strip(),
            "repository": {"full_name": "acme/registry"}}
    deploy = act(clone, "push", push, tmp_path, installs, workflow=workflows.DEPLOY_PATH)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "✓ staging: fraud staging v1 → v2" in deploy.stdout
    assert os.readlink(tmp_path / "srv/fraud/staging") == "2"
