from __future__ import annotations

import click

from modelreg.cli.common import registry


@click.command("schema")
@click.argument("name", required=False, type=click.Choice(["version", "model", "policy", "config"]))
@click.option("--write", is_flag=True, help="Regenerate schemas/*.schema.json in the registry.")
@click.option("--check", is_flag=True, help="Fail (exit 1) when the committed schemas are out of date.")
def command(name: str | None, write: bool, check: bool) -> None:
    """Print or regenerate the JSON Schemas of the registry's files.

    The schemas are generated from modelreg's models and ship with it; editors
    use them (through the yaml-language-server comment atop each file) to
    complete and check manifests as you type.

    \b
    Examples:
      modelreg schema version          # print one schema
      modelreg schema --write          # regenerate schemas/ after upgrading modelreg
      modelreg schema --check          # in CI: are the committed schemas current?
    """
    from modelreg.formats import models
    from modelreg.write import schemas

    if not write and not check:
        click.echo(models.json_schema_text(name or "version"), nl=False)
        return
    root = registry().root
    if write:
        written = schemas.write(root)
        click.echo("\n".join(f"wrote {p}" for p in written) or "schemas/ is up to date; nothing changed.")
    else:
        schemas.check(root)
        click.echo("schemas/ is up to date.")
