"""Which ledger records git bears out: a record joins history only when its whole move is git's.

The ledger is git notes, and anyone who may push can write one. So a record is
read as a claim about a move, and the claim is checked against the first-parent
history it is about: at the record's commit git moved that model's alias from
its ``before`` to its ``after``, the commit names the same pull request, and a
deployment's environment is one that ``modelreg.yaml`` at that commit says
serves the alias and the model (a deployment at a commit that moved nothing, a
catch-up or a ``reconcile``: see :func:`why_not`). A record that fails any of these is kept apart,
with why (:class:`Unmatched`), and never merged: its approvers fill no gap, its
deployment is not listed as one.

Which records are read at all is decided here too (:func:`load`): those about
commits on ``main`` (others are counted in a warning), within the revision read
(later ones are not asked about), with names the name rules allow (others are
counted in a warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelreg.edges import git, ledger
from modelreg.edges.snapshot import Revision
from modelreg.errors import InputError, NotFoundError
from modelreg.formats import documents, models, names
from modelreg.read.ledger_trust import UNCHECKED_VERDICT, Verdict

#: environment → (the alias it serves, the models it serves: () for every model)
Environments = dict[str, tuple[str, tuple[str, ...]]]
#: (commit, alias) → (before, after, pull request) of the move git made there
Moves = Mapping[tuple[str, str | None], tuple[int | None, int | None, int | None]]


class ModelRecords(list[ledger.LedgerRecord]):
    """One model's ledger records, with the environments ``modelreg.yaml`` declared at each
    commit a record names (a string: why they could not be read there), and the model's aliases
    at each commit a deployment record names (what a catch-up deployment is checked against)."""

    def __init__(self, records: Iterable[ledger.LedgerRecord] = (),
                 environments: Mapping[str, Environments | str] | None = None,
                 aliases: Mapping[str, Mapping[str, int] | str] | None = None) -> None:
        super().__init__(records)
        self.environments: dict[str, Environments | str] = dict(environments or {})
        #: commit → the model's aliases in its ``model.yaml`` there (a string: why not readable)
        self.aliases: dict[str, Mapping[str, int] | str] = dict(aliases or {})
        #: commit → the pull request its subject names (a ``reconcile`` credits the tip's)
        self.prs: dict[str, int | None] = {}


class ByModel(dict[str, ModelRecords]):
    """The ledger's records by model, read once, and the warnings of reading it."""

    def __init__(self, records: Mapping[str, ModelRecords], warnings: list[str]) -> None:
        super().__init__(records)
        self.warnings = warnings


@dataclass(frozen=True)
class Unmatched:
    """A ledger record git does not bear out: shown apart, with why, never merged into history."""

    record: ledger.LedgerRecord
    why: str
    #: its signature, judged (``read/ledger_trust.py``)
    verdict: Verdict = UNCHECKED_VERDICT

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "unmatched", "source": "ledger", "why": self.why, **self.verdict.to_dict(),
                "record": self.record.to_dict()}

    def describe(self) -> str:
        r = self.record
        what = f"deployment to {r.environment}" if r.kind == "deployment" else "move"
        return (f"{r.time[:19].replace('T', ' ')}  {what}: {r.model} {r.alias}: {_v(r.before)} -> "
                f"{_v(r.after)} at {r.commit[:10]}: {self.why} [signature: {self.verdict.short()}]")


def load(root: str, at: str | None = None, *, blobs: git.BlobReader | None = None) -> ByModel:
    """The records about commits on ``main`` (origin/main, else main, else master: see
    ``read/change.py``; with none, the revision read) that the revision read (``at``, default
    HEAD) contains, grouped by model, each model's with the environments of the commits its
    records name. What was left out is counted in the warnings."""
    from modelreg.read.change import find_base

    revision = git.resolve_revision(root, at) if at is not None else git.head_commit(root)
    if revision is None:
        return ByModel({}, [])  # nothing committed: nothing the ledger can be about
    try:
        main_name, main = find_base(root, None)
    except NotFoundError:
        main_name, main = "the branch read", revision
    loaded = ledger.load(Path(root), reachable_from=revision, main=main, blobs=blobs)
    environments: dict[str, Environments | str] = {}
    for commit in dict.fromkeys(r.commit for r in loaded.records
                                if r.kind == "deployment" or r.environment is not None):
        environments[commit] = _environments(root, commit, blobs)
    out: dict[str, ModelRecords] = {}
    for record in loaded.records:
        out.setdefault(record.model, ModelRecords(environments=environments)).append(record)
    from modelreg.read.history import pr_number  # here: history reads this module

    deployed = {model: list(dict.fromkeys(r.commit for r in records if r.kind == "deployment"))
                for model, records in out.items()}
    subjects = git.subjects(root, [c for commits in deployed.values() for c in commits])
    for model, records in out.items():
        for commit in deployed[model]:
            records.aliases[commit] = _aliases(root, commit, model, blobs)
            records.prs[commit] = pr_number(subjects.get(commit, ""))
    return ByModel(out, loaded.warnings(main_name))


def _environments(root: str, commit: str, blobs: git.BlobReader | None) -> Environments | str:
    with Revision(root, commit, resolved=True, blobs=blobs) as snapshot:
        try:
            config = models.load_config(snapshot)
        except InputError as exc:
            return str(exc)
    return {name: (env.alias, tuple(env.models)) for name, env in config.environments.items()}


def _aliases(root: str, commit: str, model: str, blobs: git.BlobReader | None) -> Mapping[str, int] | str:
    with Revision(root, commit, resolved=True, blobs=blobs) as snapshot:
        try:
            found = documents.desired(snapshot, model)
        except InputError as exc:
            return str(exc)
    return found.aliases if found is not None else f"{model} has no {names.model_file(model)} there"


def why_not(record: ledger.LedgerRecord, moved: Moves, environments: Mapping[str, Environments | str],
            aliases: Mapping[str, Mapping[str, int] | str] | None = None,
            prs: Mapping[str, int | None] | None = None) -> str | None:
    """Why git does not bear ``record`` out; None when its whole move is git's (see the module).

    A deployment made at a commit that did not itself move its alias (a run catching up on one
    that never happened, a ``reconcile``) is borne out when the alias points at the version it
    deployed in ``model.yaml`` at that commit (``aliases``) and its pull request is the one that
    moved the alias to that version or the commit's own (``prs``); its from-version is what the
    targets served, which git cannot vouch for. So is a redeployment of the version a commit moved
    the alias to (``reconcile`` repairing a target: from and to the same version)."""
    if record.alias is None:
        return "it names no alias"
    move = moved.get((record.commit, record.alias))
    redeployed = record.kind == "deployment" and record.before == record.after  # reconcile's repair
    if move is not None and not (redeployed and move[1] == record.after):
        why = _why_not_move(record, move)
    elif record.kind == "deployment":
        why = _why_not_catch_up(record, moved, (aliases or {}).get(record.commit),
                                (prs or {}).get(record.commit))
    else:
        why = f"git did not move {record.model}'s {record.alias} at {record.commit[:12]}"
    return why or _why_not_environment(record, environments)


def _why_not_move(record: ledger.LedgerRecord,
                  move: tuple[int | None, int | None, int | None]) -> str | None:
    where = record.commit[:12]
    before, after, pr = move
    if (record.before, record.after) != (before, after):
        return (f"it says {record.alias} {_v(record.before)} -> {_v(record.after)}; at {where} git "
                f"moved it {_v(before)} -> {_v(after)}")
    if record.pr != pr:
        return f"it names pull request {_pr(record.pr)}; the commit {where} names {_pr(pr)}"
    return None


def _why_not_environment(record: ledger.LedgerRecord,
                         environments: Mapping[str, Environments | str]) -> str | None:
    where = record.commit[:12]
    if record.kind == "deployment" and record.environment is None:
        return "it names no environment"
    if record.environment is None:
        return None
    declared = environments.get(record.commit)
    if declared is None:
        return f"the environments at {where} were not read"
    if isinstance(declared, str):
        return f"{names.CONFIG_FILE} at {where} does not read ({declared})"
    env = declared.get(record.environment)
    if env is None:
        return f"{names.CONFIG_FILE} at {where} has no environment {record.environment!r}"
    alias, served = env
    if alias != record.alias:
        return f"environment {record.environment!r} serves {alias!r} at {where}, not {record.alias!r}"
    if served and record.model not in served:
        return f"environment {record.environment!r} does not serve {record.model} at {where}"
    return None


def _why_not_catch_up(record: ledger.LedgerRecord, moved: Moves, aliases: Mapping[str, int] | str | None,
                      own_pr: int | None) -> str | None:
    where = record.commit[:12]
    if aliases is None or isinstance(aliases, str):
        return f"git did not move {record.model}'s {record.alias} at {where}" + \
            (f", and its {names.model_file(record.model)} there does not read ({aliases})" if aliases else "")
    wanted = aliases.get(str(record.alias))
    if wanted != record.after:
        return (f"git did not move {record.model}'s {record.alias} at {where}, where it points at "
                f"{_v(wanted)}, not {_v(record.after)}")
    if record.pr != own_pr and not any(a == record.alias and after == record.after and pr == record.pr
                                       for (_, a), (_, after, pr) in moved.items()):
        return (f"it names pull request {_pr(record.pr)}, which did not move {record.alias} to "
                f"{_v(record.after)}, and the commit {where} names {_pr(own_pr)}")
    return None


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "(none)"


def _pr(number: int | None) -> str:
    return f"#{number}" if number is not None else "none"
