"""The ledger's reader (formats/ledger.py) against hostile notes: anyone who may push can write one.

A line whose any field has the wrong type is not a record: it is skipped, and every other line
still reads. Each field's check is proven by a line that only that check refuses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelreg.edges import ledger
from tests.helpers import commit_all, git


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README").write_text("a registry\n")
    return root, commit_all(root, "init")


def good(commit: str, time: str = "2026-12-01T10:00:00.000000Z", /, **changes: Any) -> dict[str, Any]:
    """A deployment record with every optional field set to a value of the right type."""
    return {"time": time, "kind": "deployment", "model": "fraud", "alias": "production", "before": 1,
            "after": 2, "commit": commit, "environment": "production", "outcome": "succeeded",
            "sha256": "ab" * 32, "pr": 7, "approvers": [{"login": "bob", "via": "@acme/risk"}],
            "actor": "ci-bot", "message": "v2 is live", "targets": [{"name": "srv", "ok": True}],
            **changes}


def write_note(root: Path, commit: str, lines: list[str]) -> None:
    note = root.parent / "note.txt"
    note.write_text("".join(line + "\n" for line in lines))
    git(root, "notes", f"--ref={ledger.REF}", "add", "--force", "-F", str(note), commit)


def test_a_well_formed_record_reads_whole(repo: tuple[Path, str]) -> None:
    root, commit = repo
    write_note(root, commit, [json.dumps(good(commit))])
    [record] = ledger.read(root)
    assert record.to_dict() == good(commit)


def test_optional_fields_may_be_left_out(repo: tuple[Path, str]) -> None:
    root, commit = repo
    # a line with the required fields only: read with the defaults, not a crash of every reader
    write_note(root, commit, [json.dumps({"time": "2026-12-01T10:00:00Z", "kind": "move", "model": "fraud",
                                          "commit": commit})])
    [record] = ledger.read(root)
    assert (record.alias, record.before, record.after, record.pr, record.approvers, record.targets,
            record.outcome, record.message) == (None, None, None, None, None, [], "recorded", "")


HOSTILE: list[tuple[str, Any]] = [
    # the optional fields
    ("alias", 5), ("alias", ["production"]), ("alias", {"name": "production"}),
    ("before", "1"), ("before", 1.5), ("before", True), ("before", 0), ("before", -3), ("before", 10**9),
    ("after", "2"), ("after", 2.0), ("after", False), ("after", 0), ("after", [2]), ("after", 10**12),
    ("environment", 5), ("environment", ["production"]), ("environment", True),
    ("outcome", None), ("outcome", 1), ("outcome", ["succeeded"]),
    ("sha256", 5), ("sha256", ["ab" * 32]), ("sha256", {"sha256": "ab"}),
    ("pr", "7"), ("pr", True), ("pr", 0), ("pr", 7.5), ("pr", [7]),
    ("approvers", "bob"), ("approvers", ["bob"]), ("approvers", [{"login": 5}]), ("approvers", [{}]),
    ("approvers", {"login": "bob"}), ("approvers", [{"login": "bob"}, None]), ("approvers", {}),
    ("approvers", ""),
    ("actor", 5), ("actor", {"login": "ci-bot"}), ("actor", ["ci-bot"]),
    ("message", None), ("message", 5), ("message", ["v2 is live"]),
    ("targets", None), ("targets", "srv"), ("targets", [1]), ("targets", {"name": "srv"}),
    ("targets", [{"name": "srv"}, "srv"]), ("targets", {}), ("targets", ""),
    # the required fields
    ("time", 5), ("time", None), ("kind", "delete"), ("kind", None), ("model", 5), ("model", None),
    ("commit", "HEAD"), ("commit", "A1" * 20), ("commit", "a1" * 10), ("commit", ["a1" * 20]),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE, ids=[f"{f}={v!r}" for f, v in HOSTILE])
def test_a_field_of_the_wrong_type_skips_its_line_and_only_it(repo: tuple[Path, str], field: str,
                                                              value: Any) -> None:
    root, commit = repo
    before = good(commit, "2026-12-01T09:00:00.000000Z", message="before")
    hostile = good(commit, "2026-12-01T10:00:00.000000Z", **{field: value})
    after = good(commit, "2026-12-01T11:00:00.000000Z", message="after")
    assert ledger.LedgerRecord.parse(json.dumps(hostile)) is None
    write_note(root, commit, [json.dumps(before), json.dumps(hostile), json.dumps(after)])
    assert [r.message for r in ledger.read(root)] == ["before", "after"]


@pytest.mark.parametrize("line", [
    '"a string"', "[1, 2]", "null", "{not json", "[" * 100_000, "",
    json.dumps({"kind": "move", "model": "fraud"}),  # no time, no commit
])
def test_a_line_that_is_not_a_record_object_is_skipped(repo: tuple[Path, str], line: str) -> None:
    root, commit = repo
    write_note(root, commit, [line, json.dumps(good(commit, message="kept"))])
    assert [r.message for r in ledger.read(root)] == ["kept"]


def test_a_line_over_the_limit_is_not_parsed(repo: tuple[Path, str]) -> None:
    root, commit = repo
    padded = json.dumps(good(commit, message="x" * ledger.MAX_LINE))
    assert ledger.LedgerRecord.parse(padded) is None
    write_note(root, commit, [padded, json.dumps(good(commit, message="kept"))])
    assert [r.message for r in ledger.read(root)] == ["kept"]
