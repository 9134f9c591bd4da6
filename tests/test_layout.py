"""The registry holds only what its format allows (formats/layout.py).

Each kind of stray entry fails the schema gate with its path and the fix, from the work tree,
the index and a commit (git's modes: links and submodules); every command that reads the
registry fails on it with the same one line; legitimate trees keep passing.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import Cli, Scenarios, build_file_tree, commit_all, copy_scenario, git, register

CARD = "# Fraud model\n\n## Intended use\n\nScoring card payments.\n"
VERSION_FIX = "registry/<model>/v<N>/ holds version.yaml, the .dvc pointer and the card version.yaml names"


@pytest.fixture
def tree(scenarios: Scenarios, tmp_path: Path, cli: Cli) -> Path:
    """main: fraud v1 (with a card) and v2, v2 in production; then a feature branch."""
    return copy_scenario(scenarios.on_registry("layout-main", cli, _build), tmp_path)


def _build(cli: Cli, registry: Path, workdir: Path) -> None:
    card = workdir / "card.md"
    card.write_text(CARD)
    register(cli, registry, workdir, "fraud", "-m", "first", "--card", str(card), seed=1)
    register(cli, registry, workdir, "fraud", "-m", "second", seed=2)
    model = registry / "registry/fraud/model.yaml"
    model.write_text(model.read_text().replace("aliases: {}", "aliases:\n  production: 2"))
    commit_all(registry, "fraud v1 and v2")
    git(registry, "switch", "-q", "-c", "feature")


def check(cli: Cli, root: Path, *args: str, code: int = 1) -> str:
    result = cli("-C", str(root), "check", "--offline", "--gate", "schema", *args)
    assert result.code == code, f"exit {result.code}\n{result.out}\n{result.err}"
    return result.out


def symlink_in_index(root: Path, path: str, target: str = "version.yaml") -> None:
    """A symbolic link as git records it (mode 120000), whatever the file system allows."""
    blob = _blob(root, target)
    git(root, "update-index", "--add", "--cacheinfo", f"120000,{blob},{path}")


def _blob(root: Path, text: str) -> str:
    import subprocess

    return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=root, input=text.encode(),
                          capture_output=True, check=True).stdout.decode().strip()


# Legitimate trees --------------------------------------------------------------------------------

def test_a_registry_as_register_writes_it_passes(tree: Path, cli: Cli) -> None:
    assert sorted(os.listdir(tree / "registry/fraud/v1")) == [".gitignore", "card.md", "model.pkl.dvc",
                                                            "version.yaml"]
    check(cli, tree, "--all", code=0)
    check(cli, tree, "--all", "--head", code=0)
    assert cli.ok("-C", str(tree), "show", "fraud", "--json").json["name"] == "fraud"


def test_the_artifact_checked_out_beside_its_pointer_is_allowed_in_the_work_tree(tree: Path, cli: Cli,
                                                                               workdir: Path) -> None:
    # what `dvc checkout` leaves: the artifact beside its pointer, kept out of git by .gitignore
    shutil.copy(workdir / "fraud-1/model.pkl", tree / "registry/fraud/v1/model.pkl")
    (tree / "registry/fraud/v2/model.pkl").mkdir()  # or a directory, in any form DVC links it
    assert git(tree, "status", "--porcelain") == ""
    check(cli, tree, "--all", code=0)
    assert cli.ok("-C", str(tree), "resolve", "fraud/1", "--json").json["version"] == 1
    shown = cli.ok("-C", str(tree), "show", "fraud", "--json").json
    assert [v["version"] for v in shown["versions"]] == [1, 2]


def test_an_executable_file_is_still_a_file(tree: Path, cli: Cli) -> None:
    (tree / "registry/fraud/v2/version.yaml").chmod(0o755)
    git(tree, "add", "-A")
    check(cli, tree, "--staged", code=0)
    assert cli.ok("-C", str(tree), "resolve", "fraud/2", "--json").json["version"] == 2


# Each kind of stray entry fails the gate with its path and fix ------------------------------------

STRAYS = {
    "a file under registry/": ({"registry/notes.txt": "hi"},
                               "registry/notes.txt: [schema] is not part of a registry's layout; "
                               "registry/ holds one directory per model (and .gitkeep) only"),
    "a directory no model could be named": ({"registry/Fraud Copy/model.yaml": "name: x\n"},
                                            "registry/Fraud Copy: [schema] 'Fraud Copy' is not a valid "
                                            "model name"),
    "a model directory without model.yaml": ({"registry/ghost/v1/version.yaml": "x: 1\n"},
                                             "registry/ghost: [schema] holds no model.yaml"),
    "a file beside model.yaml": ({"registry/fraud/notes.txt": "hi"},
                                 "registry/fraud/notes.txt: [schema] is not part of a registry's layout; "
                                 "registry/<model>/ holds model.yaml and v<N>/ directories only"),
    "a directory that is no version": ({"registry/fraud/v01/version.yaml": "x: 1\n"},
                                       "registry/fraud/v01: [schema] is not part of a registry's layout"),
    "a file no manifest names": ({"registry/fraud/v1/notes.txt": "hi"},
                                 "registry/fraud/v1/notes.txt: [schema] is not named by version.yaml; "
                                 + VERSION_FIX),
    "a pointer no manifest names": ({"registry/fraud/v2/other.pkl.dvc": "outs: []\n"},
                                    "registry/fraud/v2/other.pkl.dvc: [schema] is a DVC pointer version.yaml "
                                    "does not name"),
    "a directory inside a version": ({"registry/fraud/v2/extra/a.txt": "hi"},
                                     "registry/fraud/v2/extra: [schema] is a directory inside a version"),
    "a second card": ({"registry/fraud/v1/card2.md": "# more\n"},
                      "registry/fraud/v1/card2.md: [schema] is not named by version.yaml"),
}


@pytest.mark.parametrize("case", sorted(STRAYS))
def test_a_stray_entry_fails_the_gate_in_every_mode(tree: Path, cli: Cli, case: str) -> None:
    files, expected = STRAYS[case]
    build_file_tree(tree, files)
    assert expected in check(cli, tree)  # the work tree
    git(tree, "add", "-A")
    assert expected in check(cli, tree, "--staged")
    commit_all(tree, f"{case}")
    assert expected in check(cli, tree, "--head")
    assert expected in check(cli, tree, "--head", "--all")


@pytest.mark.parametrize("empty", ["registry/fraud/v1/empty", "registry/fraud/v9", "registry/ghost",
                                   "registry/fraud/junk"])
def test_an_empty_directory_in_the_work_tree_fails_the_gate(tree: Path, cli: Cli, empty: str) -> None:
    (tree / empty).mkdir()
    assert git(tree, "status", "--porcelain") == ""  # git sees nothing
    out = check(cli, tree)
    assert f"{empty}: [schema]" in out, out


def test_a_real_symbolic_link_fails_the_gate(tree: Path, cli: Cli) -> None:
    (tree / "registry/fraud/v2/card.md").symlink_to("../v1/card.md")
    (tree / "registry/linked").symlink_to("fraud")
    out = check(cli, tree)
    assert "registry/fraud/v2/card.md: [schema] is a symbolic link; a registry holds regular files" in out
    assert "registry/linked: [schema] is a symbolic link" in out
    git(tree, "add", "-A")
    commit_all(tree, "links")
    out = check(cli, tree, "--head")
    assert "registry/fraud/v2/card.md: [schema] is a symbolic link" in out
    assert "registry/linked: [schema] is a symbolic link" in out


@pytest.mark.parametrize("path", ["registry/fraud/v1/version.yaml", "registry/fraud/v2/extra.yaml",
                                  "registry/fraud/model.yaml", "registry/fraud/v3"])
def test_a_symbolic_link_committed_by_mode_fails_the_gate(tree: Path, cli: Cli, path: str) -> None:
    if path.endswith(("version.yaml", "model.yaml")):
        git(tree, "rm", "-q", "--cached", path)
    symlink_in_index(tree, path, "../../../etc/passwd")
    assert f"{path}: [schema] is a symbolic link" in check(cli, tree, "--staged")
    git(tree, "commit", "-qm", "a link")
    assert f"{path}: [schema] is a symbolic link" in check(cli, tree, "--head")


@pytest.mark.parametrize("path", ["registry/fraud/v2/vendor", "registry/vendor", "registry/fraud/v3"])
def test_a_submodule_fails_the_gate(tree: Path, cli: Cli, path: str) -> None:
    head = git(tree, "rev-parse", "HEAD").strip()
    git(tree, "update-index", "--add", "--cacheinfo", f"160000,{head},{path}")
    expected = f"{path}: [schema] is a git submodule; a registry holds no submodules: `git rm {path}`"
    assert expected in check(cli, tree, "--staged")
    git(tree, "commit", "-qm", "a submodule")
    assert expected in check(cli, tree, "--head")
    assert expected in check(cli, tree, "--head", "--all")


# Every command that reads the registry gives the same one line -----------------------------------

def _readers(root: Path, out: Path, workdir: Path) -> dict[str, list[str]]:
    return {
        "list": ["list"], "list --json": ["list", "--json"], "show": ["show", "fraud"],
        "show version": ["show", "fraud/1"], "resolve": ["resolve", "fraud@production"],
        "search": ["search", "-w", "model=fraud"], "diff": ["diff", "fraud", "1", "2"],
        "get": ["get", "fraud/1", "-o", str(out / "got.pkl")], "card": ["card", "fraud/1"],
        "site": ["site", "-o", str(out / "site")], "history": ["history", "fraud", "--offline"],
        "serve": ["serve", "fraud/1", "--port", "0"],
        "register": ["register", "fraud", "-a", str(workdir / "fraud-1/model.pkl")],
        "promote": ["promote", "fraud", "1", "--to", "staging"], "archive": ["archive", "fraud", "1"],
        "reject": ["reject", "fraud", "1", "--reason", "bias"],
        "demote": ["demote", "fraud", "--alias", "production"],
        "rollback": ["rollback", "fraud", "--alias", "production", "--to", "1"],
    }


LISTING = ("list", "list --json", "search", "site")


@pytest.mark.parametrize(("files", "expected", "readers"), [
    ({"registry/fraud/v1/notes.txt": "hi"}, "registry/fraud/v1/notes.txt: is not named by version.yaml",
     None),
    ({"registry/fraud/notes.txt": "hi"}, "registry/fraud/notes.txt: is not part of a registry's layout",
     None),
    ({"registry/notes.txt": "hi"}, "registry/notes.txt: is not part of a registry's layout", None),
    ({"registry/.hidden/x": "hi"}, "registry/.hidden: '.hidden' is not a valid model name", None),
    # a directory without model.yaml is met by the commands that list the models, and by a read of it
    ({"registry/stray/notes.txt": "hi"}, "registry/stray: holds no model.yaml", LISTING),
], ids=["version", "model", "root", "bad-name", "no-model"])
def test_every_reading_command_gives_the_same_one_line(tree: Path, cli: Cli, tmp_path: Path, workdir: Path,
                                                       files: dict[str, str], expected: str,
                                                       readers: tuple[str, ...] | None) -> None:
    build_file_tree(tree, files)
    before = sorted(p.name for p in (tree / "registry/fraud").iterdir())
    commands = {what: args for what, args in _readers(tree, tmp_path, workdir).items()
                if readers is None or what in readers}
    for what, args in commands.items():
        result = cli.fails("-C", str(tree), *args)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {expected}; "), (what, result.err)
    assert sorted(p.name for p in (tree / "registry/fraud").iterdir()) == before  # register wrote nothing
    assert not (tmp_path / "got.pkl").exists() and not (tmp_path / "site").exists()
    commit_all(tree, "a stray file")
    for what in ("list", "show", "resolve", "card", "get", "diff", "search"):
        if what in commands:
            result = cli.fails("-C", str(tree), *commands[what], "--at", "HEAD")  # read from git objects
            assert result.err.strip() == cli.fails("-C", str(tree), *commands[what]).err.strip(), what


def test_a_link_is_one_line_on_every_read_at_a_revision(tree: Path, cli: Cli) -> None:
    symlink_in_index(tree, "registry/fraud/v2/extra.md", "/etc/passwd")
    git(tree, "commit", "-qm", "a link")
    for args in (["show", "fraud"], ["resolve", "fraud/2"], ["list"], ["card", "fraud/2"]):
        err = cli.fails("-C", str(tree), *args, "--at", "HEAD").err
        assert err.startswith("error: registry/fraud/v2/extra.md: is a symbolic link; "), err


def test_the_python_api_raises_the_same_error(tree: Path) -> None:
    from modelreg import Registry
    from modelreg.errors import InputError

    build_file_tree(tree, {"registry/fraud/v2/notes.txt": "hi"})
    expected = re.escape("registry/fraud/v2/notes.txt: is not named by version.yaml")
    with pytest.raises(InputError, match=expected):
        Registry(tree).versions("fraud")
    with pytest.raises(InputError, match=expected):
        Registry(tree).resolve("fraud@production")


# The snapshot's listings: kinds from the file system and from git's modes --------------------------

def test_entries_agree_across_work_tree_index_and_revision(tree: Path) -> None:
    from modelreg.edges.snapshot import Index, Revision, WorkTree
    from modelreg.formats import layout

    head = git(tree, "rev-parse", "HEAD").strip()
    symlink_in_index(tree, "registry/fraud/v2/link")
    git(tree, "update-index", "--add", "--cacheinfo", f"160000,{head},registry/fraud/v2/sub")
    build_file_tree(tree, {"registry/fraud/v2/deep/er/file.txt": "x"})
    git(tree, "add", "registry/fraud/v2/deep")
    git(tree, "commit", "-qm", "kinds")
    expected = {"": layout.DIRECTORY, "model.yaml": layout.FILE, "v1": layout.DIRECTORY,
                "v2": layout.DIRECTORY, "v2/link": layout.LINK, "v2/sub": layout.SUBMODULE,
                "v2/deep": layout.DIRECTORY}
    for snapshot in (Revision(str(tree), "HEAD"), Index(str(tree))):
        with snapshot:
            found = snapshot.entries("registry/fraud", 2)
            assert {k: v for k, v in found.items() if k in expected} == expected, type(snapshot)
            assert "v2/deep/er" not in found
            assert snapshot.entries("registry", 1)["fraud"] == layout.DIRECTORY
            assert snapshot.entries("registry/nothing", 2) == {}
    (tree / "registry/fraud/v2/link").symlink_to("version.yaml")  # the index's entries are not checked out
    os.mkfifo(tree / "registry/fraud/v2/fifo")
    work = WorkTree(str(tree)).entries("registry/fraud", 2)
    assert work["v2/link"] == layout.LINK and work["v2/deep"] == layout.DIRECTORY
    assert work["v2/fifo"] == layout.SPECIAL and "v2/deep/er" not in work
    assert WorkTree(str(tree)).entries("registry/fraud/v2/link", 1) == {"": layout.LINK}


# Configuration that would make modelreg write into the registry itself ---------------------------

def _set_targets(root: Path, *targets: dict[str, object]) -> None:
    import yaml

    from tests.helpers import regenerate_workflows

    path = root / "modelreg.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["environments"] = {"production": {"alias": "production", "targets": list(targets)}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    regenerate_workflows(root)


@pytest.mark.parametrize("where", ["serving", "registry/fraud", ".git/hooks", "./x/../registry",
                                   "{root}/deployed", "{outside}/../registry/srv", "{link}/srv", "~"])
def test_a_deploy_target_inside_the_repository_is_refused_by_the_gate(tree: Path, cli: Cli, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       where: str) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "link").symlink_to(tree)  # a link outside that leads back into the repository
    monkeypatch.setenv("HOME", str(tree / "registry"))  # `~` as directory.py expands it
    path = where.format(root=tree, outside=tmp_path / "outside", link=tmp_path / "link")
    _set_targets(tree, {"type": "webhook", "url": "https://example.com/hook"},
                 {"type": "directory", "path": path})
    out = check(cli, tree)
    line = (tree / "modelreg.yaml").read_text().splitlines().index("    - type: directory") + 2
    assert (f"modelreg.yaml:{line}: [schema] environments.production.targets.1.path: {path!r} is inside the "
            "registry") in out, out
    assert "a deployment would write into the registry itself; give a directory outside the repository" in out


def test_a_kserve_path_inside_the_repository_is_refused_and_outside_passes(tree: Path, cli: Cli,
                                                                          tmp_path: Path) -> None:
    _set_targets(tree, {"type": "kserve", "path": "gitops", "namespace": "ml"})
    assert "environments.production.targets.0.path: 'gitops' is inside the registry" in check(cli, tree)
    _set_targets(tree, {"type": "kserve", "path": "../gitops", "namespace": "ml"},
                 {"type": "directory", "path": str(tmp_path / "srv")})
    check(cli, tree, code=0)


def test_deploy_refuses_a_target_inside_the_repository_before_writing(tree: Path, cli: Cli) -> None:
    git(tree, "switch", "-q", "main")
    _set_targets(tree, {"type": "directory", "path": "serving"})
    commit_all(tree, "a target inside the repository, merged past the gate")
    notes = git(tree, "notes", "--ref", "modelreg", "list")
    result = cli.fails("-C", str(tree), "deploy")
    assert re.match(r"error: modelreg.yaml:\d+: environments.production.targets.0.path: 'serving' is inside "
                    "the registry", result.err), result.err
    assert not (tree / "serving").exists()
    assert git(tree, "notes", "--ref", "modelreg", "list") == notes  # nothing recorded either
    assert git(tree, "status", "--porcelain") == ""


@pytest.mark.parametrize("out", ["registry/site", "registry", ".git/site", "{link}/registry/x"])
def test_site_refuses_an_output_inside_the_models_tree_or_git(tree: Path, cli: Cli, tmp_path: Path,
                                                               out: str) -> None:
    (tmp_path / "link").symlink_to(tree)
    out = out.format(link=tmp_path / "link")
    before = sorted(str(p) for p in tree.rglob("*"))
    err = cli.fails("-C", str(tree), "site", "-o", str(tree / out) if not out.startswith("/") else out).err
    assert "--output: " in err and "is inside the registry's" in err and "write it outside registry/" in err
    assert sorted(str(p) for p in tree.rglob("*")) == before
    cli.ok("-C", str(tree), "site", "-o", str(tree / "_site"))  # beside the models, as the Pages job does


def test_card_refuses_an_output_inside_the_models_tree(tree: Path, cli: Cli) -> None:
    err = cli.fails("-C", str(tree), "card", "fraud/1", "--format", "hf", "-o",
                    str(tree / "registry/fraud/v1/README.md")).err
    assert err.startswith("error: --output: ") and "is inside the registry's registry/" in err, err
    assert not (tree / "registry/fraud/v1/README.md").exists()


def test_a_read_checks_the_pointer_its_manifest_names(tree: Path, cli: Cli) -> None:
    """One pointer under another name: the model's listing looks usual; the version's read says."""
    v2 = tree / "registry/fraud/v2"
    (v2 / "model.pkl.dvc").rename(v2 / "other.pkl.dvc")
    for args in (["resolve", "fraud/2"], ["show", "fraud"], ["get", "fraud/2", "-o", str(tree.parent / "x")]):
        err = cli.fails("-C", str(tree), *args).err
        assert err.startswith("error: registry/fraud/v2/other.pkl.dvc: is a DVC pointer version.yaml "
                              "does not name;"), (args, err)
    assert cli.ok("-C", str(tree), "resolve", "fraud/1", "--json").json["version"] == 1  # v1 is fine
    assert "registry/fraud/v2/other.pkl.dvc: [schema] is a DVC pointer" in check(cli, tree)


def test_the_registry_directory_itself_may_not_be_a_link(tree: Path, cli: Cli, tmp_path: Path) -> None:
    shutil.move(str(tree / "registry"), tmp_path / "elsewhere")
    (tree / "registry").symlink_to(tmp_path / "elsewhere")
    err = cli.fails("-C", str(tree), "list").err
    assert err.startswith("error: registry: is a symbolic link; a registry holds regular files"), err


def test_a_registration_under_way_is_no_stray_in_the_work_tree_only(tree: Path, cli: Cli) -> None:
    import tempfile

    from modelreg.formats.layout import SCRATCH

    # the directory register builds a version in, named as register names it
    scratch = Path(tempfile.mkdtemp(dir=tree / "registry/fraud", prefix=".v3.", suffix=".tmp"))
    assert SCRATCH.fullmatch(scratch.name)
    (scratch / "version.yaml").write_text("half written\n")
    shown = cli.ok("-C", str(tree), "show", "fraud", "--json").json
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    git(tree, "add", "-A")  # committed by mistake: no longer a registration under way
    assert f"registry/fraud/{scratch.name}: [schema] is not part of a registry's layout" in check(
        cli, tree, "--staged")


def test_an_unreadable_version_directory_is_one_line(tree: Path, cli: Cli) -> None:
    from modelreg.edges.snapshot import _walk
    from modelreg.errors import InputError

    with pytest.raises(InputError, match=re.escape("registry/fraud/v9: cannot be listed: No such file")):
        _walk(str(tree / "registry/fraud/v9"), "", 1, {}, "registry/fraud/v9")  # gone while listed
    if os.geteuid() == 0:
        return  # root reads any directory
    (tree / "registry/fraud/v2").chmod(0o000)
    try:
        err = cli.fails("-C", str(tree), "show", "fraud").err
    finally:
        (tree / "registry/fraud/v2").chmod(0o755)
    assert err.startswith("error: registry/fraud/v2: cannot be listed: Permission denied"), err
