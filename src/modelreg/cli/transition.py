"""What the commands that change desired state share: their options, and how a change is shown.

``promote``, ``rollback``, ``demote``, ``archive``, ``reject`` and ``describe`` call the
``Registry`` method of that name, which checks, writes, commits, pushes and
opens the pull request (``modelreg.write.publish``); this module prints what
changed and the next step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from modelreg.cli.common import emit_json
from modelreg.errors import GateError

if TYPE_CHECKING:
    from modelreg.write.transitions import Applied

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


def show(applied: Applied, as_json: bool) -> None:
    """Print what a change did and the next step (or its JSON)."""
    if as_json:
        emit_json(applied.to_dict())
        return
    for move in applied.moves:
        click.echo(move.describe())
    for change in applied.fields:
        click.echo(change.describe())
    click.echo(_next(applied))


@contextmanager
def findings_shown() -> Iterator[None]:
    """Print every finding of a refused change: the error line carries only the first."""
    try:
        yield
    except GateError as exc:
        if len(exc.findings) > 1:
            for finding in exc.findings:
                click.echo(str(finding), err=True)
        raise


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
