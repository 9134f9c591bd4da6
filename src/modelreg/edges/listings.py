"""What each version directory of a model held when last listed in the work tree, by its stat.

A read checks every version directory of the model it reads (``formats/layout.py``): in the
work tree that was one ``scandir`` a directory, 5,000 for a model of 5,000 versions. A
directory's entries change only with its modification and change times (adding, removing or
renaming an entry sets both; ``chmod`` sets the change time), so what a directory held is kept
with its inode and both times, and a later read that finds the same three takes the entries
from here after one ``lstat``: what git's index does for files. As git does, a directory
changed within :data:`RACY_NS` of the listing is not kept (a change in the same clock tick
could leave its times as they were). A revision needs none of this: its tree ids name what it
holds (``read/catalog.py``). Kept in ``.git/modelreg/``, where no pull request can plant one;
safe to delete; ignored when damaged.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import time

FORMAT = (1, sys.version_info[:2])
#: a directory changed this close to its listing is listed again next time (git's "racy" rule)
RACY_NS = 2_000_000_000

#: (inode, modification time, change time) of a directory
Stamp = tuple[int, int, int]


class Listings:
    """One model's version directories as last listed: name → (stamp, ((entry, kind), ...))."""

    def __init__(self, root: str, model: str) -> None:
        git_dir = os.path.join(root, ".git")
        self.path = (os.path.join(git_dir, "modelreg", "listings", f"{model}.marshal")
                     if os.path.isdir(git_dir) else None)
        self.started = time.time_ns()
        self._entries: dict[str, tuple[Stamp, tuple[tuple[str, str], ...]]] = {}
        self._dirty = False
        if self.path is not None:
            with contextlib.suppress(OSError, ValueError, EOFError, TypeError), open(self.path, "rb") as file:
                saved = marshal.loads(file.read())
                if isinstance(saved, tuple) and len(saved) == 2 and saved[0] == FORMAT \
                        and isinstance(saved[1], dict):
                    self._entries = saved[1]

    def get(self, name: str, stamp: Stamp) -> tuple[tuple[str, str], ...] | None:
        """What directory ``name`` held, if it is the same directory with the same times."""
        found = self._entries.get(name)
        return found[1] if found is not None and found[0] == stamp else None

    def put(self, name: str, stamp: Stamp, entries: tuple[tuple[str, str], ...]) -> None:
        if max(stamp[1], stamp[2]) < self.started - RACY_NS:
            self._entries[name] = (stamp, entries)
            self._dirty = True

    def save(self, names: set[str]) -> None:
        """Write what changed, keeping only the directories listed now (``names``)."""
        if self.path is None or not (self._dirty or set(self._entries) - names):
            return
        import tempfile  # only writes pay for it

        kept = {k: v for k, v in self._entries.items() if k in names}
        with contextlib.suppress(OSError):
            folder = os.path.dirname(self.path)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".listings.", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                marshal.dump((FORMAT, kept), out)
            os.replace(tmp, self.path)
