from __future__ import annotations

import json
from pathlib import Path

import click

from modelreg.cards.render import FORMATS, render, save
from modelreg.cli.common import read_options, registry
from modelreg.edges.confine import check_output


@click.command("card")
@click.argument("target", metavar="MODEL/N | MODEL@ALIAS | URI")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True,
              help="markdown; html (one self-contained page, everything escaped); hf (a Hugging Face "
              "README.md with model-index metadata).")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the card to this file (atomically) instead of printing it.")
@read_options
def command(target: str, fmt: str, output: Path | None, at: str | None, as_json: bool) -> None:
    """Write a version's model card: the registered card's prose, the manifest's numbers.

    The sections are those of Mitchell et al. (model details, intended use,
    factors, metrics, evaluation data, training data, quantitative analyses,
    ethical considerations, caveats and recommendations). Each section's text
    comes from the card.md registered with the version (`register --card`),
    matched by its `## ` heading; metrics, per-slice results, params, the
    artifact's hashes and the lineage come from version.yaml. A section the
    card does not write is shown as "Not provided". --json prints the card as
    data.

    \b
    Examples:
      modelreg card fraud-detector/3
      modelreg card models:/fraud-detector@production --format html -o card.html
      modelreg card fraud-detector@staging --format hf -o README.md
      modelreg card fraud-detector/3 --at v2026.11 --json
    """
    reg = registry(at)
    if output is not None:  # before anything is read: never into registry/ or .git
        check_output(reg.top, str(output), "--output")
    card = reg.card(target)
    text = json.dumps(card.to_dict(), indent=2) + "\n" if as_json else render(card, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    save(text, output, fmt)
    missing = f"; not provided: {', '.join(card.missing)}" if card.missing else ""
    click.echo(f"wrote {output} ({card.model} v{card.version}, {'json' if as_json else fmt}{missing})")
