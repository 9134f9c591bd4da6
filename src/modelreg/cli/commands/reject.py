from __future__ import annotations

import click

from modelreg.cli import transition
from modelreg.cli.common import registry


@click.command("reject")
@click.argument("model")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--reason", "-r", required=True, metavar="TEXT", help="Why (kept in model.yaml and history).")
@transition.options
def command(model: str, version: int, reason: str, branch: str | None, commit: bool, push: bool,
            open_pr: bool, message: str | None, base: str | None, dry_run: bool, as_json: bool) -> None:
    """Reject VERSION of MODEL (SageMaker's Rejected): no alias may point at it again.

    Records the reason and who rejected it (your git user name).

    \b
    Examples:
      modelreg reject fraud-detector 2 --reason "failed the bias review" --commit
    """
    with transition.findings_shown():
        applied = registry().reject(model, version, reason=reason, branch=branch, commit=commit, push=push,
                                    open_pr=open_pr, message=message, base=base, dry_run=dry_run)
    transition.show(applied, as_json)
