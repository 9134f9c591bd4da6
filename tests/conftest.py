"""Shared fixtures: real git repositories and real DVC in temporary directories.

An autouse fixture points HOME and git's global config at a temporary
directory, so no test reads or writes the developer's own configuration.

Scenario registries are built once per session (``Scenarios``) and each test
gets a private copy (``helpers.copy_registry``): ``registry`` is ``modelreg init``
and one commit, built once, not once per test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Cli, Scenarios, copy_registry, isolate, make_code_repo


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    isolate(monkeypatch, home)
    return home


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Scenarios:
    """Scenario registries built once per session (per xdist worker), copied per test."""
    return Scenarios(tmp_path_factory)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


@pytest.fixture
def registry(tmp_path: Path, cli: Cli, scenarios: Scenarios) -> Path:
    """A fresh registry (default local remote), committed on main: ``init`` and one commit,
    built once per session; this is a private copy whose DVC remote is its own."""
    return copy_registry(scenarios.registry(cli), tmp_path / "registry")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory outside the registry for artifacts and metrics files."""
    path = tmp_path / "work"
    path.mkdir(exist_ok=True)  # a scenario's copy (helpers.copy_scenario) may have brought its files
    return path


@pytest.fixture
def code_repo(tmp_path: Path) -> Iterator[Path]:
    """A training-code repository with one commit and an origin URL."""
    yield make_code_repo(tmp_path / "code")


def pytest_report_header() -> str:
    version = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    return version.stdout.strip()


SLOW_TIERS = ("act", "packaging")
#: fixtures that build and install modelreg (tests/installs.py): only a slow tier may ask for them
INSTALLING = ("installs", "project_repo")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `scripts/test --fast` deselects by marker: a test that installs modelreg without one of
    # these markers would bring a wheel build and installs into the inner loop unseen.
    for item in items:
        asks = [name for name in INSTALLING if name in getattr(item, "fixturenames", ())]
        if asks and not any(item.get_closest_marker(tier) for tier in SLOW_TIERS):
            raise pytest.UsageError(f"{item.nodeid} uses {', '.join(asks)}: mark it "
                                    f"@pytest.mark.{' or @pytest.mark.'.join(SLOW_TIERS)}")
