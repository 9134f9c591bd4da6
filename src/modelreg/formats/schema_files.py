"""The committed ``schemas/*.schema.json``: which differ from what this modelreg generates (the schema
gate, and ``modelreg schema --check``; ``write/schemas.py`` regenerates them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelreg.formats import models, names

if TYPE_CHECKING:
    from modelreg.edges.snapshot import Snapshot


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

