from __future__ import annotations

import re

import click

from modelreg.catalog import ModelVersion
from modelreg.cli.common import emit_json, read_options, registry, table
from modelreg.compare import flatten


@click.command("show")
@click.argument("target", metavar="MODEL | MODEL/N | MODEL@ALIAS | URI")
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
    reg = registry(at)
    if re.fullmatch(r"[^/@:]+", target):
        model = reg.model(target)
        versions = reg.versions(target)
        if as_json:
            emit_json({"name": model.name, "description": model.description, "owners": model.owners,
                       "policy": model.policy, "aliases": model.aliases, "latest": model.latest,
                       "tags": model.tags, "versions": [_summary(mv) for mv in versions]})
            return
        click.echo(f"{model.name}: {model.description}" if model.description else model.name)
        policy = f"   policy: {model.policy}" if model.policy else ""
        click.echo(f"owners: {' '.join(model.owners) or '-'}{policy}")
        metric_names = _headline_metrics(versions)
        rows = [(f"v{mv.version}", mv.created_at[:10], ",".join(mv.aliases) or "-", mv.stage,
                 mv.approval, *(mv.metrics.get(m) for m in metric_names)) for mv in reversed(versions)]
        click.echo(table(["version", "created", "aliases", "stage", "approval", *metric_names], rows)
                   if rows else "No versions yet.")
        rejected = reg.model(target).rejected
        for number, reason in sorted(rejected.items()):
            click.echo(f"v{number} rejected: {reason}")
        return
    mv = reg.resolve(target)
    if as_json:
        emit_json(mv.to_dict())
        return
    from modelreg.yamlio import dumps

    click.echo(f"{mv.model} v{mv.version}   aliases: {','.join(mv.aliases) or '-'}   "
               f"stage: {mv.stage}   approval: {mv.approval}")
    click.echo(dumps(mv.data).rstrip())


def _summary(mv: ModelVersion) -> dict[str, object]:
    return {"version": mv.version, "created_at": mv.created_at, "created_by": mv.data.get("created_by"),
            "aliases": list(mv.aliases), "stage": mv.stage, "approval": mv.approval,
            "metrics": mv.metrics, "tags": mv.tags, "description": mv.description}


def _headline_metrics(versions: list[ModelVersion], limit: int = 3) -> list[str]:
    """The metrics most versions report, so the table compares like with like."""
    counts: dict[str, int] = {}
    for mv in versions:
        for name in flatten(mv.metrics):
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))[:limit]
