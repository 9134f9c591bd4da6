"""Publishing a change to desired state: apply it, then branch, commit, push and open its pull request.

:func:`modelreg.write.transitions.apply` checks and writes (and commits); this
module adds what leaves the machine: pushing the branch to origin and opening
the pull request (through GitHub's REST API when a token is set, else with
``gh``), its body the gate report of that same check (the gates run once).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from pathlib import Path

from modelreg.edges import git
from modelreg.errors import GitError, NotFoundError, ServiceError
from modelreg.write.transitions import Applied, Edit, Planned, apply


def publish(root: Path, verb: str, edits: dict[str, Edit] | Planned, *, models: Sequence[str] = (),
            branch: str | None = None,
            commit: bool = False, push: bool = False, open_pr: bool = False, message: str | None = None,
            base: str | None = None, dry_run: bool = False) -> Applied:
    """Apply ``edits`` (see :func:`apply`); with ``push`` or ``open_pr``, on a branch (named for
    the change when ``branch`` is None) that is pushed to origin, and with ``open_pr`` proposed
    as a pull request (or, without ``gh``, with the URL that opens one in ``compare_url``)."""
    if (push or open_pr) and not branch:
        branch = branch_name(verb, list(models) if callable(edits) else list(edits))
    applied = apply(root, edits, verb=verb, base=base, branch=branch, commit=commit, message=message,
                    dry_run=dry_run, all_gates=open_pr)
    if not (applied.written and applied.branch and (push or open_pr)):
        return applied
    try:
        git.run(root, "push", "--quiet", "--set-upstream", "origin", applied.branch)
    except GitError as exc:
        raise GitError(f"committed {(applied.commit or '')[:12]} on branch {applied.branch} (you are on "
                       f"it), but the push failed: {exc.message}",
                       fix=f"push it with `git push -u origin {applied.branch}` once origin is "
                       "reachable") from exc
    applied.pushed = True
    if open_pr:
        _open(root, applied, base)
    return applied


def branch_name(verb: str, models: Sequence[str]) -> str:
    """``modelreg/promote-fraud``, ``modelreg/promote-churn-and-2-more``: the models a change edits."""
    first = sorted(models)[0]
    more = f"-and-{len(models) - 1}-more" if len(models) > 1 else ""
    return f"modelreg/{verb.split()[0]}-{first}{more}"


def _open(root: Path, applied: Applied, base: str | None) -> None:
    from modelreg.checks import report as render
    from modelreg.edges import github

    assert applied.report is not None and applied.branch is not None  # apply ran every gate
    into = base_branch(root, base)
    subject = git.run(root, "log", "-1", "--format=%s", applied.commit).strip() if applied.commit else ""
    title = subject or "modelreg change"
    body = render.markdown(applied.report)
    # GitHub's REST API with a token from the environment (what a workflow has), else `gh` (the
    # user's own login), else the URL that opens one by hand.
    repo = github.find_repo(str(root)) if github.token() else None
    if repo is not None:
        try:
            applied.pr_url = github.create_pull(repo, base=into, head=applied.branch, title=title, body=body)
        except ServiceError as exc:
            where = compare_url(root, into, applied.branch)
            raise ServiceError(f"pushed branch {applied.branch}, but the pull request was not opened: "
                               f"{exc.message}",
                               fix=f"{exc.fix + '; then ' if exc.fix else ''}open it by hand"
                               f"{f' at {where}' if where else ''}") from exc
    else:
        applied.pr_url = github.open_pull_request(str(root), base=into, head=applied.branch, title=title,
                                                  body=body)
    if applied.pr_url is None:
        applied.compare_url = compare_url(root, into, applied.branch)


def compare_url(root: Path, base: str, branch: str) -> str | None:
    """GitHub's page for opening a pull request from ``branch``, from the origin URL."""
    url = git.remote_url(root) or ""
    match = re.match(r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)"
                     r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$", url)
    if not match:
        return None
    return f"https://github.com/{match.group(1)}/{match.group(2)}/compare/{base}...{branch}?expand=1"


def base_branch(root: Path, base: str | None) -> str:
    """The branch a pull request would merge into: --base, else main or master."""
    if base:
        return base.removeprefix("origin/")
    with contextlib.suppress(NotFoundError):
        from modelreg.read.change import find_base

        return find_base(str(root), None)[0].removeprefix("origin/")
    return "main"
