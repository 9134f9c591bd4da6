from __future__ import annotations

import click

from modelreg.cli.common import emit_json, registry, table, warn


@click.command("status")
@click.option("--env", "only", metavar="NAME", help="This environment only.")
@click.option("--verify", is_flag=True,
              help="Re-hash every deployed file (default: only files whose size or mtime changed).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(only: str | None, verify: bool, as_json: bool) -> None:
    """Desired state on main against what is deployed: drift and failures.

    For every alias an environment serves: the version main asks for, the
    ledger's last deployment, and what each target says it serves (a directory
    target re-hashes files whose size or mtime changed). Exit code 1 when
    anything drifted; `modelreg reconcile` redeploys it. Ledger records on
    commits not on main (a force push removed them, or a branch's note) are
    ignored and counted in a warning (stderr; `warnings` in --json).

    \b
    Examples:
      modelreg status
      modelreg status --env production --verify --json
    """
    result = registry().status(env=only, verify=verify)
    warn(result.warnings)
    if as_json:
        emit_json(result.to_dict())
    elif not result.rows:
        click.echo("No environment serves a model yet (environments: in modelreg.yaml).")
    else:
        rows = [(r.environment, r.model, r.alias, _v(r.desired), _v(r.served),
                 r.recorded.outcome if r.recorded else "-", "ok" if r.ok else "DRIFT") for r in result.rows]
        click.echo(table(["environment", "model", "alias", "main", "served", "last deploy", "state"], rows))
        for row in result.rows:
            for problem in row.drift:
                click.echo(f"{row.environment} {row.model} {row.alias}: {problem}")
        if not result.ok:
            click.echo("Next: `modelreg reconcile` redeploys what drifted.")
    if not result.ok:
        raise click.exceptions.Exit(1)


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "-"
