"""Reads at 1,000, 10,000 and 100,000 versions, in both shapes (issue 17).

Builds (or finds under ``--cache``) each registry with ``build_registry.build``, then runs
every read of the issue's table as a fresh process, round-robin with the floor
(``python -c "import yaml; yaml.safe_load(open(F))"`` on one manifest) in the same pass:

- ``resolve M@production``, ``list``, ``show M``, ``history M --offline``;
- ``--at DATE`` reads (a date half-way through the history): ``resolve``, ``show M``, ``list``.

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


def cases(registry: Path, shape: str, versions: int) -> tuple[dict[str, list[str]], str]:
    """The commands timed on one registry, and the model ``M`` they read."""
    models, _ = layout(shape, versions)
    model = model_name(min(42, models - 1) if shape == "wide" else 1)
    manifest = registry / "registry" / model / "v3" / "version.yaml"
    commits = int(str(build_info(registry)["commits"]))
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH + STEP * commits // 2))
    py, mr = tool("python"), tool("modelreg")
    return {
        "floor": [py, "-c", f"import yaml; yaml.safe_load(open({str(manifest)!r}))"],
        "modelreg --version": [mr, "--version"],
        "resolve M@production": [mr, "resolve", f"models:/{model}@production"],
        "list": [mr, "list"],
        "show M": [mr, "show", model],
        "history M": [mr, "history", model, "--offline"],
        "resolve --at DATE": [mr, "resolve", f"models:/{model}@production", "--at", date],
        "show M --at DATE": [mr, "show", model, "--at", date],
        "list --at DATE": [mr, "list", "--at", date],
    }, model


def measure(registry: Path, shape: str, versions: int, runs: int) -> dict[str, object]:
    commands, model = cases(registry, shape, versions)
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
        if what in TARGETS:
            row.update(target=TARGETS[what], ok=median / floor <= TARGETS[what])
        rows[what] = row
    return {"shape": shape, "versions": versions, "model": model, "runs": runs,
            "build": build_info(registry), "rows": rows}


def markdown(results: list[dict[str, object]]) -> str:
    reads = list(TARGETS)
    head = "| shape | versions | floor | " + " | ".join(f"`{w}`" for w in reads) + " |"
    lines = [head, "|" + " --- |" * (3 + len(reads))]
    for result in results:
        rows = result["rows"]
        assert isinstance(rows, dict)
        cells = [f"{rows[w]['ratio']}x ({rows[w]['ms']:.0f} ms)" if w in rows else "" for w in reads]
        lines.append(f"| {result['shape']} ({result['model']}) | {result['versions']:,} | "
                     f"{rows['floor']['ms']:.0f} ms | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--shapes", default="deep,wide")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "modelreg-scale")
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
            result = measure(registry, shape, versions, args.runs)
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
