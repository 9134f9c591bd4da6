"""Writing an import's plan: one branch, a commit per model file and per version, then aliases.

Every version goes through ``write/register.py`` as ``modelreg register`` would take
it (inputs validated, bytes hashed into the DVC cache and pushed, sha256 recorded,
the policy's artifact rules applied), so an import writes nothing a registration
could not. Each version is all or nothing (register's own guarantee); a failure
part-way stops the import, leaves the versions before it committed on the branch,
and says which were imported: running the import again carries on from there.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelreg.approvals import codeowners
from modelreg.edges import git, lock
from modelreg.edges.atomic import write_atomic
from modelreg.edges.hashing import Progress, no_progress
from modelreg.edges.snapshot import Revision, Snapshot, WorkTree
from modelreg.edges.undo import Undo
from modelreg.errors import ConflictError, GateError, InputError, ModelregError, NotFoundError
from modelreg.formats import documents, models, names, text, yamlio
from modelreg.formats.desired import DesiredState
from modelreg.formats.names import MODEL_HEADER
from modelreg.imports.plan import Existing, ModelStep, Plan, model_tags, renamed, version_tags
from modelreg.imports.plan import plan as make_plan
from modelreg.imports.source import MODEL_TAG, SOURCE_TAG, SourceModel
from modelreg.policies import select
from modelreg.write import transitions
from modelreg.write.register import Registration, register


@dataclass
class Imported:
    """What an import wrote: the branch, and each version as ``model``, ``version``, source key."""

    plan: Plan
    branch: str | None
    versions: list[dict[str, Any]] = field(default_factory=list)
    aliases: dict[str, dict[str, int]] = field(default_factory=dict)
    archived: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    written: bool = False
    #: new models whose commit was taken back: none of their versions was imported
    dropped: list[str] = field(default_factory=list)
    #: model -> alias -> why the gates will refuse it (a dry run's forecast from the policy)
    gated: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.plan.kind, "branch": self.branch, "written": self.written,
                "imported": self.versions, "aliases": self.aliases, "archived": self.archived,
                "notes": self.notes, "left_out_aliases": self.gated, "plan": self.plan.to_dict()}


class ImportStopped(ModelregError):
    """An import stopped part-way: the versions before the failure are committed, whole."""

    def __init__(self, message: str, cause: ModelregError) -> None:
        super().__init__(message)
        self.exit_code = cause.exit_code


def run(root: Path, kind: str, read: Callable[[], list[SourceModel]], *, branch: str,
        owners: list[str] | None = None, dry_run: bool = False, progress: Progress = no_progress,
        renames: Mapping[str, str] | None = None, policy: str | None = None) -> Imported:
    """Read the source, plan against the registry as ``branch`` holds it (the work tree when the
    branch is new or checked out: what an earlier run imported is skipped), and write the plan
    unless ``dry_run``."""
    _check_branch_name(root, branch)
    _check_policy(root, policy)
    sources = renamed(kind, read(), renames or {})
    elsewhere = git.branch_exists(root, branch) and git.current_branch(root) != branch
    merged = elsewhere and _merged(root, branch)
    on_branch = elsewhere and not merged
    with Revision(str(root), branch) if on_branch else WorkTree(str(root)) as tree:
        found = existing(tree, kind, [s.name for s in sources])
    planned = make_plan(kind, sources, found)
    fresh = f"the branch {branch} is merged into HEAD already: the import starts it afresh from HEAD"
    if dry_run:
        with WorkTree(str(root)) as tree:
            gated = _gated(tree, planned, policy)
        return Imported(planned, None, notes=[fresh] if merged else [], gated=gated)
    if merged and not planned.empty:
        git.delete_branch(root, branch)  # all of it is in HEAD: nothing is lost
    done = apply(root, planned, branch=branch, owners=owners, progress=progress, policy=policy)
    if merged:
        done.notes.insert(0, fresh)
    return done


def _gated(tree: Snapshot, planned: Plan, policy: str | None) -> dict[str, dict[str, str]]:
    """The planned aliases the promotion gate will refuse: an alias whose policy says it must
    follow another (``promotion.ALIAS.after``) cannot be set by an import, where the version has
    held nothing before."""
    policies, _ = select.load_all(tree)
    default = select.default_name(tree)
    out: dict[str, dict[str, str]] = {}
    for step in planned.models:
        found = documents.model_file(tree, step.name)
        doc = found.data if found is not None else ({"policy": policy} if policy else {})
        try:
            chosen = select.select(policies, default, step.name, doc, {})
        except InputError:
            continue  # the schema gate says so on import
        for alias in step.aliases:
            rule = chosen.policy.promotion.get(alias)
            if rule is not None and rule.after:
                out.setdefault(step.name, {})[alias] = (f"policy {chosen.name} lets {alias} follow "
                                                        f"{rule.after} only")
    return out


def _merged(root: Path, branch: str) -> bool:
    """Whether ``branch`` (an earlier import's) is all in HEAD, so planning against it would miss
    what HEAD gained since (versions registered after the merge). A branch that HEAD has moved
    past without merging it is refused: its numbers may clash with HEAD's."""
    head = git.head_commit(root)
    if head is None or git.is_ancestor(root, branch, head):
        return head is not None
    if not git.is_ancestor(root, head, branch):
        raise ConflictError(f"the import branch {branch} and HEAD have each moved on: planned against "
                            f"{branch}, the import could pick version numbers HEAD already holds",
                            fix=f"merge HEAD into it (`git switch {branch} && git merge -`), or delete it "
                                f"(`git branch -D {branch}`) if nothing on it is needed, then run the "
                                "import again")
    return False


def _check_policy(root: Path, policy: str | None) -> None:
    """``--policy`` names a policy file the registry has (before anything is read or written)."""
    if policy is None:
        return
    if not names.FILE_NAME.fullmatch(f"{policy}.yaml") or \
            not (root / names.POLICY_DIR / f"{policy}.yaml").is_file():
        raise InputError(f"no policy {policy!r} ({names.POLICY_DIR}/{policy}.yaml) in this registry",
                         field="--policy", fix=f"add {names.POLICY_DIR}/{policy}.yaml (docs/policies.md; "
                         "docs/migrate-from-mlflow.md shows one for imported history) and commit it")


def _check_branch_name(root: Path, branch: str) -> None:
    if not branch or branch.startswith("-") or \
            not git.run(root, "check-ref-format", "--branch", branch, check=False).strip():
        raise InputError(f"{branch!r} is not a valid branch name", field="--branch", fix="pick another name")


def existing(tree: Snapshot, kind: str, model_names: list[str]) -> dict[str, Existing]:
    """Each named model as ``tree`` holds it, with the source identifier of each version."""
    out: dict[str, Existing] = {}
    tag = SOURCE_TAG.format(kind=kind)
    for name in model_names:
        found = documents.model_file(tree, name)
        if found is None:
            continue
        versions: dict[int, str | None] = {}
        for entry in tree.listdir(names.model_dir(name)):
            number = names.parse_version_dir(entry)
            doc = documents.mapping(tree, names.version_file(name, number)) if number else None
            if number and doc is not None:
                tags = doc.get("tags") or {}
                versions[number] = str(tags[tag]) if isinstance(tags, dict) and tag in tags else None
        tags = found.data.get("tags") or {}
        source_name = tags.get(MODEL_TAG.format(kind=kind)) if isinstance(tags, dict) else None
        out[name] = Existing(True, versions, dict(found.desired.aliases), frozenset(found.desired.archived),
                             source_name)
    return out


def apply(root: Path, plan: Plan, *, branch: str, owners: list[str] | None = None,
          progress: Progress = no_progress, policy: str | None = None) -> Imported:
    """Write ``plan`` on ``branch`` (created from HEAD, or continued when it exists)."""
    result = Imported(plan, branch)
    if plan.empty:
        result.branch = None
        return result
    for step in plan.models:
        if step.create:
            _new_model_doc(plan.kind, step, owners or [], policy)  # a bad description fails before any write
    created = _enter_branch(root, branch)
    try:
        for step in plan.models:
            _import_model(root, plan, step, owners or [], result, progress, policy)
    except ModelregError as exc:
        if not result.written and created:
            _leave_branch(root, created, branch)
            result.branch = None
        done = ", ".join(f"{v['model']} v{v['version']}" for v in result.versions) or "nothing"
        where = f" (committed on {branch})" if result.written else ""
        kept = "".join(f"; {name}'s model file not kept (none of its versions was imported)"
                       for name in result.dropped)
        raise ImportStopped(f"import from {plan.label} stopped: {exc}; imported: {done}{where}{kept}; "
                           "run the import again to carry on (what was imported is skipped)", exc) from exc
    return result


def _enter_branch(root: Path, branch: str) -> str | None:
    """Switch to ``branch``, creating it from HEAD; returns the branch left when it was created."""
    start = git.current_branch(root) or git.head_commit(root) or ""
    if git.current_branch(root) == branch:
        return None
    if git.branch_exists(root, branch):
        git.switch(root, branch)
        return None
    git.switch_new_branch(root, branch)
    return start


def _leave_branch(root: Path, start: str, branch: str) -> None:
    """Nothing was written on a branch this import made: back to where it started, branch deleted."""
    with contextlib.suppress(ModelregError):
        git.run(root, "switch", "--quiet", *(() if git.branch_exists(root, start) else ("--detach",)), start)
        git.delete_branch(root, branch)


def _import_model(root: Path, plan: Plan, step: ModelStep, owners: list[str], result: Imported,
                  progress: Progress, policy: str | None) -> None:
    result.notes.extend(f"{step.name}: {note}" for note in step.notes)
    if not step.create:
        _import_versions(root, plan, step, result, progress)
    else:
        written_before = result.written
        model_commit = _write_model(root, plan, step, owners, policy)
        result.written = True
        try:
            _import_versions(root, plan, step, result, progress)
        except ModelregError:
            if not any(v["model"] == step.name for v in result.versions):
                _drop_model(root, model_commit)
                result.written = written_before
                result.dropped.append(step.name)
            raise
    if step.history:
        _replay(root, plan, step, result)
    if step.aliases or step.archive or step.history:
        _desired_state(root, plan, step, result)


def _drop_model(root: Path, model_commit: str) -> None:
    """A new model whose first version failed: its commit is taken back, so that no model with
    no versions lands on the branch (it would pass the gates). Only while that commit is the
    branch's last: anything after it is kept, and the gates see the model as it is."""
    if git.head_commit(root) == model_commit:
        git.run(root, "reset", "--quiet", "--keep", "HEAD~1")


def _import_versions(root: Path, plan: Plan, step: ModelStep, result: Imported, progress: Progress) -> None:
    label = plan.label
    for version in step.versions:
        source = version.source
        if source.fetch is None:
            raise InputError(f"{label} gives no artifact for {step.name} version {source.key}",
                             fix="check the version's source in " + label)
        with tempfile.TemporaryDirectory(prefix="modelreg-import-") as tmp:
            artifact = source.fetch(Path(tmp))
            reg = Registration(
                model=step.name, artifact=artifact, metrics=dict(source.metrics), params=dict(source.params),
                tags=version_tags(plan.kind, source), description=source.description,
                run_id=source.run_id, run_url=source.run_url, code=dict(source.code),
                created_at=source.created_at, created_by=source.created_by)
            done = register(root, reg, commit=True, progress=progress)
        if done.version != version.number:  # register numbers by what the tree holds: never expected
            raise ConflictError(f"{step.name} v{version.number} was registered as v{done.version}",
                                fix="another registration ran meanwhile; check the branch")
        result.notes.extend(f"{step.name} v{done.version}: {w}" for w in done.warnings)
        result.versions.append({"model": step.name, "version": done.version,
                                f"{plan.kind}_version": source.key, "commit": done.commit,
                                "sha256": done.manifest["artifact"]["sha256"]})
        result.written = True


def _new_model_doc(kind: str, step: ModelStep, owners: list[str], policy: str | None) -> dict[str, Any]:
    source = step.source
    doc: dict[str, Any] = {"schema_version": models.SCHEMA_VERSION, "name": step.name,
                           "description": text.check_text(source.description, f"{step.name}: description"),
                           "owners": list(owners), "tags": model_tags(kind, source),
                           "aliases": {}, "archived": [], "rejected": []}
    if policy is not None:
        doc["policy"] = policy
    models.validate(models.ModelManifest, doc, names.model_file(step.name))
    return doc


def _write_model(root: Path, plan: Plan, step: ModelStep, owners: list[str], policy: str | None) -> str:
    """Commit the new model's file; returns the commit."""
    doc = _new_model_doc(plan.kind, step, owners, policy)
    path = names.model_file(step.name)
    with lock.held(root, f"import {step.name}"), Undo(root, None) as undo:
        if (root / path).exists():
            raise ConflictError(f"{path} appeared while importing", fix="run the import again")
        undo.track([path])
        (root / names.model_dir(step.name)).mkdir(parents=True, exist_ok=True)
        write_atomic(root / path, yamlio.dumps(doc, MODEL_HEADER))
        files = [path]
        with contextlib.suppress(InputError):  # another model's broken file: the schema gate says so
            undo.track([codeowners.PATH])
            if (root / codeowners.PATH).exists() and codeowners.write(root):
                files.append(codeowners.PATH)
        return undo.commit(f"Import {step.name} from {plan.label} ({step.source.source_name})", files)


def _replay(root: Path, plan: Plan, step: ModelStep, result: Imported) -> None:
    """A new model's alias moves, one commit each in the source's order, so that ``modelreg
    history`` tells how the aliases moved there (the commits are dated now; the source's names of
    the moves are in their messages). A move the gates refuse is skipped and named."""
    for alias, number, what in step.history:
        move = ("alias", alias, number) if number is not None else ("demote", alias, 0)
        message = f"Import {step.name} from {plan.label}: {what}"
        if not _transition(root, plan, step.name, [move], message=message):
            result.notes.append(f"{step.name}: {what} not replayed: the gates refuse it")


def _desired_state(root: Path, plan: Plan, step: ModelStep, result: Imported) -> None:
    """The aliases and archived versions, checked by the gates a promotion passes (schema and
    promotion rules): all in one commit, or, when the gates refuse that, each on its own, and
    the ones refused are left out and named."""
    now = documents.desired(WorkTree(str(root)), step.name)
    held = dict(now.aliases) if now is not None else {}
    gone = now.archived if now is not None else frozenset()
    moves = [("alias", name, number) for name, number in step.aliases.items() if held.get(name) != number]
    moves += [("demote", name, 0) for name in held if step.history and name not in step.aliases]
    moves += [("archive", "", number) for number in step.archive if number not in gone]
    if moves and not _transition(root, plan, step.name, moves):
        for move in moves:
            if not _transition(root, plan, step.name, [move]):
                what = {"alias": f"alias {move[1]!r} -> v{move[2]}", "demote": f"removing alias {move[1]!r}",
                        "archive": f"archiving v{move[2]}"}[move[0]]
                if move[0] == "alias":
                    result.gated.setdefault(step.name, {})[move[1]] = "the gates refuse it"
                result.notes.append(f"{step.name}: {what} left out: the gates refuse it "
                                    f"(run `modelreg promote`/`archive` for the reason)")
    state = documents.desired(WorkTree(str(root)), step.name)
    if state is not None:
        result.aliases[step.name] = {a: v for a, v in state.aliases.items() if step.aliases.get(a) == v}
        result.archived[step.name] = [v for v in step.archive if v in state.archived]


def _transition(root: Path, plan: Plan, model: str, moves: list[tuple[str, str, int]], *,
                message: str | None = None) -> bool:
    def edit(state: DesiredState) -> DesiredState:
        for kind, name, number in moves:
            if kind == "alias":
                state = transitions.promote(state, number, name)
            elif kind == "demote":
                state = transitions.demote(state, name)
            else:
                state = transitions.archive(state, number)
        return state

    try:
        transitions.apply(root, {model: edit}, verb="import", commit=True,
                          message=message or f"Import {model}'s aliases and archived versions from "
                          f"{plan.label}")
    except (GateError, ConflictError, InputError, NotFoundError):
        return False
    return True
