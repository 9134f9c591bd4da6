from __future__ import annotations

import click

from modelreg.cli.common import emit_json, read_options, registry, table


@click.command("list")
@read_options
@click.option("--tag", "tag_pairs", multiple=True, metavar="KEY=VALUE",
              help="Only models with this tag (on the model or its latest version).")
@click.option("--alias", help="Only models that have this alias (e.g. production).")
def command(at: str | None, as_json: bool, tag_pairs: tuple[str, ...], alias: str | None) -> None:
    """List models with their aliases and latest version.

    \b
    Examples:
      modelreg list
      modelreg list --alias production --json
      modelreg list --tag team=fraud --at 2026-11-01
    """
    tags = None
    if tag_pairs:  # its parser imports what a plain listing never needs
        from modelreg.write import inputs

        tags = inputs.assignments(tag_pairs, "--tag")
    summaries = registry(at).list(tags=tags, alias=alias)
    if as_json:
        emit_json([s.to_dict() for s in summaries])
        return
    if not summaries:
        click.echo("No models match." if tag_pairs or alias else
                   "No models yet. Register one: modelreg register MODEL --artifact FILE --owner @team")
        return
    rows = [(s.model.name, s.latest, len(s.model.versions),
             " ".join(f"{a}=v{v}" for a, v in sorted(s.model.aliases.items())) or "-",
             " ".join(s.model.owners) or "-") for s in summaries]
    click.echo(table(["model", "latest", "versions", "aliases", "owners"], rows))
