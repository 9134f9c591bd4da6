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
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ensure_bytecode, git_env, report, run_once, tool
from register import fresh_registry


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
        plain, signed, verify, sha256sum = [], [], [], []
        verified = fresh_registry(base, "verified")
        run_once([*register, "--sign-key", str(key)], verified)
        run_once([tool("modelreg"), "verify", "m/1", "--key", str(pub)], verified)  # warm the page cache
        for round_ in range(args.rounds):
            # interleaved: a noisy neighbour slows every case of a round alike
            reg = fresh_registry(base, f"plain-{round_}")
            plain.append(run_once(register, reg))
            shutil.rmtree(reg)
            reg = fresh_registry(base, f"signed-{round_}")
            signed.append(run_once([*register, "--sign-key", str(key)], reg))
            shutil.rmtree(reg)
            verify.append(run_once([tool("modelreg"), "verify", "m/1", "--key", str(pub)], verified))
            sha256sum.append(run_once(["sha256sum", str(artifact)]))
        med = {name: statistics.median(values) for name, values in
               (("plain", plain), ("signed", signed), ("verify", verify), ("sha256sum", sha256sum))}
        print(f"artifact: {args.size_mb} MB, one file; median of {args.rounds} interleaved rounds")
        report("sign", [
            {"what": "modelreg register", "seconds": round(med["plain"], 3)},
            {"what": "modelreg register --sign-key", "seconds": round(med["signed"], 3),
             "ratio": round(med["signed"] / med["plain"], 2), "target": 1.3,
             "ok": med["signed"] / med["plain"] <= 1.3},
            {"what": "sha256sum", "seconds": round(med["sha256sum"], 3)},
            {"what": "modelreg verify (local cache)", "seconds": round(med["verify"], 3),
             "ratio": round(med["verify"] / med["sha256sum"], 2), "target": 1.2,
             "ok": med["verify"] / med["sha256sum"] <= 1.2},
        ])


if __name__ == "__main__":
    main()
