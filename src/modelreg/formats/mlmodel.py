"""An MLflow ``MLmodel`` file: the paths its flavours name, and which of them leave the directory.

MLflow loads a model directory by joining each path of a flavour's configuration
(``model_path``, ``code``, ``data``, ``pickled_model``, ``artifacts``, ...) to the directory:
an absolute path, or one that climbs out with ``..``, makes it load a file that is no part of
the verified artifact. Every string of ``flavors`` (and of ``saved_input_example_info``, which
MLflow reads from the directory too) is judged as such a path: an absolute path or a ``..``
that leaves the directory is never a configuration value MLflow itself writes.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

import yaml

NAME = "MLmodel"
#: the parts of an MLmodel that MLflow joins to the model directory
_SECTIONS = ("flavors", "saved_input_example_info")
_DRIVE = re.compile(r"^[A-Za-z]:")


def outside(text: bytes | str) -> list[str]:
    """The path-like strings of ``text`` (an MLmodel) that are absolute or leave its directory,
    in document order. Raises ValueError when it is not YAML."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    if not isinstance(doc, dict):
        return []
    found: list[str] = []
    for section in _SECTIONS:
        _walk(doc.get(section), found)
    return found


def escapes(value: str) -> bool:
    """Whether ``value``, joined to a directory, names something outside it."""
    path = value.replace("\\", "/")
    if path.startswith(("/", "~")) or _DRIVE.match(path):
        return True
    norm = posixpath.normpath(path)
    return norm == ".." or norm.startswith("../")


def _walk(node: Any, found: list[str]) -> None:
    if isinstance(node, str):
        if escapes(node):
            found.append(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and escapes(key):
                found.append(key)
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)
