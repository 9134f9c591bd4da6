"""What lets ``modelreg site`` render 100,000 versions in a minute, each shown to change nothing.

The catalog of a registry of many models reads every model's history from one walk of the
whole log (no path given to git; kept in ``.git/modelreg/logs`` and extended by the commits
since), with each file's blobs (``--raw``) so that a ``model.yaml`` is read by its id, and
parsed once however many commits hold it. Pages are written with one ``open`` and a rename,
each folder checked once a build, and registry text that is printable ASCII is escaped without
a character table. The speed is measured by ``bench/site.py``; here, that the result is the same.
"""

from __future__ import annotations

import itertools
import os
from html import escape
from pathlib import Path

import pytest

from modelreg.edges import atomic
from modelreg.edges import git as git_edge
from modelreg.edges.outdir import OutDir
from modelreg.errors import ConflictError
from modelreg.formats.text import escaped
from modelreg.read import history as hist
from modelreg.site import pages
from tests.helpers import commit_all, git
from tests.test_site import catalog, own_catalog  # noqa: F401 - fixtures: the scenario registry

MODELS = ("churn", "fraud-detector", "legacy-scorer")


def models_of(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "registry").iterdir() if (p / "model.yaml").is_file())


def test_the_whole_log_lists_what_the_models_directories_list(own_catalog: Path,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Past a few models the walk gives git no path: a commit then lists files outside
    ``registry/`` too, which a model's log must not (its text is what the directories' own walk
    reads, line for line); the walk is kept, and extended by a later commit to the same text as a
    fresh one; and each model's events are those of its own ``history``."""
    root = str(own_catalog)
    # one commit touching a model and a file outside registry/
    (own_catalog / "NOTES.md").write_text("notes\n")
    path = own_catalog / "registry/churn/model.yaml"
    path.write_text(path.read_text().replace("description: ''", "description: 'Churn, noted'"))
    commit_all(own_catalog, "Describe churn, with notes (#20)", date="2026-11-29T10:00:00Z")
    models = models_of(own_catalog)
    assert set(MODELS) <= set(models)
    few = hist.logs_by_model(root, models)  # as many models as this: their directories
    monkeypatch.setattr(hist, "_FEW_MODELS", 0)
    whole = hist.logs_by_model(root, models)
    assert whole == few
    assert "NOTES.md" in git(own_catalog, "log", "-1", "--name-only")
    kept = list((own_catalog / ".git/modelreg/logs").glob("*.marshal"))
    assert kept  # the walk is kept
    # a later commit: the kept walk extended by it reads as a fresh walk does
    path = own_catalog / "registry/legacy-scorer/model.yaml"
    path.write_text(path.read_text().replace("description: ''", "description: 'Legacy, noted'"))
    commit_all(own_catalog, "Describe legacy-scorer (#21)", date="2026-11-30T10:00:00Z")
    extended = hist.logs_by_model(root, models)
    for store in kept:
        store.unlink()
    assert extended == hist.logs_by_model(root, models)
    assert extended["legacy-scorer"] != whole["legacy-scorer"] and extended["churn"] == whole["churn"]
    with git_blobs(root) as blobs:
        for model in models:
            assert hist.events_from_log(root, model, extended[model], blobs) == hist.history(root, model)


def test_a_model_file_read_by_its_blob_tells_the_same_moves(own_catalog: Path) -> None:  # noqa: F811
    """A ``model.yaml`` read by the blob id the walk lists: the same events as by its path at each
    commit, a file that does not read included (no move is told across it), and a file removed."""
    root = str(own_catalog)
    path = own_catalog / "registry/churn/model.yaml"
    good = path.read_text()
    path.write_text("aliases: [not, a, mapping\n")
    commit_all(own_catalog, "Break churn (#22)", date="2026-11-29T10:00:00Z")
    path.write_text(good.replace("description: ''", "description: 'Churn, mended'"))
    commit_all(own_catalog, "Mend churn (#23)", date="2026-11-29T11:00:00Z")
    git(own_catalog, "rm", "-q", "-r", "registry/legacy-scorer")
    commit_all(own_catalog, "Remove legacy-scorer (#24)", date="2026-11-29T12:00:00Z")
    models = [*models_of(own_catalog), "legacy-scorer"]
    logs = hist.logs_by_model(root, models)
    assert " 0000000000000000000000000000000000000000 D\tregistry/legacy-scorer/model.yaml" in \
        logs["legacy-scorer"]
    with git_blobs(root) as blobs:
        for model in models:
            expected = hist.history(root, model)
            assert expected
            assert hist.events_from_log(root, model, logs[model], blobs) == expected, model


def git_blobs(root: str) -> git_edge.BlobReader:
    return git_edge.BlobReader(root)


def test_a_temporary_name_someone_took_is_not_written_through(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The temporary file beside a page is named by the process and a serial number: a link
    planted at that name is not followed (another name is drawn), and nothing is left beside."""
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    monkeypatch.setattr(atomic, "_SERIAL", itertools.count(7))
    planted = tmp_path / f"{atomic.PREFIX}page.html.{os.getpid()}-7.tmp"
    planted.symlink_to(victim)
    atomic.write_atomic(tmp_path / "page.html", "<p>page</p>\n")
    assert victim.read_text() == "keep me\n"
    assert (tmp_path / "page.html").read_text() == "<p>page</p>\n"
    assert (tmp_path / "page.html").stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["victim", planted.name, "page.html"])


def test_a_folder_checked_once_is_made_again_after_a_prune(tmp_path: Path) -> None:
    """A folder is checked once by an ``OutDir``; one it pruned is made again when written into,
    and a directory where a file goes is still refused."""
    out = OutDir(tmp_path)
    out.write_text("models/a/v1.html", "one")
    out.record(["models/a/v1.html"])
    assert out.prune([]) == ["models/a/v1.html"] and not (tmp_path / "models").exists()
    assert out.write_text("models/a/v2.html", "two") == 3
    assert (tmp_path / "models/a/v2.html").read_text() == "two"
    (tmp_path / "models/a/v3.html").mkdir()
    with pytest.raises(ConflictError, match="is a directory where modelreg writes a file"):
        out.write_text("models/a/v3.html", "three")
    (tmp_path / "models/b").symlink_to(tmp_path / "models/a")
    with pytest.raises(ConflictError, match="is a symbolic link"):
        out.write_text("models/b/v1.html", "one")


@pytest.mark.parametrize("text", [
    "plain", "", "a < b & c > d", "\"quoted\" and 'single'", "tab\there", "line\nbreak", "\x1b[31mred",
    "del\x7f", "c1\x85", "bidi\u202eoverride", "naïve café", "\u2066isolate", "x" * 1000, "&amp;",
])
def test_text_is_escaped_as_before(text: str) -> None:
    """The fast path (printable ASCII) writes what html.escape of the escaped text writes."""
    assert pages.e(text) == escape(escaped(text), quote=True)


def test_every_character_is_escaped_as_before() -> None:
    for code in itertools.chain(range(0, 0x3000), range(0xfff0, 0x10000)):
        text = f"a{chr(code)}b"
        assert pages.e(text) == escape(escaped(text), quote=True), hex(code)
    assert pages.e(3) == "3" and pages.e(0.5) == "0.5" and pages.e(None) == "" and pages.e(True) == "True"


def test_a_file_named_without_a_folder_is_written_beside_it(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    atomic.write_atomic("plain.txt", "text\n")
    atomic.write_atomic(Path("bytes.bin"), b"\0\1")
    assert (tmp_path / "plain.txt").read_text() == "text\n"
    assert (tmp_path / "bytes.bin").read_bytes() == b"\0\1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bytes.bin", "plain.txt"]
