from __future__ import annotations

import click

from modelreg.cli.common import WIDTH, emit_json, read_options, registry, table
from modelreg.cli.completion import complete_model
from modelreg.read.search import Found

_DIRECTIONS = ("ASC", "DESC")


class _OrderWords(click.Command):
    """``--order-by metrics.roc_auc DESC`` unquoted, as MLflow users write it: a direction that
    follows a key joins it (the shell made two words of what "metrics.roc_auc DESC" says)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_directions(args))


def join_directions(args: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":  # what follows is not an option
            return out + args[index:]
        if token == "--order-by" and index + 1 < len(args):
            out += [token, args[index + 1]]
            index += 2
        else:
            out.append(token)
            index += 1
            if not token.startswith("--order-by="):
                continue
        if index < len(args) and args[index].upper() in _DIRECTIONS:
            out[-1] += " " + args[index]
            index += 1
    return out


@click.command("search", cls=_OrderWords)
@click.option("--where", "-w", "where", multiple=True, metavar="CONDITION",
              help="FIELD OP VALUE with OP one of >= <= > < = != ~ (contains); repeatable, all must hold.")
@click.option("--model", help="Search only this model's versions.", shell_complete=complete_model)
@click.option("--order-by", "order_by", multiple=True, metavar="'FIELD [ASC|DESC]'",
              help="Sort by FIELD (as --where names it), ascending unless DESC (quoted or not); "
                   "repeatable, or keys joined by commas: later keys break ties. Versions lacking a key "
                   "come last either way, and are counted.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="Show only the first N versions (after sorting).")
@read_options
def command(where: tuple[str, ...], model: str | None, order_by: tuple[str, ...], limit: int | None,
            at: str | None, as_json: bool) -> None:
    """Find versions whose manifest fields satisfy every condition.

    FIELD is a dotted path into version.yaml (metrics.roc_auc, tags.team,
    params.max_depth, framework.name, artifact.format, created_at) or stage,
    approval, alias, model, version. >= <= > < compare numbers (a tag whose
    text is a number too); stage, approval and alias match in any case. An
    unknown field is an error that shows the right form.

    --order-by sorts by such a field: numbers as numbers (before text), ASC
    unless DESC. A version that lacks the field sorts last in both directions,
    and a note under the table (on stderr with --json, whose list keeps the
    order) says how many did. With --limit 1 it answers "the best version".

    \b
    Examples:
      modelreg search --where "metrics.roc_auc>=0.95" --where "tags.team=fraud"
      modelreg search -w "stage=Production" --json
      modelreg search --model fraud-detector -w "params.max_depth<8"
      modelreg search --model fraud-detector --order-by metrics.roc_auc DESC --limit 1
      modelreg search --order-by model --order-by "created_at DESC"
    """
    found = registry(at).search(where, model=model, order_by=order_by, limit=limit)
    if as_json:
        emit_json([mv.to_dict() for mv in found])
        _notes(found, err=True)
        return
    if not found:
        click.echo("No versions match.")
        return
    click.echo(table(["model", "version", "aliases", "stage", "metrics"],
                     [(mv.model, mv.version, list(mv.aliases), mv.stage, mv.metrics) for mv in found],
                     width=WIDTH, flexible=(4,)))
    _notes(found, err=False)


def _notes(found: Found, *, err: bool) -> None:
    """What the order hid: versions that lack a sort key (sorted last), and what --limit left out."""
    for field, count in found.missing.items():
        if count:
            guess = f" Did you mean {found.close[field]}?" if field in found.close else ""
            click.echo(f"{count} of {found.matched} matching versions lack {field}: sorted last.{guess}",
                       err=err)
    if len(found) < found.matched:
        click.echo(f"Showing {len(found)} of {found.matched} matching versions (--limit).", err=err)
