"""Small builders for scenario repositories, and a way to run the CLI in-process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelreg.cli.main import main

GITCONFIG = ("[user]\n\tname = Alice Example\n\temail = alice@example.com\n"
             "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """HOME, git's global config and DVC's site cache in ``home``: nothing reads or writes the
    developer's own, nor another test's."""
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(GITCONFIG)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    # DVC's per-repository state, by default in /var/tmp/dvc shared by every run and xdist worker
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(home / "dvc-site-cache"))
    monkeypatch.delenv("MODELREG_REGISTRY", raising=False)
    # Tests run inside GitHub Actions too: no test may find the runner's token, event or repository.
    for name in ("GITHUB_ACTIONS", "GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "GITHUB_REPOSITORY",
                 "GITHUB_EVENT_PATH", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


def build_file_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def commit_all(root: Path, message: str, *, date: str | None = None) -> str:
    git(root, "add", "-A")
    env = dict(os.environ)
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], cwd=root, env=env,
                   check=True)
    return git(root, "rev-parse", "HEAD").strip()


def make_code_repo(path: Path) -> Path:
    """A training-code repository with one commit and an origin URL."""
    path.mkdir()
    git(path, "init", "-q")
    (path / "train.py").write_text("print('training')\n")
    git(path, "remote", "add", "origin", "https://github.com/acme/fraud.git")
    commit_all(path, "Training code")
    return path


def snapshot_tree(root: Path) -> dict[str, bytes]:
    """Every file under root except .git and DVC's local state: to prove nothing was written."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith((".git/", ".dvc/cache/", ".dvc/tmp/", ".modelreg/")):
            out[rel] = path.read_bytes()
    return out


def artifact(path: Path, size: int = 4096, seed: int = 0) -> Path:
    """A file of deterministic pseudo-random bytes."""
    import random

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def metrics_file(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """Runs ``modelreg ARGS`` in-process (the real entry point, exit codes and all)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, f"modelreg {' '.join(args)} failed ({result.code}):\n{result.err}"
        return result

    def fails(self, *args: str, code: int = 1) -> Result:
        result = self(*args)
        assert result.code == code, (f"modelreg {' '.join(args)} exited {result.code}, expected {code}"
                                     f"\nstdout: {result.out}\nstderr: {result.err}")
        return result


def register(cli: Cli, root: Path, work: Path, model: str = "fraud-detector", *extra: str,
             metrics: dict[str, Any] | None = None, seed: int = 0, size: int = 4096) -> Result:
    art = artifact(work / f"{model}-{seed}" / "model.pkl", size=size, seed=seed)
    mfile = metrics_file(work / f"metrics-{model}-{seed}.json",
                         metrics if metrics is not None else {"roc_auc": 0.97, "f1": 0.8})
    owner = () if (root / "registry" / model / "model.yaml").exists() else ("--owner", "@acme/fraud-ml")
    return cli.ok("-C", str(root), "register", model, "--artifact", str(art), "--metrics", str(mfile),
                  *owner, *extra)


def set_aliases(root: Path, model: str, aliases: dict[str, int], **other: Any) -> None:
    """Edit model.yaml's desired state the way a promotion PR does."""
    import yaml

    path = root / "registry" / model / "model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["aliases"] = aliases
    doc.update(other)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


# Scenario registries: built once per session, copied per test -----------------------------------

#: the default remote as DVC reads a relative url: from the directory of .dvc/config
RELATIVE_REMOTE = "../.modelreg/remote"


def copy_registry(source: Path, dest: Path, *, remote: str | None = None) -> Path:
    """A private copy of the scenario registry ``source`` at ``dest``, pointing at its own DVC remote.

    ``init`` writes the default remote as an absolute path into ``source``; a copy that kept it
    would read and write the scenario's objects, shared by every test. Where ``.dvc/config``
    names that path, the copy names its own (or ``remote``) and the one commit is amended, so the
    copy is what ``init`` and a commit would have made at ``dest``. A scenario of several
    commits is built on a relative remote (``Scenarios.on_registry``) and needs no rewriting.
    """
    shutil.copytree(source, dest, symlinks=True)
    git_dir = dest / ".git"
    assert not (git_dir / "objects/info/alternates").exists() and not (git_dir / "worktrees").exists(), (
        f"{source}: a scenario must own its objects and have no linked worktrees, or copies share them")
    config = dest / ".dvc" / "config"
    text = config.read_text() if config.is_file() else ""
    old = str(source / ".modelreg" / "remote")
    if old not in text:
        return dest
    assert git(dest, "rev-list", "--count", "--all").strip() == "1", (
        f"{source}: its remote is an absolute path and it has several commits; build it with "
        "Scenarios.on_registry (a relative remote) so that copies need no history rewritten")
    config.write_text(text.replace(old, remote or str(dest / ".modelreg" / "remote")))
    git(dest, "commit", "-q", "--amend", "--no-edit", "--no-verify", "--", ".dvc/config")
    return dest


def copy_scenario(built: Path, tmp_path: Path) -> Path:
    """A private copy of a scenario from ``Scenarios.on_registry``: its registry at
    ``tmp_path/registry`` and its work folder's files in ``tmp_path/work`` (the ``workdir``
    fixture's folder), as if the test had built it there."""
    shutil.copytree(built.parent / "work", tmp_path / "work", symlinks=True, dirs_exist_ok=True)
    return copy_registry(built, tmp_path / "registry")


def _assert_relocatable(root: Path) -> None:
    """No file and no git object of a built scenario names a path into the scenario's directory
    other than its work folder: a copy elsewhere writes nowhere back into it (an absolute remote,
    a deploy target's folder). Paths of inputs in the work folder (a data set's) may be recorded:
    copies only read them."""
    base, work = str(root.parent).encode(), str(root.parent / "work").encode()
    skip = (".git/", ".dvc/cache/", ".dvc/tmp/", ".modelreg/")
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    named = [rel for rel, p in files.items()
             if not rel.startswith(skip) and base in p.read_bytes().replace(work, b"")]
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root,
                             capture_output=True, check=True).stdout
    assert not named and base not in objects.replace(work, b""), (
        f"scenario {root} names a path into {root.parent} (in {named or 'a git object'}): "
        "copies would write back into it")


class Scenarios:
    """Scenario registries, each built once per session (per xdist worker) by the first test that
    asks for it, with that test's ``cli``, then copied per test (``copy_registry``, ``copy_scenario``).

    A builder writes only inside the registry and the work folder it is given (``copy_scenario``
    copies both); ``on_registry`` checks that the result names no other path of its own.
    """

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.built: dict[str, Path] = {}

    def registry(self, cli: Cli) -> Path:
        """``modelreg init`` and one commit on main."""
        if "registry" not in self.built:
            root = self.factory.mktemp("scenario-registry") / "registry"
            cli.ok("init", str(root))
            commit_all(root, "Create the registry")
            self.built["registry"] = root
        return self.built["registry"]

    def on_registry(self, name: str, cli: Cli, build: Callable[[Cli, Path, Path], None]) -> Path:
        """Scenario ``name``: ``build(cli, root, work)`` run once on a copy of ``registry`` whose DVC
        remote is the relative ``../.modelreg/remote`` (the same folder, as DVC reads it), so that
        the commits ``build`` adds hold no absolute path and copies need no rewriting. ``work`` is
        an empty folder beside ``root`` for artifacts, metrics and a code repository."""
        if name not in self.built:
            base = self.factory.mktemp(f"scenario-{name}")
            root, work = base / "registry", base / "work"
            work.mkdir()
            copy_registry(self.registry(cli), root, remote=RELATIVE_REMOTE)
            build(cli, root, work)
            _assert_relocatable(root)
            self.built[name] = root
        return self.built[name]
