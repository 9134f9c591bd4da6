"""The audit trail: git history and the deployment ledger, merged, for a compliance review.

Every registration, alias move, archive and rejection (from the first-parent
history of ``main``), each with its pull request and approvers (from the
ledger, where the deploy job recorded them; else from GitHub's API when it is
configured; else marked unknown), and every deployment attempt with its
outcome, in time order.
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
from modelreg.read.history import Event, by_model, history, merge_ledger

#: who approved each of a model's events, counted under their policies (``approvals.merged.
#: with_counted``, a layer above: the audit takes it from its caller)
Approvers = Callable[[str, str, list[Event]], list[Event]]

COLUMNS = ("time", "model", "event", "alias", "from", "to", "environment", "outcome", "commit", "pr",
           "approvers", "not_counted", "actor", "sha256", "detail")


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

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "model": self.model, "event": self.event, "alias": self.alias,
                "from": self.before, "to": self.after, "environment": self.environment,
                "outcome": self.outcome, "commit": self.commit, "pr": self.pr, "approvers": self.approvers,
                "not_counted": self.not_counted, "actor": self.actor, "sha256": self.sha256,
                "detail": self.detail}


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
          model: str | None = None, approvers: Approvers | None = None) -> list[Entry]:
    """The audit trail of ``model`` (default: every model), oldest first, within the dates given;
    ``approvers`` asks GitHub whose approvals counted where the ledger does not say."""
    records = ledger.read(root)
    recorded = by_model(records)
    if model is not None:
        names.check_model_name(model)
    if model:
        models = [model]
    else:
        with Revision(str(root), "HEAD") as head:
            models = sorted(n for n in head.listdir(names.REGISTRY_DIR) if names.MODEL_NAME.fullmatch(n))
    entries: list[Entry] = []
    with git.BlobReader(root) as blobs:  # one cat-file for every model's history
        for name in models:
            entries += _model_entries(root, name, recorded.get(name, []), blobs, approvers=approvers)
    entries += [_from_record(r) for r in records if r.kind == "deployment"
                and (model is None or r.model == model)]
    return sorted((e for e in entries if _within(e.time, since, until)), key=lambda e: e.time)


def _model_entries(root: Path, name: str, recorded: list[ledger.LedgerRecord], blobs: git.BlobReader, *,
                   approvers: Approvers | None) -> list[Entry]:
    """A model's history, oldest first, its approvers completed by what the deploy job recorded."""
    events = history(str(root), name, blobs=blobs) if git.head_commit(root) else []
    if approvers is not None:
        events = approvers(str(root), name, events)
    # approvers the deploy job recorded fill those unknown (the deployments are listed apart, from
    # the records, which say more than an event: the artifact's sha256)
    events = [e for e in merge_ledger(events, recorded) if e.kind != "deployment"]
    # history lists commits newest first: taken oldest first (each commit's events in their own
    # order), git's order holds among commits made in the same second
    commits = list(dict.fromkeys(e.commit for e in events))[::-1]
    return [_from_event(name, e) for commit in commits for e in events if e.commit == commit]


def _from_event(model: str, event: Event) -> Entry:
    approvers = [a.login for a in event.approvers] if event.approvers is not None else None
    detail = event.subject if approvers is not None or event.kind != "alias" else \
        f"{event.subject} (approvers unknown: {event.approvers_note or 'not recorded by a deploy job'})"
    not_counted = [f"{n.login} ({n.reason})" for n in event.not_counted] \
        if event.not_counted is not None else None
    return Entry(_utc(event.date), model, event.kind, event.alias, event.previous, event.version, None, None,
                 event.commit, event.pr, approvers, event.author, None, detail, not_counted)


def _from_record(record: ledger.LedgerRecord) -> Entry:
    approvers = [str(a.get("login")) for a in record.approvers] if record.approvers is not None else None
    return Entry(_utc(record.time), record.model, "deployment", record.alias, record.before, record.after,
                 record.environment, record.outcome, record.commit, record.pr, approvers, record.actor,
                 record.sha256, record.message,
                 [f"{a.get('login')} ({a.get('reason')})" for a in record.not_counted]
                 if record.not_counted is not None else None)


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
        writer.writerow([_cell(row[c]) for c in COLUMNS])
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
