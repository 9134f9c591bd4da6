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
@click.option("--upgrade", is_flag=True,
              help="Rewrite the files modelreg generates (workflows, schemas/, CODEOWNERS) as this "
              "modelreg writes them for this modelreg.yaml, keeping what you put between their "
              "`# --- your ...` markers; print the diff.")
@click.option("--dry-run", is_flag=True, help="With --upgrade: print the diff, write nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --upgrade: print the result as JSON.")
def command(path: Path, remote: str | None, policy: str, site_workflow: bool, upgrade: bool,
            dry_run: bool, as_json: bool) -> None:
    """Create a registry at PATH (default: here), or complete an existing one.

    Writes modelreg.yaml, registry/, policies/, schemas/ and .dvc/ with a
    default remote; runs `git init` when PATH is not a repository yet. Only
    missing files are created, so running it twice changes nothing.

    With --upgrade, brings an existing registry's generated files in step
    with this modelreg and modelreg.yaml (after adding an environment, or
    upgrading modelreg): each workflow it has is rewritten, except the lines
    between its `# --- your NAME (JOB): kept by modelreg init --upgrade ---`
    and `# --- end of your NAME (JOB) ---` markers; stale schemas/ and
    CODEOWNERS are regenerated. It writes every file or none, and prints the
    diff. `modelreg check` fails, naming this command, while one is stale.

    \b
    Examples:
      modelreg init
      modelreg init models-registry --remote s3://acme-ml/registry
      modelreg init --remote ssh://ml@storage.internal/srv/dvc
      modelreg init --site-workflow          # then: the catalog on GitHub Pages
      modelreg init --upgrade --dry-run      # what an upgrade would change
      modelreg init --upgrade                # after changing environments: in modelreg.yaml
    """
    if upgrade:
        if remote is not None or policy != "default" or site_workflow:
            raise click.UsageError("--upgrade rewrites what the registry has: --remote, --policy and "
                                   "--site-workflow belong to `modelreg init` without it")
        _upgrade(path, dry_run=dry_run, as_json=as_json)
        return
    if dry_run or as_json:
        raise click.UsageError("--dry-run and --json go with --upgrade")
    result = init(path, remote=remote, policy=policy, site_workflow=site_workflow)
    if not result.created:
        click.echo(f"{result.root} is already a registry; nothing changed.")
        _stale_hint(result.root)
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
    _stale_hint(result.root)


def _upgrade(path: Path, *, dry_run: bool, as_json: bool) -> None:
    from modelreg.cli.common import emit_json
    from modelreg.write.upgrade import upgrade

    result = upgrade(path, dry_run=dry_run)
    if as_json:
        emit_json(result.to_dict())
        return
    for rel in result.hand_maintained:
        click.echo(f"left alone {rel}: it is hand-maintained (its first lines say so)")
    for rel in result.absent:
        click.echo(f"not written {rel}: the registry does not have it "
                   "(`modelreg init` writes what is missing)")
    if not result.files:
        click.echo(f"The generated files of {result.root} are what modelreg {result.version} writes; "
                   "nothing changed.")
        return
    verb = {"create": "would create", "update": "would rewrite", "delete": "would delete"} if dry_run else {
        "create": "created", "update": "rewrote", "delete": "deleted"}
    for change in result.files:
        click.echo(f"{verb[change.action]} {change.path}: {change.why}")
        for name in change.kept:
            click.echo(f"  kept your {name}")
        for name in change.dropped:
            click.echo(f"  dropped your {name}: its job is gone (its lines are in the diff below)")
        if change.workflow and change.action == "update":
            click.echo("  every line outside the `# --- your ...` markers is as modelreg writes it: "
                       "edits of yours there are replaced (see the diff)")
    click.echo()
    for change in result.files:
        click.echo(change.diff(), nl=False)
    if dry_run:
        click.echo("Nothing written (--dry-run).")
    else:
        click.echo("Next: review the diff, commit, and open a pull request.")


def _stale_hint(root: Path) -> None:
    """Plain ``init`` writes only what is missing: say when what is there is stale."""
    from modelreg.errors import ModelregError
    from modelreg.write.upgrade import plan

    try:
        stale = plan(root).files
    except ModelregError:
        return  # `modelreg check` and `init --upgrade` name what keeps it from being planned
    if stale:
        click.echo(f"{len(stale)} generated file(s) differ from what this modelreg writes "
                   f"({', '.join(f.path for f in stale)}): `modelreg init --upgrade --dry-run` shows "
                   "the diff.")
