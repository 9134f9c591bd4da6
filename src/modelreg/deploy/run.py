"""``modelreg deploy``: make what a push to main asks for live, or leave the previous version serving.

For the aliases that moved between two commits and the environments that serve
them (``plan.py``), in this order:

1. Guards. Main is the remote's: ``origin``'s main is fetched first (``--offline``
   trusts it as last fetched, and says so). The commit must be its tip: a late
   run of an older merge, or a clone behind the remote, never deploys (and the
   ledger is read only for commits on main). A target that records a deployment
   from a newer commit (or one this clone cannot place, when it could not fetch)
   is not moved back. A step already deployed is a no-op that says so, only when
   every target that can show its bytes hashes them to the manifest's sha256 now.
2. Bytes. The artifact is fetched through DVC and verified by sha256 before any
   target sees it (a swapped remote object is refused and left as evidence).
3. Activation on each target in the order ``modelreg.yaml`` lists them. If one
   fails, the targets already switched are switched back to the version before,
   so an environment serves one version, never a mix: all or nothing.
4. The record: one ledger line per alias move and per deployment attempt, on
   the commit, pushed to ``origin`` when asked; each signed (an in-toto statement
   in a DSSE envelope) with the key in ``MODELREG_LEDGER_KEY``, or keyless with
   Sigstore in GitHub Actions when ``modelreg.yaml`` names a Sigstore identity.

When ``modelreg.yaml`` names ledger signers, a record that is not verified (not
signed, or forged: ``read/ledger_trust.py``) is never taken as proof of anything:
not that a step is deployed already, not where the moves to record begin, not
what a target that cannot tell last received. Each one disregarded is said.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelreg.deploy import plan
from modelreg.deploy.sealing import Sealer, believed_how
from modelreg.deploy.targets import Activation, Serving, Target, TargetOutcome, build
from modelreg.edges import confine, git, ledger
from modelreg.edges.snapshot import Revision
from modelreg.errors import InputError, ModelregError, NotFoundError
from modelreg.formats import desired, documents, models, names
from modelreg.read.catalog import Catalog, ModelVersion
from modelreg.read.ledger_trust import of_snapshot

_NO_COMMIT = "0" * 40
#: targets whose bytes are hashed at once when a re-run checks what is deployed already
VERIFY_THREADS = 4


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


@dataclass(frozen=True)
class Main:
    """Main's tip as this run knows it, and how fresh that is."""

    #: the branch read: ``origin/main`` (the remote's), or ``main`` in a clone without ``origin``
    ref: str
    commit: str | None
    #: read from the remote in this run
    fetched: bool
    #: how fresh, in words
    note: str
    #: the clone has an ``origin`` (without one, its own main is the only main there is)
    remote: bool = True

    @property
    def current(self) -> bool:
        """Main as it is now: fetched in this run, or the clone's own when there is no remote."""
        return self.fetched or not self.remote

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "commit": self.commit, "fetched": self.fetched, "remote": self.remote,
                "note": self.note}


@dataclass
class Deployment:
    """What ``deploy`` did for one push."""

    commit: str
    before: str | None
    moves: list[desired.Move]
    results: list[StepResult]
    dry_run: bool = False
    refused: str | None = None
    main: Main | None = None
    #: refused as a late run: ``--after`` named a commit main has since moved past (its newer
    #: merge's own run deploys; not a failure), unlike a clone behind the remote (exit code 1)
    superseded: bool = False
    #: ledger records not believed (signers are configured, and they are not verified), with why
    disregarded: list[str] = field(default_factory=list)
    #: how the records this run wrote were signed, in words (None: it wrote none)
    signed: str | None = None
    #: how the ledger's records were checked before being believed, in words
    believed: str = ""

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing was refused, but a late run that a newer one supersedes."""
        if self.refused is not None:
            return self.superseded
        return all(r.outcome not in ("failed", "refused") for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "before": self.before, "dry_run": self.dry_run, "ok": self.ok,
                "refused": self.refused, "superseded": self.superseded,
                "main": self.main.to_dict() if self.main else None,
                "moves": [m.to_dict() for m in self.moves],
                "deployments": [r.to_dict() for r in self.results],
                "ledger": {"signed": self.signed, "believed": self.believed, "disregarded": self.disregarded}}


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


def remote_main(root: Path, *, offline: bool = False) -> Main:
    """Main's tip, fetched from ``origin`` first: a stale clone must not decide what is newest.

    ``offline`` trusts ``origin/main`` as last fetched (the answer says so); a clone without an
    ``origin`` has no other main than its own. A remote that cannot be reached is a ServiceError
    (exit code 4)."""
    from modelreg.read.change import find_base

    has_remote = git.remote_url(root) is not None
    if has_remote and not offline:
        try:
            git.fetch_branch(root, "main")
        except NotFoundError as missing:  # a registry whose main branch is still called master
            try:
                git.fetch_branch(root, "master")
            except NotFoundError:
                raise missing from None
    try:
        ref, tip = find_base(str(root), None)
    except NotFoundError:
        ref, tip = "main", None
    short = tip[:12] if tip else "nowhere"
    if not has_remote:
        note = f"no origin remote: this clone's {ref} ({short}) is the only main there is"
    elif offline:
        note = f"not fetched (--offline): {ref} as last fetched, at {short}"
    else:
        note = f"fetched from origin: {ref} is at {short}"
    return Main(ref, tip, has_remote and not offline and ref.startswith("origin/"), note, has_remote)


def deploy(root: Path, *, after: str | None = None, before: str | None = None, only: str | None = None,
           dry_run: bool = False, push_ledger: bool = False, offline: bool = False,
           redeploy: list[plan.Step] | None = None, main: Main | None = None) -> Deployment:
    """Make each environment serve what ``after`` (default: HEAD) asks for, and record it.

    What is deployed is not only what the last push moved: every alias an environment
    serves whose version differs from the ledger's last successful deployment is deployed,
    so a run that never happened (a queued run replaced by a newer one, a failed push of
    the ledger) is caught up by the next. The moves recorded are every first-parent commit's
    since the last commit the ledger knows (else since ``before``), each with its own pull
    request. ``redeploy`` replaces the plan (``reconcile``). Main is ``origin``'s, fetched first
    (see :func:`remote_main`; ``main`` when the caller fetched it already).
    """
    commit = git.resolve_revision(root, after or "HEAD")
    with Snapshots(root) as snapshots:
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
        main = main or remote_main(root, offline=offline)
        return _deploy(snapshots, commit, config, main, before=before, only=only, dry_run=dry_run,
                       push_ledger=push_ledger, redeploy=redeploy, named=after is not None)


def _refusal(root: Path, commit: str, main: Main) -> tuple[str, bool] | None:
    """Why ``commit`` may not deploy (None: it is main's tip), and whether it is an older commit
    of main (a late run, superseded by the newer merge's own)."""
    tip = main.commit
    if tip is None or tip == commit:
        return None
    if git.is_ancestor(root, commit, tip):
        return (f"{commit[:12]} is not the tip of main: {main.ref} is at {tip[:12]}, you are deploying "
                f"{commit[:12]}, which is older: refusing, so an older commit never overwrites a newer "
                "one; run `git pull` (in CI: the newer merge's own run deploys)"), True
    return (f"{commit[:12]} is not the tip of main: {main.ref} is at {tip[:12]} and does not contain "
            f"{commit[:12]}: refusing; deploy from main once it is merged and pushed (`git pull`)"), False


def _deploy(snapshots: Snapshots, commit: str, config: models.RegistryConfig, main: Main, *,
            before: str | None, only: str | None, dry_run: bool, push_ledger: bool,
            redeploy: list[plan.Step] | None, named: bool) -> Deployment:
    root = snapshots.root
    tip = main.commit
    trust = of_snapshot(snapshots.at(commit), f"{names.CONFIG_FILE} at {commit[:12]}")
    sealer = None if dry_run else Sealer(trust)  # a key that does not load fails before any target moves
    if push_ledger and not dry_run:
        ledger.fetch(root)
    # only records of commits on main: one a force push removed says nothing about main
    history = ledger.read(root, reachable_from=tip or commit, blobs=snapshots.blobs)
    history, disregarded = trust.believed(history)
    start = _start(root, commit, before, history)
    commits = _range(root, start, commit)
    moves = [(c, m) for c in commits for m in moves_between(snapshots, _first_parent(root, c), c)]
    report = Deployment(commit, start, [m for _, m in moves], [], dry_run=dry_run, main=main,
                        disregarded=disregarded, believed=believed_how(trust))
    if redeploy is not None:
        steps = redeploy
    else:
        moved = plan.plan(report.moves, config.environments, only)
        steps = _merge(moved, _behind(snapshots.at(commit), config, history, only))
    moves += _made(snapshots, commit, [s for s in steps if s not in moved] if redeploy is None else steps,
                   moves)
    refusal = _refusal(root, commit, main)
    if refusal is not None:
        report.refused, older = refusal
        report.superseded = older and named  # --after: this push's run, which a newer one replaced
        report.results = [StepResult(s, "refused", report.refused) for s in steps]
        return report
    catalog = Catalog(snapshots.at(commit))
    seen = {} if redeploy is not None else _hashed(root, config, steps, history)
    # what this run deployed so far counts as the last deployment for the steps after it: a catch-up
    # over v1 -> v2 -> v1 deploys v2, then v1 again (the ledger read before the run says v1)
    so_far = list(history)
    ran: set[tuple[str, str, str]] = set()
    for step in steps:
        served = (step.environment, step.model, step.alias)
        previous = _catalog_for(snapshots, so_far, step)
        result = _one(root, config, step, commit, main, so_far, catalog, previous, dry_run,
                      force=redeploy is not None, seen=None if served in ran else seen.get(step))
        report.results.append(result)
        if result.outcome in ("succeeded", "planned"):
            ran.add(served)
            so_far.append(ledger.LedgerRecord(time="", kind="deployment", model=step.model, alias=step.alias,
                                              before=step.before, after=step.after, commit=commit,
                                              environment=step.environment, outcome="succeeded"))
    if sealer is not None:
        records = _records(root, report, moves, history)
        records, report.signed = sealer.seal(records)
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


def _hashed(root: Path, config: models.RegistryConfig, steps: list[plan.Step],
            history: list[ledger.LedgerRecord]) -> dict[plan.Step, list[Serving | None]]:
    """What each target serves, its bytes hashed now, for the steps the ledger says are deployed
    (the candidate no-ops), several targets at once: hashlib releases the GIL, so reading and
    hashing overlap across files and cores."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(step, build(t, root)) for step in steps
            if (last := _last(history, step.environment, step.model, step.alias)) is not None
            and last.after == step.after for t in config.environments[step.environment].targets]
    if not jobs:
        return {}
    with ThreadPoolExecutor(VERIFY_THREADS) as pool:
        found = list(pool.map(lambda job: job[1].serving(job[0].model, job[0].alias, verify=True), jobs))
    out: dict[plan.Step, list[Serving | None]] = {}
    for (step, _), serving in zip(jobs, found, strict=True):
        out.setdefault(step, []).append(serving)
    return out


def _one(root: Path, config: models.RegistryConfig, step: plan.Step, commit: str, main: Main,
         history: list[ledger.LedgerRecord], catalog: Catalog, previous_catalog: Catalog | None,
         dry_run: bool, *, force: bool = False, seen: list[Serving | None] | None = None) -> StepResult:
    last = _last(history, step.environment, step.model, step.alias)
    env = config.environments[step.environment]
    targets = [build(t, root) for t in env.targets]
    try:
        mv = catalog.version(step.model, step.after)
    except ModelregError as exc:
        return StepResult(step, "failed", str(exc))
    sha = str(mv.artifact.get("sha256", ""))
    newer = _newer(root, targets, step, commit, main)
    if newer is not None:
        return StepResult(step, "refused", newer, sha)
    if last is not None and last.after == step.after and not force:
        unchanged = _already(targets, step, sha, seen)
        if unchanged is not None:
            return StepResult(step, "unchanged", f"v{step.after} already deployed (from {last.commit[:12]}): "
                              f"{unchanged}; nothing to do", sha)
    if dry_run:
        note = _signing_note(catalog, mv)
        return StepResult(step, "planned", f"would deploy v{step.after} ({sha[:12]}){note}", sha)
    with _VersionFetch(root, mv) as fetcher:
        refused = _unsigned(catalog, mv, fetcher) or _runs_code(catalog, mv, fetcher)
        if refused is not None:
            return StepResult(step, "refused", refused, sha)
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
        signed = f"; signature by {fetcher.signed_by} verified" if fetcher.signed_by else ""
    return StepResult(step, "succeeded", _succeeded(step.after, outcomes) + signed, sha, outcomes)


def _signing_note(catalog: Catalog, mv: ModelVersion) -> str:
    """What a dry run says of the signature it did not check."""
    from modelreg.policies import signing

    try:
        rule = signing.at(catalog.snapshot, mv.model, mv.data)
    except InputError as exc:
        return f"; its signing rule cannot be read ({exc}): it would be refused"
    return f"; its signature would be verified first ({rule.describe()})" if rule.required else ""


def _unsigned(catalog: Catalog, mv: ModelVersion, fetcher: _VersionFetch) -> str | None:
    """Why the version must not be activated (None: it may): its policy at the deployed commit
    requires signing, and the bundle does not verify against the bytes fetched for the targets
    (``fetcher`` hands every target these very bytes, copied)."""
    from modelreg.policies import signing

    try:
        rule = signing.at(catalog.snapshot, mv.model, mv.data)
    except InputError as exc:
        return f"the signing rule of {mv.uri} cannot be read: {exc}; no target was touched"
    if not rule.required:
        return None
    try:
        path = fetcher.local_path()
    except ModelregError as exc:
        return f"{exc}; no target was touched"
    verdict = signing.verify_version(catalog.snapshot, mv.model, mv.version, mv.data, path)
    if not verdict.ok:
        return f"signature not verified, {verdict.problem}; no target was touched"
    fetcher.signed_by = verdict.signed_by
    return None


def _runs_code(catalog: Catalog, mv: ModelVersion, fetcher: _VersionFetch) -> str | None:
    """Why the version must not be activated (None: it may): its policy at the deployed commit sets
    ``artifact.code_execution``, and the bytes fetched for the targets hold what it refuses."""
    from modelreg.policies import weights

    rule = weights.at(catalog.snapshot, mv.model, mv.data)
    if not rule.inspects:
        return None
    from modelreg.edges import weights as inspection  # picklescan, only where a policy asks

    try:
        path = fetcher.local_path()
        found = inspection.inspect(path, path.name, scan=rule.scans)
    except inspection.ScannerMissing:
        return f"{rule.named()} needs picklescan, which is not installed; no target was touched"
    except ModelregError as exc:
        return f"{exc}; no target was touched"
    problems = weights.judge(rule, found)
    return f"{problems[0].message}; no target was touched" if problems else None


def _succeeded(version: int, outcomes: list[TargetOutcome]) -> str:
    """The words of a success: "live" only when every target's bytes were verified in this run,
    else what each target did."""
    if all(o.verified for o in outcomes):
        return f"v{version} is live on {len(outcomes)} target(s), sha256 verified on each"
    said = [f"{o.target}: {'sha256 verified' if o.verified else 'accepted, its bytes not verifiable'}"
            for o in outcomes]
    return f"v{version} deployed ({'; '.join(said)})"


def _already(targets: list[Target], step: plan.Step, sha256: str,
             seen: list[Serving | None] | None = None) -> str | None:
    """Whether the step is deployed already, in words (None: it is not; deploy it).

    The ledger said so; that is not the proof: every target that can show its bytes must serve
    the step's version and hash them, now, to the manifest's sha256 (a rewritten record on the
    target agrees with any bytes). A target that can only name the version (a manifest) must name
    it and its sha256; one that cannot tell at all (command, webhook) is taken on the ledger's
    word, and the answer says so. ``seen``: each target's answer, hashed in this run already."""
    said = []
    if seen is None or len(seen) != len(targets):
        seen = [target.serving(step.model, step.alias, verify=True) for target in targets]
    for target, serving in zip(targets, seen, strict=True):
        if serving is None:
            said.append(f"{target.name}: cannot show what it serves (the ledger's word only)")
            continue
        if serving.version != step.after or serving.drift or serving.sha256 != sha256:
            return None
        said.append(f"{target.name}: sha256 verified now" if serving.verified else
                    f"{target.name}: names v{step.after} and its sha256, bytes not verifiable")
    return "; ".join(said) or "no target"


def _newer(root: Path, targets: list[Target], step: plan.Step, commit: str, main: Main) -> str | None:
    """Why a target that records which commit deployed the alias must not be moved back (None: it
    may). Newer is, per git, a descendant of ``commit``. When main is current (fetched in this
    run, or a clone without a remote), only one on main counts: a recorded commit main no longer
    holds (a force push) says nothing, main is the truth. When it is not, a descendant counts,
    and so does a commit this clone cannot place: for all it knows, it is newer."""
    for target in targets:
        recorded = getattr(target, "recorded_commit", None)
        found = recorded(step.model, step.alias) if recorded is not None else None
        if found is None or found == commit:
            continue
        where = f"{target.name} serves {step.model} {step.alias} as deployed from {found[:12]}"
        if not git.has_commit(root, found):
            if main.current:
                continue
            return (f"{where}, a commit this clone does not have ({main.note}): it may be newer than "
                    f"{commit[:12]}; refusing to move it back; fetch (`git pull`), then deploy")
        if not git.is_ancestor(root, commit, found):
            continue
        if main.current and main.commit is not None and not git.is_ancestor(root, found, main.commit):
            continue
        return (f"{where}, which is newer than {commit[:12]} (a descendant of it): refusing to move it "
                "back; run `git pull`, then deploy")
    return None


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
        #: who signed the bytes, when their signature was verified in this run
        self.signed_by: str | None = None

    def __enter__(self) -> _VersionFetch:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def fetch_to(self, dest: Path) -> Path:
        """The artifact at ``dest``: a copy of the bytes fetched (and their signature verified)
        for this deployment already, else downloaded and sha256-verified now."""
        if self._path is not None:
            if self._path.is_dir():
                shutil.copytree(self._path, dest, symlinks=True, dirs_exist_ok=False)
            else:
                shutil.copyfile(self._path, dest)
            return dest
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
    the approvals that counted under the move's policy (and apart, those that did not), and a
    record per deployment attempt, on the deployed commit."""
    from modelreg.approvals.merged import Counted, Lookup
    from modelreg.read.history import pr_number

    actor = os.environ.get("GITHUB_ACTOR") or git.user_name(root) or getpass.getuser()
    known = {(r.commit, r.model, r.alias, r.after) for r in history if r.kind == "move"}
    made = list(dict.fromkeys([c for c, _ in moves] + [report.commit]))
    subjects = git.subjects(root, made)
    lookup = Lookup(str(root))
    counted: dict[tuple[str, str | None, str | None], Counted] = {}

    def approval(commit: str, model: str | None = None, alias: str | None = None,
                 version: int | None = None) -> Counted:
        key = (commit, model, alias)
        if key not in counted:
            move = (model, alias, version) if model is not None and alias is not None else None
            counted[key] = lookup.of(commit, pr_number(subjects.get(commit, "")), move)
        return counted[key]

    def fields(found: Counted) -> dict[str, Any]:
        return {"pr": found.pr,
                "approvers": [asdict(a) for a in found.approvers] if found.approvers is not None else None,
                "not_counted": ([asdict(n) for n in found.not_counted] if found.not_counted is not None
                                else None)}

    stamp = ledger.now()
    records = [ledger.LedgerRecord(stamp, "move", m.model, m.alias, m.before, m.after, c,
                                   **fields(approval(c, m.model, m.alias, m.after)), actor=actor,
                                   message=m.describe())
               for c, m in moves if m.kind == "alias" and (c, m.model, m.alias, m.after) not in known]
    # A deployment is credited to the pull request that moved its alias (the tip's, for a catch-up).
    mover = {(m.model, m.alias): (c, m.after) for c, m in moves if m.kind == "alias"}
    for r in report.results:
        if r.outcome in ("unchanged", "planned"):
            continue
        moved = mover.get((r.step.model, r.step.alias))
        found = approval(moved[0], r.step.model, r.step.alias, moved[1]) if moved else approval(report.commit)
        records.append(ledger.LedgerRecord(stamp, "deployment", r.step.model, r.step.alias, r.step.before,
                                           r.step.after, report.commit, environment=r.step.environment,
                                           outcome=r.outcome, sha256=r.sha256, **fields(found),
                                           actor=actor, message=r.message,
                                           targets=[t.to_dict() for t in r.targets],
                                           checks=_checks(report, r)))
    return records


def _checks(report: Deployment, result: StepResult) -> list[dict[str, Any]]:
    """What this run checked before the step's targets saw the bytes (the deployment record keeps
    it): main's tip, and each target's bytes by sha256 (or that it could not)."""
    main = report.main
    out: list[dict[str, Any]] = [{"check": "main", "ok": report.refused is None,
                                  "detail": main.note if main is not None else "main not read"}]
    out += [{"check": f"sha256 on {t.target}", "ok": t.ok and t.verified,
             "detail": "hashed in this run" if t.verified else "its bytes are not verifiable" if t.ok
             else t.message} for t in result.targets]
    return out


def _notify(config: models.RegistryConfig, records: list[ledger.LedgerRecord]) -> None:
    if not config.notify or not records:
        return
    from modelreg.deploy import notify  # type: ignore[attr-defined,unused-ignore]

    for record in records:
        notify.notify(config.notify, {"event": f"modelreg.{record.kind}", **record.to_dict()})


def reconcile(root: Path, *, only: str | None = None, dry_run: bool = False, push_ledger: bool = False,
              offline: bool = False) -> Deployment:
    """Redeploy, from the tip of main (fetched first, see :func:`remote_main`), every alias
    ``status`` finds drifted, every target's bytes hashed (never the fast path); a report with no
    deployments when nothing drifted."""
    from modelreg.deploy.status import status

    main = remote_main(root, offline=offline)
    found = status(root, only=only, fast=False)
    steps = found.steps()
    if not steps:
        return Deployment(found.commit, None, [], [], dry_run=dry_run, main=main)
    return deploy(root, after=found.commit, only=only, dry_run=dry_run, push_ledger=push_ledger,
                  redeploy=steps, main=main)
