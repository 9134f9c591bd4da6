"""``modelreg site``: the static catalog, from a real registry, loaded in a real browser.

The scenario registry is made with the real parts once per session: versions
registered with DVC, promotions merged as commits that name their pull requests,
each merge deployed by ``modelreg deploy`` to a ``directory`` target, which records
the move, its approvers (from the GitHub stub, the tests' one stand-in) and the
deployment in the ledger. Only the ledger's clock is set, so that each deployment
lands minutes after its merge rather than all at the moment the session runs.

The pages are then opened in headless Chromium (Debian's ``chromium``; ``scripts/bootstrap
--tests`` installs it when run as root): every page loads with no console message at all
(a page has no script, so any message is a Content-Security-Policy violation or a load
error), the chart is in the DOM, and a model page is captured as a screenshot.
``MODELREG_UPDATE_SCREENSHOT=1`` (``scripts/screenshot-site``) copies it to
``docs/images/site-model.png``, the picture the README shows.

The Pages workflow is checked for its hardening, by zizmor, and run under act (its build job).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelreg.edges import ledger
from modelreg.edges.outdir import MANIFEST
from modelreg.site import pages
from modelreg.site.data import alias_spans, headline_metrics
from modelreg.site.state import STATE
from modelreg.write import site_workflow
from tests.browser import AXE, AXE_HINT, Browser
from tests.github_stub import GitHubStub
from tests.helpers import Cli, artifact, commit_all, git, metrics_file, set_aliases
from tests.installs import Installs
from tests.test_gate_workflow import act, needs_act

pytest_plugins = ["tests.installs"]

PROJECT = Path(__file__).resolve().parents[1]
SCREENSHOT = PROJECT / "docs" / "images" / "site-model.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: a test that loads pages in headless Chromium: the `browser` tier, which scripts/test --fast leaves out
BROWSER_TIER = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason=(
    "needs Debian's chromium: scripts/bootstrap --tests installs it when run as root "
    "(apt-get install chromium)"))]


def needs_chromium(test: Callable[..., None]) -> Callable[..., None]:
    for mark in BROWSER_TIER:
        test = mark(test)
    return test

ZIZMOR = shutil.which("zizmor", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
REPO = "acme/registry"
TOKEN = "t0ken-for-site"
MAX_PAGE = 300 * 1024

_BUILT: dict[str, Path] = {}

CARD = """\
# fraud-detector v4

Gradient-boosted trees scoring card authorisations in real time.

## Intended use
Decline or step-up decisions at authorisation time, with a human review queue.

## Limitations
Trained on 2024-11 data; re-validate after a change of card mix.
"""


def _register(cli: Cli, root: Path, work: Path, code: Path, when: str, model: str, seed: int,
              metrics: dict[str, object], *extra: str) -> None:
    """A real registration, its manifest dated ``when`` (``register`` writes the present time)."""
    art = artifact(work / f"{model}-{seed}" / "model.pkl", seed=seed)
    mfile = metrics_file(work / f"metrics-{model}-{seed}.json", metrics)
    owner = () if (root / "registry" / model / "model.yaml").exists() else ("--owner", "@acme/fraud-ml")
    cli.ok("-C", str(root), "register", model, "--artifact", str(art), "--metrics", str(mfile),
           "--code-repo", str(code), "--framework", "xgboost==2.0.3", *owner, *extra)
    newest = max(int(d.name[1:]) for d in (root / "registry" / model).glob("v*"))
    manifest = root / "registry" / model / f"v{newest}" / "version.yaml"
    text = re.sub(r"(?m)^created_at: .*$", f"created_at: '{when}'", manifest.read_text())
    manifest.write_text(text)


def fraud_metrics(roc_auc: float, f1: float) -> dict[str, object]:
    return {"roc_auc": roc_auc, "f1": f1,
            "slices": {"card_type=visa": {"roc_auc": 0.953}, "card_type=master": {"roc_auc": 0.948}}}


REJECTED = [{"version": 3, "reason": "failed bias review", "by": "@carol"}]


def _build_catalog(root: Path, work: Path, code: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """fraud-detector v1..v5 (production v1 → v2 → v4 → v5 → v4, v3 rejected, v1 archived, v4 with a
    card), churn v1..v2 (production v1), legacy-scorer v1 (archived): every merge deployed."""
    config = yaml.safe_load((root / "modelreg.yaml").read_text())
    config["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(root.parent / "srv"), "keep": 2}]}}
    (root / "modelreg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "policies/default.yaml").write_text("schema_version: 1\n")
    commit_all(root, "Deploy production to a directory", date="2026-10-30T09:00:00Z")
    data = work / "transactions.csv"
    data.write_text("amount,label\n12.5,0\n990.0,1\n")
    (work / "card.md").write_text(CARD)
    stub = GitHubStub(token=TOKEN).start()
    monkeypatch.setenv("GITHUB_API_URL", stub.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)

    def register(when: str, model: str, seed: int, metrics: dict[str, object], *extra: str) -> None:
        _register(cli, root, work, code, when, model, seed, metrics, *extra)

    def merge(when: str, subject: str, pr: int, approvers: tuple[str, ...] = (),
              **changes: dict[str, object]) -> None:
        """Merge pull request ``pr`` (model.yaml changes: aliases in full, other fields as given),
        approved by ``approvers``; then the deploy job runs, its clock minutes after the merge."""
        for model, change in changes.items():
            set_aliases(root, model, change.pop("aliases"), **change)
        stub.add_pull(REPO, pr, author="alice", head_sha=f"{pr:02d}" * 20, merged_at=when)
        for login in approvers:
            stub.add_review(REPO, pr, login, "APPROVED", commit_id=f"{pr:02d}" * 20, submitted_at=when)
        commit_all(root, f"{subject} (#{pr})", date=when)
        later = when.replace(":00:00Z", ":07:00.000000Z")
        monkeypatch.setattr(ledger, "now", lambda: later)
        cli.ok("-C", str(root), "deploy")

    fraud, team = "fraud-detector", ("--tag", "team=fraud")
    try:
        register("2026-11-01T09:00:00Z", fraud, 1, fraud_metrics(0.951, 0.70), *team,
                 "-m", "Baseline: logistic regression", "--dataset", f"transactions={data}")
        merge("2026-11-01T10:00:00Z", "Register fraud-detector v1", 1)
        merge("2026-11-02T10:00:00Z", "Promote fraud-detector v1", 2, ("bob",), **{fraud: {
            "aliases": {"production": 1, "staging": 1}, "tags": {"domain": "payments"},
            "description": "Real-time fraud scoring at authorisation time"}})
        register("2026-11-05T09:00:00Z", fraud, 2, fraud_metrics(0.958, 0.74), *team,
                 "-m", "XGBoost, depth 6", "--param", "max_depth=6")
        merge("2026-11-05T10:00:00Z", "Register fraud-detector v2", 3)
        merge("2026-11-06T10:00:00Z", "Promote fraud-detector v2", 4, ("bob", "carol"),
              **{fraud: {"aliases": {"production": 2, "staging": 2}}})
        register("2026-11-09T09:00:00Z", fraud, 3, fraud_metrics(0.949, 0.71), *team,
                 "-m", "XGBoost with merchant features", "--param", "max_depth=8")
        merge("2026-11-09T10:00:00Z", "Register fraud-detector v3", 5)
        merge("2026-11-10T10:00:00Z", "Reject fraud-detector v3", 6, ("carol",),
              **{fraud: {"aliases": {"production": 2, "staging": 2}, "rejected": REJECTED}})
        register("2026-11-12T09:00:00Z", fraud, 4, fraud_metrics(0.967, 0.78), *team,
                 "-m", "XGBoost, depth 6, 2024-11 data", "--param", "max_depth=6",
                 "--card", str(work / "card.md"), "--run-id", "run-4",
                 "--run-url", "https://mlflow.acme.example/r/4")
        merge("2026-11-12T10:00:00Z", "Register fraud-detector v4", 7)
        merge("2026-11-18T10:00:00Z", "Promote fraud-detector v4", 9, ("carol", "dave"), **{fraud: {
            "aliases": {"production": 4, "staging": 4, "champion": 4}, "archived": [1]}})
        register("2026-11-21T09:00:00Z", fraud, 5, fraud_metrics(0.971, 0.79), *team,
                 "-m", "XGBoost, depth 8", "--param", "max_depth=8")
        register("2026-11-21T09:00:00Z", "churn", 11, {"roc_auc": 0.81, "accuracy": 0.77},
                 "--tag", "team=growth", "-m", "Churn within 30 days")
        register("2026-11-21T09:00:00Z", "legacy-scorer", 21, {"accuracy": 0.64}, "-m", "Rules, retired")
        merge("2026-11-21T10:00:00Z", "Register fraud-detector v5, churn v1, legacy-scorer v1", 10)
        merge("2026-11-24T10:00:00Z", "Promote fraud-detector v5", 12, ("dave",), **{
            fraud: {"aliases": {"production": 5, "staging": 5, "champion": 4}},
            "churn": {"aliases": {"production": 1}}, "legacy-scorer": {"aliases": {}, "archived": [1]}})
        register("2026-11-26T09:00:00Z", "churn", 12, {"roc_auc": 0.83, "accuracy": 0.78},
                 "--tag", "team=growth")
        merge("2026-11-26T10:00:00Z", "Roll back fraud-detector production to v4; register churn v2", 13,
              ("bob",), **{fraud: {"aliases": {"production": 4, "staging": 5, "champion": 4}}})
    finally:
        stub.stop()


@pytest.fixture
def catalog(tmp_path_factory: pytest.TempPathFactory, cli: Cli, code_repo: Path) -> Iterator[Path]:
    """The scenario registry, built once per session by the first test that asks, read-only after."""
    if "root" not in _BUILT:
        base = tmp_path_factory.mktemp("site-registry")
        root = base / "registry"
        cli.ok("init", str(root))
        commit_all(root, "Create the registry", date="2026-10-30T08:00:00Z")
        work = base / "work"
        work.mkdir()
        with pytest.MonkeyPatch.context() as patch:
            _build_catalog(root, work, code_repo, cli, patch)
        _BUILT["root"] = root
    yield _BUILT["root"]


@pytest.fixture
def own_catalog(catalog: Path, tmp_path: Path) -> Path:
    """A copy of the scenario registry that a test may change."""
    copy = tmp_path / "registry"
    shutil.copytree(catalog, copy, symlinks=True)
    return copy


def site(cli: Cli, root: Path, out: Path, *args: str) -> dict[str, object]:
    report: dict[str, object] = cli.ok("-C", str(root), "site", "-o", str(out), "--json", *args).json
    return report


def html_files(out: Path) -> list[str]:
    """The pages (not the bills of materials beside them: tests/test_bom.py has those)."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html") if p.is_file())


def html_files_of_catalog() -> list[str]:
    """Every page of the scenario registry's catalog."""
    versions = [f"models/fraud-detector/v{n}.html" for n in range(1, 6)]
    return sorted(["index.html", "models/churn.html", "models/churn/v1.html", "models/churn/v2.html",
                   "models/fraud-detector.html", *versions, "models/legacy-scorer.html",
                   "models/legacy-scorer/v1.html"])


class Links(HTMLParser):
    """Every href and src of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [v for k, v in attrs if k in ("href", "src") and v is not None]


# -- the pages ---------------------------------------------------------------------------------

def test_every_model_and_version_has_a_page(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    report = site(cli, catalog, out)
    assert html_files(out) == html_files_of_catalog()
    assert (report["models"], report["versions"], report["pages"]) == (3, 8, 12)
    assert report["commit"] is None  # the work tree; its history is HEAD's
    sizes = {rel: (out / rel).stat().st_size for rel in html_files(out)}
    assert report["largest_bytes"] == max(sizes.values()) < MAX_PAGE
    text = cli.ok("-C", str(catalog), "site", "-o", str(out)).out
    assert "Wrote 12 pages (3 models, 8 versions" in text and "index.html" in text


def test_index_lists_models_with_aliases_owners_tags_and_status(catalog: Path, cli: Cli,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out)
    index = (out / "index.html").read_text()
    row = index[index.index("fraud-detector.html"):index.index("legacy-scorer.html")]
    assert 'href="models/fraud-detector/v4.html"><span class="badge production">production v4</span>' in row
    assert "@acme/fraud-ml" in row
    assert "in production: v4</span> <span class=\"muted\">since 2026-11-26</span>" in row
    legacy = index[index.index("legacy-scorer.html"):]
    assert "retired" in legacy
    assert "3 models, 8 versions" in index


def test_model_page_has_versions_chart_and_history(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out, "--repo", REPO)
    page = (out / "models/fraud-detector.html").read_text()
    # the versions table: stage and approval badges, derived from model.yaml
    v4 = page[page.index('<a href="fraud-detector/v4.html">v4</a>'):]
    v4 = v4[:v4.index("</tr>")]
    assert '<span class="badge production">Production</span>' in v4
    assert '<span class="badge approved">Approved</span>' in v4 and "0.967" in v4
    v3 = page[page.index('<a href="fraud-detector/v3.html">v3</a>'):]
    assert '<span class="badge rejected">Rejected</span>' in v3[:v3.index("</tr>")]
    assert '<span class="badge archived">Archived</span>' in page
    assert "failed bias review (by @carol)" in page
    # the chart: roc_auc (every version reports it), a point per version, production over time
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert '<title id="chart-title">roc_auc across versions</title>' in svg
    assert svg.count("<circle") == 5
    assert "v4: roc_auc = 0.967 (in production)" in svg
    assert "v3: roc_auc = 0.949 (rejected)" in svg
    assert "v2 held production from 2026-11-06 to 2026-11-18" in svg
    assert "v4 held production from 2026-11-18 to 2026-11-24; from 2026-11-26 until now" in svg
    assert "v5: production from 2026-11-24 to 2026-11-26" in svg
    assert svg.count('<rect class="seg') == 5  # v1, v2, v4, v5, v4
    # history: alias moves with their PR and the approvers the deploy job recorded; deployments
    assert f'<a href="https://github.com/{REPO}/pull/9">#9</a>' in page
    move = page[page.index('<span class="badge production">production</span> v2 → v4'):]
    assert "carol, dave" in move[:move.index("</tr>")]
    archived = page[page.index("<td>archived</td>"):]  # same merge: the same review
    assert "carol, dave" in archived[:archived.index("</tr>")]
    rejected = page[page.index("<td>rejected</td>"):]  # no alias moved: the ledger has no record of it
    assert "not recorded" in rejected[:rejected.index("</tr>")]
    assert page.count("deployed to production") == 5
    assert '<span class="badge succeeded">succeeded</span>' in page


def test_version_page_has_card_lineage_and_hashes(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out)
    manifest = yaml.safe_load((catalog / "registry/fraud-detector/v4/version.yaml").read_text())
    page = (out / "models/fraud-detector/v4.html").read_text()
    assert "Gradient-boosted trees scoring card authorisations" in page  # the card
    assert manifest["artifact"]["sha256"] in page and manifest["artifact"]["md5"] in page
    code = manifest["lineage"]["code"]
    assert re.fullmatch("[0-9a-f]{40}", code["commit"]) and code["commit"] in page  # the training code's
    assert '<a href="https://github.com/acme/fraud.git" rel="nofollow noopener">' in page
    assert "run-4" in page and "https://mlflow.acme.example/r/4" in page
    assert "card_type=visa" in page and "0.953" in page  # slices
    assert '<a href="v3.html">← v3</a>' in page and '<a href="v5.html">v5 →</a>' in page
    v1 = (out / "models/fraud-detector/v1.html").read_text()
    assert "transactions" in v1 and "This version has no card." in v1
    v3 = (out / "models/fraud-detector/v3.html").read_text()
    assert '<span class="badge rejected">rejected</span> failed bias review (by @carol)' in v3


def test_links_resolve_and_every_page_has_the_policy(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out, "--repo", REPO)
    checked = 0
    for rel in html_files(out):
        text = (out / rel).read_text()
        # no script may run, and only the page's own stylesheet applies (Chromium checks its hash below)
        assert f'<meta http-equiv="Content-Security-Policy" content="{pages.CSP}">' in text, rel
        assert pages.CSP.startswith("default-src 'none'; style-src 'sha256-") and "script" not in pages.CSP
        parser = Links()
        parser.feed(text)
        for link in parser.links:
            if link.startswith(("https://", "data:")):
                continue
            assert not link.startswith(("/", "http:", "javascript:", "file:")), (rel, link)
            target = ((out / rel).parent / link.split("#")[0]).resolve()
            assert target.is_file() and target.is_relative_to(out.resolve()), (rel, link)
            checked += 1
    assert checked > 100


def test_hostile_text_is_escaped(own_catalog: Path, cli: Cli, tmp_path: Path) -> None:
    model = own_catalog / "registry/fraud-detector/model.yaml"
    doc = yaml.safe_load(model.read_text())
    doc["description"] = "<script>alert(1)</script>"
    doc["tags"] = {"team": '"><img src=x onerror=alert(2)>'}
    doc["rejected"][0]["reason"] = "</td></tr></table><script>alert(3)</script>"
    model.write_text(yaml.safe_dump(doc, sort_keys=False))
    version = own_catalog / "registry/fraud-detector/v4/version.yaml"
    manifest = yaml.safe_load(version.read_text())
    manifest["description"] = "<iframe src=https://evil.example>"
    manifest["lineage"]["run"]["url"] = "javascript:alert(4)"
    manifest["params"] = {"max_depth": "<b>6</b>"}
    version.write_text(yaml.safe_dump(manifest, sort_keys=False))
    (own_catalog / "registry/fraud-detector/v4/card.md").write_text("# Card\n<script>alert(5)</script>\n")
    out = tmp_path / "site"
    site(cli, own_catalog, out)
    everything = "".join((out / rel).read_text() for rel in html_files(out))
    for raw in ("<script", "<img", "<iframe", "<b>6", 'href="javascript:'):
        assert raw not in everything, raw
    model_page = (out / "models/fraud-detector.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in model_page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in model_page
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(3)" in model_page
    version_page = (out / "models/fraud-detector/v4.html").read_text()
    assert "javascript:alert(4)" in version_page  # shown as text, not a link
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in version_page
    if CHROMIUM is not None:  # and the browser agrees: nothing ran, nothing was blocked
        for rel in ("models/fraud-detector.html", "models/fraud-detector/v4.html"):
            assert console_messages(load(out / rel, tmp_path)) == [], rel


def test_at_renders_the_registry_as_it_was(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    report = site(cli, catalog, out, "--at", "2026-11-13")
    commit = git(catalog, "rev-list", "-1", "--before=2026-11-13", "HEAD").strip()
    assert report["commit"] == commit
    assert "models/fraud-detector/v5.html" not in html_files(out)
    assert "models/churn.html" not in html_files(out)
    page = (out / "models/fraud-detector.html").read_text()
    assert "v2 held production from 2026-11-06 until now" in page  # nothing after the revision
    assert f"at commit <span class=\"mono\">{commit[:10]}</span>" in page


def test_rebuilding_removes_pages_of_what_is_gone(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out)
    report = site(cli, catalog, out, "--at", "2026-11-13")
    assert report["removed"] == ["models/churn.html", "models/churn/v1.html", "models/churn/v2.html",
                                 "models/fraud-detector/v5.html", "models/legacy-scorer.html",
                                 "models/legacy-scorer/v1.html"]
    assert not (out / "models/churn").exists()


def test_it_refuses_a_directory_it_did_not_write(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "index.html").write_text("<h1>Our docs</h1>")
    result = cli.fails("-C", str(catalog), "site", "-o", str(out))
    assert "is not empty and holds no catalog that modelreg wrote" in result.err
    assert (out / "index.html").read_text() == "<h1>Our docs</h1>" and html_files(out) == ["index.html"]


def test_a_rebuild_deletes_only_pages_it_wrote(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out)
    (out / "CNAME").write_text("models.example.com\n")
    (out / "models/notes.html").write_text("<p>ours, not modelreg's</p>")
    (out / "models/churn/extra.html").write_text("<p>a user's page beside churn's</p>")
    report = site(cli, catalog, out, "--at", "2026-11-13")
    assert "models/churn.html" in report["removed"] and "models/churn/v1.html" in report["removed"]
    assert not {"CNAME", "models/notes.html", "models/churn/extra.html"} & set(report["removed"])
    assert (out / "CNAME").read_text() == "models.example.com\n"
    assert (out / "models/notes.html").exists() and (out / "models/churn/extra.html").exists()


def test_a_catalog_built_before_the_manifest_is_still_pruned(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out)
    (out / MANIFEST).unlink()
    (out / "models/notes.html").write_text("<p>a user's page</p>")
    report = site(cli, catalog, out, "--at", "2026-11-13")
    assert "models/churn.html" in report["removed"] and (out / "models/notes.html").exists()


def test_a_link_planted_in_the_catalog_is_never_written_through(catalog: Path, cli: Cli,
                                                                tmp_path: Path) -> None:
    out, elsewhere, victim = tmp_path / "site", tmp_path / "elsewhere", tmp_path / "victim.txt"
    site(cli, catalog, out)
    elsewhere.mkdir()
    victim.write_text("keep me")
    (out / "models/churn.html").unlink()
    (out / "models/churn.html").symlink_to(victim)  # a page replaced by a link: replaced again
    site(cli, catalog, out)
    assert victim.read_text() == "keep me" and not (out / "models/churn.html").is_symlink()
    shutil.rmtree(out / "models/churn")
    (out / "models/churn").symlink_to(elsewhere)  # a directory of pages replaced by a link: refused
    result = cli.fails("-C", str(catalog), "site", "-o", str(out))
    assert f"{out / 'models/churn'} is a symbolic link" in result.err and "remove the link" in result.err
    assert list(elsewhere.iterdir()) == []


def test_the_output_directory_may_itself_be_a_link(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    site(cli, catalog, tmp_path / "link")
    assert html_files(real) == html_files_of_catalog()


def test_pages_stay_small_on_a_long_history(own_catalog: Path, cli: Cli, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """65 versions and 120 more alias moves: the model page is the largest, far below 300 KB; past
    its caps a page lists the newest versions, periods and changes, and says what it left out;
    a long text is cut."""
    root = own_catalog
    template = {p.name: p.read_bytes() for p in (root / "registry/fraud-detector/v5").iterdir()}
    for n in range(6, 66):
        folder = root / f"registry/fraud-detector/v{n}"
        folder.mkdir()
        for name, data in template.items():
            if name == "version.yaml":
                data = data.replace(b"version: 5", f"version: {n}".encode())
            (folder / name).write_bytes(data)
    model = root / "registry/fraud-detector/model.yaml"
    long = f"description: {'x' * 50_000} Real-time"
    model.write_text(model.read_text().replace("description: Real-time", long))
    commit_all(root, "Sixty more versions")
    for n in range(6, 66):
        set_aliases(root, "fraud-detector", {"production": n, "staging": n})
        commit_all(root, f"Promote v{n} (#{100 + n})")
    report = site(cli, root, tmp_path / "site")
    assert report["largest"] == "models/fraud-detector.html"
    assert int(str(report["largest_bytes"])) < MAX_PAGE / 2
    # a 50 KB description: 10,000 characters on the model's page, 300 in the index's row
    assert f"<p class=lead>{'x' * 10_000}…</p>" in (tmp_path / "site/models/fraud-detector.html").read_text()
    assert f"<td class=text>{'x' * 300}…</td>" in (tmp_path / "site/index.html").read_text()

    monkeypatch.setattr(pages, "MAX_VERSIONS", 50)
    monkeypatch.setattr(pages, "MAX_SPANS", 20)
    monkeypatch.setattr(pages, "MAX_EVENTS", 40)
    site(cli, root, tmp_path / "capped")
    page = (tmp_path / "capped/models/fraud-detector.html").read_text()
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert svg.count("<circle") == 50 and ">v16</text>" in svg and ">v15<" not in svg  # v16..v65
    assert svg.count('<rect class="seg') == 20
    assert "roc_auc across versions (the newest 50 of 65)" in page
    assert "15 older versions are not listed here" in page
    history = page[page.index("<h2>History</h2>"):]
    assert history.count("<tr>") == 1 + 40 and "older changes are not listed here" in history
    assert (tmp_path / "capped/models/fraud-detector/v1.html").is_file()  # every version keeps its page


# -- the pure parts ----------------------------------------------------------------------------

def test_spans_and_headline_metric(catalog: Path) -> None:
    from modelreg.api import Registry

    reg = Registry(catalog)
    events = reg.history("fraud-detector", offline=True)
    spans = [(s.version, s.start.date().isoformat(), s.end and s.end.date().isoformat())
             for s in alias_spans(events)]
    assert spans == [(1, "2026-11-02", "2026-11-06"), (2, "2026-11-06", "2026-11-18"), (4, "2026-11-18",
                     "2026-11-24"), (5, "2026-11-24", "2026-11-26"), (4, "2026-11-26", None)]
    assert [(s.version, s.end) for s in alias_spans(events, "champion")][-1] == (4, None)
    # a tie goes to the newest manifest's order
    assert headline_metrics(reg.versions("churn")) == ["roc_auc", "accuracy"]
    assert headline_metrics(reg.versions("fraud-detector"), 1) == ["roc_auc"]


def test_the_ledger_merge_is_history_with_ledger(catalog: Path) -> None:
    """The catalog reads the ledger once for every model; what it makes of it is what
    ``history.with_ledger`` makes of it, model by model, for the work tree and for --at."""
    from modelreg.api import Registry
    from modelreg.read import history as hist
    from modelreg.read.history import merge_ledger
    from modelreg.site import _ledger

    counts = []
    for at in (None, git(catalog, "rev-list", "-1", "--before=2026-11-20", "HEAD").strip()):
        reg = Registry(catalog, at=at)
        records = _ledger(reg)
        for model in ("fraud-detector", "churn", "legacy-scorer"):
            events = hist.history(str(catalog), model, at)
            expected = hist.with_ledger(str(catalog), model, events, at)
            assert merge_ledger(events, records.get(model, [])) == expected, (model, at)
        counts.append(sum(len(r) for r in records.values()))
    assert counts[0] > counts[1] > 0  # --at leaves out what was recorded for later commits


def test_one_walk_of_the_log_gives_each_models_own_history(catalog: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog reads every model's history from one ``git log`` of registry/ (not one per
    model): each model's events are those of its own path-limited log, at HEAD and at --at; and
    the walk split between several git processes, each a stretch of history, reads the same."""
    from modelreg.edges import git as git_edge
    from modelreg.read import history as hist

    models = sorted(p.name for p in (catalog / "registry").iterdir() if (p / "model.yaml").is_file())
    assert len(models) >= 3
    for at in (None, git(catalog, "rev-list", "-1", "--before=2026-11-20", "HEAD").strip()):
        logs = hist.logs_by_model(str(catalog), models, at)
        with monkeypatch.context() as patch:
            patch.setattr(git_edge, "_STRETCH_MIN", 1)  # stretches of a commit or more, not 2,000
            assert hist.logs_by_model(str(catalog), models, at, jobs=4) == logs
        with git_edge.BlobReader(str(catalog)) as blobs:
            for model in models:
                expected = hist.history(str(catalog), model, at)
                assert hist.events_from_log(str(catalog), model, logs[model], blobs) == expected, (model, at)
                assert expected or at  # every model has a history at HEAD


def same_catalog(one: Path, two: Path) -> None:
    assert html_files(one) == html_files(two)
    for rel in html_files(one):
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel


def stamps(out: Path) -> dict[str, int]:
    return {rel: (out / rel).stat().st_mtime_ns for rel in html_files(out)}


@pytest.mark.parametrize("at", [("--at", "HEAD"), ()], ids=["revision", "work-tree"])
def test_a_rebuild_renders_only_the_models_that_changed(own_catalog: Path, cli: Cli, tmp_path: Path,
                                                         at: tuple[str, ...]) -> None:
    """The catalog keeps what each model was rendered from (its tree, its last commit, its ledger
    records): a rebuild writes the pages of the models that changed, and the result is byte for
    byte what a full build writes."""
    out = tmp_path / "site"
    first = site(cli, own_catalog, out, *at)
    assert first["rendered"] == 3
    before = stamps(out)
    again = site(cli, own_catalog, out, *at)
    assert again["rendered"] == 0 and again["pages"] == first["pages"] and again["bytes"] == first["bytes"]
    assert {rel: t for rel, t in stamps(out).items() if rel != "index.html"} == \
        {rel: t for rel, t in before.items() if rel != "index.html"}
    set_aliases(own_catalog, "churn", {"production": 2})
    commit_all(own_catalog, "Promote churn v2 (#14)", date="2026-11-28T10:00:00Z")
    third = site(cli, own_catalog, out, *at)
    assert third["rendered"] == 1
    after = stamps(out)
    assert all(after[rel] == t for rel, t in before.items() if rel.startswith("models/fraud-detector"))
    assert after["models/churn.html"] != before["models/churn.html"]
    site(cli, own_catalog, tmp_path / "full", *at)
    same_catalog(out, tmp_path / "full")


def test_what_makes_a_model_render_again(own_catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, own_catalog, out)
    # a change in the work tree, not committed
    path = own_catalog / "registry/churn/model.yaml"
    path.write_text(path.read_text().replace("description: ''", "description: 'Churn, edited'"))
    assert site(cli, own_catalog, out)["rendered"] == 1
    assert "Churn, edited" in (out / "models/churn.html").read_text()
    git(own_catalog, "checkout", "--", "registry/churn/model.yaml")
    assert site(cli, own_catalog, out)["rendered"] == 1  # and back
    # a ledger record about a model (here one git does not bear out: listed apart on its page)
    head = git(own_catalog, "rev-parse", "HEAD").strip()
    record = json.dumps({"time": "2026-11-27T10:00:00.000000Z", "kind": "deployment",
                         "model": "legacy-scorer", "alias": "production", "before": None, "after": 1,
                         "commit": head, "pr": 13, "actor": "bot", "environment": "production",
                         "outcome": "succeeded"})
    git(own_catalog, "notes", f"--ref={ledger.REF}", "append", "-m", record, head)
    assert site(cli, own_catalog, out)["rendered"] == 1
    # a page the user removed, or replaced by a link
    (out / "models/churn/v1.html").unlink()
    assert site(cli, own_catalog, out)["rendered"] == 1 and (out / "models/churn/v1.html").is_file()
    # other settings, another revision off the first-parent line, a state that does not read
    assert site(cli, own_catalog, out, "--title", "Models")["rendered"] == 3
    assert site(cli, own_catalog, out, "--title", "Models", "--full")["rendered"] == 3
    (out / STATE).write_text("{not json")
    assert site(cli, own_catalog, out, "--title", "Models")["rendered"] == 3
    site(cli, own_catalog, tmp_path / "full", "--title", "Models")
    same_catalog(out, tmp_path / "full")


def test_several_processes_write_the_same_pages(catalog: Path, tmp_path: Path) -> None:
    from modelreg.api import Registry
    from modelreg.site import build

    one = build(Registry(catalog), tmp_path / "one", jobs=1)
    two = build(Registry(catalog), tmp_path / "two", jobs=2)
    assert (one.jobs, two.jobs) == (1, 2)
    assert html_files(tmp_path / "one") == html_files(tmp_path / "two")
    for rel in html_files(tmp_path / "one"):
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
    assert (one.pages, one.bytes, one.largest) == (two.pages, two.bytes, two.largest)


# -- in a browser ------------------------------------------------------------------------------

def load(page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Open ``page`` in headless Chromium (a profile of its own, so loads can run side by side)."""
    assert CHROMIUM is not None
    profile = Path(os.path.realpath(tmp)) / "chromium" / re.sub(r"[^A-Za-z0-9]+", "-", str(page))
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}",
         *(extra or ("--dump-dom",)), page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)


def console_messages(run: subprocess.CompletedProcess[str]) -> list[str]:
    """What the page said on the console (Chromium logs each message as a CONSOLE line), and
    uncaught errors or failed loads; the browser's own noise (D-Bus, GPU) is not the page's."""
    assert run.returncode == 0, run.stderr
    return [line for line in run.stderr.splitlines()
            if ":CONSOLE" in line or "Uncaught" in line or "net::ERR_" in line]


@needs_chromium
def test_chromium_loads_every_page_without_console_errors(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out, "--repo", REPO)
    rels = html_files(out)
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = dict(zip(rels, pool.map(lambda rel: load(out / rel, tmp_path), rels), strict=True))
    for rel, run in runs.items():
        assert console_messages(run) == [], rel
        assert "</main>" in run.stdout, rel  # the DOM of the whole page
    for model in ("fraud-detector", "churn", "legacy-scorer"):
        dom = runs[f"models/{model}.html"].stdout
        assert '<svg id="chart"' in dom and "<circle" in dom, model


@needs_chromium
def test_the_console_check_catches_a_blocked_style(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    """The guard above is real: a style attribute breaks the page's policy, and Chromium says so."""
    out = tmp_path / "site"
    site(cli, catalog, out)
    page = out / "models/churn.html"
    page.write_text(page.read_text().replace("<h1>", '<h1 style="color:red">', 1))
    messages = console_messages(load(page, tmp_path))
    assert len(messages) == 1 and "violates the following Content Security Policy" in messages[0]


@needs_chromium
def test_screenshot_of_a_model_page(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    site(cli, catalog, out, "--repo", REPO, "--title", "acme model registry")
    shot = tmp_path / "site-model.png"
    run = load(out / "models/fraud-detector.html", tmp_path, f"--screenshot={shot}", "--window-size=1280,900",
               "--hide-scrollbars")
    assert console_messages(run) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 900)
    if os.environ.get("MODELREG_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


#: the viewport widths every page is checked at: a laptop's and a phone's
WIDTHS = (1280, 375)
#: the screenshots' page: a model page (chart, versions, history)
SHOT_PAGE = "models/fraud-detector.html"


def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(AXE_HINT)
    return AXE.read_text()


def serious(violations: list[dict[str, Any]]) -> list[str]:
    """axe's serious and critical violations, one line each: rule, impact, where, why."""
    return [f"{v['id']} ({v['impact']}) at {node['target']}: {node['failureSummary'][:200]}"
            for v in violations if v["impact"] in ("serious", "critical") for node in v["nodes"]]


@needs_chromium
def test_axe_finds_no_serious_violation_at_either_width(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    """axe-core injected into every page (each type: the index, model pages with a chart, version
    pages with a card, lineage, params and slices, rejected, archived) at 1280 and 375 px: nothing
    serious or critical.
    Screenshots of both widths, whole pages, are left in the test's tmp dir; scripts/screenshot-site
    copies what a phone shows of a model page to docs/images/site-model-375.png."""
    source = axe_source()
    out = tmp_path / "site"
    site(cli, catalog, out, "--repo", REPO)  # the default title: "Model registry / fraud-detector" is a
    found: dict[str, list[str]] = {}         # text with a link in it, as axe's link-in-text-block sees it
    with Browser(CHROMIUM or "", tmp_path / "profile") as browser:
        for rel in html_files(out):
            for width in WIDTHS:
                browser.open(out / rel, width)
                found[f"{rel} at {width}px"] = serious(browser.axe(source))
                browser.screenshot(tmp_path / f"{rel.replace('/', '-')[:-5]}-{width}.png")
    assert {page: v for page, v in found.items() if v} == {}
    for width in WIDTHS:
        shot = (tmp_path / f"models-fraud-detector-{width}.png").read_bytes()
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(shot[16:20], "big") == width * (2 if width < 600 else 1)  # a phone's scale 2
    if os.environ.get("MODELREG_UPDATE_SCREENSHOT"):
        with Browser(CHROMIUM or "", tmp_path / "profile") as browser:
            browser.open(out / SHOT_PAGE, 375, 812)
            browser.screenshot(SCREENSHOT.with_name("site-model-375.png"), whole=False)


def _contrast(fg: str, bg: str) -> float:
    """WCAG 2's contrast ratio of two colours, #rgb or #rrggbb."""
    def luminance(colour: str) -> float:
        digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
        rgb = [int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_charts_text_colours_meet_contrast_where_axe_cannot_tell() -> None:
    """axe cannot compute contrast for SVG text ("needs review"): the stylesheet's colours are
    checked here, each text colour against what it is drawn on, at WCAG AA's 4.5:1."""
    css = pages.CSS
    palette = dict(re.findall(r"--(\w+):(#[0-9a-f]{6}|#[0-9a-f]{3})\b", css))

    def fill(selector: str) -> str:
        value = re.search(re.escape(selector) + r"\{[^}]*fill:([^;}]+)", css)
        assert value, selector
        colour = value.group(1)
        return palette[colour[6:-1]] if colour.startswith("var(") else colour

    pairs = {"svg .tick": fill("svg .tick"), "svg .axis": fill("svg .axis")}
    for name, colour in pairs.items():  # ticks and axis titles lie outside the plot, on the page
        assert _contrast(colour, palette["bg"]) >= 4.5, name
    assert _contrast(fill("svg .seglabel"), fill("svg .seg")) >= 4.5  # a past holder's segment
    assert _contrast(fill("svg .seglabel.now"), palette["prod"]) >= 4.5  # the holder of now
    assert "svg .seg.now{fill:var(--prod)}" in css


@needs_chromium
def test_axe_check_catches_a_nested_link(catalog: Path, cli: Cli, tmp_path: Path) -> None:
    """The check above is real: the chart as it was (an image holding links) fails it."""
    source = axe_source()
    out = tmp_path / "site"
    site(cli, catalog, out)
    page = out / "models/churn.html"
    page.write_text(page.read_text().replace('role="group"', 'role="img"', 1))
    with Browser(CHROMIUM or "", tmp_path / "profile") as browser:
        browser.open(page, 1280)
        assert any(line.startswith("nested-interactive (serious)") for line in serious(browser.axe(source)))


@needs_chromium
def test_a_phone_scrolls_tables_and_keeps_chart_labels_legible(catalog: Path, cli: Cli,
                                                               tmp_path: Path) -> None:
    """At 375 px nothing is cut without a cue: every table wider than the screen sits in a region
    that scrolls sideways, can take keyboard focus and is named, under a visible line that says it
    scrolls; every badge is inside the page or
    such a region; the chart's text is drawn at 10 px or more (it was 4 px, the chart shrunk to fit)."""
    out = tmp_path / "site"
    site(cli, catalog, out, "--repo", REPO)
    with Browser(CHROMIUM or "", tmp_path / "profile") as browser:
        for rel in html_files(out):
            browser.open(out / rel, 375)
            report = browser.evaluate("""(() => {
              const W = document.documentElement.clientWidth;
              const box = el => el.closest('.tablebox, .chartbox');
              const cut = [...document.querySelectorAll('table, svg.chart')].filter(el => {
                const b = box(el);
                if (el.getBoundingClientRect().right <= W + 1) return false;
                const hint = b && b.previousElementSibling;  // the cue: "... scroll sideways"
                return !b || getComputedStyle(b).overflowX !== 'auto' || b.tabIndex !== 0
                  || !b.getAttribute('aria-label') || b.getBoundingClientRect().right > W + 1
                  || !hint || !hint.matches('.scrollhint') || !hint.checkVisibility();
              }).map(el => el.tagName);
              const lost = [...document.querySelectorAll('.badge')].filter(el =>
                el.getBoundingClientRect().right > W + 1 && !box(el)).map(el => el.textContent);
              const small = [...document.querySelectorAll('svg.chart text')].map(  // drawn size, px
                t => parseFloat(getComputedStyle(t).fontSize)
                  * Math.hypot(t.getScreenCTM().a, t.getScreenCTM().b)).filter(px => px < 10);
              return {cut, lost, small: small.length, wide: document.documentElement.scrollWidth > W + 1};
            })()""")
            assert report == {"cut": [], "lost": [], "small": 0, "wide": False}, rel


# -- publishing --------------------------------------------------------------------------------

def test_the_pages_workflow_is_hardened() -> None:
    from modelreg.formats.models import RegistryConfig

    text = site_workflow.text(RegistryConfig())
    doc = yaml.safe_load(text)
    assert doc[True] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}  # YAML 1.1: on
    assert doc["permissions"] == {}
    build, deploy = doc["jobs"]["build"], doc["jobs"]["deploy"]
    assert build["permissions"] == {"contents": "read"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    steps = build["steps"] + deploy["steps"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step
        if "uses" in step:
            ref = step["uses"].split("@")[1]
            assert re.fullmatch(r"[0-9a-f]{40}", ref), step["uses"]
    runs = [s["run"] for s in build["steps"] if "run" in s]
    assert "modelreg site -o _site" in runs
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"] == {"path": "_site"}
    assert "pull_request" not in text


@pytest.mark.skipif(ZIZMOR is None, reason="needs zizmor (scripts/bootstrap installs it)")
def test_the_pages_workflow_is_clean_under_zizmor(tmp_path: Path) -> None:
    from modelreg.formats.models import RegistryConfig

    assert ZIZMOR is not None
    path = tmp_path / ".github/workflows/modelreg-site.yml"
    path.parent.mkdir(parents=True)
    path.write_text(site_workflow.text(RegistryConfig()))
    run = subprocess.run([ZIZMOR, "--offline", "--min-severity", "low", str(path)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr



@needs_act
def test_the_pages_workflow_builds_the_catalog_under_act(own_catalog: Path, tmp_path: Path,
                                                         installs: Installs) -> None:
    """The build job as ``init`` would write it: install, fetch the ledger from origin (the
    checkout does not bring notes), build, upload. The upload action is a local stand-in that
    packs what it is given (act clones every action it runs, and there is no network)."""
    from modelreg.formats.models import RegistryConfig

    repo = own_catalog
    (repo / site_workflow.PATH).write_text(site_workflow.text(RegistryConfig()))
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main", f"{ledger.REF}:{ledger.REF}")
    git(repo, "update-ref", "-d", ledger.REF)  # only origin has the ledger now
    upload = tmp_path / "upload-pages-artifact"
    upload.mkdir()
    (upload / "action.yml").write_text(
        "name: upload-pages-artifact (test stand-in)\n"
        "inputs:\n  path:\n    required: true\n"
        "runs:\n  using: composite\n  steps:\n"
        "    - shell: bash\n      env:\n        SITE: ${{ inputs.path }}\n"
        '      run: tar -C "$SITE" -cf "$PAGES_ARTIFACT" .\n')
    packed = tmp_path / "artifact.tar"
    sha = site_workflow.UPLOAD_PAGES.split("@")[1].split()[0]
    payload = {"ref": "refs/heads/main", "repository": {"full_name": REPO}}
    run = act(repo, "push", payload, tmp_path, installs, "-j", "build",
              "--local-repository", f"actions/upload-pages-artifact@{sha}={upload}",
              "--env", f"PAGES_ARTIFACT={packed}", workflow=site_workflow.PATH)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Wrote 12 pages (3 models, 8 versions" in run.stdout
    unpacked = tmp_path / "published"
    unpacked.mkdir()
    subprocess.run(["tar", "-C", str(unpacked), "-xf", str(packed)], check=True)
    assert html_files(unpacked) == html_files_of_catalog()
    page = (unpacked / "models/fraud-detector.html").read_text()
    assert '<svg id="chart"' in page
    assert page.count("deployed to production") == 5  # the ledger came from origin
    assert f'<a href="https://github.com/{REPO}/pull/9">#9</a>' in page  # GITHUB_REPOSITORY: links
