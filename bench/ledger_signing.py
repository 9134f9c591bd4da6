"""What signed ledger records cost: signing, reading and verifying, per record (issue 14, section 2).

Makes N deployment records in memory (no git: the cost of git notes is the
ledger's, signed or not), then times, as medians of interleaved rounds:

- signing each with an EC P-256 key (what the deploy job adds per record)
- reading each line, unsigned and signed (what every reader pays, ``--verify`` or not)
- judging each signed record against the signers (what ``--verify``, the site,
  ``deploy`` and ``status`` add when signers are named)

Usage: .venv/bin/python bench/ledger_signing.py [--records 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelreg.edges import ledger
from modelreg.edges.ledger_signing import LedgerSigner, sign_with_key
from modelreg.read.ledger_trust import Trust

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # bench/ is not a package: its helpers are found by path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    records = [ledger.LedgerRecord(f"2026-12-01T00:00:00.{i:06d}Z", "deployment", f"m{i % 100:03d}",
                                   "production", 1, 2, f"{i:040x}", environment="production",
                                   outcome="succeeded", sha256="b" * 64, pr=i + 1,
                                   approvers=[{"login": "risk"}],
                                   message="v2 is live on 1 target(s), sha256 verified on each")
               for i in range(args.records)]
    signed_lines: list[str] = []
    unsigned_lines = [r.line() for r in records]

    def sign() -> None:
        signed_lines[:] = [ledger.seal(r, s.kind, s.envelope).line()
                           for r in records for s in [sign_with_key(r.payload(), pem)]]

    sign()
    signed = [ledger.LedgerRecord.parse(line) for line in signed_lines]
    trust = Trust([LedgerSigner("key", public_key=public)], "bench")

    def judge() -> None:
        fresh = Trust(trust.signers, trust.where)  # no verdict kept from an earlier round
        kept, _ = fresh.believed([replace(r) for r in signed if r is not None])
        assert len(kept) == len(signed)

    steps: dict[str, Callable[[], object]] = {
        "sign": sign,
        "read unsigned": lambda: [ledger.LedgerRecord.parse(line) for line in unsigned_lines],
        "read signed": lambda: [ledger.LedgerRecord.parse(line) for line in signed_lines],
        "verify": judge,
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.runs):  # interleaved: a busy machine slows every step alike
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    print(f"{args.records} records; line: {len(unsigned_lines[0])} bytes unsigned, "
          f"{len(signed_lines[0])} bytes signed")
    report("ledger_signing", [{"what": name, "seconds": statistics.median(values),
                               "us_per_record": round(statistics.median(values) / args.records * 1e6, 1)}
                              for name, values in times.items()])

if __name__ == "__main__":
    main()
