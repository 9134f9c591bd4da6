"""Promotion rules, decided: whether a version held the stage before for long enough.

``promotion.<alias>.after`` and ``min_soak`` of a policy, judged on a model's
first-parent history (``read/history.py``). Pure functions of the events; the
``promotion`` gate reads the history and turns a refusal into a finding.
"""

from __future__ import annotations

import time
from datetime import datetime

from modelreg.formats.durations import seconds
from modelreg.read.history import Event


def soak(events: list[Event], after: str, min_soak: str | None, number: int, alias: str, base_ref: str,
         policy: str) -> tuple[str, str] | None:
    """(message, fix) when ``number`` has not held ``after`` (long enough) to go to ``alias``."""
    held = time_in(events, after, number)
    if held is None:
        return (f"v{number} goes to {alias} but was never in {after} on {base_ref}",
                f"promote v{number} to {after} first, in its own pull request (policy {policy})")
    if min_soak is not None and held < seconds(min_soak):
        return (f"v{number} has been in {after} for {_human(held)}; {min_soak} required",
                f"wait until it has soaked, then run the checks again (policy {policy})")
    return None


def time_in(events: list[Event], alias: str, number: int) -> float | None:
    """Seconds ``number`` spent in ``alias``, counting its latest stint (until now if it is still there).

    Times are committer dates (when a change landed; an author date is whatever the
    author says), taken in the branch's own order, oldest first.
    """
    moves = [e for e in reversed(events) if e.kind == "alias" and e.alias == alias]
    start: float | None = None
    end: float | None = None
    for event in moves:
        stamp = datetime.fromisoformat(event.date).timestamp()
        if event.version == number:
            start, end = stamp, None
        elif start is not None and end is None:
            end = stamp
    if start is None:
        return None
    return (end if end is not None else time.time()) - start


def _human(elapsed: float) -> str:
    hours = elapsed / 3600
    return f"{hours:.1f}h" if hours >= 1 else f"{elapsed / 60:.0f}m"
