"""Whose approval of a merged change counted: what history, the audit and the deploy job's
ledger record show as its approvers, the others listed apart with why.

The approval check (``pull_request.py``) decides a pull request before it merges; this
asks the same question of one merged already, with the same decision (``rules.py``):

- an alias move is counted under the rules in force at its merge, as the check applied them:
  the policy at the merge commit and, when it differs, the one on main before it
  (``pull_request``'s requirements of the merge against its first parent);
- a change no rule gates (a registration, an archive, an alias the policy gives no
  ``approvals``) is read by GitHub's own rule for reviews: any person with write access other
  than the author, an approval of an earlier commit included (GitHub counts those unless its
  branch rule dismisses them).

The pull request's author and head commit, its reviews, the teams' members and each
reviewer's permission come from GitHub's API, each asked once per run, and only when a token
is set and the repository is known. Otherwise, or when the API fails (the first failure stops
the lookups: a GitHub that is down costs one timeout, not one per pull request), the approvers
are unknown and a note says why: history is a read and never fails for GitHub. The GitHub
client and the rules are imported only when GitHub is asked, so a history without a token
stays as fast as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from modelreg.edges import git
from modelreg.errors import InputError, ModelregError
from modelreg.read.history import GITHUB, NO_PR, Approver, Event, NotCounted, pr_number

if TYPE_CHECKING:
    from modelreg.approvals.rules import ApprovalReport, Requirement
    from modelreg.edges.github import Access, Client, PullRequest, Review

#: where the token is read from (github.TOKEN_ENV: github.py is imported only when it is set)
_TOKEN_ENV = "GITHUB_TOKEN"
#: what a change no rule gates is read by (a requirement of nothing: it only says who counts)
NO_RULE = "(no rule: GitHub's)"


@dataclass(frozen=True)
class Counted:
    """The pull request of a change, whose approvals counted and whose did not; ``approvers``
    None when unknown (``note`` says why)."""

    pr: int | None
    approvers: tuple[Approver, ...] | None
    not_counted: tuple[NotCounted, ...] | None = None
    note: str | None = None


class Lookup:
    """One run's questions to GitHub about merged changes, each asked once."""

    def __init__(self, root: str, *, repo: str | None = None, offline: bool = False,
                 blobs: git.BlobReader | None = None) -> None:
        self.root = root
        self._blobs = blobs
        self._repo = repo
        self._client: Client | None = None
        self._where: str | None = None
        #: why GitHub cannot (or can no longer) be asked; None while it can
        self.note: str | None = self._why_offline(offline)
        self._pulls: dict[int, tuple[PullRequest, list[Review]]] = {}
        self._teams: dict[str, set[str]] = {}
        self._access: dict[str, Access | None] = {}
        self._requirements: dict[str, list[Requirement]] = {}

    def _why_offline(self, offline: bool) -> str | None:
        if offline:
            return "unknown offline: GitHub was not asked (--offline)"
        if not os.environ.get(_TOKEN_ENV):
            return (f"unknown offline: set {_TOKEN_ENV} to a token that can read the repository's pull "
                    "requests to ask GitHub")
        return None

    def of(self, commit: str, pr: int | None, move: tuple[str, str, int | None] | None = None) -> Counted:
        """Who approved ``pr`` (the pull request ``commit`` merged), counted under the rules of
        ``move`` (model, alias, version) at that commit; under GitHub's own without a move."""
        if pr is None:
            return Counted(None, None, None, NO_PR)
        if self.note is not None:
            return Counted(pr, None, None, self.note)
        try:
            client, where = self._github()  # a malformed --repo raises: it is the caller's mistake
        except _Offline as exc:
            self.note = str(exc)
            return Counted(pr, None, None, self.note)
        try:
            requirements = self._rules(commit, move)
        except InputError as exc:  # the policy of that commit does not read: who counted is unknown
            return Counted(pr, None, None,
                           f"unknown: the approval rules at {commit[:10]} do not read ({exc})")
        try:
            return self._count(client, where, pr, requirements)
        except ModelregError as exc:  # history is a read: GitHub down is a note, not a failure
            self.note = f"unknown: GitHub's API could not be asked ({exc})"
            return Counted(pr, None, None, self.note)

    # -- the rules of a merged move ----------------------------------------------------------------

    def _rules(self, commit: str, move: tuple[str, str, int | None] | None) -> list[Requirement]:
        from modelreg.approvals.rules import Requirement

        found = []
        if move is not None:
            model, alias, version = move
            found = [r for r in self._merge_requirements(commit)
                     if (r.model, r.alias, r.version_to) == (model, alias, version)]
        return found or [Requirement(model=move[0] if move else "", alias=move[1] if move else "",
                                     version_from=None, version_to=0, policy=NO_RULE, count=0,
                                     allow_author=False, dismiss_stale=False)]

    def _merge_requirements(self, commit: str) -> list[Requirement]:
        if commit not in self._requirements:
            from modelreg.approvals.pull_request import requirements_of
            from modelreg.read.change import Change

            parent = git.first_parents(self.root, [commit]).get(commit)
            label = f"{parent[:10]}, before the merge" if parent else "nothing, before the first commit"
            with Change.between(self.root, parent, commit, label=label, blobs=self._blobs) as change:
                self._requirements[commit] = requirements_of(change)
        return self._requirements[commit]

    # -- GitHub ------------------------------------------------------------------------------------

    def _github(self) -> tuple[Client, str]:
        from modelreg.edges import github

        if self._client is None:
            where = github.find_repo(self.root, self._repo)
            if where is None:
                raise _Offline("unknown offline: no GitHub repository known (origin is not on github.com); "
                               f"pass --repo OWNER/NAME or set {github.REPOSITORY_ENV}")
            self._client, self._where = github.Client(), where
        assert self._where is not None
        return self._client, self._where

    def _count(self, client: Client, where: str, pr: int, requirements: list[Requirement]) -> Counted:
        from modelreg.approvals.rules import evaluate, split_team, teams_needed, to_verify
        from modelreg.edges import github

        if pr not in self._pulls:
            reviews = client.reviews(where, pr)
            self._pulls[pr] = (client.pull(where, pr), reviews)
        pull, reviews = self._pulls[pr]
        for handle in teams_needed(requirements):
            if handle not in self._teams:
                self._teams[handle] = client.team_members(*split_team(handle))
        teams = {handle: self._teams[handle] for handle in teams_needed(requirements)}
        for login in to_verify(requirements, author=pull.author, head_sha=pull.head_sha, reviews=reviews,
                               teams=teams):
            if login not in self._access and github.LOGIN.fullmatch(login):
                self._access[login] = client.permission(where, login)
        report = evaluate(requirements, author=pull.author, head_sha=pull.head_sha, reviews=reviews,
                          teams=teams, access=self._access)
        return _split(pr, report)


def _split(pr: int, report: ApprovalReport) -> Counted:
    """The approvals that counted for a move, and the others with why. A move has one rule, or two
    when its merge changed the policy (both had to be met): an approval counts when a rule counted
    it and no rule refused it for what it is (the author's, stale, a bot's...); one rule's ``from``
    not naming the reviewer refuses nothing, another rule may name them."""
    from modelreg.approvals.rules import NOT_IN_FROM

    refused: dict[str, NotCounted] = {}
    others: dict[tuple[str, str | None], NotCounted] = {}
    for outcome in report.outcomes:
        for n in outcome.decision.not_counted:
            if n.reason != NOT_IN_FROM:
                refused.setdefault(n.login.lower(), n)
                others[(n.login.lower(), n.at)] = n
            else:
                others.setdefault((n.login.lower(), n.at), n)
    counted: dict[str, Approver] = {}
    for outcome in report.outcomes:
        for r in outcome.decision.received:
            if r.login.lower() not in refused:
                counted.setdefault(r.login.lower(), Approver(r.login, r.at, r.commit_id))
    shown = [n for (login, _), n in others.items() if login not in counted]
    return Counted(pr, tuple(sorted(counted.values(), key=lambda a: a.at or "")),
                   tuple(sorted(shown, key=lambda n: n.at or "")))


class _Offline(Exception):
    """GitHub cannot be asked (no repository known): a note, not an error."""


def with_counted(root: str, model: str, events: list[Event], *, repo: str | None = None,
                 offline: bool = False, blobs: git.BlobReader | None = None) -> list[Event]:
    """``model``'s ``events`` with whose approval counted for each (an alias move under its
    policy, any other change under GitHub's own rule) and whose did not; or why that is unknown."""
    lookup = Lookup(root, repo=repo, offline=offline, blobs=blobs)
    out = []
    for event in events:
        move = (model, str(event.alias), event.version) if event.kind == "alias" else None
        found = lookup.of(event.commit, event.pr, move)
        out.append(replace(event, approvers=found.approvers, not_counted=found.not_counted,
                           approvers_note=found.note,
                           approvers_source=GITHUB if found.approvers is not None else None))
    return out


def approvals(root: str, commits: list[str], *, repo: str | None = None,
              offline: bool = False) -> dict[str, Counted]:
    """Commit → the pull request its subject names and whose approval counted under GitHub's own
    rule (no move named: :meth:`Lookup.of` counts a move under its policy)."""
    lookup = Lookup(root, repo=repo, offline=offline)
    subjects = git.subjects(root, commits)
    return {c: lookup.of(c, pr_number(subjects.get(c, ""))) for c in commits}
