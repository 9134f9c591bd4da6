"""``modelreg describe MODEL TEXT`` and ``register --model-description``: a model's description
set the way a promotion is (checked by the gates, one line of model.yaml, branch/commit/push/PR),
validated as free text (no control characters, no line break, at most 1000 characters)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from modelreg.api import Registry
from modelreg.errors import InputError
from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, git, register, snapshot_tree

TEXT = "Real-time fraud scoring at authorisation time"


def _described(cli: Cli, root: Path, work: Path) -> None:
    register(cli, root, work, "fraud", "-m", "v1", seed=1)
    register(cli, root, work, "churn", "-m", "c1", "--model-description", "Churn within 30 days", seed=2)
    commit_all(root, "Register fraud v1 and churn v1", date="2026-11-01T10:00:00Z")


@pytest.fixture
def two(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """fraud v1 (no description) and churn v1 (registered with one), committed; a private copy."""
    return copy_scenario(scenarios.on_registry("described", cli, _described), tmp_path)


def model_yaml(root: Path, model: str = "fraud") -> str:
    return (root / "registry" / model / "model.yaml").read_text()


def test_describe_changes_one_line_of_model_yaml_and_commits_it(two: Path, cli: Cli) -> None:
    before = model_yaml(two)
    out = cli.ok("-C", str(two), "describe", "fraud", TEXT, "--commit").out
    assert out.splitlines()[0] == f'fraud description: "{TEXT}"'
    assert "Committed" in out and "Next: push it and open a pull request." in out
    after = model_yaml(two).splitlines()
    changed = [(a, b) for a, b in zip(before.splitlines(), after, strict=True) if a != b]
    assert changed == [("description: ''", f"description: {TEXT}")]
    assert git(two, "log", "-1", "--format=%s").strip() == f'Describe fraud description: "{TEXT}"'
    assert git(two, "status", "--porcelain") == ""
    shown = cli.ok("-C", str(two), "show", "fraud").out
    assert shown.splitlines()[0] == f"fraud: {TEXT}"
    assert cli.ok("-C", str(two), "show", "fraud", "--json").json["description"] == TEXT


def test_dry_run_json_and_branch(two: Path, cli: Cli) -> None:
    before = snapshot_tree(two)
    data = cli.ok("-C", str(two), "describe", "churn", "Churn in 30 days", "--dry-run", "--json").json
    assert data["written"] is False and data["changes"] == []
    assert data["files"] == ["registry/churn/model.yaml"]
    assert data["fields"] == [{"model": "churn", "field": "description", "before": "Churn within 30 days",
                               "after": "Churn in 30 days"}]
    assert snapshot_tree(two) == before
    out = cli.ok("-C", str(two), "describe", "churn", "", "--branch", "describe/churn").out
    assert out.splitlines()[0] == "churn description: cleared" and "on branch describe/churn" in out
    assert git(two, "rev-parse", "--abbrev-ref", "HEAD").strip() == "describe/churn"
    assert yaml.safe_load(model_yaml(two, "churn"))["description"] == ""


@pytest.mark.parametrize(("text", "message"), [
    ("Fraud\x1b]0;pwned\x07 scoring", "DESCRIPTION: holds the control character \\x1b"),
    ("Fraud\u202escoring", "DESCRIPTION: holds the control character \\u202e"),
    ("Fraud\nscoring", "DESCRIPTION: holds a line break"),
    ("Fraud\u2028scoring", "DESCRIPTION: holds a line break"),
    ("x" * 1001, "DESCRIPTION: is 1001 characters long; a description holds at most 1000"),
])
def test_text_that_cannot_be_a_description_is_refused_and_nothing_written(two: Path, cli: Cli, text: str,
                                                                          message: str) -> None:
    before = snapshot_tree(two)
    failed = cli.fails("-C", str(two), "describe", "fraud", text, "--commit")
    assert message in failed.err and failed.out == ""
    assert snapshot_tree(two) == before
    with pytest.raises(InputError, match="DESCRIPTION"):
        Registry(two).describe("fraud", text)


def test_nothing_to_change_and_no_such_model(two: Path, cli: Cli) -> None:
    same = cli.fails("-C", str(two), "describe", "churn", " Churn within 30 days ").err  # stripped: the same
    assert "nothing would change; model.yaml already says so" in same
    assert "no model named 'frod'" in cli.fails("-C", str(two), "describe", "frod", TEXT).err


def test_the_gates_run_on_the_change(two: Path, cli: Cli) -> None:
    """A model.yaml the schema gate refuses is not described: the change would not pass CI."""
    path = two / "registry" / "fraud" / "model.yaml"
    path.write_text(path.read_text() + "colour: red\n")
    before = snapshot_tree(two)
    failed = cli.fails("-C", str(two), "describe", "fraud", TEXT)
    assert "colour" in failed.err
    assert snapshot_tree(two) == before


def test_open_pr_pushes_a_branch_named_for_the_change(two: Path, tmp_path: Path, cli: Cli) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(two, "remote", "add", "origin", "https://github.com/acme/registry.git")
    git(two, "config", f"url.{bare}.pushInsteadOf", "https://github.com/acme/registry.git")
    git(two, "push", "-q", "origin", "main")
    env_path = os.environ["PATH"]
    os.environ["PATH"] = os.pathsep.join(p for p in env_path.split(os.pathsep)
                                         if not (Path(p) / "gh").exists())
    try:
        out = cli.ok("-C", str(two), "describe", "fraud", TEXT, "--open-pr").out
    finally:
        os.environ["PATH"] = env_path
    assert "Pushed modelreg/describe-fraud" in out
    assert "https://github.com/acme/registry/compare/main...modelreg/describe-fraud?expand=1" in out
    shown = git(bare, "show", "modelreg/describe-fraud:registry/fraud/model.yaml")
    assert f"description: {TEXT}\n" in shown


def test_register_sets_a_new_models_description_and_refuses_to_change_one(two: Path, cli: Cli,
                                                                         workdir: Path) -> None:
    assert yaml.safe_load(model_yaml(two, "churn"))["description"] == "Churn within 30 days"
    # the same text again is fine (a pipeline re-running with its usual flags); another is not
    register(cli, two, workdir, "churn", "--model-description", "Churn within 30 days", seed=3)
    art = workdir / "churn-4.pkl"
    art.write_bytes(b"4" * 100)
    failed = cli.fails("-C", str(two), "register", "churn", "--artifact", str(art), "--metric", "f1=0.5",
                       "--model-description", "Another text")
    assert "--model-description differs from registry/churn/model.yaml" in failed.err
    assert "modelreg describe churn TEXT" in failed.err
    failed = cli.fails("-C", str(two), "register", "new-model", "--artifact", str(art), "--metric", "f1=0.5",
                       "--owner", "@acme/ml", "--model-description", "two\nlines")
    assert "--model-description: holds a line break" in failed.err
    assert not (two / "registry" / "new-model").exists()
