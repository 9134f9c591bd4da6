"""What a catalog was rendered from, so that a re-render writes only the models that changed.

The output directory keeps :data:`STATE` beside its pages (listed in its manifest of written
files, like every page): the settings of the build (the generator's fingerprint, the title, the
links, work tree or revision), the commit it read, and for each model a key and what its pages
came to (its index row, its version count, its pages and bills of materials and their sizes).

A model's key is a digest of everything its pages are made of, so a page kept is byte for byte
the page a full render would write:

- the model's tree object (``registry/<model>/`` at the revision: each of its files, exactly).
  Reading the work tree, HEAD's tree stands for the model only when git lists no change under
  it; a model changed in the work tree has no key and is always rendered;
- the newest commit of the first-parent history that touched the model's directory: it fixes
  the history the pages show (the model's log from there on back is the same whatever came
  after), and the pages' footer names it;
- a digest of the model's deployment ledger records (which the history merges).

The generator's fingerprint is modelreg's version and the source of its modules: another
modelreg, or a changed template, renders everything; so does a changed setting, a state that
does not read, or a revision whose first-parent history does not run through the one read
before. Nothing here decides what is deleted: ``edges/outdir.py`` keeps its rules.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelreg.edges import atomic, git
from modelreg.edges.outdir import OutDir
from modelreg.formats import names

STATE = ".modelreg-site.json"
_FORMAT = 1
#: the most of a state file read (some 300 bytes a model and 60 a page)
_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Rendered:
    """What a model's pages came to: kept in the state, reused while its key holds."""

    key: str | None
    #: the newest commit that touched the model (None: none did)
    last: str | None
    row: tuple[str, ...]
    versions: int
    written: dict[str, int]  # page → bytes
    boms: dict[str, int] = field(default_factory=dict)  # bill of materials → bytes


def fingerprint() -> str:
    """modelreg's version and the bytes of its modules: what renders a page."""
    import modelreg

    package = Path(modelreg.__file__).parent
    digest = hashlib.sha256(modelreg.__version__.encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def settings(**values: Any) -> dict[str, Any]:
    return {"format": _FORMAT, "fingerprint": fingerprint(), **values}


@dataclass(frozen=True)
class Previous:
    commit: str | None
    models: dict[str, Rendered]


def load(out: Path, wanted: dict[str, Any]) -> Previous | None:
    """The state a build with the same settings left in ``out``; None when there is none to trust
    (missing, not a regular file, damaged, other settings)."""
    try:
        fd = os.open(out / STATE, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            data = json.loads(file.read(_MAX_BYTES + 1))
        except (ValueError, OSError):
            return None
    try:
        if data["settings"] != wanted:
            return None
        commit = data["commit"]
        models = {str(name): Rendered(key=m["key"], last=m["last"], row=tuple(str(c) for c in m["row"]),
                                      versions=int(m["versions"]),
                                      written={str(k): int(v) for k, v in m["written"].items()},
                                      boms={str(k): int(v) for k, v in m["boms"].items()})
                  for name, m in data["models"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if commit is not None and not isinstance(commit, str):
        return None
    return Previous(commit, models)


def save(out: Path, wanted: dict[str, Any], commit: str | None, models: dict[str, Rendered]) -> int:
    """Write the state (whole or not at all); return its size."""
    data = {"settings": wanted, "commit": commit,
            "models": {name: {"key": r.key, "last": r.last, "row": list(r.row), "versions": r.versions,
                              "written": r.written, "boms": r.boms} for name, r in models.items()}}
    text = json.dumps(data, separators=(",", ":")) + "\n"
    atomic.write_atomic(OutDir(out).path(STATE), text)
    return len(text.encode("utf-8"))


def present(out: Path, pages: Iterable[str]) -> bool:
    """Whether every one of ``pages`` is a regular file in ``out``, reached through real
    directories (a page a user replaced by a link, or removed, is rendered again)."""
    top = str(out)
    dirs: dict[str, bool] = {}
    for rel in pages:
        folder = rel.rpartition("/")[0]
        if folder not in dirs:
            dirs[folder] = _real_dirs(top, folder)
        if not dirs[folder]:
            return False
        try:
            if not stat.S_ISREG(os.lstat(f"{top}/{rel}").st_mode):
                return False
        except OSError:
            return False
    return True


def _real_dirs(top: str, folder: str) -> bool:
    """Whether each directory on the way from ``top`` to ``folder`` is a directory, not a link."""
    path = top
    for part in folder.split("/") if folder else []:
        path = f"{path}/{part}"
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return False
        except OSError:
            return False
    return True


def key(tree: str | None, last: str | None, records: Any) -> str | None:
    """A model's key (see the module); None without a tree (changed in the work tree)."""
    if tree is None:
        return None
    ledger = repr((list(records), getattr(records, "environments", None), getattr(records, "aliases", None),
                   getattr(records, "prs", None))) if records else ""
    return hashlib.sha256(f"{tree}\0{last}\0{ledger}".encode()).hexdigest()


def trees(root: str, commit: str) -> dict[str, str]:
    """Model → the id of its directory's tree at ``commit``: one ``git ls-tree``."""
    out = git.run(root, "ls-tree", "-z", commit, "--", names.REGISTRY_DIR + "/")
    found = {}
    for record in out.split("\0"):
        meta, _, path = record.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[1] == "tree":
            found[path.rsplit("/", 1)[-1]] = fields[2]
    return found


def changed_in_work_tree(root: str, commit: str) -> set[str]:
    """Models with a file the work tree changed against ``commit`` (untracked ones included)."""
    changes = git.changes_since(root, commit, [names.REGISTRY_DIR + "/"])
    return {p.split("/")[1] for p in changes if p.count("/") >= 2}


def touched_since(root: str, old: str, new: str) -> dict[str, str] | None:
    """Model → the newest commit that touched it, among the commits of ``new``'s first-parent
    history since ``old``; None when that history does not run through ``old``."""
    if old == new:
        return {}
    chain = git.run(root, "rev-list", "--first-parent", "--parents", f"{old}..{new}").split("\n")
    oldest = [line.split() for line in chain if line.strip()]
    if not oldest or len(oldest[-1]) < 2 or oldest[-1][1] != old:
        return None
    out = git.log(root, "%x00%H", [names.REGISTRY_DIR + "/"], "--name-only", f"{old}..{new}")
    found: dict[str, str] = {}
    for record in out.split("\0")[1:]:
        commit, *paths = record.split("\n")
        for path in paths:
            parts = path.split("/", 2)
            if len(parts) == 3:
                found.setdefault(parts[1], commit)
    return found


def last_change(log: str) -> tuple[str, str] | None:
    """The newest commit of a model's log text (``read.history.logs_by_model``) and its date."""
    if not log:
        return None
    header = log[1:log.index("\n")] if "\n" in log else log[1:]
    commit, date, *_ = header.split(" ")
    return commit, date
