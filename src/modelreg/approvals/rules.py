"""Whether a pull request's reviews meet the approval rules of the promotions it makes.

Pure decisions, no I/O: the caller fetches the PR, its reviews (``github.py``) and the
members of the teams that :func:`teams_needed` lists, then calls :func:`evaluate`.

The semantics are GitHub's own, so the check agrees with what reviewers see on the PR:

- each reviewer's latest review that is not COMMENTED or PENDING decides for them;
- a DISMISSED review counts for nothing, and CHANGES_REQUESTED after APPROVED cancels it;
- with ``dismiss_stale`` only an approval of the PR's head commit counts;
- the author's own approval counts only with ``allow_author``;
- logins and handles compare case-insensitively;
- an empty ``from`` admits any person with write access to the repository (GitHub's own rule for
  required reviews: admin, maintain or write), never an app's account (a bot) nor a deleted one;
  naming an account or a team in ``from`` admits it whatever its permission or type. The caller
  looks the permissions up (:func:`to_verify` says whose); a reviewer whose permission is not
  given is never counted: what was not checked does not count.

Every review that does not count gets a note saying why, so a failed check tells the
reviewers what to do next.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelreg.edges import github
from modelreg.read.history import NotCounted

if TYPE_CHECKING:
    from modelreg.edges.github import Access, Review
    from modelreg.formats.models import Approvals

#: what ``via`` says when an empty ``from`` admitted the reviewer
ANY_REVIEWER = "any reviewer"

# Why an approval did not count, in a word or three: what history, the audit, the site and the
# ledger show beside the approvals that did (the reports' notes say it in full, with the fix).
AUTHOR = "author"
STALE = "approved an older commit"
DELETED = "account deleted"
BOT = "bot"
NO_WRITE = "no write access"
UNVERIFIED = "access not verified"
NOT_IN_FROM = "not in required team"


@dataclass(frozen=True)
class Rule:
    """An approval rule as a policy states it (``promotion.<alias>.approvals``)."""

    count: int = 1
    from_: tuple[str, ...] = ()
    allow_author: bool = False
    dismiss_stale: bool = True

    def describe(self) -> str:
        """``2 from @acme/model-risk`` or ``1 from any reviewer other than the author``."""
        who = ", ".join(self.from_) if self.from_ else (
            ANY_REVIEWER if self.allow_author else "any reviewer other than the author")
        return f"{self.count} from {who}"


@dataclass(frozen=True)
class Requirement:
    """One alias move in a PR, and the approvals its policy asks for."""

    model: str
    alias: str
    version_from: int | None  # None: the alias is new
    version_to: int
    policy: str
    count: int
    from_: list[str] = field(default_factory=list)
    allow_author: bool = False
    dismiss_stale: bool = True

    @classmethod
    def from_approvals(cls, model: str, alias: str, version_from: int | None, version_to: int,
                       policy: str, approvals: Approvals) -> Requirement:
        """From a policy's parsed ``approvals`` block."""
        return cls(model, alias, version_from, version_to, policy, approvals.count,
                   list(approvals.from_), approvals.allow_author, approvals.dismiss_stale)

    @property
    def rule(self) -> Rule:
        return Rule(self.count, tuple(self.from_), self.allow_author, self.dismiss_stale)

    @property
    def change(self) -> str:
        """``v3 → v4``, or ``(new) → v4``."""
        before = f"v{self.version_from}" if self.version_from is not None else "(new)"
        return f"{before} → v{self.version_to}"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "alias": self.alias, "version_from": self.version_from,
                "version_to": self.version_to, "policy": self.policy, "count": self.count,
                "from": list(self.from_), "allow_author": self.allow_author,
                "dismiss_stale": self.dismiss_stale}


@dataclass(frozen=True)
class Received:
    """An approval that counts: who, when, of which commit, admitted by which handle of ``from``."""

    login: str
    at: str | None
    via: str
    commit_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"login": self.login, "at": self.at, "via": self.via, "commit_id": self.commit_id}


@dataclass(frozen=True)
class Decision:
    required: int
    received: tuple[Received, ...]
    notes: tuple[str, ...]
    #: the approvals that did not count (reviews that did not approve are not approvals: only notes)
    not_counted: tuple[NotCounted, ...] = ()

    @property
    def missing(self) -> int:
        return max(0, self.required - len(self.received))

    @property
    def ok(self) -> bool:
        return self.missing == 0

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "required": self.required,
                "received": [r.to_dict() for r in self.received], "missing": self.missing,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class RequirementOutcome:
    requirement: Requirement
    decision: Decision

    @property
    def ok(self) -> bool:
        return self.decision.ok

    def to_dict(self) -> dict[str, Any]:
        return {**self.requirement.to_dict(), **self.decision.to_dict()}


@dataclass(frozen=True)
class ApprovalReport:
    """Every requirement of one PR, decided against one list of reviews."""

    author: str
    head_sha: str
    outcomes: tuple[RequirementOutcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.ok for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "author": self.author, "head_sha": self.head_sha,
                "requirements": [o.to_dict() for o in self.outcomes]}


def evaluate(requirements: Iterable[Requirement], *, author: str, head_sha: str,
             reviews: Sequence[Review], teams: Mapping[str, Collection[str]],
             access: Mapping[str, Access | None] | None = None) -> ApprovalReport:
    """Decide every requirement against the same reviews: one reviewer may satisfy several."""
    outcomes = tuple(RequirementOutcome(r, decide(r.rule, author=author, head_sha=head_sha, reviews=reviews,
                                                  teams=teams, access=access))
                     for r in requirements)
    return ApprovalReport(author, head_sha, outcomes)


def decide(rule: Rule, *, author: str, head_sha: str, reviews: Sequence[Review],
           teams: Mapping[str, Collection[str]],
           access: Mapping[str, Access | None] | None = None) -> Decision:
    """Which reviews count toward ``rule``, and a note for each that does not.

    ``reviews`` are in GitHub's order (oldest first); ``teams`` maps team handles
    (``@org/team``) to their members' logins; ``access`` maps the logins :func:`to_verify`
    lists (lower case) to their permission on the repository, None for an account that no
    longer exists. A reviewer it does not hold (all of them without ``access``) is not counted.
    """
    access = access if access is not None else {}
    members = {_norm(handle): {login.lower() for login in logins} for handle, logins in teams.items()}
    notes: list[str] = []
    for handle in rule.from_:
        if _is_team(handle) and _norm(handle) not in members:
            notes.append(f"members of {handle} are unknown: none of them counts")
        elif _is_email(handle):
            notes.append(f"{handle} is an e-mail address; reviews carry GitHub logins, so it admits nobody")
    latest, approved_before, deleted = github.latest_decisions(reviews)
    not_counted = [NotCounted(r.user or github.GHOST, r.submitted_at, r.commit_id, DELETED)
                   for r in reviews if r.state == "APPROVED" and github.is_deleted(r.user)]
    if deleted:
        notes.append("a review by a deleted account does not count")
    received = []
    for login, review in latest.items():
        reason, why_not = _why_not(rule, review, author=author, head_sha=head_sha,
                                   approved_before=login in approved_before)
        via = None
        if not why_not:
            via = _admitted_by(rule, login, members)
            if via is None:
                reason = NOT_IN_FROM
                why_not = f"@{review.user} approved but is not in {', '.join(rule.from_)}"
            elif via == ANY_REVIEWER:
                reason, why_not = _why_not_anyone(review, access)
        if reason:
            not_counted.append(NotCounted(str(review.user), review.submitted_at, review.commit_id, reason))
        if why_not:
            notes.append(why_not)
        elif via is not None:
            received.append(Received(str(review.user), review.submitted_at, via, review.commit_id))
    return Decision(rule.count, tuple(received), tuple(notes), tuple(not_counted))


def _why_not(rule: Rule, review: Review, *, author: str, head_sha: str,
             approved_before: bool) -> tuple[str, str]:
    """(reason, note) when this deciding review does not count; ("", "") when it may. The reason
    is empty for a review that is no approval (it is not listed among the approvals)."""
    who, at = f"@{review.user}", f" ({review.submitted_at})" if review.submitted_at else ""
    if review.state == "DISMISSED":
        return "", f"{who}'s review was dismissed{at}: it counts for nothing; ask for a new review"
    if review.state == "CHANGES_REQUESTED":
        if approved_before:
            return "", f"{who} approved, then requested changes{at}: the approval no longer counts"
        return "", f"{who} requests changes{at}"
    if review.state != "APPROVED":
        return "", f"{who}'s review is {review.state}, not an approval"
    if str(review.user).lower() == author.lower() and not rule.allow_author:
        return AUTHOR, (f"{who} is the PR's author: an author's own approval does not count "
                        "(allow_author is false)")
    if rule.dismiss_stale and (review.commit_id or "").lower() != head_sha.lower():
        old = (review.commit_id or "an unknown commit")[:7]
        return STALE, (f"{who} approved {old}, not the head commit {head_sha[:7]}: a stale approval does "
                       "not count (dismiss_stale is true); approve again")
    return "", ""


def _why_not_anyone(review: Review, access: Mapping[str, Access | None]) -> tuple[str, str]:
    """(reason, note) when an approval that no handle of ``from`` names does not count: GitHub's
    own rule, a person's with write access; ("", "") when it counts."""
    login = str(review.user)
    who = f"@{login}"
    named = "name it in the rule's `from` to count it"
    if github.is_bot(login, review.user_type):
        return BOT, f"{who} is an app's account (a bot), not a person: it does not count; {named}"
    key = login.lower()
    if key not in access:
        return UNVERIFIED, (f"{who}'s permission on the repository was not checked: the approval "
                            "does not count")
    found = access[key]
    if found is None:
        return DELETED, f"{who}'s account no longer exists (GitHub knows no such user): it does not count"
    if found.user_type == "Bot":
        return BOT, f"{who} is an app's account (a bot), not a person: it does not count; {named}"
    if not found.can_write:
        role = found.role_name or found.permission
        return NO_WRITE, (f"{who} has {role} access to the repository, not write: only an approval by "
                          f"someone with write access counts (GitHub's rule); grant write access or {named}")
    return "", ""


def to_verify(requirements: Iterable[Requirement], *, author: str, head_sha: str,
              reviews: Sequence[Review], teams: Mapping[str, Collection[str]]) -> list[str]:
    """The logins (lower case, sorted) whose permission decides whether their approval counts:
    those an empty ``from`` would admit, once each. Nobody else needs a request."""
    members = {_norm(handle): {login.lower() for login in logins} for handle, logins in teams.items()}
    latest, approved_before, _ = github.latest_decisions(reviews)
    found: set[str] = set()
    for requirement in requirements:
        rule = requirement.rule
        for login, review in latest.items():
            _, why_not = _why_not(rule, review, author=author, head_sha=head_sha,
                                  approved_before=login in approved_before)
            if not why_not and _admitted_by(rule, login, members) == ANY_REVIEWER \
                    and not github.is_bot(login, review.user_type):
                found.add(login)
    return sorted(found)


def _admitted_by(rule: Rule, login: str, members: Mapping[str, set[str]]) -> str | None:
    """The first handle of ``from`` that admits ``login`` (lower case), or None."""
    if not rule.from_:
        return ANY_REVIEWER
    for handle in rule.from_:
        key = _norm(handle)
        if _is_team(handle):
            if login in members.get(key, ()):
                return handle
        elif key == login:  # an e-mail handle never equals a login: logins have no "@"
            return handle
    return None


def teams_needed(requirements: Iterable[Requirement]) -> list[str]:
    """The team handles (``@org/team``) whose members the requirements need, each once, sorted."""
    found: dict[str, str] = {}
    for requirement in requirements:
        for handle in requirement.from_:
            if _is_team(handle):
                found.setdefault(_norm(handle), "@" + handle.lstrip("@"))
    return [found[key] for key in sorted(found)]


def split_team(handle: str) -> tuple[str, str]:
    """``@org/team`` → (org, team slug)."""
    org, _, slug = handle.lstrip("@").partition("/")
    if not org or not slug:
        raise ValueError(f"{handle!r} is not a team handle (@org/team)")
    return org, slug


def _norm(handle: str) -> str:
    return handle.lstrip("@").lower()


def _is_team(handle: str) -> bool:
    return "/" in handle


def _is_email(handle: str) -> bool:
    return "@" in handle.lstrip("@")
