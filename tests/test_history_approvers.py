"""`modelreg history`: who approved each change, from GitHub's API (the local stub), or why unknown."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelreg.read.history import NO_PR
from tests.github_stub import GitHubStub
from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, git, register, set_aliases

TOKEN = "t0ken-for-history"
REPO = "acme/registry"


@pytest.fixture
def repo(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """fraud v1 registered directly, v2 promoted in PR 12, v3 to staging in PR 15: built once per
    session, a private copy."""
    return copy_scenario(scenarios.on_registry("history-approvers", cli, _history_repo), tmp_path)


def _history_repo(cli: Cli, registry: Path, workdir: Path) -> None:
    register(cli, registry, workdir, "fraud", seed=1)
    commit_all(registry, "Register fraud v1")
    register(cli, registry, workdir, "fraud", seed=2)
    set_aliases(registry, "fraud", {"production": 2})
    commit_all(registry, "Promote fraud v2 (#12)")
    register(cli, registry, workdir, "fraud", seed=3)
    set_aliases(registry, "fraud", {"production": 2, "staging": 3})
    commit_all(registry, "Merge pull request #15 from acme/fraud-v3")


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStub]:
    with GitHubStub(token=TOKEN) as gh:
        gh.add_pull(REPO, 12, author="alice", head_sha="a1" * 20, merged_at="2026-11-20T12:00:00Z")
        gh.add_review(REPO, 12, "bob", "APPROVED", commit_id="a1" * 20, submitted_at="2026-11-20T10:00:00Z")
        gh.add_review(REPO, 12, "carol", "APPROVED", commit_id="a1" * 20, submitted_at="2026-11-20T10:05:00Z")
        gh.add_review(REPO, 12, "carol", "CHANGES_REQUESTED", commit_id="a1" * 20,
                      submitted_at="2026-11-20T10:06:00Z")  # no longer approves
        gh.add_review(REPO, 12, "dave", "DISMISSED", commit_id="a1" * 20)
        gh.add_review(REPO, 12, "erin", "COMMENTED", commit_id="a1" * 20)
        gh.add_pull(REPO, 15, author="alice", head_sha="b2" * 20, merged_at="2026-11-21T12:00:00Z")
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield gh


def history(cli: Cli, root: Path, *args: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = cli.ok("-C", str(root), "history", "fraud", "--json", *args).json
    return events


def test_approvers_come_from_the_pull_requests_reviews(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    events = history(cli, repo, "--repo", REPO)
    by_pr = {e["pr"]: e for e in events}
    assert by_pr[12]["approvers"] == [{"login": "bob", "at": "2026-11-20T10:00:00Z", "commit_id": "a1" * 20}]
    assert by_pr[12]["approvers_note"] is None
    assert by_pr[15]["approvers"] == [] and by_pr[15]["approvers_note"] is None  # merged without approval
    assert by_pr[None]["approvers"] is None and by_pr[None]["approvers_note"] == NO_PR
    # Once per pull request, however many events it made; the author and head commit decide too, and
    # bob's permission (the policy's production rule admits anyone with write access but the author)
    assert stub.paths() == ["/repos/acme/registry/pulls/15/reviews", "/repos/acme/registry/pulls/15",
                            "/repos/acme/registry/pulls/12/reviews", "/repos/acme/registry/pulls/12",
                            "/repos/acme/registry/collaborators/bob/permission"]

    text = cli.ok("-C", str(repo), "history", "fraud", "--repo", REPO).out
    lines = text.splitlines()
    assert lines[0].split() == ["DATE", "CHANGE", "COMMIT", "AUTHOR", "PR", "APPROVED", "BY"]
    assert any("production: (none) -> v2" in line and line.endswith("#12  bob 2026-11-20 10:00")
               for line in lines), text
    assert any("staging: (none) -> v3" in line and line.endswith("#15  nobody") for line in lines), text
    assert any("registered v1" in line and line.endswith("-    no PR") for line in lines), text
    assert "approved by:" not in text


def test_the_repository_comes_from_origin_on_github(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    git(repo, "remote", "add", "origin", "git@github.com:acme/registry.git")
    events = history(cli, repo)
    assert next(e["approvers"] for e in events if e["pr"] == 12) == [
        {"login": "bob", "at": "2026-11-20T10:00:00Z", "commit_id": "a1" * 20}]


def test_without_a_token_the_approvers_are_unknown_offline(repo: Path, cli: Cli, stub: GitHubStub,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    events = history(cli, repo, "--repo", REPO)
    assert {(e["pr"], e["approvers"], e["approvers_note"]) for e in events} == {
        (12, None, "unknown offline: set GITHUB_TOKEN to a token that can read the repository's pull "
                   "requests to ask GitHub"),
        (15, None, "unknown offline: set GITHUB_TOKEN to a token that can read the repository's pull "
                   "requests to ask GitHub"),
        (None, None, NO_PR)}
    text = cli.ok("-C", str(repo), "history", "fraud").out
    assert "#12  unknown offline" in text
    assert text.splitlines()[-1] == ("approved by: unknown offline: set GITHUB_TOKEN to a token that can "
                                     "read the repository's pull requests to ask GitHub")
    assert stub.requests == []


def test_without_a_known_repository_the_approvers_are_unknown(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    events = history(cli, repo)  # no --repo, no GITHUB_REPOSITORY, no origin
    assert {e["approvers_note"] for e in events if e["pr"]} == {
        "unknown offline: no GitHub repository known (origin is not on github.com); pass --repo OWNER/NAME "
        "or set GITHUB_REPOSITORY"}
    assert stub.requests == []


def test_offline_asks_nothing(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    events = history(cli, repo, "--repo", REPO, "--offline")
    assert {e["approvers_note"] for e in events if e["pr"]} == {
        "unknown offline: GitHub was not asked (--offline)"}
    assert stub.requests == []


@pytest.mark.parametrize(("status", "said"), [
    (500, "GitHub's API failed on reviews of pull request acme/registry#15 (500 Server Error)"),
    (401, "GitHub's API refused reviews of pull request acme/registry#15 (401 unauthorised"),
])
def test_an_api_failure_is_a_note_not_a_failure(repo: Path, cli: Cli, stub: GitHubStub, status: int,
                                               said: str) -> None:
    stub.fail("*", status, body={"message": "Server Error" if status == 500 else "Bad credentials"})
    events = history(cli, repo, "--repo", REPO)
    notes = {e["approvers_note"] for e in events if e["pr"]}
    [note] = notes
    assert isinstance(note, str) and note.startswith(f"unknown: GitHub's API could not be asked ({said}")
    assert all(e["approvers"] is None for e in events)
    assert len(stub.requests) == 1  # the first failure stops the lookups
    text = cli.ok("-C", str(repo), "history", "fraud", "--repo", REPO).out
    assert "#12  unknown" in text and text.splitlines()[-1].startswith("approved by: unknown: GitHub's API")
    assert TOKEN not in text


def test_history_offline_does_not_import_the_github_client(repo: Path) -> None:
    env = {**os.environ, "MODELREG_REGISTRY": str(repo)}
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "modelreg", "history", "fraud"],
                         env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "unknown offline" in run.stdout
    assert "modelreg.edges.github" not in run.stderr and "urllib.request" not in run.stderr
