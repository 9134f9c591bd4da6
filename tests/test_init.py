from __future__ import annotations

import configparser
from pathlib import Path

from tests.helpers import Cli, git, snapshot_tree


def test_init_creates_a_working_registry(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "reg"
    result = cli.ok("init", str(root))
    for rel in ("modelreg.yaml", "policies/default.yaml", "registry/.gitkeep", ".dvc/config",
                "schemas/version.schema.json", "schemas/model.schema.json", "schemas/policy.schema.json",
                "schemas/config.schema.json", ".gitignore"):
        assert (root / rel).is_file(), rel
    assert (root / ".git").is_dir()
    # The embedded default: a local directory remote that exists and is kept out of git.
    config = configparser.ConfigParser()
    config.read(root / ".dvc" / "config")
    url = config.get("'remote \"storage\"'", "url")
    assert Path(url) == root / ".modelreg" / "remote"
    assert Path(url).is_dir()
    assert "/.modelreg/" in (root / ".gitignore").read_text().splitlines()
    assert "created modelreg.yaml" in result.out


def test_init_twice_changes_nothing_and_says_so(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "reg"
    cli.ok("init", str(root))
    before = snapshot_tree(root)
    result = cli.ok("init", str(root))
    assert "already a registry; nothing changed" in result.out
    assert snapshot_tree(root) == before


def test_init_in_existing_repo_keeps_its_files(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "existing"
    root.mkdir()
    git(root, "init", "-q")
    (root / ".gitignore").write_text("*.log")
    (root / "README.md").write_text("ours")
    cli.ok("init", str(root))
    assert (root / "README.md").read_text() == "ours"
    assert (root / ".gitignore").read_text().splitlines()[:1] == ["*.log"]
    assert (root / "modelreg.yaml").is_file()


def test_init_with_a_remote_url(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "reg"
    cli.ok("init", str(root), "--remote", "s3://acme-ml/registry")
    config = configparser.ConfigParser()
    config.read(root / ".dvc" / "config")
    assert config.get("core", "remote") == "storage"
    assert config.get("'remote \"storage\"'", "url") == "s3://acme-ml/registry"
    assert not (root / ".modelreg" / "remote").exists()


def test_init_inside_another_repository_is_refused(tmp_path: Path, cli: Cli) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    result = cli.fails("init", str(outer / "sub"))
    assert "is inside the git repository" in result.err
    assert not (outer / "sub" / "modelreg.yaml").exists()


def test_unknown_policy_preset_writes_nothing(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "reg"
    result = cli.fails("init", str(root), "--policy", "nope")
    assert "no policy preset named 'nope'" in result.err and "default" in result.err
    assert not root.exists()


def test_remote_on_existing_dvc_is_refused_not_ignored(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "reg"
    cli.ok("init", str(root))
    result = cli.fails("init", str(root), "--remote", "/elsewhere")
    assert "dvc remote add -d -f storage /elsewhere" in result.err


def test_init_writes_the_pages_workflow_only_when_asked(tmp_path: Path, cli: Cli) -> None:
    from modelreg.write import site_workflow

    cli.ok("init", str(tmp_path / "plain"))
    assert not (tmp_path / "plain" / site_workflow.PATH).exists()
    out = cli.ok("init", str(tmp_path / "plain"), "--site-workflow").out
    assert f"created {site_workflow.PATH}" in out
    assert (tmp_path / "plain" / site_workflow.PATH).read_text().startswith("#")
