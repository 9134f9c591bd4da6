"""A memo of parsed manifests, keyed by the git blob id of their exact bytes.

Parsing YAML strictly costs about 0.25 ms a file, so ``modelreg show`` on a
model with 100 versions would spend most of its time parsing the same bytes
it parsed last time. The memo maps a file's git blob id (a hash of its
content) to what the strict loader returned for it. It is stored with
``marshal``, Python's own format for its ``.pyc`` caches: built in (no import
cost) and far faster to load than JSON. Being content-addressed the memo can
never be stale. It lives in ``.git/modelreg/``, where nothing can be
committed, so a pull request cannot plant answers in it (a memo in the work
tree could be force-added and would then be trusted by every clone); without
a ``.git`` directory (a worktree, a submodule) there is no memo. It is safe to
delete at any time and ignored when damaged or written by another Python.
Files are still the single source of truth: a miss parses them.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import sys
from typing import Any

try:  # CPython's built-in sha1 imports ten times faster than hashlib (which loads OpenSSL)
    from _sha1 import sha1  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - builds without it
    from hashlib import sha1

#: bump when the strict loader's rules or the type check change what a memoised document is; marshal's
#: format belongs to the Python version, so that is part of the key too (3: keys name the kind of
#: file the document was checked as; models' memos split by hundreds of versions)
FORMAT = (3, sys.version_info[:2])
#: entries kept beyond those used in this process (older blobs of edited files)
MAX_UNUSED = 1000
#: versions a memo file holds: a read of one version loads one file of at most this many, whatever
#: the model's size (one file of 5,000 manifests took longer to load than the read itself)
SHARD = 100
#: the memo of every model's ``model.yaml`` (what ``list`` reads): no model is named with a ``@``
MODELS = "@models"
#: the model trees found whole at a revision, by model and tree id, with the tree's entries
#: (``edges/snapshot.py``)
LAYOUT = "@layout"
#: entries kept unused in the memos of every model (:data:`MODELS`, :data:`LAYOUT`)
MAX_MODELS = 5_000


def shard(model: str, version: int | None) -> str:
    """The memo file of a model's file: ``model.yaml`` and versions 1-99 in ``<model>``, then one
    per hundred versions (``<model>@1`` for 100-199, ...)."""
    return model if version is None or version < SHARD else f"{model}@{version // SHARD}"


def key(kind: str, blob: str) -> str:
    """What a document is memoised under: the blob id of its exact bytes and the kind of file it was
    checked as (the same bytes as a pointer and as a manifest are checked against different
    rules)."""
    return f"{kind} {blob}"


def read_kept(path: str) -> bytes | None:
    """The bytes of a file modelreg keeps in ``.git/modelreg/`` (or git's own, such as
    ``.git/shallow``), or None when it is missing, not a regular file (a FIFO would block the
    read for ever, a link lead elsewhere) or unreadable: what is kept there only saves time."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        try:
            return file.read() if stat.S_ISREG(os.fstat(fd).st_mode) else None
        except OSError:
            return None


def blob_id(data: bytes) -> str:
    """The id git gives these bytes as a blob (``git hash-object``)."""
    return str(sha1(b"blob %d\0" % len(data) + data).hexdigest())


class Memo:
    """The parsed documents of one memo file: a model's (``shard``), or :data:`MODELS`."""

    def __init__(self, root: str, name: str, *, max_unused: int = MAX_UNUSED) -> None:
        git_dir = os.path.join(root, ".git")
        self.path = (os.path.join(git_dir, "modelreg", "manifests", f"{name}.marshal")
                     if os.path.isdir(git_dir) else None)
        self._max_unused = max_unused
        self._entries: dict[str, Any] | None = None
        self._used: set[str] = set()
        self._dirty = False

    def get(self, key: str) -> Any:
        """The document memoised for ``key``, or None."""
        entries = self._load()
        doc = entries.get(key)
        if doc is not None:
            self._used.add(key)
        return doc

    def put(self, key: str, doc: Any) -> None:
        self._load()[key] = doc
        self._used.add(key)
        self._dirty = True

    def save(self) -> None:
        """Write the memo if it changed; a failure to write only costs speed next time."""
        if self._entries is None or self.path is None:
            return
        entries = self._entries
        if len(entries) > len(self._used) + self._max_unused:  # written smaller, changed or not
            entries = {k: v for k, v in entries.items() if k in self._used}
        elif not self._dirty:
            return
        import tempfile  # only writes pay for it (with shutil, random, bz2, lzma)

        try:
            folder = os.path.dirname(self.path)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".memo.", suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as out:
                marshal.dump((FORMAT, entries), out)
            os.replace(tmp, self.path)
        except OSError:  # something else in its place: leave no temporary file behind
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return
        self._dirty = False

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            if self.path is None:
                return self._entries
            # A missing or damaged memo (or one another Python wrote) is started afresh.
            data = read_kept(self.path)
            with contextlib.suppress(ValueError, EOFError, TypeError):
                saved = marshal.loads(data) if data is not None else None
                if isinstance(saved, tuple) and len(saved) == 2 and saved[0] == FORMAT \
                        and isinstance(saved[1], dict):
                    self._entries = saved[1]
        return self._entries
