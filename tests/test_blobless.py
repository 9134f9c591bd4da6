"""The gate in a blobless clone (``git clone --filter=blob:none``), as a CI checkout may make it.

What the gate reads from history (numbering against the base branch's tip, stage order and soak
time from the first-parent log, the desired state at each commit it walks) must come out the
same as in a full clone: git fetches a missing blob from the promisor remote when it is read,
and nothing modelreg runs may need every blob (no rename detection, no object sizes). The
remote is a local bare repository served with ``uploadpack.allowFilter``, over ``file://`` (a
plain path clones locally and ignores the filter).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import Cli, commit_all, git, register, set_aliases
from tests.test_check import GOOD, hours_ago, main_branch  # noqa: F401  (main_branch: a fixture)


def _serve(repo: Path, tmp_path: Path) -> str:
    """A bare copy of ``repo`` (every branch) that serves partial clones; its file:// URL."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    git(bare, "config", "uploadpack.allowFilter", "true")
    git(bare, "config", "uploadpack.allowAnySHA1InWant", "true")
    return f"file://{bare}"


def _clone(url: str, dest: Path, branch: str, *, blobless: bool) -> Path:
    filter_ = ["--filter=blob:none"] if blobless else []
    git(dest.parent, "clone", "-q", *filter_, "--branch", branch, url, str(dest))
    return dest


def _missing_blobs(root: Path) -> int:
    out = git(root, "rev-list", "--objects", "--all", "--missing=print")
    return sum(1 for line in out.splitlines() if line.startswith("?"))


def _gate(cli: Cli, root: Path) -> dict:
    result = cli("-C", str(root), "check", "--head", "--offline", "--format", "json")
    assert result.code in (0, 1), result.err
    report = json.loads(result.out)
    report.pop("duration_ms", None)
    return report


def _history(cli: Cli, main: Path, workdir: Path) -> None:
    """main: v2 registered and staged (soaked 2 h), v3 registered and staged 15 min ago; the
    branches of three pull requests: promote v2 (soaked), promote v3 (too early), and a v4
    that another pull request took on main meanwhile."""
    register(cli, main, workdir, "fraud", "-m", "second", metrics=GOOD, seed=2)
    commit_all(main, "Register v2 (#3)", date=hours_ago(3))
    set_aliases(main, "fraud", {"staging": 2, "production": 1})
    commit_all(main, "Stage v2 (#4)", date=hours_ago(2))
    register(cli, main, workdir, "fraud", "-m", "third", metrics=GOOD, seed=3)
    commit_all(main, "Register v3 (#5)", date=hours_ago(1))
    git(main, "switch", "-q", "main")
    git(main, "merge", "-q", "--ff-only", "feature")
    git(main, "switch", "-q", "-c", "promote-v2")
    set_aliases(main, "fraud", {"staging": 2, "production": 2})
    commit_all(main, "Promote v2")
    git(main, "switch", "-q", "-c", "stage-v3", "main")
    set_aliases(main, "fraud", {"staging": 3, "production": 1})
    commit_all(main, "Stage v3 (#6)", date=hours_ago(0.25))
    git(main, "switch", "-q", "main")
    git(main, "merge", "-q", "--ff-only", "stage-v3")
    git(main, "switch", "-q", "-c", "promote-v3")
    set_aliases(main, "fraud", {"staging": 3, "production": 3})
    commit_all(main, "Promote v3")
    git(main, "switch", "-q", "-c", "register-v4", "main")
    register(cli, main, workdir, "fraud", "-m", "mine", metrics=GOOD, seed=4)
    commit_all(main, "Register v4 on a branch")
    git(main, "switch", "-q", "-c", "other", "main")
    register(cli, main, workdir, "fraud", "-m", "theirs", metrics=GOOD, seed=5)
    commit_all(main, "Register v4 on another branch")
    git(main, "switch", "-q", "main")
    git(main, "merge", "-q", "--no-ff", "-m", "Merge pull request #7", "other")


@pytest.mark.parametrize(("branch", "finding"), [
    ("promote-v2", None),
    ("promote-v3", "v3 has been in staging for 15m; 1h required"),
    ("register-v4", "v4 is already taken on origin/main"),
])
def test_the_gate_reads_the_same_in_a_blobless_clone(main_branch: Path, workdir: Path,  # noqa: F811
                                                     cli: Cli, tmp_path: Path, branch: str,
                                                     finding: str | None) -> None:
    _history(cli, main_branch, workdir)
    url = _serve(main_branch, tmp_path)
    full = _clone(url, tmp_path / "full", branch, blobless=False)
    thin = _clone(url, tmp_path / "thin", branch, blobless=True)
    assert _missing_blobs(full) == 0
    missing = _missing_blobs(thin)
    assert missing > 0  # the history's blobs are not there: only the checkout's were fetched
    expected = _gate(cli, full)
    assert _gate(cli, thin) == expected
    text = json.dumps(expected)
    if finding is None:
        assert expected["passed"] is True, text
    else:
        assert expected["passed"] is False and finding in text, text
    # git fetched what the gate read, and no more than the history's model.yaml versions
    fetched = missing - _missing_blobs(thin)
    assert 0 <= fetched <= 12, fetched
