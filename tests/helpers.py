"""Small builders for scenario repositories, and a way to run the CLI in-process."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelreg.cli.main import main


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
