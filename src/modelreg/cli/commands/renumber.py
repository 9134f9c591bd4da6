from __future__ import annotations

import click

from modelreg.cli.common import emit_json, registry, warn


@click.command("renumber")
@click.option("--base", metavar="REF",
              help="The branch the registration merges into (default: origin/main, else main); "
              "origin's is fetched first.")
@click.option("--push", is_flag=True,
              help="Force-push the renumbered branch to origin, only over the tip it replaced, "
              "once the numbering gate passes on it.")
@click.option("--offline", is_flag=True,
              help="Do not ask the DVC remote whether artifacts are there when re-running the gates.")
@click.option("--repo", metavar="OWNER/NAME",
              help="With --push: the GitHub repository whose open pull request from this branch gets the "
              "new title and report (default: $GITHUB_REPOSITORY, else origin's github.com URL).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the moves, the commits, the gate report.")
def command(base: str | None, push: bool, offline: bool, repo: str | None, as_json: bool) -> None:
    """Move this registration branch's new versions to the next free numbers.

    When another pull request registered the same model first, this branch's
    v<N> is taken on the base and the numbering gate fails. renumber rewrites
    the branch as one commit on the base's tip in which each new v<N> is the
    next free v<K>: the same files (artifact pointer, metrics, card, signature
    bundle) with `version: K` in version.yaml, the original author and date.
    It then runs the gates on the result (exit code 1 if any fails); --push
    pushes it once the numbering gate passes (another gate's finding is the
    pull request's to show, with the right number), then gives the branch's
    open pull request the new title and gate report (with $GITHUB_TOKEN).

    It refuses a branch that changes anything but new version directories, a
    work tree with uncommitted changes, and a branch whose numbers are free.

    \b
    Examples:
      modelreg renumber                       # against origin/main
      modelreg renumber --base main --push    # what a pipeline or a bot runs
      modelreg renumber --json
    """
    result = registry().renumber(base=base, push=push, offline=offline, repo=repo)
    if as_json:
        emit_json(result.to_dict())
    else:
        from modelreg.checks import report as render

        for move in result.moves:
            click.echo(f"{move.model} v{move.old} → v{move.new}" if move.old != move.new
                       else f"{move.model} v{move.old} kept")
        click.echo(f"{result.branch} is now {result.commit[:12]} on {result.base} "
                   f"({result.base_commit[:12]}); it was {result.old_commit[:12]}")
        click.echo(render.text(result.report).rstrip("\n"))
        if result.pushed:
            click.echo(f"pushed {result.branch} to origin")
        if result.pr_url:
            click.echo(f"updated the pull request's title and report: {result.pr_url}")
        elif push:
            click.echo("not pushed: the numbering gate still fails (undo with "
                       f"`git reset --keep {result.old_commit[:12]}`)")
    warn(result.warnings)
    if not result.passed:
        raise click.exceptions.Exit(1)
