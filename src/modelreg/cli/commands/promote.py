from __future__ import annotations

import click

from modelreg.cli import transition
from modelreg.cli.common import registry


@click.command("promote", context_settings={"ignore_unknown_options": True})
@click.argument("targets", nargs=-1, type=click.UNPROCESSED, required=True)
@transition.options
def command(targets: tuple[str, ...], branch: str | None, commit: bool, push: bool, open_pr: bool,
            message: str | None, base: str | None, dry_run: bool, as_json: bool) -> None:
    """Point an alias at a version: MODEL VERSION --to ALIAS (repeatable).

    Edits aliases in registry/MODEL/model.yaml, after checking the result with
    the gates CI runs (schema and promotion: the version exists and is live,
    the policy's `after:` stage was held for its `min_soak`); an impossible
    promotion fails before anything is written. Several models in one command
    make one commit: one review, one merge, one deployment. The version may be
    a number or any model URI (MODEL@ALIAS, models:/MODEL/3, MODEL/latest).

    \b
    Examples:
      modelreg promote fraud-detector 4 --to staging --branch promote/fraud-v4
      modelreg promote fraud-detector@challenger --to champion --commit
      modelreg promote models:/fraud-detector/4 --to production --open-pr
      modelreg promote fraud 4 --to production churn 7 --to production --push
      modelreg promote fraud 4 --to production --dry-run
    """
    with transition.findings_shown():
        applied = registry().promote_all(_parse(targets), branch=branch, commit=commit, push=push,
                                         open_pr=open_pr, message=message, base=base, dry_run=dry_run)
    transition.show(applied, as_json)


def _parse(tokens: tuple[str, ...]) -> list[tuple[str, str | None, str]]:
    """``a 3 --to production b@challenger --to champion``
    → ``[("a", "3", "production"), ("b@challenger", None, "champion")]``."""
    out: list[tuple[str, str | None, str]] = []
    pending: list[str] = []
    items = iter(tokens)
    for token in items:
        if token in ("--to", "-t") or token.startswith("--to="):
            alias = token.partition("=")[2] or next(items, "")
            if not alias or len(pending) not in (1, 2):
                break
            out.append((pending[0], pending[1] if len(pending) == 2 else None, alias))
            pending = []
        elif token.startswith("-"):
            raise click.UsageError(f"no such option: {token}")
        else:
            pending.append(token)
    else:
        if out and not pending:
            return out
    raise click.UsageError("write each promotion as MODEL VERSION --to ALIAS (or URI --to ALIAS), e.g. "
                           "`modelreg promote fraud 4 --to production`")
