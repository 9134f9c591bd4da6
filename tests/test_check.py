"""``modelreg check``: each gate passes good changes and fails bad ones with a clear finding."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.helpers import (
    Cli,
    Scenarios,
    build_file_tree,
    commit_all,
    copy_scenario,
    git,
    register,
    set_aliases,
)

POLICY = """\
schema_version: 1
required: [description, metrics.roc_auc]
thresholds:
  roc_auc: {min: 0.9}
  latency_p95_ms: {max: 50}
slices:
  roc_auc: {min: 0.85, max_gap: 0.05}
regression:
  - {metric: roc_auc, against: production, max_drop: 0.01}
artifact:
  max_size: 100000
  formats: [onnx, pickle]
promotion:
  production:
    after: staging
    min_soak: 1h
"""

GOOD = {"roc_auc": 0.95, "latency_p95_ms": 20,
        "slices": {"visa": {"roc_auc": 0.94}, "master": {"roc_auc": 0.93}}}


def hours_ago(hours: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - hours * 3600))


@pytest.fixture
def main_branch(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """main: the policy above, fraud v1 registered and in production; then a feature branch: built
    once per session, a private copy."""
    return copy_scenario(scenarios.on_registry("check-main", cli, _main_branch), tmp_path)


def _main_branch(cli: Cli, registry: Path, workdir: Path) -> None:
    (registry / "policies" / "default.yaml").write_text(POLICY)
    commit_all(registry, "Policy")
    register(cli, registry, workdir, "fraud", "-m", "first", metrics=GOOD, seed=1)
    commit_all(registry, "Register fraud v1", date=hours_ago(72))
    set_aliases(registry, "fraud", {"staging": 1})
    commit_all(registry, "Stage v1 (#1)", date=hours_ago(48))
    set_aliases(registry, "fraud", {"staging": 1, "production": 1})
    commit_all(registry, "Promote v1 (#2)", date=hours_ago(24))
    git(registry, "switch", "-q", "-c", "feature")


def check(cli: Cli, root: Path, *args: str, code: int = 1) -> str:
    result = cli("-C", str(root), "check", *args)
    assert result.code == code, f"exit {result.code}\n{result.out}\n{result.err}"
    return result.out


def test_good_version_passes(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.952}, seed=2)
    out = check(cli, main_branch, code=0)
    assert "all 7 gates passed (fraud v2; base main at " in out


def test_a_one_version_check_imports_neither_pydantic_nor_jsonschema(main_branch: Path, workdir: Path,
                                                                     cli: Cli) -> None:
    """The start-up target: files are validated against the shipped schemas without pydantic, and
    jsonschema runs only when a registry's committed schemas differ from them."""
    import subprocess
    import sys

    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.952}, seed=2)
    commit_all(main_branch, "Register fraud v2")
    probe = ("import sys, runpy; sys.argv = ['modelreg', '-C', sys.argv[1], 'check', '--head', '--offline']\n"
             "try:\n    runpy.run_module('modelreg', run_name='__main__')\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "heavy = {m.split('.')[0] for m in sys.modules} & {'dvc', 'pydantic', 'jsonschema',"
             " 'model_signing', 'cryptography'}\n"
             "print('HEAVY', sorted(heavy))")
    proc = subprocess.run([sys.executable, "-c", probe, str(main_branch)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all 7 gates passed (fraud v2" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_nothing_changed_passes(main_branch: Path, cli: Cli) -> None:
    assert "no registry change" in check(cli, main_branch, code=0)


def test_all_checks_the_whole_registry(main_branch: Path, cli: Cli) -> None:
    report = cli.ok("-C", str(main_branch), "check", "--all", "--format", "json").json
    assert report["passed"] is True
    assert report["new_versions"] == ["models:/fraud/1"]


# schema -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace("roc_auc: 0.95", "roc_auc: '0.95'"),
     "metrics.roc_auc: expected a number, got a string '0.95'"),
    (lambda t: t.replace("roc_auc: 0.95", "roc_auc: .nan"), ".nan is not a finite number"),
    (lambda t: t + "surprise: 1\n", "surprise: unknown field"),
    (lambda t: t.replace("version: 2", "version: 3"), "says fraud/v3 but lives in fraud/v2"),
    (lambda t: t + "tags: {a: 1}\n", "duplicate key 'tags'"),
])
def test_schema_gate(main_branch: Path, workdir: Path, cli: Cli, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    path = main_branch / "registry/fraud/v2/version.yaml"
    path.write_text(edit(path.read_text()))
    out = check(cli, main_branch)
    assert "registry/fraud/v2/version.yaml" in out and "[schema]" in out and expected in out


def test_schema_gate_on_hand_edited_model_yaml(main_branch: Path, cli: Cli) -> None:
    set_aliases(main_branch, "fraud", {"staging": 1, "production": 1}, owners=["not an owner"])
    out = check(cli, main_branch)
    assert "registry/fraud/model.yaml" in out and "owners.0" in out


def test_schema_gate_finds_stale_schemas_and_stray_files(main_branch: Path, cli: Cli) -> None:
    (main_branch / "schemas/version.schema.json").write_text("{}\n")
    build_file_tree(main_branch, {"registry/fraud/notes.txt": "hi"})
    out = check(cli, main_branch)
    assert "schemas/version.schema.json: [schema] is missing or differs" in out
    assert "registry/fraud/notes.txt" in out


def test_committed_json_schema_is_enforced(main_branch: Path, workdir: Path, cli: Cli) -> None:
    import json

    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    schema_path = main_branch / "schemas/version.schema.json"
    doc = json.loads(schema_path.read_text())
    doc["required"].append("owner_signature")
    schema_path.write_text(json.dumps(doc))
    out = check(cli, main_branch)
    assert "fails schemas/version.schema.json: 'owner_signature' is a required property" in out


# immutability -------------------------------------------------------------------------------------

def test_editing_a_released_version_fails(main_branch: Path, cli: Cli) -> None:
    path = main_branch / "registry/fraud/v1/version.yaml"
    path.write_text(path.read_text().replace("first", "rewritten history"))
    out = check(cli, main_branch)
    assert "[immutability] fraud v1 is released on the base and was changed" in out
    assert "archived" in out


def test_deleting_a_released_version_fails_once(main_branch: Path, cli: Cli) -> None:
    shutil.rmtree(main_branch / "registry/fraud/v1")
    out = check(cli, main_branch)
    assert out.count("[immutability] fraud v1 is released on the base and was deleted") == 1


def test_schema_version_cannot_change(main_branch: Path, cli: Cli) -> None:
    path = main_branch / "modelreg.yaml"
    path.write_text(path.read_text().replace("schema_version: 1", "schema_version: 2"))
    out = check(cli, main_branch)
    assert "schema_version changed from 1 to 2" in out


# numbering --------------------------------------------------------------------------------------

def test_skipping_a_number_fails(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    os.rename(main_branch / "registry/fraud/v2", main_branch / "registry/fraud/v3")
    path = main_branch / "registry/fraud/v3/version.yaml"
    path.write_text(path.read_text().replace("version: 2", "version: 3"))
    out = check(cli, main_branch)
    assert "[numbering] v3 is not the next free number (v2)" in out


def test_number_taken_on_main_meanwhile(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "mine", metrics=GOOD, seed=2)
    commit_all(main_branch, "Register v2 on feature")
    git(main_branch, "switch", "-q", "-c", "other", "main")
    register(cli, main_branch, workdir, "fraud", "-m", "theirs", metrics=GOOD, seed=3)
    commit_all(main_branch, "Register v2 on other")
    git(main_branch, "switch", "-q", "main")
    git(main_branch, "merge", "-q", "--no-ff", "-m", "Merge pull request #5", "other")
    git(main_branch, "switch", "-q", "feature")
    out = check(cli, main_branch)
    assert "[numbering] v2 is already taken on main" in out and "rename the directory to v3" in out


def test_same_number_two_spellings(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    shutil.copytree(main_branch / "registry/fraud/v2", main_branch / "registry/fraud/v02")
    out = check(cli, main_branch)
    assert "'v02' is not how version 2 is written" in out
    assert "are both version 2" in out


# artifact ---------------------------------------------------------------------------------------

def test_artifact_missing_from_remote(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    md5 = yaml.safe_load((main_branch / "registry/fraud/v2/version.yaml").read_text())["artifact"]["md5"]
    (main_branch / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]).unlink()
    out = check(cli, main_branch)
    assert f"[artifact] artifact.md5: the artifact of fraud v2 ({md5}) is not in the DVC remote" in out
    assert "dvc push registry/fraud/v2/model.pkl.dvc" in out
    assert "passed" in check(cli, main_branch, "--offline", code=0)


def test_pointer_disagreeing_with_manifest(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    path = main_branch / "registry/fraud/v2/model.pkl.dvc"
    path.write_text(path.read_text().replace("size: 4096", "size: 4097"))
    out = check(cli, main_branch)
    assert "artifact.size: the DVC pointer says 4097 but version.yaml says 4096" in out


def test_verify_artifacts_catches_a_swapped_object(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    check(cli, main_branch, "--verify-artifacts", code=0)
    md5 = yaml.safe_load((main_branch / "registry/fraud/v2/version.yaml").read_text())["artifact"]["md5"]
    obj = main_branch / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"x" * 4096)  # same size: only the hash tells
    shutil.rmtree(main_branch / ".dvc/cache")
    out = check(cli, main_branch, "--verify-artifacts")
    assert "[artifact]" in out and "models:/fraud/2" in out


def _swap_remote_object(root: Path) -> bytes:
    md5 = yaml.safe_load((root / "registry/fraud/v2/version.yaml").read_text())["artifact"]["md5"]
    obj = root / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"x" * 4096)  # same size and permissions: only the hash tells
    os.chmod(obj, 0o444)
    shutil.rmtree(root / ".dvc/cache")
    return obj.read_bytes()


def test_the_gate_verifies_sha256_by_default(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    swapped = _swap_remote_object(main_branch)
    out = check(cli, main_branch, "--gate", "artifact")
    assert "registry/fraud/v2/version.yaml: [artifact] artifact.sha256: models:/fraud/2: the artifact in " \
        "the DVC remote" in out
    assert "the object was left in the remote as evidence" in out
    md5 = yaml.safe_load((main_branch / "registry/fraud/v2/version.yaml").read_text())["artifact"]["md5"]
    assert (main_branch / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]).read_bytes() == swapped


@pytest.mark.parametrize(("setting", "note"), [
    ("check: {verify_sha256: false}\n",
     "note: sha256 of fraud v2 not verified: check.verify_sha256 is false in modelreg.yaml"),
    ("check: {verify_max_size: 1000}\n",
     "note: sha256 of fraud v2 (4,096 bytes) not verified: over check.verify_max_size (1,000 bytes)"),
])
def test_verification_can_be_turned_off_and_the_report_says_so(main_branch: Path, workdir: Path, cli: Cli,
                                                               setting: str, note: str) -> None:
    git(main_branch, "switch", "-q", "main")  # the setting is the registry's, on the base branch
    config = main_branch / "modelreg.yaml"
    config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), **yaml.safe_load(setting)}))
    commit_all(main_branch, "Large models: verify by size only")
    git(main_branch, "switch", "-q", "feature")
    git(main_branch, "merge", "-q", "main")
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    _swap_remote_object(main_branch)
    out = check(cli, main_branch, "--gate", "artifact", code=0)
    assert note in out
    markdown = check(cli, main_branch, "--gate", "artifact", "--format", "markdown", code=0)
    assert "### Not checked" in markdown and note.removeprefix("note: ") in markdown
    # --verify-artifacts overrides the setting
    assert "models:/fraud/2: the artifact in the DVC remote" in check(
        cli, main_branch, "--gate", "artifact", "--verify-artifacts")


@pytest.mark.parametrize("setting", ["check: {verify_sha256: false}\n", "check: {verify_max_size: 10}\n"])
def test_a_pull_request_cannot_switch_off_its_own_verification(main_branch: Path, workdir: Path, cli: Cli,
                                                               setting: str) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    config = main_branch / "modelreg.yaml"
    config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), **yaml.safe_load(setting)}))
    _swap_remote_object(main_branch)
    out = check(cli, main_branch, "--gate", "artifact")
    assert "models:/fraud/2: the artifact in the DVC remote" in out and "note:" not in out


def test_remote_down_is_a_finding(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    config = main_branch / ".dvc/config"
    config.write_text(config.read_text().replace("url = ", "url = ssh://nobody@127.0.0.1:1/"))
    out = check(cli, main_branch, "--gate", "artifact")
    assert "[artifact] querying the DVC remote failed" in out and "check the remote in .dvc/config" in out


def test_an_http_remote_that_does_not_answer_is_not_read_as_missing(main_branch: Path, workdir: Path,
                                                                     cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = main_branch / ".dvc/config"
    config.write_text(re.sub(r"url = .*", f"url = http://127.0.0.1:{port}/store", config.read_text()))
    out = check(cli, main_branch, "--gate", "artifact")
    assert "[artifact] the DVC remote 'storage' did not answer: ClientConnectorError" in out
    assert "is not in the DVC remote" not in out


# policy -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("metrics", "expected"), [
    ({**GOOD, "roc_auc": 0.89}, "metrics.roc_auc: 0.89 is outside the threshold (>= 0.9)"),
    ({**GOOD, "latency_p95_ms": 70}, "metrics.latency_p95_ms: 70 is outside the threshold (<= 50)"),
    ({k: v for k, v in GOOD.items() if k != "latency_p95_ms"}, "metrics.latency_p95_ms: is missing"),
    ({**GOOD, "roc_auc": 0.93}, "metrics.roc_auc: 0.93 is 0.02 below production v1 (0.95)"),
    ({**GOOD, "slices": {"visa": {"roc_auc": 0.95}, "master": {"roc_auc": 0.86}}},
     "roc_auc differs by 0.09 between 'visa' and 'master' (max_gap 0.05)"),
    ({**GOOD, "slices": {"visa": {"roc_auc": 0.95}, "master": {"roc_auc": 0.80}}},
     "slices.master.roc_auc: 0.8 on slice 'master' breaks >= 0.85"),
    ({"roc_auc": 0.95, "latency_p95_ms": 20}, "no slice reports roc_auc"),
])
def test_policy_gate(main_branch: Path, workdir: Path, cli: Cli, metrics: dict, expected: str) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=metrics, seed=2)
    out = check(cli, main_branch)
    assert "[policy]" in out and expected in out and "(policy default)" in out


@pytest.mark.parametrize(("value", "expected"), [("'0.95'", "is a string ('0.95'), not a number"),
                                                 ("true", "is a boolean (True), not a number")])
def test_policy_gate_on_non_numbers(main_branch: Path, workdir: Path, cli: Cli, value: str,
                                    expected: str) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    path = main_branch / "registry/fraud/v2/version.yaml"
    path.write_text(path.read_text().replace("  roc_auc: 0.95\n", f"  roc_auc: {value}\n", 1))
    out = check(cli, main_branch)
    assert f"[policy] metrics.roc_auc: {expected}" in out
    assert "[schema]" in out


def test_policy_gate_on_nan_says_it_cannot_evaluate(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    path = main_branch / "registry/fraud/v2/version.yaml"
    path.write_text(path.read_text().replace("  roc_auc: 0.95\n", "  roc_auc: .nan\n", 1))
    out = check(cli, main_branch)
    assert "[policy] cannot be evaluated" in out and ".nan is not a finite number" in out


def test_policy_required_fields_format_and_size(main_branch: Path, workdir: Path, cli: Cli) -> None:
    from tests.helpers import artifact

    art = artifact(workdir / "big.safetensors", size=200_000)
    cli.ok("-C", str(main_branch), "register", "fraud", "--artifact", str(art), "--metric", "roc_auc=0.95")
    out = check(cli, main_branch)
    assert "description: is required" in out
    assert "format 'safetensors' is not allowed (allowed: onnx, pickle)" in out
    assert "200,000 bytes is over the limit of 100,000" in out


def test_policy_named_in_model_yaml_must_exist(main_branch: Path, cli: Cli) -> None:
    set_aliases(main_branch, "fraud", {"staging": 1, "production": 1}, policy="strict")
    out = check(cli, main_branch)
    assert "names the policy 'strict', which is not in policies/" in out


def test_policy_selected_by_applies_to(main_branch: Path, workdir: Path, cli: Cli) -> None:
    lenient = "schema_version: 1\napplies_to: {tags: {risk: low}}\nthresholds: {roc_auc: {min: 0.5}}\n"
    (main_branch / "policies/lenient.yaml").write_text(lenient)
    register(cli, main_branch, workdir, "fraud", "-m", "second", "--tag", "risk=low",
             metrics={"roc_auc": 0.6}, seed=2)
    # in the same pull request as the policy it would pass by, the version is also judged as before
    report = cli("-C", str(main_branch), "check", "--format", "json").json
    assert report["comparisons"][0]["policy"] == "lenient"
    assert report["gates"]["policy"]["passed"] is False
    # once the policy is on main (its own, reviewed, pull request) and governs the model's
    # versions there, it governs alone
    shutil.rmtree(main_branch / "registry/fraud/v2")
    git(main_branch, "switch", "-q", "main")
    v1 = main_branch / "registry/fraud/v1/version.yaml"
    v1.write_text(v1.read_text().replace("tags: {}", "tags:\n  risk: low"))
    commit_all(main_branch, "A lenient policy for low-risk versions")
    git(main_branch, "switch", "-q", "feature")
    git(main_branch, "merge", "-q", "main")
    register(cli, main_branch, workdir, "fraud", "-m", "second", "--tag", "risk=low",
             metrics={"roc_auc": 0.6}, seed=2)
    report = cli("-C", str(main_branch), "check", "--format", "json").json
    assert report["comparisons"][0]["policy"] == "lenient"
    assert report["gates"]["policy"]["passed"] is True


# promotion --------------------------------------------------------------------------------------

def test_alias_on_missing_archived_or_rejected_version(main_branch: Path, cli: Cli) -> None:
    set_aliases(main_branch, "fraud", {"staging": 7, "production": 1, "champion": 1}, archived=[1])
    out = check(cli, main_branch)
    assert "aliases.staging: points at v7, which does not exist" in out
    assert "aliases.champion: points at v1, which is archived" in out
    set_aliases(main_branch, "fraud", {"production": 1}, archived=[],
                rejected=[{"version": 1, "reason": "bias"}])
    assert "points at v1, which was rejected (bias)" in check(cli, main_branch)


def test_promotion_must_pass_through_staging(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    commit_all(main_branch, "v2")
    git(main_branch, "switch", "-q", "main")
    git(main_branch, "merge", "-q", "--no-ff", "-m", "Merge pull request #3", "feature")
    git(main_branch, "switch", "-q", "-c", "promote")
    set_aliases(main_branch, "fraud", {"staging": 1, "production": 2})
    out = check(cli, main_branch)
    assert "[promotion] aliases.production: v2 goes to production but was never in staging on main" in out


def test_promotion_soak_time(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    set_aliases(main_branch, "fraud", {"staging": 2, "production": 1})
    commit_all(main_branch, "Stage v2 (#4)", date=hours_ago(0.25))
    git(main_branch, "switch", "-q", "main")
    git(main_branch, "merge", "-q", "--ff-only", "feature")
    git(main_branch, "switch", "-q", "-c", "promote")
    set_aliases(main_branch, "fraud", {"staging": 2, "production": 2})
    out = check(cli, main_branch)
    assert "v2 has been in staging for 15m; 1h required" in out


def test_soaked_promotion_passes_with_a_comparison(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.96}, seed=2)
    set_aliases(main_branch, "fraud", {"staging": 2, "production": 1})
    commit_all(main_branch, "Stage v2 (#4)", date=hours_ago(2))
    git(main_branch, "switch", "-q", "main")
    git(main_branch, "merge", "-q", "--ff-only", "feature")
    git(main_branch, "switch", "-q", "-c", "promote")
    set_aliases(main_branch, "fraud", {"staging": 2, "production": 2})
    markdown = check(cli, main_branch, "--format", "markdown", code=0)
    assert "### fraud v2 vs production (v1) — policy `default`" in markdown
    assert "| roc_auc | 0.95 | 0.96 | +0.01 | >= 0.9; drop <= 0.01 vs production | ✅ |" in markdown


# reporting --------------------------------------------------------------------------------------

def test_markdown_and_json_reports(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.89}, seed=2)
    markdown = check(cli, main_branch, "--format", "markdown")
    assert markdown.startswith("## modelreg check: failed")
    assert "| policy | ❌ fail | 2 |" in markdown and "| schema | ✅ pass | 0 |" in markdown
    assert "| roc_auc | 0.95 | 0.89 | -0.06 |" in markdown
    report = cli("-C", str(main_branch), "check", "--format", "json").json
    assert report["passed"] is False
    assert report["gates"]["policy"]["findings"][0]["field"] == "metrics.roc_auc"
    assert report["gates"]["policy"]["findings"][0]["line"] is not None


def test_github_actions_annotations_and_summary(main_branch: Path, workdir: Path, cli: Cli,
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.89}, seed=2)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = check(cli, main_branch)
    assert "::error file=registry/fraud/v2/version.yaml,line=" in out
    assert "title=modelreg policy::metrics.roc_auc: 0.89 is outside the threshold" in out
    assert summary.read_text().startswith("## modelreg check: failed")


def test_unknown_gate_is_a_usage_error(main_branch: Path, cli: Cli) -> None:
    assert "unknown gate" in cli.fails("-C", str(main_branch), "check", "--gate", "vibes", code=2).err


def test_base_must_exist(main_branch: Path, cli: Cli) -> None:
    result = cli.fails("-C", str(main_branch), "check", "--base", "nope")
    assert "no branch 'nope' (nor origin/nope)" in result.err


def test_pre_commit_hook_entry_checks_what_is_staged(main_branch: Path, workdir: Path, cli: Cli) -> None:
    import re
    import shlex

    hooks = yaml.safe_load((Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "modelreg-check")
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    assert re.search(hook["files"], "registry/fraud/v2/version.yaml")
    assert not re.search(hook["files"], "src/train.py")
    program, subcommand, *args = shlex.split(hook["entry"])
    assert (program, subcommand) == ("modelreg", "check")
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.5}, seed=2)
    assert "no registry change" in check(cli, main_branch, *args, code=0)  # nothing staged yet
    git(main_branch, "add", "-A")
    out = check(cli, main_branch, *args)
    assert "[policy] metrics.roc_auc: 0.5 is outside the threshold" in out
    # Staged: the alias; not staged: the version it points at. The commit would be broken.
    git(main_branch, "reset", "-q")
    set_aliases(main_branch, "fraud", {"staging": 2, "production": 1})
    git(main_branch, "add", "registry/fraud/model.yaml")
    assert "aliases.staging: points at v2, which does not exist" in check(cli, main_branch, *args)


def test_head_checks_what_is_committed_only(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.5}, seed=2)
    assert "no registry change" in check(cli, main_branch, "--head", code=0)  # not committed yet
    assert "[policy]" in check(cli, main_branch)  # the work tree sees it
    commit_all(main_branch, "Register v2")
    assert "[policy] metrics.roc_auc: 0.5 is outside the threshold" in check(cli, main_branch, "--head")


def test_committed_local_state_is_refused(main_branch: Path, cli: Cli) -> None:
    (main_branch / ".modelreg/cache").mkdir(parents=True)
    (main_branch / ".modelreg/cache/planted").write_text("answers")
    git(main_branch, "add", "-f", ".modelreg/cache/planted")
    commit_all(main_branch, "tidy")
    out = check(cli, main_branch, "--head")
    assert ".modelreg/cache/planted: [schema] is this machine's local state and must not be committed" in out


def test_hostile_names_cannot_inject_lines_into_ci_logs(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    path = main_branch / "registry/fraud/v2/version.yaml"
    path.write_text(path.read_text().replace(
        "  latency_p95_ms: 20",
        '  "x\\n::warning title=injected::approved by model-risk": 1\n  latency_p95_ms: 20'))
    for fmt in ("text", "markdown"):
        out = check(cli, main_branch, "--format", fmt)
        assert not any(line.startswith("::") for line in out.splitlines()), out


# Review fixes: the base as git resolves it; every model's promotion findings; names in lists ----

def test_base_is_the_local_branch_not_a_stale_origin(main_branch: Path, workdir: Path, cli: Cli) -> None:
    main = git(main_branch, "rev-parse", "main").strip()
    git(main_branch, "update-ref", "refs/remotes/origin/main", "main~3")  # fetched long ago
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    report = json.loads(check(cli, main_branch, "--base", "main", "--offline", "--format", "json",
                              code=0))
    assert report["base"] == {"ref": "main", "commit": main}
    assert report["new_versions"] == ["models:/fraud/2"]  # not v1 too, as a stale origin/main would say
    assert f"base main at {main[:12]})" in check(cli, main_branch, "--base", "main", "--offline", code=0)
    git(main_branch, "branch", "-D", "main")  # no local main: origin/main it is, and the report says so
    stale = cli("-C", str(main_branch), "check", "--base", "main", "--offline").out
    assert "fraud v1, fraud v2" in stale and "base origin/main at" in stale


def test_one_models_finding_does_not_hide_anothers(main_branch: Path, workdir: Path, cli: Cli) -> None:
    register(cli, main_branch, workdir, "alpha", "-m", "first", metrics=GOOD, seed=3)
    git(main_branch, "add", "-A")
    git(main_branch, "commit", "-qm", "alpha v1")
    git(main_branch, "switch", "-q", "main")
    git(main_branch, "merge", "-q", "--ff-only", "feature")
    git(main_branch, "switch", "-q", "-c", "promote-both")
    set_aliases(main_branch, "alpha", {"staging": 9})  # checked first, and wrong
    set_aliases(main_branch, "fraud", {"staging": 1, "production": 1, "champion": 1})
    register(cli, main_branch, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    set_aliases(main_branch, "fraud", {"staging": 1, "production": 2})
    out = check(cli, main_branch, "--offline", "--gate", "promotion")
    assert "registry/alpha/model.yaml: [promotion] aliases.staging: points at v9, which does not exist" in out
    assert "aliases.production: v2 goes to production but was never in staging" in out


@pytest.mark.parametrize(("state", "field"), [
    ({"archived": [7]}, "archived"),
    ({"rejected": [{"version": 7, "reason": "bias review"}]}, "rejected"),
])
def test_archived_or_rejected_must_name_an_existing_version(main_branch: Path, cli: Cli,
                                                            state: dict, field: str) -> None:
    set_aliases(main_branch, "fraud", {"staging": 1, "production": 1}, **state)
    out = check(cli, main_branch, "--offline")
    assert (f"registry/fraud/model.yaml: [promotion] {field}: names v7, which does not exist; "
            f"take v7 out of {field} (a typo?)") in out


def test_annotations_escape_what_a_pull_request_controls(main_branch: Path, cli: Cli,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    evil = main_branch / "registry" / "fraud" / "x%0A\n::warning title=forged::approved,by:risk"
    evil.write_text("planted\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = check(cli, main_branch, "--offline", "--gate", "schema")
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error file=registry/fraud/x%250A%0A%3A%3Awarning title=forged%3A%3Aapproved%2Cby%3Arisk,"
        "title=modelreg schema::is not part of a registry's layout; registry/<model>/ holds model.yaml "
        "and v<N>/ directories only"], out


def test_the_index_lists_only_what_is_below_a_directory(main_branch: Path) -> None:
    from modelreg.edges.snapshot import Index

    # registry/.gitkeep is staged too: its tail must not read as an entry of registry/fraud
    assert Index(str(main_branch)).listdir("registry/fraud") == ["model.yaml", "v1"]
    assert "fraud" in Index(str(main_branch)).listdir("registry")


STRICT = """\
schema_version: 1
thresholds:
  roc_auc: {min: 0.99}
promotion:
  champion: {after: staging, min_soak: 1000h}
"""


@pytest.fixture
def strict_model(main_branch: Path) -> Path:
    """fraud governed by policies/strict.yaml on main; the feature branch up to date with it."""
    git(main_branch, "switch", "-q", "main")
    (main_branch / "policies" / "strict.yaml").write_text(STRICT)
    path = main_branch / "registry/fraud/model.yaml"
    path.write_text(path.read_text().replace("owners:", "policy: strict\nowners:"))
    commit_all(main_branch, "fraud is governed by the strict policy")
    git(main_branch, "switch", "-q", "feature")
    git(main_branch, "merge", "-q", "main")
    return main_branch


def _switch_policy(root: Path, **aliases: int) -> None:
    path = root / "registry/fraud/model.yaml"
    path.write_text(path.read_text().replace("policy: strict", "policy: default"))
    if aliases:
        doc = yaml.safe_load(path.read_text())
        doc["aliases"] = {**doc["aliases"], **aliases}
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_switching_policy_in_the_same_pr_does_not_escape_its_thresholds(strict_model: Path, workdir: Path,
                                                                        cli: Cli) -> None:
    register(cli, strict_model, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    _switch_policy(strict_model)
    out = check(cli, strict_model, "--offline")
    assert "metrics.roc_auc: 0.95 is outside the threshold (>= 0.99)" in out
    assert "(policy strict (on main))" in out


def test_switching_policy_in_the_same_pr_does_not_escape_its_promotion_rule(strict_model: Path,
                                                                            cli: Cli) -> None:
    _switch_policy(strict_model, champion=1)
    out = check(cli, strict_model, "--offline", "--gate", "promotion")
    assert "aliases.champion: v1 has been in staging for" in out and "1000h required" in out
    assert "(policy strict (on main))" in out


def test_a_version_cannot_tag_itself_into_weaker_rules(main_branch: Path, workdir: Path, cli: Cli) -> None:
    from modelreg.approvals.pull_request import requirements

    git(main_branch, "switch", "-q", "main")
    (main_branch / "policies/high-risk.yaml").write_text(
        "schema_version: 1\napplies_to: {tags: {risk: high}}\nthresholds: {roc_auc: {min: 0.99}}\n"
        "promotion:\n  production:\n    approvals: {count: 2, from: ['@acme/model-risk']}\n")
    v1 = main_branch / "registry/fraud/v1/version.yaml"  # v1, in production, is high risk
    v1.write_text(v1.read_text().replace("tags: {}", "tags:\n  risk: high"))
    commit_all(main_branch, "fraud v1 is high risk")
    git(main_branch, "switch", "-q", "feature")
    git(main_branch, "merge", "-q", "main")
    # the PR's own version says it is low risk, to be judged by the default policy alone
    register(cli, main_branch, workdir, "fraud", "-m", "second", "--tag", "risk=low", metrics=GOOD, seed=2)
    out = check(cli, main_branch, "--offline", "--gate", "policy")
    assert "0.95 is outside the threshold (>= 0.99)" in out and "(policy high-risk (on main))" in out
    set_aliases(main_branch, "fraud", {"staging": 1, "production": 2})
    commit_all(main_branch, "v2, low risk by its own tags, to production")
    found = requirements(str(main_branch), "main").requirements
    assert ("production", 2, "high-risk (on main)") in [(r.alias, r.count, r.policy) for r in found]


@pytest.mark.parametrize("how", ["relax the default", "name a new lax policy"])
def test_a_new_model_cannot_bring_laxer_rules_in_its_own_pr(main_branch: Path, workdir: Path, cli: Cli,
                                                            how: str) -> None:
    """A model the pull request creates is judged by what the base's policies would choose for it
    too: relaxing the default policy, or adding a lenient policy and naming it, in the same change
    does not lower the bar (thresholds here; the card, signing and code rules alike)."""
    if how == "relax the default":
        (main_branch / "policies/default.yaml").write_text("schema_version: 1\n")
    else:
        (main_branch / "policies/lax.yaml").write_text("schema_version: 1\n")
    register(cli, main_branch, workdir, "churn", "-m", "first", metrics={**GOOD, "roc_auc": 0.5}, seed=3)
    if how == "name a new lax policy":
        path = main_branch / "registry/churn/model.yaml"
        path.write_text(path.read_text() + "policy: lax\n")
    out = check(cli, main_branch, "--offline", "--gate", "policy")
    assert "metrics.roc_auc: 0.5 is outside the threshold (>= 0.9)" in out
    assert "(policy default (on main))" in out


def test_gates_are_independent_and_nothing_outside_checks_imports_one() -> None:
    """A gate imports no other gate, and outside ``checks/`` (approvals, deploy targets...) no module
    imports a gate: decisions they share live in ``policies/`` and ``formats/``."""
    import ast

    import modelreg
    from modelreg.checks import GATES

    package = Path(modelreg.__file__).parent
    gates = {f"modelreg.checks.{name}" for name in GATES}
    for path in sorted(package.rglob("*.py")):
        module = "modelreg." + ".".join(path.relative_to(package).with_suffix("").parts)
        if module == "modelreg.checks.__init__":
            continue  # the table of gates
        imported = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        assert not (imported & gates) - {module}, (module, sorted(imported & gates))


def test_a_deploy_target_loads_no_gate() -> None:
    code = ("import sys; import modelreg.deploy.targets.webhook, modelreg.deploy.targets.command; "
            "print(sorted(m for m in sys.modules if m.startswith('modelreg.checks')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --all: the regression rule judges candidates, not every version released before ------------------

def test_all_does_not_hold_an_old_version_against_a_better_production(main_branch: Path, workdir: Path,
                                                                      cli: Cli) -> None:
    git(main_branch, "switch", "-q", "main")
    register(cli, main_branch, workdir, "fraud", "-m", "better", metrics={**GOOD, "roc_auc": 0.99}, seed=2)
    commit_all(main_branch, "Register fraud v2", date=hours_ago(20))
    set_aliases(main_branch, "fraud", {"staging": 2, "production": 2}, archived=[1])
    commit_all(main_branch, "Promote v2, archive v1", date=hours_ago(10))
    report = cli.ok("-C", str(main_branch), "check", "--all", "--format", "json").json
    assert report["passed"] is True, report
    assert report["new_versions"] == ["models:/fraud/1", "models:/fraud/2"]
    # a real candidate worse than production still fails, with --all and without
    git(main_branch, "switch", "-q", "-c", "worse")
    register(cli, main_branch, workdir, "fraud", "-m", "worse", metrics=GOOD, seed=3)
    for args in (["--all"], []):
        out = check(cli, main_branch, *args)
        assert "metrics.roc_auc: 0.95 is 0.04 below production v2 (0.99)" in out, out
        assert "fraud/v1" not in out and "fraud/v2/" not in out, out
