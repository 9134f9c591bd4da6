from __future__ import annotations

import click

from modelreg.cli.common import emit_json, read_options, registry, warn


@click.command("site")
@click.option("-o", "--output", "output", required=True, metavar="DIR",
              type=click.Path(file_okay=False, dir_okay=True, writable=True),
              help="Where to write the catalog: a new or empty directory, or an earlier catalog.")
@read_options
@click.option("--repo", metavar="OWNER/NAME",
              help="The GitHub repository, for links to pull requests and commits (default: "
              "$GITHUB_REPOSITORY, else origin on github.com; none when unknown).")
@click.option("--title", default="Model registry", show_default=True, help="The catalog's title.")
@click.option("-j", "--jobs", type=click.IntRange(min=1, max=64), default=None, metavar="N",
              help="Processes to render with (default: one per CPU, up to 8, from 2,000 versions on).")
@click.option("--full", is_flag=True,
              help="Render every model, even those whose pages in DIR are current.")
def command(output: str, at: str | None, as_json: bool, repo: str | None, title: str,
            jobs: int | None, full: bool) -> None:
    """Write the registry as a static HTML catalog: no server, no JavaScript.

    An index of models (aliases, owners, tags, status), a page per model (its
    versions with stage and approval, a chart of its headline metric across
    versions marking which version held production when, its promotions and
    deployments with approvers) and a page per version (card, metrics, slices,
    lineage, hashes, and a link to its bill of materials, a CycloneDX 1.6
    ML-BOM written beside it as vN.bom.cdx.json, built from the same files as
    `modelreg bom`). Pages link to each other by relative paths: publish the
    directory on GitHub Pages (docs/site.md has the workflow), any web server,
    or open index.html from disk.

    History comes from git and the deployment ledger (git notes,
    refs/notes/modelreg: fetch them first in a fresh clone); GitHub is never
    asked. Each history row says where it comes from (git or the ledger); ledger
    records git does not bear out are listed apart, and records on commits not
    on main are counted in a warning. Pages of models and versions gone since an
    earlier build are removed.

    Building into an earlier catalog writes only the pages of the models that
    changed since: DIR keeps what each model was rendered from (its files' tree,
    its last commit, its ledger records: .modelreg-site.json), and another
    modelreg, other options or --full render everything.

    \b
    Examples:
      modelreg site -o _site
      modelreg site -o _site --at v2026.11 --repo acme/registry
    """
    from modelreg.site import build

    built = build(registry(at), output, repo=repo, title=title, jobs=jobs, full=full)
    warn(built.warnings)
    if as_json:
        emit_json(built.to_dict())
        return
    click.echo(f"Wrote {built.pages} page{'s' if built.pages != 1 else ''} ({built.models} models, "
               f"{built.versions} versions, {built.bytes / 1024:.0f} KB) to {built.out}")
    if built.rendered < built.models:
        click.echo(f"rendered {built.rendered} of {built.models} models; the pages of the others were "
                   "current (rendered from the same files, history and ledger records)")
    click.echo(f"largest page: {built.largest} ({built.largest_bytes / 1024:.0f} KB)")
    click.echo(f"and {built.boms} bill{'s' if built.boms != 1 else ''} of materials "
               "(models/MODEL/vN.bom.cdx.json, CycloneDX 1.6), each linked from its version's page")
    for rel in [*built.removed, *built.removed_boms]:
        click.echo(f"removed {rel} (no longer in the registry)")
    click.echo(f"open {built.out}/index.html")
