from __future__ import annotations

import click

from modelreg.cli.common import emit_json, read_options, registry
from modelreg.cli.completion import complete_uri
from modelreg.errors import NotFoundError
from modelreg.formats.pointers import default_remote


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
    reg = registry(at)
    mv = reg.resolve(uri)
    pointer = mv.pointer
    if pointer is None:
        raise NotFoundError(f"{mv.source} has no DVC pointer for its artifact",
                            fix="the version is incomplete; run `modelreg check` on it")
    remote = default_remote(reg.catalog.snapshot)
    art = mv.artifact
    data = {
        "uri": uri, "model": mv.model, "version": mv.version, "aliases": list(mv.aliases),
        "stage": mv.stage, "commit": reg.commit,
        "artifact": {"path": art.get("path"), "type": art.get("type", "file"), "size": pointer.size,
                     "md5": pointer.md5, "sha256": art.get("sha256"), "format": art.get("format")},
        "remote": {"name": remote.name, "location": remote.location(pointer.md5)},
    }
    if as_json:
        emit_json(data)
        return
    click.echo(f"{mv.model} v{mv.version}" + (f"  ({', '.join(mv.aliases)})" if mv.aliases else ""))
    click.echo(f"artifact  {art.get('path')}  {pointer.size:,} bytes"
               + (f"  {art['format']}" if art.get("format") else ""))
    click.echo(f"sha256    {art.get('sha256')}")
    click.echo(f"md5       {pointer.md5}")
    click.echo(f"remote    {remote.name}: {remote.location(pointer.md5)}")
