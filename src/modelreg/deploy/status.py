"""``modelreg status``: desired state on main against what the targets serve, and the ledger.

A row is ``live`` only when every target serves main's version and the bytes of
every target that can show them (``directory``) hash, in this run, to the sha256
in the version's manifest. What was not checked is said in words (``unverified``):
a target that cannot show its bytes (``command``, ``webhook``: the ledger's word;
``kserve``: the manifest it wrote), or, with ``fast``, files not re-hashed because
their size, mtime and ctime are what the target recorded at deployment. The ledger
judges only targets that cannot tell what they serve: where the targets show main's
version with verified bytes, an earlier failed deployment is no drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelreg.deploy.plan import Step
from modelreg.deploy.run import VERIFY_THREADS, main_tip
from modelreg.deploy.targets import Serving, Target, build
from modelreg.edges import git, ledger
from modelreg.edges.snapshot import Revision
from modelreg.errors import InputError, ModelregError, NotFoundError
from modelreg.formats.models import RegistryConfig, load_config
from modelreg.formats.names import CONFIG_FILE
from modelreg.read.catalog import Catalog
from modelreg.read.ledger_trust import of_snapshot

#: what a target that cannot tell what it serves is taken on
LEDGER_ONLY = "cannot show what it serves: the ledger's word only, bytes not verifiable"


@dataclass
class TargetState:
    target: str
    version: int | None
    sha256: str | None
    #: the bytes were hashed in this run (``sha256`` is that hash)
    verified: bool
    problem: str | None = None
    #: what was not checked, in words (None when the bytes were hashed)
    unverified: str | None = None
    #: the commit the target records deploying, where it records one
    commit: str | None = None
    #: who signed the bytes served, when their signature was verified in this run
    signed_by: str | None = None

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
    def unverified(self) -> list[str]:
        return [f"{t.target}: {t.unverified}" for t in self.targets if t.unverified]

    @property
    def state(self) -> str:
        """``drift``; ``live`` (main's version, its bytes hashed now on every target); else
        ``unverified`` (nothing drifted as far as was checked, and the rest is said in words)."""
        if self.drift:
            return "drift"
        return "unverified" if self.unverified or not self.targets else "live"

    @property
    def ok(self) -> bool:
        return self.state == "live"

    @property
    def served(self) -> int | None:
        versions = {t.version for t in self.targets if t.version is not None}
        return versions.pop() if len(versions) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "model": self.model, "alias": self.alias,
                "desired": self.desired, "sha256": self.sha256, "state": self.state, "ok": self.ok,
                "drift": self.drift, "unverified": self.unverified,
                "recorded": self.recorded.to_dict() if self.recorded else None,
                "targets": [t.to_dict() for t in self.targets]}


@dataclass(frozen=True)
class Lost:
    """A deployment a target shows (its alias record, which its link agrees with) that the
    ledger does not have: the ledger lost records, or never got them (a failed push)."""

    environment: str
    target: str
    model: str
    alias: str
    version: int
    commit: str
    time: str

    def describe(self) -> str:
        return (f"the ledger lost a record: {self.target} serves {self.model} {self.alias} v{self.version}, "
                f"deployed from {self.commit[:12]} at {self.time or 'an unrecorded time'}, and the ledger "
                "has no such deployment")

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Status:
    commit: str
    rows: list[AliasStatus]
    #: True when files were hashed only where their size, mtime or ctime changed
    fast: bool = False
    lost: list[Lost] = field(default_factory=list)
    #: ledger records left out (not on main, names the rules refuse), counted
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every row live: main's version served, its bytes hashed now."""
        return all(r.ok for r in self.rows)

    @property
    def drifted(self) -> bool:
        return any(r.drift for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "ok": self.ok, "drift": self.drifted, "fast": self.fast,
                "rows": [r.to_dict() for r in self.rows], "ledger_lost": [x.to_dict() for x in self.lost],
                "warnings": self.warnings}

    def steps(self) -> list[Step]:
        """What ``reconcile`` redeploys: every drifted row whose desired version exists."""
        return [Step(r.environment, r.model, r.alias, r.served, r.desired) for r in self.rows
                if r.drift and r.desired is not None]


def status(root: Path, *, only: str | None = None, fast: bool = False) -> Status:
    """What main asks for against what is served; every deployed byte hashed, unless ``fast``."""
    tip = main_tip(root)
    commit = tip or git.resolve_revision(root, "HEAD")
    with Revision(str(root), commit, resolved=True) as snapshot:
        return _status(root, snapshot, only=only, fast=fast, main="main" if tip else "HEAD")


def _status(root: Path, snapshot: Revision, *, only: str | None, fast: bool, main: str) -> Status:
    commit = str(snapshot.commit)
    config = load_config(snapshot)
    if only is not None and only not in config.environments:
        raise NotFoundError(f"no environment {only!r} in modelreg.yaml",
                            fix=f"name one of: {', '.join(sorted(config.environments)) or 'none'}")
    catalog = Catalog(snapshot)
    # only records about commits on main: one a force push removed (or a branch's note) says
    # nothing about what main deployed; they are counted, not believed. With signers named, only
    # verified records are believed; each other is said (``read/ledger_trust.py``).
    loaded = ledger.load(root, main=commit)
    records, disregarded = of_snapshot(snapshot, f"{CONFIG_FILE} at {main}").believed(loaded.records)
    rows: list[tuple[AliasStatus, list[Target]]] = []
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
            rows.append((AliasStatus(name, model, env.alias, wanted, sha,
                                     _last_success(records, name, model, env.alias)), targets))
    _ask(rows, verify=not fast)
    unsigned, unchecked = _signatures(catalog, rows, fast=fast)
    kept = []
    for row, _ in rows:
        if row.desired is None and row.recorded is None and all(t.version is None for t in row.targets):
            continue
        row.drift = _drift(root, row, commit) + unsigned.get(id(row), [])
        kept.append(row)
    skipped = [f"signatures not checked (--fast): the policy of {', '.join(unchecked)} requires signing"] \
        if unchecked else []
    return Status(commit, kept, fast=fast, lost=_lost(config, root, records, catalog.model_names(), only),
                  warnings=loaded.warnings(main) + skipped + [f"disregarded {why}" for why in disregarded])


def _signatures(catalog: Catalog, rows: list[tuple[AliasStatus, list[Target]]], *,
                fast: bool) -> tuple[dict[int, list[str]], list[str]]:
    """Where the policy at this commit requires signing, the bundle checked against the bytes each
    directory target serves (a row whose signature fails is not live: reconcile redeploys it, and
    deploy refuses what does not verify), by row; with ``fast``, the versions whose signature was
    not checked."""
    from modelreg.policies import signing

    found: dict[int, list[str]] = {}
    unchecked: list[str] = []
    for row, targets in rows:
        if row.desired is None:
            continue
        try:
            mv = catalog.version(row.model, row.desired, with_pointer=False)
            required = signing.at(catalog.snapshot, row.model, mv.data).required
        except (ModelregError, InputError) as exc:
            found.setdefault(id(row), []).append(f"the signing rule cannot be read: {exc}")
            continue
        if not required:
            continue
        if fast:
            unchecked.append(mv.uri)
            continue
        for target, state in zip(targets, row.targets, strict=True):
            where = getattr(target, "artifact_path", None)
            path = where(row.model, row.desired) if where is not None and state.version == row.desired \
                and state.verified and not state.problem else None
            if path is None:
                continue  # not this version's bytes (drift says so), or a target that cannot show them
            verdict = signing.verify_version(catalog.snapshot, row.model, row.desired, mv.data, path)
            if verdict.ok:
                state.signed_by = verdict.signed_by
            else:
                found.setdefault(id(row), []).append(
                    f"{target.name}: signature not verified: {verdict.problem}")
    return found, unchecked


def _ask(rows: list[tuple[AliasStatus, list[Target]]], *, verify: bool) -> None:
    """Each row's targets, asked what they serve (hashing, with ``verify``), several at once:
    hashlib releases the GIL, so reading and hashing overlap across files and cores."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(row, target) for row, targets in rows for target in targets]
    with ThreadPoolExecutor(VERIFY_THREADS) as pool:
        found = list(pool.map(lambda job: job[1].serving(job[0].model, job[0].alias, verify=verify), jobs))
    for (row, target), serving in zip(jobs, found, strict=True):
        row.targets.append(_target_state(target.name, serving))


def _last_success(records: list[ledger.LedgerRecord], environment: str, model: str,
                  alias: str) -> ledger.LedgerRecord | None:
    """The ledger's last successful deployment: what a target that cannot tell was last told (a
    failed one switched them back to the version before)."""
    return next((r for r in reversed(records) if r.kind == "deployment" and r.outcome == "succeeded"
                 and (r.environment, r.model, r.alias) == (environment, model, alias)), None)


def _target_state(name: str, serving: Serving | None) -> TargetState:
    if serving is None:
        return TargetState(name, None, None, False, None, LEDGER_ONLY)
    unverified = None if serving.verified else (serving.unverified or "bytes not verifiable")
    return TargetState(name, serving.version, serving.sha256, serving.verified, serving.drift, unverified,
                       serving.commit)


def _drift(root: Path, row: AliasStatus, tip: str) -> list[str]:
    out = []
    if row.desired is None:
        out.append(f"{row.alias} is no longer set on main, but was deployed")
        return out
    for target in row.targets:
        if target.problem:
            out.append(f"{target.target}: {target.problem}")
        elif target.unverified == LEDGER_ONLY:
            continue  # judged by the ledger, below
        elif target.version != row.desired:
            out.append(f"{target.target} serves v{target.version}, main says v{row.desired}"
                       + _off_main(root, target.commit, tip))
        elif target.sha256 != row.sha256:
            out.append(f"{target.target} serves other bytes than v{row.desired}'s sha256 ({row.sha256}): "
                       f"{'hashed now' if target.verified else 'its record says'} {target.sha256}")
    if any(t.unverified == LEDGER_ONLY for t in row.targets):
        out += _ledger_drift(row)
    return out


def _ledger_drift(row: AliasStatus) -> list[str]:
    """For targets that cannot tell what they serve, the ledger's last successful deployment."""
    if row.recorded is None:
        return ["never deployed (no successful deployment in the ledger)"]
    if row.recorded.after != row.desired:
        return [f"the last deployment was v{row.recorded.after}, main says v{row.desired}"]
    return []


def _off_main(root: Path, commit: str | None, tip: str) -> str:
    if commit is None or (git.has_commit(root, commit) and git.is_ancestor(root, commit, tip)):
        return ""
    return f" (deployed from {commit[:12]}, which is not on main: a target ahead of main)"


def _lost(config: RegistryConfig, root: Path, records: list[ledger.LedgerRecord], model_names: list[str],
          only: str | None) -> list[Lost]:
    """Deployments the targets that can tell show, which the ledger does not have."""
    known = set()
    for r in records:
        if r.kind != "deployment":
            continue
        if r.outcome == "succeeded":
            known.add((r.model, r.alias, r.after, r.commit))
        elif r.before is not None:  # a failure switched the targets back to the version before
            known.add((r.model, r.alias, r.before, r.commit))
    lost = []
    for name in sorted(config.environments):
        if only is not None and name != only:
            continue
        env = config.environments[name]
        for target in [build(t, root) for t in env.targets]:
            for model in env.models or model_names:
                for shown in _shown(target, model):
                    key = (model, shown.get("alias"), shown.get("version"), shown.get("commit"))
                    if shown.get("alias") == env.alias and key not in known:
                        lost.append(Lost(name, target.name, model, env.alias, int(shown["version"]),
                                         str(shown.get("commit")), str(shown.get("time") or "")))
    return lost


def _shown(target: Target, model: str) -> list[dict[str, Any]]:
    deployments = getattr(target, "deployments", None)
    if deployments is None:
        return []
    return [d for d in deployments(model) if isinstance(d.get("version"), int)
            and isinstance(d.get("commit"), str)]


def lost_records(root: Path, *, model: str | None = None) -> list[Lost]:
    """Deployments the targets show that the ledger does not have (``audit`` lists them), from
    main's ``modelreg.yaml``."""
    commit = main_tip(root) or git.head_commit(root)
    if commit is None:
        return []  # no commit yet: nothing was deployed from this registry
    with Revision(str(root), commit, resolved=True) as snapshot:
        config = load_config(snapshot)
        names = [model] if model else Catalog(snapshot).model_names()
        trust = of_snapshot(snapshot, f"{CONFIG_FILE} at main")
        records, _ = trust.believed(ledger.load(root, main=commit).records)
    return _lost(config, root, records, names, None)
