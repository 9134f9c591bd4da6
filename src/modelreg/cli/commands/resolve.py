from __future__ import annotations

import click

from modelreg.cli.common import emit_json, read_options, registry
from modelreg.cli.completion import complete_uri


@click.command("resolve")
@click.argument("uri", shell_complete=complete_uri)
@read_options
def command(uri: str, at: str | None, as_json: bool) -> None:
    """Resolve a model URI to a version, its artifact's hashes and remote location.

    URIs follow MLflow: models:/NAME/3, models:/NAME@ALIAS, models:/NAME/latest,
    models:/NAME/Production (the alias 'production'); the models:/ prefix is optional.

    \b
    Examples:
      modelreg resolve models:/fraud-detector@production
      modelreg resolve fraud-detector/latest --json
      modelreg resolve models:/fraud-detector@production --at 2026-11-01
    """
    located = registry(at).locate(uri)
    if as_json:
        emit_json(located.to_dict())
        return
    mv, art = located.version, located.to_dict()["artifact"]
    click.echo(f"{mv.model} v{mv.version}" + (f"  ({', '.join(mv.aliases)})" if mv.aliases else ""))
    click.echo(f"artifact  {art['path']}  {art['size']:,} bytes"
               + (f"  {art['format']}" if art["format"] else ""))
    click.echo(f"sha256    {art['sha256']}")
    click.echo(f"md5       {art['md5']}")
    click.echo(f"remote    {located.remote.name}: {located.location}")
