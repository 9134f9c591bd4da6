"""promote, rollback, demote, archive, reject: desired state changed through the gates, in git."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from modelreg.formats.desired import DesiredState
from modelreg.read.history import Event
from modelreg.write import transitions
from tests.helpers import Cli, Scenarios, commit_all, copy_scenario, git, register, set_aliases, snapshot_tree

POLICY = """\
schema_version: 1
promotion:
  production:
    after: staging
    min_soak: 1h
"""


def model_yaml(root: Path, model: str = "fraud") -> dict:
    return yaml.safe_load((root / "registry" / model / "model.yaml").read_text())


@pytest.fixture
def three(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """fraud v1..v3 and churn v1, committed on main; production needs a soaked staging: built once
    per session, a private copy."""
    return copy_scenario(scenarios.on_registry("three", cli, _register_three), tmp_path)


def _register_three(cli: Cli, registry: Path, workdir: Path) -> None:
    (registry / "policies" / "default.yaml").write_text(POLICY)
    for seed in (1, 2, 3):
        register(cli, registry, workdir, "fraud", "-m", f"v{seed}", seed=seed)
    register(cli, registry, workdir, "churn", "-m", "c1", seed=9)
    commit_all(registry, "Register", date="2026-11-01T10:00:00Z")


def promote(cli: Cli, root: Path, *args: str) -> str:
    return cli.ok("-C", str(root), "promote", *args).out


def test_promote_commits_one_line_and_reads_back(three: Path, cli: Cli) -> None:
    out = promote(cli, three, "fraud", "2", "--to", "staging", "--commit")
    assert out.splitlines()[0] == "fraud staging: (none) → v2"
    assert "Committed" in out and "Next: push it and open a pull request." in out
    assert model_yaml(three)["aliases"] == {"staging": 2}
    assert git(three, "log", "-1", "--format=%s").strip() == "Promote fraud staging: (none) → v2"
    assert git(three, "status", "--porcelain") == ""
    shown = {v["version"]: v for v in cli.ok("-C", str(three), "show", "fraud", "--json").json["versions"]}
    assert (shown[2]["stage"], shown[2]["approval"]) == ("Staging", "Approved")
    events = cli.ok("-C", str(three), "history", "fraud", "--json").json
    assert events[0]["kind"] == "alias" and events[0]["alias"] == "staging" and events[0]["version"] == 2


def test_an_impossible_promotion_fails_before_anything_is_written(three: Path, cli: Cli) -> None:
    before = snapshot_tree(three)
    for args, message in (
        (["fraud", "2", "--to", "production"], "v2 goes to production but was never in staging"),
        (["fraud", "9", "--to", "staging"], "model 'fraud' has no version 9"),
        (["fraud", "2", "--to", "latest"], "'latest' is not a valid alias name"),
    ):
        err = cli.fails("-C", str(three), "promote", *args, "--commit").err
        assert message in err, err
        assert snapshot_tree(three) == before
        assert git(three, "log", "-1", "--format=%s").strip() == "Register"


def test_the_soak_is_measured_before_writing(three: Path, cli: Cli) -> None:
    promote(cli, three, "fraud", "2", "--to", "staging", "--commit")  # just now
    err = cli.fails("-C", str(three), "promote", "fraud", "2", "--to", "production", "--commit").err
    assert "v2 has been in staging for 0m; 1h required" in err
    assert "production" not in model_yaml(three)["aliases"]


def test_promotion_after_a_soaked_staging(three: Path, cli: Cli) -> None:
    git(three, "switch", "-q", "-c", "stage")
    (three / "registry/fraud/model.yaml").write_text(
        (three / "registry/fraud/model.yaml").read_text().replace("aliases: {}", "aliases:\n  staging: 2"))
    commit_all(three, "Stage v2", date="2026-11-02T10:00:00Z")
    git(three, "switch", "-q", "main")
    git(three, "merge", "-q", "--ff-only", "stage")
    out = promote(cli, three, "fraud", "2", "--to", "production", "--branch", "promote/fraud-v2")
    assert out.splitlines()[0] == "fraud production: (none) → v2"
    assert git(three, "branch", "--show-current").strip() == "promote/fraud-v2"
    assert model_yaml(three)["aliases"] == {"staging": 2, "production": 2}


def test_uris_and_aliases_name_the_version(three: Path, cli: Cli) -> None:
    promote(cli, three, "fraud", "3", "--to", "challenger", "--commit")
    promote(cli, three, "fraud@challenger", "--to", "champion", "--commit")
    promote(cli, three, "models:/fraud/1", "--to", "Shadow", "--commit")  # alias names are lower case
    assert model_yaml(three)["aliases"] == {"challenger": 3, "champion": 3, "shadow": 1}


def test_several_models_land_as_one_commit(three: Path, cli: Cli) -> None:
    head = git(three, "rev-parse", "HEAD").strip()
    out = promote(cli, three, "fraud", "3", "--to", "staging", "churn", "1", "--to", "staging", "--commit")
    assert out.splitlines()[:2] == ["churn staging: (none) → v1", "fraud staging: (none) → v3"] or \
        out.splitlines()[:2] == ["fraud staging: (none) → v3", "churn staging: (none) → v1"]
    assert git(three, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    changed = git(three, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == ["registry/churn/model.yaml", "registry/fraud/model.yaml"]


@pytest.mark.parametrize("args", [["fraud", "3"], ["fraud", "--to"], ["fraud", "3", "--to"], ["--to", "x"],
                                  ["fraud", "3", "--bogus", "x"]])
def test_malformed_promotions_are_usage_errors(three: Path, cli: Cli, args: list[str]) -> None:
    err = cli.fails("-C", str(three), "promote", *args, code=2).err
    assert "MODEL VERSION --to ALIAS" in err or "no such option" in err


def test_dry_run_writes_nothing(three: Path, cli: Cli) -> None:
    before = snapshot_tree(three)
    data = cli.ok("-C", str(three), "promote", "fraud", "1", "--to", "staging", "--dry-run", "--json").json
    assert data["written"] is False and data["changes"] == [
        {"model": "fraud", "kind": "alias", "alias": "staging", "after": 1}]
    assert snapshot_tree(three) == before


def _same_second(root: Path, message: str) -> None:
    env = {"GIT_AUTHOR_DATE": "2026-11-05T10:00:00Z", "GIT_COMMITTER_DATE": "2026-11-05T10:00:00Z"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        commit_all(root, message)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _set(root: Path, aliases: dict[str, int]) -> None:
    path = root / "registry/fraud/model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["aliases"] = aliases
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_rollback_follows_history_through_rollbacks_in_the_same_second(three: Path, cli: Cli) -> None:
    for version in (1, 2, 3):  # three promotions, all committed in the same second
        _set(three, {"staging": version})
        _same_second(three, f"Stage v{version}")
    out = cli.ok("-C", str(three), "rollback", "fraud", "--alias", "staging", "--commit").out
    assert out.splitlines()[0] == "fraud staging: v3 → v2"
    out = cli.ok("-C", str(three), "rollback", "fraud", "--alias", "staging", "--commit").out
    assert out.splitlines()[0] == "fraud staging: v2 → v1"  # not back to v3
    err = cli.fails("-C", str(three), "rollback", "fraud", "--alias", "staging").err
    assert "no earlier live version" in err and "--to VERSION" in err
    out = cli.ok("-C", str(three), "rollback", "fraud", "--alias", "staging", "--to", "3", "--commit").out
    assert out.splitlines()[0] == "fraud staging: v1 → v3"
    shown = {v["version"]: v["aliases"] for v in
             cli.ok("-C", str(three), "show", "fraud", "--json").json["versions"]}
    assert shown[3] == ["staging"]


def test_rollback_skips_versions_archived_since() -> None:
    def alias_event(version: int | None) -> Event:
        return Event(kind="alias", version=version, commit="c", author="a", date="d", subject="s",
                     alias="production")

    history = [alias_event(3), alias_event(2), alias_event(1)]  # newest first, as history() returns
    state = DesiredState("fraud", {"production": 3}, archived={2})
    assert transitions.rollback_target(state, "production", history) == 1
    removed = [alias_event(3), alias_event(None), alias_event(2)]
    with pytest.raises(LookupError, match="no earlier live version"):
        transitions.rollback_target(state, "production", removed)


def test_archive_and_reject(three: Path, cli: Cli) -> None:
    promote(cli, three, "fraud", "3", "--to", "staging", "--commit")
    err = cli.fails("-C", str(three), "archive", "fraud", "3").err
    assert "fraud v3 is staging; it cannot be archived while an alias points at it" in err
    cli.ok("-C", str(three), "archive", "fraud", "1", "--commit")
    out = cli.ok("-C", str(three), "reject", "fraud", "2", "--reason", "failed the bias review",
                 "--commit").out
    assert out.splitlines()[0] == "fraud v2 rejected (failed the bias review)"
    doc = model_yaml(three)
    assert doc["archived"] == [1]
    assert doc["rejected"] == [{"version": 2, "reason": "failed the bias review", "by": "Alice Example"}]
    shown = {v["version"]: v for v in cli.ok("-C", str(three), "show", "fraud", "--json").json["versions"]}
    assert shown[1]["stage"] == "Archived" and shown[2]["approval"] == "Rejected"
    err = cli.fails("-C", str(three), "promote", "fraud", "2", "--to", "staging").err
    assert "points at v2, which was rejected (failed the bias review)" in err
    kinds = [e["kind"] for e in cli.ok("-C", str(three), "history", "fraud", "--json").json[:2]]
    assert kinds == ["rejected", "archived"]
    assert cli.fails("-C", str(three), "reject", "fraud", "1", "--reason", " ").err.count("needs a reason")


def test_demote(three: Path, cli: Cli) -> None:
    promote(cli, three, "fraud", "3", "--to", "challenger", "--commit")
    out = cli.ok("-C", str(three), "demote", "fraud", "--alias", "challenger", "--commit").out
    assert out.splitlines()[0] == "fraud challenger: v3 → (none)"
    assert model_yaml(three)["aliases"] == {}
    assert "has no alias 'challenger'" in cli.fails("-C", str(three), "demote", "fraud", "--alias",
                                                    "challenger").err


def test_other_fields_of_model_yaml_are_kept(three: Path, cli: Cli) -> None:
    path = three / "registry/fraud/model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc.update(description="Real-time fraud scoring", tags={"risk": "high"})
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    commit_all(three, "Describe")
    promote(cli, three, "fraud", "1", "--to", "staging", "--commit")
    after = model_yaml(three)
    assert after["description"] == "Real-time fraud scoring" and after["tags"] == {"risk": "high"}
    assert after["owners"] == ["@acme/fraud-ml"]


def test_push_prints_where_to_open_the_pull_request(three: Path, tmp_path: Path, cli: Cli) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(three, "remote", "add", "origin", "https://github.com/acme/registry.git")
    git(three, "config", f"url.{bare}.pushInsteadOf", "https://github.com/acme/registry.git")
    git(three, "push", "-q", "origin", "main")
    env_path = os.environ["PATH"]
    os.environ["PATH"] = os.pathsep.join(p for p in env_path.split(os.pathsep)
                                         if not (Path(p) / "gh").exists())
    try:
        out = promote(cli, three, "fraud", "1", "--to", "staging", "--open-pr")
    finally:
        os.environ["PATH"] = env_path
    assert "Pushed modelreg/promote-fraud" in out
    assert "https://github.com/acme/registry/compare/main...modelreg/promote-fraud?expand=1" in out
    assert git(bare, "branch", "--list", "modelreg/promote-fraud").strip()


def test_a_held_lock_stops_a_promotion(three: Path, cli: Cli) -> None:
    from modelreg.edges import lock

    with lock.held(three, "register fraud"):
        err = cli.fails("-C", str(three), "promote", "fraud", "1", "--to", "staging").err
    assert "another modelreg command is changing this registry: `modelreg register fraud`" in err
    assert "staging" not in model_yaml(three)["aliases"]


def test_an_edit_applies_to_the_state_read_under_the_lock(three: Path, cli: Cli) -> None:
    edit = lambda state: transitions.promote(state, 3, "challenger")  # noqa: E731  (made before...)
    promote(cli, three, "fraud", "2", "--to", "champion", "--commit")  # ...another change lands
    applied = transitions.apply(three, {"fraud": edit}, verb="promote", commit=True)
    assert [m.describe() for m in applied.moves] == ["fraud challenger: (none) → v3"]
    assert model_yaml(three)["aliases"] == {"champion": 2, "challenger": 3}


def test_a_failure_from_a_detached_head_goes_back_to_it(three: Path, cli: Cli) -> None:
    git(three, "checkout", "-q", "--detach")
    head = git(three, "rev-parse", "HEAD").strip()
    (three / "extra.txt").write_text("staged\n")
    git(three, "add", "extra.txt")
    hook = three / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    cli.fails("-C", str(three), "promote", "fraud", "3", "--to", "champion", "--branch", "promo-x")
    assert git(three, "rev-parse", "--abbrev-ref", "HEAD").strip() == "HEAD"  # detached, as before
    assert git(three, "rev-parse", "HEAD").strip() == head
    assert git(three, "branch", "--list", "promo-x").strip() == ""
    assert git(three, "diff", "--cached", "--name-only").split() == ["extra.txt"]
    assert "champion" not in model_yaml(three)["aliases"]


def test_a_failed_push_says_where_the_commit_is(three: Path, cli: Cli) -> None:
    err = cli.fails("-C", str(three), "promote", "fraud", "3", "--to", "champion", "--push").err
    assert "on branch modelreg/promote-fraud (you are on it), but the push failed" in err
    assert "git push -u origin modelreg/promote-fraud" in err
    assert git(three, "branch", "--show-current").strip() == "modelreg/promote-fraud"


# alias names: what a person types is matched ignoring case, everywhere (docs/format.md) ------------

def test_an_alias_typed_in_any_case_is_the_lower_case_alias_on_every_path(three: Path, cli: Cli) -> None:
    from modelreg import Registry

    promote(cli, three, "fraud", "3", "--to", "Challenger", "--commit")
    Registry(three).promote("fraud", 1, to="SHADOW", commit=True)
    assert model_yaml(three)["aliases"] == {"challenger": 3, "shadow": 1}
    listed = cli.ok("-C", str(three), "list", "--alias", "Challenger", "--json").json
    assert [m["name"] for m in listed] == ["fraud"]
    assert cli.ok("-C", str(three), "resolve", "fraud@CHALLENGER", "--json").json["version"] == 3
    out = cli.ok("-C", str(three), "demote", "fraud", "--alias", "Shadow", "--commit").out
    assert out.splitlines()[0] == "fraud shadow: v1 → (none)"
    assert model_yaml(three)["aliases"] == {"challenger": 3}


def test_an_alias_in_a_file_must_be_lower_case_and_the_gate_says_which(three: Path, cli: Cli) -> None:
    set_aliases(three, "fraud", {"Production": 1})
    err = cli.fails("-C", str(three), "check").out
    assert "aliases.Production: 'Production' is not allowed as a name here; did you mean 'production'? " \
           "alias names in files are lower case" in err
    policy = three / "policies/default.yaml"
    set_aliases(three, "fraud", {})
    policy.write_text(policy.read_text() + "regression:\n  - {metric: roc_auc, against: Staging}\n")
    out = cli.fails("-C", str(three), "check").out
    assert "regression.0.against: 'Staging' is not allowed here; did you mean 'staging'?" in out
