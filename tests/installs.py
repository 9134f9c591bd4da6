"""Real installs of modelreg, shared by the tests that need one (a pytest plugin).

Test modules load it with ``pytest_plugins = ["tests.installs"]``; their tests are
marked ``act`` or ``packaging`` (conftest.py refuses one that is not). The wheel of
the working tree is built once per session, and every build and install runs
offline (``UV_OFFLINE``, ``PIP_NO_INDEX``) from the wheelhouse ``scripts/bootstrap
--tests`` downloads (``scripts/wheelhouse``): no test reaches a package index.
uv's and pip's caches live in one session directory, so only the first install
unpacks the wheels; they are removed at the end of the session.

PYTEST_DONT_REWRITE: the test modules import it before pytest loads it as a
plugin, so its assertions carry their own messages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from modelreg import __version__
from modelreg.formats.models import RegistryConfig
from modelreg.write import workflows

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: modelreg's dependencies, hatchling and the workflows' uv, as wheels (scripts/wheelhouse)
WHEELHOUSE = PROJECT / ".wheelhouse"


def tool(name: str) -> str | None:
    return shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


UV = tool("uv")
#: hatch-vcs builds modelreg as this version instead of the one git's tags give (pyproject.toml)
PRETEND_VERSION = "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MODELREG"


def run(cmd: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, the assertion shows the command, its exit code and its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=None if env is None else dict(env), capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def path_without_modelreg() -> str:
    """PATH less every directory holding a ``modelreg``: an install under test must bring its own."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not os.path.exists(os.path.join(d, "modelreg")))


@dataclass(frozen=True)
class Installs:
    wheel: Path
    #: for the install step, uv and pip: the wheel's directory and the session's warm caches, offline
    env: dict[str, str]


@pytest.fixture(scope="session")
def installs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installs]:
    """The wheel of the working tree, and where installs find it: offline, in ``dist``, beside
    the wheelhouse's wheels (the dependencies, hatchling for builds from source, the workflows'
    uv for the install step's ``pip install uv``).

    The gate workflow's install step runs once here as a runner runs it, filling the session's
    uv cache, so an act run spends a second or two on its install step.
    """
    if UV is None:
        pytest.skip("needs uv (pip install uv; scripts/bootstrap does)")
    if not (WHEELHOUSE / ".complete").is_file():
        pytest.skip(f"needs the wheelhouse {WHEELHOUSE}: run scripts/bootstrap --tests (downloaded once; "
                    "the tests install offline)")
    base = tmp_path_factory.mktemp("installs")
    dist, cache = base / "dist", base / "cache"
    dist.mkdir()
    for wheel in WHEELHOUSE.glob("*.whl"):
        (dist / wheel.name).symlink_to(wheel)
    offline = {"UV_FIND_LINKS": str(dist), "UV_CACHE_DIR": str(cache / "uv"), "UV_OFFLINE": "1",
               "PIP_CACHE_DIR": str(cache / "pip"), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(dist),
               # virtualenv (pre-commit's) would check PyPI for newer seed wheels in the background
               "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
               # every build of modelreg (this wheel, a git URL's, pre-commit's) as the running version,
               # which the workflows pin: git's tags would give another one to an uncommitted change
               PRETEND_VERSION: __version__}
    run([UV, "build", "--quiet", "--wheel", "--out-dir", str(base / "built"), str(PROJECT)],
        env={**os.environ, **offline})
    wheels = [w.name for w in (base / "built").glob("*.whl")]
    assert wheels == [f"modelreg-{__version__}-py3-none-any.whl"], f"built {wheels}, not {__version__}"
    shutil.move(base / "built" / wheels[0], dist / wheels[0])
    run_install_step(RegistryConfig(), offline, base / "runner")
    yield Installs(dist / wheels[0], offline)
    shutil.rmtree(cache, ignore_errors=True)  # hundreds of MB; pytest keeps its last three sessions


def install_step(config: RegistryConfig) -> tuple[dict[str, str], str]:
    """The env and the script of the gate workflow's install step, as ``init`` writes them."""
    doc = yaml.safe_load(workflows.files(config)[workflows.GATE_PATH])
    step = next(s for s in doc["jobs"]["gate"]["steps"] if s.get("name") == workflows.INSTALL_STEP)
    return {k: str(v) for k, v in step["env"].items()}, step["run"]


def run_install_step(config: RegistryConfig, where: Mapping[str, str], runner_temp: Path) -> Path:
    """Run the install step as a runner does (bash -e, RUNNER_TEMP, GITHUB_PATH); the bin it adds.

    ``where`` is the environment that says where packages come from (``Installs.env``).
    """
    step_env, script = install_step(config)
    runner_temp.mkdir(parents=True, exist_ok=True)
    github_path = runner_temp / "github_path"
    env = {**os.environ, "PATH": path_without_modelreg(), **where, **step_env,
           "RUNNER_TEMP": str(runner_temp), "GITHUB_PATH": str(github_path)}
    env.pop("VIRTUAL_ENV", None)
    run(["bash", "-e", "-c", script], env=env)
    return Path(github_path.read_text().strip())


@dataclass(frozen=True)
class ProjectRepo:
    path: Path
    commit: str


@pytest.fixture(scope="session")
def project_repo(tmp_path_factory: pytest.TempPathFactory) -> ProjectRepo:
    """A git repository holding this project's working tree, uncommitted changes included, in one commit."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("needs the project as a git work tree")
    repo = tmp_path_factory.mktemp("project")
    for rel in filter(None, listed.stdout.decode().split("\0")):
        source = PROJECT / rel
        if source.is_file():  # a tracked file deleted in the work tree is left out, as it would be
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / rel)
    env = {**os.environ, "GIT_AUTHOR_NAME": "modelreg tests", "GIT_AUTHOR_EMAIL": "tests@example.com",
           "GIT_COMMITTER_NAME": "modelreg tests", "GIT_COMMITTER_EMAIL": "tests@example.com"}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "The work tree"]):
        run(["git", "-c", "commit.gpgsign=false", *cmd], cwd=repo, env=env)
    commit = run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()
    return ProjectRepo(repo, commit)
