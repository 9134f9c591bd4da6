from __future__ import annotations

import click

from modelreg.cli.common import emit_json, read_options, registry, table


@click.command("history")
@click.argument("model")
@read_options
def command(model: str, at: str | None, as_json: bool) -> None:
    """Every registration and alias move of MODEL, newest first, from the git log.

    Reads the first-parent history of the current branch (or of --at REV):
    on main a merged pull request is one entry, with its PR number when the
    merge or squash commit message carries one.

    \b
    Examples:
      modelreg history fraud-detector
      modelreg history fraud-detector --json
    """
    events = registry(at).history(model)
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    if not events:
        click.echo(f"No committed history for {model} yet.")
        return
    rows = []
    for e in events:
        if e.kind == "alias":
            what = f"{e.alias}: {_v(e.previous)} -> {_v(e.version)}"
        else:
            what = f"{e.kind} {_v(e.version)}"
        rows.append((e.date[:19].replace("T", " "), what, e.commit[:10], e.author,
                     f"#{e.pr}" if e.pr else "-"))
    click.echo(table(["date", "change", "commit", "author", "pr"], rows))


def _v(number: int | None) -> str:
    return f"v{number}" if number is not None else "(none)"
