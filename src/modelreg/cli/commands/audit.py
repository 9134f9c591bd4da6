from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modelreg.cli.common import emit_json, forged_records, registry, table, warn

if TYPE_CHECKING:
    from modelreg.read.audit import Trail


@click.command("audit")
@click.option("--since", metavar="DATE",
              help="From this date or time (ISO 8601, UTC unless a zone is given).")
@click.option("--until", metavar="DATE", help="Up to this date or time (a date: to the end of that day).")
@click.option("--model", metavar="NAME", help="One model only.")
@click.option("--github", is_flag=True, help="Ask GitHub's API for approvers the ledger does not hold "
              "(needs GITHUB_TOKEN).")
@click.option("--verify", is_flag=True, help="Check each ledger record's signature against the signers "
              "modelreg.yaml on main names (ledger: signers:).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per event), for a spreadsheet.")
def command(since: str | None, until: str | None, model: str | None, github: bool, verify: bool,
            as_json: bool, as_csv: bool) -> None:
    """Export the audit trail: registrations, promotions with their PR and approvers, deployments.

    Merges the first-parent git history of every model with the deployment
    ledger (git notes, refs/notes/modelreg; fetch them first with
    `git fetch origin refs/notes/modelreg:refs/notes/modelreg`).

    Every entry says where it comes from (the SOURCE column; in JSON
    `source` and `sources` per field; in CSV `source` and `approvers_source`):
    git (the change, its commit, author and time), github (approvers from
    GitHub's API) or ledger (deployments, approvers the deploy job recorded).
    A ledger record joins only when git bears out its whole move; any other
    is an `unmatched` entry saying why. Records on commits not on main, or
    with names the name rules refuse, are left out and counted in a warning
    (stderr; in --json, an item whose event is "warning").

    With --verify, every entry from the ledger carries its record's signature
    (the SIGNATURE column; in JSON and CSV `signature` and
    `signature_detail`), checked against the signers modelreg.yaml on main
    names: verified, unverified (not signed, or no signers named) or forged
    (does not verify, a signer not allowed, not what was signed), and the
    exit code is 1 when any is forged. Without it, they say "unchecked".

    \b
    Examples:
      modelreg audit --since 2026-10-01 --csv > audit.csv
      modelreg audit --verify --model fraud-detector
      modelreg audit --model fraud-detector --since 2026-11-01 --until 2026-11-30 --json
    """
    from modelreg.read.audit import to_csv

    if as_json and as_csv:
        raise click.UsageError("--json and --csv are exclusive")
    entries = registry().audit(since=since, until=until, model=model, github=github, verify=verify)
    warn(entries.warnings)
    if as_json:
        emit_json(entries.to_json())
    elif as_csv:
        click.echo(to_csv(entries), nl=False)
    elif not [e for e in entries if e.event != "ledger-lost"]:
        click.echo("Nothing in that period.")
    else:
        _show(entries, verify)
    if not as_json and not as_csv:
        for lost in (e for e in entries if e.event == "ledger-lost"):
            click.echo(f"{lost.environment}: {lost.detail}", err=True)
    if verify:
        forged_records([e.signature for e in entries if e.signature is not None])


def _show(entries: Trail, verify: bool) -> None:
    """The trail as a table, what its sources mean, and why each record not verified is so."""
    headers = ["time", "model", "event", "change", "env", "outcome", "pr", "approvers", "source"]
    click.echo(table(headers + (["signature"] if verify else []), [
        (e.time.replace("T", " ").rstrip("Z"), e.model, e.event,
         f"{e.alias + ': ' if e.alias else ''}{_v(e.before)} -> {_v(e.after)}", e.environment,
         e.outcome, f"#{e.pr}" if e.pr else None, _approvers(e), e.marker(),
         *([e.signature.state if e.signature is not None else None] if verify else []))
        for e in entries if e.event != "ledger-lost"]))
    from modelreg.read.history import SOURCES

    shown = sorted({part for e in entries if e.event != "ledger-lost" for part in e.marker().split("+")},
                   key=list(SOURCES).index)
    click.echo("source: " + "; ".join(f"{s}: {SOURCES[s]}" for s in shown))
    for entry in entries:
        if entry.event == "unmatched":
            click.echo(f"{entry.time} {entry.model}: {entry.detail}")
    signed = [e for e in entries if e.signature is not None]
    if signed and not verify:
        click.echo("signature: ledger records not checked (run with --verify)")
    for entry in signed if verify else []:
        if entry.signature is not None and entry.signature.state != "verified":
            click.echo(f"{entry.time} {entry.model} {entry.event}: signature {entry.signature.state}: "
                       f"{entry.signature.why}")


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "-"


def _approvers(entry: object) -> str | None:
    from modelreg.read.audit import Entry

    assert isinstance(entry, Entry)
    others = f" (not counted: {', '.join(entry.not_counted)})" if entry.not_counted else ""
    if entry.approvers:
        return ",".join(entry.approvers) + others
    if entry.approvers is not None and entry.not_counted is not None:  # counted: nobody's approval did
        return "nobody" + others
    return "unknown" if entry.event in ("alias", "deployment") else None
