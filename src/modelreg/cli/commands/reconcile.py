from __future__ import annotations

import click

from modelreg.cli.common import emit_json, registry


@click.command("reconcile")
@click.option("--env", "only", metavar="NAME", help="This environment only.")
@click.option("--verify", is_flag=True, help="Hash every deployed file (always so: reconcile never takes "
              "the fast path).")
@click.option("--dry-run", is_flag=True, help="Show what would be redeployed.")
@click.option("--push-ledger", is_flag=True, help="Fetch the ledger from origin first and push it after.")
@click.option("--offline", is_flag=True,
              help="Do not fetch origin's main first: trust origin/main as last fetched.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(only: str | None, verify: bool, dry_run: bool, push_ledger: bool, offline: bool,
            as_json: bool) -> None:
    """Redeploy what `modelreg status` finds drifted, from the tip of main.

    Every deployed file is hashed to find drift (never the fast path), and
    origin's main is fetched first. Each drifted alias gets main's version
    again, verified by sha256, on every target of its environment (all or
    none), and the ledger records it.

    \b
    Examples:
      modelreg reconcile --dry-run
      modelreg reconcile --env production --push-ledger   # in the scheduled workflow
    """
    from modelreg.cli.commands.deploy import _print

    report = registry().reconcile(env=only, dry_run=dry_run, push_ledger=push_ledger, offline=offline)
    if as_json:
        emit_json(report.to_dict())
    elif not report.results:
        click.echo("Nothing drifted (every deployed byte hashed now, where a target can show its bytes); "
                   "nothing to do.")
    else:
        _print(report)
    # a refused reconcile leaves the drift in place: unlike a late deploy run, that is a failure
    if not report.ok or report.refused or any(r.outcome == "refused" for r in report.results):
        raise click.exceptions.Exit(1)
