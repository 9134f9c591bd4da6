"""``modelreg deploy``: make what a push to main asks for live, or leave the previous version serving.

For the aliases that moved between two commits and the environments that serve
them (``plan.py``), in this order:

1. Guards. The commit must be the tip of main: a late run of an older merge
   never deploys. A step whose ledger shows a newer commit deployed is refused;
   one already deployed from this very commit is a no-op that says so.
2. Bytes. The artifact is fetched through DVC and verified by sha256 before any
   target sees it (a swapped remote object is refused and left as evidence).
3. Activation on each target in the order ``modelreg.yaml`` lists them. If one
   fails, the targets already switched are switched back to the version before,
   so an environment serves one version, never a mix: all or nothing.
4. The record: one ledger line per alias move and per deployment attempt, on
   the commit, pushed to ``origin`` when asked.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelreg import desired, git, names, schema, yamlio
from modelreg.catalog import Catalog, ModelVersion
from modelreg.deploy import ledger, plan
from modelreg.deploy.targets import Activation, Outcome, Target, build
from modelreg.errors import InputError, ModelregError, NotFoundError
from modelreg.snapshot import Revision

_NO_COMMIT = "0" * 40


@dataclass
class StepResult:
    step: plan.Step
    outcome: str  # succeeded | failed | refused | unchanged | planned
    message: str
    sha256: str | None = None
    targets: list[Outcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.step.environment, "model": self.step.model, "alias": self.step.alias,
                "before": self.step.before, "after": self.step.after, "outcome": self.outcome,
                "message": self.message, "sha256": self.sha256,
                "targets": [t.to_dict() for t in self.targets]}


@dataclass
class Deployment:
    """What ``deploy`` did for one push."""

    commit: str
    before: str | None
    moves: list[desired.Move]
    results: list[StepResult]
    dry_run: bool = False
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return all(r.outcome != "failed" for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "before": self.before, "dry_run": self.dry_run, "ok": self.ok,
                "refused": self.refused, "moves": [m.to_dict() for m in self.moves],
                "deployments": [r.to_dict() for r in self.results]}


def config_at(root: Path, commit: str) -> schema.RegistryConfig:
    """modelreg.yaml as of ``commit``: the environments a merge deploys to are the merged ones."""
    snapshot = Revision(str(root), commit, resolved=True)
    data = snapshot.read(names.CONFIG_FILE)
    if data is None:
        return schema.RegistryConfig()
    return schema.validate(schema.RegistryConfig, yamlio.loads(data, names.CONFIG_FILE), names.CONFIG_FILE,
                           data)


def moves_between(root: Path, before: str | None, after: str) -> list[desired.Move]:
    """Every desired-state change between two commits (all of ``after``'s state without ``before``)."""
    head = Revision(str(root), after, resolved=True)
    base = Revision(str(root), before, resolved=True) if before else None
    if base is not None:
        changed = git.changes_since(root, before or "", [names.REGISTRY_DIR], until=after)
        models = sorted({p.split("/")[1] for p in changed if p.endswith("/" + names.MODEL_FILE)
                         and p.count("/") == 2})
    else:
        models = sorted(head.listdir(names.REGISTRY_DIR))
    out: list[desired.Move] = []
    for model in models:
        if not names.MODEL_NAME.fullmatch(model):
            continue
        out += desired.moves(_state(base, model), _state(head, model))
    return out


def _state(snapshot: Revision | None, model: str) -> desired.DesiredState | None:
    if snapshot is None:
        return None
    try:
        return desired.read(snapshot, model)
    except InputError:
        return None  # a broken file on main: the gate reported it; nothing of it deploys


def main_tip(root: Path) -> str | None:
    from modelreg.checks.context import find_base

    with contextlib.suppress(NotFoundError):
        return find_base(str(root), None)[1]
    return None


def deploy(root: Path, *, after: str | None = None, before: str | None = None, only: str | None = None,
           dry_run: bool = False, require_tip: bool = True, push_ledger: bool = False,
           redeploy: list[plan.Step] | None = None) -> Deployment:
    """Deploy what moved from ``before`` (default: the first parent) to ``after`` (default: HEAD).

    ``redeploy`` replaces the plan (``reconcile``): those steps are deployed whatever moved.
    """
    commit = git.resolve_revision(root, after or "HEAD")
    parent = before if before and before != _NO_COMMIT else _first_parent(root, commit)
    start = git.resolve_revision(root, parent) if parent else None
    config = config_at(root, commit)
    if only is not None and only not in config.environments:
        known = ", ".join(sorted(config.environments)) or "none"
        raise NotFoundError(f"no environment {only!r} in {names.CONFIG_FILE} (environments: {known})",
                            fix="name one of them, or add it under environments:")
    moves = moves_between(root, start, commit)
    steps = redeploy if redeploy is not None else plan.plan(moves, config.environments, only)
    report = Deployment(commit, start, moves, [], dry_run=dry_run)
    tip = main_tip(root)
    if require_tip and tip is not None and tip != commit:
        report.refused = (f"{commit[:12]} is not the tip of main ({tip[:12]}): a newer merge's own run "
                          "deploys; an older commit never overwrites it")
        report.results = [StepResult(s, "refused", report.refused) for s in steps]
        return report
    if push_ledger and not dry_run:
        ledger.fetch(root)
    history = ledger.read(root)
    catalog = Catalog(Revision(str(root), commit, resolved=True))
    previous_catalog = Catalog(Revision(str(root), start, resolved=True)) if start else None
    for step in steps:
        report.results.append(_one(root, config, step, commit, history, catalog, previous_catalog, dry_run,
                                   force=redeploy is not None))
    if not dry_run:
        records = _records(root, report, history)
        ledger.append(root, commit, records)
        if push_ledger and records:
            ledger.push(root)
        _notify(config, records)
    return report


def _first_parent(root: Path, commit: str) -> str | None:
    out = git.run(root, "rev-parse", "--verify", "--quiet", f"{commit}^", check=False).strip()
    return out or None


def _one(root: Path, config: schema.RegistryConfig, step: plan.Step, commit: str,
         history: list[ledger.Record], catalog: Catalog, previous_catalog: Catalog | None,
         dry_run: bool, *, force: bool = False) -> StepResult:
    last = next((r for r in reversed(history) if r.kind == "deployment" and r.outcome == "succeeded"
                 and (r.environment, r.model, r.alias) == (step.environment, step.model, step.alias)), None)
    if last is not None and last.commit == commit and last.after == step.after and not force:
        return StepResult(step, "unchanged", f"already deployed from {commit[:12]}; nothing to do",
                          last.sha256)
    if last is not None and last.commit != commit and git.is_ancestor(root, commit, last.commit):
        return StepResult(step, "refused", f"{last.commit[:12]}, newer than {commit[:12]}, is deployed "
                          f"(v{last.after}); an older commit never overwrites it", last.sha256)
    try:
        mv = catalog.version(step.model, step.after)
    except ModelregError as exc:
        return StepResult(step, "failed", str(exc))
    sha = str(mv.artifact.get("sha256", ""))
    if dry_run:
        return StepResult(step, "planned", f"would deploy v{step.after} ({sha[:12]})", sha)
    env = config.environments[step.environment]
    targets = [build(t, root) for t in env.targets]
    with _Fetcher(root, mv) as fetcher:
        act = _activation(root, step, mv, commit, fetcher)
        done: list[Target] = []
        outcomes: list[Outcome] = []
        for target in targets:
            outcome = _activate(target, act)
            outcomes.append(outcome)
            if not outcome.ok:
                outcomes += _switch_back(root, done, step, previous_catalog, commit)
                return StepResult(step, "failed", f"{target.name}: {outcome.message}", sha, outcomes)
            done.append(target)
    return StepResult(step, "succeeded", f"v{step.after} is live on {len(targets)} target(s)", sha, outcomes)


def _activate(target: Target, act: Activation) -> Outcome:
    try:
        return target.activate(act)
    except ModelregError as exc:  # the bytes could not be had, or did not match
        return Outcome(False, target.name, str(exc))


def _switch_back(root: Path, done: list[Target], step: plan.Step, previous_catalog: Catalog | None,
                 commit: str) -> list[Outcome]:
    """Put the version before back on the targets already switched: one version per environment."""
    if not done or step.before is None or previous_catalog is None:
        return []
    try:
        mv = previous_catalog.version(step.model, step.before)
    except ModelregError as exc:
        return [Outcome(False, t.name, f"could not switch back to v{step.before}: {exc}") for t in done]
    back = plan.Step(step.environment, step.model, step.alias, step.after, step.before)
    with _Fetcher(root, mv) as fetcher:
        act = _activation(root, back, mv, commit, fetcher)
        outcomes = []
        for target in done:
            outcome = _activate(target, act)
            outcome.message = f"switched back to v{step.before}: {outcome.message}"
            outcomes.append(outcome)
    return outcomes


class _Fetcher:
    """The artifact of one version, fetched at most once per deployment for targets that want a path."""

    def __init__(self, root: Path, mv: ModelVersion) -> None:
        self.root = root
        self.mv = mv
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._path: Path | None = None

    def __enter__(self) -> _Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def fetch_to(self, dest: Path) -> Path:
        from modelreg.artifacts import download

        return download(self.mv, dest, force=True)

    def local_path(self) -> Path:
        if self._path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="modelreg-deploy-")
            self._path = self.fetch_to(Path(self._tmp.name) / str(self.mv.artifact.get("path", "artifact")))
        return self._path


def _activation(root: Path, step: plan.Step, mv: ModelVersion, commit: str, fetcher: _Fetcher) -> Activation:
    pointer = mv.pointer
    return Activation(environment=step.environment, model=step.model, alias=step.alias, version=step.after,
                      sha256=str(mv.artifact.get("sha256", "")), md5=pointer.md5 if pointer else "",
                      artifact_name=str(mv.artifact.get("path", "")), uri=mv.uri, commit=commit,
                      registry=root, fetch_to=fetcher.fetch_to, local_path=fetcher.local_path,
                      manifest=dict(mv.data))


def _records(root: Path, report: Deployment, history: list[ledger.Record]) -> list[ledger.Record]:
    from modelreg.history import Event, with_approvers

    subject = git.run(root, "log", "-1", "--format=%s", report.commit).strip()
    event = with_approvers(str(root), [Event(kind="alias", version=None, commit=report.commit, author="",
                                             date="", subject=subject, pr=_pr(subject))])[0]
    approvers = [asdict(a) for a in event.approvers] if event.approvers is not None else None
    actor = os.environ.get("GITHUB_ACTOR") or git.user_name(root) or getpass.getuser()
    known = {(r.commit, r.model, r.alias, r.after) for r in history if r.kind == "move"}
    stamp = ledger.now()
    records = [ledger.Record(stamp, "move", m.model, m.alias, m.before, m.after, report.commit,
                             pr=event.pr, approvers=approvers, actor=actor, message=m.describe())
               for m in report.moves if m.kind == "alias"
               and (report.commit, m.model, m.alias, m.after) not in known]
    records += [ledger.Record(stamp, "deployment", r.step.model, r.step.alias, r.step.before, r.step.after,
                              report.commit, environment=r.step.environment, outcome=r.outcome,
                              sha256=r.sha256, pr=event.pr, approvers=approvers, actor=actor,
                              message=r.message, targets=[t.to_dict() for t in r.targets])
                for r in report.results if r.outcome != "unchanged"]
    return records


def _pr(subject: str) -> int | None:
    from modelreg.history import _PR

    match = _PR.search(subject)
    return int(match.group(1) or match.group(2)) if match else None


def _notify(config: schema.RegistryConfig, records: list[ledger.Record]) -> None:
    if not config.notify or not records:
        return
    from modelreg.deploy import notify  # type: ignore[attr-defined,unused-ignore]

    for record in records:
        notify.notify(config.notify, {"event": f"modelreg.{record.kind}", **record.to_dict()})
