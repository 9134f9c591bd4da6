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
import sys
from typing import Any

try:  # CPython's built-in sha1 imports ten times faster than hashlib (which loads OpenSSL)
    from _sha1 import sha1  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - builds without it
    from hashlib import sha1

#: bump when the strict loader's rules or the type check change what a memoised document is; marshal's
#: format belongs to the Python version, so that is part of the key too
FORMAT = (2, sys.version_info[:2])
#: entries kept beyond those used in this process (older blobs of edited files)
MAX_UNUSED = 1000


def blob_id(data: bytes) -> str:
    """The id git gives these bytes as a blob (``git hash-object``)."""
    return str(sha1(b"blob %d\0" % len(data) + data).hexdigest())


class Memo:
    """The parsed documents of one model's files."""

    def __init__(self, root: str, model: str) -> None:
        git_dir = os.path.join(root, ".git")
        self.path = (os.path.join(git_dir, "modelreg", "manifests", f"{model}.marshal")
                     if os.path.isdir(git_dir) else None)
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
        if not self._dirty or self._entries is None or self.path is None:
            return
        entries = self._entries
        if len(entries) > len(self._used) + MAX_UNUSED:
            entries = {k: v for k, v in entries.items() if k in self._used}
        import tempfile  # only writes pay for it (with shutil, random, bz2, lzma)

        try:
            folder = os.path.dirname(self.path)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".memo.", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                marshal.dump((FORMAT, entries), out)
            os.replace(tmp, self.path)
        except OSError:
            return
        self._dirty = False

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            if self.path is None:
                return self._entries
            # A missing or damaged memo (or one another Python wrote) is started afresh.
            with contextlib.suppress(OSError, ValueError, EOFError, TypeError), open(self.path, "rb") as file:
                saved = marshal.loads(file.read())
                if isinstance(saved, tuple) and len(saved) == 2 and saved[0] == FORMAT \
                        and isinstance(saved[1], dict):
                    self._entries = saved[1]
        return self._entries
