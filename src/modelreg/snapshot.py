"""The registry's files as they are in the work tree, or at a git revision.

Every read goes through a Snapshot, so ``--at REV`` works on every read
command and never touches the work tree: a revision is read from git objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from modelreg import git
from modelreg.names import inside


class Snapshot(Protocol):
    @property
    def root(self) -> Path: ...

    @property
    def commit(self) -> str | None:
        """The commit id read from, or None for the work tree."""

    def read(self, path: str) -> bytes | None:
        """Bytes of a repository-relative file, or None when it does not exist."""

    def listdir(self, path: str) -> list[str]:
        """Names directly inside a repository-relative directory (empty when missing)."""


class WorkTree:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.commit: str | None = None

    def read(self, path: str) -> bytes | None:
        if not inside(path):
            return None
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def listdir(self, path: str) -> list[str]:
        if not inside(path):
            return []
        try:
            return sorted(entry.name for entry in (self.root / path).iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []


class Revision:
    def __init__(self, root: Path, rev: str) -> None:
        self.root = root
        self.rev = git.resolve_revision(root, rev)
        self.commit: str | None = self.rev
        self._blobs = git.BlobReader(root)
        self._dirs: dict[str, list[str]] = {}

    def read(self, path: str) -> bytes | None:
        if not inside(path):
            return None
        return self._blobs.read(f"{self.rev}:{path}")

    def listdir(self, path: str) -> list[str]:
        if not inside(path):
            return []
        if path not in self._dirs:
            self._dirs[path] = sorted(git.ls_tree(self.root, self.rev, path))
        return self._dirs[path]


def open_snapshot(root: Path, at: str | None) -> Snapshot:
    if at:
        return Revision(root, at)
    return WorkTree(root)
