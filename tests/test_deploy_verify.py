"""What `deploy`, `status` and `reconcile` may call live, and which main they deploy from.

Issue 13, sections 1 and 4, and lost ledger records (section 3): bytes changed on a
``directory`` target with their size and mtime put back and ``deployment.json`` rewritten
to agree are never live on any path; a target that cannot show its bytes is never called
live; a clone behind origin, or one that cannot tell, never moves a newer deployment back.
Real git (a bare origin, clones), real DVC, a real directory target.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from modelreg.deploy.targets.directory import NOT_REHASHED
from modelreg.edges import ledger
from modelreg.edges.hashing import artifact_sha256, digest, listing_sha256, walk_files
from tests import test_deploy
from tests.helpers import Cli, commit_all, git
from tests.test_deploy import _clone, deploy, set_aliases, set_config, srv

served = test_deploy.served  # the fixture: fraud v1-v3 registered, production on a directory target


def _manifest_sha(root: Path, version: int) -> str:
    manifest = yaml.safe_load((root / f"registry/fraud/v{version}/version.yaml").read_text())
    return str(manifest["artifact"]["sha256"])


def forge(version_dir: Path, *, lie: bool = True) -> bytes:
    """What an attacker who can write the target does: other bytes of the same size in place,
    the mtime put back, and ``deployment.json`` rewritten to agree: every file's size, mtime and
    ctime as they now are, and the sha256 the manifest names (``lie``) or the new bytes' own."""
    record_path = version_dir / "deployment.json"
    record = json.loads(record_path.read_text())
    artifact = version_dir / record["artifact"]
    before = artifact.stat()
    new = bytes(b ^ 0xFF for b in artifact.read_bytes())
    assert len(new) == before.st_size
    os.chmod(artifact, 0o644)
    artifact.write_bytes(new)
    os.utime(artifact, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = artifact.stat()
    if not lie:
        record["sha256"] = hashlib.sha256(new).hexdigest()
    record["files"] = {"": [after.st_size, after.st_mtime_ns, after.st_ctime_ns]}
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    assert (artifact.stat().st_size, artifact.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    return new


def deployed_v1(root: Path, cli: Cli) -> Path:
    set_aliases(root, production=1)
    commit_all(root, "Promote fraud v1 (#7)")
    deploy(cli, root)
    return srv(root) / "fraud" / "1"


def served_bytes(root: Path, version: int) -> str:
    return hashlib.sha256((srv(root) / "fraud" / str(version) / "model.pkl").read_bytes()).hexdigest()


# -- 1. "live" means the bytes match --------------------------------------------------------------

@pytest.mark.parametrize("lie", [True, False], ids=["record-names-the-manifest-sha", "record-names-its-own"])
def test_a_forged_target_is_never_already_deployed(served: Path, cli: Cli, lie: bool) -> None:
    forge(deployed_v1(served, cli), lie=lie)
    report = deploy(cli, served)  # the no-op re-run
    assert [d["outcome"] for d in report["deployments"]] == ["succeeded"]
    assert "already deployed" not in json.dumps(report)
    assert served_bytes(served, 1) == _manifest_sha(served, 1)  # the bytes put back, verified


def test_a_re_run_says_what_it_verified(served: Path, cli: Cli) -> None:
    deployed_v1(served, cli)
    out = cli.ok("-C", str(served), "deploy").out
    assert "v1 already deployed" in out and "sha256 verified now" in out


@pytest.mark.parametrize("lie", [True, False], ids=["record-names-the-manifest-sha", "record-names-its-own"])
def test_status_hashes_by_default_and_with_verify(served: Path, cli: Cli, lie: bool) -> None:
    forge(deployed_v1(served, cli), lie=lie)
    for args in ([], ["--verify"]):
        result = cli("-C", str(served), "status", *args)
        assert result.code == 1, result.out
        assert "the bytes changed on the target" in result.out or "serves other bytes" in result.out
        assert "live" not in result.out.split()
        data = cli("-C", str(served), "status", "--json", *args).json
        assert data["ok"] is False and data["drift"] is True
        assert [r["state"] for r in data["rows"]] == ["drift"]


def test_status_fast_names_what_it_did_not_hash(served: Path, cli: Cli) -> None:
    forge(deployed_v1(served, cli))
    result = cli("-C", str(served), "status", "--fast")
    assert result.code == 0  # the fast path cannot see it: it says so, and calls nothing live
    assert NOT_REHASHED in result.out and "not verified" in result.out
    assert " live" not in result.out
    row = cli.ok("-C", str(served), "status", "--fast", "--json").json["rows"][0]
    assert (row["state"], row["ok"]) == ("unverified", False)
    assert row["targets"][0]["verified"] is False and row["targets"][0]["unverified"] == NOT_REHASHED
    assert cli("-C", str(served), "status", "--fast", "--verify").code == 2


def test_status_live_only_when_hashed_now(served: Path, cli: Cli) -> None:
    deployed_v1(served, cli)
    row = cli.ok("-C", str(served), "status", "--json").json["rows"][0]
    assert (row["state"], row["ok"], row["targets"][0]["verified"]) == ("live", True, True)
    assert row["targets"][0]["sha256"] == _manifest_sha(served, 1)


@pytest.mark.parametrize("lie", [True, False], ids=["record-names-the-manifest-sha", "record-names-its-own"])
def test_reconcile_hashes_and_repairs_a_forged_target(served: Path, cli: Cli, lie: bool) -> None:
    forge(deployed_v1(served, cli), lie=lie)
    report = cli.ok("-C", str(served), "reconcile", "--json").json  # no --verify: it always hashes
    assert [(d["after"], d["outcome"]) for d in report["deployments"]] == [(1, "succeeded")]
    assert served_bytes(served, 1) == _manifest_sha(served, 1)
    assert cli.ok("-C", str(served), "status", "--json").json["ok"] is True
    # the repair is a deployment main asked for, at a commit that moved nothing: in history, not apart
    shown = cli.ok("-C", str(served), "history", "fraud", "--offline", "--json").json
    assert [e["version"] for e in shown if e["kind"] == "deployment"] == [1, 1]
    assert [e for e in shown if e["kind"] == "unmatched"] == []


def test_a_rollback_to_a_kept_forged_version_reinstalls_it(served: Path, cli: Cli) -> None:
    kept = deployed_v1(served, cli)
    set_aliases(served, production=2)
    commit_all(served, "Promote v2")
    deploy(cli, served)
    forge(kept)  # v1, kept on the target for a rollback, changed in place
    cli.ok("-C", str(served), "rollback", "fraud", "--alias", "production", "--commit")
    report = deploy(cli, served)
    target = report["deployments"][0]["targets"][0]
    assert target["verified"] is True and "sha256 verified as written" in target["message"]
    assert os.readlink(srv(served) / "fraud" / "production") == "1"
    assert served_bytes(served, 1) == _manifest_sha(served, 1)


def test_a_rollback_to_a_kept_intact_version_is_a_switch_and_says_it_hashed(served: Path, cli: Cli) -> None:
    deployed_v1(served, cli)
    set_aliases(served, production=2)
    commit_all(served, "Promote v2")
    deploy(cli, served)
    cli.ok("-C", str(served), "rollback", "fraud", "--alias", "production", "--commit")
    report = deploy(cli, served)
    result = report["deployments"][0]
    assert "kept version re-hashed" in result["targets"][0]["message"]
    assert "is live on 1 target(s), sha256 verified on each" in result["message"]


def test_a_record_pointing_at_a_copy_of_the_right_bytes_is_drift(served: Path, cli: Cli) -> None:
    version_dir = deployed_v1(served, cli)
    original = (version_dir / "model.pkl").read_bytes()
    (version_dir / "original.pkl").write_bytes(original)  # the right bytes, beside the served ones
    forge(version_dir)
    record = json.loads((version_dir / "deployment.json").read_text())
    record["artifact"], record["sha256"] = "original.pkl", hashlib.sha256(original).hexdigest()
    (version_dir / "deployment.json").write_text(json.dumps(record))
    result = cli("-C", str(served), "status")
    assert result.code == 1 and "which this target did not deploy there" in result.out
    # never "unchanged"; and a file modelreg did not write is neither deleted nor served as ours
    refused = cli("-C", str(served), "deploy")
    assert refused.code == 1 and "holds files modelreg did not write (1/original.pkl)" in refused.out
    assert (version_dir / "original.pkl").read_bytes() == original
    (version_dir / "original.pkl").unlink()  # as the message says: move it out
    assert deploy(cli, served)["deployments"][0]["outcome"] == "succeeded"
    assert served_bytes(served, 1) == _manifest_sha(served, 1)


def test_a_swapped_in_symlink_is_not_the_bytes_deployed(served: Path, cli: Cli, tmp_path: Path) -> None:
    version_dir = deployed_v1(served, cli)
    copy = tmp_path / "elsewhere.pkl"
    copy.write_bytes((version_dir / "model.pkl").read_bytes())
    (version_dir / "model.pkl").unlink()
    (version_dir / "model.pkl").symlink_to(copy)  # the right bytes today, whatever they are tomorrow
    result = cli("-C", str(served), "status")
    assert result.code == 1 and "cannot be read as the artifact deployed" in result.out


def test_targets_that_cannot_show_their_bytes_are_never_live(served: Path, cli: Cli) -> None:
    set_config(served, environments={"production": {"alias": "production", "targets": [
        {"type": "command", "run": ["true"]}]}})
    set_aliases(served, production=1)
    commit_all(served, "Promote v1 through a command")
    first = cli.ok("-C", str(served), "deploy")
    assert "live" not in first.out and "accepted, its bytes not verifiable" in first.out
    again = deploy(cli, served)["deployments"][0]
    assert again["outcome"] == "unchanged" and "the ledger's word only" in again["message"]
    status = cli("-C", str(served), "status")
    assert status.code == 0 and "live" not in status.out.split() and "bytes not verifiable" in status.out
    row = cli.ok("-C", str(served), "status", "--json").json["rows"][0]
    assert (row["state"], row["ok"]) == ("unverified", False)


def test_a_command_outcome_in_json_is_not_verified(served: Path, cli: Cli) -> None:
    set_config(served, environments={"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(served.parent / "srv")}, {"type": "command", "run": ["true"]}]}})
    set_aliases(served, production=1)
    commit_all(served, "Promote v1 to a directory and a command")
    result = deploy(cli, served)["deployments"][0]
    assert [t["verified"] for t in result["targets"]] == [True, False]
    assert "is live" not in result["message"] and "accepted, its bytes not verifiable" in result["message"]


def test_status_judges_by_main_and_the_target_not_a_failed_record(served: Path, cli: Cli) -> None:
    deployed_v1(served, cli)
    commit = git(served, "rev-parse", "HEAD").strip()
    git(served, "update-ref", "-d", "refs/notes/modelreg")  # the success is gone from the ledger...
    failed = ledger.LedgerRecord(ledger.now(), "deployment", "fraud", "production", 1, 2, commit,
                                 environment="production", outcome="failed", message="a target failed")
    ledger.append(served, commit, [failed])  # ...and a failed attempt is all it says
    result = cli("-C", str(served), "status", "--json")
    assert result.code == 0 and result.json["ok"] is True  # main says v1; the target serves it, hashed
    assert result.json["rows"][0]["state"] == "live"


def test_a_target_that_cannot_tell_is_judged_by_the_last_success(served: Path, cli: Cli) -> None:
    set_config(served, environments={"production": {"alias": "production", "targets": [
        {"type": "command", "run": ["true"]}]}})
    set_aliases(served, production=1)
    commit = commit_all(served, "Promote v1 through a command")
    deploy(cli, served)
    failed = ledger.LedgerRecord(ledger.now(), "deployment", "fraud", "production", 1, 2, commit,
                                 environment="production", outcome="failed", message="v2 failed")
    ledger.append(served, commit, [failed])  # a v2 attempt failed and told the command v1 again
    result = cli("-C", str(served), "status", "--json")
    assert result.code == 0 and result.json["drift"] is False
    assert result.json["rows"][0]["state"] == "unverified"


# -- 4. "tip of main" means main on the remote -----------------------------------------------------

def _with_origin(root: Path, tmp_path: Path) -> Path:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "origin", "main")
    return origin


def test_a_stale_clone_never_overwrites_a_newer_deployment(served: Path, tmp_path: Path, cli: Cli) -> None:
    origin = _with_origin(served, tmp_path)
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    git(served, "push", "-q", "origin", "main")
    stale = _clone(origin, tmp_path / "stale")  # cloned while main promoted v1
    older = git(stale, "rev-parse", "HEAD").strip()
    set_aliases(served, production=2)
    newer = commit_all(served, "Promote v2")
    git(served, "push", "-q", "origin", "main")
    deploy(cli, served)
    result = cli("-C", str(stale), "deploy")  # its origin/main says v1 until it fetches
    assert result.code == 1
    assert (f"origin/main is at {newer[:12]}, you are deploying {older[:12]}, which is older: refusing"
            in result.out) and "git pull" in result.out
    assert os.readlink(srv(served) / "fraud" / "production") == "2"
    assert git(stale, "rev-parse", "origin/main").strip() == newer  # fetched first
    # a local main behind an origin/main already fetched: the same
    assert cli("-C", str(stale), "deploy").code == 1
    git(stale, "pull", "-q", "--ff-only")
    deploy(cli, stale)  # up to date: it may deploy
    assert os.readlink(srv(served) / "fraud" / "production") == "2"


def test_an_unreachable_origin_fails_unless_offline_and_offline_says_so(served: Path, tmp_path: Path,
                                                                        cli: Cli) -> None:
    _with_origin(served, tmp_path)
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    git(served, "push", "-q", "origin", "main")
    git(served, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    result = cli("-C", str(served), "deploy")
    assert result.code == 4 and "could not fetch main from origin" in result.err and "--offline" in result.err
    assert not srv(served).exists()
    out = cli.ok("-C", str(served), "deploy", "--offline").out
    assert "not fetched (--offline): origin/main as last fetched" in out


def _stale_clone_and_a_newer_deployment(served: Path, tmp_path: Path, cli: Cli) -> tuple[Path, Path, str]:
    """origin, a clone made while main promoted v1, and the commit promoting v2, deployed (the
    target records it; the stale clone has never seen it)."""
    origin = _with_origin(served, tmp_path)
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    git(served, "push", "-q", "origin", "main")
    stale = _clone(origin, tmp_path / "stale")
    set_aliases(served, production=2)
    newer = commit_all(served, "Promote v2")
    git(served, "push", "-q", "origin", "main")
    deploy(cli, served)
    return origin, stale, newer


def test_a_target_recording_a_commit_this_clone_cannot_place_is_not_moved_back(
        served: Path, tmp_path: Path, cli: Cli) -> None:
    _, stale, _ = _stale_clone_and_a_newer_deployment(served, tmp_path, cli)
    git(stale, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    result = cli("-C", str(stale), "deploy", "--offline", "--json")
    assert result.code == 1
    step = result.json["deployments"][0]
    assert step["outcome"] == "refused" and "a commit this clone does not have" in step["message"]
    assert os.readlink(srv(served) / "fraud" / "production") == "2"


def test_a_target_recording_a_newer_commit_is_not_moved_back(served: Path, tmp_path: Path, cli: Cli) -> None:
    origin, stale, newer = _stale_clone_and_a_newer_deployment(served, tmp_path, cli)
    # the clone has the newer commit (on another ref), but its main and origin/main are older
    git(stale, "fetch", "-q", str(origin), "main:refs/heads/elsewhere")  # by path: origin/main stays
    git(stale, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    result = cli("-C", str(stale), "deploy", "--offline", "--json")
    assert result.code == 1
    step = result.json["deployments"][0]
    assert step["outcome"] == "refused"
    assert f"as deployed from {newer[:12]}, which is newer" in step["message"]
    assert os.readlink(srv(served) / "fraud" / "production") == "2"


def test_a_real_rollback_from_another_clone_still_deploys(served: Path, tmp_path: Path, cli: Cli) -> None:
    origin = _with_origin(served, tmp_path)
    for version in (1, 2):
        set_aliases(served, production=version)
        commit_all(served, f"Promote v{version}")
        git(served, "push", "-q", "origin", "main")
        deploy(cli, served)
    other = _clone(origin, tmp_path / "other")
    cli.ok("-C", str(other), "rollback", "fraud", "--alias", "production", "--commit")
    git(other, "push", "-q", "origin", "main")  # a new commit on main: newer than the deployment
    report = deploy(cli, other)
    assert [(d["after"], d["outcome"]) for d in report["deployments"]] == [(1, "succeeded")]
    assert os.readlink(srv(served) / "fraud" / "production") == "1"
    assert report["main"]["fetched"] is True


# -- 3. lost ledger records -------------------------------------------------------------------------

def test_status_and_audit_say_the_ledger_lost_records(served: Path, cli: Cli) -> None:
    deployed_v1(served, cli)
    commit = git(served, "rev-parse", "HEAD").strip()
    assert cli.ok("-C", str(served), "status", "--json").json["ledger_lost"] == []
    git(served, "update-ref", "-d", "refs/notes/modelreg")  # the ledger rewritten, or lost
    status = cli("-C", str(served), "status")
    assert "the ledger lost a record" in status.err and f"fraud production v1, deployed from {commit[:12]}" \
        in status.err
    lost = cli("-C", str(served), "status", "--json").json["ledger_lost"]
    assert [(x["model"], x["alias"], x["version"], x["commit"]) for x in lost] == [
        ("fraud", "production", 1, commit)]
    entries = cli.ok("-C", str(served), "audit", "--json").json
    assert [(e["event"], e["model"], e["alias"], e["to"], e["commit"]) for e in entries
            if e["event"] == "ledger-lost"] == [("ledger-lost", "fraud", "production", 1, commit)]
    assert "the ledger lost a record" in cli.ok("-C", str(served), "audit").err
    assert "ledger-lost" in cli.ok("-C", str(served), "audit", "--csv").out


# -- hashing ----------------------------------------------------------------------------------------

def test_artifact_sha256_matches_the_registered_listing(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    for index in range(5):
        (folder / f"part{index}").mkdir(parents=True)
        (folder / f"part{index}" / "weights.bin").write_bytes(os.urandom(3000 + index))
    expected = listing_sha256([digest(p, rel) for p, rel in walk_files(folder)])
    assert artifact_sha256(folder, threads=4) == artifact_sha256(folder) == expected


def test_the_reconcile_workflow_runs_the_hashing_path(served: Path, cli: Cli) -> None:
    from modelreg.formats import models
    from modelreg.write import workflows

    config = models.RegistryConfig.model_validate(yaml.safe_load((served / "modelreg.yaml").read_text()))
    job = yaml.safe_load(workflows.files(config)[workflows.RECONCILE_PATH])["jobs"]["reconcile-production"]
    runs = [step["run"] for step in job["steps"] if "reconcile" in step.get("run", "")]
    assert runs == ["modelreg reconcile --env production --push-ledger"]
    # reconcile has no fast path to choose: it always hashes (test_reconcile_hashes_... above)
    assert cli("reconcile", "--fast").code == 2


def test_the_deploy_jobs_checkout_deploys_and_a_late_run_exits_0(served: Path, tmp_path: Path,
                                                                 cli: Cli) -> None:
    origin = _with_origin(served, tmp_path)
    set_aliases(served, production=1)
    first = commit_all(served, "Promote v1 (#1)")
    set_aliases(served, production=2)
    second = commit_all(served, "Promote v2 (#2)")
    git(served, "push", "-q", "origin", "main")
    job = _clone(origin, tmp_path / "job")  # what actions/checkout leaves: the pushed commit, detached
    git(job, "checkout", "-q", "--detach", second)
    report = deploy(cli, job, "--before", first, "--after", second, "--push-ledger")
    assert [(d["after"], d["outcome"]) for d in report["deployments"]] == [(2, "succeeded")]
    late = _clone(origin, tmp_path / "late")  # the older merge's run, queued behind
    git(late, "checkout", "-q", "--detach", first)
    result = deploy(cli, late, "--before", f"{first}~1", "--after", first, "--push-ledger")
    assert result["superseded"] is True and "is not the tip of main" in result["refused"]
    assert os.readlink(srv(served) / "fraud" / "production") == "2"


def test_a_version_directory_swapped_for_a_link_is_not_live(served: Path, cli: Cli, tmp_path: Path) -> None:
    import shutil

    version_dir = deployed_v1(served, cli)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(version_dir, elsewhere)  # the right bytes and record, outside the target
    shutil.rmtree(version_dir)
    version_dir.symlink_to(elsewhere)
    result = cli("-C", str(served), "status")
    assert result.code == 1 and "is a symbolic link, not a version this target wrote" in result.out
    # the link is not modelreg's: neither followed nor replaced, until its owner takes it away
    refused = cli("-C", str(served), "deploy")
    assert refused.code == 1 and "holds files modelreg did not write (1)" in refused.out
    assert version_dir.is_symlink() and (elsewhere / "model.pkl").exists()
    version_dir.unlink()
    assert deploy(cli, served)["deployments"][0]["outcome"] == "succeeded"
    assert not version_dir.is_symlink() and served_bytes(served, 1) == _manifest_sha(served, 1)


def test_a_kserve_manifest_is_never_live(served: Path, cli: Cli) -> None:
    set_config(served, environments={"production": {"alias": "production", "targets": [
        {"type": "kserve", "path": str(served.parent / "gitops"), "namespace": "ml",
         "storage_uri": "s3://serving/{model}/v{version}"}]}})
    set_aliases(served, production=1)
    commit_all(served, "Promote v1 to KServe")
    result = deploy(cli, served)["deployments"][0]
    assert result["outcome"] == "succeeded" and "live" not in result["message"]
    assert result["targets"][0]["verified"] is False
    again = deploy(cli, served)["deployments"][0]
    assert again["outcome"] == "unchanged" and "bytes not verifiable" in again["message"]
    status = cli("-C", str(served), "status", "--json")
    row = status.json["rows"][0]
    assert status.code == 0 and (row["state"], row["ok"]) == ("unverified", False)
    assert "bytes not verifiable" in row["unverified"][0]


def test_an_origin_that_never_answers_is_given_up_on_in_time(served: Path, tmp_path: Path, cli: Cli,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """git has no deadline of its own: a remote that accepts the connection and then trickles
    would hold `deploy` (and the ledger's fetch and push) forever."""
    import time

    from tests.http_sink import Trickle

    _with_origin(served, tmp_path)
    set_aliases(served, production=1)
    commit_all(served, "Promote v1")
    git(served, "push", "-q", "origin", "main")
    monkeypatch.setenv("MODELREG_GIT_TIMEOUT", "2")
    with Trickle(interval=1.0, headers=False) as server:
        git(served, "remote", "set-url", "origin", f"{server.url}/registry.git")
        start = time.monotonic()
        result = cli("-C", str(served), "deploy")
        took = time.monotonic() - start
    assert result.code == 4 and "`git fetch` got no complete answer from the remote within 2 s" in result.err
    assert "MODELREG_GIT_TIMEOUT" in result.err and took < 20
    assert not srv(served).exists()
    monkeypatch.setenv("MODELREG_GIT_TIMEOUT", "soon")
    bad = cli("-C", str(served), "deploy")
    assert bad.code == 1 and "MODELREG_GIT_TIMEOUT='soon' is not a number of seconds" in bad.err


def test_a_name_with_a_line_break_is_refused_in_every_listing(tmp_path: Path) -> None:
    """A directory's sha256 is the sha256 of its listing, a line per file: a file named
    ``config.json\\n<sha>  weights/w.bin`` would make another set of files list the same. Such a
    name is refused wherever a listing is made: register, a target's re-hash, a signature's files."""
    from modelreg.edges.hashing import FileDigest, artifact_sha256, listing_sha256
    from modelreg.errors import InputError

    model = tmp_path / "model"
    (model / "weights").mkdir(parents=True)
    (model / "weights/w.bin").write_bytes(b"w")
    forged = f"config.json\n{'0' * 64}  weights/w.bin"
    with pytest.raises(InputError, match="line break"):
        listing_sha256([FileDigest(forged, "", "1" * 64, 0)])
    (model / forged.replace("/", "_")).write_bytes(b"{}")
    with pytest.raises(InputError, match="line break"):
        artifact_sha256(model)
