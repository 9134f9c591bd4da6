"""Reads at 1,000, 10,000 and 100,000 versions, in both shapes (issue 17).

Builds (or finds under ``--cache``) each registry with ``build_registry.build``, then runs
every read of the issue's table as a fresh process, round-robin with the floor
(``python -c "import yaml; yaml.safe_load(open(F))"`` on one manifest) in the same pass:

- ``resolve M@production``, ``list``, ``show M``, ``history M --offline``;
- ``--at DATE`` reads (a date half-way through the history): ``resolve``, ``show M``, ``list``;
- and, as no target, ``list --at HEAD`` and ``find`` of every version directory (what one look
  at each costs the system: the floor of a work-tree ``list``, which checks each).

``M`` is a model of 100 versions in the ``wide`` shape (1,000 x 100 at 100,000) and of
5,000 in the ``deep`` one (20 x 5,000). Medians, and each as a multiple of the floor's
median; written to ``bench/out/scale[-LABEL].json`` and ``.md``.

Targets at 100,000 versions: resolve <= 2x, list <= 2x, show M <= 3x (100 versions),
history M <= 3x (100 versions among 100,000), ``--at DATE`` <= 2.5x.

Usage: .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--shapes deep,wide]
       [--runs 7] [--cache /tmp/modelreg-scale] [--label before]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_registry import EPOCH, STEP, build, build_info, layout, model_name
from common import OUT, ensure_bytecode, time_commands, tool

TARGETS = {"resolve M@production": 2.0, "list": 2.0, "show M": 3.0, "history M": 3.0,
           "resolve --at DATE": 2.5, "show M --at DATE": 2.5, "list --at DATE": 2.5}


def cases(registry: Path, shape: str, versions: int,
          before: Path | None = None) -> tuple[dict[str, list[str]], str]:
    """The commands timed on one registry, and the model ``M`` they read."""
    models, _ = layout(shape, versions)
    model = model_name(min(42, models - 1) if shape == "wide" else 1)
    manifest = registry / "registry" / model / "v3" / "version.yaml"
    commits = int(str(build_info(registry)["commits"]))
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH + STEP * commits // 2))
    py, mr = tool("python"), tool("modelreg")
    reads = {
        "floor": [py, "-c", f"import yaml; yaml.safe_load(open({str(manifest)!r}))"],
        "modelreg --version": [mr, "--version"],
        "resolve M@production": [mr, "resolve", f"models:/{model}@production"],
        "list": [mr, "list"],
        "show M": [mr, "show", model],
        "history M": [mr, "history", model, "--offline"],
        "resolve --at DATE": [mr, "resolve", f"models:/{model}@production", "--at", date],
        "show M --at DATE": [mr, "show", model, "--at", date],
        "list --at DATE": [mr, "list", "--at", date],
        # not targets: the committed listing (flat), and what looking at every version directory
        # of the work tree once costs the system (`find` stats each: the floor of an exact `list`)
        "list --at HEAD": [mr, "list", "--at", "HEAD"],
        "find every version directory": ["find", "registry", "-mindepth", "2", "-maxdepth", "2",
                                         "-type", "d", "-newer", "modelreg.yaml"],
    }
    if before is not None:  # the same reads by the code in BEFORE/src, in the same pass
        old = ["env", f"PYTHONPATH={before}"]
        reads.update({f"before: {what}": old + cmd for what, cmd in list(reads.items())
                      if what in TARGETS})
    return reads, model


def commit_graph(registry: Path, graph: str) -> None:
    """Set the registry's commit-graph: ``none`` (as a fresh clone has), ``bloom`` (with changed-path
    Bloom filters, as ``modelreg init`` and modelreg's own commits leave it), ``keep``."""
    info = registry / ".git" / "objects" / "info"
    if graph == "none":
        (info / "commit-graph").unlink(missing_ok=True)
        shutil.rmtree(info / "commit-graphs", ignore_errors=True)
    elif graph == "bloom":
        chain = info / "commit-graphs" / "commit-graph-chain"
        layers = [info / "commit-graphs" / f"graph-{h}.graph" for h in chain.read_text().split()] \
            if chain.exists() else [info / "commit-graph"]
        if not all(p.exists() and b"BIDX" in p.read_bytes()[:256] for p in layers):
            subprocess.run(["git", "commit-graph", "write", "--reachable", "--changed-paths",
                            "--split=replace"],
                           cwd=registry, check=True)


def measure(registry: Path, shape: str, versions: int, runs: int, graph: str,
            before: Path | None = None) -> dict[str, object]:
    commit_graph(registry, graph)
    commands, model = cases(registry, shape, versions, before)
    # one untimed pass fills the memo, as any earlier read of the registry would have
    for cmd in commands.values():
        subprocess.run(cmd, cwd=registry, stdout=subprocess.DEVNULL, check=True)
    samples = time_commands(commands, runs=runs, cwd=registry, warmup=1)
    floor = statistics.median(samples.pop("floor"))
    rows: dict[str, dict[str, object]] = {"floor": {"ms": round(floor * 1000, 1), "ratio": 1.0}}
    for what, values in samples.items():
        median = statistics.median(values)
        row: dict[str, object] = {"ms": round(median * 1000, 1), "ratio": round(median / floor, 2),
                                  "min_ms": round(min(values) * 1000, 1)}
        if what.removeprefix("before: ") in TARGETS:
            row.update(target=TARGETS[what.removeprefix("before: ")],
                       ok=median / floor <= TARGETS[what.removeprefix("before: ")])
        rows[what] = row
    return {"shape": shape, "versions": versions, "model": model, "runs": runs, "commit_graph": graph,
            "build": build_info(registry), "rows": rows}


def markdown(results: list[dict[str, object]]) -> str:
    reads = list(TARGETS)
    head = "| shape | versions | code (commit-graph) | floor | " + " | ".join(f"`{w}`" for w in reads) + " |"
    lines = [head, "|" + " --- |" * (4 + len(reads))]
    for result in results:
        rows = result["rows"]
        assert isinstance(rows, dict)
        for code in ("before: ", ""):
            if not any(f"{code}{w}" in rows for w in reads):
                continue
            cells = [f"{rows[k]['ratio']}x ({rows[k]['ms']:.0f} ms)" if (k := f"{code}{w}") in rows else ""
                     for w in reads]
            lines.append(f"| {result['shape']} ({result['model']}) | {result['versions']:,} | "
                         f"{code.rstrip(': ') or 'after'} ({result['commit_graph']}) | "
                         f"{rows['floor']['ms']:.0f} ms | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--shapes", default="deep,wide")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "modelreg-scale")
    parser.add_argument("--graph", choices=("keep", "none", "bloom"), default="keep",
                        help="the commit-graph to time with (default: as modelreg left it)")
    parser.add_argument("--before", type=Path,
                        help="a directory holding older sources (src/modelreg): their reads are timed "
                             "in the same pass, as `before: ...`")
    parser.add_argument("--label", default="", help="suffix of the output files (before, after)")
    args = parser.parse_args()
    ensure_bytecode()
    results = []
    for versions in (int(s) for s in args.sizes.split(",")):
        for shape in args.shapes.split(","):
            started = time.perf_counter()
            registry = build(shape, versions, args.cache)
            print(f"{shape} {versions:,}: registry ready in {time.perf_counter() - started:.1f} s "
                  f"(built in {build_info(registry)['build_seconds']} s)", flush=True)
            result = measure(registry, shape, versions, args.runs, args.graph, args.before)
            results.append(result)
            for what, row in result["rows"].items():  # type: ignore[attr-defined]  # a dict, built above
                print(f"  {what:<22} {row['ms']:8.1f} ms  {row['ratio']:6.2f}x"
                      + (f"  (target {row['target']}x {'ok' if row['ok'] else 'MISSED'})" if "target" in row
                         else ""), flush=True)
    suffix = f"-{args.label}" if args.label else ""
    OUT.mkdir(exist_ok=True)
    (OUT / f"scale{suffix}.json").write_text(json.dumps(results, indent=2))
    (OUT / f"scale{suffix}.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
