"""The approval check of a pull request: which promotions it makes, and whether its reviews meet them.

The I/O around the pure decisions of ``approvals.py``. :func:`requirements`
reads git only: the desired state of HEAD against the merge base with the base
branch (``moves``), and for each alias moved to a version, the approval rule of
``promotion.<alias>.approvals`` in the policy that governs the model with that
version's tags. :func:`check` then asks GitHub (``github.py``) for the PR, its
reviews and the members of the teams the rules name, and only when some move is
gated: a PR that gates nothing makes no request at all.

What is gated, and why:

- an alias moved or set to a version, with a rule whose ``count`` is above 0;
  a removed alias serves nothing and needs no approval (as the rest of desired
  state: archiving, rejecting);
- the rule is read from the policy the PR would put in force and, for a model
  the base knows, from the one in force on the base (``policies.select.governing``,
  as the policy gate does). When the two rules differ, both must be met, so a PR
  cannot lower the bar for its own promotion (a weaker ``count``, another
  ``policy:`` in ``model.yaml``) and count its reviews against the lower one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelreg.approvals.rules import (
    ApprovalReport,
    Requirement,
    evaluate,
    split_team,
    teams_needed,
    to_verify,
)
from modelreg.edges import github
from modelreg.errors import InputError
from modelreg.formats import desired, documents, names
from modelreg.formats.models import Approvals, Policy
from modelreg.policies.select import governing, tags_of
from modelreg.read.change import Change

if TYPE_CHECKING:
    from modelreg.edges.github import Access, Client


@dataclass(frozen=True)
class RequiredApprovals:
    """The gated moves of HEAD against its base, and HEAD's commit."""

    requirements: tuple[Requirement, ...]
    head: str


def requirements(root: str, base_ref: str | None = None) -> RequiredApprovals:
    """The approval requirements of the alias moves HEAD makes against its merge base with
    ``base_ref`` (default: origin/main, else main).

    Raises InputError (file, line, field) when a ``model.yaml`` does not read or names a policy that
    does not exist: what cannot be read cannot be shown to need nothing.
    """
    with Change(root, base_ref, head=True) as change:
        return RequiredApprovals(tuple(requirements_of(change)), change.head.commit or "")


def requirements_of(ctx: Change) -> list[Requirement]:
    """The approval requirements of the alias moves of a change (a pull request's, or a merged one:
    ``merged.py``)."""
    found: list[Requirement] = []
    for model in ctx.changed_models:
        before, after = documents.desired(ctx.base, model), documents.desired(ctx.head, model)
        for move in desired.moves(before, after):
            if move.kind != "alias" or move.alias is None or move.after is None:
                continue  # a removed alias serves nothing: no approval
            version_doc = ctx.document(ctx.head, names.version_file(model, move.after)) or {}
            rules: list[Approvals] = []
            # the rules now, and those in force before when they differ
            for selected in governing(ctx, model, tags_of(version_doc), alias=move.alias):
                rule = _gated(selected.policy, move.alias)
                if rule is None or any(_same(rule, other) for other in rules):
                    continue
                rules.append(rule)
                found.append(Requirement.from_approvals(model, move.alias, move.before, move.after,
                                                        selected.name, rule))
    return found


def check(root: str, *, pr: int, repo: str | None = None, client: Client | None = None,
          base_ref: str | None = None) -> ApprovalReport:
    """The approval report of pull request ``pr`` of ``repo`` (default: $GITHUB_REPOSITORY, else
    origin on github.com), HEAD being its checkout.

    The PR's author and head commit (for stale approvals) come from GitHub, not from
    the checkout: under Actions HEAD is a merge commit. Raises ServiceError on any
    failure of GitHub's API: a failure is never read as "no reviews".
    """
    found = requirements(root, base_ref)
    where = github.find_repo(root, repo) if found.requirements else ""
    if where is None:
        raise InputError("which GitHub repository?", field="--repo",
                         fix="pass --repo OWNER/NAME (under GitHub Actions $GITHUB_REPOSITORY says it)")
    return decide(found.requirements, pr=pr, repo=where, client=client or github.Client(), head=found.head)


def decide(requirements: Sequence[Requirement], *, pr: int, repo: str, client: Client,
           head: str = "", access: dict[str, Access | None] | None = None) -> ApprovalReport:
    """Fetch what ``requirements`` need from GitHub and decide them; nothing is fetched for none.

    ``access``: the permissions already looked up in this run (login in lower case → its
    access, None for no such account), completed here: one request per person per run."""
    if not requirements:
        return ApprovalReport(author="", head_sha=head, outcomes=())
    pull = client.pull(repo, pr)
    reviews = client.reviews(repo, pr)
    teams = {handle: client.team_members(*split_team(handle)) for handle in teams_needed(requirements)}
    known = access if access is not None else {}
    for login in to_verify(requirements, author=pull.author, head_sha=pull.head_sha, reviews=reviews,
                           teams=teams):
        if login not in known and github.LOGIN.fullmatch(login):
            known[login] = client.permission(repo, login)  # a failure raises: never counted unchecked
    return evaluate(requirements, author=pull.author, head_sha=pull.head_sha, reviews=reviews,
                    teams=teams, access=known)


def _gated(policy: Policy, alias: str) -> Approvals | None:
    """The alias's approval rule in ``policy``; None when there is none or it asks for 0."""
    rule = policy.promotion.get(alias)
    return rule.approvals if rule is not None and rule.approvals.count > 0 else None


def _same(a: Approvals, b: Approvals) -> bool:
    def key(x: Approvals) -> tuple[int, frozenset[str], bool, bool]:
        return (x.count, frozenset(h.lstrip("@").lower() for h in x.from_), x.allow_author, x.dismiss_stale)

    return key(a) == key(b)


@dataclass(frozen=True)
class EventInfo:
    """What a GitHub Actions event file says about the pull request it is for."""

    pr: int | None
    base_ref: str | None
    #: a merge queue's group: its pull requests each passed the check before they were queued
    merge_group: bool = False


def read_event(path: str) -> EventInfo:
    """The PR number (``pull_request.number``) and base branch (``pull_request.base.ref``) of an
    event file ($GITHUB_EVENT_PATH); for a ``merge_group`` event, no PR and ``merge_group``."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", file=path,
                         fix="pass --pr N, or --event with the event file of the workflow run") from exc
    except ValueError as exc:
        raise InputError(f"is not JSON: {exc}", file=path, fix="pass the event file GitHub wrote "
                         "($GITHUB_EVENT_PATH), or --pr N") from exc
    pull = data.get("pull_request") if isinstance(data, dict) else None
    if not isinstance(pull, dict):
        merge_group = isinstance(data, dict) and isinstance(data.get("merge_group"), dict)
        return EventInfo(None, None, merge_group=merge_group)
    number = pull.get("number")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise InputError(f"is not a pull request number: {number!r}", file=path,
                         field="pull_request.number", fix="pass --pr N")
    base = pull.get("base")
    ref = base.get("ref") if isinstance(base, dict) else None
    return EventInfo(number, ref if isinstance(ref, str) and ref else None)
