"""Safe weights: a policy's ``artifact.code_execution`` at register, in the artifact gate and in serve.

The malicious files are real: pickles whose ``__reduce__`` would create a marker file when
loaded (``os.system`` and ``builtins.exec``), the same in a joblib file (plain and
compressed), inside a PyTorch-style zip built by hand (``archive/data.pkl``), in a numpy
object array, renamed to ``model.safetensors``. Every test also checks that the marker was
never created: the scan reads opcodes, it never unpickles.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from modelreg.edges import weights
from modelreg.errors import InputError, ModelregError
from modelreg.policies.weights import Rule, judge
from tests.helpers import Cli, commit_all, git, metrics_file, snapshot_tree

METRICS = {"roc_auc": 0.97}


class _System:
    """Loading this runs ``os.system`` (pickled as ``posix.system``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (f"touch {self.marker}",)


class _Exec:
    """Loading this runs ``builtins.exec``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "a payload ran: something unpickled the artifact"


def _evil_pickle(marker: Path) -> bytes:
    return pickle.dumps(_System(marker), protocol=2)


def _evil_exec(marker: Path) -> bytes:
    return pickle.dumps(_Exec(marker), protocol=4)


def _joblib(marker: Path, compress: int = 0) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump({"model": _System(marker)}, buffer, compress=compress)
    return buffer.getvalue()


def _torch_zip(marker: Path, member: str = "archive/data.pkl") -> bytes:
    """What ``torch.save`` writes, by hand: a zip whose ``archive/data.pkl`` is the pickle."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, _evil_exec(marker))
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", b"\0" * 64)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def _npy(marker: Path) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Exec(marker)], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _sklearn() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])


def _skops() -> bytes:
    import skops.io

    return bytes(skops.io.dumps(_sklearn()))


def _onnx() -> bytes:
    from skl2onnx import to_onnx

    return bytes(to_onnx(_sklearn(), np.array([[0.0]], dtype=np.float32)).SerializeToString())


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return len(header).to_bytes(8, "little") + header + np.array([1, 2], dtype="<f4").tobytes()


#: name → (file name, bytes builder, the dangerous import the report names)
MALICIOUS: dict[str, tuple[str, Callable[[Path], bytes], str]] = {
    "pickle": ("model.pkl", _evil_pickle, "posix.system"),
    "joblib": ("model.joblib", _joblib, "posix.system"),
    "joblib-zlib": ("model.joblib", lambda m: _joblib(m, compress=3), "posix.system"),
    "pytorch-zip": ("model.pt", _torch_zip, "builtins.exec"),
    "renamed": ("model.safetensors", _evil_exec, "builtins.exec"),
    "numpy-object": ("weights.npy", _npy, "builtins.exec"),
}


def _policy(root: Path, mode: str) -> None:
    (root / "policies" / "default.yaml").write_text(
        f"schema_version: 1\nartifact:\n  code_execution: {mode}\n")


def _register(cli: Cli, root: Path, work: Path, name: str, data: bytes, *, code: int = 0,
              model: str = "fraud") -> Any:
    folder = work / f"{model}-{len(list(work.iterdir()))}"
    folder.mkdir()
    (folder / name).write_bytes(data)
    metrics = metrics_file(folder / "metrics.json", METRICS)
    owner = () if (root / "registry" / model / "model.yaml").exists() else ("--owner", "@acme/fraud-ml")
    return cli("-C", str(root), "register", model, "--artifact", str(folder / name), "--metrics",
               str(metrics), *owner)


# --- register ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(MALICIOUS))
@pytest.mark.parametrize("mode", ["scan", "refuse"])
def test_register_refuses_a_malicious_artifact_and_writes_nothing(
        registry: Path, workdir: Path, cli: Cli, marker: Path, case: str, mode: str) -> None:
    name, build, dangerous = MALICIOUS[case]
    _policy(registry, mode)
    before = snapshot_tree(registry)
    result = _register(cli, registry, workdir, name, build(marker))
    assert result.code == 1, result.out
    assert f"{name}" in result.err and dangerous in result.err, result.err
    assert "nothing was registered" in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert snapshot_tree(registry) == before
    assert not (registry / ".dvc" / "cache").exists() or not any(
        p.is_file() for p in (registry / ".dvc" / "cache").rglob("*"))


def test_register_names_the_member_of_a_zip(registry: Path, workdir: Path, cli: Cli, marker: Path) -> None:
    _policy(registry, "scan")
    err = _register(cli, registry, workdir, "model.bin", _torch_zip(marker, "archive/weights")).err
    assert "model.bin:archive/weights: the pickle imports builtins.exec, which runs code" in err


def test_every_file_of_a_directory_is_inspected(registry: Path, workdir: Path, cli: Cli,
                                                marker: Path) -> None:
    _policy(registry, "scan")
    folder = workdir / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(_safetensors())
    (folder / "config.json").write_text("{}")
    (folder / "sub" / "tokenizer.bin").write_bytes(_evil_pickle(marker))
    metrics = metrics_file(workdir / "m.json", METRICS)
    err = cli.fails("-C", str(registry), "register", "fraud", "--artifact", str(folder), "--metrics",
                    str(metrics), "--owner", "@acme/fraud-ml").err
    assert "model/sub/tokenizer.bin: the pickle imports posix.system" in err


def test_text_that_starts_like_an_opcode_is_not_a_pickle(registry: Path, workdir: Path, cli: Cli) -> None:
    """A README starting with R (REDUCE), code starting with ``import`` (INST) or ``class`` (GLOBAL):
    pickle.load fails on them before anything runs, so ``refuse`` does not call them pickles."""
    _policy(registry, "refuse")
    folder = workdir / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(_safetensors())
    (folder / "README.md").write_text("Run it with transformers.\n")
    (folder / "modeling.py").write_text("import torch\n\n\nclass Model:\n    pass\n")
    (folder / "tokenizer.py").write_text("class Tokenizer:\n    pass\n")
    metrics = metrics_file(workdir / "m.json", METRICS)
    cli.ok("-C", str(registry), "register", "fraud", "--artifact", str(folder), "--metrics", str(metrics),
           "--owner", "@acme/fraud-ml")


@pytest.mark.parametrize(("name", "build"), [("model.skops", _skops), ("model.onnx", _onnx),
                                             ("model.safetensors", _safetensors)])
def test_safe_formats_pass_refuse(registry: Path, workdir: Path, cli: Cli, name: str,
                                  build: Callable[[], bytes]) -> None:
    _policy(registry, "refuse")
    result = _register(cli, registry, workdir, name, build())
    assert result.code == 0, result.err
    assert (registry / "registry/fraud/v1/version.yaml").exists()


def test_a_benign_pickle_passes_scan_and_fails_refuse(registry: Path, workdir: Path, cli: Cli) -> None:
    benign = pickle.dumps(_sklearn())
    _policy(registry, "refuse")
    err = _register(cli, registry, workdir, "model.pkl", benign).err
    assert "model.pkl is a pickle, a format that runs code when loaded (it imports " in err
    assert "sklearn.linear_model._logistic.LogisticRegression" in err
    assert "export the model to safetensors, ONNX or skops" in err
    _policy(registry, "scan")
    assert _register(cli, registry, workdir, "model.pkl", benign).code == 0


def test_refuse_names_a_pickle_the_scanner_cannot_finish_as_a_pickle(registry: Path, workdir: Path,
                                                                     cli: Cli) -> None:
    """Under ``refuse`` a joblib file holding arrays is refused for what it is, not for the scan."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump(_sklearn(), buffer, compress=3)
    _policy(registry, "refuse")
    err = _register(cli, registry, workdir, "model.joblib", buffer.getvalue()).err
    assert "model.joblib is a zlib-compressed pickle, a format that runs code when loaded (it imports " \
        in err, err
    assert "joblib.numpy_pickle.NumpyArrayWrapper" in err


def test_allow_keeps_todays_behaviour(registry: Path, workdir: Path, cli: Cli, marker: Path) -> None:
    """No rule (the default, ``allow``): registered as before, nothing inspected."""
    assert _register(cli, registry, workdir, "model.pkl", _evil_pickle(marker)).code == 0


def test_a_scan_that_cannot_run_fails_closed(registry: Path, workdir: Path, cli: Cli,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """picklescan not installed (the import fails): ``scan`` refuses, naming the extra to install;
    ``refuse`` needs no scanner to refuse a pickle."""
    monkeypatch.setitem(sys.modules, "picklescan", None)
    monkeypatch.setitem(sys.modules, "picklescan.scanner", None)
    benign = pickle.dumps({"weights": [1.0, 2.0]})
    _policy(registry, "scan")
    err = _register(cli, registry, workdir, "model.pkl", benign).err
    assert "needs picklescan to scan model.pkl" in err and "pip install 'modelreg[scan]'" in err
    _policy(registry, "refuse")
    err = _register(cli, registry, workdir, "model.pkl", benign).err
    assert "model.pkl is a pickle, a format that runs code when loaded" in err


# --- the artifact gate ------------------------------------------------------------------------

@pytest.fixture
def feature(registry: Path, cli: Cli) -> Path:
    """main with ``code_execution: scan``; a feature branch off it."""
    _policy(registry, "scan")
    commit_all(registry, "Scan artifacts for code")
    git(registry, "switch", "-q", "-c", "feature")
    return registry


@pytest.mark.parametrize("case", ["pickle", "joblib-zlib", "pytorch-zip", "renamed"])
def test_the_gate_refuses_what_the_base_policy_refuses(feature: Path, workdir: Path, cli: Cli,
                                                       marker: Path, case: str) -> None:
    """The pull request relaxes the policy to ``allow`` and registers a malicious artifact: the
    base's ``scan`` still judges it, on the bytes the gate downloads."""
    name, build, dangerous = MALICIOUS[case]
    _policy(feature, "allow")
    assert _register(cli, feature, workdir, name, build(marker)).code == 0
    commit_all(feature, "Register fraud v1")
    report = cli.fails("-C", str(feature), "check", "--head", "--gate", "artifact", "--format",
                       "json").json
    findings = [f for g in report["gates"].values() for f in g["findings"]]
    assert any(f["file"] == "registry/fraud/v1/version.yaml" and name in f["message"]
               and dangerous in f["message"] for f in findings), findings
    text = cli.fails("-C", str(feature), "check", "--head", "--gate", "artifact").out
    assert f"fraud v1: {name}" in text and dangerous in text and "policy default (on main)" in text


def test_a_pull_request_cannot_relax_the_rule_for_an_existing_model(feature: Path, workdir: Path, cli: Cli,
                                                                   marker: Path) -> None:
    git(feature, "switch", "-q", "main")
    assert _register(cli, feature, workdir, "model.skops", _skops()).code == 0
    commit_all(feature, "Register fraud v1")
    git(feature, "switch", "-q", "feature")
    git(feature, "merge", "-q", "main")
    (feature / "policies" / "lenient.yaml").write_text("schema_version: 1\n")
    model = feature / "registry/fraud/model.yaml"
    model.write_text(model.read_text() + "policy: lenient\n")
    assert _register(cli, feature, workdir, "model.pt", _torch_zip(marker)).code == 0
    out = cli.fails("-C", str(feature), "check", "--gate", "artifact").out
    assert "fraud v2: model.pt:archive/data.pkl: the pickle imports builtins.exec" in out
    assert "policy default (on main)" in out


def test_the_gate_refuses_what_the_head_policy_refuses(registry: Path, workdir: Path, cli: Cli,
                                                       marker: Path) -> None:
    git(registry, "switch", "-q", "-c", "feature")
    assert _register(cli, registry, workdir, "model.npy", _npy(marker)).code == 0
    _policy(registry, "refuse")
    out = cli.fails("-C", str(registry), "check", "--gate", "artifact").out
    assert "fraud v1: model.npy: the numpy object array imports builtins.exec" in out


def test_the_gate_inspects_even_when_sha256_checks_are_off(feature: Path, workdir: Path, cli: Cli,
                                                           marker: Path) -> None:
    """Skipping the sha256 download (``check.verify_sha256: false``) does not skip the scan: the
    policy needs the bytes."""
    git(feature, "switch", "-q", "main")
    config = feature / "modelreg.yaml"
    config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()),
                                      "check": {"verify_sha256": False}}))
    commit_all(feature, "No sha256 downloads")
    git(feature, "switch", "-q", "feature")
    git(feature, "merge", "-q", "main")
    _policy(feature, "allow")
    assert _register(cli, feature, workdir, "model.pkl", _evil_pickle(marker)).code == 0
    out = cli.fails("-C", str(feature), "check", "--gate", "artifact").out
    assert "model.pkl: the pickle imports posix.system" in out
    assert "sha256 of fraud v1 not verified" not in out  # it was downloaded, and so verified


def test_the_gate_fails_closed_without_its_scanner(feature: Path, workdir: Path, cli: Cli,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert _register(cli, feature, workdir, "model.pkl", pickle.dumps({"w": [1.0]})).code == 0
    monkeypatch.setitem(sys.modules, "picklescan", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "picklescan.scanner", None)
    out = cli.fails("-C", str(feature), "check", "--gate", "artifact").out
    assert "fraud v1 cannot be scanned: artifact.code_execution: scan in policy default needs " \
        "picklescan, which is not installed; pip install 'modelreg[scan]'" in out


def test_the_gate_passes_a_clean_artifact_and_says_nothing_was_skipped(feature: Path, workdir: Path,
                                                                       cli: Cli) -> None:
    assert _register(cli, feature, workdir, "model.skops", _skops()).code == 0
    out = cli.ok("-C", str(feature), "check", "--gate", "artifact").out
    assert "note:" not in out


def test_offline_says_the_artifact_was_not_inspected(feature: Path, workdir: Path, cli: Cli) -> None:
    assert _register(cli, feature, workdir, "model.skops", _skops()).code == 0
    out = cli.ok("-C", str(feature), "check", "--gate", "artifact", "--offline").out
    assert "fraud v1 was not inspected for code that runs when it is loaded (--offline)" in out


# --- serve ------------------------------------------------------------------------------------

def test_serve_honours_a_policy_that_refuses_code(feature: Path, workdir: Path, cli: Cli) -> None:
    """``--trust-pickle`` does not outrank the policy; under ``scan`` the bytes are scanned first."""
    import joblib

    from modelreg.serve.model import open_model

    buffer = io.BytesIO()
    joblib.dump(_sklearn(), buffer)
    _policy(feature, "allow")
    assert _register(cli, feature, workdir, "model.joblib", buffer.getvalue()).code == 0
    _policy(feature, "refuse")
    commit_all(feature, "v1")
    with pytest.raises(InputError, match=r"joblib file, which runs code when loaded, and "
                       r"artifact.code_execution: refuse in policy default refuses"):
        open_model(feature, "models:/fraud/1", trust_pickle=True)
    _policy(feature, "scan")
    commit_all(feature, "scan")
    # joblib writes numpy arrays inside its pickle stream: no scanner reads past them, so it fails closed
    with pytest.raises(InputError, match="could not be inspected: the scanner stopped before its end"):
        open_model(feature, "models:/fraud/1", trust_pickle=True)
    with pytest.MonkeyPatch.context() as patch:  # as if picklescan were not installed
        patch.setitem(sys.modules, "picklescan", None)
        patch.setitem(sys.modules, "picklescan.scanner", None)
        with pytest.raises(ModelregError, match=r"needs picklescan to scan the artifact before it is loaded"):
            open_model(feature, "models:/fraud/1", trust_pickle=True)
    _policy(feature, "allow")
    commit_all(feature, "allow")
    assert open_model(feature, "models:/fraud/1", trust_pickle=True).version == 1


# --- the inspection itself --------------------------------------------------------------------

def _inspect(tmp_path: Path, name: str, data: bytes, scan: bool = True) -> list[weights.CodeFile]:
    path = tmp_path / name
    path.write_bytes(data)
    return weights.inspect(path, name, scan=scan)


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


#: pickles that beat some scanners (docs/policies.md says which), and the import each must name
EVASIONS: dict[str, tuple[bytes, str]] = {
    # the module and name memoised, then fetched back for STACK_GLOBAL
    "memo": (b"\x80\x04" + _u("builtins") + b"\x94" + _u("exec") + b"\x94h\x00h\x01\x93" + _u("1") +
             b"\x85R.", "builtins.exec"),
    # a harmless pickle first; loaders that read several (joblib, old torch) run the second
    "second pickle": (pickle.dumps({"a": 1}) + b"cposix\nsystem\n(Vtrue\ntR.", "posix.system"),
    # broken after the call: pickle.load has run it before it fails
    "truncated": (b"cposix\nsystem\n(Vtrue\ntR\xff\xff", "posix.system"),
    # standard-library callables that are not on picklescan's deny-list
    "importlib": (b"\x80\x04" + _u("importlib") + _u("import_module") + b"\x93" + _u("os") + b"\x85R.",
                  "importlib.import_module"),
    "fork_exec": (b"\x80\x04" + _u("_posixsubprocess") + _u("fork_exec") + b"\x93" + _u("x") + b"\x85R.",
                  "_posixsubprocess.fork_exec"),
    "code": (b"\x80\x04" + _u("code") + _u("InteractiveInterpreter") + b"\x93)R.",
             "code.InteractiveInterpreter"),
    "torch.hub": (b"\x80\x04" + _u("torch.hub") + _u("load") + b"\x93" + _u("x") + b"\x85R.",
                  "torch.hub.load"),
}


@pytest.mark.parametrize("case", sorted(EVASIONS))
def test_evasions_are_named(tmp_path: Path, case: str) -> None:
    data, dangerous = EVASIONS[case]
    [found] = _inspect(tmp_path, "model.bin", data)
    assert dangerous in found.dangerous, found


@pytest.mark.parametrize("codec", ["gzip", "bz2", "xz", "lzma"])
def test_compressed_joblib_files_are_expanded(tmp_path: Path, marker: Path, codec: str) -> None:
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump(_System(marker), path, compress=(codec, 3))
    [found] = weights.inspect(path, path.name, scan=True)
    assert found.kind == f"{codec}-compressed pickle" and found.dangerous == ("posix.system",)


def test_a_pickle_after_a_joblib_array_fails_closed(tmp_path: Path, marker: Path) -> None:
    """joblib writes arrays inside the pickle stream, where picklescan stops: what follows (here
    the payload) is unread, so the scan reports it could not finish, and is refused."""
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump([np.arange(100.0), _System(marker)], path)
    [found] = weights.inspect(path, path.name, scan=True)
    assert found.error is not None and "stopped before its end" in found.error
    assert judge(Rule("scan", ("p",)), [found])


def test_a_zip_that_does_not_read_fails_closed(tmp_path: Path, marker: Path) -> None:
    """A zip member with a wrong CRC (PyTorch's reader ignores it) cannot be inspected: refused."""
    data = bytearray(_torch_zip(marker))
    central = data.find(b"PK\x01\x02")
    data[14:18] = data[central + 16:central + 20] = b"\0\0\0\0"
    found = _inspect(tmp_path, "model.pt", bytes(data))
    assert any(f.error and f.file == "model.pt:archive/data.pkl" for f in found), found
    assert judge(Rule("scan", ("p",)), found)


def test_a_pickle_in_a_tar_is_found(tmp_path: Path, marker: Path) -> None:
    """``torch.load`` still reads PyTorch's oldest format: a tar whose ``pickle`` member it unpickles.
    Compressed as well, to show the two compose."""
    import tarfile

    payload = _evil_pickle(marker)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("pickle")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    for name, data in (("model.pt", buffer.getvalue()), ("model.tar.gz", gzip.compress(buffer.getvalue()))):
        [found] = _inspect(tmp_path, name, data)
        assert found.file == f"{name}:pickle" and found.dangerous == ("posix.system",), found


def test_a_v7_tar_without_the_ustar_magic_is_opened(tmp_path: Path, marker: Path) -> None:
    """tarfile (and so torch's legacy loader) reads an old V7 header, which has no ``ustar``."""
    import tarfile

    payload = _evil_pickle(marker)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("storages")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    data = bytearray(buffer.getvalue())
    data[257:265] = b"\0" * 8  # no magic, no version: a V7 header
    data[148:156] = b" " * 8
    data[148:155] = f"{sum(data[:512]):06o}\0".encode()
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as archive:
        assert archive.getnames() == ["storages"]
    [found] = _inspect(tmp_path, "model.pt", bytes(data))
    assert found.file == "model.pt:storages" and found.dangerous == ("posix.system",), found


@pytest.mark.parametrize("literal", [b"I0x1\n0", b"L0o7L\n0"])
def test_a_pickle_pickletools_cannot_read_but_pickle_can_is_refused(tmp_path: Path, marker: Path,
                                                                     literal: bytes) -> None:
    """pickle.load reads INT and LONG with ``int(s, 0)``, pickletools (and so the scanner) only
    decimals: such a stream is a pickle all the same, and a scan that could not read it fails."""
    data = literal + _evil_pickle(marker)
    [found] = _inspect(tmp_path, "model.pkl", data)
    assert found.kind == "pickle"
    assert judge(Rule("refuse", ("p",)), [found])
    [scanned] = weights.inspect_bytes(data, "model.pkl", scan=True)
    assert "could not read it to its end" in str(scanned.error)
    assert judge(Rule("scan", ("p",)), [scanned])


def test_a_bz2_stream_that_is_also_a_pickle_is_judged_as_both(tmp_path: Path, marker: Path) -> None:
    """``BZh`` starts a bz2 stream, and is BINBYTES to pickle.load (its length the next four bytes,
    some 390 MB: a sparse file here): both readings are judged, the pickle's payload found."""
    import bz2
    import struct

    empty = bz2.compress(b"")  # a whole bz2 stream of nothing, which bz2 readers stop after
    length = struct.unpack("<I", empty[1:5])[0]
    path = tmp_path / "model.pkl"
    with open(path, "wb") as file:
        file.write(empty)
        file.seek(5 + length)  # the bytes BINBYTES takes: the stream, then zeros (a hole)
        file.write(b"0" + _evil_pickle(marker))  # POP, then the payload
    found = weights.inspect(path, "model.pkl", scan=True)
    assert any(f.kind == "pickle" and f.dangerous == ("posix.system",) for f in found), found


def test_a_pickle_that_is_also_a_zip_is_judged_as_both(tmp_path: Path, marker: Path) -> None:
    """A polyglot: pickle.load reads its start, a zip reader its end."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("weights.safetensors", _safetensors())
    found = _inspect(tmp_path, "model.pt", _evil_pickle(marker) + buffer.getvalue())
    assert [f.dangerous for f in found] == [("posix.system",)], found


def test_a_compression_bomb_is_not_expanded_past_its_budget(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream (or zip member) that expands past RATIO times its size and MIN_BUDGET is refused
    unread: the machine that checks it keeps its disk. The budget is lowered to keep the test small."""
    monkeypatch.setattr(weights, "MIN_BUDGET", 1024 * 1024)
    zeros = b"\0" * (8 * 1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", zeros)
    for name, data in (("model.joblib", zlib.compress(zeros)), ("model.pt", buffer.getvalue())):
        [found] = _inspect(tmp_path, name, data)
        assert found.error is not None and "expands beyond" in found.error, found
        assert judge(Rule("scan", ("p",)), [found])


def test_a_configuration_too_deep_to_read_fails_closed(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "[" * 100_000 + "]" * 100_000)
    [found] = _inspect(tmp_path, "model.keras", buffer.getvalue())
    assert found.unknown and found.error == "it nests deeper than can be read"
    assert judge(Rule("scan", ("p",)), [found])


def test_a_keras_lambda_layer_is_code(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__"}}}]}}))
        archive.writestr("metadata.json", "{}")
    [found] = _inspect(tmp_path, "model.keras", buffer.getvalue())
    assert found.kind == "Keras Lambda layer" and found.dangerous == ("keras.layers.Lambda",)
    assert judge(Rule("scan", ("p",)), [found])


@pytest.mark.parametrize(("name", "build"), [("model.skops", _skops), ("model.onnx", _onnx),
                                             ("model.safetensors", _safetensors)])
def test_safe_formats_hold_no_code(tmp_path: Path, name: str, build: Callable[[], bytes]) -> None:
    assert _inspect(tmp_path, name, build()) == []


def test_a_numeric_npy_is_plain_data(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(10.0))
    assert _inspect(tmp_path, "w.npy", buffer.getvalue()) == []


def test_promoting_a_version_the_rule_refuses_fails(registry: Path, workdir: Path, cli: Cli,
                                                    marker: Path) -> None:
    """A pickle registered before main's policy set ``refuse`` cannot be promoted afterwards: the
    artifact gate judges the bytes of the version an alias moves to, not only of new ones."""
    from tests.helpers import set_aliases

    assert _register(cli, registry, workdir, "model.pkl", _evil_pickle(marker)).code == 0
    commit_all(registry, "Register fraud v1, before the rule")
    _policy(registry, "refuse")
    commit_all(registry, "Refuse code in artifacts")
    git(registry, "switch", "-q", "-c", "feature")
    set_aliases(registry, "fraud", {"production": 1})
    commit_all(registry, "Promote fraud v1")
    text = cli.fails("-C", str(registry), "check", "--head", "--gate", "artifact").out
    assert "fraud v1: model.pkl" in text and "refuse" in text
    assert not marker.exists()


def test_deploy_refuses_what_the_rule_refuses(registry: Path, workdir: Path, cli: Cli, marker: Path,
                                              tmp_path: Path) -> None:
    """A pickle promoted on main past the gate (the rule set after it was registered): deploy
    judges the bytes it fetched before any target sees them, and refuses; nothing is served."""
    from tests.helpers import set_aliases

    assert _register(cli, registry, workdir, "model.pkl", _evil_pickle(marker)).code == 0
    commit_all(registry, "Register fraud v1, before the rule")
    _policy(registry, "refuse")
    config = registry / "modelreg.yaml"
    doc = yaml.safe_load(config.read_text())
    doc["environments"] = {"production": {"alias": "production", "targets": [
        {"type": "directory", "path": str(tmp_path / "srv")}]}}
    config.write_text(yaml.safe_dump(doc))
    commit_all(registry, "Refuse code in artifacts; serve production")
    set_aliases(registry, "fraud", {"production": 1})
    commit_all(registry, "Promote fraud v1 (past the gate)")
    result = cli("-C", str(registry), "deploy", "--json")
    assert result.code == 1, result.out + result.err
    [step] = result.json["deployments"]
    assert step["outcome"] == "refused" and "model.pkl" in step["message"], step
    assert not (tmp_path / "srv" / "fraud").exists() and not marker.exists()


# --- code Python imports, and MLmodel paths ------------------------------------------------------

def _pyc() -> bytes:
    import importlib.util

    # a .pyc's header (magic, flags, date, size), then what would be its code object
    return importlib.util.MAGIC_NUMBER + b"\0" * 12 + b"\xe3" + b"\0" * 32


def _pe() -> bytes:
    header = bytearray(b"MZ" + b"\0" * 0x3E)
    header[0x3C:0x40] = (0x40).to_bytes(4, "little")
    return bytes(header) + b"PE\0\0" + b"\0" * 20


MLMODEL = "flavors:\n  python_function:\n    loader_module: evilmod\n    code: code\n"

#: name → (files of the directory, the file the refusal names, what it says the file is)
CODE: dict[str, tuple[dict[str, Callable[[], bytes]], str, str]] = {
    "mlflow-pyc": ({"MLmodel": MLMODEL.encode, "code/evilmod.pyc": _pyc}, "code/evilmod.pyc",
                   "compiled Python module"),
    "renamed-pyc": ({"weights.bin": _pyc}, "weights.bin", "compiled Python module"),
    "elf": ({"weights.bin": lambda: b"\x7fELF\x02\x01\x01" + b"\0" * 57}, "weights.bin",
            "native library (ELF)"),
    "mach-o": ({"weights.bin": lambda: b"\xcf\xfa\xed\xfe" + b"\0" * 60}, "weights.bin",
               "native library (Mach-O)"),
    "pe": ({"weights.bin": _pe}, "weights.bin", "native library (PE)"),
    "so-by-name": ({"ext.cpython-311-x86_64-linux-gnu.so": lambda: b"not elf"},
                   "ext.cpython-311-x86_64-linux-gnu.so", "by its name"),
    "mlflow-source": ({"MLmodel": MLMODEL.encode, "code/evilmod.py": b"import os\n".__bytes__},
                      "code/evilmod.py", "Python source"),
    "mlflow-pth": ({"MLmodel": MLMODEL.encode, "code/x.pth": b"import os\n".__bytes__}, "code/x.pth",
                   "Python path file"),
    "zipped-pyc": ({"MLmodel": MLMODEL.encode, "code/lib.zip": lambda: _zipped("evilmod.pyc", _pyc())},
                   "code/lib.zip:evilmod.pyc", "compiled Python module"),
}


def _zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _directory(work: Path, files: dict[str, Callable[[], bytes]] | dict[str, bytes]) -> Path:
    folder = work / f"model-{len(list(work.iterdir()))}"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data() if callable(data) else data)
    return folder


def _register_dir(cli: Cli, root: Path, folder: Path) -> Any:
    metrics = metrics_file(folder.parent / f"{folder.name}.json", METRICS)
    owner = () if (root / "registry/fraud/model.yaml").exists() else ("--owner", "@acme/fraud-ml")
    return cli("-C", str(root), "register", "fraud", "--artifact", str(folder), "--metrics", str(metrics),
               *owner)


@pytest.mark.parametrize("case", sorted(CODE))
@pytest.mark.parametrize("mode", ["scan", "refuse"])
def test_code_python_imports_is_code(registry: Path, workdir: Path, cli: Cli, case: str, mode: str) -> None:
    """Compiled and native modules by their bytes (whatever their name), extension modules by name,
    and in an MLflow directory Python source too: refused by ``refuse`` and by ``scan`` (no
    scanner reads them)."""
    files, name, kind = CODE[case]
    _policy(registry, mode)
    before = snapshot_tree(registry)
    result = _register_dir(cli, registry, _directory(workdir, files))
    assert result.code == 1, result.out
    assert name in result.err and kind in result.err and "nothing was registered" in result.err, result.err
    assert snapshot_tree(registry) == before


def test_allow_lets_code_through(registry: Path, workdir: Path, cli: Cli) -> None:
    files, _, _ = CODE["mlflow-pyc"]
    _policy(registry, "allow")
    assert _register_dir(cli, registry, _directory(workdir, files)).code == 0


@pytest.mark.parametrize("path", ["/tmp/other.pkl", "../../../../.dvc/cache/files/md5/00/1",
                                  "data/../../x", "C:\\\\model.pkl"])
@pytest.mark.parametrize("mode", ["allow", "scan", "refuse"])
def test_an_mlmodel_path_outside_the_directory_is_refused_whatever_the_rule(
        registry: Path, workdir: Path, cli: Cli, path: str, mode: str) -> None:
    _policy(registry, mode)
    mlmodel = ("flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
               f"    model_path: model.skops\n    artifacts:\n      extra: {{path: {json.dumps(path)}}}\n")
    folder = _directory(workdir, {"MLmodel": mlmodel.encode(), "model.skops": _skops()})
    before = snapshot_tree(registry)
    result = _register_dir(cli, registry, folder)
    assert result.code == 1, result.out
    assert "MLmodel names" in result.err and "outside the model directory" in result.err, result.err
    assert snapshot_tree(registry) == before


def test_an_mlmodel_with_paths_inside_passes(registry: Path, workdir: Path, cli: Cli) -> None:
    _policy(registry, "refuse")
    mlmodel = ("flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
               "    model_path: model.skops\n    data: ./sub/../model.skops\n    python_version: 3.11.0\n")
    folder = _directory(workdir, {"MLmodel": mlmodel.encode(), "model.skops": _skops()})
    assert _register_dir(cli, registry, folder).code == 0


def test_the_gate_refuses_a_compiled_module(feature: Path, workdir: Path, cli: Cli) -> None:
    files, _, _ = CODE["renamed-pyc"]
    _policy(feature, "allow")
    assert _register_dir(cli, feature, _directory(workdir, files)).code == 0
    commit_all(feature, "Register fraud v1")
    out = cli.fails("-C", str(feature), "check", "--head", "--gate", "artifact").out
    assert "weights.bin is a compiled Python module, which runs code when imported" in out, out
