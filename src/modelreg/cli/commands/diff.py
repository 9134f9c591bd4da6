from __future__ import annotations

import click

from modelreg.cli.common import WIDTH, emit_json, read_options, registry, short_hash, table
from modelreg.cli.completion import complete_model, complete_ref


@click.command("diff")
@click.argument("model", shell_complete=complete_model)
@click.argument("a", metavar="A", shell_complete=complete_ref)
@click.argument("b", metavar="B", shell_complete=complete_ref)
@read_options
@click.option("--all", "show_all", is_flag=True, help="Show unchanged rows too.")
def command(model: str, a: str, b: str, at: str | None, as_json: bool, show_all: bool) -> None:
    """Compare two versions of MODEL: metrics, slices, params, tags, lineage, artifact.

    A and B are version numbers (3, v3), aliases (@production) or 'latest'.
    Numeric values get a delta (B - A). Hashes are shortened and long values
    cut to fit 100 columns; --json shows them whole.

    \b
    Examples:
      modelreg diff fraud-detector 3 4
      modelreg diff fraud-detector @production latest --json
    """
    compared = registry(at).diff(model, a, b)
    if as_json:
        emit_json(compared.to_dict())
        return
    left, right, rows = compared
    shown = [r for r in rows if show_all or r.changed]
    if not shown:
        click.echo(f"v{left.version} and v{right.version} record the same values.")
        return
    click.echo(table(
        ["section", "key", f"v{left.version}", f"v{right.version}", "delta"],
        [(r.section, r.key, short_hash(r.key, r.a), short_hash(r.key, r.b),
          None if r.delta is None else f"{r.delta:+.6g}") for r in shown],
        width=WIDTH, flexible=(1, 2, 3)))
