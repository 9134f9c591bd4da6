from __future__ import annotations

import click

from modelreg.cli import transition
from modelreg.cli.common import registry


@click.command("demote")
@click.argument("model")
@click.option("--alias", "-a", "alias", required=True, metavar="ALIAS", help="The alias to remove.")
@transition.options
def command(model: str, alias: str, branch: str | None, commit: bool, push: bool, open_pr: bool,
            message: str | None, base: str | None, dry_run: bool, as_json: bool) -> None:
    """Remove an alias from MODEL: nothing serves under that name afterwards.

    To put the alias back on an earlier version instead, use `modelreg rollback`.

    \b
    Examples:
      modelreg demote fraud-detector --alias challenger --commit
      modelreg demote fraud-detector --alias staging --dry-run
    """
    with transition.findings_shown():
        applied = registry().demote(model, alias=alias, branch=branch, commit=commit, push=push,
                                    open_pr=open_pr, message=message, base=base, dry_run=dry_run)
    transition.show(applied, as_json)
