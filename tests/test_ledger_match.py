"""The ledger proves only what git bears out (read/ledger_match.py), and every fact says where it
comes from.

Anyone who may push can write git notes, so each test writes the records a forger (or a stale
job) would, the way the deploy job writes them (``ledger.append``) or by hand with ``git notes``,
and reads them back through ``history``, ``audit``, ``site`` and ``status``: a record joins only
when its whole move is git's; records off main, or with names the name rules refuse, are left
out and counted in a warning (stderr, and in --json).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelreg.api import Registry
from modelreg.edges import ledger
from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, git, register, set_aliases

TIME = "2026-12-01T10:00:00.000000Z"


def _moves_repo(cli: Cli, root: Path, work: Path) -> None:
    """fraud v1..v3; production (none) -> v1 in PR 7, v1 -> v2 in PR 8; then PR 9 changes only the
    description. Environments: production and eu serve ``production`` (eu: churn only), staging
    serves ``staging``; command targets (nothing is deployed: the tests write the records)."""
    config = root / "modelreg.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["environments"] = {
        "production": {"alias": "production", "targets": [{"type": "command", "run": ["true"]}]},
        "staging": {"alias": "staging", "targets": [{"type": "command", "run": ["true"]}]},
        "eu": {"alias": "production", "models": ["churn"], "targets": [{"type": "command", "run": ["true"]}]}}
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    for seed in (1, 2, 3):
        register(cli, root, work, "fraud", seed=seed)
    commit_all(root, "Register fraud v1-v3 (#6)")
    set_aliases(root, "fraud", {"production": 1})
    commit_all(root, "Promote fraud v1 (#7)")
    set_aliases(root, "fraud", {"production": 2})
    commit_all(root, "Promote fraud v2 (#8)")
    set_aliases(root, "fraud", {"production": 2}, description="Scores card payments")
    commit_all(root, "Describe fraud (#9)")


@pytest.fixture
def repo(scenarios: Scenarios, cli: Cli, tmp_path: Path) -> Path:
    return copy_scenario(scenarios.on_registry("ledger-moves", cli, _moves_repo), tmp_path)


def commit_of(root: Path, subject: str) -> str:
    return git(root, "log", "--format=%H", "-1", f"--grep={subject}", "--fixed-strings").strip()


def record(root: Path, subject: str, kind: str = "deployment", **changes: Any) -> ledger.LedgerRecord:
    """The record the deploy job writes for PR 8's move (production v1 -> v2), changed as given."""
    fields: dict[str, Any] = {
        "time": TIME, "kind": kind, "model": "fraud", "alias": "production", "before": 1, "after": 2,
        "commit": commit_of(root, subject), "pr": 8, "approvers": [{"login": "risk-officer"}],
        "environment": "production" if kind == "deployment" else None,
        "outcome": "succeeded" if kind == "deployment" else "recorded", "message": "v2 is live"}
    fields.update(changes)
    return ledger.LedgerRecord(**fields)


def write(root: Path, *records: ledger.LedgerRecord) -> None:
    for rec in records:
        ledger.append(root, rec.commit, [rec])


def history(cli: Cli, root: Path, *args: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = cli.ok("-C", str(root), "history", "fraud", "--offline", "--json", *args).json
    return out


def deployments(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i["kind"] == "deployment"]


def unmatched(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i["kind"] == "unmatched"]


def test_a_record_whose_whole_move_is_gits_joins_with_its_source(repo: Path, cli: Cli) -> None:
    write(repo, record(repo, "(#8)", "move"), record(repo, "(#8)"))
    items = history(cli, repo)
    [deployment] = deployments(items)
    assert (deployment["previous"], deployment["version"], deployment["environment"]) == (1, 2, "production")
    assert deployment["source"] == "ledger" and deployment["sources"]["approvers"] == "ledger"
    move = next(i for i in items if i["kind"] == "alias" and i["version"] == 2)
    assert [a["login"] for a in move["approvers"]] == ["risk-officer"]
    assert move["source"] == "git" and move["sources"]["commit"] == "git"
    assert move["sources"]["approvers"] == "ledger" and move["sources"]["pr"] == "git"
    registered = next(i for i in items if i["kind"] == "registered")
    assert registered["sources"] == dict.fromkeys(registered["sources"], "git") and "approvers" not in \
        registered["sources"]
    assert unmatched(items) == [] and not [i for i in items if i["kind"] == "warning"]
    text = cli.ok("-C", str(repo), "history", "fraud", "--offline").out
    assert "production: v1 -> v2 [git+ledger]" in text
    assert "deployed v2 to production: succeeded [ledger]" in text
    assert "registered v1 [git]" in text and "[source]: git: the git history" in text


# Each: a change to PR 8's record that git does not bear out, and the reason shown for it.
MISMATCHES: list[tuple[str, dict[str, Any], str]] = [
    ("another to-version", {"after": 3}, "it says production v1 -> v3; at {c} git moved it v1 -> v2"),
    ("another from-version", {"before": None},
     "it says production (none) -> v2; at {c} git moved it v1 -> v2"),
    ("another alias", {"alias": "staging", "environment": "staging"},
     "git did not move fraud's staging at {c}, where it points at (none), not v2"),
    ("another pull request", {"pr": 99}, "it names pull request #99; the commit {c} names #8"),
    ("an environment of another alias", {"environment": "staging"},
     "environment 'staging' serves 'staging' at {c}, not 'production'"),
    ("an environment that does not serve the model", {"environment": "eu"},
     "environment 'eu' does not serve fraud at {c}"),
    ("an environment that does not exist", {"environment": "mars"},
     "modelreg.yaml at {c} has no environment 'mars'"),
    ("no environment", {"environment": None}, "it names no environment"),
]


@pytest.mark.parametrize(("change", "why"), [(c, w) for _, c, w in MISMATCHES],
                         ids=[m[0] for m in MISMATCHES])
def test_a_deployment_git_does_not_bear_out_is_shown_apart_never_merged(
        repo: Path, cli: Cli, change: dict[str, Any], why: str) -> None:
    forged = record(repo, "(#8)", **change)
    write(repo, forged)
    items = history(cli, repo)
    assert deployments(items) == []
    [apart] = unmatched(items)
    assert apart["why"] == why.format(c=forged.commit[:12]) and apart["source"] == "ledger"
    assert apart["record"]["after"] == forged.after
    text = cli.ok("-C", str(repo), "history", "fraud", "--offline").out
    assert "deployed v" not in text and "Unmatched ledger records" in text and apart["why"] in text


@pytest.mark.parametrize("subject", ["(#9)", "(#6)"], ids=["a later commit", "an earlier commit"])
def test_a_move_recorded_on_a_commit_where_git_moved_nothing_is_not_attached(repo: Path, cli: Cli,
                                                                            subject: str) -> None:
    """PR 9 changed fraud but moved no alias; PR 6 registered versions. The move and its approvers
    are PR 8's: a move recorded elsewhere proves nothing."""
    forged_move = record(repo, subject, "move", pr=int(subject[2]), approvers=[{"login": "mallory"}])
    write(repo, forged_move)
    items = history(cli, repo)
    assert all(i.get("approvers") is None for i in items if i["kind"] != "unmatched")
    [apart] = unmatched(items)
    assert apart["why"] == f"git did not move fraud's production at {forged_move.commit[:12]}"


def test_a_deployment_of_what_main_did_not_ask_for_there_is_not_attached(repo: Path, cli: Cli) -> None:
    """At PR 6's commit production pointed at nothing: a deployment of v2 there proves nothing."""
    forged = record(repo, "(#6)", pr=6)
    write(repo, forged)
    items = history(cli, repo)
    assert deployments(items) == []
    [apart] = unmatched(items)
    assert apart["why"] == (f"git did not move fraud's production at {forged.commit[:12]}, where it points "
                            "at (none), not v2")


def test_a_catch_up_deployment_joins_when_main_asked_for_its_version_there(repo: Path, cli: Cli) -> None:
    """A run at PR 9's commit (which moved nothing) deploying what PR 8 moved production to: what a
    run catching up on a missed one, or reconcile, records. Its to-version and pull request are
    git's; its from-version is what the targets served."""
    write(repo, record(repo, "(#9)", before=None))  # credited to PR 8, which moved production to v2
    write(repo, record(repo, "(#9)", pr=9))  # a reconcile at PR 9's commit credits PR 9
    items = history(cli, repo)
    assert [d["version"] for d in deployments(items)] == [2, 2] and unmatched(items) == []
    write(repo, record(repo, "(#9)", after=1, pr=6))  # main asked for v2 there, not v1
    write(repo, record(repo, "(#9)", pr=6))  # PR 6 moved nothing, and is not that commit's
    why = {u["why"] for u in unmatched(history(cli, repo))}
    commit = commit_of(repo, "(#9)")[:12]
    assert why == {f"git did not move fraud's production at {commit}, where it points at v2, not v1",
                   f"it names pull request #6, which did not move production to v2, and the commit {commit} "
                   "names #9"}


@pytest.mark.parametrize(("change", "why"), [({"after": 3}, "it says production v1 -> v3"),
                                             ({"pr": 99}, "it names pull request #99")],
                         ids=["another to-version", "another pull request"])
def test_approvers_of_a_move_git_does_not_bear_out_fill_nothing(repo: Path, cli: Cli, change: dict[str, Any],
                                                                why: str) -> None:
    write(repo, record(repo, "(#8)", "move", approvers=[{"login": "mallory"}], **change))
    items = history(cli, repo)
    move = next(i for i in items if i["kind"] == "alias" and i["version"] == 2)
    assert move["approvers"] is None and "approvers" not in move["sources"]
    [apart] = unmatched(items)
    assert apart["why"].startswith(why)
    entries = cli.ok("-C", str(repo), "audit", "--json").json
    alias = next(e for e in entries if e["event"] == "alias" and e["to"] == 2)
    assert alias["approvers"] is None and alias["approvers_source"] is None
    assert [e["event"] for e in entries if e["source"] == "ledger"] == ["unmatched"]


def test_a_record_about_another_model_is_unmatched_in_the_audit(repo: Path, cli: Cli) -> None:
    write(repo, record(repo, "(#8)", model="churn"))
    assert deployments(history(cli, repo)) == [] and unmatched(history(cli, repo)) == []
    entries = cli.ok("-C", str(repo), "audit", "--json").json
    [apart] = [e for e in entries if e["event"] == "unmatched"]
    assert apart["model"] == "churn" and apart["source"] == "ledger"
    assert "git did not move churn's production" in apart["detail"]
    assert not [e for e in entries if e["event"] == "deployment"]


def _off_main(repo: Path) -> str:
    """A branch that moves production to v3, with a deployment of it recorded by hand on its
    commit as the ledger does (``git notes --ref``): git bears the move out, but not on main."""
    git(repo, "switch", "-q", "-c", "feature")
    set_aliases(repo, "fraud", {"production": 3}, description="Scores card payments")
    branch = commit_all(repo, "Promote fraud v3 (#10)")
    later = "2026-12-02T10:00:00.000000Z"  # newer than main's: the last deployment, were it believed
    line = json.dumps(record(repo, "(#10)", before=2, after=3, pr=10, time=later).to_dict())
    git(repo, "notes", f"--ref={ledger.REF}", "add", "-m", line, branch)
    git(repo, "switch", "-q", "main")
    return branch


OFF_MAIN = "1 ledger record on commits not on main was ignored"


def test_records_on_commits_not_on_main_are_ignored_and_counted(repo: Path, cli: Cli, tmp_path: Path) -> None:
    _off_main(repo)
    write(repo, record(repo, "(#8)"))  # one on main, that joins
    result = cli.ok("-C", str(repo), "history", "fraud", "--offline", "--json")
    assert f"warning: {OFF_MAIN}" in result.err
    assert [d["version"] for d in deployments(result.json)] == [2]
    assert result.json[-1] == {"kind": "warning", "source": "ledger", "message": OFF_MAIN}
    # read on the branch itself, where git did move production to v3: still not believed
    on_branch = cli.ok("-C", str(repo), "history", "fraud", "--offline", "--json", "--at", "feature")
    assert [d["version"] for d in deployments(on_branch.json)] == [2] and OFF_MAIN in on_branch.err
    git(repo, "switch", "-q", "feature")
    assert [d["version"] for d in deployments(history(cli, repo))] == [2]
    git(repo, "switch", "-q", "main")
    # the audit trail, in every format
    audit = cli.ok("-C", str(repo), "audit", "--json")
    assert OFF_MAIN in audit.err
    assert {"event": "warning", "source": "ledger", "detail": OFF_MAIN} in audit.json
    assert [e["to"] for e in audit.json if e["event"] == "deployment"] == [2]
    assert OFF_MAIN in cli.ok("-C", str(repo), "audit", "--csv").err
    # the Python API returns the same, warnings as data on the result
    reg = Registry(repo)
    assert reg.history("fraud", offline=True).warnings == [OFF_MAIN] == reg.audit().warnings
    assert reg.history("fraud", offline=True).to_json() == result.json and reg.audit().to_json() == audit.json
    assert OFF_MAIN in cli.ok("-C", str(repo), "audit").err
    # the site: in its report, on stderr and on the index page
    site = cli.ok("-C", str(repo), "site", "-o", str(tmp_path / "site"), "--json")
    assert site.json["warnings"] == [OFF_MAIN] and OFF_MAIN in site.err
    assert OFF_MAIN in (tmp_path / "site/index.html").read_text()
    assert "deployed to production" in (tmp_path / "site/models/fraud.html").read_text()
    assert (tmp_path / "site/models/fraud.html").read_text().count("deployed to production") == 1
    # status: the off-main deployment is not the last one recorded
    status = cli("-C", str(repo), "status", "--json")
    [row] = [r for r in status.json["rows"] if r["environment"] == "production"]
    # a command target cannot show its bytes: no drift, and never called live
    assert row["recorded"]["after"] == 2 and row["drift"] == [] and row["state"] == "unverified"
    assert status.json["warnings"] == [OFF_MAIN] and OFF_MAIN in status.err


def test_three_records_off_main_are_counted_in_one_warning(repo: Path, cli: Cli) -> None:
    branch = _off_main(repo)
    lines = [json.dumps(record(repo, "(#8)", before=2, after=3, pr=10, environment=env,
                               commit=branch).to_dict())
             for env in ("staging", "eu")]
    git(repo, "notes", f"--ref={ledger.REF}", "append", "-m", "\n".join(lines), branch)
    err = cli.ok("-C", str(repo), "history", "fraud", "--offline").err
    assert "3 ledger records on commits not on main were ignored" in err


BAD_NAMES: list[tuple[str, dict[str, Any]]] = [
    ("model", {"model": "Fraud"}), ("model", {"model": "../fraud"}), ("model", {"model": "f" * 65}),
    ("alias", {"alias": "Production"}), ("alias", {"alias": "latest"}), ("alias", {"alias": "prod\x1b[2J"}),
    ("environment", {"environment": "prod env"}), ("environment", {"environment": "-prod"}),
    ("target", {"targets": [{"target": "directory /srv\x1b]0;pwned\x07", "ok": True}]}),
    ("target", {"targets": [{"target": "rsync /srv", "ok": True}]}),
    ("target", {"targets": [{"target": 5, "ok": True}]}),
]


@pytest.mark.parametrize("change", [c for _, c in BAD_NAMES], ids=[f"{n}={v!r}" for n, c in BAD_NAMES
                                                                  for v in c.values()])
def test_a_record_whose_names_break_the_rules_is_dropped_with_a_warning(repo: Path, cli: Cli,
                                                                        change: dict[str, Any]) -> None:
    assert ledger.names_ok(record(repo, "(#8)"))
    bad = record(repo, "(#8)", **change)
    assert not ledger.names_ok(bad)
    write(repo, bad, record(repo, "(#8)", message="kept"))
    loaded = ledger.load(repo)
    assert [r.message for r in loaded.records] == ["kept"] and loaded.bad_names == 1
    said = ("1 ledger record whose model, alias, environment or target name breaks the name rules was "
            "dropped")
    result = cli.ok("-C", str(repo), "history", "fraud", "--offline", "--json")
    assert f"warning: {said}" in result.err and result.json[-1]["message"] == said
    assert [d["subject"] for d in deployments(result.json)] == ["kept"]
    assert unmatched(result.json) == []
    assert said in cli.ok("-C", str(repo), "audit").err


def test_lines_that_are_not_records_are_counted(repo: Path, cli: Cli) -> None:
    commit = commit_of(repo, "(#8)")
    git(repo, "notes", f"--ref={ledger.REF}", "add", "-m", '{"time": 5}\nnot json', commit)
    assert ledger.load(repo).malformed == 2
    assert "2 ledger lines that are not a well-formed record were skipped" in \
        cli.ok("-C", str(repo), "history", "fraud", "--offline").err


def test_audit_says_where_each_fact_comes_from_in_every_format(repo: Path, cli: Cli) -> None:
    write(repo, record(repo, "(#8)", "move"), record(repo, "(#8)"), record(repo, "(#9)", after=3))
    entries = cli.ok("-C", str(repo), "audit", "--json").json
    by_event = {(e["event"], e["to"]): e for e in entries}
    move, deployment = by_event[("alias", 2)], by_event[("deployment", 2)]
    assert (move["source"], move["approvers_source"]) == ("git", "ledger")
    assert move["sources"]["approvers"] == "ledger"
    assert move["sources"]["commit"] == "git" and move["sources"]["to"] == "git"
    assert (deployment["source"], deployment["sources"]["sha256" if deployment["sha256"] else "to"]) == \
        ("ledger", "ledger")
    registered = by_event[("registered", 1)]
    assert registered["source"] == "git" and registered["approvers_source"] is None
    [apart] = [e for e in entries if e["event"] == "unmatched"]
    assert apart["source"] == "ledger" and apart["approvers"] is None
    assert apart["detail"].startswith("unmatched ledger record (a deployment to production), not attached: ")
    rows = list(csv.DictReader(io.StringIO(cli.ok("-C", str(repo), "audit", "--csv").out)))
    assert {(r["event"], r["source"], r["approvers_source"]) for r in rows} == {
        ("registered", "git", ""), ("alias", "git", ""), ("alias", "git", "ledger"),
        ("deployment", "ledger", "ledger"), ("unmatched", "ledger", "")}
    text = cli.ok("-C", str(repo), "audit").out
    header = text.splitlines()[0].split()
    assert header[-1] == "SOURCE"
    assert any(line.split()[3] == "alias" and line.endswith("git+ledger") for line in text.splitlines())
    assert any(line.split()[3] == "deployment" and line.endswith("ledger") for line in text.splitlines())
    assert "source: git: the git history" in text and "not attached: git did not move" in text


def test_the_site_says_where_each_fact_comes_from_and_lists_unmatched_records_apart(repo: Path, cli: Cli,
                                                                                    tmp_path: Path) -> None:
    write(repo, record(repo, "(#8)", "move"), record(repo, "(#8)"), record(repo, "(#8)", after=3,
                                                                          message="forged"))
    cli.ok("-C", str(repo), "site", "-o", str(tmp_path / "site"))
    page = (tmp_path / "site/models/fraud.html").read_text()
    history_part = page[page.index("<h2>History</h2>"):page.index("<h2>Unmatched ledger records</h2>")]
    assert "<th>source</th>" in history_part and "<td>git + ledger</td>" in history_part
    assert "<td>ledger</td>" in history_part and "<td>git</td>" in history_part
    assert history_part.count("deployed to production") == 1
    assert "<p class=legend>Source: <b>git</b>" in history_part
    apart = page[page.index("<h2>Unmatched ledger records</h2>"):]
    assert "production v1 → v3" in apart and "at " in apart and "git moved it v1 -&gt; v2" in apart
    version_page = (tmp_path / "site/models/fraud/v3.html").read_text()
    assert "deployed to production" not in version_page
