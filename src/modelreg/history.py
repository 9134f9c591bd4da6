"""A model's history, read from git: registrations, alias moves, archives, rejections.

The log follows first parents, so on ``main`` a merged pull request is one
change attributed to its merge (whose subject carries the PR number); each
``model.yaml`` change is diffed against the commit before it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from modelreg import git, names, yamlio
from modelreg.errors import InputError

_PR = re.compile(r"(?:\(#(\d+)\)\s*$|^Merge pull request #(\d+))")
# Each commit starts with NUL, which no name, subject or (quoted) path can hold; the
# safe fields share a line, and the name and subject, which hold no newline, get one each.
_FORMAT = "%x00%H %cI %P%n%an%n%s"


@dataclass(frozen=True)
class Event:
    kind: str  # registered | alias | archived | unarchived | rejected
    version: int | None
    commit: str
    author: str
    #: when the commit landed on the branch (its committer date: an author date can be anything)
    date: str
    subject: str
    pr: int | None = None
    alias: str | None = None
    previous: int | None = None  # the version an alias pointed at before ("from")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def history(root: str, model: str, at: str | None = None) -> list[Event]:
    """Every change to ``model``, newest first, reachable from ``at`` (default HEAD)."""
    names.check_model_name(model)
    start = git.resolve_revision(root, at) if at else "HEAD"
    if git.head_commit(root) is None:
        return []
    out = git.log(root, _FORMAT, [names.model_dir(model) + "/"], "--name-status", start)
    blobs = git.BlobReader(root)
    events: list[Event] = []
    try:
        for record in out.split("\0")[1:]:
            header, author, subject, *rest = record.split("\n")
            changes = "\n".join(rest)
            commit, date, *parent_ids = header.split(" ")
            parents = " ".join(parent_ids)
            match = _PR.search(subject)
            base = Event(kind="", version=None, commit=commit, author=author, date=date,
                          subject=subject, pr=int(match.group(1) or match.group(2)) if match else None)
            changed = _changes(changes)
            for path, status in changed.items():
                number = _registered_version(model, path)
                if status == "A" and number is not None:
                    events.append(replace(base, kind="registered", version=number))
            if names.model_file(model) in changed:
                parent = parents.split()[0] if parents else None
                events.extend(_state_changes(blobs, model, commit, parent, base))
    finally:
        blobs.close()
    return events


def _changes(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.split("\n"):
        status, _, path = line.partition("\t")
        if path:
            out[path] = status[:1]
    return out


def _registered_version(model: str, path: str) -> int | None:
    prefix = names.model_dir(model) + "/"
    if not path.startswith(prefix) or not path.endswith("/" + names.VERSION_FILE):
        return None
    return names.parse_version_dir(path[len(prefix):].split("/")[0])


def _state(blobs: git.BlobReader, model: str, commit: str | None) -> dict[str, Any]:
    if commit is None:
        return {}
    source = f"{commit[:12]}:{names.model_file(model)}"
    raw = blobs.read(f"{commit}:{names.model_file(model)}")
    if raw is None:
        return {}
    try:
        doc = yamlio.loads(raw, source)
    except InputError:
        return {}  # a malformed past state is reported by `check`, not by history
    return doc if isinstance(doc, dict) else {}


def _versions(value: Any) -> set[int]:
    """Version numbers of an ``archived`` list (ints) or ``rejected`` list ({version: N})."""
    out: set[int] = set()
    for item in value if isinstance(value, list) else []:
        number = item.get("version") if isinstance(item, dict) else item
        if isinstance(number, int):
            out.add(number)
    return out


def _state_changes(blobs: git.BlobReader, model: str, commit: str, parent: str | None,
                   base: Event) -> list[Event]:
    after, before = _state(blobs, model, commit), _state(blobs, model, parent)
    events: list[Event] = []
    new_aliases, old_aliases = after.get("aliases") or {}, before.get("aliases") or {}
    if isinstance(new_aliases, dict) and isinstance(old_aliases, dict):
        for alias in sorted(set(new_aliases) | set(old_aliases)):
            to, was = new_aliases.get(alias), old_aliases.get(alias)
            if to != was:
                events.append(replace(base, kind="alias", version=to, alias=alias, previous=was))
    for kind, undo, key in (("archived", "unarchived", "archived"), ("rejected", None, "rejected")):
        now, then = _versions(after.get(key)), _versions(before.get(key))
        events.extend(replace(base, kind=kind, version=v) for v in sorted(now - then))
        if undo:
            events.extend(replace(base, kind=undo, version=v) for v in sorted(then - now))
    return events
