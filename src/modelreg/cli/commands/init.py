from __future__ import annotations

from pathlib import Path

import click

from modelreg.write.init import DEFAULT_REMOTE_DIR, REMOTE_NAME, init


@click.command("init")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--remote", metavar="URL",
              help="DVC remote for artifacts: s3://, gs://, azure://, ssh://, or a path. "
              "Default: .modelreg/remote, a folder inside this clone that teammates cannot reach.")
@click.option("--policy", default="default", show_default=True,
              help="Policy preset to copy into policies/.")
@click.option("--site-workflow", is_flag=True,
              help="Also write .github/workflows/modelreg-site.yml, which publishes `modelreg site` "
              "on GitHub Pages.")
def command(path: Path, remote: str | None, policy: str, site_workflow: bool) -> None:
    """Create a registry at PATH (default: here), or complete an existing one.

    Writes modelreg.yaml, registry/, policies/, schemas/ and .dvc/ with a
    default remote; runs `git init` when PATH is not a repository yet. Only
    missing files are created, so running it twice changes nothing.

    \b
    Examples:
      modelreg init
      modelreg init models-registry --remote s3://acme-ml/registry
      modelreg init --remote ssh://ml@storage.internal/srv/dvc
      modelreg init --site-workflow          # then: the catalog on GitHub Pages
    """
    result = init(path, remote=remote, policy=policy, site_workflow=site_workflow)
    if not result.created:
        click.echo(f"{result.root} is already a registry; nothing changed.")
        return
    click.echo(f"Initialised a registry in {result.root}")
    for rel in result.created:
        click.echo(f"  created {rel}")
    if result.local_remote:
        click.echo(f"Artifacts go to {DEFAULT_REMOTE_DIR}, a folder inside this clone that teammates "
                   "cannot reach.")
        click.echo(f"  For a team, set a shared remote: dvc remote add -d -f {REMOTE_NAME} "
                   "s3://BUCKET/PATH (or ssh://, gs://, azure://)")
    elif result.remote:
        click.echo(f"  artifacts go to the DVC remote {result.remote}")
    if result.install_advice:
        click.echo(f"Note: {result.install_advice}.")
    click.echo("Next: commit these files, then `modelreg register MODEL --artifact FILE --owner @team`.")
