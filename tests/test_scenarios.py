"""The scenario registries the tests share: each copy has its own DVC remote and history."""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path

import pytest

from tests.helpers import Cli, Scenarios, commit_all, copy_registry, copy_scenario, git, register


def remote_url(root: Path, rev: str | None = None) -> str:
    config = configparser.ConfigParser()
    text = git(root, "show", f"{rev}:.dvc/config") if rev else (root / ".dvc/config").read_text()
    config.read_string(text)
    return config.get("'remote \"storage\"'", "url")


def test_a_copy_of_the_registry_is_what_init_and_a_commit_make_there(registry: Path, scenarios: Scenarios,
                                                                    cli: Cli, workdir: Path) -> None:
    built = scenarios.registry(cli)
    assert Path(remote_url(registry)) == registry / ".modelreg/remote" == Path(remote_url(registry, "HEAD"))
    assert Path(remote_url(built)) == built / ".modelreg/remote"
    assert git(registry, "status", "--porcelain") == ""
    assert git(registry, "log", "--format=%s").splitlines() == ["Create the registry"]
    register(cli, registry, workdir, "fraud", seed=1)  # pushes to the copy's remote only
    assert any(p.is_file() for p in (registry / ".modelreg/remote").rglob("*"))
    assert not any(p.is_file() for p in (built / ".modelreg/remote").rglob("*"))


def _one_model(cli: Cli, root: Path, work: Path) -> None:
    register(cli, root, work, "fraud", seed=1)
    commit_all(root, "Register fraud v1")


def test_a_scenario_of_several_commits_copies_with_its_work_folder(scenarios: Scenarios, cli: Cli,
                                                                   tmp_path: Path) -> None:
    built = scenarios.on_registry("test-one-model", cli, _one_model)
    root = copy_scenario(built, tmp_path)
    assert remote_url(root) == remote_url(root, "HEAD~1") == "../.modelreg/remote"
    assert (tmp_path / "work/fraud-1/model.pkl").is_file()
    git(root, "rm", "-q", "-r", "registry/fraud")
    commit_all(root, "Remove fraud")
    assert (built / "registry/fraud/v1/version.yaml").is_file()
    assert git(built, "log", "-1", "--format=%s").strip() == "Register fraud v1"
    # The copy reads its own remote: with its objects gone, the scenario's do not stand in.
    again = copy_scenario(built, tmp_path / "again")
    shutil.rmtree(again / ".dvc/cache")
    shutil.rmtree(again / ".modelreg/remote/files")
    err = cli.fails("-C", str(again), "get", "fraud/1", "-o", str(tmp_path / "model.pkl")).err
    assert "the DVC remote has no object" in err
    assert any(p.is_file() for p in (built / ".modelreg/remote/files").rglob("*"))


def test_a_scenario_that_names_its_own_path_is_refused(scenarios: Scenarios, cli: Cli) -> None:
    def deploys_beside_itself(cli: Cli, root: Path, work: Path) -> None:
        config = root / "modelreg.yaml"
        config.write_text(config.read_text() + f"# target: {root.parent / 'srv'}\n")
        commit_all(root, "A target outside the registry")

    with pytest.raises(AssertionError, match="names a path into"):
        scenarios.on_registry("test-names-itself", cli, deploys_beside_itself)


def test_an_absolute_remote_in_a_history_is_refused(registry: Path, tmp_path: Path) -> None:
    commit_all(registry, "A second commit")
    with pytest.raises(AssertionError, match="several commits"):
        copy_registry(registry, tmp_path / "copy")
