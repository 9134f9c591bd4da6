"""Read-path speed on a registry of 10,000 versions (issue 2's target).

Builds 100 models x 100 versions synthetically (manifests, DVC pointers,
model.yaml with aliases), commits them, then times fresh processes:

- baseline: python -c "import yaml; yaml.safe_load(open(F))" on one manifest
- modelreg resolve models:/m042@production, modelreg show m042
- the same two with --at HEAD (read from git objects)

Targets: resolve and show <= 2x baseline; with --at <= 2.5x, judged on medians of
interleaved runs (the minimum, less sensitive to a noisy machine, is shown too).
Usage: .venv/bin/python bench/read_path.py [--models 100] [--versions 100] [--runs 15]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import VERSION, ensure_bytecode, git_env, report, run_once, time_commands, tool


def build(root: Path, models: int, versions: int) -> None:
    subprocess.run([tool("modelreg"), "init", str(root)], check=True, stdout=subprocess.DEVNULL)
    for m in range(models):
        name = f"m{m:03d}"
        model_dir = root / "registry" / name
        for n in range(1, versions + 1):
            vdir = model_dir / f"v{n}"
            vdir.mkdir(parents=True)
            seed = f"{name}/{n}".encode()
            md5, sha = hashlib.md5(seed).hexdigest(), hashlib.sha256(seed).hexdigest()
            (vdir / "version.yaml").write_text(VERSION.format(
                model=name, n=n, created=f"2026-11-{1 + n % 28:02d}T10:02:11Z",
                description="XGBoost; trained on 2024-11 data", md5=md5, sha=sha, size=1000 + n,
                auc=round(0.9 + n / 10000, 4), commit=hashlib.sha1(seed).hexdigest()))
            (vdir / "model.pkl.dvc").write_text(
                f"outs:\n- md5: {md5}\n  size: {1000 + n}\n  hash: md5\n  path: model.pkl\n")
            (vdir / ".gitignore").write_text("/model.pkl\n")
        (model_dir / "model.yaml").write_text(
            f"schema_version: 1\nname: {name}\ndescription: synthetic\nowners: ['@acme/ml']\n"
            f"aliases: {{production: {versions - 1}, staging: {versions}}}\narchived: [1]\nrejected: []\n")
    # The models were written by hand, so route their reviews as `register` would have.
    subprocess.run([tool("modelreg"), "-C", str(root), "codeowners", "--write"], check=True,
                   stdout=subprocess.DEVNULL)
    env = git_env()
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "synthetic registry"], cwd=root, check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    ensure_bytecode()
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        root = Path(tmp) / "registry"
        build(root, args.models, args.versions)
        manifest = root / "registry" / "m042" / "v99" / "version.yaml"
        py, mr = tool("python"), tool("modelreg")
        cases = {
            "baseline yaml.safe_load": [py, "-c", f"import yaml; yaml.safe_load(open({str(manifest)!r}))"],
            "modelreg --version": [mr, "--version"],
            "resolve models:/m042@production": [mr, "resolve", "models:/m042@production"],
            "show m042": [mr, "show", "m042"],
            "resolve ... --at HEAD": [mr, "resolve", "models:/m042@production", "--at", "HEAD"],
            "show m042 --at HEAD": [mr, "show", "m042", "--at", "HEAD"],
        }
        samples = time_commands(cases, runs=args.runs, cwd=root)
        base = samples.pop("baseline yaml.safe_load")
        base_median, base_min = statistics.median(base), min(base)
        rows: list[dict[str, object]] = [{"what": "baseline yaml.safe_load", "seconds": round(base_median, 4),
                                          "min_ms": round(base_min * 1000, 1)}]
        for what, values in samples.items():
            median = statistics.median(values)
            row: dict[str, object] = {"what": what, "seconds": round(median, 4),
                                      "ratio": round(median / base_median, 2),
                                      "min_ms": round(min(values) * 1000, 1),
                                      "min_ratio": round(min(values) / base_min, 2)}
            if what.startswith(("resolve", "show")):
                target = 2.5 if "--at" in what else 2.0
                row.update(target=target, ok=median / base_median <= target)
            rows.append(row)
        # The memo is warm after the warm-up runs; the first read after a change is cold.
        for what, cmd in (("resolve (cold memo)", cases["resolve models:/m042@production"]),
                          ("show m042 (cold memo)", cases["show m042"])):
            colds = []
            for _ in range(5):
                shutil.rmtree(root / ".git" / "modelreg", ignore_errors=True)
                colds.append(run_once(cmd, root))
            cold = statistics.median(colds)
            rows.append({"what": what, "seconds": round(cold, 4), "ratio": round(cold / base_median, 2)})
        print(f"registry: {args.models} models x {args.versions} versions; median of {args.runs} runs")
        report("read_path", rows)


if __name__ == "__main__":
    main()
