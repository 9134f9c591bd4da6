from __future__ import annotations

import click

from modelreg.cli.common import WIDTH, emit_json, read_options, registry, table
from modelreg.cli.completion import complete_model


@click.command("search")
@click.option("--where", "-w", "where", multiple=True, metavar="CONDITION",
              help="FIELD OP VALUE with OP one of >= <= > < = != ~ (contains); repeatable, all must hold.")
@click.option("--model", help="Search only this model's versions.", shell_complete=complete_model)
@read_options
def command(where: tuple[str, ...], model: str | None, at: str | None, as_json: bool) -> None:
    """Find versions whose manifest fields satisfy every condition.

    FIELD is a dotted path into version.yaml (metrics.roc_auc, tags.team,
    params.max_depth, framework.name, artifact.format) or stage, approval, alias,
    model, version. >= <= > < compare numbers; stage, approval and alias match
    in any case. An unknown field is an error that shows the right form.

    \b
    Examples:
      modelreg search --where "metrics.roc_auc>=0.95" --where "tags.team=fraud"
      modelreg search -w "stage=Production" --json
      modelreg search --model fraud-detector -w "params.max_depth<8"
    """
    found = registry(at).search(where, model=model)
    if as_json:
        emit_json([mv.to_dict() for mv in found])
        return
    if not found:
        click.echo("No versions match.")
        return
    click.echo(table(["model", "version", "aliases", "stage", "metrics"],
                     [(mv.model, mv.version, list(mv.aliases), mv.stage, mv.metrics) for mv in found],
                     width=WIDTH, flexible=(4,)))
