"""What an import reads from another registry, as plain records, and how its names map.

A source (MLflow, GTO) yields :class:`SourceModel` records; nothing here imports the
source's library. Names another registry allows and modelreg does not (``Fraud
Detector``, a tag key with a space, an alias ``Champion``) are mapped here, in one
place, and every mapping that changed a name is said in the plan.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from modelreg.formats import names

#: the version tag that names where a version came from: the identity an import matches on
#: to import each source version once (``mlflow.version``, ``gto.version``)
SOURCE_TAG = "{kind}.version"
#: the model tag naming the source model (its name there may not be a modelreg name)
MODEL_TAG = "{kind}.name"


@dataclass(frozen=True)
class SourceVersion:
    """One version of a source model, with everything ``register`` records about it."""

    #: the source's own identifier of the version: MLflow's number, GTO's semver
    key: str
    created_at: datetime
    created_by: str | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    #: ``lineage.code`` (repo, commit), ``{}`` when the source recorded none
    code: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    run_url: str | None = None
    #: bytes the artifact holds, when the source can say without a download (the plan shows it)
    size: int | None = None
    #: the source retired it (MLflow's stage Archived, GTO's deprecation): archived here
    archived: bool = False
    #: downloads the artifact into an empty directory and returns its path
    fetch: Callable[[Path], Path] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class SourceModel:
    #: the model's name in modelreg (mapped by :func:`model_name`)
    name: str
    #: the model's name in the source
    source_name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    versions: tuple[SourceVersion, ...] = ()
    #: alias (a modelreg name) -> the source key of the version it points at
    aliases: dict[str, str] = field(default_factory=dict)
    #: what the reader had to change or leave out, said in the plan
    notes: tuple[str, ...] = ()
    #: the source's alias moves, oldest first: (alias, source key, or None when the alias was
    #: removed, what the source calls the move); replayed, one commit each, into a new model
    history: tuple[tuple[str, str | None, str], ...] = ()


def model_name(name: str) -> str:
    """A modelreg model name for a source's: lower case, runs of other characters as ``-``.
    ``Fraud Detector`` -> ``fraud-detector``."""
    out = re.sub(r"[^a-z0-9_.-]+", "-", name.strip().lower())
    out = re.sub(r"\.{2,}", ".", out).strip("-._")
    out = re.sub(r"[-_]*\.[-_]*", ".", out)
    if not out or not names.MODEL_NAME.fullmatch(out):
        out = "model-" + (re.sub(r"[^a-z0-9]+", "-", out).strip("-") or "imported")
    return out[:64].rstrip("-._")


def key(name: str) -> str | None:
    """A modelreg key (metric, param or tag name) for a source's, or None when none can be made."""
    out = re.sub(r"[^A-Za-z0-9_.:/=+-]", "_", name.strip())[:128]
    if out and not re.match(r"[A-Za-z0-9_]", out):
        out = ("_" + out)[:128]
    return out if out and names.KEY_NAME.fullmatch(out) else None


def alias(name: str) -> str | None:
    """A modelreg alias for a source's alias or stage (``Champion`` -> ``champion``), or None."""
    out = name.strip().lower().replace(" ", "-")
    return out if names.ALIAS_NAME.fullmatch(out) and out not in names.RESERVED_ALIASES else None


def keyed(items: dict[str, Any], what: str, notes: list[str]) -> dict[str, Any]:
    """``items`` under modelreg keys; a name changed or dropped is noted."""
    out: dict[str, Any] = {}
    for raw, value in items.items():
        mapped = key(raw)
        if mapped is None or mapped in out:
            notes.append(f"{what} {raw!r} left out: no modelreg key can be made of it")
            continue
        if mapped != raw:
            notes.append(f"{what} {raw!r} recorded as {mapped!r}")
        out[mapped] = value
    return out


def finite(metrics: dict[str, float], what: str, notes: list[str]) -> dict[str, float]:
    """Metrics with NaN and infinities left out (a manifest holds finite numbers only), noted.
    The largest float counts as infinity: MLflow's SQL stores write ±inf as ±max float."""
    out = {}
    for name, value in metrics.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and math.isfinite(value) and abs(value) != sys.float_info.max:
            out[name] = float(value)
        elif number and abs(value) == sys.float_info.max:
            notes.append(f"{what} {name!r} left out: {value!r} is how MLflow's database stores "
                         f"{'-' if value < 0 else ''}infinity, not a finite number")
        else:
            notes.append(f"{what} {name!r} left out: {value!r} is not a finite number")
    return out


def printable(text: str) -> str:
    """Free text without the control characters modelreg refuses (newlines and tabs stay)."""
    from modelreg.formats.text import UNPRINTABLE

    return "".join(ch for ch in text if ord(ch) not in UNPRINTABLE)
