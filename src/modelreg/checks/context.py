"""What a check looks at: the work tree (or HEAD) against a base, and what changed.

Computed once and shared by every gate. Work is proportional to the change:
git reports the changed paths, and only the models they touch are read (all
of them with ``--all``). Only listing the work tree's changes costs time in
proportion to the registry (git stats every file); ``--head`` compares commits.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from modelreg.edges import git
from modelreg.errors import InputError, NotFoundError
from modelreg.formats import desired, names, yamlio
from modelreg.formats.desired import DesiredState
from modelreg.formats.models import CheckSettings, RegistryConfig, load_config
from modelreg.formats.snapshot import Index, Overlay, Revision, Snapshot, WorkTree
from modelreg.policies.select import Selected, default_name, load_all, select
from modelreg.read.catalog import Catalog
from modelreg.write import codeowners

#: the paths a registry's gates look at
WATCHED = (names.CONFIG_FILE, names.POLICY_DIR, names.REGISTRY_DIR, names.SCHEMA_DIR, ".modelreg",
           codeowners.PATH)


class Options:
    def __init__(self, *, check_all: bool = False, verify_artifacts: bool = False,
                 offline: bool = False, head: bool = False, staged: bool = False,
                 overlay: dict[str, bytes] | None = None) -> None:
        #: check the HEAD commit, or the index, rather than the work tree
        self.head = head
        #: files as a command would write them, checked before a byte is written
        self.overlay = overlay or {}
        self.staged = staged
        self.check_all = check_all
        self.verify_artifacts = verify_artifacts
        self.offline = offline


class CheckContext:
    def __init__(self, root: str, base_ref: str | None, options: Options) -> None:
        self.root = root
        self.options = options
        self.base_ref, self._target_commit = find_base(root, base_ref)
        base = git.merge_base(root, "HEAD", self._target_commit)
        if base is None:
            raise NotFoundError(f"HEAD and {self.base_ref} share no history (or nothing is committed yet)",
                                fix="commit, or pass --base REF with the branch this change will merge into")
        self.base: Snapshot = Revision(root, base, resolved=True)
        self.head: Snapshot
        if options.head:
            self.head = Revision(root, "HEAD")
            self.changes = git.changes_since(root, base, WATCHED, until=self.head.commit)
        elif options.staged:
            self.head = Index(root)
            self.changes = git.changes_since(root, base, WATCHED, staged=True)
        else:
            self.head = Overlay(WorkTree(root), options.overlay) if options.overlay else WorkTree(root)
            self.changes = git.changes_since(root, base, WATCHED)
            self.changes.update(dict.fromkeys(options.overlay, "M"))
        self.head_catalog = Catalog(self.head)
        self._documents: dict[tuple[int, str], dict[str, Any] | None] = {}
        self._states: dict[tuple[int, str], DesiredState | None] = {}
        self.base_catalog = Catalog(self.base)

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
        if self.options.check_all:
            return sorted(set(self.head_catalog.model_names()) | set(self.base_catalog.model_names()))
        found = {p.split("/")[1] for p in self.changes if p.startswith(names.REGISTRY_DIR + "/")
                 and p.count("/") >= 2}
        return sorted(found)

    @cached_property
    def new_versions(self) -> list[tuple[str, int]]:
        """Versions in the work tree but not on the base (every version with --all)."""
        out: list[tuple[str, int]] = []
        for model in self.models:
            head = set(self.versions(self.head, model))
            base = set() if self.options.check_all else set(self.versions(self.base, model))
            out.extend((model, n) for n in sorted(head - base))
        return out

    @cached_property
    def changed_models(self) -> list[str]:
        """Models whose model.yaml changed (every model with --all)."""
        if self.options.check_all:
            return [m for m in self.models if self.head.read(names.model_file(m)) is not None]
        return [m for m in self.models if names.model_file(m) in self.changes
                and self.changes[names.model_file(m)] != "D"]

    def files(self) -> list[str]:
        """Registry files to validate: changed ones, or all of them with --all."""
        if not self.options.check_all:
            return sorted(p for p, status in self.changes.items() if status != "D")
        out = [names.CONFIG_FILE]
        out += [f"{names.POLICY_DIR}/{f}" for f in self.head.listdir(names.POLICY_DIR)]
        for model in self.head_catalog.model_names():
            out.append(names.model_file(model))
            for entry in self.head.listdir(names.model_dir(model)):
                sub = f"{names.model_dir(model)}/{entry}"
                out += [f"{sub}/{f}" for f in self.head.listdir(sub)]
        return sorted(p for p in out if self.head.read(p) is not None)

    # Reading --------------------------------------------------------------------------

    @staticmethod
    def versions(snapshot: Snapshot, model: str) -> list[int]:
        return sorted(n for n in map(names.parse_version_dir, snapshot.listdir(names.model_dir(model))) if n)

    def document(self, snapshot: Snapshot, path: str) -> dict[str, Any] | None:
        """A YAML file as a mapping, or None when missing or malformed (the schema gate reports that).

        Parsed once per check, however many gates ask for it.
        """
        key = (id(snapshot), path)
        if key not in self._documents:
            data = snapshot.read(path)
            doc = None
            if data is not None:
                try:
                    doc = yamlio.loads(data, path)
                except InputError:
                    doc = None
            self._documents[key] = doc if isinstance(doc, dict) else None
        return self._documents[key]

    def desired(self, snapshot: Snapshot, model: str) -> DesiredState | None:
        """A model's desired state, or None when its model.yaml is missing or malformed (the schema
        gate reports that). Read once per check."""
        key = (id(snapshot), f"desired:{model}")
        if key not in self._states:
            try:
                self._states[key] = desired.read(snapshot, model)
            except InputError:
                self._states[key] = None
        return self._states[key]

    @cached_property
    def policies(self) -> dict[str, Any]:
        loaded, _ = load_all(self.head)
        return loaded

    @cached_property
    def check_settings(self) -> CheckSettings:
        """``check`` in modelreg.yaml, the stricter of the base's and the change's: a pull request
        cannot switch off the verification that judges it (defaults when a file is broken; the
        schema gate reports that)."""
        head, base = _config(self.head).check, _config(self.base).check
        limits = [limit for limit in (head.verify_max_size, base.verify_max_size) if limit is not None]
        return CheckSettings(verify_sha256=head.verify_sha256 or base.verify_sha256,
                                    verify_max_size=max(limits) if len(limits) == 2 else None)

    @cached_property
    def default_policy(self) -> str:
        return default_name(self.head)

    def policy_for(self, model: str, version_tags: dict[str, str]) -> Selected:
        return select(self.policies, self.default_policy, model,
                      self.document(self.head, names.model_file(model)) or {}, version_tags)

    def policies_for(self, model: str, version_tags: dict[str, str], *,
                     alias: str | None = None) -> list[Selected]:
        """The policy that governs ``model`` after the change, and the one that governed it before
        (the base's model.yaml, policies, default and version tags), when that one differs.

        A pull request must pass both: otherwise it could relax the rules that judge it, by
        naming another policy in model.yaml, changing the tags an ``applies_to`` matches, the
        default policy, or the policy file itself, in the same change.
        """
        head = self.policy_for(model, version_tags)
        base_doc = self.document(self.base, names.model_file(model))
        if base_doc is None:
            return [head]  # a new model: nothing governed it before
        base_policies, _ = self.base_policies
        try:
            base = select(base_policies, default_name(self.base), model, base_doc,
                          self._base_tags(model, alias))
        except InputError:
            return [head]  # the base's own selection was broken: the head's is what is checked
        same = base.name == head.name and base.policy == head.policy
        return [head] if same else [head, Selected(f"{base.name} (on {self.base_ref})", base.policy)]

    def _base_tags(self, model: str, alias: str | None) -> dict[str, str]:
        """The tags that chose the policy before the change: those of the version the alias
        points at on the base (else the model's newest version there). Never the tags the
        change brings: a version tagged ``risk: low`` must not pick its own, weaker, rules."""
        state = self.desired(self.base, model)
        number = state.aliases.get(alias) if state is not None and alias is not None else None
        if number is None:
            versions = self.versions(self.base, model)
            number = max(versions) if versions else None
        doc = self.document(self.base, names.version_file(model, number)) if number else None
        tags = doc.get("tags") if doc else None
        return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}

    @cached_property
    def base_policies(self) -> tuple[dict[str, Any], list[InputError]]:
        return load_all(self.base)


def _config(snapshot: Snapshot) -> RegistryConfig:
    try:
        return load_config(snapshot)
    except InputError:
        return RegistryConfig()  # the schema gate reports a broken modelreg.yaml


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
