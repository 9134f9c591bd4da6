"""What the catalog shows, as records: gathered once per model, rendered by ``pages``.

Everything here comes from files at one revision and from git: the model and
its versions from the catalog, registrations and alias moves from ``history``,
deployments and the approvers the deploy job recorded from the ledger
(:func:`merge_ledger`, as ``history.with_ledger`` reads it). GitHub is never
asked: a build must not depend on a token, and it shows what the repository records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from modelreg.catalog import finite_number

if TYPE_CHECKING:
    from modelreg.catalog import Model, ModelVersion
    from modelreg.deploy.ledger import Record
    from modelreg.history import Event

PRODUCTION = "production"


@dataclass(frozen=True)
class Span:
    """A version holding an alias from ``start`` until ``end`` (None: it still holds it)."""

    version: int
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class ModelData:
    model: Model
    versions: list[ModelVersion]  # oldest first
    events: list[Event]  # newest first
    #: who held production when, oldest first (from the alias moves in ``events``)
    production: list[Span]
    #: the metrics the versions table shows, the first one charted
    metrics: list[str]
    #: where a span still open ends on the chart: the revision's time (the build's, for the work tree)
    until: datetime | None

    @property
    def name(self) -> str:
        return self.model.name

    def state(self, version: int) -> str:
        if version in self.model.rejected:
            return "rejected"
        if version in self.model.archived:
            return "archived"
        return "live"

    def production_since(self) -> datetime | None:
        """When the version production points at now got it (None: unknown, or no production)."""
        current = self.model.aliases.get(PRODUCTION)
        last = self.production[-1] if self.production else None
        if current is None or last is None or last.end is not None or last.version != current:
            return None
        return last.start


def parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def day(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d")


def minute(text: str) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM`` UTC (the text itself when it does not parse)."""
    when = parse_time(text)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if when else text


def headline_metrics(versions: list[ModelVersion], limit: int = 3) -> list[str]:
    """The metrics most versions report, so a table or chart compares like with like.

    A tie goes to the order of the newest version's manifest (people write the metric
    they judge by first), then to the name.
    """
    counts: dict[str, int] = {}
    for mv in versions:
        for name, value in mv.metrics.items():
            if finite_number(value):
                counts[name] = counts.get(name, 0) + 1
    order = {name: i for i, name in enumerate(versions[-1].metrics)} if versions else {}
    return sorted(counts, key=lambda n: (-counts[n], order.get(n, len(order)), n))[:limit]


def alias_spans(events: list[Event], alias: str = PRODUCTION) -> list[Span]:
    """Who held ``alias`` when, oldest first, from history's alias moves (given newest first).

    A move without a readable date is skipped; the last span is open (``end`` None)
    when the alias still points somewhere.
    """
    spans: list[Span] = []
    holder: tuple[int, datetime] | None = None
    moves = [e for e in reversed(events) if e.kind == "alias" and e.alias == alias]
    for event in moves:
        when = parse_time(event.date)
        if when is None:
            continue
        if holder is not None:
            spans.append(Span(holder[0], holder[1], when))
        holder = (event.version, when) if event.version is not None else None
    if holder is not None:
        spans.append(Span(holder[0], holder[1], None))
    return spans


def share_approvers(events: list[Event]) -> list[Event]:
    """Approvals belong to a pull request: a change whose approvers are unknown takes those the
    ledger recorded for another change of the same merge (the deploy job records them with the
    alias moves only; an archive, a rejection or the deployment of that merge had the same review)."""
    known = {e.commit: e.approvers for e in events if e.approvers is not None}
    return [replace(e, approvers=known[e.commit], approvers_note=None)
            if e.approvers is None and e.commit in known else e for e in events]


def merge_ledger(events: list[Event], records: list[Record]) -> list[Event]:
    """What ``history.with_ledger`` does, for ledger records read once for every model (that
    function reads the whole ledger on each call, and asks git about each record's commit: a
    catalog of 100 models would read it 100 times). ``records``: one model's, already limited to
    the revision read. tests/test_site.py checks that the two agree.

    A move whose approvers are unknown gets those the deploy job recorded; each deployment
    attempt becomes an event, with the approvers recorded with it. Newest first.
    """
    from modelreg.history import Approver, Event

    def approvers(record: Record) -> tuple[Approver, ...] | None:
        if record.approvers is None:
            return None
        return tuple(Approver(str(a.get("login")), a.get("at"), a.get("commit_id")) for a in record.approvers)

    if not records:
        return events
    recorded = {(r.commit, r.alias): r for r in records if r.kind == "move" and r.approvers is not None}
    out = []
    for event in events:
        move = recorded.get((event.commit, event.alias)) if event.kind == "alias" else None
        if event.approvers is None and move is not None:
            event = replace(event, approvers_note=None, approvers=approvers(move))
        out.append(event)
    out += [Event(kind="deployment", version=r.after, commit=r.commit, author=str(r.actor or ""), date=r.time,
                  subject=r.message, pr=r.pr, alias=r.alias, previous=r.before, environment=r.environment,
                  outcome=r.outcome, approvers=approvers(r),
                  approvers_note=None if r.approvers is not None else "not recorded by the deploy job")
            for r in records if r.kind == "deployment"]
    epoch = datetime.fromtimestamp(0, timezone.utc)
    return sorted(out, key=lambda e: parse_time(e.date) or epoch, reverse=True)
