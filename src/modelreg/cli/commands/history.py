from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modelreg.cli.common import emit_json, forged_records, read_options, registry, table, warn
from modelreg.read.history import SOURCES

if TYPE_CHECKING:
    from modelreg.read.history import Event, History
    from modelreg.read.ledger_trust import Verdict


@click.command("history")
@click.argument("model")
@read_options
@click.option("--repo", metavar="OWNER/NAME",
              help="The GitHub repository of the pull requests (default: $GITHUB_REPOSITORY, else "
              "origin on github.com).")
@click.option("--offline", is_flag=True, help="Do not ask GitHub who approved each pull request.")
@click.option("--verify", is_flag=True, help="Check each ledger record's signature against the signers "
              "modelreg.yaml on main names (ledger: signers:).")
def command(model: str, at: str | None, as_json: bool, repo: str | None, offline: bool, verify: bool) -> None:
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

    With --verify, each ledger fact is marked by its record's signature,
    checked against the signers modelreg.yaml on main names (ledger:
    signers:): verified (the signature verifies, by an allowed signer, and
    the statement matches its line and git), unverified (not signed, or no
    signers named) or forged (a signature that does not verify, a signer not
    allowed, a statement that disagrees with the line or note it sits on).
    Without it, ledger facts say their signatures were not checked; in
    --json, each ledger fact has "signature" and "signature_detail". With
    --verify the exit code is 1 when any record is forged.

    \b
    Examples:
      modelreg history fraud-detector
      modelreg history fraud-detector --verify
      modelreg history fraud-detector --json
      GITHUB_TOKEN=$(gh auth token) modelreg history fraud-detector --repo acme/registry
      modelreg history fraud-detector --offline
    """
    events = registry(at).history(model, repo=repo, offline=offline, verify=verify)
    warn(events.warnings)
    verdicts = [e.signature for e in events if e.signature is not None]
    verdicts += [u.verdict for u in events.unmatched]
    if as_json:
        emit_json(events.to_json())
    else:
        _show(model, events, verify)
    if verify:
        forged_records(verdicts)


def _show(model: str, events: History, verify: bool) -> None:
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
        signed = f", {e.signature.state}" if e.signature is not None and verify else ""
        rows.append((e.date[:19].replace("T", " "), f"{what} [{e.marker()}{signed}]", e.commit[:10], e.author,
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
    _signatures([(e.describe_short(), e.signature) for e in events if e.signature is not None]
                + [(u.describe(), u.verdict) for u in events.unmatched], verify)


def _signatures(facts: list[tuple[str, Verdict]], verify: bool) -> None:
    """What the marks of the ledger's facts mean, and why each one not verified is so."""
    if not facts:
        return
    if not verify:
        click.echo("ledger records: signatures not checked (run with --verify)")
        return
    click.echo("ledger signatures: verified (signed by an allowed signer, and git bears it out), "
               "unverified (not signed, or no signers named), forged (does not verify, or not "
               "what was signed)")
    for what, verdict in facts:
        if verdict.state != "verified":
            click.echo(f"  {verdict.state}: {what}: {verdict.why}")


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
