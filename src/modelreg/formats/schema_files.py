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
        # a checkout with core.autocrlf (or `* text eol=crlf`) has the same file with CRLF line ends
        text = None if raw is None else raw.decode("utf-8", "replace").replace("\r\n", "\n")
        if text != models.json_schema_text(stem):
            out.append(path_of(stem))
    return out

