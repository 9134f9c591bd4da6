from __future__ import annotations

import os

import click

from modelreg.cli.common import emit_json, registry


@click.command("approvals")
@click.option("--pr", "pr", type=click.IntRange(min=1), metavar="N",
              help="The pull request (default: pull_request.number of the --event file).")
@click.option("--event", "event", metavar="PATH", envvar="GITHUB_EVENT_PATH", show_envvar=True,
              help="A GitHub Actions event file: the PR's number and base branch come from it.")
@click.option("--repo", metavar="OWNER/NAME",
              help="The GitHub repository (default: $GITHUB_REPOSITORY, else origin on github.com).")
@click.option("--base", metavar="REF",
              help="The branch the PR merges into (default: the event's pull_request.base.ref, else "
              "origin/main, else main).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Report format.")
def command(pr: int | None, event: str | None, repo: str | None, base: str | None, fmt: str) -> None:
    """Check that a pull request's reviews meet the approval rules of the promotions it makes.

    Finds which aliases HEAD moves against its merge base with the base branch,
    and for each alias moved to a version, the rule `promotion.<alias>.approvals`
    of the policy governing the model (the one on the base branch too, when the
    PR changes it: both must be met). Then reads the PR, its reviews and the
    members of the teams the rules name from GitHub's REST API (GITHUB_API_URL,
    GITHUB_TOKEN) and counts, per rule, the approvals that count: the latest
    review of each reviewer; not dismissed, not the author's (unless
    allow_author), of the PR's head commit (unless dismiss_stale is false).
    A PR that moves no gated alias passes without asking GitHub anything.

    Exit code 0 when every rule is met, 1 when one is not, 4 when GitHub's API
    fails or cannot be reached (one line saying why; never a pass). Under GitHub Actions the Markdown
    report also goes to the job summary, and each unmet rule becomes an annotation.

    \b
    Examples:
      modelreg approvals --pr 42                    # this checkout as PR 42 of $GITHUB_REPOSITORY
      modelreg approvals --pr 42 --repo acme/registry --base main --format json
      modelreg approvals --format markdown          # in a workflow: PR and base from the event
    """
    from modelreg.approvals import pull_request, render
    from modelreg.errors import InputError, ServiceError

    info = pull_request.read_event(event) if event else pull_request.EventInfo(None, None)
    actions = os.environ.get("GITHUB_ACTIONS") == "true"
    if pr is None and info.merge_group:
        message = ("✓ merge group: each of its pull requests passed the approval check before it "
                   "could join the queue")
        _summary(actions, f"## modelreg approvals: passed\n\n{message}\n")
        click.echo(message)
        return
    number = pr or info.pr
    if number is None:
        raise click.UsageError("which pull request? Pass --pr N, or --event PATH with a pull_request "
                               "or pull_request_review event (under GitHub Actions: $GITHUB_EVENT_PATH)")
    try:
        report = registry().approvals(number, repo=repo, base=base or info.base_ref)
    except InputError as exc:
        if exc.field != "--repo":
            raise
        raise click.UsageError(f"{exc.detail} Pass --repo OWNER/NAME (under GitHub Actions "
                               "$GITHUB_REPOSITORY says it)") from exc
    except ServiceError as exc:
        if actions:  # the job fails with the reason on the PR, not only in the log
            click.echo(render.annotation(f"cannot check the approvals: {exc}"))
        _summary(actions, render.failure_markdown(str(exc)))
        raise
    if actions and fmt != "json":  # workflow commands would break the JSON on stdout
        for line in render.github_annotations(report):
            click.echo(line)
    _summary(actions, render.markdown(report))
    if fmt == "json":
        emit_json(report.to_dict())
    else:
        output = render.markdown(report) if fmt == "markdown" else render.text(report)
        click.echo(output.rstrip("\n"))
    if not report.passed:
        raise click.exceptions.Exit(1)


def _summary(actions: bool, text: str) -> None:
    """Append to the job summary under GitHub Actions."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if actions and path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(text)
