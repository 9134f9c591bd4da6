"""Shared fixtures: real git repositories and real DVC in temporary directories.

An autouse fixture points HOME and git's global config at a temporary
directory, so no test reads or writes the developer's own configuration.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Cli, commit_all, git


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Alice Example\n\temail = alice@example.com\n"
                         "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.delenv("MODELREG_REGISTRY", raising=False)
    # Tests run inside GitHub Actions too: no test may find the runner's token, event or repository.
    for name in ("GITHUB_ACTIONS", "GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH",
                 "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


@pytest.fixture
def registry(tmp_path: Path, cli: Cli) -> Path:
    """A fresh registry (default local remote), committed on main."""
    root = tmp_path / "registry"
    cli.ok("init", str(root))
    commit_all(root, "Create the registry")
    return root


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory outside the registry for artifacts and metrics files."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def code_repo(tmp_path: Path) -> Iterator[Path]:
    """A training-code repository with one commit and an origin URL."""
    path = tmp_path / "code"
    path.mkdir()
    git(path, "init", "-q")
    (path / "train.py").write_text("print('training')\n")
    git(path, "remote", "add", "origin", "https://github.com/acme/fraud.git")
    commit_all(path, "Training code")
    yield path


def pytest_report_header() -> str:
    version = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    return version.stdout.strip()
