"""The approval decisions on review lists, as GitHub would list them (oldest first)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from modelreg.approvals import render
from modelreg.approvals.rules import (
    ANY_REVIEWER,
    Requirement,
    Rule,
    decide,
    evaluate,
    split_team,
    teams_needed,
)
from modelreg.edges.github import Access, Review, approvers
from modelreg.formats.models import Approvals

HEAD = "a1" * 20
OLD = "b2" * 20
AUTHOR = "alice"
TEAMS = {"@acme/model-risk": {"bob", "Carol"}, "@acme/fraud-ml": {"dave", "alice"}}


class Everyone(Mapping[str, "Access | None"]):
    """Every login has write access: what these tests decide is about reviews, not permissions
    (those are in test_approvals_access.py)."""

    def __getitem__(self, login: str) -> Access:
        return Access(login, "write", "write", "User")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


WRITERS = Everyone()


def review(user: str | None, state: str = "APPROVED", commit: str = HEAD, at: str = "") -> Review:
    return Review(user=user, state=state, commit_id=commit, submitted_at=at or None)


def run(rule: Rule, *reviews: Review) -> tuple[list[str], list[str]]:
    """(logins whose approval counts, notes)."""
    decision = decide(rule, author=AUTHOR, head_sha=HEAD, access=WRITERS, reviews=list(reviews), teams=TEAMS)
    return [r.login for r in decision.received], list(decision.notes)


RISK = Rule(count=1, from_=("@acme/model-risk",))


def test_an_approval_from_a_team_member_counts() -> None:
    decision = decide(RISK, author=AUTHOR, head_sha=HEAD, access=WRITERS, teams=TEAMS,
                      reviews=[review("bob", at="2026-11-20T10:00:00Z")])
    assert decision.ok and decision.missing == 0
    [received] = decision.received
    assert (received.login, received.via, received.at, received.commit_id) == (
        "bob", "@acme/model-risk", "2026-11-20T10:00:00Z", HEAD)


def test_an_approval_from_outside_from_does_not_count() -> None:
    assert run(RISK, review("eve")) == (
        [], ["@eve approved but is not in @acme/model-risk"])


def test_users_in_from_with_or_without_at() -> None:
    rule = Rule(count=2, from_=("@bob", "erin"))
    assert run(rule, review("bob"), review("erin"), review("frank")) == (
        ["bob", "erin"], ["@frank approved but is not in @bob, erin"])


def test_the_first_handle_that_admits_a_reviewer_is_named() -> None:
    decision = decide(Rule(count=1, from_=("@Bob", "@acme/model-risk")), author=AUTHOR, head_sha=HEAD,
                      access=WRITERS,
                      reviews=[review("bob")], teams=TEAMS)
    assert decision.received[0].via == "@Bob"


def test_logins_and_handles_compare_case_insensitively() -> None:
    rule = Rule(count=3, from_=("@ACME/Model-Risk", "@Erin"))
    # Carol is listed as "Carol" in the team; she reviews as "carol"; Bob as "BOB"
    assert run(rule, review("carol"), review("BOB"), review("erin")) == (["carol", "BOB", "erin"], [])


def test_the_author_cannot_approve_their_own_pull_request() -> None:
    rule = Rule(count=1, from_=("@acme/fraud-ml",))
    assert run(rule, review("Alice")) == (
        [], ["@Alice is the PR's author: an author's own approval does not count (allow_author is false)"])


def test_allow_author_lets_the_author_approve() -> None:
    rule = Rule(count=1, from_=("@acme/fraud-ml",), allow_author=True)
    assert run(rule, review("alice")) == (["alice"], [])


def test_an_empty_from_admits_any_reviewer_but_the_author() -> None:
    received, notes = run(Rule(count=2), review("alice"), review("zed"))
    assert received == ["zed"]
    assert notes == ["@alice is the PR's author: an author's own approval does not count "
                     "(allow_author is false)"]
    decision = decide(Rule(count=1), author=AUTHOR, head_sha=HEAD, access=WRITERS, reviews=[review("zed")],
                      teams={})
    assert decision.received[0].via == ANY_REVIEWER


def test_a_stale_approval_does_not_count_with_dismiss_stale() -> None:
    assert run(RISK, review("bob", commit=OLD)) == (
        [], [f"@bob approved {OLD[:7]}, not the head commit {HEAD[:7]}: a stale approval does not count "
             "(dismiss_stale is true); approve again"])


def test_a_stale_approval_counts_without_dismiss_stale() -> None:
    rule = Rule(count=1, from_=("@acme/model-risk",), dismiss_stale=False)
    assert run(rule, review("bob", commit=OLD)) == (["bob"], [])


def test_approving_the_head_again_replaces_a_stale_approval() -> None:
    assert run(RISK, review("bob", commit=OLD), review("bob", commit=HEAD)) == (["bob"], [])


def test_a_comment_after_a_stale_approval_does_not_refresh_it() -> None:
    received, notes = run(RISK, review("bob", commit=OLD), review("bob", "COMMENTED", commit=HEAD))
    assert received == []
    assert "@bob approved b2b2b2b, not the head commit" in notes[0]


def test_changes_requested_after_an_approval_cancels_it() -> None:
    assert run(RISK, review("bob"), review("bob", "CHANGES_REQUESTED", at="2026-11-20T11:00:00Z")) == (
        [], ["@bob approved, then requested changes (2026-11-20T11:00:00Z): the approval no longer counts"])


def test_an_approval_after_changes_requested_counts() -> None:
    assert run(RISK, review("bob", "CHANGES_REQUESTED"), review("bob")) == (["bob"], [])


def test_changes_requested_alone_is_noted() -> None:
    assert run(RISK, review("bob"), review("carol", "CHANGES_REQUESTED")) == (
        ["bob"], ["@carol requests changes"])


def test_a_dismissed_review_counts_for_nothing() -> None:
    # GitHub turns a dismissed approval's state into DISMISSED
    assert run(RISK, review("bob", "DISMISSED", at="2026-11-20T12:00:00Z")) == (
        [], ["@bob's review was dismissed (2026-11-20T12:00:00Z): it counts for nothing; "
             "ask for a new review"])
    # and an older approval does not come back when the latest one is dismissed
    received, _ = run(RISK, review("bob"), review("bob", "DISMISSED"))
    assert received == []


def test_commented_and_pending_reviews_are_ignored() -> None:
    assert run(RISK, review("bob"), review("bob", "COMMENTED"), review("carol", "COMMENTED"),
               review("carol", "PENDING")) == (["bob"], [])


def test_an_unknown_state_is_not_an_approval() -> None:
    assert run(RISK, review("bob", "SHRUGGED")) == ([], ["@bob's review is SHRUGGED, not an approval"])


def test_a_deleted_account_does_not_count() -> None:
    assert run(Rule(count=1), review(None)) == ([], ["a review by a deleted account does not count"])


def test_one_reviewer_counts_once() -> None:
    decision = decide(Rule(count=2, from_=("@acme/model-risk",)), author=AUTHOR, head_sha=HEAD,
                      access=WRITERS,
                      reviews=[review("bob"), review("bob"), review("BOB")], teams=TEAMS)
    assert [r.login for r in decision.received] == ["BOB"]
    assert (decision.ok, decision.missing) == (False, 1)


def test_count_above_one() -> None:
    rule = Rule(count=2, from_=("@acme/model-risk",))
    one = decide(rule, author=AUTHOR, head_sha=HEAD, access=WRITERS, reviews=[review("bob")], teams=TEAMS)
    assert (one.ok, one.required, one.missing) == (False, 2, 1)
    two = decide(rule, author=AUTHOR, head_sha=HEAD, access=WRITERS, reviews=[review("bob"), review("carol")],
                 teams=TEAMS)
    assert (two.ok, two.missing) == (True, 0)


def test_count_zero_needs_nobody() -> None:
    assert decide(Rule(count=0), author=AUTHOR, head_sha=HEAD, access=WRITERS, reviews=[], teams={}).ok


def test_a_team_whose_members_were_not_fetched_admits_nobody() -> None:
    rule = Rule(count=1, from_=("@acme/unknown",))
    assert run(rule, review("bob")) == (
        [], ["members of @acme/unknown are unknown: none of them counts",
             "@bob approved but is not in @acme/unknown"])


def test_an_email_handle_admits_nobody() -> None:
    received, notes = run(Rule(count=1, from_=("bob@example.com",)), review("bob"))
    assert received == []
    assert notes[0] == ("bob@example.com is an e-mail address; reviews carry GitHub logins, "
                        "so it admits nobody")


# -- several requirements on one pull request --------------------------------------------------------


def requirement(model: str, alias: str, count: int, *handles: str, **flags: bool) -> Requirement:
    return Requirement(model=model, alias=alias, version_from=3, version_to=4, policy="high-risk",
                       count=count, from_=list(handles), **flags)


def test_two_rules_on_one_pull_request_and_a_reviewer_satisfying_both() -> None:
    production = requirement("fraud-detector", "production", 2, "@acme/model-risk")
    staging = requirement("churn", "staging", 1, "@acme/fraud-ml", "@bob")
    report = evaluate([production, staging], author=AUTHOR, head_sha=HEAD, access=WRITERS, teams=TEAMS,
                      reviews=[review("bob"), review("carol")])
    assert report.passed
    assert [[r.login for r in o.decision.received] for o in report.outcomes] == [["bob", "carol"], ["bob"]]
    assert [o.decision.received[0].via for o in report.outcomes] == ["@acme/model-risk", "@bob"]


def test_the_report_fails_when_one_rule_is_short() -> None:
    production = requirement("fraud-detector", "production", 2, "@acme/model-risk")
    staging = requirement("churn", "staging", 1)
    report = evaluate([production, staging], author=AUTHOR, head_sha=HEAD, access=WRITERS, teams=TEAMS,
                      reviews=[review("bob", at="2026-11-20T10:00:00Z"), review("alice")])
    assert not report.passed
    assert [o.ok for o in report.outcomes] == [False, True]
    data = report.to_dict()
    assert data["passed"] is False
    assert data["requirements"][0] == {
        "model": "fraud-detector", "alias": "production", "version_from": 3, "version_to": 4,
        "policy": "high-risk", "count": 2, "from": ["@acme/model-risk"], "allow_author": False,
        "dismiss_stale": True, "ok": False, "required": 2, "missing": 1,
        "received": [{"login": "bob", "at": "2026-11-20T10:00:00Z", "via": "@acme/model-risk",
                      "commit_id": HEAD}],
        "notes": ["@alice is the PR's author: an author's own approval does not count "
                  "(allow_author is false)"]}


def test_no_requirement_passes() -> None:
    report = evaluate([], author=AUTHOR, head_sha=HEAD, access=WRITERS, reviews=[], teams={})
    assert report.passed
    assert render.text(report) == (
        "✓ no alias move in this pull request needs approval (head a1a1a1a)")


def test_text_and_markdown_renderings() -> None:
    production = requirement("fraud-detector", "production", 2, "@acme/model-risk")
    new_alias = Requirement("churn", "champion", None, 2, "default", 1, [])
    report = evaluate([production, new_alias], author=AUTHOR, head_sha=HEAD, access=WRITERS, teams=TEAMS,
                      reviews=[review("bob", at="2026-11-20T10:00:00Z"), review("eve", commit=OLD)])
    assert render.text(report).splitlines() == [
        "✗ fraud-detector production v3 → v4 (policy high-risk): 1 of 2 approvals (2 from @acme/model-risk): "
        "@bob via @acme/model-risk at 2026-11-20T10:00:00Z; 1 missing",
        "    - @eve approved b2b2b2b, not the head commit a1a1a1a: a stale approval does not count "
        "(dismiss_stale is true); approve again",
        "✓ churn champion (new) → v2 (policy default): 1 of 1 approvals (1 from any reviewer other than "
        "the author): @bob via any reviewer at 2026-11-20T10:00:00Z",
        "    - @eve approved b2b2b2b, not the head commit a1a1a1a: a stale approval does not count "
        "(dismiss_stale is true); approve again",
        "✗ 1 of 2 approval requirements not met (head a1a1a1a)",
    ]
    md = render.markdown(report)
    assert md.startswith("## modelreg approvals: failed\n")
    assert ("| ❌ | fraud-detector | production | v3 → v4 | high-risk | 2 from `@acme/model-risk` | "
            "`@bob` via `@acme/model-risk` at 2026-11-20T10:00:00Z | 1 |") in md
    # handles in code spans, so a job summary or PR comment notifies nobody
    assert "- **fraud-detector production**: `@eve` approved b2b2b2b, not the head commit" in md


def test_markdown_keeps_hostile_text_in_its_cell() -> None:
    odd = Requirement("m", "production", 1, 2, "p|x", 1, [])
    md = render.markdown(evaluate([odd], author=AUTHOR, head_sha=HEAD, access=WRITERS, teams={},
                                            reviews=[review("bo`b\n| x")]))
    assert "| p\\|x |" in md
    assert "'b \\| x via any reviewer | 0 |" in md
    assert all(line.count("|") - line.count("\\|") in (0, 9) for line in md.splitlines())


# -- what the caller fetches --------------------------------------------------------------------------


def test_teams_needed_lists_each_team_once() -> None:
    reqs = [requirement("a", "production", 1, "@acme/model-risk", "@bob"),
            requirement("b", "production", 1, "@ACME/Model-Risk", "acme/fraud-ml"),
            requirement("c", "staging", 1)]
    assert teams_needed(reqs) == ["@acme/fraud-ml", "@acme/model-risk"]
    assert split_team("@acme/model-risk") == ("acme", "model-risk")
    with pytest.raises(ValueError, match="is not a team handle"):
        split_team("@bob")


def test_a_requirement_from_a_policy_approvals_block() -> None:
    block = Approvals.model_validate({"count": 2, "from": ["@acme/model-risk"], "allow_author": True})
    req = Requirement.from_approvals("fraud-detector", "production", 3, 4, "high-risk", block)
    assert req.rule == Rule(count=2, from_=("@acme/model-risk",), allow_author=True, dismiss_stale=True)


# -- who approved (history) and annotations -----------------------------------------------------------


def test_approvers_are_the_reviewers_whose_latest_decision_approves() -> None:
    reviews = [review("carol", at="2026-11-20T10:05:00Z"),
               review("bob", commit=OLD, at="2026-11-20T10:00:00Z"),
               review("carol", "CHANGES_REQUESTED", at="2026-11-20T10:06:00Z"),
               review("dave", "DISMISSED"), review("erin", "COMMENTED"), review(None),
               review("frank", "CHANGES_REQUESTED", at="2026-11-20T09:00:00Z"),
               review("frank", at="2026-11-20T11:00:00Z"),
               review("bob", "COMMENTED", at="2026-11-20T12:00:00Z")]
    # No rule: a stale approval is still an approval; the order is the order of approving.
    assert [(r.user, r.submitted_at) for r in approvers(reviews)] == [
        ("bob", "2026-11-20T10:00:00Z"), ("frank", "2026-11-20T11:00:00Z")]


def test_each_unmet_requirement_is_one_annotation() -> None:
    production = requirement("fraud-detector", "production", 2, "@acme/model-risk")
    staging = requirement("churn", "staging", 1)
    report = evaluate([production, staging], author=AUTHOR, head_sha=HEAD, access=WRITERS, teams=TEAMS,
                      reviews=[review("bob"), review("eve\n::add-mask::x 100%")])
    [line] = render.github_annotations(report)
    assert line.startswith("::error title=modelreg approvals::✗ fraud-detector production v3 → v4")
    assert "\n" not in line and "100%25" in line and "100%" not in line.replace("100%25", "")
    assert render.annotation("a\r\nb") == "::error title=modelreg approvals::a b"
