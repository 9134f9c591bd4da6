"""The one reader of each file kind (``formats/documents.py``), snapshots as context managers, and the
public answers history gives deploy: on real git repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from modelreg.edges import git as mgit
from modelreg.edges.snapshot import Overlay, Revision, WorkTree
from modelreg.errors import InputError
from modelreg.formats import documents, yamlio
from tests.helpers import build_file_tree, commit_all, git

MODEL = """schema_version: 1
name: fraud
description: ''
owners: ['@acme/ml']
aliases: {production: 1}
archived: []
rejected: []
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    build_file_tree(root, {"registry/fraud/model.yaml": MODEL,
                           "policies/default.yaml": "schema_version: 1\n"})
    commit_all(root, "Add fraud (#4)")
    return root


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources the strict loader parses, in order."""
    seen: list[str] = []
    loads = yamlio.loads

    def counting(data: bytes | str, source: str) -> object:
        seen.append(source)
        return loads(data, source)

    monkeypatch.setattr(yamlio, "loads", counting)
    return seen


def test_a_file_is_parsed_once_per_snapshot_however_many_readers_ask(repo: Path, parses: list[str]) -> None:
    with Revision(str(repo), "HEAD") as snapshot:
        model = documents.model_file(snapshot, "fraud")
        assert model is not None and model.owners == ["@acme/ml"]
        assert documents.desired(snapshot, "fraud") is model.desired
        assert documents.mapping(snapshot, "registry/fraud/model.yaml") is model.data
        assert documents.policy_file(snapshot, "policies/default.yaml") is \
            documents.policy_file(snapshot, "policies/default.yaml")
    assert parses == ["registry/fraud/model.yaml", "policies/default.yaml"]
    with WorkTree(str(repo)) as tree:  # another snapshot: its own parse
        documents.model_file(tree, "fraud")
    assert parses.count("registry/fraud/model.yaml") == 2


def test_a_bad_file_is_one_error_for_every_reader_and_parsed_once(repo: Path, parses: list[str]) -> None:
    (repo / "registry/fraud/model.yaml").write_text(MODEL.replace("aliases: {production: 1}",
                                                                  "aliases: {production: one}"))
    tree = WorkTree(str(repo))
    with pytest.raises(InputError) as first:
        documents.model_file(tree, "fraud")
    with pytest.raises(InputError) as again:
        documents.desired(tree, "fraud")
    assert first.value is again.value
    assert first.value.file == "registry/fraud/model.yaml" and first.value.line == 5
    assert first.value.field == "aliases.production"
    assert parses == ["registry/fraud/model.yaml"]


def test_an_overlay_shares_the_parses_of_the_files_it_does_not_replace(repo: Path, parses: list[str]) -> None:
    tree = WorkTree(str(repo))
    documents.policy_file(tree, "policies/default.yaml")
    with Overlay(tree, {"registry/fraud/model.yaml": MODEL.replace("production: 1", "production: 2")
                        .encode()}) as overlay:
        documents.policy_file(overlay, "policies/default.yaml")
        state = documents.desired(overlay, "fraud")
        assert state is not None and state.aliases == {"production": 2}
    assert documents.desired(tree, "fraud").aliases == {"production": 1}  # type: ignore[union-attr]
    assert parses == ["policies/default.yaml", "registry/fraud/model.yaml", "registry/fraud/model.yaml"]


def _cat_files() -> int:
    """``git cat-file`` processes this test process started and has not stopped."""
    out = subprocess.run(["ps", "-eo", "ppid=,args="], capture_output=True, text=True, check=True).stdout
    mine = str(os.getpid())
    return sum(1 for line in out.splitlines() if line.split(None, 1)[0] == mine and "cat-file" in line)


def test_a_revision_stops_its_cat_file_when_closed(repo: Path) -> None:
    before = _cat_files()
    with Revision(str(repo), "HEAD") as snapshot:
        assert snapshot.read("registry/fraud/model.yaml") == MODEL.encode()
        assert _cat_files() == before + 1
    assert _cat_files() == before


def test_revisions_can_share_one_cat_file(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "registry/fraud/model.yaml").write_text(MODEL.replace("production: 1", "production: 2"))
    second = commit_all(repo, "Promote fraud v2")
    before = _cat_files()
    with mgit.BlobReader(repo) as blobs:
        states = [documents.desired(Revision(str(repo), c, resolved=True, blobs=blobs), "fraud")
                  for c in (first, second)]
        assert _cat_files() == before + 1
    assert [s.aliases["production"] for s in states if s is not None] == [1, 2]
    assert _cat_files() == before


def test_history_says_who_approved_each_commit_without_events(repo: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from modelreg.approvals.merged import approvals
    from modelreg.read.history import NO_PR

    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    with_pr = git(repo, "rev-parse", "HEAD").strip()
    without = commit_all(repo, "A change with no pull request")
    found = approvals(str(repo), [with_pr, without])
    assert found[with_pr].pr == 4 and found[with_pr].approvers is None
    assert "GITHUB_TOKEN" in str(found[with_pr].note)
    assert found[without].pr is None and found[without].note == NO_PR
    assert mgit.subjects(repo, [without, with_pr]) == {without: "A change with no pull request",
                                                        with_pr: "Add fraud (#4)"}
