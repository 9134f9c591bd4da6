"""How often one command parses each registry file and starts git (issue "One shape for the code").

Builds a small registry with real ``modelreg`` commands (init, register, promote, commit), then
runs, each as a fresh process with an empty parse memo:

- ``check --head --offline`` on a pull request that registers one version
- ``promote --dry-run`` of that version to production
- ``deploy`` of one merged promotion to a ``directory`` target
- ``history`` of the model

and counts how many times each registry file is parsed (``formats.yamlio.loads`` wrapped in the
child process: production code is not instrumented) and how many ``git`` and ``git cat-file``
processes start (a ``git`` wrapper first on PATH logs its arguments, then runs the real git).

Targets: each file parsed at most once per revision read; at most one ``cat-file`` per revision.
Usage: .venv/bin/python bench/counts.py
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, git_env, tool

#: run in the child: wrap the strict loader, log each parse's source, then run the CLI
CHILD = """
import sys
from modelreg.edges import snapshot
from modelreg.formats import yamlio
LOG = sys.argv[1]
ORIGIN = {}  # id of the bytes a snapshot returned -> (those bytes, the revision read)

def reading(read):
    def wrapped(self, path):
        data = read(self, path)
        if data is not None and id(data) not in ORIGIN:  # an overlay's file read underneath: kept
            label = "overlay" if isinstance(self, snapshot.Overlay) else self.commit or "worktree"
            ORIGIN[id(data)] = (data, label[:12])
        return data
    return wrapped

for kind in (snapshot.WorkTree, snapshot.Revision, snapshot.Overlay):
    kind.read = reading(kind.read)
_loads = yamlio.loads

def loads(data, source):
    known = ORIGIN.get(id(data))
    revision = source.split(":", 1)[0] if ":" in source else known[1] if known else "?"
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(revision + " " + source + "\\n")
    return _loads(data, source)

yamlio.loads = loads
from modelreg.cli.main import main
sys.argv = ["modelreg", *sys.argv[2:]]
main()
"""

WRAPPER = """#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
exec "{git}" "$@"
"""


def sh(cwd: Path, *cmd: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(list(cmd), cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env or git_env())


def set_aliases(root: Path, model: str, **aliases: int) -> None:
    path = root / "registry" / model / "model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["aliases"] = aliases
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def build(base: Path) -> Path:
    """fraud v1 in production on main, deployed to a directory; branch ``pr`` registers v2."""
    root, work = base / "registry", base / "work"
    work.mkdir()
    mr = tool("modelreg")
    sh(base, mr, "init", str(root), "--remote", str(base / "remote"))
    config = yaml.safe_load((root / "modelreg.yaml").read_text())
    config["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(base / "srv")}]}}
    (root / "modelreg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # a threshold to evaluate, and no staging stage before production
    (root / "policies/default.yaml").write_text("schema_version: 1\nthresholds:\n  auc: {min: 0.5}\n")
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-qm", "Configure production")
    for seed in (1, 2):
        artifact = work / f"model-{seed}.bin"
        artifact.write_bytes(os.urandom(4096))
        if seed == 2:
            sh(root, "git", "switch", "-qc", "pr")
        sh(root, mr, "register", "fraud", "--artifact", str(artifact), "--owner", "@acme/ml",
           "--metric", f"auc=0.9{seed}", "--commit")
        if seed == 1:
            set_aliases(root, "fraud", production=1)
            sh(root, "git", "commit", "-qam", "Promote fraud v1 (#1)")
    return root


def count(root: Path, base: Path, name: str, args: list[str], env: dict[str, str]) -> dict[str, object]:
    """Run ``modelreg ARGS`` once from a cold memo; what it parsed and which git it started."""
    parses, gits = base / f"{name}.parses", base / f"{name}.git"
    for log in (parses, gits):
        log.unlink(missing_ok=True)
    shutil.rmtree(root / ".git" / "modelreg", ignore_errors=True)
    wrapper = base / "bin"
    wrapper.mkdir(exist_ok=True)
    real_git = env.get("REAL_GIT") or shutil.which("git") or "git"
    (wrapper / "git").write_text(WRAPPER.format(log=gits, git=real_git))
    (wrapper / "git").chmod(0o755)
    child_env = {**env, "PATH": f"{wrapper}{os.pathsep}{env['PATH']}"}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(parses), *args], cwd=root, env=child_env,
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"modelreg {' '.join(args)} failed: {proc.stderr}")
    logged = [line.split(" ", 1) for line in _lines(parses)]
    files = collections.Counter(_file(source) for _, source in logged)
    same = collections.Counter((revision, _file(source)) for revision, source in logged)
    runs = _lines(gits)
    return {"what": " ".join(args), "parses": dict(sorted(files.items())),
            "most": max(same.values(), default=0),
            "repeated": sorted(f"{file}@{revision} x{n}" for (revision, file), n in same.items() if n > 1),
            "git": len(runs),
            "cat_file": sum(1 for r in runs if r.startswith("cat-file"))}


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _file(source: str) -> str:
    """``registry/fraud/model.yaml``, whether the source names a revision (``abc123:path``) or not."""
    return source.rsplit(":", 1)[-1] if ":" in source and not source.startswith("/") else source


def main() -> None:
    env = git_env()
    with tempfile.TemporaryDirectory(prefix="modelreg-counts-") as tmp:
        base = Path(tmp)
        root = build(base)
        rows = [count(root, base, "check", ["check", "--head", "--offline"], env)]
        rows.append(count(root, base, "promote", ["promote", "fraud", "2", "--to", "production",
                                                  "--dry-run"], env))
        sh(root, "git", "switch", "-q", "main")
        sh(root, tool("modelreg"), "deploy")
        sh(root, "git", "merge", "-q", "--no-ff", "-m", "Merge pull request #2", "pr")
        set_aliases(root, "fraud", production=2)
        sh(root, "git", "commit", "-qam", "Promote fraud v2 (#3)")
        rows.append(count(root, base, "deploy", ["deploy"], env))
        rows.append(count(root, base, "history", ["history", "fraud"], env))
    OUT.mkdir(exist_ok=True)
    (OUT / "counts.json").write_text(json.dumps(rows, indent=2))
    width = max(len(str(r["what"])) for r in rows)
    print(f"{'command'.ljust(width)}  git  cat-file  most parses of one file at one revision  parses by file")
    for row in rows:
        print(f"{str(row['what']).ljust(width)}  {row['git']:>3}  {row['cat_file']:>8}  {row['most']:>38}  "
              + json.dumps(row["parses"]))
        for repeated in row["repeated"]:  # type: ignore[attr-defined]  # a list, built above
            print(f"{'':{width}}  parsed more than once at one revision: {repeated}")


if __name__ == "__main__":
    main()
