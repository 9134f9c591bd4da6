"""Registration speed: the cost of ``modelreg register`` beyond hashing and uploading the artifact.

Issue 17's target: one more version costs <= 0.5 s beyond the artifact's own hashing and upload.
The floor is what any tool must do with the bytes: ``sha256sum`` of the artifact and a plain
``cp`` of it into the local remote, two fresh processes. Each trial registers one more version
of a model that already has one (the second registration of a registry), in a fresh registry
with a fresh local remote, and times as fresh processes, round-robin:

- floor: ``sha256sum model.bin`` + ``cp model.bin REMOTE/``
- ``modelreg --version``: the CLI's cold start
- ``modelreg register m --artifact model.bin`` (validate, hash md5+sha256 while copying into
  DVC's cache, push through DVC's data layer, write the manifest)
- with ``--before SRC``: the same with the modelreg sources in SRC (e.g. an ``git archive`` of
  an older commit), on the same trial's registry
- ``dvc add`` + ``dvc push`` of the same file (issue 2's yardstick, <= 1.2x)

and reports each median, and register - floor ("beyond hashing and upload"), in wall time
and in CPU time (user + system of the process and its children: what the load of a shared
machine does not change).

Usage: .venv/bin/python bench/register.py [--size-mb 1,200] [--trials 5] [--before DIR]
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

TARGET_BEYOND = 0.5
#: CPU seconds (user + system) of every child process run so far
CPU: dict[str, float] = {}


def timed(name: str, cmd: list[str], cwd: Path | None = None) -> float:
    """Wall seconds of ``cmd``; its CPU seconds are added to ``CPU[name]``."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = run_once(cmd, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[name] = CPU.get(name, 0.0) + (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall


def fresh_registry(base: Path, name: str, artifact: Path) -> Path:
    """A registry whose model ``m`` has one version already: the next one is the one timed."""
    root = base / name
    subprocess.run([tool("modelreg"), "init", str(root), "--remote", str(base / f"{name}-remote")],
                   check=True, stdout=subprocess.DEVNULL, env=git_env())
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=git_env())
    subprocess.run(["git", "commit", "-qm", "init"], cwd=root, check=True, env=git_env())
    first = base / "first.bin"
    first.write_bytes(os.urandom(1024))
    subprocess.run([tool("modelreg"), "register", "m", "--artifact", str(first), "--owner", "@bench/team",
                    "--metric", "auc=0.8", "--commit"], cwd=root, check=True, stdout=subprocess.DEVNULL,
                   env=git_env())
    return root


def trial(base: Path, artifact: Path, index: int, before: Path | None) -> dict[str, tuple[float, float]]:
    """Each case's (wall, CPU) seconds."""
    CPU.clear()
    times: dict[str, float] = {}
    remote = base / f"floor-{index}"
    remote.mkdir()
    times["floor"] = (timed("floor", ["sha256sum", str(artifact)])
                      + timed("floor", ["cp", str(artifact), str(remote / "obj")]))
    shutil.rmtree(remote)
    times["version"] = timed("version", [tool("modelreg"), "--version"])
    register = ["register", "m", "--artifact", str(artifact), "--metric", "auc=0.9"]
    reg = fresh_registry(base, f"modelreg-{index}", artifact)
    times["register"] = timed("register", [tool("modelreg"), *register], reg)
    shutil.rmtree(reg)
    shutil.rmtree(base / f"modelreg-{index}-remote")
    if before is not None:
        old = fresh_registry(base, f"before-{index}", artifact)
        os.environ["PYTHONPATH"], saved = str(before), os.environ.get("PYTHONPATH", "")
        try:
            times["before"] = timed("before", [tool("modelreg"), *register], old)
        finally:
            os.environ["PYTHONPATH"] = saved
        shutil.rmtree(old)
        shutil.rmtree(base / f"before-{index}-remote")
    plain = fresh_registry(base, f"dvc-{index}", artifact)
    shutil.copyfile(artifact, plain / "model.bin")
    times["dvc"] = (timed("dvc", [tool("dvc"), "add", "-q", "model.bin"], plain)
                    + timed("dvc", [tool("dvc"), "push", "-q"], plain))
    shutil.rmtree(plain)
    shutil.rmtree(base / f"dvc-{index}-remote")
    return {name: (wall, CPU[name]) for name, wall in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", default="1,200", help="comma-separated artifact sizes")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--before", type=Path, help="modelreg sources to compare (a src/ directory)")
    args = parser.parse_args()
    ensure_bytecode()
    if args.before:
        import compileall

        compileall.compile_dir(str(args.before), quiet=1)
    os.environ.update(git_env())
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        base = Path(tmp)
        for size in (int(s) for s in args.size_mb.split(",")):
            artifact = base / "model.bin"
            with open(artifact, "wb") as out:
                for _ in range(size):
                    out.write(os.urandom(1024 * 1024))
            samples: dict[str, list[float]] = {}
            cpu_samples: dict[str, list[float]] = {}
            for index in range(args.trials):
                for name, (seconds, cpu) in trial(base, artifact, index, args.before).items():
                    samples.setdefault(name, []).append(seconds)
                    cpu_samples.setdefault(name, []).append(cpu)
            med = {name: statistics.median(values) for name, values in samples.items()}
            cpu = {name: statistics.median(values) for name, values in cpu_samples.items()}
            floor = med["floor"]
            print(f"artifact: {size} MB; median of {args.trials} trials, each in fresh registries")
            rows += [
                {"what": f"{size} MB: sha256sum + cp into the remote (floor)", "seconds": round(floor, 3),
                 "cpu": round(cpu["floor"], 3)},
                {"what": f"{size} MB: modelreg --version", "seconds": round(med["version"], 3),
                 "cpu": round(cpu["version"], 3)},
                {"what": f"{size} MB: modelreg register", "seconds": round(med["register"], 3),
                 "beyond_floor": round(med["register"] - floor, 3),
                 "cpu": round(cpu["register"], 3),
                 "cpu_beyond_floor": round(cpu["register"] - cpu["floor"], 3),
                 "target": TARGET_BEYOND, "ok": med["register"] - floor <= TARGET_BEYOND},
            ]
            if "before" in med:
                rows.append({"what": f"{size} MB: modelreg register, before",
                             "seconds": round(med["before"], 3),
                             "beyond_floor": round(med["before"] - floor, 3), "cpu": round(cpu["before"], 3),
                             "cpu_beyond_floor": round(cpu["before"] - cpu["floor"], 3)})
            rows.append({"what": f"{size} MB: dvc add + dvc push", "seconds": round(med["dvc"], 3),
                         "cpu": round(cpu["dvc"], 3),
                         "register_ratio": round(med["register"] / med["dvc"], 2)})
            artifact.unlink()
    report("register", rows)


if __name__ == "__main__":
    main()
