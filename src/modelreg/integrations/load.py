"""``modelreg.load_model``: a version's artifact, verified, as its framework's own object.

========================  ==========================================  ======================
artifact                  returned                                    runs code from it?
========================  ==========================================  ======================
skops file                the scikit-learn estimator                  no (``trust_types``
                                                                      names types outside
                                                                      skops' trusted set)
ONNX file                 an ``onnxruntime.InferenceSession``         no
joblib / pickle file      whatever it unpickles                       yes: ``trusted=True``
MLflow model directory    ``mlflow.pyfunc.load_model``'s model        when it holds pickles,
                                                                      Python source, compiled
                                                                      or native modules:
                                                                      ``trusted=True``
========================  ==========================================  ======================

The formats are ``serve``'s (``serve/loaders.py``) and so are the checks: the bytes are
verified by sha256 (and by signature where the model's policy requires one) before a loader
sees them, and the policy's ``artifact.code_execution`` outranks ``trusted``: ``refuse``
refuses any file that runs code, ``scan`` scans the very bytes about to be loaded (and refuses
code no scanner reads). An MLmodel whose flavours name a path that is absolute or leaves the
directory is refused whatever ``trusted`` says: MLflow would load a file nobody verified.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelreg.api import Registry, load_path
from modelreg.errors import InputError, IntegrityError, ModelregError
from modelreg.policies.weights import SAFE_FORMATS, Rule, judge
from modelreg.read.catalog import ModelVersion
from modelreg.serve import loaders, locate, safety

if TYPE_CHECKING:
    from modelreg.edges.weights import CodeFile

MLFLOW = "mlflow"


def load_model(uri: str, *, registry: str | os.PathLike[str] = ".", trusted: bool = False,
               trust_types: Sequence[str] = ()) -> Any:
    """Resolve ``uri`` (``models:/M@alias``, ``models:/M/3``, ``models:/M/latest``), verify the
    artifact's bytes, and return the loaded model (see the module's table).

    ``trusted=True`` is your word that you trust whoever produced a format that runs code when
    loaded (joblib, pickle, an MLflow directory holding either); without it such an artifact
    is refused before a byte of it is read. ``trust_types`` names the types outside skops'
    trusted set that a skops file may load (``serve --trust-type``).
    """
    reg = Registry(registry)
    mv = reg.resolve(uri)
    rule = safety.rule_for(reg, mv)
    if mv.artifact.get("type") == "directory":
        return _directory(reg, mv, rule, trusted=trusted)
    fmt = loaders.artifact_format(mv.artifact, mv.source)
    safety.check_format(rule, fmt, mv.uri)
    if fmt in loaders.RUNS_CODE and not trusted:
        raise _untrusted(mv, f"a {fmt} file")
    loaders.require(fmt)  # before fetching: a missing library is known without the bytes
    data = locate.read_verified(reg, locate.Servable(mv, None, "the DVC remote"))
    name = str(mv.artifact.get("path") or mv.uri)
    if fmt in loaders.RUNS_CODE:
        safety.check_bytes(rule, data, name, mv.uri)
    return loaders.load_object(fmt, data, where=f"{mv.uri} ({name})", trust_pickle=trusted,
                               trust_types=tuple(trust_types))


def _directory(reg: Registry, mv: ModelVersion, rule: Rule, *, trusted: bool) -> Any:
    """An MLflow model directory: fetched and verified whole (``load_path``), judged by what its
    files run, loaded by MLflow."""
    if mv.artifact.get("format") != MLFLOW:
        raise InputError(f"{mv.source}: the artifact is a directory of format "
                         f"{mv.artifact.get('format') or 'unrecorded'}; load_model loads an MLflow model "
                         "directory, or one skops, ONNX, joblib or pickle file",
                         fix="use modelreg.load_path for the directory and load it yourself")
    path = load_path(mv.uri, registry=reg.root)
    _signed(reg, mv, path)
    found = code_files(path, rule, mv.uri)
    escaping = [f for f in found if f.outside]
    if escaping:  # never loaded, trusted or not: the file it names was never verified
        problem = judge(rule, escaping)[0]
        raise InputError(f"{mv.uri}: {problem.message}; it was not loaded", fix=problem.fix)
    if found and not trusted:
        raise _untrusted(mv, f"an MLflow model directory holding {', '.join(f.file for f in found[:3])}"
                         f"{' and more' if len(found) > 3 else ''}")
    problems = judge(rule, found)
    if problems:
        raise InputError(f"{mv.uri}: {problems[0].message}; it was not loaded", fix=problems[0].fix)
    from modelreg.integrations.mlflow import pyfunc

    return pyfunc.load(path)


def code_files(path: Path, rule: Rule, what: str) -> list[CodeFile]:
    """The files of the MLflow directory (or the file) at ``path`` that run code when MLflow loads
    it (``edges/weights.py``, by content: pickles, compiled and native modules, Python source, and
    an ``MLmodel`` naming a path outside the directory); scanned when ``rule`` asks."""
    from modelreg.edges import weights

    try:
        return weights.inspect(path, path.name, scan=rule.scans)
    except weights.ScannerMissing:
        raise ModelregError(f"{what}: {rule.named()} needs picklescan to scan the artifact before it "
                            "is loaded, and it is not installed", fix=weights.EXTRA) from None


def _signed(reg: Registry, mv: ModelVersion, path: Path) -> None:
    """Where the model's policy requires signing, the bundle verified on the copy to be loaded."""
    from modelreg.policies import signing

    verdict = signing.verify_version(reg.catalog.snapshot, mv.model, mv.version, mv.data, path)
    if not verdict.ok:
        raise IntegrityError(f"{mv.uri}: signature not verified, {verdict.problem}; refusing to load it",
                             fix="its policy requires signing: load a signed version, or restore its bundle")


def _untrusted(mv: ModelVersion, what: str) -> InputError:
    return InputError(f"{mv.uri} is {what}: loading it runs any code it contains, with your permissions",
                      fix="pass trusted=True if you trust whoever produced it (its sha256 is checked against "
                      f"the registry first), or register the model as {SAFE_FORMATS}, which load without "
                      "running code")
