"""Changing desired state: promote, demote, roll back, archive, reject; and describe.

Each edit is a pure function from one :class:`DesiredState` to the next.
:func:`apply` then checks the would-be ``model.yaml`` files with the same
gates as CI (schema and promotion: a skipped ``after:`` stage, a soak not yet
served, an archived or rejected target all fail here, before anything is
written), and only then writes them, holding the registry's lock, and
optionally commits on a new branch and pushes it: one commit for every model
changed, so one review, one merge, one deployment.

``describe`` goes the same way with ``fields``: a model.yaml field other than
desired state (the description) set in the same checked, locked write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg.edges import git, lock
from modelreg.edges.atomic import write_atomic
from modelreg.edges.snapshot import Snapshot, WorkTree
from modelreg.edges.undo import Undo
from modelreg.errors import ConflictError, GateError, InputError, NotFoundError
from modelreg.formats import desired, documents, names, yamlio
from modelreg.formats.desired import DesiredState, Move, Rejection
from modelreg.formats.names import MODEL_HEADER
from modelreg.formats.text import check_text
from modelreg.read.catalog import Catalog
from modelreg.read.history import Event

if TYPE_CHECKING:
    from modelreg.checks import CheckReport

# --- the edits, pure --------------------------------------------------------------------------


def promote(state: DesiredState, version: int, alias: str) -> DesiredState:
    names.check_alias_name(alias)
    return DesiredState(state.model, {**state.aliases, alias: version}, state.archived, state.rejected)


def demote(state: DesiredState, alias: str) -> DesiredState:
    if alias not in state.aliases:
        known = ", ".join(sorted(state.aliases)) or "none"
        raise NotFoundError(f"model {state.model!r} has no alias {alias!r} (aliases: {known})",
                            fix="name an alias the model has")
    return DesiredState(state.model, {a: v for a, v in state.aliases.items() if a != alias},
                        state.archived, state.rejected)


def archive(state: DesiredState, version: int) -> DesiredState:
    _not_serving(state, version, "archived")
    if version in state.archived:
        raise ConflictError(f"{state.model} v{version} is archived already", fix="nothing to do")
    return DesiredState(state.model, state.aliases, state.archived | {version}, state.rejected)


def reject(state: DesiredState, version: int, reason: str, by: str | None) -> DesiredState:
    _not_serving(state, version, "rejected")
    check_text(reason, "--reason")
    if not reason.strip():
        raise InputError("a rejection needs a reason", field="--reason",
                         fix='say why, e.g. --reason "failed the bias review"')
    if version in state.rejected:
        raise ConflictError(f"{state.model} v{version} is rejected already "
                            f"({state.rejected[version].reason})", fix="nothing to do")
    return DesiredState(state.model, state.aliases, state.archived,
                        {**state.rejected, version: Rejection(version, reason.strip(), by)})


def _not_serving(state: DesiredState, version: int, verb: str) -> None:
    held = state.aliases_of(version)
    if held:
        raise ConflictError(f"{state.model} v{version} is {', '.join(held)}; it cannot be {verb} while "
                            "an alias points at it",
                            fix=f"move the alias first (`modelreg rollback {state.model} --alias {held[0]}` "
                            f"or `modelreg demote {state.model} --alias {held[0]}`)")


def rollback_target(state: DesiredState, alias: str, events: list[Event]) -> int:
    """The version ``alias`` pointed at before its current one, from the first-parent history.

    History is read as a stack: a move to a new version pushes it; a move back to a version
    already on the stack (a rollback, or a ``git revert`` of a promotion) pops down to it; a
    removal empties it. So after 1 → 2 → 3 and a rollback to 2, the next rollback goes to 1,
    not back to 3. Git's order is used, never timestamps: commits in the same second are fine.
    Versions archived or rejected since are skipped.
    """
    current = state.aliases.get(alias)
    if current is None:
        known = ", ".join(sorted(state.aliases)) or "none"
        raise NotFoundError(f"model {state.model!r} has no alias {alias!r} (aliases: {known})",
                            fix="name an alias the model has")
    stack: list[int] = []
    for event in reversed(events):  # oldest first
        if event.kind != "alias" or event.alias != alias:
            continue
        _push(stack, event.version)
    _push(stack, current)  # the work tree may be ahead of the last commit
    for version in reversed(stack[:-1]):
        if state.is_live(version):
            return version
    raise NotFoundError(f"{state.model} {alias} has no earlier live version in its history",
                        fix=f"pass --to VERSION to choose one (see `modelreg history {state.model}`)")


def _push(stack: list[int], version: int | None) -> None:
    if version is None:
        stack.clear()
    elif version in stack:
        del stack[stack.index(version) + 1:]
    else:
        stack.append(version)


# --- applying them ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """A ``model.yaml`` field other than desired state, changed (``describe``: the description)."""

    model: str
    field: str
    before: Any
    after: Any

    def describe(self) -> str:
        """``fraud description: "Real-time fraud scoring"`` (long text cut: the file has it whole)."""
        after = str(self.after)
        shown = after if len(after) <= 60 else after[:59] + "…"
        return f'{self.model} {self.field}: "{shown}"' if after else f"{self.model} {self.field}: cleared"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "field": self.field, "before": self.before, "after": self.after}


@dataclass
class Applied:
    """What a transition command changed, and where it left the change."""

    moves: list[Move]
    files: list[str]
    written: bool
    commit: str | None = None
    branch: str | None = None
    pushed: bool = False
    pr_url: str | None = None
    compare_url: str | None = None
    notes: list[str] = field(default_factory=list)
    #: fields of model.yaml other than desired state that changed (``describe``)
    fields: list[FieldChange] = field(default_factory=list)
    #: the gates' report on the change (what a pull request's body shows); not part of the JSON
    report: CheckReport | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"changes": [m.to_dict() for m in self.moves], "files": self.files, "written": self.written,
                "commit": self.commit, "branch": self.branch, "pushed": self.pushed, "pr_url": self.pr_url,
                "compare_url": self.compare_url, "notes": self.notes,
                "fields": [f.to_dict() for f in self.fields]}


def current(tree: Snapshot, model: str) -> tuple[DesiredState, dict[str, Any]]:
    """A model's desired state in the work tree, and its whole ``model.yaml`` document."""
    names.check_model_name(model)
    found = documents.model_file(tree, model)
    if found is None:
        raise NotFoundError(f"no model named {model!r}",
                            fix="run `modelreg list` to see the registered models")
    return found.desired, found.data


Edit = Callable[[DesiredState], DesiredState]
#: edits computed from the registry as read under the lock: a promotion resolves its version
#: there, so the files it reads are parsed once, and what it resolves cannot change before it writes
Planned = Callable[[Catalog], dict[str, Edit]]


def apply(root: Path, edits: dict[str, Edit] | Planned, *, verb: str, base: str | None = None,
          branch: str | None = None, commit: bool = False, message: str | None = None,
          dry_run: bool = False, all_gates: bool = False,
          fields: dict[str, dict[str, Any]] | None = None) -> Applied:
    """Apply ``edits`` (model → function of its desired state, or a function of the registry's
    catalog that makes them) to the state read under the registry's lock, check the result
    with CI's gates, then write (and commit) it, or nothing. ``fields``: model → other
    ``model.yaml`` fields to set in the same write (each model also in ``edits``).

    Only the schema and promotion gates can refuse the change; ``all_gates`` runs the others
    too, in the same pass, for a report to show (a pull request's body).
    Reading under the lock is what keeps a concurrent change: an edit computed from a state
    read earlier would silently undo it.
    """
    if message is not None:
        check_text(message, "--message")  # it becomes the commit message
    with lock.held(root, verb):
        tree = WorkTree(str(root))  # read under the lock, and shared with the gates' check
        catalog = Catalog(tree)
        if callable(edits):
            edits = edits(catalog)
        for model in edits:  # a tree the format does not allow is refused as every read refuses it
            catalog.model(model)
        before = {model: current(tree, model) for model in edits}
        changes = {model: edit(before[model][0]) for model, edit in edits.items()}
        moved = [m for model, state in changes.items() for m in desired.moves(before[model][0], state)]
        fields = fields or {}
        set_fields = [FieldChange(model, name, before[model][1].get(name, ""), value)
                      for model, new in fields.items() for name, value in new.items()
                      if before[model][1].get(name, "") != value]
        if not moved and not set_fields:
            said = "model.yaml" if fields else "the desired state"
            raise ConflictError("nothing would change", fix=f"{said} already says so")
        texts = {names.model_file(model): _render(before[model][1], state, fields.get(model, {}))
                 for model, state in changes.items()}
        report = _check(tree, texts, base, all_gates=all_gates)
        files = sorted(texts)
        if dry_run:
            return Applied(moved, files, written=False, report=report, fields=set_fields)
        if branch and git.branch_exists(root, branch):
            raise ConflictError(f"a branch named {branch!r} exists already", fix="pick another --branch name")
        commit_id = None
        with Undo(root, branch) as undo:
            undo.track(files)
            for path, text in texts.items():
                write_atomic(root / path, text)
            if branch or commit:
                commit_id = undo.commit(message or _message(verb, moved, set_fields), files)
        return Applied(moved, files, written=True, commit=commit_id, branch=branch, report=report,
                       fields=set_fields)


def _render(doc: dict[str, Any], state: DesiredState, fields: dict[str, Any]) -> str:
    """The model.yaml with its desired state replaced and ``fields`` set; every other field kept,
    in its order (a field the file lacks goes after ``name``, where ``register`` writes it)."""
    new: dict[str, Any] = {}
    for key, value in doc.items():
        new[key] = value
        if key == "name":
            new.update({k: v for k, v in fields.items() if k not in doc})
    new.update({**{k: v for k, v in fields.items() if k in doc}, **state.to_doc()})
    return yamlio.dumps(new, MODEL_HEADER)


#: the gates that can refuse a change to desired state
_REFUSING = ("schema", "promotion")


def _check(tree: WorkTree, texts: dict[str, str], base: str | None, *, all_gates: bool) -> CheckReport:
    from modelreg.checks import run_checks
    from modelreg.checks.context import Options

    report = run_checks(tree.root, base=base, only=None if all_gates else list(_REFUSING),
                        options=Options(offline=True, overlay={p: t.encode() for p, t in texts.items()},
                                        tree=tree))
    findings = [f for f in report.findings
                if f.gate in _REFUSING and (f.file in texts or f.gate == "promotion")]
    if findings:
        raise GateError(findings)
    return report


def _message(verb: str, moved: list[Move], set_fields: list[FieldChange]) -> str:
    subject = {"promote": "Promote", "rollback": "Roll back", "demote": "Demote", "archive": "Archive",
               "reject": "Reject", "describe": "Describe"}.get(verb.split()[0], verb.capitalize())
    what = ", ".join([m.describe() for m in moved] + [f.describe() for f in set_fields])
    return f"{subject} {what}"
