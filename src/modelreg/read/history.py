"""A model's history, read from git: registrations, alias moves, archives, rejections.

The log follows first parents, so on ``main`` a merged pull request is one
change attributed to its merge (whose subject carries the PR number); each
``model.yaml`` change is diffed against the commit before it.

Who approved each change is not in git: ``approvals/merged.py`` asks GitHub's
API for the reviews of each event's pull request and counts them under the
policy of the move (a layer above this one: whose approval counts is the
approval rules' decision), or says why its approvers are unknown; the ledger
(:func:`merge_ledger`) holds those the deploy job counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from modelreg.edges import git, memo
from modelreg.edges.logs import first_parent_log
from modelreg.edges.snapshot import Overlay, Revision, Snapshot
from modelreg.errors import InputError
from modelreg.formats import documents, names
from modelreg.formats.desired import DesiredState, moves
from modelreg.formats.text import escaped
from modelreg.read.ledger_match import ByModel, ModelRecords, Unmatched, why_not
from modelreg.read.ledger_match import load as load_ledger
from modelreg.read.ledger_trust import FORGED, RANK, UNCHECKED_VERDICT, UNVERIFIED, VERIFIED, Trust, Verdict

_PR = re.compile(r"(?:\(#(\d+)\)\s*$|^Merge pull request #(\d+))")
# Each commit starts with NUL, which no name, subject or (quoted) path can hold; the
# safe fields share a line, and the name and subject, which hold no newline, get one each.
_FORMAT = "%x00%H %cI %P%n%an%n%s"
#: what a catalog's walk lists of each change: its blobs before and after, read by id (a walk at
#: 110,000 commits changes 22,000 ``model.yaml``: looked up by path, each costs git a walk of trees)
_RAW = ("--raw", "--no-abbrev")
#: up to this many models, one walk of the log names their directories
_FEW_MODELS = 64


NO_PR = "no pull request: the commit's subject names none"


#: the sources a fact can come from, and what each means (the legend text and HTML show)
GIT, GITHUB, LEDGER = "git", "github", "ledger"
SOURCES = {GIT: "the git history (the change, its commit, author and time)",
           GITHUB: "GitHub's API, asked now (approvers)",
           LEDGER: "the deploy job's records in git notes (deployments, approvers it read then); "
                   "anyone who may push can write them, so a record joins only when git bears out its "
                   "whole move, and any other is listed apart"}
_FACTS = ("kind", "version", "commit", "author", "date", "subject", "pr", "alias", "previous", "environment",
          "outcome")


@dataclass(frozen=True)
class Approver:
    """A reviewer whose approval of the pull request counted under the policy of the change."""

    login: str
    at: str | None
    commit_id: str | None


@dataclass(frozen=True)
class NotCounted:
    """An approval that did not count, and why in a few words (``approvals/rules.py`` lists the
    reasons: author, approved an older commit, account deleted, bot, no write access, ...)."""

    login: str
    at: str | None
    commit_id: str | None
    reason: str


@dataclass(frozen=True)
class Event:
    kind: str  # registered | alias | archived | unarchived | rejected | unrejected
    version: int | None
    commit: str
    author: str
    #: when the commit landed on the branch (its committer date: an author date can be anything)
    date: str
    subject: str
    pr: int | None = None
    alias: str | None = None
    previous: int | None = None  # the version an alias pointed at before ("from")
    #: whose approval of the pull request counted (``approvals/merged.py``, or the ledger); None
    #: when unknown, and then ``approvers_note`` says why
    approvers: tuple[Approver, ...] | None = None
    approvers_note: str | None = None
    #: the approvals that did not count, each with why (None when the approvers are unknown, or
    #: a ledger record from before they were counted says nothing of them)
    not_counted: tuple[NotCounted, ...] | None = None
    #: for a deployment (from the ledger): where, and how it went
    environment: str | None = None
    outcome: str | None = None
    #: where the event comes from: ``git`` (a change and its commit), ``ledger`` (a deployment the
    #: deploy job recorded, its whole move borne out by git: ``read/ledger_match.py``)
    source: str = GIT
    #: where ``approvers`` come from: ``github`` (GitHub's API, asked now) or ``ledger`` (what the
    #: deploy job read from it then); None while they are unknown
    approvers_source: str | None = None
    #: the signature of the ledger record this event's ledger facts come from
    #: (``read/ledger_trust.py``); None when none of its facts is the ledger's
    signature: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.approvers is not None:
            out["approvers"] = [asdict(a) for a in self.approvers]
        if self.not_counted is not None:
            out["not_counted"] = [asdict(n) for n in self.not_counted]
        del out["approvers_source"], out["signature"]
        if self.signature is not None:
            out.update(self.signature.to_dict())
        out["sources"] = self.sources()
        return out

    def sources(self) -> dict[str, str]:
        """Field → where its value comes from, for every field that has one."""
        facts = {name: self.source for name in _FACTS if getattr(self, name) is not None}
        if self.approvers is not None and self.approvers_source is not None:
            facts["approvers"] = self.approvers_source
        return facts

    def describe_short(self) -> str:
        """The event in a few words (what a line about its signature names)."""
        what = (f"deployed v{self.version} to {self.environment}" if self.kind == "deployment"
                else f"{self.alias}: v{self.previous} -> v{self.version}" if self.kind == "alias"
                else f"{self.kind} v{self.version}")
        return f"{escaped(self.date[:19].replace('T', ' '))} {escaped(what)} at {self.commit[:10]}"

    def marker(self) -> str:
        """The sources in short, as text and HTML show them: ``git``, ``git+github``, ``ledger``."""
        extra = self.approvers_source if self.approvers is not None and self.approvers_source else None
        return self.source if extra in (None, self.source) else f"{self.source}+{extra}"


class History(list[Event]):
    """A model's events, newest first; with the ledger records git does not bear out (kept apart,
    with why) and the warnings of reading the ledger (records left out, counted)."""

    def __init__(self, events: Iterable[Event] = (), unmatched: Iterable[Unmatched] = (),
                 warnings: Iterable[str] = ()) -> None:
        super().__init__(events)
        self.unmatched = list(unmatched)
        self.warnings = list(warnings)

    def to_json(self) -> list[dict[str, Any]]:
        """What ``history --json`` prints: the events, then each unmatched record
        (``"kind": "unmatched"``), then each warning (``"kind": "warning"``)."""
        return ([e.to_dict() for e in self] + [u.to_dict() for u in self.unmatched]
                + [{"kind": "warning", "source": LEDGER, "message": w} for w in self.warnings])


def history(root: str, model: str, at: str | None = None, *,
            blobs: git.BlobReader | None = None) -> list[Event]:
    """Every change to ``model``, newest first, reachable from ``at`` (default HEAD).

    ``blobs``: a ``git cat-file`` reader to share (a command reading several models' histories,
    or revisions of its own, starts one); without it, one is started and stopped here."""
    names.check_model_name(model)
    head = git.head_commit(root)
    if head is None:
        return []
    start = git.resolve_revision(root, at) if at else head
    out = first_parent_log(root, _FORMAT, names.model_dir(model) + "/", start, ["--name-status"])
    if blobs is None:
        with git.BlobReader(root) as own:
            return _events(root, model, out, own)
    return _events(root, model, out, blobs)


def logs_by_model(root: str, models: Iterable[str], at: str | None = None, *,
                  jobs: int = 1) -> dict[str, str]:
    """What :func:`history` reads from git for each of ``models`` (with each file's blobs before and
    after: ``--raw``), from one walk of the log (a catalog of every model: one walk, not one per
    model; ``jobs`` git processes walk stretches of it at once). Each commit goes to every model it
    touches, listing its files under ``registry/`` as the model's own path-limited log would; hand
    a model's text to :func:`events_from_log`."""
    wanted = set(models)
    for model in wanted:
        names.check_model_name(model)
    found: dict[str, list[str]] = {m: [] for m in wanted}
    head = git.head_commit(root)
    if head is None:
        return dict.fromkeys(wanted, "")
    start = git.resolve_revision(root, at) if at else head
    if len(wanted) <= _FEW_MODELS:  # a few models: their directories (git compares fewer trees)
        out = git.log_walked_by(jobs, root, _FORMAT, [names.model_dir(m) + "/" for m in sorted(wanted)],
                                start, *_RAW)
    else:
        # Many: the whole log, with no path (limited to registry/, git diffs each commit twice, to
        # tell that it touches the path and to list what changed: 32 s of CPU against 17 s on
        # 110,000 commits), kept and extended by the commits since (edges/logs.py).
        out = first_parent_log(root, _FORMAT, "", start, _RAW, jobs=jobs)
    prefix = names.REGISTRY_DIR + "/"
    for record in out.split("\0")[1:]:
        lines = record.split("\n")
        touched = set()
        kept = lines[:3]  # the lines of registry/ only: what its path-limited log lists
        for line in lines[3:]:
            path = line.partition("\t")[2]
            if path and not path.removeprefix('"').startswith(prefix):  # (git quotes an odd name)
                continue
            kept.append(line)
            parts = path.split("/", 2)
            if len(parts) == 3 and parts[1] in wanted:  # registry/M/... (a file of the model)
                touched.add(parts[1])
        if touched and len(kept) < len(lines):
            record = "\n".join(kept)
        for model in touched:
            found[model].append(record)
    return {m: "".join("\0" + r for r in records) for m, records in found.items()}


def events_from_log(root: str, model: str, log: str, blobs: git.BlobReader) -> list[Event]:
    """:func:`history`'s events of ``model`` from its log text (:func:`logs_by_model`)."""
    return _events(root, model, log, blobs)


def _events(root: str, model: str, out: str, blobs: git.BlobReader) -> list[Event]:
    events: list[Event] = []
    revisions = _Revisions(root, blobs)  # one cat-file for every revision read
    for record in out.split("\0")[1:]:
        header, author, subject, *rest = record.split("\n")
        changes = "\n".join(rest)
        commit, date, *parent_ids = header.split(" ")
        parents = " ".join(parent_ids)
        base = Event(kind="", version=None, commit=commit, author=author, date=date,
                     subject=subject, pr=pr_number(subject))
        changed = _changes(changes)
        for path, (status, _) in changed.items():
            number = _registered_version(model, path)
            if status == "A" and number is not None:
                events.append(replace(base, kind="registered", version=number))
        found = changed.get(names.model_file(model))
        if found is not None and found[1] is not None:  # the blobs before and after: no path to look up
            events.extend(_moved(revisions.of_blob(model, found[1][1]), revisions.of_blob(model, found[1][0]),
                                 base))
        elif found is not None:
            parent = parents.split()[0] if parents else None
            events.extend(_state_changes(revisions, model, commit, parent, base))
    revisions.save()
    return events


def pr_number(subject: str) -> int | None:
    """The pull request a commit's subject names (``... (#12)``, ``Merge pull request #12``)."""
    match = _PR.search(subject)
    return int(match.group(1) or match.group(2)) if match else None


class _Revisions:
    """One snapshot per commit of the walk, all reading through one ``cat-file``: a commit is
    the ``after`` of one change and the ``before`` of the next, and is parsed once."""

    def __init__(self, root: str, blobs: git.BlobReader) -> None:
        self._root = root
        self._blobs = blobs
        self._open: dict[str, Revision] = {}
        self._memo: memo.Memo | None = None
        self._parsed: dict[str, DesiredState | None] = {}

    def state(self, model: str, commit: str | None) -> DesiredState | None:
        """The desired state at ``commit``; None without a model.yaml; _MALFORMED when it does not read."""
        if commit is None:
            return None
        if commit not in self._open:
            self._open[commit] = Revision(self._root, commit, resolved=True, blobs=self._blobs)
        revision = self._open[commit]
        return self._parse(model, revision.blob_id(names.model_file(model)), lambda: revision)

    def _parse(self, model: str, blob: str | None, snapshot: Callable[[], Snapshot]) -> DesiredState | None:
        """The desired state of the ``model.yaml`` whose blob is ``blob``: parsed once a blob, and
        from a memo of the model's past states (keyed as the parse memo is, by kind and blob id;
        a file of its own, which reads of the model's versions never load) when parsed before."""
        if blob is None:
            return None
        if blob not in self._parsed:
            key = memo.key("model", blob)
            if self._memo is None:
                self._memo = memo.Memo(self._root, f"{model}@states")
            doc = self._memo.get(key)
            state: DesiredState | None = None
            if doc is None:
                try:
                    doc = documents.checked(snapshot(), "model", names.model_file(model))
                except InputError:
                    state = _MALFORMED  # reported by `check`, not by history
                if doc is not None:
                    self._memo.put(key, doc)
            self._parsed[blob] = state or (DesiredState.from_doc(model, doc) if doc is not None else None)
        return self._parsed[blob]

    def save(self) -> None:
        if self._memo is not None:
            self._memo.save()

    def of_blob(self, model: str, blob: str | None) -> DesiredState | None:
        """:meth:`state` of the ``model.yaml`` whose blob is ``blob`` (None: no file): read by its
        id, and parsed once however many commits hold it."""
        def snapshot() -> Snapshot:  # of that one file (the file is all the desired state is read from)
            data = self._blobs.read(blob) if blob is not None else None
            return Overlay(Revision(self._root, blob or "", resolved=True, blobs=self._blobs),
                           {names.model_file(model): data} if data is not None else {})

        return self._parse(model, blob, snapshot)


def _changes(block: str) -> dict[str, tuple[str, tuple[str | None, str | None] | None]]:
    """Path → its status letter and, from ``--raw --no-abbrev`` lines, its blobs before and after
    (None: no file), or None from ``--name-status`` lines."""
    out: dict[str, tuple[str, tuple[str | None, str | None] | None]] = {}
    for line in block.split("\n"):
        status, _, path = line.partition("\t")
        if not path:
            continue
        if status.startswith(":"):  # :MODE MODE BLOB BLOB STATUS
            fields = status.split()
            out[path] = (fields[4][:1], (_blob(fields[2]), _blob(fields[3])))
        else:
            out[path] = (status[:1], None)
    return out


def _blob(object_id: str) -> str | None:
    return None if object_id.strip("0") == "" else object_id


def _registered_version(model: str, path: str) -> int | None:
    prefix = names.model_dir(model) + "/"
    if not path.startswith(prefix) or not path.endswith("/" + names.VERSION_FILE):
        return None
    return names.parse_version_dir(path[len(prefix):].split("/")[0])


_MALFORMED = DesiredState("")


def _state_changes(revisions: _Revisions, model: str, commit: str, parent: str | None,
                   base: Event) -> list[Event]:
    return _moved(revisions.state(model, commit), revisions.state(model, parent), base)


def _moved(after: DesiredState | None, before: DesiredState | None, base: Event) -> list[Event]:
    if _MALFORMED in (after, before):
        return []  # what moved across a broken file cannot be told
    return [replace(base, kind=m.kind, version=m.after, alias=m.alias, previous=m.before)
            for m in moves(before, after)]


def with_ledger(root: str, model: str, events: list[Event], at: str | None = None, *,
                blobs: git.BlobReader | None = None, trust: Trust | None = None) -> History:
    """``events`` merged with the deployment ledger (git notes, see ``edges/ledger.py``) as
    :func:`merge_ledger` does, with the warnings of reading it. Newest first. ``at``: only what
    was recorded for commits it contains; ``trust``: the signers to judge each record by."""
    found = ledger_by_model(root, at, blobs=blobs)
    merged = merge_ledger(events, found.get(model, ModelRecords()), trust)
    merged.warnings = list(found.warnings)
    return merged


def ledger_by_model(root: str, at: str | None = None, *, blobs: git.BlobReader | None = None) -> ByModel:
    """The ledger's records by model, read once: only those about commits on main (the others are
    counted in ``warnings``) that ``at`` (default HEAD) contains (one ``git rev-list``, not a
    question per record). History, the audit trail and the site merge these into history with
    :func:`merge_ledger`."""
    return load_ledger(root, at, blobs=blobs)


def merge_ledger(events: list[Event], records: list[Any], trust: Trust | None = None) -> History:
    """The one merge of history with the ledger: ``records`` (one model's, already limited to the
    revision read: :func:`ledger_by_model`) merged into ``events``. History, the audit trail and
    the site call it.

    A record joins only when git bears out its whole move (``ledger_match.why_not``): a move
    record's approvers then fill those unknown, a deployment record becomes an event. Any other
    is kept apart in ``unmatched``, with why. Each ledger fact carries its record's signature,
    judged by ``trust`` (``read/ledger_trust.py``), or *unchecked* without one; where several
    records tell one move, the best judged is shown and a forged other is listed apart."""
    if not records:
        return History(events)

    def judged(record: Any) -> Verdict:
        return trust.judge(record) if trust is not None else UNCHECKED_VERDICT

    moved = {(e.commit, e.alias): (e.previous, e.version, e.pr) for e in events
             if e.kind == "alias" and e.source == GIT}
    environments = records.environments if isinstance(records, ModelRecords) else {}
    attached, unmatched = [], []
    for record in records:
        why = why_not(record, moved, environments, *((records.aliases, records.prs)
                                                     if isinstance(records, ModelRecords) else ()))
        if why is None:
            attached.append(record)
        else:
            verdict = judged(record)
            if verdict.state == VERIFIED:  # the deploy job's, but git does not bear it out
                verdict = Verdict(UNVERIFIED, f"{verdict.why}, but git does not bear out its move",
                                  verdict.signer)
            unmatched.append(Unmatched(record, why, verdict))
    recorded: dict[tuple[str, str | None], Any] = {}
    def rank(record: Any) -> tuple[int, bool]:
        return RANK[judged(record).state], record.approvers is None

    for r in attached:  # the best judged record of each move tells it (among equals, one with approvers)
        if r.kind == "move":
            best = recorded.get((r.commit, r.alias))
            if best is None or rank(r) < rank(best):
                recorded[(r.commit, r.alias)] = r
    chosen = {id(r) for r in recorded.values()}
    unmatched += [Unmatched(r, "another record of a move already recorded, and its signature is forged",
                            judged(r)) for r in attached if r.kind == "move" and id(r) not in chosen
                  and judged(r).state == FORGED]
    out = []
    for event in events:
        move = recorded.get((event.commit, event.alias)) if event.kind == "alias" else None
        if event.approvers is None and move is not None and move.approvers is not None:
            event = replace(event, approvers_note=None, approvers=_approvers(move),
                            not_counted=_not_counted(move), approvers_source=LEDGER, signature=judged(move))
        out.append(event)
    deployments = [Event(kind="deployment", version=r.after, commit=r.commit, author=str(r.actor or ""),
                         date=r.time, subject=r.message, pr=r.pr, alias=r.alias, previous=r.before,
                         environment=r.environment, outcome=r.outcome, approvers=_approvers(r),
                         not_counted=_not_counted(r),
                         approvers_note=None if r.approvers is not None else "not recorded by the deploy job",
                         source=LEDGER, approvers_source=LEDGER if r.approvers is not None else None,
                         signature=judged(r))
                   for r in attached if r.kind == "deployment"]
    return History(sorted(out + deployments, key=lambda e: _instant(e.date), reverse=True), unmatched)


def _approvers(record: Any) -> tuple[Approver, ...] | None:
    if record.approvers is None:
        return None
    return tuple(Approver(str(a.get("login")), a.get("at"), a.get("commit_id")) for a in record.approvers)


def _not_counted(record: Any) -> tuple[NotCounted, ...] | None:
    if record.not_counted is None:
        return None
    return tuple(NotCounted(str(a.get("login")), a.get("at"), a.get("commit_id"), str(a.get("reason")))
                 for a in record.not_counted)


def _instant(date: str) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
