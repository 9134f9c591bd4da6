"""Registration speed against DVC alone (issue 2's target: <= 1.2x).

Each trial builds two fresh registries with fresh local remotes and times,
as fresh processes:

- baseline: ``dvc add model.bin`` then ``dvc push`` (the file already in the workspace)
- modelreg: ``modelreg register m --artifact model.bin`` (validate, hash md5+sha256,
  copy into DVC's cache, push, write the manifest)

Usage: .venv/bin/python bench/register.py [--size-mb 200] [--trials 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ensure_bytecode, git_env, report, run_once, tool


def fresh_registry(base: Path, name: str) -> Path:
    root = base / name
    subprocess.run([tool("modelreg"), "init", str(root), "--remote", str(base / f"{name}-remote")],
                   check=True, stdout=subprocess.DEVNULL, env=git_env())
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=git_env())
    subprocess.run(["git", "commit", "-qm", "init"], cwd=root, check=True, env=git_env())
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    ensure_bytecode()
    os.environ.update(git_env())
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        base = Path(tmp)
        artifact = base / "model.bin"
        with open(artifact, "wb") as out:
            for _ in range(args.size_mb):
                out.write(os.urandom(1024 * 1024))
        dvc_times, ours = [], []
        for trial in range(args.trials):
            plain = fresh_registry(base, f"dvc-{trial}")
            shutil.copyfile(artifact, plain / "model.bin")
            dvc_times.append(run_once([tool("dvc"), "add", "-q", "model.bin"], plain)
                             + run_once([tool("dvc"), "push", "-q"], plain))
            reg = fresh_registry(base, f"modelreg-{trial}")
            ours.append(run_once([tool("modelreg"), "register", "m", "--artifact", str(artifact),
                                  "--owner", "@bench/team", "--metric", "auc=0.9"], reg))
            shutil.rmtree(plain)
            shutil.rmtree(reg)
        baseline, measured = statistics.median(dvc_times), statistics.median(ours)
        print(f"artifact: {args.size_mb} MB; median of {args.trials} trials, each in fresh registries")
        report("register", [
            {"what": "dvc add + dvc push", "seconds": round(baseline, 3)},
            {"what": "modelreg register", "seconds": round(measured, 3),
             "ratio": round(measured / baseline, 2), "target": 1.2, "ok": measured / baseline <= 1.2},
        ])


if __name__ == "__main__":
    main()
