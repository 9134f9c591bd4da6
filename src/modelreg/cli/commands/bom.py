from __future__ import annotations

from pathlib import Path

import click

from modelreg.cards.cyclonedx import FORMATS, SPEC_VERSION, save
from modelreg.cli.common import emit_json, read_options, registry
from modelreg.edges.confine import check_output


@click.command("bom")
@click.argument("target", metavar="MODEL/N | MODEL@ALIAS | URI")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="cyclonedx", show_default=True,
              help="cyclonedx: a CycloneDX 1.6 ML-BOM in JSON. spdx: refused, with the reason "
              "(no validator of SPDX 3 is at hand; docs/bom.md).")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the BOM to this file (whole or not at all) instead of printing it; "
              "never inside registry/ or .git.")
@read_options
def command(target: str, fmt: str, output: Path | None, at: str | None, as_json: bool) -> None:
    """Write a version's bill of materials: a CycloneDX 1.6 ML-BOM (JSON).

    The model is a component of type machine-learning-model with its SHA-256,
    its framework and its training data (lineage.data, with their digests) as
    components, the training code's repository and commit, and a model card:
    every metric and every per-slice value from version.yaml, the params, and
    the intended use, ethical considerations and caveats written in the
    registered card. Who registered the version and whose approvals of the
    moves of an alias to it counted (as the deploy job's ledger recorded them;
    GitHub is not asked) are annotations. The same files give the same bytes:
    the timestamp is the version's created_at and the serial number is derived
    from the content. Nothing is downloaded: the artifact's bytes are not
    hashed again here (`modelreg get` verifies them).

    The BOM is printed on stdout (with or without --json); with -o it is
    written to the file, and --json prints what was written.

    \b
    Examples:
      modelreg bom fraud-detector/3
      modelreg bom models:/fraud-detector@production -o fraud-detector.cdx.json
      modelreg bom fraud-detector/3 --at v2026.11 > bom.json
    """
    reg = registry(at)
    if output is not None:  # before anything is read: never into registry/ or .git
        check_output(reg.top, str(output), "--output")
    bom = reg.bom(target, format=fmt)
    text = bom.dumps()
    if output is None:
        click.echo(text, nl=False)
        return
    save(text, output)
    if as_json:
        emit_json({"output": str(output), "model": bom.model, "version": bom.version, "format": fmt,
                   "spec_version": SPEC_VERSION, "serial_number": bom.serial_number})
        return
    click.echo(f"wrote {output} ({bom.model} v{bom.version}, CycloneDX {SPEC_VERSION} ML-BOM, "
               f"{bom.serial_number})")
