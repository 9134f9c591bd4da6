from __future__ import annotations

from typing import TYPE_CHECKING

import click

from modelreg.cli.common import emit_json, registry, table, warn

if TYPE_CHECKING:
    from modelreg.deploy.status import AliasStatus


@click.command("status")
@click.option("--env", "only", metavar="NAME", help="This environment only.")
@click.option("--verify", is_flag=True, help="Hash every deployed file (the default).")
@click.option("--fast", is_flag=True, help="Hash only files whose size, mtime or ctime changed since "
              "deployment; the output names what it did not re-hash.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(only: str | None, verify: bool, fast: bool, as_json: bool) -> None:
    """Desired state on main against what is deployed: drift, failures, lost ledger records.

    For every alias an environment serves: the version main asks for, what
    each target serves, and the ledger's last deployment. A row is live only
    when every target serves main's version and the bytes of every target that
    can show them (directory) hash now to the manifest's sha256; otherwise it
    says what was not checked (a command or webhook target cannot show its
    bytes; --fast skips files whose size and mtime are unchanged). Where the
    version's policy requires signing, the signature of what a directory target
    serves is verified too (not with --fast, which says so). Deployments
    a directory target shows that the ledger does not have are listed. Ledger
    records on commits not on main (a force push removed them, or a branch's
    note) are ignored and counted in a warning (stderr; `warnings` in --json).
    Exit code 1 when anything drifted; `modelreg reconcile` redeploys it.

    \b
    Examples:
      modelreg status
      modelreg status --env production --verify --json
    """
    if fast and verify:
        raise click.UsageError("--fast and --verify are exclusive (--verify is the default)")
    result = registry().status(env=only, fast=fast)
    warn(result.warnings)
    if as_json:
        emit_json(result.to_dict())
    elif not result.rows:
        click.echo("No environment serves a model yet (environments: in modelreg.yaml).")
    else:
        rows = [(r.environment, r.model, r.alias, _v(r.desired), _v(r.served),
                 r.recorded.outcome if r.recorded else "-", _STATES[r.state]) for r in result.rows]
        click.echo(table(["environment", "model", "alias", "main", "served", "last success", "state"], rows))
        for row in result.rows:
            _details(row)
        if result.drifted:
            click.echo("Next: `modelreg reconcile` redeploys what drifted.")
    if not as_json:
        for lost in result.lost:
            click.echo(f"{lost.environment}: {lost.describe()}", err=True)
    if result.drifted:
        raise click.exceptions.Exit(1)


def _details(row: AliasStatus) -> None:
    where = f"{row.environment} {row.model} {row.alias}"
    for problem in row.drift:
        click.echo(f"{where}: {problem}")
    for skipped in row.unverified:
        click.echo(f"{where}: not verified: {skipped}")
    for target in row.targets:
        if target.signed_by and not row.drift:
            click.echo(f"{where}: {target.target}: signature by {target.signed_by} verified now")


#: "live" only when the bytes were hashed now on every target
_STATES = {"live": "live", "drift": "DRIFT", "unverified": "unverified"}


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "-"
