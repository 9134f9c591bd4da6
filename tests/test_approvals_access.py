"""Whose approval counts: people with write access to the repository, never a bot or a deleted
account, unless the policy names them; the author never. In-process against the GitHub stub, whose
permission endpoint answers as each test describes the accounts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelreg.approvals.rules import NOT_IN_FROM, UNVERIFIED, Rule, decide
from tests.github_stub import GitHubStub
from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, git, register, set_aliases

TOKEN = "t0ken-for-access"
REPO = "acme/registry"
PULL = "/repos/acme/registry/pulls/7"
REVIEWS = PULL + "/reviews"
MEMBERS = "/orgs/acme/teams/model-risk/members"
HEAD = "a1" * 20


def permission(login: str) -> str:
    return f"/repos/acme/registry/collaborators/{login}/permission"


# fraud: any reviewer; churn (tagged bot=yes): the dependency bot or @acme/model-risk; both need one
DEFAULT = """\
schema_version: 1
promotion:
  production:
    approvals: {count: 1}
"""
BOTS = """\
schema_version: 1
applies_to:
  tags: {bot: "yes"}
promotion:
  production:
    approvals: {count: 1, from: ["@renovate[bot]", "@acme/model-risk"]}
"""


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStub]:
    with GitHubStub(token=TOKEN) as gh:
        gh.add_team("acme", "model-risk", ["risk-reader"])
        gh.set_user("risk-reader", "read")
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        yield gh


@pytest.fixture
def repo(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """fraud v1, v2 and churn v1 (bot=yes) on main, nothing in production; a branch `feature`."""
    return copy_scenario(scenarios.on_registry("approvals-access", cli, _access_repo), tmp_path)


def _access_repo(cli: Cli, registry: Path, workdir: Path) -> None:
    (registry / "policies/default.yaml").write_text(DEFAULT)
    (registry / "policies/bots.yaml").write_text(BOTS)
    register(cli, registry, workdir, "fraud", seed=1)
    register(cli, registry, workdir, "fraud", seed=2)
    register(cli, registry, workdir, "churn", "--tag", "bot=yes", seed=3)
    commit_all(registry, "Register fraud v1, v2 and churn v1")
    git(registry, "switch", "-q", "-c", "feature")


def promote(root: Path, stub: GitHubStub, *models: str, author: str = "alice") -> str:
    """Commit a promotion to production of each model on the branch; open PR 7 with that head."""
    for model in models or ("fraud",):
        set_aliases(root, model, {"production": 1})
    head = commit_all(root, "A promotion")
    stub.add_pull(REPO, 7, author=author, head_sha=head)
    return head


def approvals(cli: Cli, root: Path, *, code: int) -> str:
    result = cli("-C", str(root), "approvals", "--pr", "7")
    assert result.code == code, f"exit {result.code}\nstdout: {result.out}\nstderr: {result.err}"
    return result.out + result.err


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
def test_a_person_with_write_access_counts(repo: Path, cli: Cli, stub: GitHubStub, role: str) -> None:
    head = promote(repo, stub)
    stub.set_user("bob", role)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    out = approvals(cli, repo, code=0)
    assert "1 of 1 approvals (1 from any reviewer other than the author): @bob via any reviewer" in out
    assert stub.paths() == [PULL, REVIEWS, permission("bob")]


@pytest.mark.parametrize(("role", "permission_"), [("triage", None), ("read", None), ("none", None),
                                                    ("auditor", "read")])
def test_a_reviewer_without_write_access_does_not_count(repo: Path, cli: Cli, stub: GitHubStub, role: str,
                                                        permission_: str | None) -> None:
    head = promote(repo, stub)
    stub.set_user("bob", role, permission=permission_)  # "auditor": a custom role on read
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    out = approvals(cli, repo, code=1)
    assert f"@bob has {role} access to the repository, not write: only an approval by someone with " \
        "write access counts" in out


def test_a_custom_role_on_write_counts(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    head = promote(repo, stub)
    stub.set_user("bob", "model-approver", permission="write")
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    assert "@bob via any reviewer" in approvals(cli, repo, code=0)


@pytest.mark.parametrize("login", ["renovate[bot]", "deploy-app"])
def test_a_bot_does_not_count(repo: Path, cli: Cli, stub: GitHubStub, login: str) -> None:
    head = promote(repo, stub)
    stub.set_user(login, "admin", type="Bot")  # even an app with admin rights: an app is nobody
    stub.add_review(REPO, 7, login, "APPROVED", commit_id=head)
    out = approvals(cli, repo, code=1)
    assert f"@{login} is an app's account (a bot), not a person: it does not count" in out
    assert permission(login) not in stub.paths()  # the review says so: no request needed


def test_an_account_that_says_bot_only_on_the_permission_call_does_not_count(
        repo: Path, cli: Cli, stub: GitHubStub) -> None:
    head = promote(repo, stub)
    stub.add_review(REPO, 7, "helper", "APPROVED", commit_id=head)  # the review said User
    stub.set_user("helper", "write", type="Bot")
    assert "@helper is an app's account (a bot)" in approvals(cli, repo, code=1)


@pytest.mark.parametrize("answer", ["404", "null", "ghost"])
def test_a_reviewer_whose_account_is_gone_does_not_count(repo: Path, cli: Cli, stub: GitHubStub,
                                                         answer: str) -> None:
    head = promote(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    stub.delete_user("bob", answer=answer)
    assert "@bob's account no longer exists" in approvals(cli, repo, code=1)


@pytest.mark.parametrize("user", [None, "ghost"])
def test_a_review_by_a_deleted_account_does_not_count(repo: Path, cli: Cli, stub: GitHubStub,
                                                      user: str | None) -> None:
    head = promote(repo, stub)
    stub.add_review(REPO, 7, user, "APPROVED", commit_id=head)
    out = approvals(cli, repo, code=1)
    assert "a review by a deleted account does not count" in out
    assert [p for p in stub.paths() if "/collaborators/" in p] == []


def test_a_bot_the_policy_names_counts(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    head = promote(repo, stub, "churn")
    stub.add_review(REPO, 7, "renovate[bot]", "APPROVED", commit_id=head)
    out = approvals(cli, repo, code=0)
    assert "@renovate[bot] via @renovate[bot]" in out
    assert stub.paths() == [PULL, REVIEWS, MEMBERS]  # named: its permission does not matter


def test_another_bot_than_the_one_named_does_not_count(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    head = promote(repo, stub, "churn")
    stub.add_review(REPO, 7, "dependabot[bot]", "APPROVED", commit_id=head)
    assert "@dependabot[bot] approved but is not in @renovate[bot], @acme/model-risk" in \
        approvals(cli, repo, code=1)


def test_a_member_of_a_named_team_counts_without_write_access(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    head = promote(repo, stub, "churn")
    stub.add_review(REPO, 7, "risk-reader", "APPROVED", commit_id=head)  # read access only
    assert "@risk-reader via @acme/model-risk" in approvals(cli, repo, code=0)


def test_the_author_never_counts_even_with_write_access(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    head = promote(repo, stub, author="alice")
    stub.set_user("alice", "admin")
    stub.add_review(REPO, 7, "alice", "APPROVED", commit_id=head)
    out = approvals(cli, repo, code=1)
    assert "@alice is the PR's author: an author's own approval does not count" in out
    assert permission("alice") not in stub.paths()


def test_each_reviewer_is_looked_up_once_per_run(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    head = promote(repo, stub, "fraud", "churn")
    for login in ("bob", "bob", "carol"):
        stub.add_review(REPO, 7, login, "APPROVED", commit_id=head)
    stub.set_user("carol", "read")
    out = approvals(cli, repo, code=1)  # churn: bob and carol are not in its from
    assert "✓ fraud production (new) → v1 (policy default): 1 of 1 approvals" in out
    looked_up = sorted(p for p in stub.paths() if "/collaborators/" in p)
    assert looked_up == [permission("bob"), permission("carol")]


@pytest.mark.parametrize(("status", "message"), [
    (500, "GitHub's API failed on the permission of @bob on acme/registry (500 Server Error)"),
    (403, "GitHub's API refused the permission of @bob on acme/registry (403 Forbidden)"),
])
def test_a_failed_permission_lookup_fails_closed(repo: Path, cli: Cli, stub: GitHubStub, status: int,
                                                 message: str) -> None:
    head = promote(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    stub.fail(permission("bob"), status, body={"message": "Server Error" if status == 500 else "Forbidden"})
    result = cli("-C", str(repo), "approvals", "--pr", "7")
    assert result.code == 4, result.out + result.err
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith("error: ") and message in line, line
    assert TOKEN not in line


def test_an_unexpected_permission_answer_fails_closed(repo: Path, cli: Cli, stub: GitHubStub) -> None:
    head = promote(repo, stub)
    stub.add_review(REPO, 7, "bob", "APPROVED", commit_id=head)
    stub.fail(permission("bob"), 200, body={"permission": "write", "user": {"login": "mallory"}})
    result = cli("-C", str(repo), "approvals", "--pr", "7")
    assert result.code == 4 and "`user.login` is not bob" in result.err, result.err


# -- the pure decision: what was not checked does not count ------------------------------------------


def test_a_reviewer_whose_permission_was_not_looked_up_never_counts() -> None:
    from modelreg.edges.github import Review

    decision = decide(Rule(count=1), author="alice", head_sha=HEAD, teams={}, access={},
                      reviews=[Review("bob", "APPROVED", HEAD, None)])
    assert decision.received == ()
    assert [(n.login, n.reason) for n in decision.not_counted] == [("bob", UNVERIFIED)]
    unasked = decide(Rule(count=1), author="alice", head_sha=HEAD, teams={},
                     reviews=[Review("bob", "APPROVED", HEAD, None)])  # no permissions given at all
    assert unasked.received == () and not unasked.ok


def test_each_approval_that_does_not_count_says_why() -> None:
    from modelreg.edges.github import Access, Review

    reviews = [Review("alice", "APPROVED", HEAD, None), Review("old", "APPROVED", "b2" * 20, None),
               Review(None, "APPROVED", HEAD, None), Review("ci[bot]", "APPROVED", HEAD, None),
               Review("reader", "APPROVED", HEAD, None), Review("gone", "APPROVED", HEAD, None),
               Review("writer", "APPROVED", HEAD, None), Review("nay", "CHANGES_REQUESTED", HEAD, None)]
    access = {"reader": Access("reader", "read", "triage", "User"), "gone": None,
              "writer": Access("writer", "write", "write", "User")}
    decision = decide(Rule(count=1), author="alice", head_sha=HEAD, teams={}, access=access, reviews=reviews)
    assert [r.login for r in decision.received] == ["writer"]
    assert {(n.login, n.reason) for n in decision.not_counted} == {
        ("alice", "author"), ("old", "approved an older commit"), ("ghost", "account deleted"),
        ("ci[bot]", "bot"), ("reader", "no write access"), ("gone", "account deleted")}
    named = decide(Rule(count=1, from_=("@writer",)), author="alice", head_sha=HEAD, teams={}, access=access,
                   reviews=reviews)
    assert ("reader", NOT_IN_FROM) in {(n.login, n.reason) for n in named.not_counted}
