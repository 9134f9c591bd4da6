"""``modelreg deploy``, ``status`` and ``reconcile`` on real repositories, a real DVC remote and a
``directory`` target; the ledger in real git notes pushed to a real (bare) origin."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
import yaml

from modelreg.edges import ledger
from tests.helpers import Cli, commit_all, git, register


def set_config(root: Path, **values: object) -> None:
    path = root / "modelreg.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **values}, sort_keys=False))


def set_aliases(root: Path, model: str = "fraud", **aliases: int) -> None:
    path = root / "registry" / model / "model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["aliases"] = aliases
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def served(registry: Path, workdir: Path, tmp_path: Path, cli: Cli) -> Path:
    """fraud v1, v2 registered; production served from tmp/srv; v1 staged; all on main."""
    srv = tmp_path / "srv"
    set_config(registry, environments={"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(srv), "keep": 2}]}})
    (registry / "policies/default.yaml").write_text("schema_version: 1\n")
    for seed in (1, 2, 3):
        register(cli, registry, workdir, "fraud", "-m", f"v{seed}", seed=seed)
    commit_all(registry, "Register fraud v1-v3")
    return registry


def deploy(cli: Cli, root: Path, *args: str, code: int = 0) -> dict:
    result = cli("-C", str(root), "deploy", "--json", *args)
    assert result.code == code, result.out + result.err
    return json.loads(result.out)


def srv(root: Path) -> Path:
    config = yaml.safe_load((root / "modelreg.yaml").read_text())
    return Path(config["environments"]["production"]["targets"][0]["path"])


def test_a_merged_promotion_deploys_and_keeps_the_old_version(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit_all(served, "Promote fraud v1 (#7)")
    report = deploy(cli, served)
    deployed = [(d["model"], d["after"], d["outcome"]) for d in report["deployments"]]
    assert deployed == [("fraud", 1, "succeeded")]
    set_aliases(served, production=2)
    commit_all(served, "Promote fraud v2 (#8)")
    deploy(cli, served)
    model_dir = srv(served) / "fraud"
    assert os.readlink(model_dir / "production") == "2"
    shown = sorted(p.name for p in model_dir.iterdir() if not p.name.startswith("."))
    assert shown == ["1", "2", "production"]  # v1 kept for a rollback
    record = json.loads((model_dir / "2" / "deployment.json").read_text())
    assert record["sha256"] == yaml.safe_load(
        (served / "registry/fraud/v2/version.yaml").read_text())["artifact"]["sha256"]
    # the ledger: one move and one deployment per merge, with the PR number
    kinds = [(r.kind, r.after, r.outcome, r.pr) for r in ledger.read(served)]
    assert kinds == [("move", 1, "recorded", 7), ("deployment", 1, "succeeded", 7),
                     ("move", 2, "recorded", 8), ("deployment", 2, "succeeded", 8)]


def test_a_rollback_redeploys_the_previous_version(served: Path, cli: Cli) -> None:
    for version in (1, 2):
        set_aliases(served, production=version)
        commit_all(served, f"Promote v{version}")
        deploy(cli, served)
    cli.ok("-C", str(served), "rollback", "fraud", "--alias", "production", "--commit")
    deploy(cli, served)
    assert os.readlink(srv(served) / "fraud" / "production") == "1"


def test_re_running_a_deployment_changes_nothing(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    deploy(cli, served)
    again = deploy(cli, served)
    assert again["deployments"][0]["outcome"] == "unchanged"
    assert "v1 already deployed" in cli.ok("-C", str(served), "deploy").out
    assert [r.kind for r in ledger.read(served)] == ["move", "deployment"]  # nothing recorded twice


def test_a_push_that_moves_no_served_alias_deploys_nothing(served: Path, cli: Cli) -> None:
    set_aliases(served, staging=1)
    commit_all(served, "Stage v1")
    out = cli.ok("-C", str(served), "deploy").out
    assert "No environment serves an alias that moved; nothing to deploy." in out
    assert [(r.kind, r.alias) for r in ledger.read(served)] == [("move", "staging")]  # still recorded
    assert not srv(served).exists()


def _remote_object(root: Path, version: int) -> Path:
    md5 = yaml.safe_load((root / f"registry/fraud/v{version}/version.yaml").read_text())["artifact"]["md5"]
    return root / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]


def test_a_swapped_remote_object_is_refused_and_the_previous_version_serves(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    deploy(cli, served)
    obj = _remote_object(served, 2)
    mode = obj.stat().st_mode
    os.chmod(obj, stat.S_IWUSR | stat.S_IRUSR)
    obj.write_bytes(b"x" * obj.stat().st_size)  # same size
    os.chmod(obj, mode)  # permissions kept
    import shutil

    shutil.rmtree(served / ".dvc" / "cache")  # no local cache: the bytes come from the remote
    set_aliases(served, production=2)
    commit_all(served, "Promote v2")
    report = deploy(cli, served, code=1)
    result = report["deployments"][0]
    assert result["outcome"] == "failed" and "has sha256" in result["message"]
    assert os.readlink(srv(served) / "fraud" / "production") == "1"
    assert not (srv(served) / "fraud" / "2").exists()
    assert obj.read_bytes() == b"x" * obj.stat().st_size  # evidence kept
    assert ledger.read(served)[-1].outcome == "failed"


def test_an_unreachable_remote_fails_cleanly(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    deploy(cli, served)
    import shutil

    shutil.rmtree(served / ".dvc" / "cache")
    config = served / ".dvc/config"
    config.write_text(config.read_text().replace("url = ", "url = ssh://nobody@127.0.0.1:1/"))
    set_aliases(served, production=2)
    commit_all(served, "Promote v2")
    result = cli("-C", str(served), "deploy")
    assert result.code == 1
    assert "DVC fetch failed" in result.out and "The previous version keeps serving" in result.err
    assert os.readlink(srv(served) / "fraud" / "production") == "1"


def test_an_older_merge_never_overwrites_a_newer_one(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    older = commit_all(served, "Promote v1")
    set_aliases(served, production=2)
    commit_all(served, "Promote v2")
    deploy(cli, served)  # the newer merge's run came first
    late = deploy(cli, served, "--after", older, "--before", f"{older}~1")
    assert late["refused"] and "is not the tip of main" in late["refused"]
    assert os.readlink(srv(served) / "fraud" / "production") == "2"
    # main moved back (a force push): main is the truth, and a deployment from a commit that is no
    # longer on it says nothing about it, so the next run serves what main asks for
    git(served, "reset", "-q", "--hard", older)
    again = deploy(cli, served)
    assert [(d["after"], d["outcome"]) for d in again["deployments"]] == [(1, "succeeded")]
    assert os.readlink(srv(served) / "fraud" / "production") == "1"


def test_one_failing_target_switches_the_others_back(served: Path, tmp_path: Path, cli: Cli) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the second target's directory should be")
    set_config(served, environments={"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv")},
        {"type": "directory", "path": str(blocked / "srv")}]}})
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    report = deploy(cli, served, code=1)
    outcomes = report["deployments"][0]["targets"]
    # nothing served before: the first target stops serving what the second could not take
    assert [t["ok"] for t in outcomes] == [True, False, True]
    assert outcomes[2]["message"].startswith("removed ")
    assert not (tmp_path / "srv" / "fraud" / "production").exists()
    set_config(served, environments={"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv")}]}})
    commit_all(served, "One target")
    deploy(cli, served, "--before", "HEAD~2")
    set_config(served, environments={"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv")},
        {"type": "directory", "path": str(blocked / "srv")}]}})
    set_aliases(served, production=2)
    commit_all(served, "Promote v2 with two targets")
    report = deploy(cli, served, code=1)
    outcomes = report["deployments"][0]["targets"]
    assert [t["ok"] for t in outcomes] == [True, False, True]
    assert outcomes[2]["message"].startswith("switched back to v1")
    assert os.readlink(tmp_path / "srv" / "fraud" / "production") == "1"


def test_status_finds_drift_and_reconcile_repairs_it(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    assert cli("-C", str(served), "status").code == 1  # not deployed yet
    deploy(cli, served)
    assert cli.ok("-C", str(served), "status", "--json").json["ok"] is True
    artifact = srv(served) / "fraud" / "1" / "model.pkl"
    os.chmod(artifact, 0o644)
    with open(artifact, "r+b") as file:  # changed by hand, size kept
        file.write(b"\0")
    result = cli("-C", str(served), "status")
    assert result.code == 1 and "model.pkl changed on the target" in result.out
    assert "modelreg reconcile" in result.out
    cli.ok("-C", str(served), "reconcile")
    assert cli.ok("-C", str(served), "status", "--verify", "--json").json["ok"] is True
    assert ledger.read(served)[-1].outcome == "succeeded"


def _clone(origin: Path, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(origin), str(where))
    git(where, "config", "user.name", "deploy job")
    git(where, "config", "user.email", "deploy@example.com")
    return where


def test_two_jobs_recording_at_once_lose_no_record(served: Path, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(served), str(origin))
    commit = git(served, "rev-parse", "HEAD").strip()
    jobs = [_clone(origin, tmp_path / f"job{i}") for i in range(4)]

    def record(job: Path, index: int) -> None:
        for n in range(3):
            ledger.append(job, commit, [ledger.LedgerRecord(ledger.now(), "deployment", "fraud", "production",
                                                            None, 1, commit, environment=f"job{index}-{n}",
                                                            outcome="succeeded")])
            ledger.push(job)

    threads = [threading.Thread(target=record, args=(job, i)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = _clone(origin, tmp_path / "reader")
    assert ledger.fetch(check)
    environments = sorted(str(r.environment) for r in ledger.read(check))
    assert environments == sorted(f"job{i}-{n}" for i in range(4) for n in range(3))


def test_the_ledger_is_pushed_and_read_from_another_clone(served: Path, tmp_path: Path, cli: Cli) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(served, "remote", "add", "origin", str(origin))
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    git(served, "push", "-q", "origin", "main")
    deploy(cli, served, "--push-ledger")
    other = _clone(origin, tmp_path / "other")
    assert ledger.fetch(other)
    assert [(r.kind, r.outcome) for r in ledger.read(other)] == [("move", "recorded"),
                                                                 ("deployment", "succeeded")]


def test_deploy_help_and_dry_run(served: Path, cli: Cli) -> None:
    set_aliases(served, production=3)
    commit_all(served, "Promote v3")
    report = deploy(cli, served, "--dry-run")
    assert report["deployments"][0]["outcome"] == "planned"
    assert not srv(served).exists() and ledger.read(served) == []
    assert "Examples:" in cli.ok("deploy", "--help").out
    err = cli.fails("-C", str(served), "deploy", "--env", "nope").err
    assert "no environment 'nope'" in err



def test_audit_exports_history_and_deployments(served: Path, cli: Cli) -> None:
    import csv
    import io

    set_aliases(served, production=1)
    commit_all(served, "Promote fraud v1 (#7)")
    deploy(cli, served)
    entries = cli.ok("-C", str(served), "audit", "--json").json
    assert [(e["event"], e["to"]) for e in entries] == [
        ("registered", 1), ("registered", 2), ("registered", 3), ("alias", 1), ("deployment", 1)]
    assert entries[-1]["outcome"] == "succeeded" and entries[-1]["pr"] == 7
    rows = list(csv.DictReader(io.StringIO(cli.ok("-C", str(served), "audit", "--csv").out)))
    assert rows[-1]["event"] == "deployment" and rows[-1]["environment"] == "production"
    later = cli.ok("-C", str(served), "audit", "--since", "2999-01-01").out
    assert later.strip() == "Nothing in that period."
    assert "is not a date" in cli.fails("-C", str(served), "audit", "--since", "2026-13-45").err


def test_history_shows_deployments_and_the_approvers_the_deploy_job_recorded(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit = commit_all(served, "Promote fraud v1 (#7)")
    # what a deploy job records when GitHub's API told it who approved PR #7
    approver = {"login": "risk-officer", "at": "2026-11-20", "commit_id": None}
    ledger.append(served, commit, [ledger.LedgerRecord(ledger.now(), "move", "fraud", "production", None, 1,
                                                       commit, pr=7, approvers=[approver])])
    deploy(cli, served)
    events = cli.ok("-C", str(served), "history", "fraud", "--offline", "--json").json
    deployment = next(e for e in events if e["kind"] == "deployment")
    assert (deployment["environment"], deployment["outcome"], deployment["version"]) == (
        "production", "succeeded", 1)
    move = next(e for e in events if e["kind"] == "alias")
    assert [a["login"] for a in move["approvers"]] == ["risk-officer"] and move["approvers_note"] is None
    table = cli.ok("-C", str(served), "history", "fraud", "--offline").out
    assert "deployed v1 to production: succeeded" in table and "risk-officer" in table


def test_a_push_with_nothing_to_record_pushes_no_ledger(served: Path, tmp_path: Path, cli: Cli) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(served, "remote", "add", "origin", str(origin))
    git(served, "push", "-q", "origin", "main")  # a registration merged: no alias moved
    out = cli.ok("-C", str(served), "deploy", "--push-ledger").out
    assert "No environment serves an alias that moved" in out
    assert git(origin, "for-each-ref", "refs/notes/").strip() == ""


def test_a_skipped_run_is_caught_up_and_each_move_credited_to_its_pull_request(served: Path,
                                                                               cli: Cli) -> None:
    set_aliases(served, production=1)
    commit_all(served, "Promote fraud v1 (#10)")  # its deploy run never happened (replaced in the queue)
    register(cli, served, served.parent / "work", "churn", seed=9)
    commit_all(served, "Register churn (#11)")
    report = deploy(cli, served)  # the run of the newer merge
    assert [(d["model"], d["after"], d["outcome"]) for d in report["deployments"]] == [
        ("fraud", 1, "succeeded")]
    moves = [(r.model, r.after, r.pr) for r in ledger.read(served) if r.kind == "move"]
    assert moves == [("fraud", 1, 10)]
    assert [r.pr for r in ledger.read(served) if r.kind == "deployment"] == [10]
    # recorded at #11's commit, which moved nothing: main asked for v1 there, and #10 moved it
    shown = cli.ok("-C", str(served), "history", "fraud", "--offline", "--json").json
    assert [(e["version"], e["pr"]) for e in shown if e["kind"] == "deployment"] == [(1, 10)]
    assert [e for e in shown if e["kind"] == "unmatched"] == []


def test_bytes_changed_with_their_mtime_put_back_are_found_and_repaired(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    deploy(cli, served)
    artifact = srv(served) / "fraud" / "1" / "model.pkl"
    before = artifact.stat()
    os.chmod(artifact, 0o644)
    with open(artifact, "r+b") as file:
        file.write(b"\0")
    os.utime(artifact, ns=(before.st_atime_ns, before.st_mtime_ns))  # `touch -r`: the mtime put back
    assert "changed on the target" in cli("-C", str(served), "status").out  # the ctime tells
    cli.ok("-C", str(served), "reconcile")
    assert cli.ok("-C", str(served), "status", "--verify", "--json").json["ok"] is True


def test_status_flags_an_alias_main_moved_but_no_deployment_followed(served: Path, cli: Cli) -> None:
    set_config(served, environments={"staging": {"alias": "staging", "targets": [
        {"type": "command", "run": ["true"]}]}})  # a target that cannot tell what it serves
    set_aliases(served, staging=1)
    commit_all(served, "Stage v1")
    deploy(cli, served)
    set_aliases(served, staging=2)
    commit_all(served, "Stage v2")  # its run never happened
    result = cli("-C", str(served), "status")
    assert result.code == 1 and "the last deployment was v1, main says v2" in result.out
    cli.ok("-C", str(served), "reconcile")
    assert cli("-C", str(served), "status").code == 0


def test_audit_csv_cannot_carry_a_formula_and_until_includes_its_day(served: Path, cli: Cli) -> None:
    import csv
    import io

    set_aliases(served, production=1)
    commit_all(served, "=HYPERLINK(\"http://evil.example\",\"click\") (#9)")
    rows = list(csv.DictReader(io.StringIO(cli.ok("-C", str(served), "audit", "--csv").out)))
    assert all(not row["detail"].startswith("=") for row in rows)
    assert any(row["detail"].startswith("'=HYPERLINK") for row in rows)
    today = rows[-1]["time"][:10]
    assert len(cli.ok("-C", str(served), "audit", "--until", today, "--json").json) == len(rows)


def test_a_forged_ledger_record_cannot_suppress_a_deployment(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit = commit_all(served, "Promote v1")
    forged = ledger.LedgerRecord("9999-01-01T00:00:00Z", "deployment", "fraud", "production", None, 1, commit,
                                 environment="production", outcome="succeeded")
    ledger.append(served, commit, [forged])  # written by anyone who may push notes
    report = deploy(cli, served)
    assert [d["outcome"] for d in report["deployments"]] == ["succeeded"]  # the target said otherwise
    assert os.readlink(srv(served) / "fraud" / "production") == "1"


def test_a_hostile_ledger_line_is_skipped_not_fatal(served: Path, cli: Cli) -> None:
    set_aliases(served, production=1)
    commit = commit_all(served, "Promote v1")
    git(served, "notes", "--ref=refs/notes/modelreg", "add", "-m", '"time"\n[[[[[[\n{"time": 5}\n'
        '{"time":"t","kind":"move","model":"fraud","commit":["x"]}', commit)
    deploy(cli, served)
    for command in (["status"], ["history", "fraud", "--offline"], ["audit"]):
        cli.ok("-C", str(served), *command)
