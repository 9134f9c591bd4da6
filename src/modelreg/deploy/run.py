"""``modelreg deploy``: make what a push to main asks for live, or leave the previous version serving.

For the aliases that moved between two commits and the environments that serve
them (``plan.py``), in this order:

1. Guards. The commit must be the tip of main: a late run of an older merge
   never deploys (and the ledger is read only for commits on main, so no newer
   deployment can be on record). A step already deployed is a no-op that says so.
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

from modelreg.deploy import plan
from modelreg.deploy.targets import Activation, Target, TargetOutcome, build
from modelreg.edges import confine, git, ledger
from modelreg.edges.snapshot import Revision
from modelreg.errors import InputError, ModelregError, NotFoundError
from modelreg.formats import desired, documents, models, names
from modelreg.read.catalog import Catalog, ModelVersion

_NO_COMMIT = "0" * 40


@dataclass
class StepResult:
    step: plan.Step
    outcome: str  # succeeded | failed | refused | unchanged | planned
    message: str
    sha256: str | None = None
    targets: list[TargetOutcome] = field(default_factory=list)

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


class Snapshots:
    """One snapshot per revision a deployment reads, all reading through one ``git cat-file``;
    closed, with it, on exit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        #: the one ``cat-file`` every revision (and the history of a catch-up) reads through
        self.blobs = git.BlobReader(root)
        self._open: dict[str, Revision] = {}

    def at(self, commit: str) -> Revision:
        if commit not in self._open:
            self._open[commit] = Revision(str(self.root), commit, resolved=True, blobs=self.blobs)
        return self._open[commit]

    def __enter__(self) -> Snapshots:
        return self

    def __exit__(self, *exc: object) -> None:
        self.blobs.close()


def moves_between(snapshots: Snapshots, before: str | None, after: str) -> list[desired.Move]:
    """Every desired-state change between two commits (all of ``after``'s state without ``before``)."""
    root = snapshots.root
    head = snapshots.at(after)
    base = snapshots.at(before) if before else None
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
        return documents.desired(snapshot, model)
    except InputError:
        return None  # a broken file on main: the gate reported it; nothing of it deploys


def main_tip(root: Path) -> str | None:
    from modelreg.read.change import find_base

    with contextlib.suppress(NotFoundError):
        return find_base(str(root), None)[1]
    return None


def deploy(root: Path, *, after: str | None = None, before: str | None = None, only: str | None = None,
           dry_run: bool = False, push_ledger: bool = False,
           redeploy: list[plan.Step] | None = None) -> Deployment:
    """Make each environment serve what ``after`` (default: HEAD) asks for, and record it.

    What is deployed is not only what the last push moved: every alias an environment
    serves whose version differs from the ledger's last successful deployment is deployed,
    so a run that never happened (a queued run replaced by a newer one, a failed push of
    the ledger) is caught up by the next. The moves recorded are every first-parent commit's
    since the last commit the ledger knows (else since ``before``), each with its own pull
    request. ``redeploy`` replaces the plan (``reconcile``).
    """
    commit = git.resolve_revision(root, after or "HEAD")
    with Snapshots(root) as snapshots:
        return _deploy(snapshots, commit, before=before, only=only, dry_run=dry_run,
                       push_ledger=push_ledger, redeploy=redeploy)


def _deploy(snapshots: Snapshots, commit: str, *, before: str | None, only: str | None, dry_run: bool,
            push_ledger: bool, redeploy: list[plan.Step] | None) -> Deployment:
    root = snapshots.root
    config = models.load_config(snapshots.at(commit))
    # a target inside the repository would write into the registry itself: refused before any write
    raw_config = documents.raw(snapshots.at(commit), names.CONFIG_FILE)
    inside = confine.config_problems(str(root), config, raw_config)
    if inside:
        raise inside[0]
    if only is not None and only not in config.environments:
        known = ", ".join(sorted(config.environments)) or "none"
        raise NotFoundError(f"no environment {only!r} in {names.CONFIG_FILE} (environments: {known})",
                            fix="name one of them, or add it under environments:")
    tip = main_tip(root)
    if push_ledger and not dry_run:
        ledger.fetch(root)
    # only records of commits on main: one a force push removed says nothing about main
    history = ledger.read(root, reachable_from=tip or commit, blobs=snapshots.blobs)
    start = _start(root, commit, before, history)
    commits = _range(root, start, commit)
    moves = [(c, m) for c in commits for m in moves_between(snapshots, _first_parent(root, c), c)]
    report = Deployment(commit, start, [m for _, m in moves], [], dry_run=dry_run)
    if redeploy is not None:
        steps = redeploy
    else:
        moved = plan.plan(report.moves, config.environments, only)
        steps = _merge(moved, _behind(snapshots.at(commit), config, history, only))
    moves += _made(snapshots, commit, [s for s in steps if s not in moved] if redeploy is None else steps,
                   moves)
    if tip is not None and tip != commit:
        report.refused = (f"{commit[:12]} is not the tip of main ({tip[:12]}): a newer merge's own run "
                          "deploys; an older commit never overwrites it")
        report.results = [StepResult(s, "refused", report.refused) for s in steps]
        return report
    catalog = Catalog(snapshots.at(commit))
    for step in steps:
        previous = _catalog_for(snapshots, history, step)
        report.results.append(_one(root, config, step, commit, history, catalog, previous, dry_run,
                                   force=redeploy is not None))
    if not dry_run:
        records = _records(root, report, moves, history)
        for where in dict.fromkeys(r.commit for r in records):
            ledger.append(root, where, [r for r in records if r.commit == where])
        if push_ledger and records:
            ledger.push(root)
        _notify(config, records)
    return report


def _start(root: Path, commit: str, before: str | None, history: list[ledger.LedgerRecord]) -> str | None:
    """Where the moves to record begin: the newest first-parent ancestor the ledger knows, else
    ``before`` (when this clone has it), else the first parent."""
    known = {r.commit for r in history}
    ancestors = git.run(root, "rev-list", "--first-parent", "--max-count=1000", commit).split()[1:]
    recorded = next((c for c in ancestors if c in known), None)
    if recorded is not None:
        return recorded
    if before and before != _NO_COMMIT:
        with contextlib.suppress(NotFoundError):
            resolved = git.resolve_revision(root, before)
            if git.is_ancestor(root, resolved, commit):
                return resolved
    return _first_parent(root, commit)


def _range(root: Path, start: str | None, commit: str) -> list[str]:
    """First-parent commits after ``start`` up to ``commit``, oldest first."""
    spec = f"{start}..{commit}" if start else commit
    return git.run(root, "rev-list", "--first-parent", "--reverse", "--max-count=1000", spec).split()


def _behind(snapshot: Revision, config: models.RegistryConfig, history: list[ledger.LedgerRecord],
            only: str | None) -> list[plan.Step]:
    """Aliases whose desired version is not what the ledger last deployed (or never deployed)."""
    steps = []
    for name in sorted(config.environments):
        if only is not None and name != only:
            continue
        env = config.environments[name]
        models = env.models or [m for m in snapshot.listdir(names.REGISTRY_DIR)
                                if names.MODEL_NAME.fullmatch(m)]
        for model in sorted(models):
            state = _state(snapshot, model)
            wanted = state.aliases.get(env.alias) if state is not None else None
            if wanted is None:
                continue
            last = _last(history, name, model, env.alias)
            if last is None or last.after != wanted:
                steps.append(plan.Step(name, model, env.alias, last.after if last else None, wanted))
    return steps


def _made(snapshots: Snapshots, commit: str, steps: list[plan.Step],
          known: list[tuple[str, desired.Move]]) -> list[tuple[str, desired.Move]]:
    """For steps not moved in this range (a run that never happened, a reconcile): the commit
    that set the alias to its version, from the model's history, so it is recorded and credited."""
    from modelreg.read.history import history

    have = {(m.model, m.alias) for _, m in known}
    found: list[tuple[str, desired.Move]] = []
    for step in steps:
        if (step.model, step.alias) in have:
            continue
        event = next((e for e in history(str(snapshots.root), step.model, commit, blobs=snapshots.blobs)
                      if e.kind == "alias" and e.alias == step.alias and e.version == step.after), None)
        if event is not None:
            found.append((event.commit, desired.Move(step.model, "alias", alias=step.alias,
                                                     before=event.previous, after=step.after)))
            have.add((step.model, step.alias))
    return found


def _merge(moved: list[plan.Step], behind: list[plan.Step]) -> list[plan.Step]:
    """The steps of this push's moves (a re-run reports them unchanged), then those still behind."""
    seen = {(s.environment, s.model, s.alias) for s in moved}
    return moved + [s for s in behind if (s.environment, s.model, s.alias) not in seen]


def _last(history: list[ledger.LedgerRecord], environment: str, model: str,
          alias: str) -> ledger.LedgerRecord | None:
    return next((r for r in reversed(history) if r.kind == "deployment" and r.outcome == "succeeded"
                 and (r.environment, r.model, r.alias) == (environment, model, alias)), None)


def _catalog_for(snapshots: Snapshots, history: list[ledger.LedgerRecord], step: plan.Step) -> Catalog | None:
    """Where the version to switch back to is read: the commit that deployed it."""
    last = _last(history, step.environment, step.model, step.alias)
    if last is None or step.before is None:
        return None
    return Catalog(snapshots.at(last.commit))


def _first_parent(root: Path, commit: str) -> str | None:
    out = git.run(root, "rev-parse", "--verify", "--quiet", f"{commit}^", check=False).strip()
    return out or None


def _one(root: Path, config: models.RegistryConfig, step: plan.Step, commit: str,
         history: list[ledger.LedgerRecord], catalog: Catalog, previous_catalog: Catalog | None,
         dry_run: bool, *, force: bool = False) -> StepResult:
    last = _last(history, step.environment, step.model, step.alias)
    env = config.environments[step.environment]
    targets = [build(t, root) for t in env.targets]
    if last is not None and last.after == step.after and not force and _serving(targets, step):
        return StepResult(step, "unchanged", f"v{step.after} already deployed (from {last.commit[:12]}); "
                          "nothing to do", last.sha256)
    try:
        mv = catalog.version(step.model, step.after)
    except ModelregError as exc:
        return StepResult(step, "failed", str(exc))
    sha = str(mv.artifact.get("sha256", ""))
    if dry_run:
        return StepResult(step, "planned", f"would deploy v{step.after} ({sha[:12]})", sha)
    with _VersionFetch(root, mv) as fetcher:
        act = _activation(root, step, mv, commit, fetcher, reinstall=force)
        done: list[Target] = []
        outcomes: list[TargetOutcome] = []
        for target in targets:
            outcome = _activate(target, act)
            outcomes.append(outcome)
            if not outcome.ok:
                outcomes += _switch_back(root, done, step, previous_catalog, commit)
                return StepResult(step, "failed", f"{target.name}: {outcome.message}", sha, outcomes)
            done.append(target)
    return StepResult(step, "succeeded", f"v{step.after} is live on {len(targets)} target(s)", sha, outcomes)


def _serving(targets: list[Target], step: plan.Step) -> bool:
    """Whether every target that can tell says it serves the step's version. The ledger alone is
    not trusted for "already deployed": anyone who may push can write a note."""
    for target in targets:
        serving = target.serving(step.model, step.alias)
        if serving is not None and (serving.version != step.after or serving.drift):
            return False
    return True


def _activate(target: Target, act: Activation) -> TargetOutcome:
    try:
        return target.activate(act)
    except ModelregError as exc:  # the bytes could not be had, or did not match
        return TargetOutcome(False, target.name, str(exc))


def _switch_back(root: Path, done: list[Target], step: plan.Step, previous_catalog: Catalog | None,
                 commit: str) -> list[TargetOutcome]:
    """Put the version before back on the targets already switched: one version per environment.
    With no version before (a first deployment), the targets that can stop serving it do."""
    if not done:
        return []
    if step.before is None or previous_catalog is None:
        return [target.withdraw(step.model, step.alias) for target in done if hasattr(target, "withdraw")]
    try:
        mv = previous_catalog.version(step.model, step.before)
    except ModelregError as exc:
        return [TargetOutcome(False, t.name, f"could not switch back to v{step.before}: {exc}") for t in done]
    back = plan.Step(step.environment, step.model, step.alias, step.after, step.before)
    with _VersionFetch(root, mv) as fetcher:
        act = _activation(root, back, mv, commit, fetcher)
        outcomes = []
        for target in done:
            outcome = _activate(target, act)
            outcome.message = f"switched back to v{step.before}: {outcome.message}"
            outcomes.append(outcome)
    return outcomes


class _VersionFetch:
    """The artifact of one version, fetched at most once per deployment for targets that want a path."""

    def __init__(self, root: Path, mv: ModelVersion) -> None:
        self.root = root
        self.mv = mv
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._path: Path | None = None

    def __enter__(self) -> _VersionFetch:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def fetch_to(self, dest: Path) -> Path:
        from modelreg.read.artifacts import download

        return download(self.mv, dest, force=True)

    def local_path(self) -> Path:
        if self._path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="modelreg-deploy-")
            self._path = self.fetch_to(Path(self._tmp.name) / str(self.mv.artifact.get("path", "artifact")))
        return self._path


def _activation(root: Path, step: plan.Step, mv: ModelVersion, commit: str, fetcher: _VersionFetch, *,
                reinstall: bool = False) -> Activation:
    pointer = mv.pointer
    return Activation(environment=step.environment, model=step.model, alias=step.alias, version=step.after,
                      sha256=str(mv.artifact.get("sha256", "")), md5=pointer.md5 if pointer else "",
                      artifact_name=str(mv.artifact.get("path", "")), uri=mv.uri, commit=commit,
                      registry=root, fetch_to=fetcher.fetch_to, local_path=fetcher.local_path,
                      manifest=dict(mv.data), reinstall=reinstall)


def _records(root: Path, report: Deployment, moves: list[tuple[str, desired.Move]],
             history: list[ledger.LedgerRecord]) -> list[ledger.LedgerRecord]:
    """A record per alias move, on the commit that made it with that commit's pull request and
    approvers, and a record per deployment attempt, on the deployed commit."""
    from modelreg.read.history import approvals

    actor = os.environ.get("GITHUB_ACTOR") or git.user_name(root) or getpass.getuser()
    known = {(r.commit, r.model, r.alias, r.after) for r in history if r.kind == "move"}
    made = list(dict.fromkeys([c for c, _ in moves] + [report.commit]))
    approved = approvals(str(root), made)

    def approvers(commit: str) -> list[dict[str, Any]] | None:
        found = approved[commit].approvers
        return [asdict(a) for a in found] if found is not None else None

    stamp = ledger.now()
    records = [ledger.LedgerRecord(stamp, "move", m.model, m.alias, m.before, m.after, c, pr=approved[c].pr,
                                   approvers=approvers(c), actor=actor, message=m.describe())
               for c, m in moves if m.kind == "alias" and (c, m.model, m.alias, m.after) not in known]
    # A deployment is credited to the pull request that moved its alias (the tip's, for a catch-up).
    mover = {(m.model, m.alias): c for c, m in moves if m.kind == "alias"}
    for r in report.results:
        if r.outcome in ("unchanged", "planned"):
            continue
        source = mover.get((r.step.model, r.step.alias), report.commit)
        records.append(ledger.LedgerRecord(stamp, "deployment", r.step.model, r.step.alias, r.step.before,
                                           r.step.after, report.commit, environment=r.step.environment,
                                           outcome=r.outcome, sha256=r.sha256, pr=approved[source].pr,
                                           approvers=approvers(source), actor=actor, message=r.message,
                                           targets=[t.to_dict() for t in r.targets]))
    return records


def _notify(config: models.RegistryConfig, records: list[ledger.LedgerRecord]) -> None:
    if not config.notify or not records:
        return
    from modelreg.deploy import notify  # type: ignore[attr-defined,unused-ignore]

    for record in records:
        notify.notify(config.notify, {"event": f"modelreg.{record.kind}", **record.to_dict()})


def reconcile(root: Path, *, only: str | None = None, verify: bool = False, dry_run: bool = False,
              push_ledger: bool = False) -> Deployment:
    """Redeploy, from the tip of main, every alias ``status`` finds drifted; a report with no
    deployments when nothing drifted."""
    from modelreg.deploy.status import status

    found = status(root, only=only, verify=verify)
    steps = found.steps()
    if not steps:
        return Deployment(found.commit, None, [], [], dry_run=dry_run)
    return deploy(root, after=found.commit, only=only, dry_run=dry_run, push_ledger=push_ledger,
                  redeploy=steps)
