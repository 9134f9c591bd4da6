"""What "live" costs: every deployed byte hashed (issue 13).

On ``--models`` models of ``--size-mb`` MB each, deployed to a ``directory`` target:

1. ``modelreg deploy`` run again (the no-op: every served file hashed, as it must be before it
   says "already deployed");
2. ``modelreg status --verify`` (every served file hashed; the default since issue 13);
3. ``modelreg status --fast`` (only files whose size, mtime or ctime changed), for scale;

against ``sha256sum`` of the same files in one process. Target: <= 1.5x. GNU ``sha256sum``
does not use the CPU's SHA extensions where OpenSSL (and so Python's hashlib) does, so
``openssl dgst -sha256`` of the same files is measured too, and the ratio to it reported: the
fairer bar. The files are in the page cache for every command alike (a warm-up round first),
so the figures compare hashing and overhead, not the disk.

Usage: .venv/bin/python bench/verify.py [--models 100] [--size-mb 10] [--runs 5] [--workdir DIR]
(``--workdir``: build there, or reuse what an earlier run built there, and keep it.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ensure_bytecode, git_env, report, time_commands, tool


def sh(cwd: Path, *cmd: str) -> None:
    subprocess.run(list(cmd), cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=git_env())


def deployed(base: Path, models: int, size_mb: int) -> tuple[Path, list[Path]]:
    """A registry whose ``models`` models are each promoted and deployed; the served files."""
    root, srv = base / "registry", base / "srv"
    sh(base, tool("modelreg"), "init", str(root), "--remote", str(base / "remote"))
    config = yaml.safe_load((root / "modelreg.yaml").read_text())
    config["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(srv)}]}}
    (root / "modelreg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "policies/default.yaml").write_text("schema_version: 1\n")
    artifact = base / "model.bin"
    for index in range(models):
        with open(artifact, "wb") as out:
            for _ in range(size_mb):
                out.write(os.urandom(1024 * 1024))
        name = f"m{index:03d}"
        sh(root, tool("modelreg"), "register", name, "--artifact", str(artifact), "--owner", "@b/t",
           "--metric", "auc=0.9")
        path = root / "registry" / name / "model.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["aliases"] = {"production": 1}
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-qm", "Register and promote every model")
    sh(root, tool("modelreg"), "deploy")
    files = sorted(srv.glob("m*/1/model.bin"))
    assert len(files) == models, f"{len(files)} files served, expected {models}"
    return root, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--size-mb", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    ensure_bytecode()
    os.environ.update(git_env())
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        base = args.workdir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        if (base / "registry").is_dir():
            root, files = base / "registry", sorted((base / "srv").glob("m*/1/model.bin"))
        else:
            root, files = deployed(base, args.models, args.size_mb)
        cases = {"sha256sum": ["sha256sum", *map(str, files)],
                 "openssl": ["openssl", "dgst", "-sha256", *map(str, files)],
                 "deploy": [tool("modelreg"), "deploy"],
                 "status --verify": [tool("modelreg"), "status", "--verify"],
                 "status --fast": [tool("modelreg"), "status", "--fast"]}
        times = time_commands(cases, runs=args.runs, cwd=root, warmup=1)
    what = f"{args.models} models x {args.size_mb} MB"
    base, fast = statistics.median(times["sha256sum"]), statistics.median(times["openssl"])
    rows: list[dict[str, object]] = [{"what": f"sha256sum of the served files ({what})", "seconds": base},
                                     {"what": f"openssl dgst -sha256 of the same files ({what})",
                                      "seconds": fast}]
    for name, label in (("deploy", "modelreg deploy, run again (no-op, every file hashed)"),
                        ("status --verify", "modelreg status --verify (every file hashed)")):
        median = statistics.median(times[name])
        rows.append({"what": f"{label} ({what})", "seconds": median, "ratio": round(median / base, 2),
                     "ratio_openssl": round(median / fast, 2), "target": 1.5, "ok": median / base <= 1.5})
    rows.append({"what": f"modelreg status --fast (size, mtime, ctime only; {what})",
                 "seconds": statistics.median(times["status --fast"])})
    report("verify", rows)


if __name__ == "__main__":
    main()
