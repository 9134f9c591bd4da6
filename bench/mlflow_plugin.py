"""``MlflowClient().get_model_version_by_alias`` through the modelreg plugin against MLflow's own
sqlite registry holding the same model (issue 16's timing).

Builds a registry of one model, ``fraud``, with ``--versions`` versions (manifests written as
``register`` writes them; the call reads no artifact) and the alias ``champion`` on the one
before last, and fills an MLflow sqlite registry with MLflow's own client: the same model, the
same number of versions, the same alias. Then times:

- fresh processes (``--runs``, interleaved, after a warm-up round): ``python -c`` that builds
  ``MlflowClient(tracking_uri=T, registry_uri=R)`` and calls ``get_model_version_by_alias``
  ``--calls`` times, R the plugin's ``modelreg://`` URI or MLflow's ``sqlite:///``; and the same
  process with no call (MLflow's import and client alone). T is the same sqlite tracking store
  in every case: MLflow's client opens one whatever the registry is.
- within those processes: the first call (MLflow builds the registry store: the plugin parses
  its URI, the sqlite store opens its engine and checks its schema) and every later call.

Medians (the minimum too). The plugin must be installed (its entry points):
when it is not, the entry points of pyproject.toml are written into a ``.dist-info`` on the
child processes' path, as an install writes them.
Usage: .venv/bin/python bench/mlflow_plugin.py [--versions 20] [--runs 7] [--calls 200]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import VERSION, ensure_bytecode, git_env, report, tool

ROOT = Path(__file__).resolve().parent.parent
CALL = ("import json, sys, time\nfrom mlflow import MlflowClient\n"
        "client = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[2])\n"
        "calls, times = int(sys.argv[3]), []\n"
        "for _ in range(calls):\n"
        "    start = time.perf_counter()\n"
        "    mv = client.get_model_version_by_alias('fraud', 'champion')\n"
        "    times.append(time.perf_counter() - start)\n"
        "    assert str(mv.version) == sys.argv[4], mv.version\n"
        "print(json.dumps(times))\n")


def build_modelreg(root: Path, versions: int) -> None:
    subprocess.run([tool("modelreg"), "init", str(root)], check=True, stdout=subprocess.DEVNULL)
    model_dir = root / "registry" / "fraud"
    for n in range(1, versions + 1):
        vdir = model_dir / f"v{n}"
        vdir.mkdir(parents=True)
        seed = f"fraud/{n}".encode()
        md5, sha = hashlib.md5(seed).hexdigest(), hashlib.sha256(seed).hexdigest()
        (vdir / "version.yaml").write_text(VERSION.format(
            model="fraud", n=n, created=f"2026-11-{1 + n % 28:02d}T10:02:11Z",
            description="XGBoost; trained on 2024-11 data", md5=md5, sha=sha, size=1000 + n,
            auc=round(0.9 + n / 10000, 4), commit=hashlib.sha1(seed).hexdigest()))
        (vdir / "model.pkl.dvc").write_text(
            f"outs:\n- md5: {md5}\n  size: {1000 + n}\n  hash: md5\n  path: model.pkl\n")
        (vdir / ".gitignore").write_text("/model.pkl\n")
    (model_dir / "model.yaml").write_text(
        "schema_version: 1\nname: fraud\ndescription: synthetic\nowners: ['@acme/ml']\n"
        f"aliases: {{champion: {versions - 1}}}\narchived: []\nrejected: []\n")
    subprocess.run([tool("modelreg"), "-C", str(root), "codeowners", "--write"], check=True,
                   stdout=subprocess.DEVNULL)
    env = git_env()
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "synthetic registry"], cwd=root, check=True, env=env)


def build_sqlite(uri: str, versions: int, env: dict[str, str]) -> None:
    """The same model, versions and alias in MLflow's own sqlite registry, made by MLflow's client."""
    fill = ("import sys\nfrom mlflow import MlflowClient\n"
            "c = MlflowClient(tracking_uri=sys.argv[1], registry_uri=sys.argv[1])\n"
            "c.create_registered_model('fraud', description='synthetic')\n"
            "for n in range(int(sys.argv[2])):\n"
            "    c.create_model_version('fraud', f'/models/fraud/{n + 1}', tags={'roc_auc': '0.9'})\n"
            "c.set_registered_model_alias('fraud', 'champion', int(sys.argv[2]) - 1)\n")
    subprocess.run([sys.executable, "-c", fill, uri, str(versions)], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def plugin_path(where: Path) -> str | None:
    """A path holding the plugin's entry points when this Python does not have them installed."""
    installed = {e.name for e in importlib.metadata.entry_points(group="mlflow.model_registry_store")}
    if "modelreg" in installed:
        return None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pytest's own dependency before 3.11
        import tomli as tomllib
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    groups = {g: "\n".join(f"{k} = {v}" for k, v in eps.items())
              for g, eps in declared.items() if g.startswith("mlflow.")}
    info = where / "modelreg_mlflow_plugin-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: modelreg-mlflow-plugin\nVersion: 0\n")
    (info / "entry_points.txt").write_text("".join(f"[{g}]\n{body}\n\n" for g, body in groups.items()))
    return str(where)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    ensure_bytecode()
    with tempfile.TemporaryDirectory(prefix="mr-bench-mlflow-") as tmp:
        base = Path(tmp)
        root = base / "registry"
        build_modelreg(root, args.versions)
        extra = plugin_path(base / "plugin")
        env = dict(os.environ)
        if extra:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (extra, env.get("PYTHONPATH", "")) if p)
        tracking = f"sqlite:///{base / 'tracking.db'}"
        sqlite = f"sqlite:///{base / 'registry.db'}"
        build_sqlite(sqlite, args.versions, env)
        plugin = f"modelreg://{root}"
        want = str(args.versions - 1)
        call = [sys.executable, "-c", CALL, tracking]
        # the tracking store, created and migrated once before any timing
        subprocess.run([*call, sqlite, "0", want], check=True, env=env, stdout=subprocess.DEVNULL)
        cases = {"import mlflow + MlflowClient, no call": [*call, sqlite, "0", want],
                 "sqlite registry": [*call, sqlite, str(args.calls), want],
                 "modelreg plugin": [*call, plugin, str(args.calls), want]}
        wall: dict[str, list[float]] = {name: [] for name in cases}
        first: dict[str, list[float]] = {name: [] for name in cases}
        rest: dict[str, list[float]] = {name: [] for name in cases}
        for index in range(1 + args.runs):  # round-robin, the first round a warm-up
            for name, cmd in cases.items():
                start = time.perf_counter()
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
                elapsed = time.perf_counter() - start
                times = json.loads(out.strip().splitlines()[-1])
                if index:
                    wall[name].append(elapsed)
                    first[name] += times[:1]
                    rest[name] += times[1:]
        rows: list[dict[str, object]] = []
        for name in cases:
            rows.append({"what": f"fresh process, whole: {name}", "seconds": statistics.median(wall[name]),
                         "min_ms": round(min(wall[name]) * 1000, 1)})
        for name in list(cases)[1:]:
            rows.append({"what": f"first call in a fresh process (store built): {name}",
                         "seconds": statistics.median(first[name]),
                         "min_ms": round(min(first[name]) * 1000, 2)})
            rows.append({"what": f"in-process, each later call: {name}",
                         "seconds": statistics.median(rest[name]),
                         "min_ms": round(min(rest[name]) * 1000, 2), "calls": len(rest[name])})
        report("mlflow_plugin", rows)


if __name__ == "__main__":
    main()
