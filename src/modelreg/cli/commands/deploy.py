from __future__ import annotations

import click

from modelreg.cli.common import emit_json, registry


@click.command("deploy")
@click.option("--after", metavar="SHA",
              help="The commit to deploy (default: HEAD; on a push: the event's after).")
@click.option("--before", metavar="SHA",
              help="The commit before the push (default: the first parent of --after).")
@click.option("--env", "only", metavar="NAME", help="Deploy to this environment only.")
@click.option("--dry-run", is_flag=True, help="Print the plan; fetch, activate and record nothing.")
@click.option("--push-ledger", is_flag=True,
              help="Fetch the ledger from origin first and push it after (what the deploy workflow does).")
@click.option("--offline", is_flag=True,
              help="Do not fetch origin's main first: trust origin/main as last fetched (said so).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(after: str | None, before: str | None, only: str | None, dry_run: bool, push_ledger: bool,
            offline: bool, as_json: bool) -> None:
    """Deploy the aliases that moved between two commits to the environments that serve them.

    For each alias a push moved, and each environment in modelreg.yaml that
    serves that alias: fetch the artifact through DVC, verify its sha256,
    activate it on every target (all or none: a target that fails switches the
    others back), and record the attempt in the ledger (git notes,
    refs/notes/modelreg). Main is origin's, fetched first: the commit must be
    its tip, and a target that records a newer deployment is not moved back.
    Running it again is a no-op once every target that can show its bytes
    hashes them to the manifest's sha256. Exit code 1 when a deployment failed
    (the previous version keeps serving) or was refused (a clone behind origin:
    run `git pull`); 0 for a late run of an older merge named with --after
    (the newer merge's run deploys); 4 when origin cannot be reached (or pass
    --offline).

    Each ledger record is signed (an in-toto statement in a DSSE envelope)
    with the EC P-256 private key in the MODELREG_LEDGER_KEY environment
    variable (a repository secret; never an argument), or, in GitHub Actions
    without one, keyless with Sigstore when modelreg.yaml names a Sigstore
    ledger signer; else the output says the records are unsigned. Once
    modelreg.yaml names ledger signers, a record that is not verified
    (unsigned, or forged) is never proof that something is deployed: each
    one disregarded is printed, with why.

    \b
    Examples:
      modelreg deploy --dry-run                      # what HEAD's merge would deploy
      modelreg deploy --before "$BEFORE" --after "$AFTER" --push-ledger   # in the deploy workflow
      modelreg deploy --env staging
    """
    report = registry().deploy(after=after, before=before, env=only, dry_run=dry_run, push_ledger=push_ledger,
                               offline=offline)
    if as_json:
        emit_json(report.to_dict())
    else:
        _print(report)
    if not report.ok:
        raise click.exceptions.Exit(1)


def _print(report: object) -> None:
    from modelreg.deploy.run import Deployment

    assert isinstance(report, Deployment)
    moved = [m for m in report.moves if m.kind == "alias"]
    click.echo(f"{report.commit[:12]}: {len(moved)} alias move(s)"
               + (f" since {report.before[:12]}" if report.before else "")
               + (f"; main: {report.main.note}" if report.main else ""))
    for why in report.disregarded:
        click.echo(f"Disregarded {why}")
    if report.refused:
        click.echo(f"Nothing deployed: {report.refused}.")
        return
    if not report.results:
        click.echo("No environment serves an alias that moved; nothing to deploy."
                   + (" (The moves are recorded in the ledger.)" if moved and not report.dry_run else ""))
        return
    for result in report.results:
        mark = {"succeeded": "✓", "failed": "✗", "refused": "–", "unchanged": "=", "planned": "•"}[
            result.outcome]
        click.echo(f"{mark} {result.step.describe()}: {result.message}")
        for target in result.targets:
            said = "FAILED" if not target.ok else "verified" if target.verified else \
                "accepted (bytes not verifiable)"
            click.echo(f"    {said}  {target.target}: {target.message}")
    if any("the ledger's word" in r.message for r in report.results):
        click.echo(f"Ledger records believed: {report.believed}.")
    if report.signed:
        click.echo(f"Ledger records {report.signed}.")
    if any(r.outcome == "failed" for r in report.results):
        click.echo("The previous version keeps serving where a deployment failed; fix the cause and run "
                   "`modelreg deploy` again (or `modelreg reconcile`).", err=True)
