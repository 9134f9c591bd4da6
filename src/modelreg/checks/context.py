"""What the gates look at: a change (``read/change.py``), the options of the check, and the
policies that govern it (``policies/select.py``). Computed once and shared by every gate.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection
from functools import cached_property
from pathlib import Path

from modelreg.edges.snapshot import Snapshot, WorkTree
from modelreg.errors import InputError, ModelregError
from modelreg.formats import names
from modelreg.formats.models import CheckSettings, RegistryConfig, load_config
from modelreg.policies import select
from modelreg.policies.select import Selected
from modelreg.read.change import Change

#: why each generated workflow of a snapshot differs from what this modelreg writes (or cannot be
#: compared), and notes on what was not compared. ``write/upgrade.py`` knows, one layer up, so the
#: caller hands it in (``api.py``); without it the schema gate says it did not compare them.
StaleWorkflows = Callable[[Snapshot], tuple[list[InputError], list[str]]]


class Options:
    def __init__(self, *, check_all: bool = False, verify_artifacts: bool = False,
                 offline: bool = False, head: bool = False, staged: bool = False,
                 overlay: dict[str, bytes] | None = None, tree: WorkTree | None = None,
                 stale_workflows: StaleWorkflows | None = None) -> None:
        self.stale_workflows = stale_workflows
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
        self._downloads: dict[tuple[str, int], Path | ModelregError] = {}
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def download(self, model: str, number: int) -> Path:
        """A new version's artifact, fetched from the remote and its sha256 checked, once per check:
        the artifact gate hashes these bytes and the signature gate verifies the very same ones.
        Deleted when the check ends. Raises what the download raised (every time it is asked)."""
        key = (model, number)
        if key not in self._downloads:
            from modelreg.read.artifacts import download  # DVC: not for checks that fetch nothing

            if self._scratch is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="modelreg-verify-")
            try:
                self._downloads[key] = download(self.head_catalog.version(model, number),
                                                f"{self._scratch.name}/{model}-v{number}/")
            except ModelregError as exc:
                self._downloads[key] = exc
        found = self._downloads[key]
        if isinstance(found, ModelregError):
            raise found
        return found

    def to_verify(self, versions: list[tuple[str, int, int]], forced: Collection[tuple[str, int]] = ()
                  ) -> tuple[list[tuple[str, int]], dict[tuple[str, int], str]]:
        """Of (model, version, size), those whose artifact is downloaded and hashed, and why each
        other one is not.

        Size and md5 in the remote's listing cannot catch a same-size swap; only the bytes can.
        ``check`` in ``modelreg.yaml`` (the stricter of the base's and the change's) turns this
        off, or off above a size; --verify-artifacts forces it, and so does a policy rule that
        only the bytes can answer (``forced``: a required signature, ``artifact.code_execution``).
        """
        settings = self.check_settings
        if self.options.verify_artifacts:
            return [(m, n) for m, n, _ in versions], {}
        limit = settings.verify_max_size
        chosen, skipped = [], {}
        for m, n, size in versions:
            if (m, n) in forced or (settings.verify_sha256 and (limit is None or size <= limit)):
                chosen.append((m, n))
            elif not settings.verify_sha256:
                skipped[m, n] = f"check.verify_sha256 is false in {names.CONFIG_FILE}"
            else:
                skipped[m, n] = f"over check.verify_max_size ({limit:,} bytes) in {names.CONFIG_FILE}"
        return chosen, skipped

    def close(self) -> None:
        super().close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

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
