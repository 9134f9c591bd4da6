"""Helpers shared by the benchmarks: timing fresh processes, reporting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = VENV_BIN / name
    return str(path) if path.exists() else name


def ensure_bytecode() -> None:
    """Byte-compile modelreg as ``pip install`` of a wheel does.

    An editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise
    recompile every module on every run, which no user install pays.
    """
    import compileall

    import modelreg

    compileall.compile_dir(str(Path(modelreg.__file__).parent), quiet=1)


def run_once(cmd: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()}")
    return elapsed


def time_commands(cases: dict[str, list[str]], *, runs: int, cwd: Path | None = None,
                  warmup: int = 2) -> dict[str, list[float]]:
    """Wall times in seconds of each command as a fresh process, ``runs`` of each.

    The cases run round-robin, so a noisy neighbour slows all of them alike
    and the ratios between them stay meaningful.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for index in range(warmup + runs):
        for name, cmd in cases.items():
            elapsed = run_once(cmd, cwd)
            if index >= warmup:
                samples[name].append(elapsed)
    return samples


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GIT_AUTHOR_NAME", "bench")
    env.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    env.setdefault("GIT_COMMITTER_NAME", "bench")
    env.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
    return env


def report(name: str, rows: list[dict[str, object]]) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(rows, indent=2))
    width = max(len(str(r["what"])) for r in rows)
    for row in rows:
        extra = "  ".join(f"{k}={v}" for k, v in row.items() if k not in ("what", "seconds"))
        print(f"{str(row['what']).ljust(width)}  {float(row['seconds']) * 1000:8.1f} ms  {extra}")  # type: ignore[arg-type]


#: a version.yaml as `register` writes it, for the benchmarks that build registries by hand
#: (read_path.py, build_registry.py): valid per the shipped schema
VERSION = """# yaml-language-server: $schema=../../../schemas/version.schema.json
schema_version: 1
model: {model}
version: {n}
created_at: '{created}'
created_by: alice
description: {description}
artifact:
  path: model.pkl
  type: file
  md5: {md5}
  sha256: {sha}
  size: {size}
  format: pickle
framework:
  name: xgboost
  version: 2.0.3
metrics:
  roc_auc: {auc}
  f1: 0.7964
slices:
  card_type=visa:
    roc_auc: 0.9731
  card_type=master:
    roc_auc: 0.9708
params:
  max_depth: 6
  eta: 0.1
lineage:
  code:
    repo: https://github.com/acme/fraud
    commit: {commit}
    dirty: false
  data:
  - name: transactions
    version: v2024-11
tags:
  team: fraud
  risk: high
"""
