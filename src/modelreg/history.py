"""A model's history, read from git: registrations, alias moves, archives, rejections.

The log follows first parents, so on ``main`` a merged pull request is one
change attributed to its merge (whose subject carries the PR number); each
``model.yaml`` change is diffed against the commit before it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from modelreg import git, names, typecheck, yamlio
from modelreg.desired import DesiredState, moves
from modelreg.errors import InputError

_PR = re.compile(r"(?:\(#(\d+)\)\s*$|^Merge pull request #(\d+))")
# Each commit starts with NUL, which no name, subject or (quoted) path can hold; the
# safe fields share a line, and the name and subject, which hold no newline, get one each.
_FORMAT = "%x00%H %cI %P%n%an%n%s"


@dataclass(frozen=True)
class Event:
    kind: str  # registered | alias | archived | unarchived | rejected | unrejected
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


_MALFORMED = DesiredState("")


def _state(blobs: git.BlobReader, model: str, commit: str | None) -> DesiredState | None:
    """The desired state at ``commit``; None without a model.yaml; _MALFORMED when it does not read."""
    if commit is None:
        return None
    source = f"{commit[:12]}:{names.model_file(model)}"
    raw = blobs.read(f"{commit}:{names.model_file(model)}")
    if raw is None:
        return None
    try:
        doc = yamlio.loads(raw, source)
        typecheck.check("model", doc, source, raw)
    except InputError:
        return _MALFORMED  # reported by `check`, not by history
    return DesiredState.from_doc(model, doc)


def _state_changes(blobs: git.BlobReader, model: str, commit: str, parent: str | None,
                   base: Event) -> list[Event]:
    after, before = _state(blobs, model, commit), _state(blobs, model, parent)
    if _MALFORMED in (after, before):
        return []  # what moved across a broken file cannot be told
    return [replace(base, kind=m.kind, version=m.after, alias=m.alias, previous=m.before)
            for m in moves(before, after)]
