"""The audit trail: git history and the deployment ledger, merged, for a compliance review.

Every registration, alias move, archive and rejection (from the first-parent
history of ``main``), each with its pull request and approvers (from the
ledger, where the deploy job recorded them; else from GitHub's API when it is
configured; else marked unknown), and every deployment attempt with its
outcome, in time order. Each entry says where it comes from (``source``, and
``sources`` per field): git, GitHub's API or the ledger. A ledger record joins
only when git bears out its whole move (``ledger_match.py``); any other is an
``unmatched`` entry, with why, and records left out (not on main, bad names)
are counted in the trail's warnings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from modelreg.edges import git, ledger
from modelreg.edges.snapshot import Revision
from modelreg.errors import InputError
from modelreg.formats import names
from modelreg.read.catalog import Catalog
from modelreg.read.history import GIT, LEDGER, Event, history, ledger_by_model, merge_ledger
from modelreg.read.ledger_match import ModelRecords, Unmatched
from modelreg.read.ledger_trust import UNCHECKED_VERDICT, Trust, Verdict

#: who approved each of a model's events, counted under their policies (``approvals.merged.
#: with_counted``, a layer above: the audit takes it from its caller)
Approvers = Callable[[str, str, list[Event]], list[Event]]

COLUMNS = ("time", "model", "event", "alias", "from", "to", "environment", "outcome", "commit", "pr",
           "approvers", "not_counted", "actor", "sha256", "detail", "source", "approvers_source", "signature",
           "signature_detail")
#: the fields an entry takes from where the entry comes from (approvers have their own source)
_FACTS = ("time", "event", "alias", "before", "after", "environment", "outcome", "commit", "pr", "actor",
          "sha256")


@dataclass(frozen=True)
class Entry:
    time: str
    model: str
    event: str
    alias: str | None
    before: int | None
    after: int | None
    environment: str | None
    outcome: str | None
    commit: str
    pr: int | None
    approvers: list[str] | None
    actor: str | None
    sha256: str | None
    detail: str
    #: the approvals that did not count under the change's policy, as ``login (why)``; None when
    #: unknown (``approvers`` are then all who approved, or unknown)
    not_counted: list[str] | None = None
    #: ``git`` (a change), ``ledger`` (a deployment, or an ``unmatched`` record)
    source: str = GIT
    #: ``github``, ``ledger``, or None while the approvers are unknown
    approvers_source: str | None = None
    #: the signature of the ledger record its ledger facts come from; None when it has none
    signature: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        signature = self.signature.to_dict() if self.signature is not None else {}
        return {**signature, "time": self.time, "model": self.model, "event": self.event, "alias": self.alias,
                "from": self.before, "to": self.after, "environment": self.environment,
                "outcome": self.outcome, "commit": self.commit, "pr": self.pr, "approvers": self.approvers,
                "not_counted": self.not_counted, "actor": self.actor, "sha256": self.sha256,
                "detail": self.detail, "source": self.source,
                "approvers_source": self.approvers_source, "sources": self.sources()}

    def sources(self) -> dict[str, str]:
        """Field → where its value comes from (``from`` and ``to`` as the JSON names them)."""
        facts = {_KEYS.get(name, name): self.source for name in _FACTS if getattr(self, name) is not None}
        if self.approvers is not None and self.approvers_source is not None:
            facts["approvers"] = self.approvers_source
        return facts

    def marker(self) -> str:
        """The sources in short, as the table shows them: ``git``, ``git+github``, ``ledger``."""
        extra = self.approvers_source if self.approvers is not None else None
        return self.source if extra in (None, self.source) else f"{self.source}+{extra}"


_KEYS = {"before": "from", "after": "to"}


class Trail(list[Entry]):
    """The audit trail's entries, oldest first, and the warnings of reading the ledger."""

    def __init__(self, entries: list[Entry], warnings: list[str]) -> None:
        super().__init__(entries)
        self.warnings = warnings

    def to_json(self) -> list[dict[str, Any]]:
        """What ``audit --json`` prints: the entries, then each warning (``"event": "warning"``)."""
        return [e.to_dict() for e in self] + [{"event": "warning", "source": LEDGER, "detail": w}
                                              for w in self.warnings]


def parse_time(text: str, option: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or time (UTC unless it says otherwise); a bare date given as an upper bound
    means the end of that day, so ``--until 2026-11-30`` includes November 30th."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text!r} is not a date", field=option,
                         fix="write a date such as 2026-11-01, or 2026-11-01T12:00:00Z") from None
    if end_of_day and len(text) == 10:
        value = value + timedelta(days=1) - timedelta(microseconds=1)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def trail(root: Path, *, since: datetime | None = None, until: datetime | None = None,
          model: str | None = None, approvers: Approvers | None = None, trust: Trust | None = None) -> Trail:
    """The audit trail of ``model`` (default: every model), oldest first, within the dates given;
    ``approvers`` asks GitHub whose approvals counted where the ledger does not say; ``trust``
    judges each ledger record's signature (without it, each says *unchecked*)."""
    if model is not None:
        names.check_model_name(model)
    if git.head_commit(root) is None:
        return Trail([], [])
    if model:
        models = [model]
    else:
        with Revision(str(root), "HEAD") as head:
            models = Catalog(head).model_names()  # a tree the format does not allow is refused
    entries: list[Entry] = []
    with git.BlobReader(root) as blobs:  # one cat-file for every model's history and the ledger
        recorded = ledger_by_model(str(root), blobs=blobs)
        if model is None:  # records about a model no longer in the registry: shown, apart if git says so
            models += sorted(set(recorded) - set(models))
        for name in models:
            entries += _model_entries(root, name, recorded.get(name, ModelRecords()), blobs,
                                      approvers=approvers, trust=trust)
    return Trail(sorted((e for e in entries if _within(e.time, since, until)), key=lambda e: e.time),
                 list(recorded.warnings))


def _model_entries(root: Path, name: str, recorded: ModelRecords, blobs: git.BlobReader, *,
                   approvers: Approvers | None, trust: Trust | None) -> list[Entry]:
    """A model's history, oldest first, its approvers completed by what the deploy job recorded;
    its deployments, and the records git does not bear out, from the ledger."""
    events = history(str(root), name, blobs=blobs)
    if approvers is not None:
        events = approvers(str(root), name, events)
    merged = merge_ledger(events, recorded, trust)
    # approvers the deploy job recorded fill those unknown (the deployments are listed from the
    # records that joined, which say more than an event: the artifact's sha256)
    events = [e for e in merged if e.kind != "deployment"]
    # history lists commits newest first: taken oldest first (each commit's events in their own
    # order), git's order holds among commits made in the same second
    commits = list(dict.fromkeys(e.commit for e in events))[::-1]
    out = [_from_event(name, e) for commit in commits for e in events if e.commit == commit]
    apart = [id(u.record) for u in merged.unmatched]
    out += [_from_record(r, trust.judge(r) if trust is not None else UNCHECKED_VERDICT)
            for r in recorded if r.kind == "deployment" and id(r) not in apart]
    return out + [_from_unmatched(u) for u in merged.unmatched]


def _from_event(model: str, event: Event) -> Entry:
    approvers = [a.login for a in event.approvers] if event.approvers is not None else None
    detail = event.subject if approvers is not None or event.kind != "alias" else \
        f"{event.subject} (approvers unknown: {event.approvers_note or 'not recorded by a deploy job'})"
    not_counted = [f"{n.login} ({n.reason})" for n in event.not_counted] \
        if event.not_counted is not None else None
    return Entry(_utc(event.date), model, event.kind, event.alias, event.previous, event.version, None, None,
                 event.commit, event.pr, approvers, event.author, None, detail, not_counted, event.source,
                 event.approvers_source if approvers is not None else None, event.signature)


def _from_record(record: ledger.LedgerRecord, signature: Verdict) -> Entry:
    approvers = [str(a.get("login")) for a in record.approvers] if record.approvers is not None else None
    return Entry(_utc(record.time), record.model, "deployment", record.alias, record.before, record.after,
                 record.environment, record.outcome, record.commit, record.pr, approvers, record.actor,
                 record.sha256, record.message,
                 [f"{a.get('login')} ({a.get('reason')})" for a in record.not_counted]
                 if record.not_counted is not None else None,
                 LEDGER, LEDGER if approvers is not None else None, signature)


def _from_unmatched(unmatched: Unmatched) -> Entry:
    """A record shown apart: what it claims, and why git does not bear it out (its approvers are
    not shown: nothing vouches for them)."""
    r = unmatched.record
    what = f"a deployment to {r.environment}" if r.kind == "deployment" else "a move"
    return Entry(_utc(r.time), r.model, "unmatched", r.alias, r.before, r.after, r.environment, r.outcome,
                 r.commit, r.pr, None, r.actor, r.sha256,
                 f"unmatched ledger record ({what}), not attached: {unmatched.why}", None, LEDGER, None,
                 unmatched.verdict)


def _utc(text: str) -> str:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _within(text: str, since: datetime | None, until: datetime | None) -> bool:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return since is None and until is None
    return (since is None or value >= since) and (until is None or value <= until)


def to_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        row = entry.to_dict()
        writer.writerow([_cell(row.get(c)) for c in COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: commit subjects and names come from anyone who can
    commit, and ``=HYPERLINK(...)`` in a cell would be a formula (OWASP's CSV injection)."""
    if value is None:
        return ""
    text = ";".join(value) if isinstance(value, list) else value
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
