"""The approvers shown for a merged change are the ones that counted under its policy; the others are
listed apart with why: in history (text, JSON), the audit (text, JSON, CSV), the site, and the records
the deploy job writes to the ledger. GitHub's REST API is the local stub."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from modelreg.edges import ledger
from tests.github_stub import GitHubStub
from tests.helpers import Cli, commit_all, register, set_aliases

TOKEN = "t0ken-for-counting"
REPO = "acme/registry"
HEAD = "c3" * 20
OLD = "d4" * 20
POLICY = """\
schema_version: 1
promotion:
  production:
    approvals: {count: 1}
  champion:
    approvals: {count: 1, from: ["@acme/model-risk", "@renovate[bot]"]}
"""
#: (login, reason) of each approval of PR 7 that does not count under the production rule
NOT_COUNTED = {("alice", "author"), ("reader", "no write access"), ("dependabot[bot]", "bot"),
               ("stale", "approved an older commit"), ("ghost", "account deleted"),
               ("gone", "account deleted")}


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStub]:
    """PR 7 by alice, head HEAD: approved by bob (write access), and by seven whose approvals do not
    count under an empty ``from``."""
    with GitHubStub(token=TOKEN) as gh:
        gh.add_pull(REPO, 7, author="alice", head_sha=HEAD, merged_at="2026-11-20T12:00:00Z")
        gh.add_team("acme", "model-risk", ["risk"])
        gh.set_user("reader", "triage")
        gh.set_user("risk", "read")
        gh.delete_user("gone")
        for login, commit in [("alice", HEAD), ("bob", HEAD), ("reader", HEAD), ("dependabot[bot]", HEAD),
                              ("stale", OLD), (None, HEAD), ("gone", HEAD)]:
            gh.add_review(REPO, 7, login, "APPROVED", commit_id=commit)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
        yield gh


@pytest.fixture
def merged(registry: Path, workdir: Path, tmp_path: Path, cli: Cli) -> Path:
    """fraud v1 registered (no PR); PR 7 merged: production → v1; served from a directory."""
    path = registry / "modelreg.yaml"
    config = yaml.safe_load(path.read_text())
    config["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv"), "keep": 2}]}}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    (registry / "policies/default.yaml").write_text(POLICY)
    register(cli, registry, workdir, "fraud", seed=1)
    commit_all(registry, "Register fraud v1")
    set_aliases(registry, "fraud", {"production": 1})
    commit_all(registry, "Promote fraud v1 (#7)")
    return registry


def pairs(items: list[dict[str, object]] | None) -> set[tuple[object, object]]:
    return {(n["login"], n["reason"]) for n in items or []}


def test_history_shows_the_approvals_that_counted_and_the_others_apart(merged: Path, cli: Cli,
                                                                      stub: GitHubStub) -> None:
    events = cli.ok("-C", str(merged), "history", "fraud", "--json").json
    move = next(e for e in events if e["kind"] == "alias")
    assert [a["login"] for a in move["approvers"]] == ["bob"]
    assert pairs(move["not_counted"]) == NOT_COUNTED
    registered = next(e for e in events if e["kind"] == "registered")
    assert registered["approvers"] is None and registered["not_counted"] is None  # no PR
    # each person's permission asked once; none for the author, the bot or the deleted reviews
    asked = sorted(p.rsplit("/", 2)[1] for p in stub.paths() if "/collaborators/" in p)
    assert asked == ["bob", "gone", "reader"]

    text = cli.ok("-C", str(merged), "history", "fraud").out
    line = next(line for line in text.splitlines() if "production: (none) -> v1" in line)
    assert "#7  bob 2026-11-20 10:01; not counted: " in line
    assert "alice (author)" in line and "reader (no write access)" in line
    assert "stale (approved an older commit)" in line


def test_a_move_no_rule_gates_is_read_by_githubs_own_rule(merged: Path, cli: Cli, stub: GitHubStub) -> None:
    set_aliases(merged, "fraud", {"production": 1, "staging": 1})  # staging: no approvals rule
    commit_all(merged, "Stage fraud v1 (#8)")
    stub.add_pull(REPO, 8, author="alice", head_sha=HEAD)
    stub.add_review(REPO, 8, "alice", "APPROVED", commit_id=HEAD)
    stub.add_review(REPO, 8, "stale", "APPROVED", commit_id=OLD)  # GitHub counts it unless told not to
    stub.add_review(REPO, 8, "reader", "APPROVED", commit_id=HEAD)
    events = cli.ok("-C", str(merged), "history", "fraud", "--json").json
    staged = next(e for e in events if e["alias"] == "staging")
    assert [a["login"] for a in staged["approvers"]] == ["stale"]
    assert pairs(staged["not_counted"]) == {("alice", "author"), ("reader", "no write access")}


def test_a_named_team_and_a_named_bot_count_for_the_rule_that_names_them(merged: Path, cli: Cli,
                                                                         stub: GitHubStub) -> None:
    set_aliases(merged, "fraud", {"production": 1, "champion": 1})
    commit_all(merged, "Champion fraud v1 (#9)")
    stub.add_pull(REPO, 9, author="alice", head_sha=HEAD)
    for login in ("risk", "renovate[bot]", "bob"):
        stub.add_review(REPO, 9, login, "APPROVED", commit_id=HEAD)
    events = cli.ok("-C", str(merged), "history", "fraud", "--json").json
    champion = next(e for e in events if e["alias"] == "champion")
    assert sorted(a["login"] for a in champion["approvers"]) == ["renovate[bot]", "risk"]
    assert pairs(champion["not_counted"]) == {("bob", "not in required team")}


def test_the_deploy_job_records_the_approvals_that_counted(merged: Path, cli: Cli, stub: GitHubStub,
                                                           tmp_path: Path) -> None:
    cli.ok("-C", str(merged), "deploy")
    records = ledger.read(merged)
    move, deployment = (next(r for r in records if r.kind == kind) for kind in ("move", "deployment"))
    for record in (move, deployment):
        assert record.pr == 7
        assert [a["login"] for a in record.approvers or []] == ["bob"], record
        assert pairs(record.not_counted) == NOT_COUNTED

    # read back without GitHub: history, the audit and the site show what the deploy job counted
    stub.fail("*", 500)
    events = cli.ok("-C", str(merged), "history", "fraud", "--offline", "--json").json
    shown = next(e for e in events if e["kind"] == "alias")
    assert [a["login"] for a in shown["approvers"]] == ["bob"] and pairs(shown["not_counted"]) == NOT_COUNTED
    entries = cli.ok("-C", str(merged), "audit", "--json").json
    for entry in (e for e in entries if e["event"] in ("alias", "deployment")):
        assert entry["approvers"] == ["bob"]
        assert "alice (author)" in entry["not_counted"] and len(entry["not_counted"]) == len(NOT_COUNTED)
    rows = list(csv.DictReader(io.StringIO(cli.ok("-C", str(merged), "audit", "--csv").out)))
    row = next(r for r in rows if r["event"] == "alias")
    assert row["approvers"] == "bob" and "alice (author)" in row["not_counted"].split(";")
    assert "bob (not counted: " in cli.ok("-C", str(merged), "audit").out
    out = tmp_path / "site"
    cli.ok("-C", str(merged), "site", "-o", str(out))
    page = (out / "models/fraud.html").read_text()
    cell = page[page.index('<span class="badge production">production</span> (none) → v1'):]
    cell = cell[:cell.index("</tr>")]
    assert "bob" in cell and "not counted: " in cell and "alice (author)" in cell


def test_a_ledger_record_from_before_counting_still_reads(merged: Path, cli: Cli) -> None:
    commit = commit_all(merged, "Nothing (#10)")
    old = ledger.LedgerRecord(ledger.now(), "move", "fraud", "production", None, 1, commit, pr=10,
                              approvers=[{"login": "bob", "at": None, "commit_id": None}])
    assert "not_counted" not in old.to_dict()  # written as before: readers of old records see no change
    [parsed] = [ledger.LedgerRecord.parse(old.line())]
    assert parsed is not None and parsed.not_counted is None
    bad = old.line().replace('"pr":10', '"pr":10,"not_counted":[{"login":"x"}]')
    assert ledger.LedgerRecord.parse(bad) is None  # a not-counted approval without its reason


def test_a_merge_that_weakened_its_own_rule_is_counted_under_both(merged: Path, cli: Cli, workdir: Path,
                                                                   stub: GitHubStub) -> None:
    register(cli, merged, workdir, "fraud", seed=2)
    commit_all(merged, "Register fraud v2")
    weaker = POLICY.replace("{count: 1}", "{count: 1, allow_author: true}")
    (merged / "policies/default.yaml").write_text(weaker)
    set_aliases(merged, "fraud", {"production": 2})
    commit_all(merged, "Promote fraud v2, and let authors approve (#11)")
    stub.add_pull(REPO, 11, author="alice", head_sha=HEAD)
    stub.add_review(REPO, 11, "alice", "APPROVED", commit_id=HEAD)
    events = cli.ok("-C", str(merged), "history", "fraud", "--json").json
    move = next(e for e in events if e["pr"] == 11)
    assert move["approvers"] == []  # main's rule, in force before the merge, never counted the author
    assert pairs(move["not_counted"]) == {("alice", "author")}


def test_a_deploy_job_that_cannot_ask_github_records_approvers_unknown(merged: Path, cli: Cli,
                                                                       stub: GitHubStub) -> None:
    stub.fail(f"/repos/{REPO}/collaborators/bob/permission", 403, body={"message": "Forbidden"})
    cli.ok("-C", str(merged), "deploy")  # a deployment never fails for GitHub
    for record in ledger.read(merged):
        assert (record.pr, record.approvers, record.not_counted) == (7, None, None), record


def test_a_malformed_repo_is_an_error_not_a_note(merged: Path, cli: Cli, stub: GitHubStub) -> None:
    result = cli.fails("-C", str(merged), "history", "fraud", "--repo", "not/a/repo")
    assert "'not/a/repo' is not a GitHub repository name" in result.err
    assert stub.requests == []
