from __future__ import annotations

from pathlib import Path

import click

from modelreg.initialize import init


@click.command("init")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--remote", metavar="URL",
              help="DVC remote for artifacts: s3://, gs://, azure://, ssh://, or a path. "
              "Default: a local directory, .modelreg/remote, inside the registry.")
@click.option("--policy", default="default", show_default=True,
              help="Policy preset to copy into policies/.")
def command(path: Path, remote: str | None, policy: str) -> None:
    """Create a registry at PATH (default: here), or complete an existing one.

    Writes modelreg.yaml, registry/, policies/, schemas/ and .dvc/ with a
    default remote; runs `git init` when PATH is not a repository yet. Only
    missing files are created, so running it twice changes nothing.

    \b
    Examples:
      modelreg init
      modelreg init models-registry --remote s3://acme-ml/registry
      modelreg init --remote ssh://ml@storage.internal/srv/dvc
    """
    result = init(path, remote=remote, policy=policy)
    if not result.created:
        click.echo(f"{result.root} is already a registry; nothing changed.")
        return
    click.echo(f"Initialised a registry in {result.root}")
    for rel in result.created:
        click.echo(f"  created {rel}")
    if result.remote:
        click.echo(f"  artifacts go to the DVC remote {result.remote}")
    click.echo("Next: commit these files, then `modelreg register MODEL --artifact FILE --owner @team`.")
