"""The ledger: every alias move merged to main and every deployment attempt, append-only, in git.

Records are JSON lines in git notes (``refs/notes/modelreg``) attached to the
commit they are about, so the ledger travels with the repository without a
single new commit on ``main``, and any clone that fetches the notes can answer
"what was deployed where, when, approved by whom". A note is only ever
appended to. Two jobs recording at once is expected: :func:`push` fetches the
remote's notes, merges them line by line (git's ``cat_sort_uniq`` strategy:
each line is a whole record, so a union loses nothing), and tries again.

Each line starts with its time, so sorted lines are in time order.

A record the deploy job signed is one line too: ``{"time": T, "dsse": ENVELOPE}`` (a key) or
``{"time": T, "sigstore": BUNDLE}`` (keyless), where the envelope's payload is an in-toto
Statement v1 (:func:`statement`) whose predicate *is* the record: its fields are read from the
signed payload and nowhere else, so there is nothing beside the signature to disagree with it.
What can still disagree is checked and kept in the record's :class:`Seal` (``problem``): a key
beside the envelope, a line time other than the statement's, a subject other than the record's
sha256 and commit, a line in the note of another commit than the one it names (an envelope
moved). Whether the signature verifies, and whose it is, is ``read/ledger_trust.py``'s question.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modelreg.edges import git
from modelreg.errors import GitError
from modelreg.formats import names

REF = "refs/notes/modelreg"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://modelreg.dev/ledger-record/v1"
#: the keys a signed line holds beside its time: one of them, the envelope's kind
SEAL_KINDS = ("dsse", "sigstore")
_INCOMING = "refs/notes/modelreg-incoming"
_IDENTITY = ("-c", "user.name=modelreg", "-c", "user.email=modelreg@localhost")


@dataclass
class LedgerRecord:
    """One line of the ledger."""

    time: str
    kind: str  # move | deployment
    model: str
    alias: str | None
    before: int | None
    after: int | None
    commit: str
    environment: str | None = None
    outcome: str = "recorded"  # recorded (a move) | succeeded | failed | refused | unchanged
    sha256: str | None = None
    pr: int | None = None
    #: the approvals that counted under the move's policy (login, at, commit_id)
    approvers: list[dict[str, Any]] | None = None
    actor: str | None = None
    message: str = ""
    targets: list[dict[str, Any]] = field(default_factory=list)
    #: the approvals that did not, each with its ``reason``; None in a record written before
    #: modelreg counted them (its ``approvers`` are then who approved, counted or not)
    not_counted: list[dict[str, Any]] | None = None
    #: what the deploy run checked before it activated (deployments): each ``{check, ok, detail}``
    checks: list[dict[str, Any]] | None = None
    #: the signature the record was read with (None: an unsigned line); not a field of the record
    seal: Seal | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["seal"]
        for optional in ("not_counted", "checks"):  # a record as it was written before the field existed
            if out[optional] is None:
                del out[optional]
        return out

    def line(self) -> str:
        if self.seal is not None:
            return json.dumps({"time": self.time, self.seal.kind: self.seal.envelope}, separators=(",", ":"),
                              ensure_ascii=True)
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=True)

    def statement(self) -> dict[str, Any]:
        """The in-toto Statement (v1) the deploy job signs: the record is its predicate; its
        subjects are the artifact's sha256 (a deployment's, named by its ``models:/`` URI) and
        the commit the record is about."""
        return {"_type": STATEMENT_TYPE, "subject": self.subjects(), "predicateType": PREDICATE_TYPE,
                "predicate": self.to_dict()}

    def subjects(self) -> list[dict[str, Any]]:
        """The statement's subjects: the artifact's sha256 (a deployment's), then the commit."""
        subjects: list[dict[str, Any]] = []
        if self.sha256 and _SHA256.fullmatch(self.sha256):
            subjects.append({"name": f"models:/{self.model}/{self.after}", "digest": {"sha256": self.sha256}})
        subjects.append({"name": "commit", "digest": {"gitCommit": self.commit}})
        return subjects

    def payload(self) -> bytes:
        return json.dumps(self.statement(), separators=(",", ":"), ensure_ascii=True,
                          sort_keys=True).encode("utf-8")

    @classmethod
    def parse(cls, line: str) -> LedgerRecord | None:
        """A record, or None for a line that is not one: the ledger is read, never trusted to be
        well formed (anyone who may push can write notes), so every field's type is checked. A
        signed line is read from its statement (see the module)."""
        if len(line) > MAX_LINE:
            return None
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if isinstance(data, dict) and any(kind in data for kind in SEAL_KINDS):
            return _unseal(data)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> LedgerRecord | None:
        """The record these fields make, every type checked; None when they do not make one."""
        if not isinstance(data, dict) or not all(_FIELDS[k](data.get(k)) for k in _REQUIRED):
            return None
        # alias, before and after may be absent (None): a missing key must not crash every reader
        values = {"alias": None, "before": None, "after": None, **{k: data[k] for k in _FIELDS if k in data}}
        if not all(_FIELDS[k](v) for k, v in values.items()):
            return None
        return cls(**values)


@dataclass(frozen=True)
class Seal:
    """The signature a record was read with: the envelope as the line holds it, and what the line
    says that disagrees with its statement (``problem``; the record is then forged, whatever the
    signature)."""

    kind: str  # dsse | sigstore
    envelope: dict[str, Any]
    problem: str | None = None
    #: the commit whose note holds the line (set by :func:`load`)
    note: str | None = None


def seal(record: LedgerRecord, kind: str, envelope: dict[str, Any]) -> LedgerRecord:
    """``record``, to be written as a signed line with this envelope over :meth:`payload`."""
    return replace(record, seal=Seal(kind, envelope))


def _unseal(data: dict[str, Any]) -> LedgerRecord | None:
    from modelreg.edges.ledger_signing import payload_of  # no crypto: a base64 decode

    kind = next(k for k in SEAL_KINDS if k in data)
    payload = payload_of(kind, data[kind])
    if payload is None:
        return None
    try:
        statement = json.loads(payload)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    if not isinstance(statement, dict) or statement.get("predicateType") != PREDICATE_TYPE:
        return None
    record = LedgerRecord.from_dict(statement.get("predicate"))
    if record is None:
        return None
    problem = None
    extra = sorted(set(data) - {"time", kind})
    # repr: what a forger wrote is shown with its control characters escaped, and cut short
    if statement.get("_type") != STATEMENT_TYPE:
        problem = f"its statement's _type is {repr(statement.get('_type'))[:80]}, not an in-toto Statement v1"
    elif extra:
        problem = f"the line holds {', '.join(repr(k)[:40] for k in extra[:5])} beside its signed statement"
    elif data.get("time") != record.time:
        problem = f"the line's time {repr(data.get('time'))[:40]} is not its statement's {record.time[:40]!r}"
    elif statement.get("subject") != record.subjects():
        problem = "its statement's subject is not the record's sha256 and commit"
    return replace(record, seal=Seal(kind, data[kind], problem))


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _version(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**9)


def _approvers(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(
        isinstance(a, dict) and isinstance(a.get("login"), str) for a in value))


def _not_counted(value: Any) -> bool:
    return _approvers(value) and (value is None or all(isinstance(a.get("reason"), str) for a in value))


def _targets(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(t, dict) for t in value)


def _checks(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(
        isinstance(c, dict) and isinstance(c.get("check"), str) and isinstance(c.get("ok"), bool)
        for c in value))


_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
#: field → the check its value must pass
_FIELDS = {"time": _text, "kind": lambda v: v in ("move", "deployment"), "model": _text,
           "alias": _text_or_none, "before": _version, "after": _version,
           "commit": lambda v: isinstance(v, str) and bool(_COMMIT.fullmatch(v)),
           "environment": _text_or_none, "outcome": _text, "sha256": _text_or_none, "pr": _version,
           "approvers": _approvers, "actor": _text_or_none, "message": _text, "targets": _targets,
           "not_counted": _not_counted, "checks": _checks}
_REQUIRED = ("time", "kind", "model", "commit")
#: a longer line is not a record (and is not parsed)
MAX_LINE = 256 * 1024


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(root: Path, commit: str, records: list[LedgerRecord]) -> None:
    """Add ``records`` to the note of ``commit`` (creating it), keeping every line already there."""
    if not records:
        return
    existing = git.run(root, "notes", f"--ref={REF}", "show", commit, check=False)
    text = existing.rstrip("\n") + "\n" if existing.strip() else ""
    text += "".join(r.line() + "\n" for r in records)
    git.run(root, *_IDENTITY, "notes", f"--ref={REF}", "add", "--force", "--file=-", commit,
            input=text.encode("utf-8"))


@dataclass
class Loaded:
    """What :func:`load` kept, and how many records it left out, by why: the readers turn the
    counts into warnings (a ledger anyone who may push can write is never silently trimmed)."""

    records: list[LedgerRecord]
    #: lines that are not well-formed records
    malformed: int = 0
    #: records whose model, alias, environment or target name breaks the name rules
    bad_names: int = 0
    #: records about commits not reachable from ``main`` (when :func:`load` was given one)
    off_main: int = 0

    def warnings(self, main: str = "main") -> list[str]:
        """One line per kind of record left out, with its count; none when nothing was."""
        out = []
        if self.off_main:
            out.append(f"{_count(self.off_main, 'ledger record')} on commits not on {main} "
                       f"{_were(self.off_main)} ignored")
        if self.bad_names:
            out.append(f"{_count(self.bad_names, 'ledger record')} whose model, alias, environment or "
                       f"target name breaks the name rules {_were(self.bad_names)} dropped")
        if self.malformed:
            verb = "is" if self.malformed == 1 else "are"
            out.append(f"{_count(self.malformed, 'ledger line')} that {verb} not a well-formed record "
                       f"{_were(self.malformed)} skipped")
        return out


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _were(number: int) -> str:
    return "was" if number == 1 else "were"


def read(root: Path, *, reachable_from: str | None = None,
         blobs: git.BlobReader | None = None) -> list[LedgerRecord]:
    """Every record of every note, oldest first (a move recorded by several jobs, once).

    ``reachable_from``: only the records about commits that revision contains (one ``git
    rev-list``, not a question per record). ``blobs``: a ``git cat-file`` reader to share."""
    return load(root, reachable_from=reachable_from, blobs=blobs).records


def load(root: Path, *, reachable_from: str | None = None, main: str | None = None,
         blobs: git.BlobReader | None = None) -> Loaded:
    """:func:`read`, with what was left out counted. ``reachable_from`` bounds what is read (a
    record about a later commit than the revision read is not left out: it is not asked about);
    ``main``: records about commits it does not contain are left out and counted (``off_main``)."""
    listing = git.run(root, "notes", f"--ref={REF}", "list", check=False)
    pairs = [line.split() for line in listing.splitlines() if len(line.split()) == 2]
    records: list[LedgerRecord] = []
    loaded = Loaded(records)
    with contextlib.nullcontext(blobs) if blobs is not None else git.BlobReader(root) as reader:
        for blob, note in pairs:
            data = reader.read(blob) or b""
            for line in data.decode("utf-8", "replace").splitlines():
                record = LedgerRecord.parse(line) if line.strip() else None
                if record is None:
                    loaded.malformed += bool(line.strip())
                elif not names_ok(record):
                    loaded.bad_names += 1
                else:
                    records.append(_noted(record, note))
    # by the commit a record names, not the note's; one ``git rev-list`` per revision, not a
    # question per record. Off main first: a record about a branch is counted whatever is read.
    on_main = _commits(root, main) if main is not None and records else None
    if on_main is not None:
        kept = [r for r in records if r.commit in on_main]
        loaded.off_main, records = len(records) - len(kept), kept
    if reachable_from is not None and records:
        same = reachable_from == main and on_main is not None
        reachable = on_main if same and on_main is not None else _commits(root, reachable_from)
        records = [r for r in records if r.commit in reachable]
    loaded.records = _unique(records)
    return loaded


def _noted(record: LedgerRecord, note: str) -> LedgerRecord:
    """A signed record with the commit of the note that holds it: a statement about another
    commit was moved there (forged, whatever its signature)."""
    if record.seal is None:
        return record
    problem = record.seal.problem
    if problem is None and note != record.commit:
        problem = (f"it sits in the note of {note[:12]}, and its statement is about {record.commit[:12]} "
                   "(a signed record moved)")
    return replace(record, seal=replace(record.seal, note=note, problem=problem))


def _unique(records: list[LedgerRecord]) -> list[LedgerRecord]:
    """Oldest first; every environment's job records the alias moves of a push: the same move,
    once, a signed record kept over an unsigned one (each signed one is judged by its reader);
    the same signed line twice (a union of notes), once."""
    kept: dict[tuple[Any, ...], int] = {}
    lines: set[str] = set()
    unique: list[LedgerRecord] = []
    for record in sorted(records, key=lambda r: str(r.time)):
        if record.seal is not None:
            line = record.line() + (record.seal.note or "")
            if line in lines:
                continue
            lines.add(line)
        if record.kind == "move":
            key = (record.commit, record.model, record.alias, record.before, record.after)
            where = kept.get(key)
            if where is not None and unique[where].seal is None:
                if record.seal is not None:
                    unique[where] = record
                continue
            if where is None:
                kept[key] = len(unique)
        unique.append(record)
    return unique


def _commits(root: Path, revision: str) -> set[str]:
    return set(git.run(root, "rev-list", revision).split())


def names_ok(record: LedgerRecord) -> bool:
    """Whether every name a record holds passes the rules the registry's own files obey
    (``formats/names.py``): a name that no model, alias, environment or target may have
    says the record was not written by modelreg, and it is not shown."""
    if len(record.model) > names.MODEL_NAME_MAX or not names.MODEL_NAME.fullmatch(record.model):
        return False
    if record.alias is not None and (not names.ALIAS_NAME.fullmatch(record.alias)
                                     or record.alias in names.RESERVED_ALIASES):
        return False
    if record.environment is not None and not names.ALIAS_NAME.fullmatch(record.environment):
        return False
    return all(names.TARGET_NAME.fullmatch(t["target"]) if isinstance(t.get("target"), str)
               else "target" not in t for t in record.targets)


def fetch(root: Path, remote: str = "origin") -> bool:
    """Merge the remote's notes into ours; False when the remote has none (or is not there)."""
    try:
        git.run(root, "fetch", "--quiet", remote, f"+{REF}:{_INCOMING}")
    except GitError:
        return False
    local = git.run(root, "rev-parse", "--verify", "--quiet", REF, check=False).strip()
    if not local:
        git.run(root, "update-ref", REF, _INCOMING)
    else:
        git.run(root, *_IDENTITY, "notes", f"--ref={REF}", "merge", "--quiet", "--strategy=cat_sort_uniq",
                _INCOMING)
    return True


def push(root: Path, remote: str = "origin", attempts: int = 8) -> None:
    """Push the notes; when another job pushed first, fetch and merge theirs, then try again.
    Nothing to push (no note was ever written here) is not an error."""
    if not git.run(root, "rev-parse", "--verify", "--quiet", REF, check=False).strip():
        return
    for attempt in range(attempts):
        try:
            git.run(root, "push", "--quiet", remote, f"{REF}:{REF}")
            return
        except GitError:
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))  # two jobs must not retry in step
            fetch(root, remote)
