"""Turning what a user hands ``register`` (files, ``k=v`` pairs) into plain data.

Metrics files may be JSON or YAML, flat (``{"roc_auc": 0.97}``) or with
slices nested under ``slices`` (``{"slices": {"card=visa": {"roc_auc": 0.97}}}``).
NaN, infinities, strings and booleans are refused here, before anything is
hashed or written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from modelreg import yamlio
from modelreg.errors import InputError


def read_data_file(path: Path, option: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", field=option,
                         fix="check the path") from None
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"invalid JSON: {exc}", file=str(path),
                             fix="fix the JSON syntax") from None
        _refuse_non_finite(doc, str(path), "")
    else:
        doc = yamlio.loads(raw, str(path))
    if not isinstance(doc, dict):
        raise InputError("expected a mapping of names to values", file=str(path),
                         fix='write {"name": value, ...}')
    return doc


def _refuse_non_finite(value: Any, source: str, field: str) -> None:
    """JSON allows NaN and Infinity; name the first field that holds one."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{value} is not a finite number", file=source, field=field or None,
                         fix="write a real number, or leave the field out")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, sub in items:
        _refuse_non_finite(sub, source, f"{field}.{key}" if field else str(key))


def split_metrics(doc: dict[str, Any], source: str) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Flat metrics and per-slice metrics from one metrics document."""
    slices_raw = doc.get("slices", {})
    if not isinstance(slices_raw, dict):
        raise InputError("expected a mapping of slice name to metrics", file=source,
                         field="slices", fix='write {"slices": {"segment=a": {"auc": 0.9}}}')
    metrics = {k: number(v, source, k) for k, v in doc.items() if k != "slices"}
    slices: dict[str, dict[str, float]] = {}
    for name, values in slices_raw.items():
        if not isinstance(values, dict):
            raise InputError("expected a mapping of metric to value", file=source,
                             field=f"slices.{name}", fix='write {"auc": 0.9}')
        slices[name] = {k: number(v, source, f"slices.{name}.{k}") for k, v in values.items()}
    return metrics, slices


def number(value: Any, source: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"expected a number, got {type(value).__name__} {value!r}",
                         file=source, field=field, fix="metrics must be numbers")
    if not math.isfinite(value):
        raise InputError(f"{value} is not a finite number", file=source, field=field,
                         fix="write a real number, or leave the metric out")
    return value


def assignments(pairs: tuple[str, ...] | list[str], option: str) -> dict[str, str]:
    """``("a=1", "b=x")`` → ``{"a": "1", "b": "x"}``; the last of repeated keys wins."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"{pair!r} is not KEY=VALUE", field=option,
                             fix=f"write {option} name=value")
        out[key.strip()] = value.strip()
    return out


def scalar(text: str, option: str) -> Any:
    """A ``--param`` value typed as YAML 1.2 would: ``6`` → 6, ``0.1`` → 0.1, ``gbtree`` → str."""
    try:
        value = yamlio.loads(text, option)
    except InputError:
        return text
    return text if isinstance(value, (dict, list)) or (value is None and text) else value


def metric_value(text: str, key: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number", field=f"--metric {key}",
                         fix="write --metric name=0.97") from None
    return number(value, "--metric", key)
