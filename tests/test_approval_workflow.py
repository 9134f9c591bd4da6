"""The approval workflow that ``modelreg init`` writes, run for real by ``act``.

As for the gate (test_gate_workflow.py): act runs the job on this host in a copy of
the repository, every step included, the install step installing the wheel of the
working tree. GitHub's REST API is the local stub (tests/github_stub.py) on
127.0.0.1: act gives the job ``GITHUB_API_URL`` pointing at it (``--env``) and the
token as the secret the workflow reads first (``--secret MODELREG_REVIEW_TOKEN``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelreg.formats.models import RegistryConfig
from modelreg.write import workflows
from tests.github_stub import GitHubStub
from tests.helpers import Cli, commit_all, git, register, set_aliases
from tests.installs import Installs
from tests.test_gate_workflow import FILES, act, needs_act

pytest_plugins = ["tests.installs"]

REPO = "acme/registry"
TOKEN = "t0ken-of-the-review-bot"
POLICY = """\
schema_version: 1
promotion:
  production:
    approvals: {count: 1, from: ["@acme/model-risk"]}
"""


@pytest.fixture
def stub() -> Iterator[GitHubStub]:
    with GitHubStub(token=TOKEN) as gh:
        gh.add_team("acme", "model-risk", ["alice", "bob"])
        yield gh


@pytest.fixture
def repo(registry: Path, workdir: Path, cli: Cli) -> Path:
    """A registry as `init` wrote it, approval workflow included; fraud v1 and v2 on main, v1 in
    production; the branch `feature` checked out."""
    assert (registry / workflows.APPROVAL_PATH).read_text() == FILES[workflows.APPROVAL_PATH]
    (registry / "policies/default.yaml").write_text(POLICY)
    register(cli, registry, workdir, "fraud", seed=1)
    register(cli, registry, workdir, "fraud", seed=2)
    set_aliases(registry, "fraud", {"production": 1})
    commit_all(registry, "Register fraud v1 and v2; v1 in production (#1)")
    git(registry, "switch", "-q", "-c", "feature")
    return registry


def review_event(head: str, state: str = "approved", login: str = "bob") -> dict[str, object]:
    return {"action": "submitted",
            "pull_request": {"number": 7, "base": {"ref": "main"}, "head": {"ref": "feature", "sha": head}},
            "review": {"state": state, "user": {"login": login}, "commit_id": head}}


def run(repo: Path, stub: GitHubStub, tmp_path: Path, installs: Installs, payload: dict[str, object],
        event: str = "pull_request_review", secret: str = f"MODELREG_REVIEW_TOKEN={TOKEN}") -> str:
    """The approval workflow on ``event``, against the stub; act's output (the job's, step by step)."""
    done = act(repo, event, payload, tmp_path, installs, "--env", f"GITHUB_API_URL={stub.url}",
               "--secret", secret, workflow=workflows.APPROVAL_PATH)
    assert "Success - Main Install modelreg" in done.stdout, done.stdout + done.stderr
    assert secret.split("=", 1)[1] not in done.stdout + done.stderr
    return done.stdout + f"\n[exit {done.returncode}]"


def promote(repo: Path, stub: GitHubStub, author: str = "alice") -> str:
    set_aliases(repo, "fraud", {"production": 2})
    head = commit_all(repo, "Promote fraud v2 to production")
    stub.add_pull(REPO, 7, author=author, head_sha=head)
    return head


def passed(out: str) -> bool:
    if "Job succeeded" in out and out.endswith("[exit 0]"):
        return True
    assert "Job failed" in out and not out.endswith("[exit 0]"), out
    return False


@needs_act
def test_approval_by_the_required_team_passes(repo: Path, stub: GitHubStub, tmp_path: Path,
                                              installs: Installs) -> None:
    head = promote(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    out = run(repo, stub, tmp_path, installs, review_event(head))
    assert passed(out)
    assert "✓ 1 approval requirement met" in out
    assert "| ✅ | fraud | production | v1 → v2 | default | 1 from `@acme/model-risk` | " \
        "`@bob` via `@acme/model-risk`" in out
    # The job asked the stub, with the secret's token: the PR, its reviews, the team.
    assert stub.paths() == ["/repos/acme/registry/pulls/7", "/repos/acme/registry/pulls/7/reviews",
                            "/orgs/acme/teams/model-risk/members"]
    assert {r.headers["authorization"] for r in stub.requests} == {f"Bearer {TOKEN}"}


@needs_act
def test_an_approval_by_the_author_alone_fails(repo: Path, stub: GitHubStub, tmp_path: Path,
                                               installs: Installs) -> None:
    head = promote(repo, stub, author="alice")  # alice is in @acme/model-risk, but wrote the PR
    stub.add_review(REPO, 7, "alice", "APPROVED", commit_id=head)
    out = run(repo, stub, tmp_path, installs, review_event(head, login="alice"))
    assert not passed(out)
    assert "✗ 1 of 1 approval requirement not met" in out
    assert "::error title=modelreg approvals::✗ fraud production v1 → v2" in out  # on the PR's checks
    assert "is the PR's author: an author's own approval does not count" in out


@needs_act
def test_a_stale_approval_fails(repo: Path, stub: GitHubStub, tmp_path: Path, installs: Installs) -> None:
    set_aliases(repo, "fraud", {"production": 2})
    old = commit_all(repo, "Promote fraud v2")
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=old)
    head = commit_all(repo, "One more commit after the approval")
    stub.add_pull(REPO, 7, author="alice", head_sha=head)
    # The event is for the approval of the old commit; GitHub's API says where the head is now.
    out = run(repo, stub, tmp_path, installs, review_event(old))
    assert not passed(out)
    assert f"approved {old[:7]}, not the head commit {head[:7]}: a stale approval does not count" in out


@needs_act
def test_an_api_error_fails_closed(repo: Path, stub: GitHubStub, tmp_path: Path, installs: Installs) -> None:
    head = promote(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    stub.fail("/repos/acme/registry/pulls/7/reviews", 500)
    out = run(repo, stub, tmp_path, installs, review_event(head))
    assert not passed(out)
    [line] = [x for x in out.splitlines() if "error: GitHub's API" in x]
    assert re.search(r"error: GitHub's API failed on reviews of pull request acme/registry#7 \(500 Server "
                     r"Error\); GitHub may be having an outage", line), line
    assert "exit status 4" in out  # ServiceError's exit code: not a gate's 1, not a bug's 3
    assert "✓" not in out.split("Main Check the approvals", 1)[1]  # nothing passed


@needs_act
def test_a_pull_request_that_moves_no_gated_alias_passes_without_asking_github(
        repo: Path, stub: GitHubStub, tmp_path: Path, installs: Installs, cli: Cli, workdir: Path) -> None:
    register(cli, repo, workdir, "fraud", seed=3)
    set_aliases(repo, "fraud", {"production": 1, "staging": 3})  # no rule for staging
    commit_all(repo, "Register fraud v3, in staging")
    payload = {"action": "opened", "number": 7,
               "pull_request": {"number": 7, "base": {"ref": "main"}, "head": {"ref": "feature"}}}
    out = run(repo, stub, tmp_path, installs, payload, event="pull_request")
    assert passed(out)
    assert "✓ no alias move in this pull request needs approval" in out
    assert stub.requests == []


@needs_act
def test_without_the_review_token_the_jobs_own_token_is_used(repo: Path, stub: GitHubStub, tmp_path: Path,
                                                             installs: Installs) -> None:
    head = promote(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    # No MODELREG_REVIEW_TOKEN: `github.token`, which act takes from the GITHUB_TOKEN secret.
    out = run(repo, stub, tmp_path, installs, review_event(head), secret="GITHUB_TOKEN=actions-own-token")
    assert not passed(out)
    assert {r.headers["authorization"] for r in stub.requests} == {"Bearer actions-own-token"}
    assert "error: GitHub's API refused pull request acme/registry#7 (401 unauthorised: Bad credentials); " \
        "the token in GITHUB_TOKEN is missing, invalid or expired" in out
    assert "exit status 4" in out


@needs_act
def test_a_merge_group_passes(repo: Path, stub: GitHubStub, tmp_path: Path, installs: Installs) -> None:
    promote(repo, stub)
    payload = {"merge_group": {"base_ref": "refs/heads/main", "head_ref": "gh-readonly-queue/main/pr-7-0a1b",
                               "head_sha": "0" * 40}}
    out = run(repo, stub, tmp_path, installs, payload, event="merge_group")
    assert passed(out)
    assert "✓ merge group: each of its pull requests passed the approval check" in out
    assert stub.requests == []


def test_docs_show_the_workflow_as_written() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "approvals.md").read_text()
    # as init writes it from a release (the docs show a runner's install line, not a development build's)
    written = workflows.files(RegistryConfig(install="modelreg[sign]==0.2.0"))
    lines = [line for line in written[workflows.APPROVAL_PATH].splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    position = 0
    for line in lines:
        position = doc.index(line, position) + len(line)  # in order, none missing


def test_the_token_reaches_the_step_through_env_only() -> None:
    import yaml

    doc = yaml.safe_load(FILES[workflows.APPROVAL_PATH])
    assert set(doc[True]) == {"pull_request", "pull_request_review", "merge_group"}  # YAML 1.1: on is True
    [step] = [s for s in doc["jobs"]["approval"]["steps"] if s.get("name") == "Check the approvals"]
    assert step["env"] == {"GITHUB_TOKEN": "${{ secrets.MODELREG_REVIEW_TOKEN || github.token }}"}
    assert step["run"] == "modelreg approvals --format markdown"
    assert doc["concurrency"]["group"].startswith("modelreg-approval-${{ github.event.pull_request.number")
