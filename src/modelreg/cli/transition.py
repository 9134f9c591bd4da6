"""What the commands that change desired state share: their options, and how a change is shown.

``promote``, ``rollback``, ``demote``, ``archive`` and ``reject`` compute new
desired states (``modelreg.write.transitions``); this module applies them with the
user's choice of branch, commit, push and pull request, and prints what
changed and the next step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from modelreg.cli.common import emit_json, registry
from modelreg.errors import GateError, GitError

if TYPE_CHECKING:
    from modelreg.write.transitions import Applied, Edit

F = TypeVar("F", bound=Callable[..., Any])


def options(func: F) -> F:
    """--branch, --commit, --push, --open-pr, --message, --base, --dry-run, --json."""
    for decorator in reversed([
        click.option("--branch", metavar="NAME", help="Create this branch and commit the change on it."),
        click.option("--commit", is_flag=True, help="Commit the change on the current branch."),
        click.option("--push", is_flag=True, help="Push the branch to origin (implies --branch; one is "
                     "named for you when omitted)."),
        click.option("--open-pr", is_flag=True, help="Push, then open the pull request with `gh` (its body "
                     "is the gate report); without gh, print the URL to open it."),
        click.option("--message", "-m", metavar="TEXT", help="Commit message (default: what changed)."),
        click.option("--base", metavar="REF", help="The branch the change will merge into "
                     "(default: origin/main, else main): its history decides stage order and soak."),
        click.option("--dry-run", is_flag=True, help="Check the change and show it; write nothing."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]):
        func = decorator(func)
    return func


def run(verb: str, edits: dict[str, Edit], *, branch: str | None, commit: bool, push: bool,
        open_pr: bool, message: str | None, base: str | None, dry_run: bool, as_json: bool) -> None:
    from modelreg.write import transitions

    root = registry().root
    if (push or open_pr) and not branch:
        branch = _branch_name(verb, edits)
    try:
        applied = transitions.apply(root, edits, verb=verb, base=base, branch=branch, commit=commit,
                                    message=message, dry_run=dry_run, every_gate=open_pr)
    except GateError as exc:
        if len(exc.findings) > 1:  # the error line carries the first
            for finding in exc.findings:
                click.echo(str(finding), err=True)
        raise
    if applied.written and applied.branch and (push or open_pr):
        try:
            transitions.push(root, applied.branch)
        except GitError as exc:
            raise GitError(f"committed {(applied.commit or '')[:12]} on branch {applied.branch} (you are on "
                           f"it), but the push failed: {exc.message}",
                           fix=f"push it with `git push -u origin {applied.branch}` once origin is "
                           "reachable") from exc
        applied.pushed = True
        if open_pr:
            _open(root, applied, base)
    if as_json:
        emit_json(applied.to_dict())
        return
    for move in applied.moves:
        click.echo(move.describe())
    click.echo(_next(applied))


def _branch_name(verb: str, edits: dict[str, Edit]) -> str:
    first = sorted(edits)[0]
    more = f"-and-{len(edits) - 1}-more" if len(edits) > 1 else ""
    return f"modelreg/{verb.split()[0]}-{first}{more}"


def _open(root: Path, applied: Applied, base: str | None) -> None:
    from modelreg.checks import report as render
    from modelreg.edges import github
    from modelreg.write import transitions

    into = transitions.base_branch(root, base)
    body = render.markdown(applied.report)  # the gates ran once, on the change as committed
    title = (applied.commit and _subject(root, applied.commit)) or "modelreg change"
    applied.pr_url = github.open_pull_request(str(root), base=into, head=str(applied.branch), title=title,
                                              body=body)
    if applied.pr_url is None:
        applied.compare_url = transitions.compare_url(root, into, str(applied.branch))


def _subject(root: Path, commit: str) -> str:
    from modelreg.edges import git

    return git.run(root, "log", "-1", "--format=%s", commit).strip()


def _next(applied: Applied) -> str:
    if not applied.written:
        return "Dry run: the gates pass; nothing was written."
    if applied.pr_url:
        return f"Opened {applied.pr_url}. Next: the approval check waits for the reviews the policy asks for."
    if applied.pushed:
        where = applied.compare_url or "your git host"
        return (f"Pushed {applied.branch} ({(applied.commit or '')[:12]}). Next: open a pull request at "
                f"{where} (or install `gh` and use --open-pr).")
    if applied.commit:
        on = f" on branch {applied.branch}" if applied.branch else ""
        return f"Committed {applied.commit[:12]}{on}. Next: push it and open a pull request."
    files = " ".join(applied.files)
    return f"Wrote {files}. Next: commit it on a branch and open a pull request (or use --branch/--push)."
