"""Deployment speed (issue 8's targets).

1. Deploying a 200 MB artifact to a ``directory`` target, with an empty local cache (the bytes
   come from the remote, as in a fresh CI job), against ``dvc pull`` of the same object plus a
   copy to the target: target <= 1.2x. The alias switch itself is one rename: its time is
   measured apart, and does not depend on the size.
2. ``modelreg status`` on 100 models deployed, nothing changed: target under 1 s.

Usage: .venv/bin/python bench/deploy.py [--size-mb 200] [--trials 3] [--models 100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ensure_bytecode, git_env, report, run_once, tool


def sh(cwd: Path, *cmd: str) -> None:
    subprocess.run(list(cmd), cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=git_env())


def registry(base: Path, name: str, srv: Path) -> Path:
    root = base / name
    sh(base, tool("modelreg"), "init", str(root), "--remote", str(base / f"{name}-remote"))
    config = yaml.safe_load((root / "modelreg.yaml").read_text())
    config["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(srv)}]}}
    (root / "modelreg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "policies/default.yaml").write_text("schema_version: 1\n")
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-qm", "init")
    return root


def promote(root: Path, model: str, version: int) -> None:
    path = root / "registry" / model / "model.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["aliases"] = {"production": version}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def big_deploy(base: Path, size_mb: int, trials: int) -> list[dict[str, object]]:
    artifact = base / "model.bin"
    with open(artifact, "wb") as out:
        for _ in range(size_mb):
            out.write(os.urandom(1024 * 1024))
    baseline, ours, switches = [], [], []
    for trial in range(trials):
        srv = base / f"srv-{trial}"
        root = registry(base, f"big-{trial}", srv)
        sh(root, tool("modelreg"), "register", "m", "--artifact", str(artifact), "--owner", "@b/t",
           "--metric", "auc=0.9", "--commit")
        promote(root, "m", 1)
        sh(root, "git", "commit", "-qam", "Promote m v1")
        pointer = root / "registry/m/v1/model.bin.dvc"
        # baseline: what DVC alone does to get the bytes, then a copy to where a server reads
        shutil.rmtree(root / ".dvc/cache")
        target = base / f"plain-{trial}"
        target.mkdir()
        start = time.perf_counter()
        run_once([tool("dvc"), "pull", "-q", str(pointer)], root)
        shutil.copyfile(root / "registry/m/v1/model.bin", target / "model.bin")
        baseline.append(time.perf_counter() - start)
        (root / "registry/m/v1/model.bin").unlink()
        shutil.rmtree(root / ".dvc/cache")
        ours.append(run_once([tool("modelreg"), "deploy"], root))
        # the switch alone: re-point the alias at a version already on the target
        link = srv / "m" / "production"
        tmp = link.with_name(".bench-link")
        start = time.perf_counter()
        os.symlink("1", tmp)
        os.replace(tmp, link)
        switches.append(time.perf_counter() - start)
        shutil.rmtree(root)
        shutil.rmtree(srv)
        shutil.rmtree(target)
    base_med, ours_med = statistics.median(baseline), statistics.median(ours)
    return [
        {"what": f"dvc pull + copy ({size_mb} MB)", "seconds": base_med},
        {"what": f"modelreg deploy ({size_mb} MB, directory target)", "seconds": ours_med,
         "ratio": round(ours_med / base_med, 2), "target": 1.2, "ok": ours_med / base_med <= 1.2},
        {"what": "the alias switch (one rename)", "seconds": statistics.median(switches)},
    ]


def many_status(base: Path, models: int) -> list[dict[str, object]]:
    srv = base / "srv-many"
    root = registry(base, "many", srv)
    artifact = base / "small.bin"
    for index in range(models):
        artifact.write_bytes(os.urandom(64 * 1024))
        sh(root, tool("modelreg"), "register", f"m{index:03d}", "--artifact", str(artifact), "--owner",
           "@b/t", "--metric", "auc=0.9")
        promote(root, f"m{index:03d}", 1)
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-qm", "Register and promote every model")
    sh(root, tool("modelreg"), "deploy")
    runs = sorted(run_once([tool("modelreg"), "status"], root) for _ in range(7))
    median = statistics.median(runs)
    return [{"what": f"modelreg status ({models} models deployed, no change)", "seconds": median,
             "target_s": 1.0, "ok": median < 1.0}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--models", type=int, default=100)
    args = parser.parse_args()
    ensure_bytecode()
    os.environ.update(git_env())
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        rows = big_deploy(Path(tmp), args.size_mb, args.trials) + many_status(Path(tmp), args.models)
    report("deploy", rows)


if __name__ == "__main__":
    main()
