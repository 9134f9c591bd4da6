"""What the gates look at: a change (``read/change.py``), the options of the check, and the
policies that govern it (``policies/select.py``). Computed once and shared by every gate.
"""

from __future__ import annotations

from functools import cached_property

from modelreg.edges.snapshot import Snapshot, WorkTree
from modelreg.errors import InputError
from modelreg.formats.models import CheckSettings, RegistryConfig, load_config
from modelreg.policies import select
from modelreg.policies.select import Selected
from modelreg.read.change import Change


class Options:
    def __init__(self, *, check_all: bool = False, verify_artifacts: bool = False,
                 offline: bool = False, head: bool = False, staged: bool = False,
                 overlay: dict[str, bytes] | None = None, tree: WorkTree | None = None) -> None:
        #: check the HEAD commit, or the index, rather than the work tree
        self.head = head
        #: files as a command would write them, checked before a byte is written
        self.overlay = overlay or {}
        #: the work tree as the caller read it already (its parses are shared), under the overlay
        self.tree = tree
        self.staged = staged
        self.check_all = check_all
        self.verify_artifacts = verify_artifacts
        self.offline = offline


class CheckContext(Change):
    def __init__(self, root: str, base_ref: str | None, options: Options) -> None:
        super().__init__(root, base_ref, head=options.head, staged=options.staged, overlay=options.overlay,
                         tree=options.tree, check_all=options.check_all)
        self.options = options

    @cached_property
    def check_settings(self) -> CheckSettings:
        """``check`` in modelreg.yaml, the stricter of the base's and the change's: a pull request
        cannot switch off the verification that judges it (defaults when a file is broken; the
        schema gate reports that)."""
        head, base = _config(self.head).check, _config(self.base).check
        limits = [limit for limit in (head.verify_max_size, base.verify_max_size) if limit is not None]
        return CheckSettings(verify_sha256=head.verify_sha256 or base.verify_sha256,
                             verify_max_size=max(limits) if len(limits) == 2 else None)

    def policy_for(self, model: str, version_tags: dict[str, str]) -> Selected:
        return select.for_head(self, model, version_tags)

    def policies_for(self, model: str, version_tags: dict[str, str], *,
                     alias: str | None = None) -> list[Selected]:
        """See ``policies.select.governing``: the policy now, and the one before when it differs."""
        return select.governing(self, model, version_tags, alias=alias)


def _config(snapshot: Snapshot) -> RegistryConfig:
    try:
        return load_config(snapshot)
    except InputError:
        return RegistryConfig()  # the schema gate reports a broken modelreg.yaml
