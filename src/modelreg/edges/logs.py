"""A path's first-parent ``git log``, kept per path and extended by the commits made since.

``git log --first-parent -- registry/M/`` visits every commit of the branch: at 100,000
commits that is a tenth of a second even with the commit-graph's Bloom filters, every time.
What the log of a path says up to a commit never changes (a commit id names its whole
history), so the output is kept with the commit it was read at, and a later read at a
descendant asks git only for the commits since: ``git log TIP..REV``, after checking with
``git rev-list --first-parent --parents TIP..REV`` that TIP is on REV's first-parent line
(else the slice would not be the rest of the log, and the log is read whole). Kept in
``.git/modelreg/logs/``, where no pull request can plant one; safe to delete; ignored when
damaged.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from collections.abc import Sequence

from modelreg.edges import git
from modelreg.edges.memo import blob_id

FORMAT = (1, sys.version_info[:2])


def first_parent_log(root: str, fmt: str, path: str, rev: str, extra: Sequence[str] = (), *,
                     jobs: int = 1) -> str:
    """``git.log(root, fmt, [path], *extra, rev)`` for the commit id ``rev``, from what was kept
    at an ancestor on its first-parent line and the commits since. ``path`` "": the whole log;
    ``jobs``: git processes to read a whole log with (``git.log_walked_by``)."""
    paths = [path] if path else []
    store = _store(root, fmt, path, extra)
    kept = _load(store)
    out: str | None = None
    if kept is not None:
        tip, text = kept
        if tip == rev:
            return text
        if _on_first_parent_line(root, tip, rev):
            out = git.log(root, fmt, paths, *extra, f"{tip}..{rev}") + text
    if out is None:
        out = git.log_walked_by(jobs, root, fmt, paths, rev, *extra)
    _save(store, rev, out)
    return out


def _on_first_parent_line(root: str, tip: str, rev: str) -> bool:
    """Whether ``tip`` is a first parent on ``rev``'s line (the commits since end on it)."""
    lines = git.run(root, "rev-list", "--first-parent", "--parents", f"{tip}..{rev}",
                    check=False).splitlines()
    return bool(lines) and lines[-1].split()[1:2] == [tip]


def _store(root: str, fmt: str, path: str, extra: Sequence[str]) -> str | None:
    git_dir = os.path.join(root, ".git")
    if not os.path.isdir(git_dir):
        return None
    name = blob_id("\0".join([fmt, path, *extra]).encode())  # a name for the question asked
    return os.path.join(git_dir, "modelreg", "logs", f"{name}.marshal")


def _load(store: str | None) -> tuple[str, str] | None:
    if store is None:
        return None
    with contextlib.suppress(OSError, ValueError, EOFError, TypeError), open(store, "rb") as file:
        saved = marshal.loads(file.read())
        if isinstance(saved, tuple) and len(saved) == 3 and saved[0] == FORMAT \
                and isinstance(saved[1], str) and isinstance(saved[2], str):
            return saved[1], saved[2]
    return None


def _save(store: str | None, rev: str, out: str) -> None:
    if store is None:
        return
    import tempfile  # only writes pay for it

    with contextlib.suppress(OSError):
        folder = os.path.dirname(store)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".log.", suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            marshal.dump((FORMAT, rev, out), file)
        os.replace(tmp, store)
