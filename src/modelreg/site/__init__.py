"""``modelreg site``: the registry as a static HTML catalog, for GitHub Pages or any file server.

``build`` reads the registry at one revision (the work tree by default), its
history and its deployment ledger, and writes ``index.html``,
``models/<model>.html`` and ``models/<model>/v<N>.html`` into a directory, each
page whole or not at all (``atomic.write_atomic``). No server, no JavaScript,
one inline stylesheet: the pages are self-contained and link to each other by
relative paths. ``workflow.py`` holds the GitHub Actions workflow that publishes it.

Models are independent, so a large registry is rendered by several processes,
each with its own snapshot, a share of the models and the ledger records about
them; the index is written last, from the rows they return. The pages are the
same whatever the number of processes.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg.api import Registry
from modelreg.edges import confine, git
from modelreg.edges.outdir import OutDir
from modelreg.errors import ConflictError
from modelreg.formats import names
from modelreg.read.history import events_from_log, ledger_by_model, logs_by_model, merge_ledger
from modelreg.read.ledger_match import ByModel, ModelRecords
from modelreg.site import pages
from modelreg.site.data import (
    ModelData,
    alias_spans,
    headline_metrics,
    parse_time,
    share_approvers,
)

if TYPE_CHECKING:
    from modelreg.read.catalog import ModelVersion

DEFAULT_TITLE = "Model registry"
#: below this many versions one process renders everything (starting workers costs more)
PARALLEL_FROM = 2000
MAX_JOBS = 8
_SERVER_ENV = "GITHUB_SERVER_URL"
_SERVER = re.compile(r"^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")
#: how much of an existing index.html is read to recognise a catalog this command wrote
_SNIFF_BYTES = 4096


@dataclass(frozen=True)
class Built:
    """What ``build`` wrote: the CLI prints it, ``--json`` shows it whole."""

    out: str
    commit: str | None
    models: int
    versions: int
    pages: int
    bytes: int
    largest: str
    largest_bytes: int
    jobs: int
    removed: list[str] = field(default_factory=list)
    #: ledger records left out (not on main, names the rules refuse), counted
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Job:
    """What rendering a share of the models needs (sent to a worker process)."""

    top: str
    commit: str | None  # the revision read; None: the work tree
    history: bool  # whether there is a commit to read history from
    out: str
    info: pages.Info
    until: datetime | None


@dataclass(frozen=True)
class _Rendered:
    row: tuple[str, ...]
    versions: int
    written: dict[str, int]  # page → bytes


def build(reg: Registry, out: str | os.PathLike[str], *, repo: str | None = None,
          title: str = DEFAULT_TITLE, jobs: int | None = None, now: datetime | None = None) -> Built:
    """Render the catalog of ``reg`` (at its revision: ``Registry(".", at="v1.0")``) into ``out``.

    ``out`` must be new, empty, or a catalog an earlier build wrote; pages of models
    and versions that no longer exist are removed from it, and nothing else: the pages
    written are listed in ``out/.modelreg-written.json`` (:mod:`modelreg.edges.outdir`), and no
    link inside ``out`` is written through. ``repo`` (OWNER/NAME; default
    $GITHUB_REPOSITORY, else ``origin`` on github.com) turns PR numbers and commits into links.
    ``jobs``: processes to render with (default: one per CPU, up to 8, for registries of
    2,000 versions or more; one otherwise). ``now``: where the work tree's charts end.
    """
    confine.check_output(reg.top, str(out), "--output")
    target = Path(out).resolve()
    catalog = reg.catalog
    models = catalog.model_names()
    for name in models:  # a tree the format does not allow is refused before a page is written
        catalog.model(name)
    _prepare(target)
    # The history shown is HEAD's when the work tree is read: the footer names that commit.
    commit = reg.commit or git.head_commit(reg.top)
    committed = git.run(reg.top, "log", "-1", "--format=%cI", commit).strip() if commit else None
    info = pages.Info(title=title, commit=commit, committed=committed, web=_web(reg.top, repo),
                      work_tree=reg.commit is None)
    # A span still open ends on the chart at the revision's time, or now for the work tree.
    until = parse_time(committed or "") if reg.commit else (now or datetime.now(timezone.utc))
    job = _Job(top=reg.top, commit=reg.commit, history=commit is not None, out=str(target), info=info,
               until=until)
    records = _ledger(reg) if job.history else ByModel({}, [])
    # every model's history from one walk of the log, not a walk per model
    logs = logs_by_model(reg.top, models, job.commit) if job.history else {}
    jobs = jobs or _jobs(reg, models)
    if jobs > 1 and len(models) > 1:
        shares = [models[i::jobs] for i in range(jobs)]
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            parts = pool.map(_render, [job] * jobs, shares,
                             [{m: records.get(m, ModelRecords()) for m in share} for share in shares],
                             [{m: logs.get(m, "") for m in share} for share in shares])
            by_name = {m: r for share, part in zip(shares, parts, strict=True)
                       for m, r in zip(share, part, strict=True)}
        rendered = [by_name[m] for m in models]
    else:
        rendered = _render(job, models, records, logs, reg)
    written = {rel: size for r in rendered for rel, size in r.written.items()}
    versions = sum(r.versions for r in rendered)
    # The index last: a build that fails half-way leaves the previous index, which links
    # only to pages that existed before.
    written["index.html"] = _write(target, "index.html",
                                   pages.index_page(info, [r.row for r in rendered], versions,
                                                    notes=records.warnings))
    removed = _remove_stale(target, set(written))
    largest = max(written, key=lambda rel: written[rel])
    return Built(out=str(target), commit=reg.commit, models=len(models), versions=versions,
                 pages=len(written), bytes=sum(written.values()), largest=largest,
                 largest_bytes=written[largest], jobs=jobs, removed=removed, warnings=list(records.warnings))


def _jobs(reg: Registry, models: list[str]) -> int:
    """Several processes for a large registry: counted from directory names, nothing parsed."""
    snapshot = reg.catalog.snapshot
    count = sum(1 for m in models for d in snapshot.listdir(names.model_dir(m)) if names.parse_version_dir(d))
    return min(os.cpu_count() or 1, MAX_JOBS) if count >= PARALLEL_FROM else 1


def _render(job: _Job, models: list[str], records: dict[str, ModelRecords], logs: dict[str, str],
            reg: Registry | None = None) -> list[_Rendered]:
    """Write the pages of ``models`` and return their index rows (in a worker: its own snapshot)."""
    if reg is None:  # a worker: its own snapshot, closed when its pages are written
        with Registry(job.top, at=job.commit) as own:
            return _render(job, models, records, logs, own)
    with git.BlobReader(job.top) as blobs:  # one `cat-file` for every model's past states
        return [_render_model(job, reg, name, records, logs, blobs) for name in models]


def _render_model(job: _Job, reg: Registry, name: str, records: dict[str, ModelRecords],
                  logs: dict[str, str], blobs: git.BlobReader) -> _Rendered:
    out = Path(job.out)
    model = reg.catalog.model(name)
    versions = reg.catalog.versions(name)
    events = events_from_log(reg.top, name, logs.get(name, ""), blobs) if job.history else []
    merged = merge_ledger(events, records.get(name, ModelRecords()))
    events = share_approvers(merged)
    data = ModelData(model=model, versions=versions, events=events, production=alias_spans(events),
                     metrics=headline_metrics(versions), until=job.until,
                     unmatched=tuple(merged.unmatched))
    page = f"models/{name}.html"
    written = {page: _write(out, page, pages.model_page(job.info, data))}
    for mv in versions:
        rel = f"models/{name}/v{mv.version}.html"
        written[rel] = _write(out, rel, pages.version_page(job.info, data, mv, _card(reg, mv)))
    return _Rendered(row=pages.index_row(data), versions=len(versions), written=written)


def _write(out: Path, rel: str, text: str) -> int:
    return OutDir(out).write_text(rel, text)  # never through a link planted in the catalog


def _ledger(reg: Registry) -> ByModel:
    """The ledger's records by model, read once: those about commits on main that the revision
    contains (the others counted in its warnings)."""
    return ledger_by_model(reg.top, reg.commit)


def _card(reg: Registry, mv: ModelVersion) -> str | None:
    """The card's text, when the version names one and it is in the snapshot."""
    card = mv.data.get("card")
    if not isinstance(card, str) or not names.FILE_NAME.fullmatch(card):
        return None
    data = reg.catalog.snapshot.read(f"{names.version_dir(mv.model, mv.version)}/{card}")
    return data.decode("utf-8", "replace") if data is not None else None


def _web(root: str, repo: str | None) -> str | None:
    """``https://github.com/OWNER/NAME`` for links, when the repository is known and well formed."""
    from modelreg.edges import github

    found = github.find_repo(root, repo)  # a malformed --repo is an error; a malformed environment is not
    if found is None or not github.REPO_NAME.fullmatch(found):
        return None
    server = os.environ.get(_SERVER_ENV, "https://github.com")
    return f"{server if _SERVER.fullmatch(server) else 'https://github.com'}/{found}"


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConflictError(f"{out} is a file", fix="give a directory to write the catalog into")
    if out.is_dir() and any(out.iterdir()) and not _is_catalog(out / "index.html") \
            and not OutDir(out).written():
        raise ConflictError(f"{out} is not empty and holds no catalog that modelreg wrote",
                            fix="give a new or empty directory, or one an earlier `modelreg site` wrote")
    out.mkdir(parents=True, exist_ok=True)


def _is_catalog(index: Path) -> bool:
    if index.is_symlink() or not index.is_file():
        return False
    with open(index, "rb") as file:
        head = file.read(_SNIFF_BYTES)
    return f'<meta name="generator" content="{pages.GENERATOR}">'.encode() in head


def _remove_stale(out: Path, written: set[str]) -> list[str]:
    """Pages an earlier build wrote (the catalog's manifest lists them) for models or versions that
    are gone; a file modelreg did not write stays."""
    owned = OutDir(out)
    if not owned.written() and _is_catalog(out / "index.html"):
        owned.record(_legacy_pages(out))  # a catalog built before the manifest: its pages say so
    return owned.prune(written)


def _legacy_pages(out: Path) -> set[str]:
    """The pages under models/ that carry this command's generator tag (regular files, no links)."""
    found = set()
    for path in (out / "models").rglob("*.html") if (out / "models").is_dir() else []:
        rel = path.relative_to(out)
        if not any((out / Path(*rel.parts[:n])).is_symlink() for n in range(1, len(rel.parts) + 1)) \
                and _is_catalog(path):
            found.add(rel.as_posix())
    return found
