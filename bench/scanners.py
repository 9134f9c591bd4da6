"""The evidence behind ``artifact.code_execution: scan`` using picklescan (docs/policies.md).

Builds payloads (nothing here unpickles them): real ``__reduce__`` pickles, 26 less-known
callables that run code, memo and multi-pickle tricks, a truncated pickle, joblib files
compressed five ways and one with its payload after a numpy array, PyTorch-style zips (a
member not named ``.pkl``, a bad CRC), numpy object arrays, renamed files, and clean
scikit-learn, skops, safetensors and numpy files. Then runs picklescan, fickling, modelscan
and modelreg's own inspection (``edges/weights.py``, picklescan behind content detection) on
each, timing a 200 MB pickle too, and prints one row per file. A marker file that any payload
would create is checked at the end.

Usage: .venv/bin/python bench/scanners.py [--out DIR]
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import json
import logging
import lzma
import os
import pickle
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

CALLABLES = [("runpy", "_run_code"), ("pkgutil", "resolve_name"), ("cProfile", "run"), ("timeit", "timeit"),
             ("code", "InteractiveInterpreter"), ("_posixsubprocess", "fork_exec"),
             ("operator", "methodcaller"), ("pydoc", "pipepager"), ("importlib", "import_module"),
             ("profile", "run"), ("trace", "Trace"), ("doctest", "debug_script"),
             ("numpy.testing._private.utils", "runstring"), ("torch.hub", "load"), ("pip", "main"),
             ("shutil", "rmtree"), ("subprocess", "Popen"), ("sys", "exit"),
             ("asyncio.unix_events", "_UnixSubprocessTransport"), ("ctypes", "CDLL"),
             ("idlelib.pyshell", "ModifiedInterpreter"), ("lib2to3.pgen2.pgen", "ParserGenerator"),
             ("venv", "create"), ("webbrowser", "open"), ("builtins", "breakpoint"), ("functools", "partial")]


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def build(out: Path, marker: Path) -> None:
    import joblib
    import numpy as np
    import skops.io
    from sklearn.linear_model import LogisticRegression

    def w(name: str, data: bytes) -> None:
        (out / name).write_bytes(data)

    def g0(mod: str, name: str, arg: str) -> bytes:
        return f"c{mod}\n{name}\n(V{arg}\ntR.".encode()

    def sg(mod: str, name: str, arg: str) -> bytes:
        return b"\x80\x04" + _u(mod) + _u(name) + b"\x93" + _u(arg) + b"\x85R."

    run = f"open('{marker}','w')"
    w("os_system_p0.pkl", g0("posix", "system", f"touch {marker}"))
    w("exec_p4.pkl", sg("builtins", "exec", run))
    w("renamed.safetensors", sg("builtins", "exec", run))
    w("memo.pkl", b"\x80\x04" + _u("builtins") + b"\x94" + _u("exec") + b"\x94h\x00h\x01\x93" + _u(run)
      + b"\x85R.")
    for module, name in CALLABLES:
        w(f"callable_{module}.{name}.pkl", sg(module, name, "x"))
    w("truncated.pkl", g0("posix", "system", f"touch {marker}")[:-1] + b"\xff\xff")
    w("second_pickle.pkl", pickle.dumps({"a": 1}) + g0("posix", "system", f"touch {marker}"))

    def torch_zip(name: str, member: str = "archive/data.pkl") -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(member, sg("builtins", "exec", run))
            archive.writestr("archive/version", "3\n")
        w(name, buffer.getvalue())
    torch_zip("torch_zip.pt")
    torch_zip("torch_zip.bin")
    torch_zip("torch_zip_as.onnx")
    torch_zip("torch_zip_member_noext.pt", "archive/weights")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", g0("posix", "system", f"touch {marker}"))
    data = bytearray(buffer.getvalue())
    central = data.find(b"PK\x01\x02")
    data[14:18] = data[central + 16:central + 20] = b"\0\0\0\0"
    w("torch_badcrc.pt", bytes(data))
    payload = g0("posix", "system", f"touch {marker}")
    for name, packed in (("zlib", zlib.compress(payload)), ("gzip", gzip.compress(payload)),
                         ("bz2", bz2.compress(payload)), ("xz", lzma.compress(payload)),
                         ("lzma", lzma.compress(payload, format=lzma.FORMAT_ALONE))):
        w(f"{name}.joblib", packed)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    w("object.npy", header.getvalue() + sg("builtins", "exec", run))
    w("object_renamed.safetensors", header.getvalue() + sg("builtins", "exec", run))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("arr_0.npy", header.getvalue() + sg("builtins", "exec", run))
    w("object.npz", buffer.getvalue())

    class Evil:
        def __reduce__(self) -> tuple[Callable[..., int], tuple[str]]:
            return os.system, (f"touch {marker}",)
    joblib.dump([np.arange(1000.0), Evil()], out / "payload_after_array.joblib")
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    w("clean_sklearn.pkl", pickle.dumps(model))
    joblib.dump(model, out / "clean_sklearn.joblib")
    joblib.dump(model, out / "clean_sklearn_z.joblib", compress=3)
    w("clean_dict.pkl", pickle.dumps({"w": [1.0, 2.0]}))
    buffer = io.BytesIO()
    np.save(buffer, np.arange(10.0))
    w("clean.npy", buffer.getvalue())
    head = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    w("clean.safetensors", struct.pack("<Q", len(head)) + head + struct.pack("<2f", 1, 2))
    w("clean.skops", skops.io.dumps(model))


def picklescan(path: Path) -> str:
    from picklescan.scanner import scan_file_path

    result = scan_file_path(str(path))
    bad = sorted(f"{g.module}.{g.name}" for g in result.globals if g.safety.value == "dangerous")
    odd = sorted(f"{g.module}.{g.name}" for g in result.globals if g.safety.value == "suspicious")
    verdict = f"DANGEROUS {','.join(bad)}" if bad else f"suspicious {','.join(odd)}" if odd else "clean"
    return verdict + (" (scan error)" if result.scan_err else "")


def fickling(path: Path) -> str:
    import fickling as fk

    result = fk.scan_file(str(path), graceful=True)
    return result.severity.name + (f" ({result.errors[0][:40]})" if result.errors else "")


def modelscan(path: Path) -> str:
    from modelscan.modelscan import ModelScan

    scan = ModelScan()
    scan.scan(str(path))
    issues = sorted(f"{i.details.module}.{i.details.operator}" for i in scan.issues.all_issues)
    return (f"DANGEROUS {','.join(issues)}" if issues else "clean") + \
        (" (error)" if scan.errors else "") + (" (skipped)" if scan.skipped and not scan.scanned else "")


def modelreg(path: Path) -> str:
    from modelreg.edges import weights

    found = weights.inspect(path, path.name, scan=True)
    bad = sorted({d for f in found for d in f.dangerous})
    errors = [f.error for f in found if f.error]
    if bad:
        return f"DANGEROUS {','.join(bad)}"
    return f"refused: {errors[0][:40]}" if errors else ("pickle, clean" if found else "no code")


SCANNERS = {"picklescan": picklescan, "fickling": fickling, "modelscan": modelscan, "modelreg": modelreg}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        marker = Path(tmp) / "PAYLOAD-RAN"
        build(out, marker)
        for path in sorted(out.iterdir()):
            print(path.name)
            for name, scan in SCANNERS.items():
                try:
                    verdict = scan(path)
                except Exception as exc:  # a scanner that raises has not given a verdict
                    verdict = f"raised {type(exc).__name__}"
                print(f"    {name:11s} {verdict}")
        import numpy as np

        big = Path(tmp) / "big.pkl"
        big.write_bytes(pickle.dumps({"w": np.random.rand(25_000_000)}, protocol=4))
        for name in ("picklescan", "fickling", "modelreg"):
            start = time.perf_counter()
            SCANNERS[name](big)
            print(f"200 MB pickle: {name} {time.perf_counter() - start:.2f} s")
        print("a payload RAN" if marker.exists() else "no payload ran")
        sys.exit(1 if marker.exists() else 0)


if __name__ == "__main__":
    main()
