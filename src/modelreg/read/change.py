"""A change: the work tree (or HEAD, or the index) against a base, and what changed.

What the gates check (``checks/context.py``) and what the approval check
asks reviews for (``approvals/pull_request.py``). Every file is read through
the snapshots' documents cache (``formats/documents.py``), so all who look at
a change share one parse of each file per revision; close the change (a
context manager) to stop the snapshots' ``git cat-file``. Work is
proportional to the change: git reports the changed paths, and only the
models they touch are read (all of them with ``check_all``). Only listing the
work tree's changes costs time in proportion to the registry (git stats every
file); ``head=True`` compares commits.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from modelreg.edges import git
from modelreg.edges.snapshot import Index, Overlay, Revision, Snapshot, WorkTree
from modelreg.errors import InputError, NotFoundError
from modelreg.formats import documents, names
from modelreg.formats.desired import DesiredState, moves
from modelreg.read.catalog import Catalog

#: git's empty tree: the base of a root commit, where every file reads as absent
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: the paths a registry's gates look at
WATCHED = (names.CONFIG_FILE, names.POLICY_DIR, names.REGISTRY_DIR, names.SCHEMA_DIR, ".modelreg",
           names.CODEOWNERS_FILE)


class Change:
    """HEAD (``head``), the index (``staged``) or the work tree, with ``overlay``'s files as a
    command would write them over ``tree`` (the work tree as the caller read it already), against
    the merge base with ``base_ref``; every model with ``check_all``."""

    def __init__(self, root: str, base_ref: str | None, *, head: bool = False, staged: bool = False,
                 overlay: dict[str, bytes] | None = None, tree: WorkTree | None = None,
                 check_all: bool = False) -> None:
        self.root = root
        self.check_all = check_all
        overlay = overlay or {}
        self.base_ref, self._target_commit = find_base(root, base_ref)
        base = git.merge_base(root, "HEAD", self._target_commit)
        if base is None:
            raise NotFoundError(f"HEAD and {self.base_ref} share no history (or nothing is committed yet)",
                                fix="commit, or pass --base REF with the branch this change will merge into")
        self.base: Snapshot = Revision(root, base, resolved=True)
        self.head: Snapshot
        if head:
            self.head = Revision(root, "HEAD")
            self.changes = git.changes_since(root, base, WATCHED, until=self.head.commit)
        elif staged:
            self.head = Index(root)
            self.changes = git.changes_since(root, base, WATCHED, staged=True)
        else:
            work_tree = tree or WorkTree(root)
            self.head = Overlay(work_tree, overlay) if overlay else work_tree
            self.changes = git.changes_since(root, base, WATCHED)
            # a file the base lacks is added: immutability must not take a new version for an edit
            self.changes.update({path: "M" if self.base.read(path) is not None else "A" for path in overlay})
        self.head_catalog = Catalog(self.head)
        self.base_catalog = Catalog(self.base)

    @classmethod
    def between(cls, root: str, base: str | None, head: str, *, label: str,
                blobs: git.BlobReader | None = None) -> Change:
        """Commit ``head`` against commit ``base`` (None: nothing, for a root commit), ``label``
        naming the base in messages: a change already merged, as history asks about it (the
        merge against main before it). ``blobs``: a ``git cat-file`` reader to share."""
        change = cls.__new__(cls)
        change.root, change.check_all = root, False
        base = base or EMPTY_TREE
        change.base_ref, change._target_commit = label, base
        change.base = Revision(root, base, resolved=True, blobs=blobs)
        change.head = Revision(root, head, resolved=True, blobs=blobs)
        change.changes = git.changes_since(root, base, WATCHED, until=head)
        change.head_catalog = Catalog(change.head)
        change.base_catalog = Catalog(change.base)
        return change

    def close(self) -> None:
        """Stop the snapshots' git processes."""
        for snapshot in {id(s): s for s in (self.head, self.base, self.__dict__.get("target"))
                         if s is not None}.values():
            snapshot.close()

    def __enter__(self) -> Any:  # Any: a subclass returns itself
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @cached_property
    def target(self) -> Snapshot:
        """The base branch's tip: newer than the merge base when others merged meanwhile."""
        if self._target_commit == self.base.commit:
            return self.base
        return Revision(self.root, self._target_commit, resolved=True)

    # What changed ---------------------------------------------------------------------

    @cached_property
    def models(self) -> list[str]:
        """Models with a changed file (every model with --all)."""
        if self.check_all:
            # the schema gate reports what else is under registry/ (formats/layout.py)
            return sorted(set(self.head_catalog.model_names(check=False))
                          | set(self.base_catalog.model_names(check=False)))
        found = {p.split("/")[1] for p in self.changes if p.startswith(names.REGISTRY_DIR + "/")
                 and p.count("/") >= 2}
        return sorted(found)

    @cached_property
    def new_versions(self) -> list[tuple[str, int]]:
        """Versions in the work tree but not on the base (every version with --all)."""
        out: list[tuple[str, int]] = []
        for model in self.models:
            head = set(self.versions(self.head, model))
            base = set() if self.check_all else set(self.versions(self.base, model))
            out.extend((model, n) for n in sorted(head - base))
        return out

    @cached_property
    def candidates(self) -> frozenset[tuple[str, int]]:
        """Versions new in the change (on the head, not on the base), with ``check_all`` too: the
        ones a regression rule judges. A version released before was judged when it was new, so
        ``--all`` does not hold it against a better version promoted since."""
        if not self.check_all:
            return frozenset(self.new_versions)
        return frozenset((model, n) for model, n in self.new_versions
                         if n not in self.versions(self.base, model))

    @cached_property
    def promoted_versions(self) -> list[tuple[str, int]]:
        """Versions on the base that an alias moves to in the change (new versions aside): the rules
        that judge a version's bytes (a required signature, ``artifact.code_execution``) judge them
        too, so a version registered before its rule, or past the gate, is not promoted unjudged."""
        new = set(self.new_versions)
        out: set[tuple[str, int]] = set()
        for model in self.changed_models:
            head, base = self.desired(self.head, model), self.desired(self.base, model)
            if head is None:
                continue  # the schema gate reports it
            out.update((model, m.after) for m in moves(base, head)
                       if m.kind == "alias" and m.after is not None and (model, m.after) not in new
                       and m.after in self.versions(self.head, model))
        return sorted(out)

    @cached_property
    def changed_models(self) -> list[str]:
        """Models whose model.yaml changed (every model with --all)."""
        if self.check_all:
            return [m for m in self.models if documents.raw(self.head, names.model_file(m)) is not None]
        return [m for m in self.models if names.model_file(m) in self.changes
                and self.changes[names.model_file(m)] != "D"]

    def files(self) -> list[str]:
        """Registry files to validate: changed ones, or all of them with --all."""
        if not self.check_all:
            return sorted(p for p, status in self.changes.items() if status != "D")
        out = [names.CONFIG_FILE]
        out += [f"{names.POLICY_DIR}/{f}" for f in self.head.listdir(names.POLICY_DIR)]
        for model in self.head_catalog.model_names(check=False):
            out.append(names.model_file(model))
            for entry in self.head.listdir(names.model_dir(model)):
                sub = f"{names.model_dir(model)}/{entry}"
                out += [f"{sub}/{f}" for f in self.head.listdir(sub)]
        return sorted(p for p in out if documents.raw(self.head, p) is not None)

    # Reading --------------------------------------------------------------------------

    @staticmethod
    def versions(snapshot: Snapshot, model: str) -> list[int]:
        return sorted(n for n in map(names.parse_version_dir, snapshot.listdir(names.model_dir(model))) if n)

    @staticmethod
    def document(snapshot: Snapshot, path: str) -> dict[str, Any] | None:
        """A YAML file as a mapping, or None when missing or malformed (the schema gate reports that).

        Parsed once per snapshot, however many gates ask for it.
        """
        try:
            return documents.mapping(snapshot, path)
        except InputError:
            return None

    @staticmethod
    def desired(snapshot: Snapshot, model: str) -> DesiredState | None:
        """A model's desired state, or None when its model.yaml is missing or malformed (the schema
        gate reports that). Read once per snapshot."""
        try:
            return documents.desired(snapshot, model)
        except InputError:
            return None


def find_base(root: str, ref: str | None) -> tuple[str, str]:
    """The ref to compare with and its commit.

    ``--base REF`` is REF as git resolves it (a local branch, a tag, a commit, or
    ``origin/REF`` written out); only when REF does not exist locally does it fall back to
    ``origin/REF`` (a CI checkout has no local branches). By default: the first of
    origin/main, main, origin/master, master.
    """
    if ref is None:
        candidates = ["origin/main", "main", "origin/master", "master"]
    else:
        ref = ref.removeprefix("refs/heads/")
        # REF as git resolves it; origin/REF only when nothing local has that name.
        local = git.first_ref(root, [ref])
        candidates = [ref] if local is not None or ref.startswith("origin/") else [f"origin/{ref}"]
    found = git.first_ref(root, candidates)
    if found is None:
        raise NotFoundError(f"no branch {ref!r} (nor origin/{ref}) to compare with" if ref
                            else "no main branch to compare with",
                            fix="fetch it (`git fetch origin`), or pass --base with an existing ref")
    return found
