"""How long a pull request waits for modelreg to install (issue 6's target: < 10 s).

Times, each into a fresh virtual environment with a warm package cache (one
untimed run first fills a cache of the benchmark's own):

- the gate workflow's install step, the exact script ``modelreg init`` writes
  (pip installs the pinned uv, uv makes the venv and installs ``install``)
- of which ``uv pip install`` alone
- ``pip install`` of the same requirement, the step the workflow had before
- ``pre-commit install-hooks``: the environment the pre-commit hook installs
  (once per machine and hook version), from a clone of this work tree

with ``--cold``, the install step again with empty caches (a GitHub runner
starts with none). modelreg is not on PyPI: every case finds the wheel of this
work tree through ``--find-links``; its dependencies come from the index.

Usage: .venv/bin/python bench/install.py [--runs 3] [--cold] [--no-pre-commit]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_env, report, tool
from modelreg import __version__
from modelreg.formats.models import RegistryConfig
from modelreg.write import workflows

PROJECT = Path(__file__).resolve().parents[1]


def path_without_modelreg() -> str:
    """PATH less this project's venv: ``python3`` is the machine's, as on a runner."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not os.path.exists(os.path.join(d, "modelreg")))


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()}")
    return elapsed


def install_step() -> tuple[dict[str, str], str]:
    doc = yaml.safe_load(workflows.files(RegistryConfig())[workflows.GATE_PATH])
    step = next(s for s in doc["jobs"]["gate"]["steps"] if s.get("name") == workflows.INSTALL_STEP)
    return {k: str(v) for k, v in step["env"].items()}, step["run"]


def project_clone(base: Path) -> tuple[Path, str]:
    """This work tree, uncommitted changes included, as one commit (what pre-commit clones)."""
    repo = base / "project"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT, capture_output=True, check=True).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        if (PROJECT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / rel, repo / rel)
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "work tree"]):
        subprocess.run(["git", *cmd], cwd=repo, check=True, env=git_env())
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                            check=True, env=git_env()).stdout.strip()
    return repo, commit


class Bench:
    def __init__(self, base: Path, runs: int) -> None:
        self.base, self.runs = base, runs
        self.dist = base / "dist"
        # built as the running version, which the workflows pin (git's tags would give another to
        # an uncommitted change)
        subprocess.run([tool("uv"), "build", "-q", "--wheel", "--out-dir", str(self.dist), str(PROJECT)],
                       check=True,
                       env={**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_MODELREG": __version__})
        self.requirement = workflows.install_requirement(RegistryConfig())
        self.env = {**os.environ, "PATH": path_without_modelreg(), "UV_FIND_LINKS": str(self.dist),
                    "PIP_FIND_LINKS": f"{os.environ.get('PIP_FIND_LINKS', '')} {self.dist}".strip()}
        self.env.pop("VIRTUAL_ENV", None)
        self.fresh = 0

    def caches(self, name: str) -> dict[str, str]:
        return {"UV_CACHE_DIR": str(self.base / name / "uv"), "PIP_CACHE_DIR": str(self.base / name / "pip")}

    def new_dir(self) -> Path:
        self.fresh += 1
        path = self.base / f"fresh-{self.fresh}"
        path.mkdir()
        return path

    def workflow_step(self, caches: dict[str, str]) -> tuple[float, int]:
        step_env, script = install_step()
        runner_temp = self.new_dir()
        env = {**self.env, **caches, **step_env, "RUNNER_TEMP": str(runner_temp),
               "GITHUB_PATH": str(runner_temp / "github_path")}
        seconds = timed(["bash", "-e", "-c", script], env)
        packages = len(list((runner_temp / "modelreg").glob("lib/python*/site-packages/*.dist-info")))
        shutil.rmtree(runner_temp)
        return seconds, packages

    def uv_alone(self, caches: dict[str, str]) -> float:
        venv = self.new_dir() / "venv"
        env = {**self.env, **caches}
        subprocess.run([tool("uv"), "venv", "-q", "--python", "python3", str(venv)], env=env, check=True)
        seconds = timed([tool("uv"), "pip", "install", "-q", "--python", str(venv / "bin/python"),
                         self.requirement], env)
        shutil.rmtree(venv.parent)
        return seconds

    def pip(self, caches: dict[str, str]) -> float:
        venv = self.new_dir() / "venv"
        env = {**self.env, **caches}
        subprocess.run(["python3", "-m", "venv", str(venv)], env=env, check=True)
        seconds = timed([str(venv / "bin/python"), "-m", "pip", "install", "-q",
                         "--disable-pip-version-check", self.requirement], env)
        shutil.rmtree(venv.parent)
        return seconds

    def pre_commit(self, caches: dict[str, str], registry: Path) -> float:
        home = self.new_dir()
        seconds = timed([tool("pre-commit"), "install-hooks"],
                        {**self.env, **caches, "PRE_COMMIT_HOME": str(home)}, cwd=registry)
        shutil.rmtree(home)
        return seconds

    def registry(self) -> Path:
        repo, commit = project_clone(self.base)
        root = self.base / "registry"
        subprocess.run([tool("modelreg"), "init", str(root)], check=True, stdout=subprocess.DEVNULL,
                       env=git_env())
        (root / ".pre-commit-config.yaml").write_text(
            f"repos:\n- repo: {repo}\n  rev: {commit}\n  hooks:\n  - id: modelreg-check\n")
        return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time the install step with empty caches")
    parser.add_argument("--no-pre-commit", action="store_true", help="skip the pre-commit hook's install")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        bench = Bench(Path(tmp), args.runs)
        warm = bench.caches("warm")
        _, packages = bench.workflow_step(warm)  # fills the caches, untimed
        bench.pip(warm)
        samples: dict[str, list[float]] = {"step": [], "uv": [], "pip": [], "pre-commit": [], "cold": []}
        registry = None if args.no_pre_commit else bench.registry()
        if registry is not None:
            bench.pre_commit(warm, registry)
        for run in range(args.runs):  # round-robin: drift on a shared machine hits every case alike
            samples["step"].append(bench.workflow_step(warm)[0])
            samples["uv"].append(bench.uv_alone(warm))
            samples["pip"].append(bench.pip(warm))
            if registry is not None:
                samples["pre-commit"].append(bench.pre_commit(warm, registry))
            if args.cold:
                samples["cold"].append(bench.workflow_step(bench.caches(f"cold-{run}"))[0])
    what = {
        "step": "gate workflow's install step (pip installs uv; uv venv; uv pip install)",
        "uv": "  of which `uv pip install` alone",
        "pip": "`pip install` into a fresh venv (the step before)",
        "cold": "gate workflow's install step, empty caches (a fresh runner)",
        "pre-commit": "`pre-commit install-hooks` (the hook's environment, with pip)",
    }
    rows: list[dict[str, object]] = [
        {"what": what[key], "seconds": round(statistics.median(times), 3),
         "min": round(min(times), 2), "runs": len(times)}
        for key, times in samples.items() if times]
    rows[0]["packages"] = packages
    rows[0]["requirement"] = bench.requirement
    report("install", rows)
    print(f"modelreg {__version__}; {packages} packages in the venv; target for the install step: < 10 s")


if __name__ == "__main__":
    main()
