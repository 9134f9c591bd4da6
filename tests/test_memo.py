"""The parse memo speeds reads up and can never change their answers."""

from __future__ import annotations

import marshal
from pathlib import Path

from modelreg.edges.memo import blob_id
from tests.helpers import Cli, commit_all, git, register

MEMO = Path(".git/modelreg/manifests/fraud-detector.marshal")


def test_blob_id_is_gits(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"schema_version: 1\n")
    assert blob_id(b"schema_version: 1\n") == git(tmp_path, "hash-object", "f").strip()


def test_reads_fill_the_memo_and_edits_are_seen(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, "fraud-detector", "-m", "first words")
    assert cli.ok("-C", str(registry), "show", "fraud-detector/1", "--json").json["manifest"]["description"] \
        == "first words"
    _, entries = marshal.loads((registry / MEMO).read_bytes())
    assert len(entries) == 3  # model.yaml, v1/version.yaml and its DVC pointer
    path = registry / "registry/fraud-detector/v1/version.yaml"
    path.write_text(path.read_text().replace("first words", "second thoughts"))
    shown = cli.ok("-C", str(registry), "show", "fraud-detector/1", "--json").json
    assert shown["manifest"]["description"] == "second thoughts"


def test_hostile_file_is_never_memoised(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir)
    path = registry / "registry/fraud-detector/v1/version.yaml"
    path.write_text(path.read_text().replace("f1: 0.8", "f1: .nan"))
    for _ in range(2):  # the second read must not find a memoised answer
        result = cli.fails("-C", str(registry), "show", "fraud-detector/1")
        assert ".nan is not a finite number" in result.err


def test_damaged_memo_is_ignored(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir)
    commit_all(registry, "v1")
    cli.ok("-C", str(registry), "show", "fraud-detector")
    (registry / MEMO).write_bytes(b"\x00damaged")
    assert cli.ok("-C", str(registry), "show", "fraud-detector", "--json").json["versions"][0]["version"] == 1
    (registry / MEMO).write_bytes(marshal.dumps(((999, (3, 0)), {"x": 1})))
    shown = cli.ok("-C", str(registry), "show", "fraud-detector/1", "--at", "HEAD", "--json").json
    assert shown["version"] == 1
