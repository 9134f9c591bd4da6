"""`modelreg approvals` in-process: real git registries, GitHub's REST API from the local stub.

The decisions themselves are tested on review lists in test_approvals.py; here, what
the command finds to gate, what it asks GitHub, and its exit codes. The workflow that
runs it under act is tested in test_approval_workflow.py.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelreg.approvals import pull_request as approvals_pr
from modelreg.edges.github import find_repo, repo_of_url
from modelreg.errors import InputError
from tests.github_stub import GitHubStub
from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, git, register, set_aliases

TOKEN = "t0ken-for-the-stub"
REPO = "acme/registry"
PULL = "/repos/acme/registry/pulls/7"
REVIEWS = PULL + "/reviews"
MEMBERS = "/orgs/acme/teams/model-risk/members"

POLICY = """\
schema_version: 1
promotion:
  production:
    approvals: {count: 1, from: ["@acme/model-risk"]}
"""
HIGH_RISK = """\
schema_version: 1
applies_to:
  tags: {risk: high}
promotion:
  production:
    approvals: {count: 2, from: ["@acme/model-risk", "@acme/fraud-ml"]}
  staging:
    approvals: {count: 0}
"""


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStub]:
    with GitHubStub(token=TOKEN) as gh:
        gh.add_team("acme", "model-risk", ["bob", "carol", "alice"])
        gh.add_team("acme", "fraud-ml", ["dave", "carol"])
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        yield gh


@pytest.fixture
def repo(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """fraud v1, v2 and churn v1 (tagged risk=high) on main, fraud v1 in production; a branch `feature`:
    built once per session, a private copy."""
    return copy_scenario(scenarios.on_registry("approvals", cli, _approvals_repo), tmp_path)


def _approvals_repo(cli: Cli, registry: Path, workdir: Path) -> None:
    (registry / "policies/default.yaml").write_text(POLICY)
    (registry / "policies/high-risk.yaml").write_text(HIGH_RISK)
    register(cli, registry, workdir, "fraud", seed=1)
    register(cli, registry, workdir, "fraud", seed=2)
    register(cli, registry, workdir, "churn", "--tag", "risk=high", seed=3)
    commit_all(registry, "Register fraud v1, v2 and churn v1")
    set_aliases(registry, "fraud", {"production": 1})
    commit_all(registry, "Promote fraud v1 (#2)")
    git(registry, "switch", "-q", "-c", "feature")


def pull_request(root: Path, stub: GitHubStub, message: str = "A promotion", *,
                 author: str = "alice") -> str:
    """Commit the work tree on the branch, and open PR 7 on the stub with that head."""
    head = commit_all(root, message)
    stub.add_pull(REPO, 7, author=author, head_sha=head)
    return head


def approvals(cli: Cli, root: Path, *args: str, code: int = 0) -> str:
    result = cli("-C", str(root), "approvals", "--pr", "7", *args)
    assert result.code == code, f"exit {result.code}\nstdout: {result.out}\nstderr: {result.err}"
    return result.out + result.err


def test_an_approval_by_a_member_of_the_required_team_passes(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    set_aliases(repo, "fraud", {"production": 2})
    head = pull_request(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head, submitted_at="2026-11-20T10:00:00Z")
    out = approvals(cli, repo)
    assert "✓ fraud production v1 → v2 (policy default): 1 of 1 approvals (1 from @acme/model-risk): " \
        "@bob via @acme/model-risk at 2026-11-20T10:00:00Z" in out
    assert f"✓ 1 approval requirement met (head {head[:7]})" in out
    assert stub.paths() == [PULL, REVIEWS, MEMBERS]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in stub.requests)


def test_the_authors_own_approval_fails(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    set_aliases(repo, "fraud", {"production": 2})
    head = pull_request(repo, stub, author="alice")  # alice is in @acme/model-risk
    stub.add_review(REPO, 7, "alice", "APPROVED", commit_id=head)
    out = approvals(cli, repo, code=1)
    assert "✗ fraud production v1 → v2 (policy default): 0 of 1 approvals (1 from @acme/model-risk); " \
        "1 missing" in out
    assert "@alice is the PR's author: an author's own approval does not count" in out
    assert "✗ 1 of 1 approval requirement not met" in out


def test_a_stale_approval_fails(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    set_aliases(repo, "fraud", {"production": 2})
    old = commit_all(repo, "First try")
    (repo / "registry/fraud/model.yaml").write_text(
        (repo / "registry/fraud/model.yaml").read_text().replace("description: ''", "description: fixed"))
    head = pull_request(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=old)
    out = approvals(cli, repo, code=1)
    assert f"@bob approved {old[:7]}, not the head commit {head[:7]}: a stale approval does not count" in out


def test_changes_requested_after_an_approval_cancels_it(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    set_aliases(repo, "fraud", {"production": 2})
    head = pull_request(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    stub.add_review(REPO, 7, "bob", "CHANGES_REQUESTED", commit_id=head)
    stub.add_review(REPO, 7, "carol", "COMMENTED", commit_id=head)
    assert "@bob approved, then requested changes" in approvals(cli, repo, code=1)


def test_reviews_and_team_members_are_read_across_pages(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    stub.page_size = 2
    stub.add_team("acme", "model-risk", [f"member{n}" for n in range(5)] + ["bob"])
    set_aliases(repo, "fraud", {"production": 2})
    head = pull_request(repo, stub)
    for n in range(4):
        stub.add_review(REPO, 7, f"someone{n}", "COMMENTED", commit_id=head)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)  # on the third page of reviews
    out = approvals(cli, repo)
    assert "@bob via @acme/model-risk" in out
    pages = [(r.path, r.query.get("page", "1")) for r in stub.requests]
    assert pages == [(PULL, "1"), (REVIEWS, "1"), (REVIEWS, "2"), (REVIEWS, "3"),
                     (MEMBERS, "1"), (MEMBERS, "2"), (MEMBERS, "3")]


def test_two_models_in_one_pull_request(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    set_aliases(repo, "fraud", {"production": 2})
    set_aliases(repo, "churn", {"production": 1, "staging": 1})  # churn v1 is risk=high: two approvals
    head = pull_request(repo, stub)
    stub.add_review(REPO, 7, "carol", "APPROVED", commit_id=head)  # in both teams: counts for both rules
    result = cli("-C", str(repo), "approvals", "--pr", "7", "--format", "json")
    assert result.code == 1, result.err
    report = result.json
    rules = {(r["model"], r["alias"]): r for r in report["requirements"]}
    assert set(rules) == {("churn", "production"), ("fraud", "production")}  # staging: count 0
    assert (rules["fraud", "production"]["ok"], rules["fraud", "production"]["policy"]) == (True, "default")
    churn = rules["churn", "production"]
    assert (churn["ok"], churn["policy"], churn["required"], churn["missing"]) == (False, "high-risk", 2, 1)
    assert [r["login"] for r in churn["received"]] == ["carol"]
    assert report["passed"] is False and report["author"] == "alice" and report["head_sha"] == head

    stub.add_review(REPO, 7, "dave", "APPROVED", commit_id=head)
    out = approvals(cli, repo)
    assert "✓ 2 approval requirements met" in out
    # Each team is asked for once, however many rules name it.
    assert sorted(p for p in stub.paths() if "/teams/" in p) == sorted(
        ["/orgs/acme/teams/fraud-ml/members", MEMBERS] * 2)


def test_a_pull_request_that_moves_no_gated_alias_passes_without_asking_github(
        repo: Path, cli: Cli, stub: GitHubStub, workdir: Path) -> None:
    register(cli, repo, workdir, "fraud", seed=4)  # a new version
    set_aliases(repo, "churn", {"staging": 1})  # an alias whose rule asks for 0 approvals
    set_aliases(repo, "fraud", {"production": 1, "champion": 2}, archived=[1])  # no rule for champion
    pull_request(repo, stub)
    out = approvals(cli, repo)
    assert "✓ no alias move in this pull request needs approval" in out
    assert stub.requests == []


def test_removing_an_alias_needs_no_approval(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    set_aliases(repo, "fraud", {})
    pull_request(repo, stub)
    assert "✓ no alias move in this pull request needs approval" in approvals(cli, repo)
    assert stub.requests == []


def test_a_pull_request_cannot_lower_the_bar_for_its_own_promotion(repo: Path, cli: Cli,
                                                                   stub: GitHubStub) -> None:
    (repo / "policies/default.yaml").write_text(POLICY.replace("count: 1", "count: 0"))
    set_aliases(repo, "fraud", {"production": 2})
    pull_request(repo, stub)
    out = approvals(cli, repo, code=1)
    assert "✗ fraud production v1 → v2 (policy default (on main)): 0 of 1 approvals" in out


def test_naming_a_weaker_policy_in_the_pull_request_adds_a_rule_not_replaces_one(
        repo: Path, cli: Cli, stub: GitHubStub) -> None:
    (repo / "policies/lenient.yaml").write_text("schema_version: 1\npromotion:\n  production:\n"
                                                "    approvals: {count: 1}\n")
    set_aliases(repo, "fraud", {"production": 2}, policy="lenient")
    head = pull_request(repo, stub)
    stub.add_review(REPO, 7, "erin", "APPROVED", commit_id=head)
    report = cli("-C", str(repo), "approvals", "--pr", "7", "--format", "json").json
    assert [(r["policy"], r["ok"]) for r in report["requirements"]] == [
        ("lenient", True), ("default (on main)", False)]


def test_the_policy_follows_the_moved_to_versions_tags(repo: Path, cli: Cli, stub: GitHubStub,
                                                       workdir: Path) -> None:
    register(cli, repo, workdir, "fraud", "--tag", "risk=high", seed=5)
    commit_all(repo, "Register fraud v3 (risk=high)")
    set_aliases(repo, "fraud", {"production": 3})
    pull_request(repo, stub)
    report = cli("-C", str(repo), "approvals", "--pr", "7", "--format", "json").json
    # The version's own tags choose high-risk; the rule in force before (chosen by the tags of what
    # production served, not by the tags this change brings) applies as well.
    rules = [(r["policy"], r["required"], r["from"]) for r in report["requirements"]]
    assert rules[0] == ("high-risk", 2, ["@acme/model-risk", "@acme/fraud-ml"])
    assert all(policy.endswith("(on main)") for policy, _, _ in rules[1:])


def test_an_unreadable_model_yaml_fails_rather_than_passes(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    (repo / "registry/fraud/model.yaml").write_text("name: fraud\naliases: {production: [}\n")
    pull_request(repo, stub)
    result = cli("-C", str(repo), "approvals", "--pr", "7")
    assert result.code == 1
    assert result.err.startswith("error: registry/fraud/model.yaml:")
    assert stub.requests == []


# -- GitHub's failures: one line, exit 4, never a pass ---------------------------------------------


@pytest.mark.parametrize(("path", "status", "headers", "body", "message"), [
    (REVIEWS, 500, {}, '{"message": "Server Error"}',
     "GitHub's API failed on reviews of pull request acme/registry#7 (500 Server Error)"),
    (PULL, 401, {}, '{"message": "Bad credentials"}',
     "GitHub's API refused pull request acme/registry#7 (401 unauthorised: Bad credentials)"),
    (MEMBERS, 403, {}, '{"message": "Must have admin rights"}',
     "listing team members needs a token with the organisation's members read permission"),
    (PULL, 404, {}, '{"message": "Not Found"}', "pull request acme/registry#7 not found (404 from"),
    (REVIEWS, 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1795000000"},
     '{"message": "API rate limit exceeded"}', "it resets at 2026-11-18T"),
    (REVIEWS, 200, {}, "{not json", "GitHub's API answered reviews of pull request acme/registry#7 with "
     "malformed JSON"),
])
def test_an_api_failure_fails_closed_with_one_line(repo: Path, cli: Cli, stub: GitHubStub, path: str,
                                                   status: int, headers: dict[str, str], body: str,
                                                   message: str) -> None:
    set_aliases(repo, "fraud", {"production": 2})
    head = pull_request(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    stub.fail(path, status, headers=headers, body=body)
    result = cli("-C", str(repo), "approvals", "--pr", "7")
    assert result.code == 4, result.out + result.err
    assert result.out == ""  # no report, no pass
    [line] = result.err.splitlines()
    assert line.startswith("error: ") and message in line, line
    assert TOKEN not in result.err


def test_an_unreachable_api_fails_closed_with_exit_4(repo: Path, cli: Cli, stub: GitHubStub,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    set_aliases(repo, "fraud", {"production": 2})
    pull_request(repo, stub)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{port}")
    result = cli("-C", str(repo), "approvals", "--pr", "7")
    assert result.code == 4, result.out + result.err
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith(f"error: cannot reach GitHub's API at http://127.0.0.1:{port}: connection refused")


# -- where the PR, the base and the repository come from ------------------------------------------


def event_file(tmp_path: Path, payload: dict[str, object]) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return path


def test_the_pull_request_and_its_base_come_from_the_event(repo: Path, cli: Cli, stub: GitHubStub,
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "branch", "-q", "release", "main")
    set_aliases(repo, "fraud", {"production": 2})
    head = pull_request(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    git(repo, "switch", "-q", "main")
    (repo / "policies/default.yaml").write_text(POLICY.replace("count: 1", "count: 2"))
    commit_all(repo, "main asks for two approvals now")
    git(repo, "switch", "-q", "feature")
    payload = {"action": "submitted", "pull_request": {"number": 7, "base": {"ref": "release"}},
               "review": {"state": "approved"}}
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event_file(tmp_path, payload)))
    result = cli("-C", str(repo), "approvals")  # against release (one approval), not main (two)
    assert result.code == 0, result.out + result.err
    assert "1 of 1 approvals" in result.out and stub.paths()[0] == PULL


def test_a_merge_group_passes_without_asking_github(repo: Path, cli: Cli, stub: GitHubStub,
                                                    tmp_path: Path) -> None:
    payload = {"merge_group": {"base_ref": "refs/heads/main", "head_ref": "gh-readonly-queue/main/pr-7-abc"}}
    out = cli.ok("-C", str(repo), "approvals", "--event", str(event_file(tmp_path, payload))).out
    assert "✓ merge group: each of its pull requests passed the approval check" in out
    assert stub.requests == []


def test_without_a_pull_request_it_is_a_usage_error(repo: Path, cli: Cli, tmp_path: Path) -> None:
    assert "Pass --pr N" in cli.fails("-C", str(repo), "approvals", code=2).err
    push = event_file(tmp_path, {"ref": "refs/heads/main"})
    assert "Pass --pr N" in cli.fails("-C", str(repo), "approvals", "--event", str(push), code=2).err


def test_a_broken_event_file_names_itself(repo: Path, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text('{"pull_request": {"number": "7"}}')
    err = cli.fails("-C", str(repo), "approvals", "--event", str(path)).err
    assert f"{path}: pull_request.number: is not a pull request number: '7'" in err
    with pytest.raises(InputError, match="is not JSON"):
        path.write_text("{")
        approvals_pr.read_event(str(path))


def test_a_gated_move_without_a_known_repository_is_a_usage_error(repo: Path, cli: Cli, stub: GitHubStub,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_REPOSITORY")
    set_aliases(repo, "fraud", {"production": 2})
    pull_request(repo, stub)
    assert "Pass --repo OWNER/NAME" in cli.fails("-C", str(repo), "approvals", "--pr", "7", code=2).err
    git(repo, "remote", "add", "origin", "git@github.com:acme/registry.git")
    approvals(cli, repo, code=1)  # the repository from origin: the stub was asked
    assert stub.paths()[0] == PULL


def test_the_repository_comes_from_repo_the_environment_or_origin(repo: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_repo(str(repo)) is None
    git(repo, "remote", "add", "origin", "https://github.com/acme/from-origin.git")
    assert find_repo(str(repo)) == "acme/from-origin"
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/from-env")
    assert find_repo(str(repo)) == "acme/from-env"
    assert find_repo(str(repo), "acme/given") == "acme/given"
    with pytest.raises(InputError, match="is not a GitHub repository name"):
        find_repo(str(repo), "acme/../x")


@pytest.mark.parametrize(("url", "repo"), [
    ("https://github.com/acme/registry.git", "acme/registry"),
    ("https://github.com/acme/registry", "acme/registry"),
    ("git@github.com:acme/registry.git", "acme/registry"),
    ("ssh://git@github.com/acme/registry.git", "acme/registry"),
    ("https://gitlab.com/acme/registry.git", None),
    ("https://github.com/acme/registry/tree/main", None),
    ("/srv/git/registry.git", None),
])
def test_repo_of_url(url: str, repo: str | None) -> None:
    assert repo_of_url(url) == repo


# -- under GitHub Actions ------------------------------------------------------------------------


def test_under_actions_the_report_goes_to_the_job_summary(repo: Path, cli: Cli, stub: GitHubStub,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    set_aliases(repo, "fraud", {"production": 2})
    head = pull_request(repo, stub)
    stub.add_review(REPO, 7, "eve", "APPROVED", commit_id=head)
    out = approvals(cli, repo, "--format", "markdown", code=1)
    assert out.startswith("::error title=modelreg approvals::✗ fraud production v1 → v2")
    assert "@eve approved but is not in @acme/model-risk" in out.splitlines()[0]
    text = summary.read_text()
    assert text.startswith("## modelreg approvals: failed")
    assert "| ❌ | fraud | production | v1 → v2 | default | 1 from `@acme/model-risk` | — | 1 |" in text


def test_under_actions_an_api_failure_reaches_the_summary(repo: Path, cli: Cli, stub: GitHubStub,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    set_aliases(repo, "fraud", {"production": 2})
    pull_request(repo, stub)
    stub.fail(REVIEWS, 502)
    result = cli("-C", str(repo), "approvals", "--pr", "7")
    assert result.code == 4
    assert result.out.startswith("::error title=modelreg approvals::cannot check the approvals: GitHub's API")
    assert "✗ the approvals could not be checked, so the check fails" in summary.read_text()
