"""Releases: the version is the git tag's, and everything the release workflow does before the upload.

``.github/workflows/release.yml`` runs ``scripts/release-check`` on a tag, then publishes. Here the
script runs on a tagged clone of this work tree, offline from the wheelhouse, as the workflow runs
it; the workflow's own shape (pinned, least privilege, trusted publishing) is read from the file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.installs import PRETEND_VERSION, PROJECT, UV, Installs, ProjectRepo, path_without_modelreg, run

pytest_plugins = ["tests.installs"]

RELEASE = PROJECT / ".github/workflows/release.yml"
ZIZMOR = shutil.which("zizmor", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
GIT_ENV = {"GIT_AUTHOR_NAME": "modelreg tests", "GIT_AUTHOR_EMAIL": "tests@example.com",
           "GIT_COMMITTER_NAME": "modelreg tests", "GIT_COMMITTER_EMAIL": "tests@example.com"}


def clone(project_repo: ProjectRepo, where: Path, *options: str) -> Path:
    run(["git", "clone", "-q", *options, project_repo.path.as_uri(), str(where)])
    return where


def release_check(repo: Path, installs: Installs, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **installs.env, **GIT_ENV, "PATH": path_without_modelreg(), "UV": str(UV)}
    env.pop(PRETEND_VERSION)  # the tag decides, as on the release runner
    return subprocess.run(["bash", "scripts/release-check", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


@pytest.mark.packaging
def test_a_tag_releases_its_version(installs: Installs, project_repo: ProjectRepo, tmp_path: Path) -> None:
    repo = clone(project_repo, tmp_path / "modelreg")
    run(["git", "tag", "-a", "v0.2.0", "-m", "modelreg 0.2.0"], cwd=repo, env={**os.environ, **GIT_ENV})
    done = release_check(repo, installs, "--tag", "v0.2.0", "--out", "dist")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "release-check: modelreg 0.2.0: modelreg-0.2.0.tar.gz and modelreg-0.2.0-py3-none-any.whl built, "
        "installed, version and packaged files checked")
    assert sorted(p.name for p in (repo / "dist").glob("modelreg-*")) == [
        "modelreg-0.2.0-py3-none-any.whl", "modelreg-0.2.0.tar.gz"]
    # a commit after the tag is not that release: the check refuses to publish it as one
    (repo / "NEWS").write_text("after the tag\n")
    run(["git", "add", "NEWS"], cwd=repo)
    run(["git", "commit", "-q", "-m", "After the tag"], cwd=repo, env={**os.environ, **GIT_ENV})
    late = release_check(repo, installs, "--tag", "v0.2.0", "--out", "dist")
    assert late.returncode == 1
    wrong = r"release-check: built version 0\.2\.1\.dev1\+g[0-9a-f]+, not the tag's 0\.2\.0"
    assert re.search(wrong, late.stderr), late.stderr


@pytest.mark.packaging
def test_a_clone_without_tags_nor_history_still_builds(installs: Installs, project_repo: ProjectRepo,
                                                       tmp_path: Path) -> None:
    # CI checks out main shallow and without tags: the build still works, as a development version
    repo = clone(project_repo, tmp_path / "modelreg", "--no-tags", "--depth", "1")
    done = release_check(repo, installs, "--out", "dist")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"modelreg 0\.0\.0\.dev\d+\+g[0-9a-f]+: ", done.stdout), done.stdout


@pytest.mark.packaging
def test_a_source_tree_without_git_builds_as_the_fallback_version(
        installs: Installs, project_repo: ProjectRepo, tmp_path: Path) -> None:
    tree = tmp_path / "modelreg"
    shutil.copytree(project_repo.path, tree, ignore=shutil.ignore_patterns(".git"))
    done = release_check(tree, installs, "--out", "dist")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release-check: modelreg 0.0.0.dev0: " in done.stdout


def test_the_release_workflow_publishes_with_trusted_publishing_only() -> None:
    doc = yaml.safe_load(RELEASE.read_text())
    assert doc[True] == {"push": {"tags": ["v*"]}}  # YAML reads the key `on` as True
    assert doc["permissions"] == {}
    build, publish = doc["jobs"]["build"], doc["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"id-token": "write"} and publish["needs"] == "build"
    assert publish["environment"]["name"] == "pypi"
    steps = [s for job in doc["jobs"].values() for s in job["steps"]]
    for step in steps:  # every action pinned by commit
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "password" not in publish["steps"][-1].get("with", {})  # no stored token
    assert "scripts/release-check --tag" in build["steps"][1]["run"]
    assert build["steps"][0]["with"]["fetch-depth"] == 0  # the tag, for the version


@pytest.mark.skipif(ZIZMOR is None, reason="needs zizmor (scripts/bootstrap --tests installs it)")
def test_the_release_workflow_is_clean_under_zizmor() -> None:
    assert ZIZMOR is not None
    done = subprocess.run([ZIZMOR, "--offline", "--persona", "pedantic", str(RELEASE)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr
