from __future__ import annotations

from typing import Any

import click

from modelreg.cli.common import WIDTH, clip, emit_json, read_options, registry, short_hashes, table
from modelreg.cli.completion import complete_uri
from modelreg.errors import InputError
from modelreg.read.catalog import ModelDetail, ModelVersion
from modelreg.read.diff import flatten


@click.command("show")
@click.argument("target", metavar="MODEL | MODEL/N | MODEL@ALIAS | URI", shell_complete=complete_uri)
@click.option("--metrics", "chosen", metavar="NAME,NAME", callback=lambda _c, _p, v: _names(v),
              help="A model's table: these metric columns, in this order (however wide).")
@click.option("--all-metrics", is_flag=True, help="A model's table: every metric any version reports.")
@read_options
def command(target: str, chosen: list[str] | None, all_metrics: bool, at: str | None, as_json: bool) -> None:
    """Show a model's versions, or one version whole.

    With a model name: one row per version with its aliases, SageMaker-style
    lifecycle stage (None, Staging, Production, Archived) and approval status
    (PendingManualApproval, Approved, Rejected), all derived from the files,
    and the metrics most versions report, as many (up to three) as fit in 100
    columns; a line under the table names those left out. --metrics a,b or
    --all-metrics choose them; --json always has every metric.
    With a version (MODEL/3, MODEL@champion, models:/MODEL/latest): its
    whole manifest.

    \b
    Examples:
      modelreg show fraud-detector
      modelreg show fraud-detector --metrics roc_auc,latency_p95_ms
      modelreg show fraud-detector --all-metrics
      modelreg show fraud-detector/3 --json
      modelreg show fraud-detector@production --at v2026.11
    """
    if chosen is not None and all_metrics:
        raise click.UsageError("--metrics and --all-metrics: give one or the other")
    shown = registry(at).show(target)
    if (chosen is not None or all_metrics) and not isinstance(shown, ModelDetail):
        raise click.UsageError(f"--metrics and --all-metrics choose a model's columns; {target} is one "
                               "version, shown whole (its metrics included)")
    if as_json:
        emit_json(shown.to_dict())
        return
    if isinstance(shown, ModelDetail):
        model, versions = shown.model, shown.versions
        text, left_out = (_versions_table(versions, chosen, all_metrics=all_metrics) if versions
                          else ("No versions yet.", []))  # before any output: a bad --metrics prints nothing
        click.echo(clip(f"{model.name}: {model.description}" if model.description else model.name))
        policy = f"   policy: {model.policy}" if model.policy else ""
        click.echo(clip(f"owners: {' '.join(model.owners) or '-'}{policy}"))
        click.echo(text)
        if left_out:
            many = f"{len(left_out)} metrics" if len(left_out) > 1 else "1 metric"
            click.echo(clip(f"{many} not shown, for width: {', '.join(left_out)}"))
            click.echo("Choose with --metrics NAME,NAME or --all-metrics; --json has every metric.")
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


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise click.BadParameter("name at least one metric, e.g. --metrics roc_auc,f1")
    return names


def _versions_table(versions: list[ModelVersion], chosen: list[str] | None, *,
                    all_metrics: bool) -> tuple[str, list[str]]:
    """One row per version, newest first, and the metrics some version reports but the table
    leaves out. The columns: ``chosen``, or all, or up to three headline metrics, those that fit."""
    newest = list(reversed(versions))
    values = {mv.version: flatten(mv.metrics) for mv in versions}
    reported = _headline_metrics(versions)

    def render(metrics: list[str], **fit: Any) -> str:
        return table(["version", "created", "aliases", "stage", "approval", *metrics],
                     [(f"v{mv.version}", mv.created_at[:10], ",".join(mv.aliases) or "-", mv.stage,
                       mv.approval, *(values[mv.version].get(m) for m in metrics)) for mv in newest], **fit)

    if chosen is not None:
        unknown = [name for name in chosen if name not in reported]
        if unknown:
            raise InputError(f"no version reports {', '.join(unknown)}", field="--metrics",
                             fix=f"name some of {', '.join(reported) or '(none: no version has metrics)'}")
        return render(chosen), []
    if all_metrics:
        return render(reported), []
    metrics: list[str] = []
    for name in reported:
        if len(metrics) == 3:
            break
        if max(map(len, render([*metrics, name]).splitlines())) <= WIDTH:
            metrics.append(name)
    return render(metrics, width=WIDTH, flexible=(2,)), [m for m in reported if m not in metrics]


def _headline_metrics(versions: list[ModelVersion]) -> list[str]:
    """The metrics most versions report first, so the table compares like with like."""
    counts: dict[str, int] = {}
    for mv in versions:
        for name in flatten(mv.metrics):
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))
