"""The catalog's HTML: an index, a page per model, a page per version.

Every value that comes from the registry (names, descriptions, tags, reasons,
owners, card text, lineage) is escaped with ``html.escape``, and each page
carries a Content-Security-Policy that allows no script at all and only the
one stylesheet below (by its hash: not even a ``style`` attribute may apply).
Links are relative, so the site works from a file, from any web server and
under a GitHub Pages sub-path.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from modelreg.formats import names
from modelreg.formats.text import escaped
from modelreg.read.catalog import finite_number
from modelreg.read.history import SOURCES
from modelreg.site import chart
from modelreg.site.data import PRODUCTION, ModelData, day, minute

if TYPE_CHECKING:
    from modelreg.read.catalog import ModelVersion
    from modelreg.read.history import Event
    from modelreg.read.ledger_trust import Verdict

GENERATOR = "modelreg site"
#: the most history entries a page lists (the full history: ``modelreg history``)
MAX_EVENTS = 250
#: the most versions a model page charts and lists, newest first (each has its own page)
MAX_VERSIONS = 200
#: the most periods the production time line shows, latest first
MAX_SPANS = 100
#: the most rows of one version's params or slices tables
MAX_ROWS = 300
#: the most characters of a card shown (a card may be 1 MiB; a page stays under 300 KB)
MAX_CARD = 100_000
#: the most characters of a description, reason or tag in a table row, and on its own page
MAX_CELL, MAX_TEXT = 300, 10_000
#: a table of this many columns or more is wider than a phone: it says it scrolls
WIDE_TABLE = 4

CSS = """\
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa;--accent:#0969da;
--prod:#1a7f37;--prodsoft:#dafbe1;--stage:#9a6700;--stagesoft:#fff8c5;--bad:#cf222e;--badsoft:#ffebe9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);
background:var(--bg)}
header{background:var(--soft);border-bottom:1px solid var(--line);padding:10px 24px}
header nav{font-size:13px;color:var(--muted)}
main{max-width:1120px;margin:0 auto;padding:16px 24px 40px}
footer{max-width:1120px;margin:0 auto;padding:0 24px 24px;color:var(--muted);font-size:12px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
nav a,p a,li a,footer a{text-decoration:underline;text-underline-offset:2px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;
border-bottom:1px solid var(--line)}
p.lead{margin:0 0 8px;color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}table.narrow{width:auto;min-width:40%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top;
white-space:nowrap}
td.text{white-space:normal;min-width:9em}
.tablebox{overflow-x:auto}
.tablebox:focus-visible,.chartbox:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.scrollhint{display:none;margin:4px 0 0;font-size:12px;color:var(--muted)}
th{background:var(--soft);font-weight:600;font-size:13px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;line-height:20px;
border:1px solid var(--line);background:var(--soft);white-space:nowrap;margin:1px 2px 1px 0}
.badge.production,.badge.approved,.badge.succeeded{background:var(--prodsoft);color:var(--prod);
border-color:#aceebb}
.badge.staging,.badge.pending{background:var(--stagesoft);color:var(--stage);border-color:#f5e0a0}
.badge.rejected,.badge.failed,.badge.refused{background:var(--badsoft);color:var(--bad);
border-color:#ffcecb}
.badge.archived{color:var(--muted)}
.muted{color:var(--muted)}
pre.card{white-space:pre-wrap;background:var(--soft);border:1px solid var(--line);padding:12px;
border-radius:6px;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
div.card{border:1px solid var(--line);border-radius:6px;padding:4px 16px}
div.card h3{font-size:15px;margin:14px 0 4px}
.chartbox{overflow-x:auto;margin:8px 0}
svg.chart{width:100%;max-width:1072px;height:auto}
svg .grid{stroke:#eaeef2}svg .axisline{stroke:#8c959f}
svg .tick{font-size:11px;fill:var(--muted)}svg .axis{font-size:12px;fill:var(--fg)}
svg .band{fill:#dafbe1;opacity:.55}svg .band.now{fill:#aceebb;opacity:.9}
svg .line{fill:none;stroke:var(--accent);stroke-width:1.5}
svg .pt{fill:var(--accent);stroke:#fff;stroke-width:1}
svg .pt.archived{fill:#8c959f}svg .pt.rejected{fill:#fff;stroke:var(--bad);stroke-width:2}
svg .pt.now{fill:var(--prod);stroke:#fff;stroke-width:2}
svg a:focus-visible .pt{stroke:var(--fg);stroke-width:3}
svg .seg{fill:#aceebb;stroke:#fff}svg .seg.now{fill:var(--prod)}
svg .seglabel{font-size:11px;fill:#0b3d1a}svg .seglabel.now{fill:#fff}
.legend{font-size:12px;color:var(--muted)}
@media (max-width:700px){header{padding:10px 12px}main{padding:12px 12px 32px}footer{padding:0 12px 20px}
.scrollhint{display:block}
svg.chart{min-width:760px}svg .tick,svg .seglabel{font-size:12px}}
"""

_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src data:; base-uri 'none'; "
       "form-action 'none'")


@dataclass(frozen=True)
class Info:
    """What every page's header and footer say, and where commit and PR links go."""

    title: str
    commit: str | None
    committed: str | None  # the commit's date
    web: str | None = None  # https://github.com/OWNER/NAME, when known
    work_tree: bool = False  # read from the work tree (``commit`` is HEAD, for the history)
    #: a model's or a version's page: ``commit`` is the model's last change, not the revision
    model_pages: bool = False

    def pr(self, number: int | None) -> str:
        if number is None:
            return '<span class="muted">-</span>'
        if self.web:
            return f'<a href="{escape(self.web)}/pull/{number}">#{number}</a>'
        return f"#{number}"

    def commit_link(self, commit: str) -> str:
        short = escape(commit[:10])
        if self.web:
            return f'<a class="mono" href="{escape(self.web)}/commit/{escape(commit)}">{short}</a>'
        return f'<span class="mono">{short}</span>'


def e(value: Any) -> str:
    """Escaped text of any value: the only way registry content enters a page."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    text = value if type(value) is str else str(value)
    # Most text is printable ASCII without a character HTML gives a meaning to: returned as it is
    # (a catalog of 100,000 versions makes ten million of these calls).
    if text.isascii() and text.isprintable():
        return escape(text, quote=True) if _SPECIAL.search(text) else text
    return escape(escaped(text), quote=True)  # control characters shown, never sent raw


#: what ``html.escape(text, quote=True)`` replaces
_SPECIAL = re.compile("[&<>\"']")


def _page(info: Info, title: str, crumbs: Sequence[tuple[str, str | None]], body: str, root: str) -> str:
    trail = " / ".join(f'<a href="{escape(href)}">{e(text)}</a>' if href else e(text)
                       for text, href in crumbs)
    where = "from the work tree" if info.work_tree else ""
    if info.commit and info.model_pages:
        where += ("; " if info.work_tree else "") + (
            f"at commit {info.commit_link(info.commit)} ({e(minute(info.committed or ''))}), this model's "
            "last change")
    elif info.commit:
        where += (" at " if info.work_tree else "at ") + (
            f"commit {info.commit_link(info.commit)} ({e(minute(info.committed or ''))})")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{GENERATOR}">'
        '<meta name="referrer" content="no-referrer">'
        '<link rel="icon" href="data:,">'
        f"<title>{e(title)}</title><style>{CSS}</style></head>\n<body>"
        f'<header><nav><a href="{root}index.html">{e(info.title)}</a>'
        f"{' / ' + trail if trail else ''}</nav></header>\n<main>{body}</main>\n"
        f"<footer>Generated by modelreg {where}. Every value comes from the registry's files, its "
        "git history and its deployment ledger.</footer>\n</body></html>\n")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = (),
           text: Iterable[int] = (), *, narrow: bool = False, label: str) -> str:
    """A table of cells that are already HTML (escaped by the caller); ``numeric`` columns align
    right, ``text`` columns wrap (the others do not); ``narrow``: as wide as its content.

    It sits in a region named ``label`` that scrolls sideways when the screen is narrower than
    the table, and takes keyboard focus so that it can be scrolled without a mouse; on a phone
    a table of more columns than fit says so above it (a cue the stylesheet shows under 700 px)."""
    key = (tuple(headers), tuple(numeric), tuple(text), narrow, label)
    frame = _FRAMES.get(key)
    if frame is None:  # the same few tables on every page: their markup made once
        kinds = {**dict.fromkeys(key[2], " class=text"), **dict.fromkeys(key[1], " class=num")}
        head = "".join(f"<th{kinds.get(i, '')}>{e(h)}</th>" for i, h in enumerate(headers))
        table = "<table class=narrow>" if narrow else "<table>"
        hint = (f"<p class=scrollhint>{len(headers)} columns: scroll the table sideways &rarr;</p>"
                if len(headers) >= WIDE_TABLE else "")
        box = f'<div class=tablebox role=region tabindex=0 aria-label="{e(label)}">'
        if len(_FRAMES) >= _MAX_FRAMES:  # (metrics and slices name columns: a registry's worth of them)
            _FRAMES.clear()
        frame = _FRAMES[key] = (f"{hint}{box}{table}<thead><tr>{head}</tr></thead><tbody>\n",
                                tuple(f"<td{kinds.get(i, '')}>" for i in range(len(headers))), kinds)
    top, cells, kinds = frame
    body = "".join(_row(row, cells, kinds) for row in rows)
    return f"{top}{body}</tbody></table></div>"


def _row(row: Sequence[str], cells: tuple[str, ...], kinds: dict[int, str]) -> str:
    if len(row) == len(cells) and cells:  # each cell after its opening tag
        return "<tr>" + "</td>".join(map(str.__add__, cells, row)) + "</td></tr>\n"
    return "<tr>" + "".join(f"<td{kinds.get(i, '')}>{c}</td>" for i, c in enumerate(row)) + "</tr>\n"


#: each table's head and cell tags, by its headers, kinds and label (``_table``)
_FRAMES: dict[tuple[Any, ...], tuple[str, tuple[str, ...], dict[int, str]]] = {}
_MAX_FRAMES = 1000


def _facts(pairs: Iterable[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in pairs if v)
    return f'<dl class="facts">{items}</dl>' if items else ""


def badge(text: str, kind: str = "", *, raw: bool = False) -> str:
    """A badge of ``text`` (escaped here, or already when ``raw``)."""
    return f'<span class="badge {escape(kind)}">{text if raw else e(text)}</span>'


_STAGE_KIND = {"Production": "production", "Staging": "staging", "Archived": "archived"}
_APPROVAL_KIND = {"Approved": "approved", "Rejected": "rejected", "PendingManualApproval": "pending"}


def stage_badge(stage: str) -> str:
    return badge(stage, _STAGE_KIND.get(stage, ""))


def approval_badge(approval: str) -> str:
    return badge(approval, _APPROVAL_KIND.get(approval, ""))


def alias_badges(aliases: Iterable[str]) -> str:
    return "".join(badge(a, _alias_kind(a)) for a in aliases) or '<span class="muted">-</span>'


def alias_links(aliases: dict[str, int], prefix: str) -> str:
    """``production v3`` badges, each a link to its version's page (``prefix``: the model's folder)."""
    return "".join(f'<a href="{prefix}v{version}.html">{badge(f"{alias} v{version}", _alias_kind(alias))}</a>'
                   for alias, version in sorted(aliases.items())) or '<span class="muted">-</span>'


def _alias_kind(alias: str) -> str:
    return alias if alias in ("production", "staging") else ""


def clip(text: str, limit: int = MAX_CELL) -> str:
    """Escaped ``text``, cut at ``limit`` characters (with an ellipsis): a field may hold a megabyte."""
    return e(text) if len(text) <= limit else e(text[:limit]) + "…"


def _tags(tags: dict[str, str]) -> str:
    return "".join(badge(clip(f"{k}={v}"), raw=True) for k, v in sorted(tags.items())) \
        or '<span class="muted">-</span>'


def _number(value: Any) -> str:
    return e(value) if finite_number(value) else '<span class="muted">-</span>'


def _url(value: Any) -> str:
    """A link for http(s) URLs only (never ``javascript:`` or ``data:``), else the text."""
    text = str(value or "")
    if text.startswith(("https://", "http://")) and not any(c.isspace() for c in text):
        return f'<a href="{escape(text, quote=True)}" rel="nofollow noopener">{e(text)}</a>'
    return e(text)


# -- the index ------------------------------------------------------------------------------

def index_row(data: ModelData) -> tuple[str, ...]:
    """One model's row of the index (rendered beside its pages, possibly in another process)."""
    model = data.model
    return (f'<a href="models/{escape(model.name)}.html"><strong>{e(model.name)}</strong></a>',
            clip(model.description),
            e(", ".join(model.owners)) or '<span class="muted">-</span>',
            alias_links(model.aliases, f"models/{escape(model.name)}/"),
            _tags(model.tags),
            _status(data),
            str(len(data.versions)))


def index_page(info: Info, rows: Sequence[tuple[str, ...]], versions: int, *,
               notes: Sequence[str] = ()) -> str:
    """The index: ``rows`` from :func:`index_row`, by model name; ``versions`` in all; ``notes``:
    the warnings of reading the ledger (records left out, counted)."""
    table = _table(["model", "description", "owners", "aliases", "tags", "status", "versions"], rows, [6],
                   text=[1, 3, 4, 5], label="Models")
    body = (f"<h1>{e(info.title)}</h1><p class=lead>{len(rows)} models, {versions} versions.</p>"
            + (table if rows else "<p>No models registered yet.</p>")
            + "".join(f"<p class=muted>Deployment ledger: {e(note)}.</p>" for note in notes))
    return _page(info, info.title, [], body, "")


def _status(data: ModelData) -> str:
    model = data.model
    current = model.aliases.get(PRODUCTION)
    if current is not None:
        since = data.production_since()
        text = badge(f"in production: v{current}", "production")
        return text + (f' <span class="muted">since {day(since)}</span>' if since else "")
    if not data.versions:
        return '<span class="muted">no versions</span>'
    if model.latest is None:
        return badge("retired", "archived") + ' <span class="muted">all versions archived or rejected</span>'
    return f'{badge("not in production", "pending")} <span class="muted">latest v{model.latest}</span>'


# -- a model --------------------------------------------------------------------------------

def model_page(info: Info, data: ModelData) -> str:
    model = data.model
    name = escape(model.name)
    parts = [f"<h1>{e(model.name)}</h1>"]
    if model.description:
        parts.append(f"<p class=lead>{clip(model.description, MAX_TEXT)}</p>")
    parts.append(_facts([
        ("owners", e(", ".join(model.owners))),
        ("policy", e(model.policy)),
        ("tags", _tags(model.tags) if model.tags else ""),
        ("aliases", alias_links(model.aliases, f"{name}/") if model.aliases else ""),
        ("status", _status(data)),
    ]))
    shown = data.versions[-MAX_VERSIONS:]
    older = len(data.versions) - len(shown)
    if data.metrics:
        metric = data.metrics[0]
        points = [chart.Point(mv.version, float(mv.metrics[metric]) if finite_number(mv.metrics.get(metric))
                              else None, data.state(mv.version)) for mv in shown]
        link = f"{model.name}/v{{version}}.html"
        svg = chart.render(metric, points, data.production[-MAX_SPANS:], link=link)
        newest = f" (the newest {len(shown)} of {len(data.versions)})" if older else ""
        parts.append(f"<h2>{e(metric)} across versions{newest}</h2><p class=scrollhint>The chart scrolls "
                     f'sideways &rarr;</p><div class=chartbox role=region tabindex=0 aria-label="Chart of '
                     f'{e(metric)}">{svg}</div>'
                     '<p class=legend>Shaded: versions that held production; dark green: the one that holds '
                     "it now. Hollow red: rejected; grey: archived. The strip below is who held production "
                     "when. Hover for values and dates.</p>")
    parts.append("<h2>Versions</h2>")
    parts.append(_versions_table(data, shown, name) if shown else "<p>No versions yet.</p>")
    if older:
        parts.append(f"<p class=muted>{older} older versions are not listed here: each has its page, and "
                     f"<code>modelreg show {e(model.name)}</code> lists them all.</p>")
    rejected = sorted(model.desired.rejected.items())[-MAX_VERSIONS:]
    if rejected:
        items = "".join(f'<li><a href="{name}/v{v}.html">v{v}</a>: {clip(r.reason)}'
                        + (f" (by {e(r.by)})" if r.by else "") + "</li>" for v, r in rejected)
        parts.append(f"<h2>Rejected</h2><ul>{items}</ul>")
    parts.append("<h2>History</h2>")
    parts.append(_events(info, data.events, f"{name}/") if data.events else
                 "<p class=muted>No committed history yet.</p>")
    if data.unmatched:
        parts.append(_unmatched(info, data))
    return _page(info, f"{model.name} · {info.title}", [(model.name, None)], "".join(parts), "../")


def _versions_table(data: ModelData, shown: list[ModelVersion], name: str) -> str:
    rows = []
    for mv in reversed(shown):
        rows.append((
            f'<a href="{name}/v{mv.version}.html">v{mv.version}</a>',
            e(mv.created_at[:10]),
            e(mv.data.get("created_by")),
            alias_badges(mv.aliases) if mv.aliases else '<span class="muted">-</span>',
            stage_badge(mv.stage),
            approval_badge(mv.approval),
            *(_number(mv.metrics.get(m)) for m in data.metrics),
            clip(mv.description),
        ))
    headers = ["version", "created", "by", "aliases", "stage", "approval", *data.metrics, "description"]
    return _table(headers, rows, range(6, 6 + len(data.metrics)), text=[6 + len(data.metrics)],
                  label="Versions")


def _events(info: Info, events: list[Event], prefix: str) -> str:
    rows = []
    for event in events[:MAX_EVENTS]:
        version = (f'<a href="{prefix}v{event.version}.html">v{event.version}</a>'
                   if event.version is not None else '<span class="muted">-</span>')
        rows.append((e(minute(event.date)), _change(event), version, info.pr(event.pr), _approvers(event),
                     e(event.author), info.commit_link(event.commit), e(event.marker().replace("+", " + ")),
                     _signature(event.signature)))
    more = (f"<p class=muted>{len(events) - MAX_EVENTS} older changes are not listed here: "
            "<code>modelreg history</code> shows them all.</p>" if len(events) > MAX_EVENTS else "")
    shown = sorted({part for ev in events[:MAX_EVENTS] for part in ev.marker().split("+")},
                   key=list(SOURCES).index)
    legend = "; ".join(f"<b>{e(source)}</b>: {e(SOURCES[source])}" for source in shown)
    signed = any(ev.signature for ev in events[:MAX_EVENTS])
    return (_table(["date", "change", "version", "pull request", "approved by", "by", "commit", "source",
                    "signature"], rows, text=[4], label="History")
            + more + f"<p class=legend>Source: {legend}.</p>"
            + (f"<p class=legend>{_SIGNATURES}</p>" if signed else ""))


#: what the signature column's words mean
_SIGNATURES = ("Signature (of the ledger record a fact comes from, checked when this page was built "
               "against the signers modelreg.yaml on main names): <b>verified</b>, signed by an allowed "
               "signer and borne out by git; <b>unverified</b>, not signed, or no signers named; "
               "<b>forged</b>, a signature that does not verify, a signer not allowed, or not what was "
               "signed; <b>unchecked</b>, the signers could not be read (see the index).")


def _signature(verdict: Verdict | None) -> str:
    if verdict is None:
        return '<span class="muted">-</span>'
    return f'<span title="{e(verdict.why)}">{badge(verdict.state, verdict.state)}</span>'


def _unmatched(info: Info, data: ModelData) -> str:
    """Ledger records git does not bear out: listed apart, with why, so a forged or stale record
    is seen for what it is and never read as a deployment or an approval."""
    rows = []
    for item in data.unmatched[:MAX_EVENTS]:
        r = item.record
        before = f"v{r.before}" if r.before is not None else "(none)"
        after = f"v{r.after}" if r.after is not None else "(none)"
        what = f"deployment to {r.environment}" if r.kind == "deployment" else "move"
        rows.append((e(minute(r.time)), f"{e(what)}: {e(r.alias)} {e(before)} → {e(after)}",
                     info.commit_link(r.commit), e(item.why), _signature(item.verdict)))
    return ("<h2>Unmatched ledger records</h2><p class=muted>Records in the deployment ledger (git notes, "
            "which anyone who may push can write) whose move git does not bear out. They are not part of "
            "the history above.</p>"
            + _table(["recorded", "claims", "commit", "why not attached", "signature"], rows, text=[1, 3],
                     label="Unmatched ledger records"))


def _change(event: Event) -> str:
    if event.kind == "alias":
        before = f"v{event.previous}" if event.previous is not None else "(none)"
        after = f"v{event.version}" if event.version is not None else "(removed)"
        return f"{badge(event.alias or '', event.alias or '')} {e(before)} → {e(after)}"
    if event.kind == "deployment":
        outcome = event.outcome or ""
        return (f"deployed to {e(event.environment)} "
                f"{badge(outcome, outcome if outcome in ('succeeded', 'failed', 'refused') else '')}")
    return e(event.kind)


def _approvers(event: Event) -> str:
    if event.approvers is not None:
        counted = e(", ".join(a.login for a in event.approvers)) or '<span class="muted">nobody</span>'
        others = ", ".join(f"{n.login} ({n.reason})" for n in event.not_counted or ())
        return counted + (f'<br><span class="muted">not counted: {e(others)}</span>' if others else "")
    if event.pr is None:
        return '<span class="muted">-</span>'
    return '<span class="muted">not recorded</span>'


# -- a version ------------------------------------------------------------------------------

def version_page(info: Info, data: ModelData, mv: ModelVersion, card: str | None, *,
                 bom: str | None = None) -> str:
    """The page of one version; ``bom`` is the relative path of its bill of materials, linked."""
    model = data.model
    name = escape(model.name)
    badges = stage_badge(mv.stage) + approval_badge(mv.approval)
    if mv.aliases:
        badges += alias_badges(mv.aliases)
    parts = [f"<h1>{e(model.name)} v{mv.version}</h1><p>{badges}</p>"]
    if mv.description:
        parts.append(f"<p class=lead>{clip(mv.description, MAX_TEXT)}</p>")
    rejection = model.desired.rejected.get(mv.version)
    if rejection is not None:
        by = f" (by {e(rejection.by)})" if rejection.by else ""
        parts.append(f"<p>{badge('rejected', 'rejected')} {clip(rejection.reason, MAX_TEXT)}{by}</p>")
    framework = mv.data.get("framework") or {}
    parts.append(_facts([
        ("URI", f"<code>{e(mv.uri)}</code>"),
        ("created", e(minute(mv.created_at))),
        ("by", e(mv.data.get("created_by"))),
        ("framework", e(" ".join(str(framework.get(k)) for k in ("name", "version") if framework.get(k)))),
        ("tags", _tags(mv.tags) if mv.tags else ""),
        ("bill of materials", f'<a href="{escape(bom)}" type="application/vnd.cyclonedx+json">'
                              f"{e(bom.rsplit('/', 1)[-1])}</a> (CycloneDX 1.6 ML-BOM, JSON)" if bom else ""),
    ]))
    parts.append(_neighbours(data, mv))
    artifact = mv.artifact
    parts.append("<h2>Artifact</h2>" + _facts([
        ("path", f"<code>{e(artifact.get('path'))}</code>"),
        ("type", e(artifact.get("type", "file"))),
        ("format", e(artifact.get("format"))),
        ("size", e(_size(artifact.get("size")))),
        ("files", e(artifact.get("files"))),
        ("sha256", f"<code>{e(artifact.get('sha256'))}</code>"),
        ("md5", f"<code>{e(artifact.get('md5'))}</code>"),
    ]))
    parts.append(_metrics(mv))
    parts.append(_lineage(mv.lineage))
    params = list(mv.params.items())
    if params:
        rows = [(f"<code>{e(k)}</code>", e(v)) for k, v in params[:MAX_ROWS]]
        parts.append("<h2>Parameters</h2>" + _table(["name", "value"], rows, text=[1], narrow=True,
                                                          label="Parameters")
                     + _cut(len(params)))
    source = f"{names.version_dir(mv.model, mv.version)}/{mv.data.get('card')}"
    parts.append("<h2>Model card</h2>" + (_card(card, source) if card is not None else
                                          "<p class=muted>This version has no card.</p>"))
    mine = data.events_of(mv.version)
    if mine:
        parts.append("<h2>History</h2>" + _events(info, mine, ""))
    return _page(info, f"{model.name} v{mv.version} · {info.title}",
                 [(model.name, f"../{name}.html"), (f"v{mv.version}", None)], "".join(parts), "../../")


def _neighbours(data: ModelData, mv: ModelVersion) -> str:
    numbers = [v.version for v in data.versions]
    at = numbers.index(mv.version)
    links = []
    if at > 0:
        links.append(f'<a href="v{numbers[at - 1]}.html">← v{numbers[at - 1]}</a>')
    links.append(f'<a href="../{escape(data.name)}.html">all versions</a>')
    if at < len(numbers) - 1:
        links.append(f'<a href="v{numbers[at + 1]}.html">v{numbers[at + 1]} →</a>')
    return f"<p>{' · '.join(links)}</p>"


def _metrics(mv: ModelVersion) -> str:
    out = []
    if mv.metrics:
        pairs = [(f"<code>{e(k)}</code>", _number(v)) for k, v in sorted(mv.metrics.items())]
        out.append("<h2>Metrics</h2>" + _table(["metric", "value"], pairs, [1], narrow=True,
                                                       label="Metrics"))
    slices = mv.data.get("slices") or {}
    if slices:
        columns = sorted({m for values in slices.values() for m in values})
        rows = [(e(s), *(_number(values.get(m)) for m in columns))
                for s, values in list(slices.items())[:MAX_ROWS]]
        out.append("<h2>Slices</h2>" + _table(["slice", *columns], rows, range(1, len(columns) + 1),
                                               text=[0], narrow=True, label="Slices")
                   + _cut(len(slices)))
    return "".join(out)


def _lineage(lineage: dict[str, Any]) -> str:
    code, run, datasets = lineage.get("code") or {}, lineage.get("run") or {}, lineage.get("data") or []
    if not (code or run or datasets):
        return "<h2>Lineage</h2><p class=muted>No lineage recorded.</p>"
    out = ["<h2>Lineage</h2>", _facts([
        ("code", _url(code.get("repo"))),
        ("commit", f"<code>{e(code.get('commit'))}</code>" if code.get("commit") else ""),
        ("branch", e(code.get("branch"))),
        ("uncommitted changes", "yes" if code.get("dirty") else ""),
        ("run", e(run.get("id"))),
        ("run URL", _url(run.get("url"))),
    ])]
    if datasets:
        rows = [(e(d.get("name")), e(d.get("path")), e(d.get("version")),
                 f"<code>{e(d.get('sha256') or d.get('md5'))}</code>", e(_size(d.get("size"))))
                for d in datasets[:MAX_ROWS]]
        out.append(_table(["data", "path", "version", "hash", "size"], rows, text=[1, 3], label="Data"))
    return "".join(out)


def _card(text: str, source: str) -> str:
    """The registered card's prose, section by section, through the cards module's safe Markdown
    subset (every character escaped; links only to http(s)). A card whose front matter does not
    read is shown as escaped text: the catalog is a read, ``modelreg check`` reports the card."""
    from modelreg import cards
    from modelreg.cards import render
    from modelreg.errors import InputError

    if len(text) > MAX_CARD:
        return (f"<pre class=card>{e(text[:MAX_CARD])}</pre><p class=muted>The card is {len(text):,} "
                f"characters long; the first {MAX_CARD:,} are shown.</p>")
    try:
        card = cards.parse(text, source)
    except InputError as exc:
        return f"<p class=muted>{e(exc)}</p><pre class=card>{e(text)}</pre>"
    parts = [render.prose_html(card.summary)] if card.summary.strip() else []
    for key, title in cards.SECTIONS.items():
        prose = card.sections.get(key)
        if prose is not None and prose.strip():
            parts.append(f"<h3>{e(title)}</h3>{render.prose_html(prose)}")
    parts += [f"<h3>{e(heading)}</h3>{render.prose_html(prose)}" for heading, prose in card.other]
    title = f"<p><strong>{e(card.title)}</strong></p>" if card.title else ""
    return f"<div class=card>{title}{''.join(parts)}</div>"


def _cut(total: int) -> str:
    return f"<p class=muted>{total - MAX_ROWS} more not shown.</p>" if total > MAX_ROWS else ""


def _size(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{value:,} bytes" if unit == "bytes" else f"{size:.1f} {unit} ({value:,} bytes)"
        size /= 1024
    return str(value)  # pragma: no cover - the loop always returns
