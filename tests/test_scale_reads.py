"""What keeps reads flat at 100,000 versions never changes an answer (issue 17).

The commit-graph (present, stale, missing), the memo split by hundreds of versions and keyed by
kind, the model trees known whole by their tree id, and the work tree's version listings kept by
inode and times: each read gives what a read without them gives.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from modelreg.edges import git as mgit
from tests.helpers import Cli, build_file_tree, commit_all, git, register, set_aliases


def _graph_files(root: Path) -> list[Path]:
    info = root / ".git/objects/info"
    return [p for p in (info / "commit-graph", info / "commit-graphs") if p.exists()]


def _drop_graph(root: Path) -> None:
    for path in _graph_files(root):
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def _history(cli: Cli, root: Path, *extra: str) -> list[dict[str, object]]:
    return cli.ok("-C", str(root), "history", "fraud-detector", "--offline", "--json", *extra).json


@pytest.fixture
def grown(registry: Path, workdir: Path, cli: Cli) -> Path:
    """fraud-detector v1-v3 registered and committed by modelreg, v2 promoted by hand."""
    for seed in (1, 2, 3):
        register(cli, registry, workdir, "fraud-detector", "--commit", seed=seed)
    set_aliases(registry, "fraud-detector", {"production": 2})
    commit_all(registry, "Promote fraud-detector v2 (#4)")
    return registry


# The commit-graph ---------------------------------------------------------------------------------

def test_modelregs_commits_write_and_refresh_a_bloom_commit_graph(grown: Path, workdir: Path,
                                                                  cli: Cli) -> None:
    assert mgit.has_bloom_graph(grown)  # written whole on a short history by register --commit
    chain = grown / ".git/objects/info/commit-graphs/commit-graph-chain"
    before = chain.read_text().split()
    register(cli, grown, workdir, "fraud-detector", "--commit", seed=4)
    after = chain.read_text().split()
    assert after != before and mgit.has_bloom_graph(grown)  # a new layer, or the layers merged
    head = git(grown, "rev-parse", "HEAD").strip()
    assert head in git(grown, "log", "-1", "--format=%H")


def test_history_and_at_date_are_the_same_with_the_graph_stale_or_missing(grown: Path, cli: Cli) -> None:
    # stale: commits made by plain git after the graph was written are not in it
    set_aliases(grown, "fraud-detector", {"production": 3})
    commit_all(grown, "Promote fraud-detector v3 (#5)")
    assert mgit.has_bloom_graph(grown)
    stale = _history(cli, grown)
    resolved = cli.ok("-C", str(grown), "resolve", "fraud-detector@production", "--json").json["version"]
    _drop_graph(grown)
    assert not mgit.has_bloom_graph(grown)
    assert _history(cli, grown) == stale
    assert cli.ok("-C", str(grown), "resolve", "fraud-detector@production", "--json").json["version"] \
        == resolved == 3
    kinds = [(e["kind"], e.get("version"), e.get("alias")) for e in stale]
    assert kinds[:2] == [("alias", 3, "production"), ("alias", 2, "production")]
    assert ("registered", 1, None) in kinds
    # and written again whole (as `modelreg init` does on an existing history)
    assert mgit.write_commit_graph(grown) and mgit.has_bloom_graph(grown)
    assert _history(cli, grown) == stale


def test_a_graph_without_bloom_filters_is_not_taken_for_one(grown: Path) -> None:
    _drop_graph(grown)
    git(grown, "commit-graph", "write", "--reachable", "--no-changed-paths")
    assert not mgit.has_bloom_graph(grown)
    (grown / ".git/objects/info/commit-graph").write_bytes(b"not a graph")
    assert not mgit.has_bloom_graph(grown)


def test_init_writes_the_graph_on_an_existing_history(grown: Path, cli: Cli) -> None:
    _drop_graph(grown)
    cli.ok("init", str(grown))
    assert mgit.has_bloom_graph(grown)


def test_at_a_date_before_a_version_it_does_not_exist(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, "fraud-detector")
    commit_all(registry, "v1", date="2026-01-10T12:00:00Z")
    register(cli, registry, workdir, "fraud-detector", seed=2)
    commit_all(registry, "v2", date="2026-02-10T12:00:00Z")
    mgit.write_commit_graph(registry)
    at = ("--at", "2026-01-20")
    shown = cli.ok("-C", str(registry), "show", "fraud-detector", "--json", *at).json
    assert [v["version"] for v in shown["versions"]] == [1]
    assert "has no version 2" in cli.fails("-C", str(registry), "resolve", "fraud-detector/2", *at).err
    listed = cli.ok("-C", str(registry), "list", "--json", *at).json
    assert [(m["name"], m["versions"]) for m in listed] == [("fraud-detector", 1)]
    assert cli.ok("-C", str(registry), "list", "--json").json[0]["versions"] == 2


def test_a_date_names_the_commit_git_names_as_the_kept_line_grows_and_is_rewritten(registry: Path) -> None:
    """``--at DATE`` takes the first-parent line's dates from what was kept (and extended): the
    commit is the one ``git rev-list -1 --first-parent --before`` names, after new commits, out-of-
    order dates, a merge, a rewrite of the line and a damaged file."""
    def commit(message: str, date: str, file: str = "notes.txt") -> None:
        build_file_tree(registry, {file: message})
        commit_all(registry, message, date=date)

    def agree() -> None:
        for date in ("2026-01-01", "2026-01-15", "2026-01-20T11:59:59Z", "2026-01-20T12:00:00Z",
                     "2026-01-20T13:00:00+02:00", "2026-03-01T11:00:00Z",
                     "2026-02-01 09:30", "2026-03-05", "2026-04-01", "2025-12-01"):
            expected = git(registry, "rev-list", "-1", "--first-parent", f"--before={date}", "HEAD").strip()
            if expected:
                assert mgit.resolve_revision(registry, date) == expected, date
            else:
                with pytest.raises(Exception, match="no commit on HEAD at or before"):
                    mgit.resolve_revision(registry, date)

    for day in ("2026-01-10", "2026-01-20", "2026-02-10"):
        commit(day, f"{day}T12:00:00Z")
    agree()
    kept = list((registry / ".git/modelreg/logs").iterdir())
    commit("late, dated early", "2026-01-05T12:00:00Z")  # dates need not rise along the line
    commit("2026-03-01", "2026-03-01T12:00:00Z")
    agree()  # extended by the two commits since
    git(registry, "switch", "-q", "-c", "side", "HEAD~2")
    commit("on a side branch", "2026-03-03T12:00:00Z", "side.txt")
    git(registry, "switch", "-q", "-")
    git(registry, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    agree()
    git(registry, "reset", "-q", "--hard", "HEAD~3")  # the kept tip is no longer on the line
    commit("rewritten", "2026-03-02T12:00:00Z")
    agree()
    for path in kept:
        path.write_bytes(b"\x00damaged")
    agree()


# The memo -----------------------------------------------------------------------------------------

def test_a_change_under_the_same_path_between_two_reads_is_seen_at_each_revision(
        registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, "fraud-detector", "-m", "first words")
    first = commit_all(registry, "v1")
    path = registry / "registry/fraud-detector/v1/version.yaml"
    path.write_text(path.read_text().replace("first words", "second thoughts"))
    second = commit_all(registry, "v1 described again")
    for rev, words in ((first, "first words"), (second, "second thoughts"), (first, "first words")):
        shown = cli.ok("-C", str(registry), "show", "fraud-detector/1", "--at", rev, "--json").json
        assert shown["manifest"]["description"] == words


def test_versions_past_a_hundred_are_memoised_apart_and_read_back(registry: Path, workdir: Path,
                                                                  cli: Cli) -> None:
    register(cli, registry, workdir, "fraud-detector", "-m", "one")
    model = registry / "registry/fraud-detector"
    shutil.copytree(model / "v1", model / "v150")
    text = (model / "v150/version.yaml").read_text()
    (model / "v150/version.yaml").write_text(text.replace("\nversion: 1\n", "\nversion: 150\n")
                                             .replace("description: one", "description: late"))
    commit_all(registry, "v1 and v150")
    for _ in range(2):  # the second read from the memo
        assert cli.ok("-C", str(registry), "show", "fraud-detector/150", "--json").json["manifest"][
            "description"] == "late"
    memos = sorted(p.name for p in (registry / ".git/modelreg/manifests").iterdir())
    assert "fraud-detector.marshal" in memos and "fraud-detector@1.marshal" in memos
    assert "@models.marshal" in memos  # every model.yaml, for `list`
    listed = cli.ok("-C", str(registry), "list", "--json").json
    assert listed[0]["versions"] == 2 and listed[0]["latest"] == 150


def test_the_same_bytes_are_checked_as_each_kind_they_are_read_as(registry: Path, workdir: Path,
                                                                   cli: Cli) -> None:
    """A memoised version.yaml is no answer for a model.yaml of the same bytes."""
    register(cli, registry, workdir, "fraud-detector")
    version = (registry / "registry/fraud-detector/v1/version.yaml").read_bytes()
    cli.ok("-C", str(registry), "show", "fraud-detector/1")  # memoised as a version
    (registry / "registry/fraud-detector/model.yaml").write_bytes(version)
    err = cli.fails("-C", str(registry), "show", "fraud-detector").err
    assert err.startswith("error: registry/fraud-detector/model.yaml"), err


# Model trees known whole ---------------------------------------------------------------------------

def test_a_stray_in_a_later_commit_is_refused_after_a_clean_read(registry: Path, workdir: Path,
                                                                 cli: Cli) -> None:
    register(cli, registry, workdir, "fraud-detector")
    register(cli, registry, workdir, "fraud-detector", seed=2)
    set_aliases(registry, "fraud-detector", {"production": 2})
    clean = commit_all(registry, "v1 and v2")
    for _ in range(2):  # the second read knows the model's tree whole by its id
        assert cli.ok("-C", str(registry), "resolve", "fraud-detector@production", "--at", clean,
                      "--json").json["version"] == 2
    assert list((registry / ".git/modelreg/manifests").glob("@layout.marshal"))
    build_file_tree(registry, {"registry/fraud-detector/v1/notes.txt": "hi"})
    stray = commit_all(registry, "a stray file")
    for args in (["resolve", "fraud-detector@production"], ["list"], ["show", "fraud-detector"]):
        err = cli.fails("-C", str(registry), *args, "--at", stray).err
        assert err.startswith("error: registry/fraud-detector/v1/notes.txt: is not named by version.yaml"), \
            (args, err)
    # the version read is checked too when its model's tree is known whole
    assert cli.ok("-C", str(registry), "resolve", "fraud-detector/1", "--at", clean, "--json").json[
        "version"] == 1
    v2 = registry / "registry/fraud-detector/v2"
    (registry / "registry/fraud-detector/v1/notes.txt").unlink()
    (v2 / "model.pkl.dvc").rename(v2 / "other.pkl.dvc")
    moved = commit_all(registry, "a pointer under another name")
    for _ in range(2):
        err = cli.fails("-C", str(registry), "resolve", "fraud-detector/2", "--at", moved).err
        assert "registry/fraud-detector/v2/other.pkl.dvc: is a DVC pointer version.yaml does not name" in err


# Work-tree listings kept by inode and times --------------------------------------------------------

@pytest.fixture
def listed(registry: Path, workdir: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two versions, their directories listed and kept (no racy window: the test changes them at
    once, which a clock tick could hide from their times; the rule is tested on its own below)."""
    from modelreg.edges import listings

    monkeypatch.setattr(listings, "RACY_NS", 0)
    register(cli, registry, workdir, "fraud-detector")
    register(cli, registry, workdir, "fraud-detector", seed=2)
    set_aliases(registry, "fraud-detector", {"production": 2})
    _read(registry)
    assert (registry / ".git/modelreg/listings/fraud-detector.marshal").exists()
    return registry


def _read(root: Path) -> int:
    from modelreg import Registry

    with Registry(root) as reg:
        return reg.resolve("fraud-detector@production").version


@pytest.mark.parametrize("change", ["add", "remove", "link", "chmod-file", "replace"])
def test_a_version_directory_changed_after_it_was_kept_is_listed_again(listed: Path, change: str) -> None:
    from modelreg.errors import InputError

    v1 = listed / "registry/fraud-detector/v1"
    expected = {"add": "v1/notes.txt: is not named by version.yaml",
                "remove": "v1: exists but holds no version.yaml", "link": "v1/extra: is a symbolic link",
                "chmod-file": None, "replace": "v1/model.pkl.dvc: is a symbolic link"}[change]
    if change == "add":
        (v1 / "notes.txt").write_text("hi")
    elif change == "remove":
        (v1 / "version.yaml").unlink()
    elif change == "link":
        (v1 / "extra").symlink_to("/etc/passwd")
    elif change == "chmod-file":
        (v1 / "version.yaml").chmod(0o600)  # the file's own times: nothing the listing holds
    else:
        target = v1 / "model.pkl.dvc"
        data = target.read_bytes()
        target.unlink()
        (listed / "elsewhere.dvc").write_bytes(data)
        target.symlink_to(listed / "elsewhere.dvc")
    if expected is None:
        assert _read(listed) == 2
        return
    with pytest.raises(InputError, match=re.escape(expected)):
        _read(listed)


def test_a_model_found_whole_is_known_by_its_stamps_until_one_changes(listed: Path) -> None:
    """The second read takes the verdict from the stamps; a stray at the model's top (the model
    directory's times) or beside a version (the version directory's) is found at once."""
    assert (listed / ".git/modelreg/wholes.marshal").exists()
    assert _read(listed) == 2
    from modelreg.errors import InputError

    (listed / "registry/fraud-detector/notes.txt").write_text("hi")
    with pytest.raises(InputError, match=re.escape("registry/fraud-detector/notes.txt: is not part of")):
        _read(listed)
    (listed / "registry/fraud-detector/notes.txt").unlink()
    assert _read(listed) == 2
    (listed / "registry/fraud-detector/v1/.hidden").mkdir()
    with pytest.raises(InputError, match=re.escape("registry/fraud-detector/v1/.hidden: is a directory")):
        _read(listed)


def test_a_verdict_that_read_a_manifest_stands_only_while_the_manifest_does(
        registry: Path, workdir: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A card is allowed because version.yaml names it: editing the manifest in place (no
    directory's times move) so that it no longer names the card makes the card a stray."""
    from modelreg.edges import listings
    from modelreg.errors import InputError

    monkeypatch.setattr(listings, "RACY_NS", 0)
    card = workdir / "card.md"
    card.write_text("# Fraud\n\n## Intended use\n\nScoring.\n")
    register(cli, registry, workdir, "fraud-detector", "--card", str(card))
    register(cli, registry, workdir, "fraud-detector", seed=2)
    set_aliases(registry, "fraud-detector", {"production": 2})
    for _ in range(2):
        assert _read(registry) == 2
    manifest = registry / "registry/fraud-detector/v1/version.yaml"
    text = manifest.read_text()
    assert "card: card.md" in text
    with open(manifest, "r+") as file:  # in place: the directory's entries and times stay
        file.write(text.replace("card: card.md", "card: cord.md"))
    with pytest.raises(InputError, match=re.escape("registry/fraud-detector/v1/card.md: is not named by")):
        _read(registry)


def test_a_directory_changed_in_the_racy_window_is_not_kept(registry: Path) -> None:
    from modelreg.edges.listings import Listings

    kept = Listings(str(registry), "m")
    recent = kept.started - 1000  # changed a microsecond before the listing began
    kept.put("v1", (1, recent, recent), (("version.yaml", "file"),))
    kept.put("v2", (2, 0, 0), (("version.yaml", "file"),))
    assert kept.get("v1", (1, recent, recent)) is None
    assert kept.get("v2", (2, 0, 0)) == (("version.yaml", "file"),)
    assert kept.get("v2", (3, 0, 0)) is None  # another directory in its place
    assert kept.get("v2", (2, 0, 1)) is None  # its change time moved (an entry, a chmod)


def test_a_damaged_listing_file_is_ignored(listed: Path) -> None:
    path = listed / ".git/modelreg/listings/fraud-detector.marshal"
    path.write_bytes(b"\x00damaged")
    assert _read(listed) == 2
    os.chmod(path, 0o600)


# The log kept per model ------------------------------------------------------------------------------

def _fresh_history(cli: Cli, root: Path, *extra: str) -> list[dict[str, object]]:
    shutil.rmtree(root / ".git/modelreg/logs", ignore_errors=True)
    return _history(cli, root, *extra)


def test_the_kept_log_is_extended_and_never_trusted_off_the_line(grown: Path, workdir: Path,
                                                                  cli: Cli) -> None:
    first = _history(cli, grown)
    assert list((grown / ".git/modelreg/logs").iterdir())
    assert _history(cli, grown) == first == _fresh_history(cli, grown)
    # extended by the commits since
    set_aliases(grown, "fraud-detector", {"production": 3})
    commit_all(grown, "Promote fraud-detector v3 (#5)")
    _history(cli, grown)  # kept at the new tip
    register(cli, grown, workdir, "fraud-detector", "--commit", seed=4)
    extended = _history(cli, grown)
    assert extended == _fresh_history(cli, grown)
    assert extended[0]["kind"] == "registered" and extended[0]["version"] == 4
    # the tip kept is no longer on the line (history rewritten): read whole
    _history(cli, grown)
    git(grown, "reset", "-q", "--hard", "HEAD~2")
    set_aliases(grown, "fraud-detector", {"production": 1})
    commit_all(grown, "Roll fraud-detector back to v1 (#6)")
    rewritten = _history(cli, grown)
    assert rewritten == _fresh_history(cli, grown)
    assert [(e["kind"], e["version"]) for e in rewritten[:1]] == [("alias", 1)]
    assert all(e.get("version") != 4 for e in rewritten)
    # an older revision, read after a newer one was kept
    older = git(grown, "rev-parse", "HEAD~1").strip()
    assert _history(cli, grown, "--at", older) == _fresh_history(cli, grown, "--at", older)


def test_a_tip_reached_only_through_a_merge_is_not_taken_for_the_line(grown: Path, workdir: Path,
                                                                     cli: Cli) -> None:
    git(grown, "switch", "-q", "-c", "side")
    register(cli, grown, workdir, "fraud-detector", seed=5)
    commit_all(grown, "fraud-detector v4 on a side branch")
    _history(cli, grown)  # kept at the side branch's tip
    git(grown, "switch", "-q", "main")
    set_aliases(grown, "fraud-detector", {"production": 1})
    commit_all(grown, "Roll back on main (#7)")
    git(grown, "merge", "-q", "--no-ff", "-m", "Merge pull request #8 from side", "side")
    merged = _history(cli, grown)
    assert merged == _fresh_history(cli, grown)
    assert [(e["kind"], e["version"], e["pr"]) for e in merged[:1]] == [("registered", 4, 8)]


# What a reviewer made the kept answers say (each was wrong before its fix) ------------------------

@pytest.fixture
def two(registry: Path, workdir: Path, cli: Cli) -> Path:
    """fraud-detector v1 and v2 (production), committed."""
    register(cli, registry, workdir, "fraud-detector")
    register(cli, registry, workdir, "fraud-detector", seed=2)
    set_aliases(registry, "fraud-detector", {"production": 2})
    commit_all(registry, "v1 and v2")
    return registry


def _with_empty_trees(root: Path) -> str:
    """A commit whose model holds empty trees (git can; no checkout shows them): `v9`, `junk`, `v1/junk`."""
    empty = git(root, "hash-object", "-t", "tree", "-w", "/dev/null").strip()

    def mktree(entries: str) -> str:
        return subprocess.run(["git", "mktree"], cwd=root, input=entries, capture_output=True, text=True,
                              check=True).stdout.strip()

    def replaced(tree: str, name: str, new: str) -> str:
        lines = [line for line in git(root, "ls-tree", tree).splitlines() if not line.endswith(f"\t{name}")]
        return mktree("\n".join([*lines, f"040000 tree {new}\t{name}"]) + "\n")

    v1 = replaced(git(root, "rev-parse", "HEAD:registry/fraud-detector/v1").strip(), "junk", empty)
    model = git(root, "rev-parse", "HEAD:registry/fraud-detector").strip()
    model = replaced(replaced(replaced(model, "v1", v1), "v9", empty), "junk", empty)
    top = replaced(git(root, "rev-parse", "HEAD:registry").strip(), "fraud-detector", model)
    tree = replaced(git(root, "rev-parse", "HEAD^{tree}").strip(), "registry", top)
    return git(root, "commit-tree", tree, "-p", "HEAD", "-m", "empty trees").strip()


def test_empty_trees_in_a_commit_are_what_a_checkout_makes_of_them_on_every_read(two: Path, cli: Cli) -> None:
    """Nothing: the answers at that commit are those without them, the first read and every later one."""
    at = _with_empty_trees(two)

    def listed(*args: str) -> list[tuple[object, ...]]:
        return [(m["name"], m["versions"], m["latest"], m["aliases"]) for m in cli.ok(
            "-C", str(two), "list", "--json", *args).json]

    clean = listed()
    assert clean == [("fraud-detector", 2, 2, {"production": 2})]
    for _ in range(3):  # the first read checks the model's tree, the later ones know it whole by its id
        assert listed("--at", at) == clean
        assert cli.ok("-C", str(two), "resolve", "fraud-detector/latest", "--at", at, "--json").json[
            "version"] == 2
        assert cli.ok("-C", str(two), "show", "fraud-detector/1", "--at", at, "--json").json["version"] == 1


def test_a_directory_swapped_for_a_link_is_refused_by_a_snapshot_that_read_through_it(
        two: Path, tmp_path: Path) -> None:
    from modelreg import Registry
    from modelreg.errors import InputError

    outside = tmp_path / "outside"
    shutil.copytree(two / "registry/fraud-detector", outside)
    with Registry(two) as reg:
        assert reg.resolve("fraud-detector/2").version == 2
        shutil.move(two / "registry/fraud-detector", tmp_path / "moved")
        (two / "registry/fraud-detector").symlink_to(outside)
        with pytest.raises(InputError, match="symbolic link that leaves the repository"):
            reg.resolve("fraud-detector/1")


def test_a_replaced_object_does_not_change_what_an_id_names(two: Path, cli: Cli) -> None:
    """`git replace` of a model's tree by one with a stray: modelreg reads objects as their ids hash."""
    for _ in range(2):
        assert cli.ok("-C", str(two), "list", "--at", "HEAD", "--json").json[0]["versions"] == 2
    model = git(two, "rev-parse", "HEAD:registry/fraud-detector").strip()
    blob = git(two, "rev-parse", "HEAD:registry/fraud-detector/model.yaml").strip()
    lines = [*git(two, "ls-tree", model).splitlines(), f"100644 blob {blob}\tstray.txt"]
    evil = subprocess.run(["git", "mktree"], cwd=two, input="\n".join(lines) + "\n", capture_output=True,
                          text=True, check=True).stdout.strip()
    git(two, "replace", model, evil)
    assert cli.ok("-C", str(two), "list", "--at", "HEAD", "--json").json[0]["versions"] == 2
    shutil.rmtree(two / ".git/modelreg")
    assert cli.ok("-C", str(two), "list", "--at", "HEAD", "--json").json[0]["versions"] == 2


def test_a_date_after_a_fetch_that_deepens_a_shallow_clone_names_what_git_names(two: Path, tmp_path: Path,
                                                                                   cli: Cli) -> None:
    for day in ("2026-01-10", "2026-01-20", "2026-02-10"):
        build_file_tree(two, {"notes.txt": day})
        commit_all(two, day, date=f"{day}T12:00:00Z")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{two}", str(clone))
    assert "no commit on HEAD" in cli.fails("-C", str(clone), "list", "--at", "2026-01-15").err
    git(clone, "fetch", "-q", "--unshallow")
    expected = git(clone, "rev-list", "-1", "--first-parent", "--before=2026-01-15", "HEAD").strip()
    assert expected and mgit.resolve_revision(clone, "2026-01-15") == expected


def test_what_is_kept_in_git_modelreg_is_checked_as_input(two: Path, cli: Cli) -> None:
    """Records of another shape are ignored (no crash, not believed); a FIFO in a file's place is
    not waited on."""
    import marshal

    expected = cli.ok("-C", str(two), "list", "--at", "HEAD", "--json").json
    layout_memo = two / ".git/modelreg/manifests/@layout.marshal"
    form, entries = marshal.loads(layout_memo.read_bytes())
    key = next(k for k in entries if k.startswith("whole "))
    for hostile in [((5, "100644", "x"),), (b"\xff" * 8, ()),
                    (b"\x01" + b"\x00" * 7, (("model.yaml", "100644", None),)), "nonsense",
                    (b"", (("a/b", "100644", "0" * 40),))]:
        record = hostile if isinstance(hostile, tuple) and len(hostile) == 2 else (b"", hostile)
        layout_memo.write_bytes(marshal.dumps((form, {key: record})))
        assert cli.ok("-C", str(two), "list", "--at", "HEAD", "--json").json == expected, hostile
    for kept in (two / ".git/modelreg/wholes.marshal", layout_memo):
        kept.unlink(missing_ok=True)
        os.mkfifo(kept)
        for at in ((), ("--at", "HEAD")):
            assert [(m["name"], m["versions"], m["latest"]) for m in cli.ok(
                "-C", str(two), "list", "--json", *at).json] == [("fraud-detector", 2, 2)]
        kept.unlink()


def test_a_date_with_signed_commits_shown_by_the_users_log_settings(two: Path, tmp_path: Path,
                                                                     cli: Cli) -> None:
    """`log.showSignature` makes git log print each signature's check: not a line to parse."""
    key = tmp_path / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    for name, value in (("gpg.format", "ssh"), ("user.signingkey", f"{key}.pub"),
                        ("log.showSignature", "true")):
        git(two, "config", name, value)
    build_file_tree(two, {"notes.txt": "signed"})
    git(two, "add", "-A")
    git(two, "commit", "-q", "-S", "-m", "signed")
    assert cli.ok("-C", str(two), "list", "--at", "2999-01-01T00:00:00Z", "--json").json[0]["versions"] == 2
    today = git(two, "log", "-1", "--format=%cI", "--no-show-signature").strip()
    shutil.rmtree(two / ".git/modelreg/logs", ignore_errors=True)
    assert cli.ok("-C", str(two), "list", "--at", today, "--json").json[0]["versions"] == 2
    assert list((two / ".git/modelreg/logs").iterdir())  # the line's dates read and kept, not walked
