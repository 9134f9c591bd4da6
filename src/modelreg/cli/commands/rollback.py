from __future__ import annotations

import click

from modelreg.cli import transition
from modelreg.cli.common import registry


@click.command("rollback")
@click.argument("model")
@click.option("--alias", "-a", "alias", required=True, metavar="ALIAS", help="The alias to move back.")
@click.option("--to", "to", type=click.IntRange(min=1), metavar="VERSION",
              help="The version to go back to (default: the one before, from the git history).")
@transition.options
def command(model: str, alias: str, to: int | None, branch: str | None, commit: bool, push: bool,
            open_pr: bool, message: str | None, base: str | None, dry_run: bool, as_json: bool) -> None:
    """Move ALIAS of MODEL back to the version it pointed at before.

    "Before" comes from the first-parent git history of model.yaml, read in
    git's order (commits in the same second are fine): after 1 → 2 → 3 and a
    rollback to 2, the next rollback goes to 1. Archived and rejected
    versions are skipped. Like every change, it is checked by the gates and
    goes through a pull request; its merge redeploys the version.

    \b
    Examples:
      modelreg rollback fraud-detector --alias production --branch rollback/fraud --push
      modelreg rollback fraud-detector --alias production --to 3 --commit
    """
    with transition.findings_shown():
        applied = registry().rollback(model, alias=alias, to=to, branch=branch, commit=commit, push=push,
                                      open_pr=open_pr, message=message, base=base, dry_run=dry_run)
    transition.show(applied, as_json)
