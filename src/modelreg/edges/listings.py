"""What the work tree's model directories held when last listed, by their stat.

A read checks every version directory of the model it reads (``formats/layout.py``): in the
work tree that was one ``scandir`` a directory, 5,000 for a model of 5,000 versions. A
directory's entries change only with its modification and change times (adding, removing or
renaming an entry sets both; ``chmod`` sets the change time), so what a directory held is kept
with its inode and both times, and a later read that finds the same three takes the entries
from here after one ``lstat``: what git's index does for files. As git does, a directory
changed within :data:`RACY_NS` of the listing is not kept (a change in the same clock tick
could leave its times as they were). :class:`Listings` keeps each version directory's entries;
:class:`Wholes` keeps, for each model found whole, the stamps the verdict rested on, so a read
whose stamps all match runs no rule at all (``list`` of 100,000 versions: one ``lstat`` each).
A revision needs none of this: its tree ids name what it holds (``Revision.whole`` in
``edges/snapshot.py``). Kept in ``.git/modelreg/``, where no pull request can plant one;
safe to delete; ignored when damaged.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import time
from array import array
from typing import Any

from modelreg.edges.memo import read_kept
from modelreg.formats import layout

FORMAT = (1, sys.version_info[:2])
#: the format of :class:`Wholes`' file, and the layout rules its verdicts were reached under
WHOLES_FORMAT = (1, sys.version_info[:2], layout.RULES)
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
        self._entries: dict[str, tuple[Stamp, tuple[tuple[str, str], ...]]] = _load(self.path)
        self._dirty = False

    def get(self, name: str, stamp: Stamp) -> tuple[tuple[str, str], ...] | None:
        """What directory ``name`` held, if it is the same directory with the same times."""
        found = self._entries.get(name)
        try:  # a record of another shape (damaged, or not ours) is no record
            if found is None or found[0] != stamp or not isinstance(found[1], tuple):
                return None
            return found[1]
        except (TypeError, IndexError, KeyError):
            return None

    def put(self, name: str, stamp: Stamp, entries: tuple[tuple[str, str], ...]) -> None:
        if max(stamp[1], stamp[2]) < self.started - RACY_NS:
            self._entries[name] = (stamp, entries)
            self._dirty = True

    def save(self, names: set[str]) -> None:
        """Write what changed, keeping only the directories listed now (``names``)."""
        if self.path is None or not (self._dirty or set(self._entries) - names):
            return
        _save(self.path, {k: v for k, v in self._entries.items() if k in names})


#: (inode, modification time, change time, size) of a manifest whose content a verdict depended on
FileStamp = tuple[int, int, int, int]
#: a model found whole: its directory's stamp; its version numbers (unsigned 64-bit, packed); its
#: other entries (name, kind); each version directory's stamp, packed in the same order; and the
#: stamp of each manifest the verdict read, by version number. Packed, a registry of 100,000
#: versions loads in a millisecond; as tuples it took a tenth of a second.
Whole = tuple[Stamp, bytes, tuple[tuple[str, str], ...], bytes, tuple[tuple[int, FileStamp], ...]]


class Wholes:
    """The model directories of a work tree found whole (``formats/layout.py``), with the stamps of
    everything the verdict rested on: the model's directory (its entries), each version directory
    (theirs) and the manifest of each version whose directory holds more than every version holds
    (a card, a signature, a checked-out artifact: only the manifest says whether they belong). Then a
    later read that finds the same stamps knows the verdict, and the model's entries, after one
    ``lstat`` a directory: no ``scandir``, no rules run. One file for every model (``list`` reads them
    all); the racy rule as in :class:`Listings`."""

    def __init__(self, root: str) -> None:
        git_dir = os.path.join(root, ".git")
        self.path = os.path.join(git_dir, "modelreg", "wholes.marshal") if os.path.isdir(git_dir) else None
        self.started = time.time_ns()
        self._entries: dict[str, Whole] | None = None
        self._dirty = False

    def get(self, model: str) -> Whole | None:
        return self._load().get(model)

    def put(self, model: str, whole: Whole) -> None:
        times = array("Q")
        times.frombytes(whole[3])
        latest = max([whole[0][1], whole[0][2], *times[1::3], *times[2::3],
                      *(t for _, m in whole[4] for t in m[1:3])])
        if latest < self.started - RACY_NS:
            self._load()[model] = whole
            self._dirty = True

    def save(self) -> None:
        if self.path is not None and self._dirty and self._entries is not None:
            _save(self.path, self._entries, WHOLES_FORMAT)
            self._dirty = False

    def _load(self) -> dict[str, Whole]:
        if self._entries is None:
            self._entries = _load(self.path, WHOLES_FORMAT)
        return self._entries


def _load(path: str | None, form: tuple[Any, ...] = FORMAT) -> dict[str, Any]:
    """What a file of this module holds; empty when missing, damaged or written by another Python."""
    data = read_kept(path) if path is not None else None
    if data is not None:
        with contextlib.suppress(ValueError, EOFError, TypeError):
            saved = marshal.loads(data)
            if isinstance(saved, tuple) and len(saved) == 2 and saved[0] == form \
                    and isinstance(saved[1], dict):
                return saved[1]
    return {}


def _save(path: str, entries: dict[str, Any], form: tuple[Any, ...] = FORMAT) -> None:
    """Replace the file at once; a failure to write only costs speed next time."""
    import tempfile  # only writes pay for it

    with contextlib.suppress(OSError):
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".listings.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                marshal.dump((form, entries), out)
            os.replace(tmp, path)
        except OSError:  # something else in its place: leave no temporary file behind
            os.unlink(tmp)
