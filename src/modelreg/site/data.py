"""What the catalog shows, as records: gathered once per model, rendered by ``pages``.

Everything here comes from files at one revision and from git: the model and
its versions from the catalog, registrations and alias moves from ``history``,
deployments and the approvers the deploy job recorded from the ledger
(``history.merge_ledger``, as ``history.with_ledger`` reads it). GitHub is never
asked: a build must not depend on a token, and it shows what the repository records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from modelreg.read.catalog import finite_number

if TYPE_CHECKING:
    from modelreg.read.catalog import Model, ModelVersion
    from modelreg.read.history import Event
    from modelreg.read.ledger_match import Unmatched

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
    #: ledger records git does not bear out, shown apart with why (``history.merge_ledger``)
    unmatched: tuple[Unmatched, ...] = ()

    @property
    def name(self) -> str:
        return self.model.name

    def events_of(self, version: int) -> list[Event]:
        """The events that move ``version`` or move an alias off it, newest first."""
        return self._by_version.get(version, [])

    @cached_property
    def _by_version(self) -> dict[int, list[Event]]:  # one pass: a version page asks for its own
        found: dict[int, list[Event]] = {}
        for event in self.events:
            for version in {event.version, event.previous}:
                if version is not None:
                    found.setdefault(version, []).append(event)
        return found

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


@lru_cache(maxsize=4096)  # a model's changes are dated on its page and again on their versions' pages
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
    known = {e.commit: e for e in events if e.approvers is not None}
    return [replace(e, approvers=known[e.commit].approvers, not_counted=known[e.commit].not_counted,
                    approvers_note=None, approvers_source=known[e.commit].approvers_source)
            if e.approvers is None and e.commit in known else e for e in events]


