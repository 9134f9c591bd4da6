from __future__ import annotations

import click

from modelreg.cli import transition
from modelreg.cli.common import registry
from modelreg.cli.completion import complete_model


@click.command("describe")
@click.argument("model", shell_complete=complete_model)
@click.argument("description", metavar="TEXT")
@transition.options
def command(model: str, description: str, branch: str | None, commit: bool, push: bool, open_pr: bool,
            message: str | None, base: str | None, dry_run: bool, as_json: bool) -> None:
    """Set a model's description: the line under its name in `show`, `list` and the catalog.

    Edits `description` in registry/MODEL/model.yaml (every other field kept),
    after the same checks as a promotion (the schema gate), and publishes it the
    same way: --branch, --commit, --push, --open-pr. TEXT is one line of plain
    text, at most 1000 characters (no control characters); "" clears it. A
    version's own description is set at `register --description` and never
    changes (manifests are immutable).

    \b
    Examples:
      modelreg describe fraud-detector "Real-time fraud scoring at authorisation time" --open-pr
      modelreg describe fraud-detector "Scores card payments" --branch describe/fraud --dry-run
      modelreg describe churn "" --commit
    """
    with transition.findings_shown():
        applied = registry().describe(model, description, branch=branch, commit=commit, push=push,
                                      open_pr=open_pr, message=message, base=base, dry_run=dry_run)
    transition.show(applied, as_json)
