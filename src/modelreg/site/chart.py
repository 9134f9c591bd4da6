"""The model page's chart: one metric across versions, as inline SVG (no JavaScript).

The upper panel plots the headline metric version by version; a version that
held ``production`` at any time gets a shaded band, the one holding it now a
darker band and a ring. The strip below is a time line of who held
``production`` when; the holder of now runs to its right edge, "now", so that the
chart depends on the model's history alone, not on when it is drawn (a catalog
re-renders only the models that changed: ``site/state.py``). Every point and
span carries a ``<title>``, which browsers show on hover. Colours come from the
page's one stylesheet (classes only: the Content-Security-Policy allows no
``style`` attributes).

The ``<svg>`` is a named group, not an image: an image's children are hidden from
assistive technology, and these hold links (a point opens its version's page), which
screen readers and keyboards must reach (WCAG 4.1.2; axe's ``nested-interactive``).
Each link is named by its own ``<title>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from html import escape

from modelreg.site.data import Span, day

WIDTH, PLOT_TOP, PLOT_HEIGHT = 880, 14, 200
LEFT, RIGHT = 70, 16
STRIP_TOP = PLOT_TOP + PLOT_HEIGHT + 44
STRIP_HEIGHT = 22
HEIGHT = STRIP_TOP + STRIP_HEIGHT + 22
#: at most this many version labels under the x axis
MAX_LABELS = 14
#: the share of the time line's width the holder of now takes beyond the last move
NOW_SHARE = 0.12


@dataclass(frozen=True)
class Point:
    version: int
    value: float | None  # None: the version does not report the metric (a gap)
    state: str  # live | archived | rejected


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    span = high - low
    raw = span / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    out, value = [], first
    while value <= high + step * 1e-9:
        out.append(round(value, 12))
        value += step
    return out


def _range(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high == low:  # one value, or all alike: give it room
        pad = abs(low) * 0.01 or 1.0
        return low - pad, high + pad
    pad = (high - low) * 0.08
    return low - pad, high + pad


class _Scale:
    """Where a version index and a metric value land in the upper panel."""

    def __init__(self, count: int, low: float, high: float) -> None:
        self.step = (WIDTH - LEFT - RIGHT) / max(count, 1)
        self.low, self.high = low, high

    def x(self, index: int) -> float:
        return LEFT + self.step * (index + 0.5)

    def y(self, value: float) -> float:
        return PLOT_TOP + PLOT_HEIGHT * (1 - (value - self.low) / (self.high - self.low))


def render(metric: str, points: list[Point], spans: list[Span], *, link: str = "v{version}.html") -> str:
    """The whole ``<svg>`` element; ``points`` oldest version first, ``spans`` oldest first.

    ``link`` is each point's page (``{version}`` is replaced). Empty without a value to plot.
    """
    values = [p.value for p in points if p.value is not None]
    if not values:
        return ""
    scale = _Scale(len(points), *_range(values))
    current = next((s.version for s in spans if s.end is None), None)
    out = [f'<svg id="chart" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
           f'height="{HEIGHT}" role="group" aria-labelledby="chart-title" aria-describedby="chart-desc" '
           f'xmlns="http://www.w3.org/2000/svg">',
           f'<title id="chart-title">{escape(metric)} across versions</title>',
           f'<desc id="chart-desc">{escape(_describe(metric, points, spans))}</desc>']
    out += _bands(scale, points, spans, current)
    out += _axes(scale, metric, points)
    path = " ".join(f"{scale.x(i):.1f},{scale.y(p.value):.1f}"
                    for i, p in enumerate(points) if p.value is not None)
    out.append(f'<polyline class="line" points="{path}"/>')
    out += _points(scale, metric, points, current, link)
    out += _strip(spans)
    out.append("</svg>")
    return "".join(out)


def _bands(scale: _Scale, points: list[Point], spans: list[Span], current: int | None) -> list[str]:
    """A shaded band behind each version that held production, darker for the one holding it now."""
    held = {s.version for s in spans}
    out = []
    for index, point in enumerate(points):
        if point.version in held:
            kind = "band now" if point.version == current else "band"
            periods = "; ".join(_period(s) for s in spans if s.version == point.version)
            out.append(f'<rect class="{kind}" x="{scale.x(index) - scale.step / 2:.1f}" y="{PLOT_TOP}" '
                       f'width="{scale.step:.1f}" height="{PLOT_HEIGHT}"><title>v{point.version} held '
                       f'production {escape(periods)}</title></rect>')
    return out


def _axes(scale: _Scale, metric: str, points: list[Point]) -> list[str]:
    bottom = PLOT_TOP + PLOT_HEIGHT
    ticks = [t for t in _ticks(scale.low, scale.high) if scale.low <= t <= scale.high]
    out = []
    for tick in ticks:
        y = scale.y(tick)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    out.append(f'<text class="axis" transform="translate(14 {PLOT_TOP + PLOT_HEIGHT / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(metric)}</text>')
    out.append(f'<line class="axisline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}"/>')
    every = max(1, math.ceil(len(points) / MAX_LABELS))  # thinned to MAX_LABELS
    for index, point in enumerate(points):
        if index % every == 0 or index == len(points) - 1:
            out.append(f'<text class="tick" x="{scale.x(index):.1f}" y="{bottom + 16}" '
                       f'text-anchor="middle">v{point.version}</text>')
    out.append(f'<text class="axis" x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{bottom + 34}" '
               'text-anchor="middle">version</text>')
    return out


def _points(scale: _Scale, metric: str, points: list[Point], current: int | None, link: str) -> list[str]:
    out = []
    for index, point in enumerate(points):
        if point.value is None:
            continue
        now = point.version == current
        label = f"v{point.version}: {metric} = {_fmt(point.value)}"
        label += f" ({point.state})" if point.state != "live" else ""
        label += " (in production)" if now else ""
        # the link's own <title> names it (and is what a browser shows on hover)
        out.append(f'<a href="{escape(link.format(version=point.version))}"><title>{escape(label)}</title>'
                   f'<circle class="pt {point.state}{" now" if now else ""}" cx="{scale.x(index):.1f}" '
                   f'cy="{scale.y(point.value):.1f}" r="{5 if now else 4}"/></a>')
    return out


def _strip(spans: list[Span]) -> list[str]:
    """The time line of production: one segment per holder, left to right, to scale from the first
    move to the last; a holder of now runs on to the right edge."""
    out = [f'<text class="axis" x="{LEFT - 6}" y="{STRIP_TOP + 15}" text-anchor="end">production</text>']
    if not spans:
        out.append(f'<text class="tick" x="{LEFT + 4}" y="{STRIP_TOP + 15}">never set</text>')
        return out
    start = spans[0].start
    last = max(s.end or s.start for s in spans)
    current = spans[-1].end is None
    width = WIDTH - LEFT - RIGHT
    scaled = width * (1 - NOW_SHARE) if current and last > start else width
    total = (last - start).total_seconds() or 1.0

    def x(when: datetime) -> float:
        return LEFT + scaled * (when - start).total_seconds() / total

    for span in spans:
        left, right = x(span.start), x(span.end) if span.end else WIDTH - RIGHT
        kind = "seg now" if span.end is None else "seg"
        wide = max(right - left, 1.5)
        out.append(f'<rect class="{kind}" x="{left:.1f}" y="{STRIP_TOP}" width="{wide:.1f}" '
                   f'height="{STRIP_HEIGHT}"><title>v{span.version}: production {escape(_period(span))}'
                   '</title></rect>')
        if right - left >= 28:
            label = "seglabel now" if span.end is None else "seglabel"
            out.append(f'<text class="{label}" x="{(left + right) / 2:.1f}" y="{STRIP_TOP + 15}" '
                       f'text-anchor="middle">v{span.version}</text>')
    out.append(f'<text class="tick" x="{LEFT}" y="{STRIP_TOP + STRIP_HEIGHT + 14}">{day(start)}</text>')
    out.append(f'<text class="tick" x="{WIDTH - RIGHT}" y="{STRIP_TOP + STRIP_HEIGHT + 14}" '
               f'text-anchor="end">{"now" if current else day(last)}</text>')
    return out


def _period(span: Span) -> str:
    return f"from {day(span.start)} " + (f"to {day(span.end)}" if span.end else "until now")


def _describe(metric: str, points: list[Point], spans: list[Span]) -> str:
    reported = [p for p in points if p.value is not None]
    text = (f"{metric} of {len(reported)} of {len(points)} versions, "
            f"v{reported[0].version} to v{reported[-1].version}.")
    if spans:
        text += " Production: " + ", ".join(f"v{s.version} {_period(s)}" for s in spans) + "."
    return text
