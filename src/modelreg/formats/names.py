"""Allow-lists for every name that becomes a path or a key, and the registry layout.

Names are allow-listed rather than deny-listed: a model name becomes a
directory, so anything outside ``[a-z0-9._-]`` (slashes, ``..``, NUL, upper
case that collides on case-insensitive file systems) is refused up front.
"""

from __future__ import annotations

import re

from modelreg.errors import InputError

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$")
MODEL_NAME_MAX = 64
ALIAS_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
VERSION_DIR = re.compile(r"^v([1-9][0-9]{0,8})$")
#: the highest version number a version directory can name
VERSION_MAX = 999_999_999
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,254}$")
KEY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/=+-]{0,127}$")
#: one pip requirement or URL as the workflows install it (see workflows.py: it must not be able
#: to end the YAML string it is written into, nor form a ${{ }} expression)
REQUIREMENT = re.compile(r"^[A-Za-z][A-Za-z0-9 ._~:/@+=<>!,\[\]#%?&*-]{0,999}$")
#: a deploy target as the ledger names it: its type, then where it points (a path, a URL, a
#: command line), printable (a control character would rewrite the terminal that shows it)
TARGET_NAME = re.compile(r"^(?:directory|command|webhook|kserve) [^\x00-\x1f\x7f-\x9f]{1,4096}$")

#: alias names with a meaning of their own in URIs
RESERVED_ALIASES = frozenset({"latest"})

REGISTRY_DIR = "registry"
MODEL_FILE = "model.yaml"
VERSION_FILE = "version.yaml"
#: the signature bundle ``register --sign`` writes beside version.yaml (named by its ``signature``)
SIGNATURE_FILE = "model.sig"
CONFIG_FILE = "modelreg.yaml"
POLICY_DIR = "policies"
SCHEMA_DIR = "schemas"
CODEOWNERS_FILE = ".github/CODEOWNERS"

#: first lines that point editors at the JSON Schemas (yaml-language-server)
VERSION_HEADER = "# yaml-language-server: $schema=../../../schemas/version.schema.json"
MODEL_HEADER = "# yaml-language-server: $schema=../../schemas/model.schema.json"


def check_model_name(name: str, *, source: str = "model name") -> str:
    if len(name) > MODEL_NAME_MAX or not MODEL_NAME.fullmatch(name):
        raise InputError(
            f"{name!r} is not a valid model name",
            file=None if source == "model name" else source,
            field=None if source == "model name" else "name",
            fix="use lower-case letters, digits, '-', '_' and '.' (no '..'), "
            f"starting with a letter or digit, at most {MODEL_NAME_MAX} characters",
        )
    return name


def check_alias_name(name: str) -> str:
    if not ALIAS_NAME.fullmatch(name) or name in RESERVED_ALIASES:
        raise InputError(
            f"{name!r} is not a valid alias name",
            fix="use a lower-case word such as 'production' or 'champion' "
            "(letters, digits, '-', '_'; 'latest' is reserved)",
        )
    return name


def alias_input(name: str) -> str:
    """An alias or stage name as a person typed it (a CLI option, a URI, an argument of the Python
    API): matched ignoring case, as MLflow's ``models:/m/Production`` is, so ``Production`` is the
    alias ``production``. Files store names in lower case only; the gate refuses any other spelling
    there (docs/format.md, "Alias names and case")."""
    return check_alias_name(name.strip().lower())


def check_file_name(name: str, *, what: str = "artifact") -> str:
    if not FILE_NAME.fullmatch(name) or name.endswith(".dvc") or name in (VERSION_FILE,):
        raise InputError(
            f"{name!r} is not a valid {what} file name",
            fix="rename it to letters, digits, '.', '_', '+' or '-' "
            "(not ending in .dvc, not version.yaml)",
        )
    return name


def model_dir(model: str) -> str:
    return f"{REGISTRY_DIR}/{model}"


def model_file(model: str) -> str:
    return f"{REGISTRY_DIR}/{model}/{MODEL_FILE}"


def version_dir(model: str, version: int) -> str:
    return f"{REGISTRY_DIR}/{model}/v{version}"


def version_file(model: str, version: int) -> str:
    return f"{REGISTRY_DIR}/{model}/v{version}/{VERSION_FILE}"


def parse_version_dir(name: str) -> int | None:
    """``v12`` → 12; anything else (``v012``, ``v0``, ``x``) → None."""
    match = VERSION_DIR.fullmatch(name)
    return int(match.group(1)) if match else None


def inside(relative: str) -> bool:
    """True when a relative POSIX path stays inside the directory it is relative to."""
    if relative.startswith("/") or "\\" in relative or "\x00" in relative:
        return False
    depth = 0
    for part in relative.split("/"):
        depth += -1 if part == ".." else (0 if part in ("", ".") else 1)
        if depth < 0:
            return False
    return True
