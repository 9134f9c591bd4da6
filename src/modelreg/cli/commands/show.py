from __future__ import annotations

from typing import Any

import click

from modelreg.cli.common import WIDTH, clip, emit_json, read_options, registry, short_hashes, table
from modelreg.cli.completion import complete_uri
from modelreg.read.catalog import ModelDetail, ModelVersion
from modelreg.read.diff import flatten


@click.command("show")
@click.argument("target", metavar="MODEL | MODEL/N | MODEL@ALIAS | URI", shell_complete=complete_uri)
@read_options
def command(target: str, at: str | None, as_json: bool) -> None:
    """Show a model's versions, or one version whole.

    With a model name: one row per version with its aliases, SageMaker-style
    lifecycle stage (None, Staging, Production, Archived) and approval status
    (PendingManualApproval, Approved, Rejected), all derived from the files.
    With a version (MODEL/3, MODEL@champion, models:/MODEL/latest): its
    whole manifest.

    \b
    Examples:
      modelreg show fraud-detector
      modelreg show fraud-detector/3 --json
      modelreg show fraud-detector@production --at v2026.11
    """
    shown = registry(at).show(target)
    if as_json:
        emit_json(shown.to_dict())
        return
    if isinstance(shown, ModelDetail):
        model, versions = shown.model, shown.versions
        click.echo(clip(f"{model.name}: {model.description}" if model.description else model.name))
        policy = f"   policy: {model.policy}" if model.policy else ""
        click.echo(clip(f"owners: {' '.join(model.owners) or '-'}{policy}"))
        click.echo(_versions_table(versions) if versions else "No versions yet.")
        for number, reason in sorted(model.rejected.items()):
            click.echo(clip(f"v{number} rejected: {reason}"))
        return
    mv = shown
    from modelreg.formats.yamlio import dumps

    click.echo(clip(f"{mv.model} v{mv.version}   aliases: {','.join(mv.aliases) or '-'}   "
                    f"stage: {mv.stage}   approval: {mv.approval}"))
    manifest = short_hashes(mv.data)
    click.echo("\n".join(clip(line) for line in dumps(manifest).rstrip().splitlines()))
    if manifest != mv.data:
        click.echo("# hashes shortened; --json shows them whole")


def _versions_table(versions: list[ModelVersion]) -> str:
    """One row per version, newest first, with up to three headline metrics: those that fit."""
    newest = list(reversed(versions))

    def render(metrics: list[str], **fit: Any) -> str:
        return table(["version", "created", "aliases", "stage", "approval", *metrics],
                     [(f"v{mv.version}", mv.created_at[:10], ",".join(mv.aliases) or "-", mv.stage,
                       mv.approval, *(mv.metrics.get(m) for m in metrics)) for mv in newest], **fit)

    metrics: list[str] = []
    for name in _headline_metrics(versions):
        if len(metrics) == 3:
            break
        if max(map(len, render([*metrics, name]).splitlines())) <= WIDTH:
            metrics.append(name)
    return render(metrics, width=WIDTH, flexible=(2,))


def _headline_metrics(versions: list[ModelVersion]) -> list[str]:
    """The metrics most versions report first, so the table compares like with like."""
    counts: dict[str, int] = {}
    for mv in versions:
        for name in flatten(mv.metrics):
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))
