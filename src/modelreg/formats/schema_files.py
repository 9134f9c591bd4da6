"""The committed ``schemas/*.schema.json``: which differ from what this modelreg generates, and
regenerating them (``modelreg schema --check`` / ``--write``, and the schema gate)."""

from __future__ import annotations

from pathlib import Path

from modelreg.edges.atomic import write_atomic
from modelreg.errors import ModelregError
from modelreg.formats import models, names
from modelreg.formats.snapshot import Snapshot, WorkTree


def path_of(stem: str) -> str:
    return f"{names.SCHEMA_DIR}/{stem}.schema.json"


def stale(snapshot: Snapshot) -> list[str]:
    """The schema files of ``snapshot`` that are missing or differ from the generated ones."""
    out = []
    for stem in models.SCHEMAS:
        raw = snapshot.read(path_of(stem))
        if raw is None or raw.decode("utf-8", "replace") != models.json_schema_text(stem):
            out.append(path_of(stem))
    return out


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
