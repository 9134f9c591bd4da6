"""Regenerating a registry's committed ``schemas/*.schema.json`` (``modelreg schema --write``), and
refusing stale ones (``--check``)."""

from __future__ import annotations

from pathlib import Path

from modelreg.edges.atomic import write_atomic
from modelreg.edges.snapshot import WorkTree
from modelreg.errors import ModelregError
from modelreg.formats import models, names
from modelreg.formats.schema_files import stale


def write(root: Path) -> list[str]:
    """Regenerate the stale schema files of the work tree; the paths written."""
    written = stale(WorkTree(str(root)))
    for rel in written:
        (root / names.SCHEMA_DIR).mkdir(exist_ok=True)
        write_atomic(root / rel, models.json_schema_text(Path(rel).name.removesuffix(".schema.json")))
    return written


def check(root: Path) -> None:
    """Raise when a schema file of the work tree is stale (``modelreg schema --check``)."""
    out_of_date = stale(WorkTree(str(root)))
    if out_of_date:
        raise ModelregError(f"out of date: {', '.join(out_of_date)}",
                            fix="run `modelreg schema --write` and commit")
