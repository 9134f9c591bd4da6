"""Putting the work tree back as it was when a command that writes to it fails.

``register`` and the desired-state commands write files, may create and switch
to a branch, and stage and commit. Any failure before the commit (a hook that
refuses it, a full disk, an interrupt) must leave the user where they started.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from modelreg.edges import git
from modelreg.errors import ModelregError


class Undo:
    """Changes to the work tree that a failure reverts: files written (restored to what they
    held before), a branch switched to (switched back from and deleted), paths staged (unstaged).

    Staged changes of the user's own, on other paths, are carried by ``git switch`` both ways.
    """

    def __init__(self, root: Path, branch: str | None) -> None:
        self.root = root
        self.branch = branch
        self.start_branch = git.current_branch(root)
        self.start_commit = git.head_commit(root)  # a detached HEAD goes back to its commit
        self.saved: dict[str, bytes | None] = {}
        self.staged: list[str] = []
        self.switched = False

    def __enter__(self) -> Undo:
        if self.branch:
            git.switch_new_branch(self.root, self.branch)
            self.switched = True
        return self

    def track(self, paths: list[str]) -> list[str]:
        """Remember what ``paths`` hold now (call before writing them)."""
        for rel in paths:
            if rel not in self.saved:
                target = self.root / rel
                self.saved[rel] = target.read_bytes() if target.is_file() else None
        return paths

    def commit(self, message: str, files: list[str]) -> str:
        self.staged = list(files)
        git.add(self.root, files)
        return git.commit(self.root, message, files)

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is None:
            return
        with contextlib.suppress(ModelregError):
            if self.staged:
                git.run(self.root, "reset", "--quiet", "--", *self.staged, check=False)
            for rel, data in self.saved.items():
                target = self.root / rel
                if data is not None:
                    target.write_bytes(data)
                elif target.is_dir():
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    target.unlink(missing_ok=True)
            if self.switched:
                if self.start_branch:
                    git.switch(self.root, self.start_branch)
                elif self.start_commit:
                    git.run(self.root, "switch", "--quiet", "--detach", self.start_commit)
                git.delete_branch(self.root, str(self.branch))
