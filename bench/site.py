"""Catalog speed and size (issue 9's targets): ``modelreg site`` on 100 models x 100 versions.

Builds the synthetic registry of bench/read_path.py (10,000 manifests, one commit), then
gives each model a history: ``--moves`` commits, each moving every model's production
and staging aliases, and for each a ledger note (git notes, as the deploy job writes them)
with the move, its approvers and a deployment per model. Then times ``modelreg site -o DIR``
as a fresh process:

- cold: no parse memo (.git/modelreg removed), as in a fresh CI checkout;
- warm: the memo the previous run left, as on a developer's machine;
- --at HEAD: read from git objects;
- each of cold and warm again in one process (-j 1): by default a registry this size is rendered
  by one process per CPU (up to 8).

Targets: under 10 s for the whole catalog, and no page over 300 KB.

With ``--shape wide --versions 100000`` (issue 17): a registry of ``bench/build_registry.py``
(1,000 models x 100 versions, one commit each; built once under ``--cache``, never changed: the
cases run in a copy of it without its memo, made with ``cp -a`` under $TMPDIR, 1.8 GB), and
three cases, each timed once in wall and CPU seconds (the process and its children) with the load
average before it: the whole catalog cold (no parse memo, no kept log; target <= 60 s), the whole
catalog again into a new directory (warm memo and kept log; target <= 60 s), then, after one
commit changing one model, the rebuild of that directory (target <= 5 s; only that model is
rendered).

Usage: .venv/bin/python bench/site.py [--models 100] [--versions 100] [--moves 10] [--runs 3]
       .venv/bin/python bench/site.py --shape wide --versions 100000 [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ensure_bytecode, git_env, report, run_once, tool
from read_path import build

TARGET_SECONDS = 10.0
TARGET_PAGE = 300 * 1024


def add_history(root: Path, models: int, versions: int, moves: int) -> None:
    """``moves`` merges, each moving every model's production and staging; each recorded in the ledger."""
    env = git_env()
    for move in range(1, moves + 1):
        production = max(2, versions - 1 - (moves - move) * 3)
        for m in range(models):
            path = root / "registry" / f"m{m:03d}" / "model.yaml"
            lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("aliases:")]
            lines.append(f"aliases: {{production: {production}, staging: {min(production + 1, versions)}}}")
            path.write_text("\n".join(lines) + "\n")
        day = f"2026-11-{move:02d}T10:00:00Z"
        subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", f"Promote every model (#{100 + move})"], cwd=root, check=True,
                       env={**env, "GIT_AUTHOR_DATE": day, "GIT_COMMITTER_DATE": day})
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True,
                                text=True).stdout.strip()
        records = []
        for m in range(models):
            base = {"model": f"m{m:03d}", "alias": "production", "before": None, "after": production,
                    "commit": commit, "pr": 100 + move, "actor": "deploy-bot",
                    "approvers": [{"login": "risk-officer", "at": day, "commit_id": commit}]}
            records.append({"time": day.replace("10:00:00Z", "10:05:00.000000Z"), "kind": "move", **base,
                            "outcome": "recorded"})
            records.append({"time": day.replace("10:00:00Z", "10:06:00.000000Z"), "kind": "deployment",
                            **base, "environment": "production", "outcome": "succeeded"})
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "notes",
                        "--ref=refs/notes/modelreg", "add", "--force", "--file=-", commit],
                       cwd=root, check=True, input=text.encode(), env=env)


def largest_page(out: Path) -> tuple[str, int, int]:
    sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in out.rglob("*.html")}
    name = max(sizes, key=lambda k: sizes[k])
    return name, sizes[name], len(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shape", choices=("wide", "deep"), help="a registry of bench/build_registry.py")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "modelreg-scale")
    args = parser.parse_args()
    ensure_bytecode()
    if args.shape:
        big(args)
        return
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        root = Path(tmp) / "registry"
        build(root, args.models, args.versions)
        add_history(root, args.models, args.versions, args.moves)
        mr = tool("modelreg")
        rows: list[dict[str, object]] = []
        cases: dict[str, list[str]] = {
            "cold (no parse memo)": [], "warm": [], "--at HEAD (warm)": ["--at", "HEAD"],
            "cold, one process (-j 1)": ["-j", "1"], "warm, one process (-j 1)": ["-j", "1"]}
        for what, extra in cases.items():
            samples = []
            for run in range(args.runs):
                out = Path(tmp) / f"site-{len(rows)}-{run}"
                if what.startswith("cold"):
                    shutil.rmtree(root / ".git" / "modelreg", ignore_errors=True)
                samples.append(run_once([mr, "site", "-o", str(out), *extra], cwd=root))
            name, size, pages = largest_page(out)
            seconds = statistics.median(samples)
            rows.append({"what": what, "seconds": round(seconds, 3), "min_s": round(min(samples), 3),
                         "pages": pages, "largest": name, "largest_kb": round(size / 1024, 1),
                         "ok": seconds < TARGET_SECONDS and size < TARGET_PAGE})
        print(f"registry: {args.models} models x {args.versions} versions, {args.moves} moves each; "
              f"median of {args.runs} runs; {os.cpu_count()} CPUs; targets < {TARGET_SECONDS:.0f} s, "
              f"pages < {TARGET_PAGE // 1024} KB")
        report("site", rows)


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of ``cmd`` and its children) of one run."""
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def load() -> str:
    """The load average over the last minute, as the machine reports it."""
    return os.getloadavg()[0].__format__(".1f")


def throwaway(registry: Path, dest: Path) -> Path:
    """A copy of ``registry`` to change and to build in (``cp -a``: the cached registry is never
    changed), without its parse memo and kept logs (``.git/modelreg``: the first build is cold).
    A ``git clone --shared --no-checkout`` would be quicker to make, but measured slower to read
    (153 s against 98 s, with 85 s of system time against 25 s): the catalog is timed on a
    registry as a checkout has it."""
    from build_registry import clone

    clone(registry, dest)
    shutil.rmtree(dest / ".git" / "modelreg", ignore_errors=True)
    return dest


def commit_file(root: Path, path: str, text: str, message: str) -> str:
    """A commit on the branch changing ``path`` to ``text``, made without a work tree (plumbing)."""
    env = git_env()

    def git(*args: str, data: str | None = None, extra: dict[str, str] | None = None) -> str:
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True,
                              input=data, env={**env, **(extra or {})}).stdout.strip()

    index = {"GIT_INDEX_FILE": str(root / ".git" / "bench-index")}
    blob = git("hash-object", "-w", "--stdin", data=text)
    git("read-tree", "HEAD", extra=index)
    git("update-index", "--cacheinfo", f"100644,{blob},{path}", extra=index)
    tree = git("write-tree", extra=index)
    commit = git("commit-tree", tree, "-p", "HEAD", "-m", message)
    git("update-ref", "HEAD", commit)
    return commit


def big(args: argparse.Namespace) -> None:
    """The whole catalog cold (no parse memo, no kept log), again warm into a new directory, then
    the rebuild of the warm one after a commit changing one model; all in a throw-away clone."""
    from build_registry import build, build_info, layout, model_name

    registry = build(args.shape, args.versions, args.cache)
    models, _ = layout(args.shape, args.versions)
    model = model_name(models // 2)
    mr = tool("modelreg")
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        clone = throwaway(registry, Path(tmp) / "registry")
        cases = [("the whole catalog, cold (no parse memo, no kept log)", "cold", 60.0),
                 ("the whole catalog again, warm memo, a new directory", "warm", 60.0)]
        for what, out, target in cases:
            before = load()
            wall, cpu = timed([mr, "site", "-o", str(Path(tmp) / out), "--at", "HEAD"], clone)
            rows.append({"what": what, "seconds": round(wall, 2), "cpu": round(cpu, 2), "load": before,
                         "target": target, "ok": wall <= target})
        name, size, pages = largest_page(Path(tmp) / "warm")
        rows[-1].update(largest=name, largest_kb=round(size / 1024, 1))
        path = f"registry/{model}/model.yaml"
        text = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=clone, check=True, capture_output=True,
                              text=True).stdout
        commit_file(clone, path, text.replace("description: synthetic", "description: changed"),
                    f"Describe {model} (#1)")
        before = load()
        wall, cpu = timed([mr, "site", "-o", str(Path(tmp) / "warm"), "--at", "HEAD"], clone)
        rows.append({"what": f"rebuild after a commit changing {model}", "seconds": round(wall, 2),
                     "cpu": round(cpu, 2), "load": before, "target": 5.0, "ok": wall <= 5.0})
    info = build_info(registry)
    print(f"registry: {info['shape']} shape, {info['versions']} versions, {info['commits']} commits; "
          f"{pages} pages; {os.cpu_count()} CPUs; seconds wall, cpu: user + system of the process "
          "and its children; load: the 1-minute load average before the run")
    report(f"site-{args.shape}-{args.versions}", rows)


if __name__ == "__main__":
    main()
