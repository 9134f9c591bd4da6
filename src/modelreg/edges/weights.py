"""What an artifact's files run when they are loaded: found by content, scanned with picklescan.

A file is judged by its bytes, never its name: a pickle renamed ``model.safetensors``
is still a pickle. Every file of a directory is read; a zip (a PyTorch checkpoint, an
``.npz``, a ``.keras`` file) is opened and each member judged the same way; a gzip,
bz2, xz, lzma or zlib stream (joblib's ``compress=``) is expanded first; a numpy
``.npy`` whose dtype holds Python objects carries a pickle after its header; a Keras
``config.json`` naming a ``Lambda`` layer carries Python bytecode.

Code Python imports is code too: a compiled module (a ``.pyc``'s magic number), a native
library (ELF, Mach-O or PE headers), found by content wherever it is and whatever its name,
and any file named with a suffix Python imports (``importlib.machinery.all_suffixes()``) or
reads as code at start-up (``.pth``). In an MLflow model directory (an ``MLmodel`` at its root)
Python source counts as well, since MLflow puts the directory's code on the path and imports
its loader module; and the ``MLmodel`` itself is read (``formats/mlmodel.py``): a flavour path
that is absolute or leaves the directory makes MLflow load a file nobody verified.

Pickle streams are recognised with the standard library's ``pickletools`` (the opcodes
are parsed, never executed) and, when asked, scanned with ``picklescan``, imported here
and nowhere else, lazily: ``refuse`` needs no scanner. Why picklescan, and what no
scanner can promise, is in docs/policies.md ("Code in artifacts").
"""

from __future__ import annotations

import ast
import bz2
import dataclasses
import gzip
import importlib.machinery
import importlib.util
import json
import lzma
import os
import pickletools
import re
import struct
import sys
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from modelreg.edges.hashing import walk_files
from modelreg.formats import mlmodel

EXTRA = "pip install 'modelreg[scan]'"
#: a compressed stream or zip member is expanded to at most RATIO times its size, and never beyond
#: MAX_EXPANDED (at least MIN_BUDGET); past that it is not inspected (fail closed): a compression
#: bomb must not fill the disk of the machine that checks it
MAX_EXPANDED = 16 * 1024**3
MIN_BUDGET = 1024**3
RATIO = 200
#: the largest Keras configuration or numpy header read (a larger one fails closed)
_MAX_JSON = 64 * 1024 * 1024
#: how deep archives inside archives (or compressed streams) are followed
MAX_DEPTH = 4

# Opcodes that fetch or call code: a pickle without any of them builds only plain data.
_CALLS = frozenset({"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "REDUCE", "BUILD",
                    "EXT1", "EXT2", "EXT4"})
_NUMPY_MAGIC = b"\x93NUMPY"
#: a module or attribute path that an unpickler's find_class could import
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"\x5d\x00\x00", "lzma"),
               (b"\x04\x22\x4d\x18", "lz4"))

# picklescan is a deny-list; an import it calls merely "suspicious" (not on its list) is held
# dangerous here when it comes from the standard library, which model pickles use only for the
# plain types below, or from a few third-party modules known to run code (docs/policies.md).
_STDLIB_DATA = {
    "builtins": {"set", "frozenset", "slice", "range", "complex", "bytearray", "bytes", "object", "int",
                 "float", "str", "list", "dict", "tuple", "bool"},
    "__builtin__": {"set", "frozenset", "slice", "complex", "bytearray", "object"},
    "collections": {"OrderedDict", "defaultdict", "deque", "Counter"},
    "copyreg": {"_reconstructor"}, "copy_reg": {"_reconstructor"},
    "_codecs": {"encode"},  # how protocol 2 writes bytes
    "datetime": {"datetime", "date", "time", "timedelta", "timezone"},
    "decimal": {"Decimal"}, "fractions": {"Fraction"}, "uuid": {"UUID"},
    "pathlib": {"Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath"},
    "array": {"array", "_array_reconstructor"},
    "re": {"_compile"},
}
_THIRD_PARTY_CODE = ("torch.hub", "torch.jit", "torch._dynamo", "torch._inductor", "torch.compile",
                     "numpy.f2py", "numpy.distutils", "numpy.testing", "pip", "setuptools", "IPython")


@dataclass(frozen=True)
class CodeFile:
    """A file (or archive member) that runs code when it is loaded, and what a scan found in it."""

    #: the artifact's name, its path inside a directory, ``:member`` for a member of an archive
    file: str
    #: what it is: "pickle", "gzip-compressed pickle", "numpy object array", "Keras Lambda layer"
    kind: str
    #: every import the pickle names, as ``module.name`` (empty when not scanned)
    imports: tuple[str, ...] = ()
    #: the imports that run code: on picklescan's deny-list, or held dangerous here
    dangerous: tuple[str, ...] = ()
    #: why it could not be inspected or scanned to its end (the verdict then fails closed)
    error: str | None = None
    #: whether a scanner read it (False: found by content only)
    scanned: bool = False
    #: True when it could not be read far enough to tell whether it runs code (``error`` says why)
    unknown: bool = False
    #: True for Python or native code (runs when imported; no scanner reads it)
    program: bool = False
    #: the paths an ``MLmodel`` names outside its directory (refused whatever the rule)
    outside: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "imports": list(self.imports),
                "dangerous": list(self.dangerous), "error": self.error, "scanned": self.scanned,
                "unknown": self.unknown, "program": self.program, "outside": list(self.outside)}


def _unknown(label: str, kind: str, why: str) -> CodeFile:
    """A file that could not be read far enough to tell whether it runs code."""
    return CodeFile(label, kind, error=why, unknown=True)


class ScannerMissing(Exception):
    """picklescan is not installed: a scan that was asked for cannot run."""


def scanner_available() -> bool:
    try:
        import picklescan.scanner  # noqa: F401 (whether it imports is the question)
    except ImportError:
        return False
    return True


def inspect(path: Path, name: str, *, scan: bool) -> list[CodeFile]:
    """The files of the artifact at ``path`` (called ``name``) that run code when loaded.

    With ``scan`` each pickle is scanned (:class:`ScannerMissing` when picklescan is not
    installed); without, pickles are found by content and named, with their imports when
    picklescan is there to read them. Nothing is ever unpickled.
    """
    if scan and not scanner_available():
        raise ScannerMissing
    found: list[CodeFile] = []
    source = path.is_dir() and (path / mlmodel.NAME).is_file()
    if source:
        found.extend(outside_paths(path, name))
    with tempfile.TemporaryDirectory(prefix="modelreg-scan-") as scratch:
        walker = _Walker(Path(scratch), scan=scan or scanner_available(), source=source)
        if path.is_dir():
            for file, rel in walk_files(path):
                found.extend(walker.file(file, f"{name}/{rel}"))
        else:
            found.extend(walker.file(path, name))
    return found


def inspect_bytes(data: bytes, name: str, *, scan: bool) -> list[CodeFile]:
    """:func:`inspect` of one file's bytes already in memory (what ``serve`` is about to load)."""
    import io

    if scan and not scanner_available():
        raise ScannerMissing
    with tempfile.TemporaryDirectory(prefix="modelreg-scan-") as scratch:
        return _Walker(Path(scratch), scan=scan or scanner_available()).stream(io.BytesIO(data), name, 0)


def outside_paths(path: Path, name: str) -> list[CodeFile]:
    """The ``MLmodel`` at the root of the directory ``path``, when its flavours name a path that
    is absolute or leaves the directory: one entry naming them (empty when there is none).
    Cheap (one small file): register and the gate read it whatever the code rule."""
    file = path / mlmodel.NAME
    label = f"{name}/{mlmodel.NAME}"
    try:
        if file.is_symlink() or not file.is_file():
            return []
        with open(file, "rb") as stream:
            text = stream.read(_MAX_JSON + 1)
    except OSError as exc:
        return [_unknown(label, "MLmodel", f"it cannot be read ({exc.strerror})")]
    if len(text) > _MAX_JSON:
        return [_unknown(label, "MLmodel", f"it is over {_MAX_JSON:,} bytes, more than is read")]
    try:
        escaping = mlmodel.outside(text)
    except ValueError as exc:
        return [_unknown(label, "MLmodel", f"it does not read as YAML ({exc})")]
    return [CodeFile(label, "MLmodel", outside=tuple(escaping))] if escaping else []


#: names Python imports as code (``.py``, ``.pyc``, ``.so``, ``.pyd``...) or reads at start-up
_CODE_SUFFIXES = frozenset(importlib.machinery.all_suffixes()) | {".pyo", ".pth"}
_SOURCE_SUFFIXES = frozenset(importlib.machinery.SOURCE_SUFFIXES) | {".pyw", ".pth"}
_MACH_O = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
           b"\xca\xfe\xba\xbe")


def _program(stream: IO[bytes], head: bytes, label: str, *, source: bool) -> str | None:
    """What kind of code the file is, by its bytes first, then by its name (None: not code).
    Python source counts only where ``source`` (an MLflow directory: MLflow imports it)."""
    if head[:4] == importlib.util.MAGIC_NUMBER or (
            len(head) >= 4 and head[2:4] == b"\r\n" and 3000 <= int.from_bytes(head[:2], "little") < 4000):
        return "compiled Python module"  # the magic numbers of Python 3 (3000 onwards)
    if head.startswith(b"\x7fELF"):
        return "native library (ELF)"
    if head.startswith(_MACH_O):
        return "native library (Mach-O)"
    if head.startswith(b"MZ") and _is_pe(stream):
        return "native library (PE)"
    base = label.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()  # a file's or an archive member's name
    suffix = f".{base.rpartition('.')[2]}" if "." in base else ""
    if any(base.endswith(s) for s in _CODE_SUFFIXES - _SOURCE_SUFFIXES):
        return "Python extension or compiled module (by its name)"
    if source and suffix in _SOURCE_SUFFIXES:
        return "Python path file" if suffix == ".pth" else "Python source"
    return None


def _is_pe(stream: IO[bytes]) -> bool:
    """A DOS header whose ``e_lfanew`` points at a ``PE\\0\\0`` signature (a Windows DLL or .pyd)."""
    try:
        stream.seek(0x3C)
        raw = stream.read(4)
        if len(raw) < 4:
            return False
        stream.seek(struct.unpack("<I", raw)[0])
        return stream.read(4) == b"PE\0\0"
    finally:
        stream.seek(0)


class _Walker:
    def __init__(self, scratch: Path, *, scan: bool, source: bool = False) -> None:
        self.scratch = scratch
        self.scan = scan
        self.source = source
        self._n = 0

    def file(self, path: Path, label: str) -> list[CodeFile]:
        try:
            with open(path, "rb") as stream:
                return self.stream(stream, label, 0)
        except OSError as exc:
            return [_unknown(label, "unreadable file", f"it cannot be read ({exc.strerror})")]

    def stream(self, stream: IO[bytes], label: str, depth: int) -> list[CodeFile]:
        """Every reading of the bytes that a loader could take: a file that is a zip by its end
        and a pickle by its start (a polyglot) is judged as both."""
        head = stream.read(8)
        stream.seek(0)
        tar = _is_tar(stream)  # PyTorch's oldest format, still loaded: tarfile reads V7 headers too
        if depth > MAX_DEPTH:
            return [_unknown(label, "nested archive", f"it is nested over {MAX_DEPTH} levels deep")]
        found: list[CodeFile] = []
        kind = _program(stream, head, label, source=self.source)
        if kind is not None:
            found.append(CodeFile(label, kind, error="no scanner reads code Python imports", program=True))
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) or _is_zip(stream):
            found.extend(self.archive(stream, label, depth))
            stream.seek(0)
        if tar:
            found.extend(self.tar(stream, label, depth))
            stream.seek(0)
        codec = next((codec for magic, codec in _COMPRESSED if head.startswith(magic)), None)
        if codec is None and len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0:
            codec = "zlib"  # a zlib header: joblib's default compression
        if codec is not None:
            found.extend(self.compressed(stream, label, codec, depth))
            stream.seek(0)
        elif head.startswith(_NUMPY_MAGIC):
            found.extend(self.numpy(stream, label))
            stream.seek(0)
        # the raw bytes too: a bz2 stream (``BZh``) is also a pickle's BINBYTES to pickle.load
        if _is_pickle(stream):
            stream.seek(0)
            found.append(self.pickle(stream, label, "pickle"))
        return found

    def archive(self, stream: IO[bytes], label: str, depth: int) -> list[CodeFile]:
        found: list[CodeFile] = []
        try:
            with zipfile.ZipFile(stream) as archive:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    member = f"{label}:{info.filename}"
                    try:
                        with archive.open(info) as opened, _spooled(opened, info.compress_size) as copy:
                            if info.filename.rsplit("/", 1)[-1] == "config.json":
                                found.extend(_keras(copy, member))
                                copy.seek(0)
                            found.extend(self.stream(copy, member, depth + 1))
                    except _TooLarge as exc:
                        found.append(_unknown(member, "archive member", f"it expands beyond {exc} bytes"))
                    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError,
                            zlib.error, lzma.LZMAError) as exc:
                        found.append(_unknown(member, "archive member", f"it does not read ({exc})"))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            found.append(_unknown(label, "zip archive", f"it does not read as a zip archive ({exc})"))
        return found

    def tar(self, stream: IO[bytes], label: str, depth: int) -> list[CodeFile]:
        found: list[CodeFile] = []
        try:
            with tarfile.open(fileobj=stream, mode="r:") as archive:
                for info in archive:
                    member = f"{label}:{info.name}"
                    if not info.isfile():
                        continue  # links and devices: tarfile's loaders read regular members
                    opened = archive.extractfile(info)
                    if opened is None:
                        continue
                    with opened, _spooled(opened, info.size) as copy:
                        found.extend(self.stream(copy, member, depth + 1))
        except _TooLarge as exc:
            found.append(_unknown(label, "tar archive", f"a member expands beyond {exc} bytes"))
        except (tarfile.TarError, OSError, EOFError) as exc:
            found.append(_unknown(label, "tar archive", f"it does not read as a tar archive ({exc})"))
        return found

    def compressed(self, stream: IO[bytes], label: str, codec: str, depth: int) -> list[CodeFile]:
        """Expand into the scratch directory, then judge what came out."""
        self._n += 1
        out = self.scratch / f"expanded-{self._n}"
        limit = _budget(stream.seek(0, os.SEEK_END))
        stream.seek(0)
        try:
            reader = _decompressor(stream, codec)
            with open(out, "wb") as sink:
                written = 0
                while block := reader.read(1024 * 1024):
                    written += len(block)
                    if written > limit:
                        return [_unknown(label, f"{codec}-compressed stream",
                                         f"it expands beyond {limit:,} bytes")]
                    sink.write(block)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as exc:
            return [_unknown(label, f"{codec}-compressed stream", f"it does not expand ({exc})")]
        except _NoCodec:
            return [_unknown(label, f"{codec}-compressed stream", f"modelreg cannot expand {codec}")]
        try:
            with open(out, "rb") as expanded:
                inner = self.stream(expanded, label, depth + 1)
        finally:
            out.unlink()
        # a compressed module is not importable: the name was judged on the raw bytes already
        return [dataclasses.replace(f, kind=f"{codec}-compressed {f.kind}") if f.file == label else f
                for f in inner if not (f.program and f.file == label)]

    def numpy(self, stream: IO[bytes], label: str) -> list[CodeFile]:
        """An ``.npy`` header (a Python literal, read without numpy); object arrays are pickles."""
        try:
            stream.read(6)
            major = stream.read(1)[0]
            stream.read(1)  # the minor version
            size = struct.unpack("<H" if major == 1 else "<I", stream.read(2 if major == 1 else 4))[0]
            if size > _MAX_JSON:
                return [_unknown(label, "numpy array", f"its .npy header is over {_MAX_JSON:,} bytes")]
            header = ast.literal_eval(stream.read(size).decode("latin1" if major < 3 else "utf-8"))
            descr = header["descr"]
        except (IndexError, struct.error, ValueError, SyntaxError, KeyError, TypeError, MemoryError,
                RecursionError) as exc:
            return [_unknown(label, "numpy array", f"its .npy header does not read ({exc})")]
        if not _has_objects(descr):
            return []
        return [self.pickle(stream, label, "numpy object array")]

    def pickle(self, stream: IO[bytes], label: str, kind: str) -> CodeFile:
        if not self.scan:
            return CodeFile(label, kind)
        import logging

        from picklescan.scanner import SafetyLevel, scan_pickle_bytes

        logging.getLogger("picklescan").disabled = True  # its findings are returned, not logged
        try:
            result = scan_pickle_bytes(stream, label, multiple_pickles=True)
        except Exception as exc:  # any failure of the scanner is a scan that did not finish
            return CodeFile(label, kind, error=f"the scanner failed ({type(exc).__name__}: {exc})",
                            scanned=True)
        imports = sorted({f"{g.module}.{g.name}" for g in result.globals})
        dangerous = sorted({f"{g.module}.{g.name}" for g in result.globals
                            if g.safety == SafetyLevel.Dangerous or _runs_code(g.module, g.name)})
        error = ("the scanner stopped before its end, and what follows could be more pickle (joblib "
                 "writes numpy arrays inside its pickle stream)") if result.scan_err else None
        stream.seek(0)
        if error is None and not _parses_to_its_end(stream):
            # the scanner reads with pickletools, which refuses what pickle.load takes (``I0x1``):
            # a clean report on a stream it could not read is no report
            error = "the scanner could not read it to its end (pickle.load reads it differently)"
        return CodeFile(label, kind, tuple(imports), tuple(dangerous), error, scanned=True)


def _runs_code(module: str, name: str) -> bool:
    """An import picklescan does not list, held dangerous here (see ``_STDLIB_DATA``)."""
    top = module.split(".", 1)[0]
    if top in sys.stdlib_module_names or top in _STDLIB_DATA:
        return name not in _STDLIB_DATA.get(module, set())
    return any(module == m or module.startswith(f"{m}.") for m in _THIRD_PARTY_CODE)


def _is_zip(stream: IO[bytes]) -> bool:
    try:
        return zipfile.is_zipfile(stream)
    finally:
        stream.seek(0)


def _parses_to_its_end(stream: IO[bytes]) -> bool:
    """Whether pickletools reads the stream, pickle after pickle, to its last byte."""
    try:
        while stream.read(1):
            stream.seek(-1, 1)
            for _ in pickletools.genops(stream):
                pass
    except Exception:  # what pickletools raises on what it cannot read
        return False
    return True


def _is_tar(stream: IO[bytes]) -> bool:
    """Whether the stream starts with a tar header ``tarfile`` takes (its checksum right): POSIX,
    GNU and the old V7 headers alike, whatever the magic says."""
    try:
        block = stream.read(tarfile.BLOCKSIZE)
        if len(block) < tarfile.BLOCKSIZE:
            return False
        tarfile.TarInfo.frombuf(block, tarfile.ENCODING, "surrogateescape")
        return True
    except (tarfile.TarError, ValueError, UnicodeError):
        return False
    finally:
        stream.seek(0)


def _loads_past_pickletools(stream: IO[bytes], at: int) -> bool:
    """Whether the opcode at ``at``, which pickletools could not read, is one pickle.load reads:
    INT and LONG take any literal ``int(s, 0)`` takes (``I0x1``), pickletools only decimals."""
    stream.seek(at)
    code, line = stream.read(1), stream.readline()
    if code not in (b"I", b"L") or not line.endswith(b"\n"):
        return False
    text = line[:-1][:-1] if code == b"L" and line[:-1].endswith(b"L") else line[:-1]
    try:
        int(text, 0)
    except ValueError:
        return False
    return True


def _is_pickle(stream: IO[bytes]) -> bool:
    """Whether ``pickle.load`` would act on this stream: its opcodes parse, each finds on the stack
    what it takes (as pickletools' own ``dis`` checks), up to a STOP or up to an opcode that fetches
    or calls code (what runs before a later error has run already). A text file that happens to
    start with an opcode's letter (``import ...``, ``README``) is not a pickle: pickle.load fails
    on it before anything runs."""
    stack: list[bool] = []  # one entry per object on the unpickler's stack; True for a MARK
    memo: set[object] = set()  # the keys stored, as pickletools decodes them
    ops = pickletools.genops(stream)
    at = stream.tell()
    try:
        while (step := next(ops, None)) is not None:
            opcode, arg, _ = step
            before = opcode.stack_before
            takes = len(before)
            if pickletools.markobject in before or (opcode.name == "POP" and stack and stack[-1]):
                if True not in stack:
                    return False  # no MARK to pop to: pickle.load stops here
                while not stack.pop():
                    pass
                takes = before.index(pickletools.markobject) if pickletools.markobject in before else 0
            if len(stack) < takes or True in stack[len(stack) - takes:]:
                return False  # stack underflow
            del stack[len(stack) - takes:]
            if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                memo.add(len(memo) if opcode.name == "MEMOIZE" else arg)
            elif opcode.name in ("GET", "BINGET", "LONG_BINGET") and arg not in memo:
                return False
            after = opcode.stack_after
            stack.extend([True] if pickletools.markobject in after else [False] * len(after))
            if opcode.name in ("GLOBAL", "INST"):
                return all(_DOTTED.fullmatch(part) for part in str(arg).split(" ", 1))
            if opcode.name in _CALLS or opcode.name == "STOP":
                return True
            at = stream.tell()
    except Exception:  # pickletools raises ValueError and others on bytes that are not a pickle
        # ...or on an opcode pickle.load reads more leniently: then it is one, judged as such
        return _loads_past_pickletools(stream, at)
    return False


def _has_objects(descr: Any) -> bool:
    if isinstance(descr, str):
        return "O" in descr
    if isinstance(descr, (list, tuple)):
        return any(_has_objects(d) for d in descr)
    return True  # a dtype numpy's header never writes: not plain data


def _keras(stream: IO[bytes], label: str) -> list[CodeFile]:
    """A Keras ``config.json`` with a ``Lambda`` layer: its function is marshalled Python bytecode."""
    data = stream.read(_MAX_JSON + 1)
    if len(data) > _MAX_JSON:
        return [_unknown(label, "configuration", f"it is over {_MAX_JSON:,} bytes, more than is read")]
    try:
        if not _names_lambda(json.loads(data)):
            return []
    except ValueError:
        return []  # not JSON: not a Keras configuration
    except RecursionError:
        return [_unknown(label, "configuration", "it nests deeper than can be read")]
    return [CodeFile(label, "Keras Lambda layer", ("keras.layers.Lambda",), ("keras.layers.Lambda",))]


def _names_lambda(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("class_name") == "Lambda":
            return True
        return any(_names_lambda(v) for v in node.values())
    if isinstance(node, list):
        return any(_names_lambda(v) for v in node)
    return False


class _NoCodec(Exception):
    """The stream's codec cannot be expanded here (lz4)."""


def _decompressor(stream: IO[bytes], codec: str) -> _Reader:
    if codec == "gzip":
        return gzip.GzipFile(fileobj=stream)
    if codec == "bz2":
        return bz2.BZ2File(stream)
    if codec == "xz":
        return lzma.LZMAFile(stream, format=lzma.FORMAT_XZ)
    if codec == "lzma":
        return lzma.LZMAFile(stream, format=lzma.FORMAT_ALONE)
    if codec == "zlib":
        return _Zlib(stream)
    raise _NoCodec


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Zlib:
    """A zlib stream read in blocks (joblib's ``compress=`` default writes one)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._inflate = zlib.decompressobj()

    def read(self, size: int = -1, /) -> bytes:
        while True:
            if self._inflate.unconsumed_tail:
                data = self._inflate.unconsumed_tail
            else:
                data = self._stream.read(1024 * 1024)
                if not data:
                    return self._inflate.flush()
            out = self._inflate.decompress(data, 1024 * 1024)
            if out or self._inflate.eof:
                return out


def _budget(compressed: int) -> int:
    return min(MAX_EXPANDED, max(MIN_BUDGET, RATIO * compressed))


class _TooLarge(Exception):
    """A member or stream expands beyond its budget (a compression bomb)."""


def _spooled(member: IO[bytes], compressed: int) -> IO[bytes]:
    """An archive member as a seekable file (in memory up to 64 MiB, on disk beyond), expanded to at
    most :func:`_budget` of its compressed size (raises :class:`_TooLarge`)."""
    limit = _budget(compressed)
    spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115 (the caller closes it)
    written = 0
    while block := member.read(1024 * 1024):
        written += len(block)
        if written > limit:
            spool.close()
            raise _TooLarge(f"{limit:,}")
        spool.write(block)
    spool.seek(0)
    return spool
