from __future__ import annotations

import click

from modelreg.cli.common import registry


@click.command("codeowners")
@click.option("--write", is_flag=True, help="Regenerate .github/CODEOWNERS in the registry.")
@click.option("--check", is_flag=True,
              help="Fail (exit 1) when .github/CODEOWNERS is missing or out of date.")
def command(write: bool, check: bool) -> None:
    """Print or regenerate .github/CODEOWNERS from owners, policies and admins.

    Each registry/<model>/ goes to the owners in its model.yaml plus the
    promotion approvers (promotion.<alias>.approvals.from) of its policy;
    modelreg.yaml, policies/, schemas/, .github/ and everything else go to
    the admins listed in modelreg.yaml. GitHub then asks those people to
    review each pull request; the approval check counts their approvals.
    The file is generated: edit the owners, policies or admins instead, and
    `modelreg check` fails while the committed file is out of date.

    \b
    Examples:
      modelreg codeowners              # print what would be written
      modelreg codeowners --write      # after changing owners, approvers or admins
      modelreg codeowners --check      # in CI: is the committed file current?
    """
    from modelreg.approvals import codeowners
    from modelreg.edges.snapshot import WorkTree

    if write and check:
        raise click.UsageError("--write and --check are exclusive: regenerate the file, or check it")
    root = registry().root
    if write:
        changed = codeowners.write(root)
        click.echo(f"wrote {codeowners.PATH}" if changed
                   else f"{codeowners.PATH} is up to date; nothing changed.")
    elif check:
        codeowners.check(root)
        click.echo(f"{codeowners.PATH} is up to date.")
    else:
        click.echo(codeowners.render(WorkTree(str(root))), nl=False)
