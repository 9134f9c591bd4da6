from __future__ import annotations

import os

import click

from modelreg.cli.common import registry


@click.command("check")
@click.option("--base", metavar="REF",
              help="Compare with the merge base of HEAD and REF (default: origin/main, else main).")
@click.option("--all", "check_all", is_flag=True, help="Check the whole registry, not only what changed.")
@click.option("--head", is_flag=True,
              help="Check the HEAD commit instead of the work tree (what CI does; faster on large "
              "registries, as git need not scan the work tree).")
@click.option("--staged", is_flag=True, help="Check what is staged for the next commit (pre-commit hooks).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="Report format.")
@click.option("--verify-artifacts", is_flag=True,
              help="Download each new artifact and check its sha256 (slow for large models).")
@click.option("--offline", is_flag=True,
              help="Do not ask the DVC remote whether artifacts are there (for pre-commit hooks).")
@click.option("--gate", "gates", multiple=True, metavar="NAME",
              help="Run only this gate (repeatable): schema, immutability, numbering, artifact, "
              "signature, policy, promotion.")
def command(base: str | None, check_all: bool, head: bool, staged: bool, fmt: str,
            verify_artifacts: bool, offline: bool, gates: tuple[str, ...]) -> None:
    """Run the registry's gates on what changed since the base branch.

    Gates: schema (files valid and in place), immutability (released versions
    untouched), numbering (next free vN), artifact (bytes in the DVC remote,
    matching the manifest), signature (where the policy requires signing, the
    bundle verifies on those bytes against its signers), policy (required
    fields, thresholds, slices,
    regression against production, artifact rules), promotion (aliases on live
    versions; stage order and soak time from git history).

    Compares the work tree (uncommitted and untracked files included) with the
    merge base of HEAD and the base branch; --head compares the HEAD commit,
    --staged what is staged for the next commit.
    Exit code 0 when every gate passes, 1 when any fails. Under GitHub Actions
    the Markdown report also goes to the job summary and each finding becomes
    an annotation on the pull request.

    \b
    Examples:
      modelreg check                          # this branch against origin/main
      modelreg check --head                   # what is committed (as CI checks it)
      modelreg check --base release --format markdown
      modelreg check --all --verify-artifacts # audit the whole registry
      modelreg check --offline --gate schema  # fast, in a pre-commit hook
    """
    from modelreg.checks import GATES
    from modelreg.checks import report as render

    if head and staged:
        raise click.UsageError("--head and --staged are exclusive: check a commit, or the index")
    unknown = sorted(set(gates) - set(GATES))
    if unknown:
        raise click.BadParameter(f"unknown gate {', '.join(unknown)}; choose from {', '.join(GATES)}",
                                 param_hint="--gate")
    result = registry().check(base=base, all=check_all, head=head, staged=staged,
                              verify_artifacts=verify_artifacts, offline=offline, gates=gates)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in render.github_annotations(result):
            click.echo(line)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as out:
                out.write(render.markdown(result))
    output = {"text": render.text, "markdown": render.markdown, "json": render.as_json}[fmt](result)
    click.echo(output.rstrip("\n"))
    if not result.passed:
        raise click.exceptions.Exit(1)
