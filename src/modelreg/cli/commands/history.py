from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modelreg.cli.common import emit_json, read_options, registry, table, warn
from modelreg.read.history import SOURCES

if TYPE_CHECKING:
    from modelreg.read.history import Event


@click.command("history")
@click.argument("model")
@read_options
@click.option("--repo", metavar="OWNER/NAME",
              help="The GitHub repository of the pull requests (default: $GITHUB_REPOSITORY, else "
              "origin on github.com).")
@click.option("--offline", is_flag=True, help="Do not ask GitHub who approved each pull request.")
def command(model: str, at: str | None, as_json: bool, repo: str | None, offline: bool) -> None:
    """Every registration, alias move and deployment of MODEL, newest first.

    Reads the first-parent history of the current branch (or of --at REV):
    on main a merged pull request is one entry, with its PR number when the
    merge or squash commit message carries one.

    Who approved each pull request, and when, comes from GitHub's API
    (GITHUB_TOKEN; GITHUB_API_URL for GitHub Enterprise): the approvals that
    counted under the policy of the change (the approval check's rules), and
    apart, those that did not, with why (author, no write access, bot, ...).
    Without a token or a known repository, or when the API fails, the
    approvers are those the deploy job recorded in the ledger (git notes,
    refs/notes/modelreg), or unknown, with the reason; the history itself
    never fails for it. Deployments and their outcomes come from the ledger.

    Each row says where it comes from: git (the change, its commit, author
    and time), github (approvers from GitHub's API) or ledger (deployments,
    approvers the deploy job recorded). A ledger record joins only when git
    bears out its whole move (model, alias, from and to, commit, pull request,
    an environment that serves the alias there); any other is listed apart
    with why. Records on commits not on main, or with names no model, alias,
    environment or target may have, are left out and counted in a warning
    (stderr; in --json, an item of kind "warning").

    \b
    Examples:
      modelreg history fraud-detector
      modelreg history fraud-detector --json
      GITHUB_TOKEN=$(gh auth token) modelreg history fraud-detector --repo acme/registry
      modelreg history fraud-detector --offline
    """
    events = registry(at).history(model, repo=repo, offline=offline)
    warn(events.warnings)
    if as_json:
        emit_json(events.to_json())
        return
    if not events and not events.unmatched:
        click.echo(f"No committed history for {model} yet.")
        return
    rows = []
    for e in events:
        if e.kind == "alias":
            what = f"{e.alias}: {_v(e.previous)} -> {_v(e.version)}"
        elif e.kind == "deployment":
            what = f"deployed {_v(e.version)} to {e.environment}: {e.outcome}"
        else:
            what = f"{e.kind} {_v(e.version)}"
        rows.append((e.date[:19].replace("T", " "), f"{what} [{e.marker()}]", e.commit[:10], e.author,
                     f"#{e.pr}" if e.pr else "-", _approvers(e)))
    if rows:
        click.echo(table(["date", "change", "commit", "author", "pr", "approved by"], rows))
        shown = sorted({part for e in events for part in e.marker().split("+")}, key=list(SOURCES).index)
        click.echo("[source]: " + "; ".join(f"{s}: {SOURCES[s]}" for s in shown))
    if events.unmatched:
        click.echo(f"Unmatched ledger records (not attached: git does not bear out their move): "
                   f"{len(events.unmatched)}")
        for unmatched in events.unmatched:
            click.echo(f"  {unmatched.describe()}")
    notes = dict.fromkeys(e.approvers_note for e in events if e.pr and e.approvers_note)
    for note in notes:
        click.echo(f"approved by: {note}")


def _approvers(e: Event) -> str:
    if e.approvers is not None:
        counted = ", ".join(f"{a.login} {(a.at or '')[:16].replace('T', ' ')}".strip()
                            for a in e.approvers) or "nobody"
        others = ", ".join(f"{n.login} ({n.reason})" for n in e.not_counted or ())
        return f"{counted}; not counted: {others}" if others else counted
    if not e.pr:
        return "no PR"
    note = e.approvers_note or ""
    return "unknown offline" if note.startswith("unknown offline") else "unknown"


def _v(number: int | None) -> str:
    return f"v{number}" if number is not None else "(none)"
