"""``modelreg check`` speed on a registry of 10,000 versions (issue 3's target).

Builds the registry of bench/read_path.py (100 models x 100 versions) on
main, then on a branch adds one version (m042 v101, its artifact in the local
remote), packs the repository as a fresh clone is, and times, as fresh processes:

- ``modelreg --version``: the CLI's cold start, the yardstick
- ``modelreg check --head --offline``: the one-version PR as CI checks it (the
  committed change), without the remote round trip (target: <= 3x the cold start)
- ``modelreg check --offline``: the same from the work tree (git scans it all)
- ``modelreg check --head``: with the remote asked (imports DVC)
- ``modelreg check --all --offline``: the whole registry, for scale

With ``--shape wide|deep --versions 100000`` (issue 17) the registry is one of
``bench/build_registry.py`` (one commit per version; built once under ``--cache``), served
from a bare repository that allows partial clones; the one-version PR is made in two clones
of it, a full one and a blobless one (``git clone --filter=blob:none``, as a CI checkout may
be), each checked out sparsely (the changed model and the top-level files: the gate reads
commits, not the work tree), and ``check --head --offline`` is timed in both against
``modelreg --version`` (target: <= 3x). The blobless clone's first check fetches the few
blobs of history it reads (timed apart, once).

Usage: .venv/bin/python bench/check.py [--models 100] [--versions 100] [--runs 7]
       .venv/bin/python bench/check.py --shape wide --versions 100000 [--cache DIR] [--runs 7]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ensure_bytecode, git_env, report, run_once, time_commands, tool
from read_path import VERSION, build


def add_version(root: Path, model: str, number: int) -> None:
    payload = os.urandom(4096)
    md5, sha = hashlib.md5(payload).hexdigest(), hashlib.sha256(payload).hexdigest()
    vdir = root / "registry" / model / f"v{number}"
    vdir.mkdir()
    (vdir / "version.yaml").write_text(VERSION.format(
        model=model, n=number, day=1, md5=md5, sha=sha, size=len(payload), auc=0.99,
        commit=hashlib.sha1(payload).hexdigest()))
    (vdir / "model.pkl.dvc").write_text(f"outs:\n- md5: {md5}\n  size: {len(payload)}\n  hash: md5\n"
                                        "  path: model.pkl\n")
    (vdir / ".gitignore").write_text("/model.pkl\n")
    obj = root / ".modelreg" / "remote" / "files" / "md5" / md5[:2] / md5[2:]
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(payload)


def pack(root: Path, env: dict[str, str]) -> None:
    """One pack, as CI's fresh clone has. Else git's automatic gc, started by the commits that
    built the registry, packs 30,000 loose objects in the background while commands are timed."""
    for _ in range(600):
        # exit 128 while that automatic gc still runs: wait for it
        if subprocess.run(["git", "gc", "-q"], cwd=root, env=env, stderr=subprocess.DEVNULL).returncode == 0:
            return
        time.sleep(0.5)
    raise SystemExit("git gc did not finish in 5 minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shape", choices=("wide", "deep"), help="a registry of bench/build_registry.py")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "modelreg-scale")
    args = parser.parse_args()
    ensure_bytecode()
    if args.shape:
        big(args)
        return
    env = git_env()
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        root = Path(tmp) / "registry"
        build(root, args.models, args.versions)
        subprocess.run(["git", "branch", "-M", "main"], cwd=root, check=True, env=env)
        subprocess.run(["git", "switch", "-q", "-c", "feature"], cwd=root, check=True, env=env)
        add_version(root, "m042", args.versions + 1)
        subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "Register m042 v101"], cwd=root, check=True, env=env)
        pack(root, env)
        mr = tool("modelreg")
        cases = {
            "modelreg --version": [mr, "--version"],
            "check --head --offline (one-version PR, as CI)": [mr, "check", "--head", "--offline"],
            "check --offline (one-version PR, work tree)": [mr, "check", "--offline"],
            "check --head (one-version PR, remote asked)": [mr, "check", "--head"],
        }
        samples = time_commands(cases, runs=args.runs, cwd=root)
        whole = time_commands({"check --all --offline": [mr, "check", "--all", "--offline"]},
                              runs=max(1, args.runs // 3), cwd=root, warmup=0)
        start = statistics.median(samples.pop("modelreg --version"))
        rows: list[dict[str, object]] = [{"what": "modelreg --version", "seconds": round(start, 4)}]
        for what, values in {**samples, **whole}.items():
            median = statistics.median(values)
            row: dict[str, object] = {"what": what, "seconds": round(median, 4),
                                      "ratio": round(median / start, 2)}
            if what.startswith("check --head --offline"):
                row.update(target=3.0, ok=median / start <= 3.0)
            rows.append(row)
        print(f"registry: {args.models} models x {args.versions} versions; one version added on a branch")
        report("check", rows)


def sparse_clone(url: str, dest: Path, model: str, env: dict[str, str], *, blobless: bool) -> Path:
    """A clone of ``url`` with only ``model`` and the top-level files checked out, on main."""
    subprocess.run(["git", "clone", "-q", "--no-checkout", *(["--filter=blob:none"] if blobless else []),
                    url, str(dest)], check=True, env=env)
    subprocess.run(["git", "sparse-checkout", "set", "--cone", f"registry/{model}", ".dvc"], cwd=dest,
                   check=True, env=env)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=dest, check=True, env=env)
    return dest


def big(args: argparse.Namespace) -> None:
    from build_registry import build, build_info, layout, model_name

    env = git_env()
    registry = build(args.shape, args.versions, args.cache)
    info = build_info(registry)
    models, per_model = layout(args.shape, args.versions)
    model = model_name(models // 2)
    mr = tool("modelreg")
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        bare = Path(tmp) / "origin.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(registry), str(bare)], check=True, env=env)
        subprocess.run(["git", "config", "uploadpack.allowFilter", "true"], cwd=bare, check=True)
        subprocess.run(["git", "config", "uploadpack.allowAnySHA1InWant", "true"], cwd=bare, check=True)
        clones = {}
        for label, blobless in (("full clone", False), ("blobless clone", True)):
            started = time.perf_counter()
            root = sparse_clone(f"file://{bare}", Path(tmp) / label.replace(" ", "-"), model, env,
                                blobless=blobless)
            cloned = time.perf_counter() - started
            subprocess.run(["git", "switch", "-q", "-c", "feature"], cwd=root, check=True, env=env)
            add_version(root, model, per_model + 1)
            subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
            subprocess.run(["git", "commit", "-qm", f"Register {model} v{per_model + 1}"], cwd=root,
                           check=True, env=env)
            first = time.perf_counter()
            subprocess.run([mr, "check", "--head", "--offline"], cwd=root, check=True,
                           stdout=subprocess.DEVNULL, env=env)
            clones[label] = (root, cloned, time.perf_counter() - first)
        cases = {"modelreg --version": ([mr, "--version"], clones["full clone"][0])}
        for label, (root, _, _) in clones.items():
            cases[f"check --head --offline, {label}"] = ([mr, "check", "--head", "--offline"], root)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for index in range(2 + args.runs):
            for name, (cmd, cwd) in cases.items():
                elapsed = run_once(cmd, cwd)
                if index >= 2:
                    samples[name].append(elapsed)
        start = statistics.median(samples.pop("modelreg --version"))
        rows: list[dict[str, object]] = [{"what": "modelreg --version", "seconds": round(start, 4)}]
        for what, values in samples.items():
            median = statistics.median(values)
            rows.append({"what": what, "seconds": round(median, 4), "min_s": round(min(values), 4),
                         "ratio": round(median / start, 2), "target": 3.0, "ok": median / start <= 3.0})
        for label, (_, cloned, first) in clones.items():
            rows.append({"what": f"{label}: clone (sparse checkout)", "seconds": round(cloned, 2)})
            rows.append({"what": f"{label}: first check (blobs of history fetched)",
                         "seconds": round(first, 3)})
        print(f"registry: {info['shape']} shape, {info['versions']} versions, {info['commits']} commits; "
              f"one version added to {model} on a branch; median of {args.runs}")
        report(f"check-{args.shape}-{args.versions}", rows)


if __name__ == "__main__":
    main()
