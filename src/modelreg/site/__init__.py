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
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg.api import Registry
from modelreg.cards import cyclonedx
from modelreg.edges import confine, git
from modelreg.edges.outdir import OutDir
from modelreg.errors import ConflictError, ModelregError
from modelreg.formats import names
from modelreg.read.history import events_from_log, ledger_by_model, logs_by_model, merge_ledger
from modelreg.read.ledger_match import ByModel, ModelRecords
from modelreg.read.ledger_trust import Trust, at_main
from modelreg.site import pages, state
from modelreg.site.data import (
    ModelData,
    alias_spans,
    headline_metrics,
    share_approvers,
)

if TYPE_CHECKING:
    from modelreg.read.catalog import ModelVersion
    from modelreg.read.history import Event

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
    #: models whose pages were written (the others' pages were current: ``state``)
    rendered: int = 0
    #: bills of materials in the catalog (``models/<model>/v<N>.bom.cdx.json``, one per version; not pages)
    boms: int = 0
    #: those an earlier build wrote for versions that are gone
    removed_boms: list[str] = field(default_factory=list)

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
    #: the signers main names, each ledger record judged by them (None: they could not be read)
    trust: Trust | None = None


def build(reg: Registry, out: str | os.PathLike[str], *, repo: str | None = None,
          title: str = DEFAULT_TITLE, jobs: int | None = None, full: bool = False) -> Built:
    """Render the catalog of ``reg`` (at its revision: ``Registry(".", at="v1.0")``) into ``out``.

    ``out`` must be new, empty, or a catalog an earlier build wrote; pages of models
    and versions that no longer exist are removed from it, and nothing else: the pages
    written are listed in ``out/.modelreg-written.json`` (:mod:`modelreg.edges.outdir`), and no
    link inside ``out`` is written through. A catalog an earlier build wrote keeps the pages
    of each model whose files, history and ledger records are those it was rendered from
    (:mod:`modelreg.site.state`; ``full``: render every model anyway). ``repo`` (OWNER/NAME;
    default $GITHUB_REPOSITORY, else ``origin`` on github.com) turns PR numbers and commits
    into links. ``jobs``: processes to render with (default: one per CPU, up to 8, when 2,000
    versions or more are rendered; one otherwise).
    """
    confine.check_output(reg.top, str(out), "--output")
    target = Path(out).resolve()
    models = reg.catalog.model_names()
    # The history shown is HEAD's when the work tree is read: the index's footer names that commit.
    commit = reg.commit or git.head_commit(reg.top)
    committed = git.run(reg.top, "log", "-1", "--format=%cI", commit).strip() if commit else None
    info = pages.Info(title=title, commit=commit, committed=committed, web=_web(reg.top, repo),
                      work_tree=reg.commit is None)
    records = _ledger(reg) if commit is not None else ByModel({}, [])
    trust, why = _trust(reg) if records else (None, None)
    if why is not None:
        records.warnings.append(why)
    job = _Job(top=reg.top, commit=reg.commit, history=commit is not None, out=str(target), info=info,
               trust=trust)
    # the signers judge every ledger fact a page marks: other signers, every model rendered again
    wanted = state.settings(title=title, web=info.web, work_tree=info.work_tree, history=job.history,
                            signers=None if trust is None else repr(trust.signers))
    previous = None if full else state.load(target, wanted)
    plan = _plan(reg, job, commit, models, records, previous, target)
    for name in plan.render:  # a tree the format does not allow is refused before a page is written
        reg.catalog.model(name)
    # a catalog an earlier build wrote before catalogs listed their pages: judged before this one writes
    legacy = _is_catalog(target / "index.html") and not OutDir(target).written()
    _prepare(target)  # nothing is created before the registry is known to read
    done = _render_all(reg, job, plan, records, jobs)
    kept = {m: previous.models[m] for m in models if m not in done} if previous else {}
    rendered = {**kept, **done}
    written = {rel: size for m in models for rel, size in rendered[m].written.items()}
    boms = {rel for m in models for rel in rendered[m].boms}
    versions = sum(rendered[m].versions for m in models)
    # The index last: a build that fails half-way leaves the previous index, which links
    # only to pages that existed before.
    written["index.html"] = _write(OutDir(target), "index.html",
                                   pages.index_page(info, [rendered[m].row for m in models], versions,
                                                    notes=records.warnings))
    state.save(target, wanted, commit, {m: rendered[m] for m in models})
    removed = _remove_stale(target, set(written) | boms | {state.STATE}, legacy=legacy)
    largest = max(written, key=lambda rel: written[rel])
    return Built(out=str(target), commit=reg.commit, models=len(models), versions=versions,
                 pages=len(written), bytes=sum(written.values()), largest=largest,
                 largest_bytes=written[largest], jobs=plan.jobs,
                 removed=[r for r in removed if r.endswith(".html")], warnings=list(records.warnings),
                 rendered=len(done), boms=len(boms),
                 removed_boms=[r for r in removed if not r.endswith(".html")])


@dataclass
class _Plan:
    """Which models to render, their keys, and their logs (``read.history.logs_by_model``)."""

    render: list[str]
    keys: dict[str, str | None]
    logs: dict[str, str]
    jobs: int = 1


def _plan(reg: Registry, job: _Job, commit: str | None, models: list[str], records: ByModel,
          previous: state.Previous | None, target: Path) -> _Plan:
    """Every model whose key differs from the one its pages were rendered with (see ``state``),
    or whose pages are not all there."""
    top = reg.top
    trees = state.trees(top, commit) if commit else {}
    if job.commit is None and commit:  # the work tree: a model changed there has no tree to stand for it
        for name in state.changed_in_work_tree(top, commit):
            trees.pop(name, None)
    touched = state.touched_since(top, previous.commit, commit) \
        if previous is not None and previous.commit and commit else None
    if touched is None:  # the newest commit to touch each model, from one walk of the whole log
        logs = logs_by_model(top, models, job.commit, jobs=_cpus()) if job.history else {}
        last = {m: (state.last_change(logs.get(m, "")) or (None, ""))[0] for m in models}
    else:
        assert previous is not None
        logs = {}
        last = {m: touched.get(m, previous.models[m].last if m in previous.models else None) for m in models}
    keys = {m: state.key(trees.get(m), last[m], records.get(m)) for m in models}

    def current(name: str) -> bool:
        old = previous.models.get(name) if previous is not None else None
        return old is not None and old.key is not None and old.key == keys[name] and \
            state.present(target, [*old.written, *old.boms])

    render = [m for m in models if not current(m)]
    missing = [m for m in render if m not in logs]
    if missing and job.history:  # only the models to render: their directories, when they are few
        logs.update(logs_by_model(top, missing, job.commit, jobs=_cpus()))
    return _Plan(render=render, keys=keys, logs={m: logs.get(m, "") for m in render})


def _render_all(reg: Registry, job: _Job, plan: _Plan, records: ByModel,
                jobs: int | None) -> dict[str, state.Rendered]:
    models = plan.render
    plan.jobs = jobs or _jobs(reg, models)
    if plan.jobs > 1 and len(models) > 1:
        shares = [models[i::plan.jobs] for i in range(plan.jobs)]
        with ProcessPoolExecutor(max_workers=plan.jobs, mp_context=get_context("spawn")) as pool:
            parts = pool.map(_render, [job] * plan.jobs, shares,
                             [{m: records.get(m, ModelRecords()) for m in share} for share in shares],
                             [{m: plan.logs[m] for m in share} for share in shares],
                             [{m: plan.keys[m] for m in share} for share in shares])
            return {m: r for share, part in zip(shares, parts, strict=True)
                    for m, r in zip(share, part, strict=True)}
    return dict(zip(models, _render(job, models, records, plan.logs, plan.keys, reg), strict=True))


def _cpus() -> int:
    return min(os.cpu_count() or 1, MAX_JOBS)


def _jobs(reg: Registry, models: list[str]) -> int:
    """Several processes for a large registry: counted from directory names, nothing parsed."""
    snapshot = reg.catalog.snapshot
    count = sum(1 for m in models for d in snapshot.listdir(names.model_dir(m)) if names.parse_version_dir(d))
    return _cpus() if count >= PARALLEL_FROM else 1


def _render(job: _Job, models: list[str], records: dict[str, ModelRecords], logs: dict[str, str],
            keys: dict[str, str | None], reg: Registry | None = None) -> list[state.Rendered]:
    """Write the pages of ``models`` and return what they came to (in a worker: its own snapshot)."""
    if reg is None:  # a worker: its own snapshot, closed when its pages are written
        with Registry(job.top, at=job.commit) as own:
            return _render(job, models, records, logs, keys, own)
    out = OutDir(job.out)  # one for all the pages: each folder checked once
    with git.BlobReader(job.top) as blobs:  # one `cat-file` for every model's past states
        return [_render_model(job, reg, name, records, logs[name], keys[name], blobs, out) for name in models]


def _render_model(job: _Job, reg: Registry, name: str, records: dict[str, ModelRecords], log: str,
                  key: str | None, blobs: git.BlobReader, out: OutDir) -> state.Rendered:
    model = reg.catalog.model(name)
    versions = reg.catalog.versions(name)
    events = events_from_log(reg.top, name, log, blobs) if job.history else []
    merged = merge_ledger(events, records.get(name, ModelRecords()), job.trust)
    events = share_approvers(merged)
    data = ModelData(model=model, versions=versions, events=events, production=alias_spans(events),
                     metrics=headline_metrics(versions), unmatched=tuple(merged.unmatched))
    # The model's pages name its last change, not the revision: they stay what they are until
    # the model changes (the index names the revision).
    last = state.last_change(log)
    info = replace(job.info, commit=last[0] if last else None, committed=last[1] if last else None,
                   model_pages=True)
    page = f"models/{name}.html"
    written = {page: _write(out, page, pages.model_page(info, data))}
    boms = {}
    by_version: dict[int | None, list[Event]] = {}  # one pass: a model may have 100,000 of each
    for event in events:
        by_version.setdefault(event.version, []).append(event)
    for mv in versions:
        bom = f"models/{name}/v{mv.version}{cyclonedx.SITE_SUFFIX}"
        boms[bom] = _write(out, bom, _bom(reg, mv, model.owners, cyclonedx.believed(
            by_version.get(mv.version, []), signers_named=job.trust is not None and job.trust.configured)))
        rel = f"models/{name}/v{mv.version}.html"
        written[rel] = _write(out, rel, pages.version_page(info, data, mv, _card(reg, mv),
                                                           bom=f"v{mv.version}{cyclonedx.SITE_SUFFIX}"))
    return state.Rendered(key=key, last=last[0] if last else None, row=pages.index_row(data),
                          versions=len(versions), written=written, boms=boms)


def _write(out: OutDir, rel: str, text: str) -> int:
    return out.write_text(rel, text)  # never through a link planted in the catalog


def _ledger(reg: Registry) -> ByModel:
    """The ledger's records by model, read once: those about commits on main that the revision
    contains (the others counted in its warnings)."""
    return ledger_by_model(reg.top, reg.commit)


def _trust(reg: Registry) -> tuple[Trust | None, str | None]:
    """The signers ``modelreg.yaml`` on main names, to mark each ledger fact verified, unverified
    or forged; when they cannot be read (a key that does not load, the signing libraries not
    installed), no mark at all, and why."""
    try:
        found = at_main(reg.top)
    except ModelregError as exc:
        return None, f"signatures not checked: {exc}"
    # named without main's commit: a page says the same until its model changes (site/state.py)
    return Trust(found.signers, f"{names.CONFIG_FILE} on main"), None


def _bom(reg: Registry, mv: ModelVersion, owners: list[str], events: list[Event]) -> str:
    """The version's CycloneDX ML-BOM, as ``modelreg bom`` builds it from the same files and history
    (its approvers those the ledger recorded), written compact. A card that does not read is left
    out of it, and the BOM says why."""
    from modelreg import __version__, cards
    from modelreg.errors import InputError

    try:
        registered, problem = cards.read_registered(reg.catalog, mv), None
    except InputError as exc:
        registered, problem = None, str(exc)
    return cyclonedx.build(mv, registered, owners=owners, events=events, tool_version=__version__,
                           card_problem=problem).dumps(indent=None)  # compact: 10,000 of them


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


def _remove_stale(out: Path, written: set[str], *, legacy: bool) -> list[str]:
    """Pages an earlier build wrote (the catalog's manifest lists them) for models or versions that
    are gone; a file modelreg did not write stays. ``legacy``: the directory held a catalog built
    before the manifest (not one this build started: its 100,000 pages are not read again)."""
    owned = OutDir(out)
    if legacy:
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
