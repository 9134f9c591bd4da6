"""``modelreg status``: desired state on main against what the ledger and the targets say is served.

Fast on many models: a ``directory`` target compares each file's size and
mtime with what it recorded at deployment and re-hashes only what changed
(``verify=True`` re-hashes everything).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelreg.deploy.plan import Step
from modelreg.deploy.run import main_tip
from modelreg.deploy.targets import Serving, build
from modelreg.edges import git, ledger
from modelreg.edges.snapshot import Revision
from modelreg.errors import ModelregError, NotFoundError
from modelreg.formats.models import load_config
from modelreg.read.catalog import Catalog


@dataclass
class TargetState:
    target: str
    version: int | None
    sha256: str | None
    verified: bool
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class AliasStatus:
    """One model's alias in one environment: wanted, recorded, served."""

    environment: str
    model: str
    alias: str
    desired: int | None
    sha256: str | None
    recorded: ledger.LedgerRecord | None
    targets: list[TargetState] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.drift

    @property
    def served(self) -> int | None:
        versions = {t.version for t in self.targets if t.version is not None}
        return versions.pop() if len(versions) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "model": self.model, "alias": self.alias,
                "desired": self.desired, "sha256": self.sha256, "ok": self.ok, "drift": self.drift,
                "recorded": self.recorded.to_dict() if self.recorded else None,
                "targets": [t.to_dict() for t in self.targets]}


@dataclass
class Status:
    commit: str
    rows: list[AliasStatus]
    #: ledger records left out (not on main, names the rules refuse), counted
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "ok": self.ok, "rows": [r.to_dict() for r in self.rows],
                "warnings": self.warnings}

    def steps(self) -> list[Step]:
        """What ``reconcile`` redeploys: every drifted row whose desired version exists."""
        return [Step(r.environment, r.model, r.alias, r.served, r.desired) for r in self.rows
                if not r.ok and r.desired is not None]


def status(root: Path, *, only: str | None = None, verify: bool = False) -> Status:
    tip = main_tip(root)
    commit = tip or git.resolve_revision(root, "HEAD")
    with Revision(str(root), commit, resolved=True) as snapshot:
        return _status(root, snapshot, only=only, verify=verify, main="main" if tip else "HEAD")


def _status(root: Path, snapshot: Revision, *, only: str | None, verify: bool, main: str) -> Status:
    commit = str(snapshot.commit)
    config = load_config(snapshot)
    if only is not None and only not in config.environments:
        raise NotFoundError(f"no environment {only!r} in modelreg.yaml",
                            fix=f"name one of: {', '.join(sorted(config.environments)) or 'none'}")
    catalog = Catalog(snapshot)
    # only records about commits on main: one a force push removed (or a branch's note) says
    # nothing about what main deployed; they are counted, not believed
    loaded = ledger.load(root, main=commit)
    records = loaded.records
    rows = []
    for name in sorted(config.environments):
        if only is not None and name != only:
            continue
        env = config.environments[name]
        targets = [build(t, root) for t in env.targets]
        models = env.models or catalog.model_names()
        for model in sorted(models):
            try:
                wanted = catalog.model(model).aliases.get(env.alias)
                sha = str(catalog.version(model, wanted, with_pointer=False).artifact.get("sha256")) \
                    if wanted is not None else None
            except ModelregError:
                continue  # not a model at this commit (or a broken one: the gate reported it)
            last = next((r for r in reversed(records) if r.kind == "deployment"
                         and (r.environment, r.model, r.alias) == (name, model, env.alias)), None)
            if wanted is None and last is None:
                continue
            row = AliasStatus(name, model, env.alias, wanted, sha, last)
            for target in targets:
                serving = target.serving(model, env.alias, verify=verify)
                row.targets.append(_target_state(target.name, serving))
            row.drift = _drift(row)
            rows.append(row)
    return Status(commit, rows, loaded.warnings(main))


def _target_state(name: str, serving: Serving | None) -> TargetState:
    if serving is None:
        return TargetState(name, None, None, False, None)
    return TargetState(name, serving.version, serving.sha256, serving.verified, serving.drift)


def _drift(row: AliasStatus) -> list[str]:
    out = []
    if row.desired is None:
        out.append(f"{row.alias} is no longer set on main, but was deployed")
        return out
    if row.recorded is None:
        out.append("never deployed")
    elif row.recorded.outcome == "failed":
        out.append(f"the last deployment failed ({row.recorded.message})")
    elif row.recorded.after != row.desired:
        out.append(f"the last deployment was v{row.recorded.after}, main says v{row.desired}")
    for target in row.targets:
        if target.problem:
            out.append(f"{target.target}: {target.problem}")
        elif target.version is None and target.sha256 is None and target.problem is None:
            continue  # a target that cannot tell (command, webhook)
        elif target.version != row.desired:
            out.append(f"{target.target} serves v{target.version}, main says v{row.desired}")
        elif target.sha256 is not None and row.sha256 is not None and target.sha256 != row.sha256:
            out.append(f"{target.target} serves other bytes than v{row.desired}'s sha256")
    return out
