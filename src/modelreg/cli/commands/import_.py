"""``modelreg import mlflow|gto``: another registry's models, versions and aliases, on one branch."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from modelreg.cli.common import emit_json, registry
from modelreg.cli.main import refuse_repeats
from modelreg.errors import InputError

if TYPE_CHECKING:
    from modelreg.imports.apply import Imported


class _Group(click.Group):
    """Its subcommands' options given twice are refused, as every command's are (cli/main.py)."""

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        name, found, rest = super().resolve_command(ctx, args)
        if found is not None:
            refuse_repeats(found, ctx, rest)
        return name, found, rest


@click.group("import", cls=_Group)
def command() -> None:
    """Import another registry's models, versions and aliases (MLflow, GTO).

    Every version is registered as `modelreg register` would (artifact hashed,
    pushed to the DVC remote, sha256 recorded, the policy's artifact rules
    applied), one commit each, on one branch ready for one pull request. The
    source's identifier of each version is recorded in a tag (mlflow.version,
    gto.version): running the import again imports only what is new.

    \b
    Examples:
      modelreg import mlflow --tracking-uri sqlite:////srv/mlflow/mlflow.db --dry-run
      modelreg import mlflow --tracking-uri http://mlflow:5000 --model fraud --owner @acme/fraud
      modelreg import gto ../fraud-gto-repo --owner @acme/fraud
    """


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--model", "models", multiple=True, metavar="NAME",
                     help="Import only this model, by its name in the source (repeatable)."),
        click.option("--rename", "renames", multiple=True, metavar="SOURCE_NAME=NAME",
                     help="Import the source's model SOURCE_NAME as the model NAME here (repeatable): "
                          "for a name that collides with another model."),
        click.option("--policy", metavar="NAME",
                     help="The policy (policies/NAME.yaml) each model the import creates names, e.g. a "
                          "laxer one for history imported as it is (docs/migrate-from-mlflow.md)."),
        click.option("--owner", "owners", multiple=True, metavar="@ORG/TEAM",
                     help="Owner of each model the import creates (repeatable); routes reviews."),
        click.option("--dry-run", is_flag=True,
                     help="Show the plan (models, versions, aliases, bytes to copy); write nothing."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text."),
    ]):
        func = option(func)
    return func


@command.command("mlflow")
@click.option("--tracking-uri", required=True, metavar="URI",
              help="MLflow's tracking URI: a server (http://...), a database (sqlite:///...) or a directory.")
@click.option("--registry-uri", metavar="URI", help="MLflow's registry URI, when not the tracking URI.")
@click.option("--branch", default="modelreg/import-mlflow", show_default=True, metavar="NAME",
              help="The branch the import commits on (created from HEAD, or continued).")
@_common
def mlflow_command(tracking_uri: str, registry_uri: str | None, branch: str, models: tuple[str, ...],
                   renames: tuple[str, ...], policy: str | None, owners: tuple[str, ...], dry_run: bool,
                   as_json: bool) -> None:
    """Import an MLflow model registry.

    Each registered model (description, tags) becomes registry/NAME/model.yaml;
    each version, oldest first, a version with its tags, description, creation
    time, the source run's metrics and params, and the run's git commit
    (mlflow.source.git.commit) as lineage; artifacts are downloaded through
    MLflow. MLflow's numbers are kept when they run from 1 without a gap (the
    plan says any other mapping; the tag mlflow.version keeps MLflow's number).
    Aliases are added as they are; the legacy stages Production and Staging
    become the aliases production and staging, Archived archives the version.
    An alias the registry already points elsewhere is left as it is.

    \b
    Examples:
      modelreg import mlflow --tracking-uri sqlite:////srv/mlflow/mlflow.db --dry-run
      modelreg import mlflow --tracking-uri http://mlflow:5000 --model fraud --owner @acme/fraud
      modelreg import mlflow --tracking-uri ./mlruns --branch import/mlflow --json
      modelreg import mlflow --tracking-uri ./mlruns --rename "Fraud Detector=fraud-detector-mlflow"
      modelreg import mlflow --tracking-uri ./mlruns --policy imported --owner @acme/ml
    """
    done = registry().import_mlflow(tracking_uri, registry_uri=registry_uri, models=models,
                                    branch=branch, owners=owners, dry_run=dry_run,
                                    renames=_renames(renames), policy=policy)
    _show(done, as_json, dry_run)


@command.command("gto")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--branch", default="modelreg/import-gto", show_default=True, metavar="NAME",
              help="The branch the import commits on (created from HEAD, or continued).")
@_common
def gto_command(path: str, branch: str, models: tuple[str, ...], renames: tuple[str, ...],
                policy: str | None, owners: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Import the artifacts of the GTO repository at PATH (default: here).

    Artifacts (dvc.yaml's artifacts: section, or artifacts.yaml) become models;
    version tags (NAME@v1.2.3), in semver order, become versions 1, 2, 3...
    (the semver kept in the tag gto.version), each with the artifact's bytes at
    the tagged commit (read through DVC when DVC tracks them); the latest stage
    assignments (NAME#prod#N) become aliases; deprecated versions are archived.

    \b
    Examples:
      modelreg import gto ../models-repo --dry-run
      modelreg import gto ../models-repo --model churn --owner @acme/churn
    """
    done = registry().import_gto(path, models=models, branch=branch, owners=owners, dry_run=dry_run,
                                 renames=_renames(renames), policy=policy)
    _show(done, as_json, dry_run)


def _renames(given: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in given:
        source_name, sep, name = item.rpartition("=")
        if not sep or not source_name or not name:
            raise InputError(f"--rename {item!r} is not SOURCE_NAME=NAME", field="--rename",
                             fix='e.g. --rename "Fraud Detector=fraud-detector-mlflow"')
        if source_name in out:
            raise InputError(f"--rename names {source_name!r} twice", field="--rename", fix="give it once")
        out[source_name] = name
    return out


def _show(done: Imported, as_json: bool, dry_run: bool) -> None:
    if as_json:
        emit_json(done.to_dict())
        return
    plan = done.plan
    label = plan.label
    size = plan.bytes
    if dry_run:
        click.echo(f"Plan (dry run, nothing written): {sum(len(m.versions) for m in plan.models)} "
                   f"version(s) to import from {label}, "
                   + (f"{size:,} bytes to copy" if size is not None else "size unknown until downloaded"))
    _show_plan(done, dry_run)
    if dry_run:
        for note in done.notes:
            click.echo(f"note: {note}")
        return
    if not done.written:
        click.echo(f"Nothing new to import from {label}.")
        return
    click.echo(f"Imported {len(done.versions)} version(s) from {label} on branch {done.branch}; "
               "each artifact pushed to the DVC remote and its sha256 recorded.")
    for note in done.notes:
        click.echo(f"note: {note}")
    click.echo(f"Next: `modelreg check`, then push {done.branch} and open one pull request.")


def _show_plan(done: Imported, dry_run: bool) -> None:
    plan = done.plan
    label = plan.label
    for step in plan.models:
        head = f"{step.name}" + (f" (from {label} {step.source.source_name!r})"
                                 if step.source.source_name != step.name else "")
        state = "new model" if step.create else "exists" if step.skipped or not step.empty else "not imported"
        click.echo(f"{head}: {state}")
        for version in step.versions:
            size_text = f", {version.source.size:,} bytes" if version.source.size is not None else ""
            click.echo(f"  v{version.number} <- {label} {version.source.key} "
                       f"({version.source.created_at:%Y-%m-%d}{size_text})")
        if step.skipped:
            click.echo(f"  already imported: {', '.join(f'{k} (v{v})' for k, v in step.skipped.items())}")
        for alias, target, what in step.history:
            click.echo(f"  replay {what}: " + (f"{alias} -> v{target}" if target else f"remove {alias}"))
        landed = done.aliases.get(step.name, {})
        for alias, number in step.aliases.items():
            if dry_run and alias in done.gated.get(step.name, {}):
                click.echo(f"  alias {alias} -> v{number}: will be left out, "
                           f"{done.gated[step.name][alias]}; promote it in its own pull request")
            elif dry_run or landed.get(alias) == number:
                click.echo(f"  alias {alias} -> v{number}")
            else:
                click.echo(f"  alias {alias} -> v{number}: left out, the gates refuse it")
        for number in step.archive:
            click.echo(f"  archive v{number}")
        if dry_run:
            for note in step.notes:
                click.echo(f"  note: {note}")
