"""Turning what a user hands ``register`` (files, ``k=v`` pairs) into plain data.

Metrics files may be JSON or YAML, flat (``{"roc_auc": 0.97}``) or with
slices nested under ``slices`` (``{"slices": {"card=visa": {"roc_auc": 0.97}}}``).
NaN, infinities, strings and booleans are refused here, before anything is
hashed or written.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from modelreg.edges.hashing import describe
from modelreg.errors import InputError
from modelreg.formats import yamlio

#: the largest metrics, params or card file read (the same cap as a registry file)
MAX_BYTES = yamlio.MAX_BYTES
def check_link(path: Path, option: str) -> None:
    """A symbolic link the user names, anywhere in the path, is followed only when its target
    stays inside the directory the link is in.

    A link planted in a training output (``card.md -> ~/.ssh/id_rsa``, or a directory
    ``out/sub -> /secret``) would otherwise copy a file from anywhere on the machine into
    git or the DVC remote. System links such as ``/bin -> usr/bin`` stay inside their
    directory and are followed.
    """
    current = Path(path.anchor) if path.is_absolute() else Path()
    for part in path.parts[1:] if path.is_absolute() else path.parts:
        current = current / part
        if not current.is_symlink():
            continue
        target, home = os.path.realpath(current), os.path.realpath(current.parent)
        if not target.startswith(home.rstrip(os.sep) + os.sep):
            what = f"{path}" if current == path else f"{path}: its directory {current}"
            raise InputError(f"{what} is a symbolic link to {target}, outside {home}",
                             field=option, fix="name the file itself, or copy it into that directory")


def kind(path: Path, option: str) -> str:
    """``"file"`` or ``"directory"`` for what the user named; anything else is refused at once."""
    check_link(path, option)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", field=option, fix="check the path") from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    raise InputError(f"{path} is {describe(mode)}, not a regular file or directory", field=option,
                     fix="point it at a file or directory on disk")


def read_user_file(path: Path, option: str, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file the user named, refused before reading when over ``max_bytes``.

    Checked on the opened file, so swapping the path for a FIFO or ``/dev/zero`` between
    the check and the read cannot make the read block or grow memory without bound.
    """
    if kind(path, option) != "file":
        raise InputError(f"{path} is a directory, not a regular file", field=option,
                         fix="point it at a file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", field=option, fix="check the path") from None
    with os.fdopen(fd, "rb") as file:
        mode, size = os.fstat(fd).st_mode, os.fstat(fd).st_size
        if not stat.S_ISREG(mode):
            raise InputError(f"{path} is {describe(mode)}, not a regular file", field=option,
                             fix="point it at a file on disk")
        if size > max_bytes:
            raise InputError(f"{path} is {size:,} bytes, over the limit of {max_bytes:,}", field=option,
                             fix="keep large data in the artifact; this file holds a few values")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"{path} grew past {max_bytes:,} bytes while being read", field=option,
                         fix="write the file completely, then run the command again")
    return data


def read_data_file(path: Path, option: str) -> dict[str, Any]:
    """A metrics or params file: JSON (by its suffix) or YAML, under the same strict rules."""
    raw = read_user_file(path, option)
    doc = _strict_json(raw, str(path)) if path.suffix.lower() == ".json" else yamlio.loads(raw, str(path))
    if not isinstance(doc, dict):
        raise InputError("expected a mapping of names to values", file=str(path),
                         fix='write {"name": value, ...}')
    return doc


# Strings (with their escapes) removed, what is left of JSON's nesting is brackets.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _strict_json(raw: bytes, source: str) -> Any:
    """JSON under the YAML rules: UTF-8, no duplicate keys, at most MAX_DEPTH levels, finite numbers.

    The depth is measured before parsing, so a file of ``[[[[...`` is refused
    without the parser recursing into it.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=source,
                         fix="save the file as UTF-8") from None
    depth = 0
    structure = _JSON_STRING.sub('""', text)  # valid JSON strings hold no newline: lines stay put
    for match in _JSON_BRACKET.finditer(structure):
        depth += 1 if match.group() in "[{" else -1
        if depth > yamlio.MAX_DEPTH:
            line = structure.count("\n", 0, match.start()) + 1
            raise InputError(f"nesting deeper than {yamlio.MAX_DEPTH} levels", file=source, line=line,
                             fix="flatten the structure")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise InputError(f"duplicate key {key!r}", file=source, line=_line_of_key(text, key, 2),
                                 fix="keep one of them")
            out[key] = value
        return out

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_int=_int(source))
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=source, line=exc.lineno,
                         fix="fix the JSON syntax") from None
    except InputError:
        raise
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise InputError(f"a value cannot be read: {exc}", file=source,
                         fix="write numbers of at most 15 significant digits") from None
    _refuse_non_finite(doc, source, "")
    return doc


def _int(source: str) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if abs(value) > yamlio.MAX_INT:
            raise InputError(f"{text[:20]}... is too large a number", file=source,
                             fix="use a real number")
        return value
    return parse


def _line_of_key(text: str, key: str, occurrence: int) -> int | None:
    """The line of the ``occurrence``-th ``"key":`` in the text (for pointing at a duplicate)."""
    found = list(re.finditer(re.escape(json.dumps(key)) + r"\s*:", text))
    if len(found) < occurrence:
        return None
    return text.count("\n", 0, found[occurrence - 1].start()) + 1


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
    if abs(value) > yamlio.MAX_INT or not math.isfinite(value):
        raise InputError(f"{str(value)[:20]} is not a finite number", file=source, field=field,
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
