from __future__ import annotations

import click

from modelreg.cli.common import emit_json, progress, registry
from modelreg.cli.completion import complete_uri


@click.command("get")
@click.argument("uri", shell_complete=complete_uri)
@click.option("--output", "-o", "output", type=click.Path(), default=".", show_default=True,
              help="Where to write: a path, or a directory to write the artifact's own name into.")
@click.option("--force", is_flag=True, help="Replace an existing file at the output path.")
@click.option("--at", "at", metavar="REV", help="Resolve the URI as of a commit, branch, tag or date.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(uri: str, output: str, force: bool, at: str | None, as_json: bool) -> None:
    """Download a version's artifact from the DVC remote, verified by sha256.

    Bytes are checked against the manifest's sha256 (and DVC's md5) while
    being written beside the output, then renamed into place: on a mismatch
    nothing is left at the output path and the command fails.

    \b
    Examples:
      modelreg get models:/fraud-detector@production -o model.pkl
      modelreg get fraud-detector/3 -o artifacts/
    """
    reg = registry(at)
    mv = reg.resolve(uri)
    size = mv.artifact.get("size")
    size = size if isinstance(size, int) and not isinstance(size, bool) else 0
    with progress(f"Fetching and verifying {mv.model} v{mv.version}", size) as advance:
        got = reg.get(mv.uri, output, force=force, progress=advance)
    if as_json:
        emit_json(got.to_dict())
        return
    click.echo(f"{got.path}  ({mv.model} v{mv.version}, sha256 verified)")
