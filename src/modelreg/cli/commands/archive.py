from __future__ import annotations

import click

from modelreg.cli import transition
from modelreg.cli.common import registry


@click.command("archive")
@click.argument("model")
@click.argument("version", type=click.IntRange(min=1))
@transition.options
def command(model: str, version: int, branch: str | None, commit: bool, push: bool, open_pr: bool,
            message: str | None, base: str | None, dry_run: bool, as_json: bool) -> None:
    """Archive VERSION of MODEL: kept forever, never served, skipped by `latest`.

    Refused while an alias points at the version (move the alias first).

    \b
    Examples:
      modelreg archive fraud-detector 1 --commit
      modelreg archive fraud-detector 2 --branch archive/fraud-v2 --push
    """
    with transition.findings_shown():
        applied = registry().archive(model, version, branch=branch, commit=commit, push=push, open_pr=open_pr,
                                     message=message, base=base, dry_run=dry_run)
    transition.show(applied, as_json)
