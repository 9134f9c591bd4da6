"""Signing and verifying speed (issue 14's targets).

As fresh processes, on a 200 MB artifact (one file), in interleaved rounds, medians:

- ``modelreg register --sign-key`` against ``modelreg register`` (each in a fresh registry
  with a fresh local remote; target: <= 1.3x)
- ``modelreg verify M/1 --key PUB`` (the artifact in the local DVC cache, as after ``get`` or
  ``register``) against ``sha256sum`` of the file (target: <= 1.2x)

Usage: .venv/bin/python bench/sign.py [--size-mb 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ensure_bytecode, git_env, report, run_once, tool
from register import fresh_registry


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys, the process and its children) of one fresh process: the
    CPU time is what a busy machine's load does not change."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = run_once(cmd, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_key(base: Path) -> tuple[Path, Path]:
    key, pub = base / "signing.pem", base / "signing.pub"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
                   check=True)
    subprocess.run(["openssl", "ec", "-in", str(key), "-pubout", "-out", str(pub)], check=True,
                   stderr=subprocess.DEVNULL)
    return key, pub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ensure_bytecode()
    os.environ.update(git_env())
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-") as tmp:
        base = Path(tmp)
        artifact = base / "model.bin"
        with open(artifact, "wb") as out:
            for _ in range(args.size_mb):
                out.write(os.urandom(1024 * 1024))
        key, pub = make_key(base)
        register = [tool("modelreg"), "register", "m", "--artifact", str(artifact), "--owner", "@bench/team",
                    "--metric", "auc=0.9"]
        samples: dict[str, list[tuple[float, float]]] = {"plain": [], "signed": [], "verify": [],
                                                          "sha256sum": []}
        verified = fresh_registry(base, "verified")
        run_once([*register, "--sign-key", str(key)], verified)
        run_once([tool("modelreg"), "verify", "m/1", "--key", str(pub)], verified)  # warm the page cache
        for round_ in range(args.rounds):
            # interleaved: a noisy neighbour slows every case of a round alike
            reg = fresh_registry(base, f"plain-{round_}")
            samples["plain"].append(timed(register, reg))
            shutil.rmtree(reg)
            reg = fresh_registry(base, f"signed-{round_}")
            samples["signed"].append(timed([*register, "--sign-key", str(key)], reg))
            shutil.rmtree(reg)
            samples["verify"].append(timed([tool("modelreg"), "verify", "m/1", "--key", str(pub)], verified))
            samples["sha256sum"].append(timed(["sha256sum", str(artifact)]))
        med = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
        cpu = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
        print(f"artifact: {args.size_mb} MB, one file; median of {args.rounds} interleaved rounds")

        def row(what: str, name: str, base: str | None = None,
                target: float | None = None) -> dict[str, object]:
            out: dict[str, object] = {"what": what, "seconds": round(med[name], 3),
                                      "cpu": round(cpu[name], 3)}
            if base is not None and target is not None:
                out.update(ratio=round(med[name] / med[base], 2), cpu_ratio=round(cpu[name] / cpu[base], 2),
                           target=target, ok=med[name] / med[base] <= target)
            return out
        report("sign", [
            row("modelreg register", "plain"),
            row("modelreg register --sign-key", "signed", "plain", 1.3),
            row("sha256sum", "sha256sum"),
            row("modelreg verify (local cache)", "verify", "sha256sum", 1.2),
        ])


if __name__ == "__main__":
    main()
