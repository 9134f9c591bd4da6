"""The Python API mirrors the CLI: Registry, ModelVersion, load_path."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import modelreg
from modelreg import Registry, load_path
from modelreg.errors import ModelregError, NotFoundError
from modelreg.write.register import Registration
from tests.helpers import Cli, artifact, commit_all, git, regenerate_workflows, register, set_aliases


def test_resolve_and_download(registry: Path, workdir: Path, cli: Cli, tmp_path: Path) -> None:
    register(cli, registry, workdir, metrics={"roc_auc": 0.9724}, seed=1)
    set_aliases(registry, "fraud-detector", {"champion": 1})
    reg = Registry(registry)
    mv = reg.resolve("models:/fraud-detector@champion")
    assert mv.metrics["roc_auc"] == 0.9724
    assert mv.aliases == ("champion",)
    assert mv.uri == "models:/fraud-detector/1"
    path = mv.download(f"{tmp_path}/out/")
    assert path == tmp_path / "out" / "model.pkl"
    assert path.read_bytes() == (workdir / "fraud-detector-1" / "model.pkl").read_bytes()


def test_registry_found_from_a_subdirectory(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir)
    assert Registry(registry / "registry" / "fraud-detector").root == registry


def test_register_from_python(registry: Path, workdir: Path) -> None:
    art = artifact(workdir / "model.onnx")
    done = Registry(registry).register(Registration(model="m", artifact=art, metrics={"auc": 0.9},
                                                    owners=["@acme/ml"]))
    assert done.version == 1
    assert Registry(registry).version("m", 1).artifact["format"] == "onnx"


def test_past_registry_is_read_only(registry: Path, workdir: Path) -> None:
    with pytest.raises(ModelregError, match="cannot register into a past revision"):
        Registry(registry, at="HEAD").register(Registration(model="m", artifact=workdir))


def test_load_path_caches_and_reverifies(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, seed=2)
    commit_all(registry, "v1")
    first = load_path("models:/fraud-detector/1", registry=registry)
    assert first == registry / ".modelreg/artifacts/fraud-detector/v1/model.pkl"
    first.write_bytes(b"tampered")  # a later call notices, and fetches a verified copy again
    second = load_path("models:/fraud-detector/1", registry=registry)
    assert second.read_bytes() == (workdir / "fraud-detector-2" / "model.pkl").read_bytes()


def test_errors_are_catchable_by_builtin_type(registry: Path) -> None:
    with pytest.raises(LookupError, match="no model named 'missing'"):
        Registry(registry).resolve("models:/missing/1")
    with pytest.raises(ValueError, match="'models:/a/b/c' is not a model URI"):
        Registry(registry).resolve("models:/a/b/c")
    with pytest.raises(ValueError, match="'Not Valid' is not a valid model name"):
        Registry(registry).resolve("Not Valid/1")
    assert issubclass(NotFoundError, modelreg.ModelregError)


def test_lazy_top_level_import_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, modelreg; print('pydantic' in sys.modules, 'dvc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- the writes, gates and deployments, through Registry ------------------------------------------


def _as_printed(record: Any) -> Any:
    """A record's ``to_dict()`` as ``--json`` prints it (the CLI's json.dumps, default=str)."""
    return json.loads(json.dumps(record.to_dict(), default=str))


@pytest.fixture
def served(registry: Path, workdir: Path, tmp_path: Path, cli: Cli) -> Path:
    """fraud v1, v2 on main; production served from a directory target; no promotion rules."""
    config = yaml.safe_load((registry / "modelreg.yaml").read_text())
    config["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv"), "keep": 2}]}}
    (registry / "modelreg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    regenerate_workflows(registry)
    (registry / "policies/default.yaml").write_text("schema_version: 1\n")
    for seed in (1, 2):
        register(cli, registry, workdir, "fraud", "-m", f"v{seed}", seed=seed)
    commit_all(registry, "Register fraud v1-v2")
    return registry


def test_promote_check_deploy_status_audit_rollback(served: Path, tmp_path: Path) -> None:
    reg = Registry(served)
    srv = tmp_path / "srv" / "fraud" / "production"

    dry = reg.promote("fraud", 1, to="production", dry_run=True)
    assert not dry.written and [m.describe() for m in dry.moves] == ["fraud production: (none) → v1"]
    assert reg.model("fraud").aliases == {}
    for version in (1, 2):
        applied = reg.promote("fraud", version, to="production", commit=True)
        assert applied.written and applied.commit == git(served, "rev-parse", "HEAD").strip()
        assert reg.resolve("fraud@production").version == version  # the registry reads the write back
        assert reg.check(all=True, offline=True).passed
        deployed = reg.deploy()
        assert deployed.ok
        assert [(r.step.after, r.outcome) for r in deployed.results] == [(version, "succeeded")]
        assert os.readlink(srv) == str(version)

    status = reg.status()
    assert status.ok and [(r.alias, r.desired, r.served) for r in status.rows] == [("production", 2, 2)]
    nothing = reg.reconcile()
    assert nothing.ok and nothing.results == [] and nothing.to_dict()["deployments"] == []
    events = [(e.event, e.after, e.outcome) for e in reg.audit(model="fraud")]
    # (sorted: the trail orders by time, and these happen within one second)
    assert sorted((e for e in events if e[0] in ("alias", "deployment")), key=str) == [
        ("alias", 1, None), ("alias", 2, None),
        ("deployment", 1, "succeeded"), ("deployment", 2, "succeeded")]

    back = reg.rollback("fraud", alias="production", commit=True)
    assert [m.describe() for m in back.moves] == ["fraud production: v2 → v1"]
    assert reg.deploy().ok and os.readlink(srv) == "1"
    assert reg.status().rows[0].served == 1


def test_demote_archive_reject(served: Path) -> None:
    reg = Registry(served)
    reg.promote("fraud", 2, to="staging", commit=True)
    reg.demote("fraud", alias="staging", commit=True)
    reg.archive("fraud", 1, commit=True)
    reg.reject("fraud", 2, reason="leaks labels", commit=True)
    model = reg.model("fraud")
    assert (model.aliases, set(model.archived), model.rejected) == ({}, {1}, {2: "leaks labels"})
    with pytest.raises(ModelregError, match="cannot promote in a past revision"):
        Registry(served, at="HEAD~1").promote("fraud", 1, to="staging")


@pytest.mark.parametrize("call", ["show-model", "show-version", "search", "resolve", "list", "diff",
                                  "history", "check", "status", "audit", "approvals", "deploy"])
def test_a_records_to_dict_is_what_json_prints(served: Path, cli: Cli, call: str) -> None:
    reg = Registry(served)
    reg.promote("fraud", 2, to="production", commit=True)
    assert reg.deploy().ok
    record, args = {
        "show-model": (lambda: reg.show("fraud"), ["show", "fraud", "--json"]),
        "show-version": (lambda: reg.show("fraud@production"), ["show", "fraud@production", "--json"]),
        "search": (lambda: reg.search(["metrics.roc_auc>=0.9"]), ["search", "-w", "metrics.roc_auc>=0.9",
                                                                  "--json"]),
        "resolve": (lambda: reg.locate("fraud/latest"), ["resolve", "fraud/latest", "--json"]),
        "list": (lambda: reg.list(), ["list", "--json"]),
        "diff": (lambda: reg.diff("fraud", 1, "@production"),
                 ["diff", "fraud", "1", "@production", "--json"]),
        "history": (lambda: reg.history("fraud", offline=True), ["history", "fraud", "--offline", "--json"]),
        "check": (lambda: reg.check(all=True, offline=True), ["check", "--all", "--offline", "--format",
                                                                "json"]),
        "status": (lambda: reg.status(), ["status", "--json"]),
        "audit": (lambda: reg.audit(), ["audit", "--json"]),
        # no promotion rule here: nothing is gated, so GitHub is not asked
        "approvals": (lambda: reg.approvals(1), ["approvals", "--pr", "1", "--format", "json"]),
        "deploy": (lambda: reg.deploy(dry_run=True), ["deploy", "--dry-run", "--json"]),
    }[call]
    got = record()
    expected = (json.loads(json.dumps([r.to_dict() for r in got], default=str)) if isinstance(got, list)
                else _as_printed(got))
    assert cli.ok("-C", str(served), *args).json == expected


def test_one_json_shape_for_a_version(served: Path, cli: Cli, tmp_path: Path) -> None:
    """show, search, resolve, get and list's latest print the same keys for a version."""
    reg = Registry(served)
    shape = set(reg.version("fraud", 2).to_dict())
    assert {"model", "version", "uri", "aliases", "stage", "approval", "metrics", "tags", "manifest"} <= shape
    printed = {
        "show": cli.ok("-C", str(served), "show", "fraud/2", "--json").json,
        "show-model": cli.ok("-C", str(served), "show", "fraud", "--json").json["versions"][1],
        "search": cli.ok("-C", str(served), "search", "-w", "version=2", "--json").json[0],
        "resolve": cli.ok("-C", str(served), "resolve", "fraud/2", "--json").json,
        "get": cli.ok("-C", str(served), "get", "fraud/2", "-o", str(tmp_path / "m.pkl"), "--json").json,
        "list": cli.ok("-C", str(served), "list", "--json").json[0]["latest_version"],
    }
    for where, data in printed.items():
        assert shape <= set(data), where
        assert (data["uri"], data["manifest"]) == ("models:/fraud/2", reg.version("fraud", 2).data), where


def test_open_pr_shows_the_gate_report_of_its_one_check(served: Path, tmp_path: Path) -> None:
    """`gh` (a stand-in script on PATH) gets the gates' Markdown report as the pull request's body."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(served, "remote", "add", "origin", str(bare))
    git(served, "push", "-q", "origin", "main")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f"#!/bin/sh\ncat > {tmp_path / 'body.md'}\necho https://github.com/acme/registry/pull/7\n")
    gh.chmod(0o755)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{path}"
    try:
        applied = Registry(served).promote("fraud", 1, to="staging", open_pr=True)
    finally:
        os.environ["PATH"] = path
    assert applied.pr_url == "https://github.com/acme/registry/pull/7" and applied.pushed
    body = (tmp_path / "body.md").read_text()
    assert body.startswith("## modelreg check: passed")
    assert all(f"| {gate} |" in body for gate in ("schema", "promotion", "policy", "artifact"))


def test_every_method_is_documented_with_an_example() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "python-api.md").read_text()
    methods = [n for n, v in vars(Registry).items() if callable(v) and not n.startswith("_")]
    assert {"promote", "rollback", "demote", "archive", "reject", "check", "approvals", "deploy", "status",
            "audit"} <= set(methods)
    assert [n for n in methods if f"reg.{n}(" not in text] == []


def test_check_refuses_what_the_cli_refuses(served: Path) -> None:
    reg = Registry(served)
    with pytest.raises(ValueError, match="--gate: unknown gate vibes; choose from schema, "):
        reg.check(gates=["vibes"])
    with pytest.raises(ValueError, match="head and staged are exclusive"):
        reg.check(head=True, staged=True)
    assert list(reg.check(offline=True, gates=["schema"]).results) == ["schema"]
