"""An artifact's format to a predictor, and what each format may do when loaded.

========  ========================================  ============================================
format    loaded with                               runs code from the file?
========  ========================================  ============================================
skops     ``skops.io.loads``                        no; a type outside skops' trusted set loads
                                                    only when named (``--trust-type``)
onnx      ``onnxruntime.InferenceSession`` (CPU)    no
joblib    ``joblib.load``                           yes: only with ``trust_pickle``
pickle    ``joblib.load`` (reads plain pickles too)  yes: only with ``trust_pickle``
========  ========================================  ============================================

The libraries are imported here, when a model is loaded, and come with the ``serve``
extra; a missing one is an error that names the extra.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Protocol

from modelreg.errors import InputError, ModelregError
from modelreg.serve.protocol import Tensor, TensorSpec

EXTRA = "pip install 'modelreg[serve]'"
#: the formats this module serves, with the suffixes that name them when the manifest does not
SUFFIXES = {".skops": "skops", ".onnx": "onnx", ".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle"}
FORMATS = ("skops", "onnx", "joblib", "pickle")
#: formats whose loading runs whatever code the file holds
RUNS_CODE = frozenset({"joblib", "pickle"})
#: import name → distribution name, for the error that says what to install
_PACKAGES = {"numpy": "numpy", "sklearn": "scikit-learn", "skops": "skops", "joblib": "joblib",
             "onnxruntime": "onnxruntime"}
_NEEDS = {"skops": ("numpy", "sklearn", "skops"), "onnx": ("numpy", "onnxruntime"),
          "joblib": ("numpy", "joblib"), "pickle": ("numpy", "joblib")}


class Predictor(Protocol):
    #: what the protocol's model metadata calls the runtime, e.g. "scikit-learn", "onnxruntime_onnx"
    platform: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]

    def infer(self, inputs: list[Tensor], outputs: list[str] | None) -> list[Tensor]:
        """The outputs asked for (None: the defaults); :class:`BadRequest` for input it cannot take."""


@dataclass(frozen=True)
class Loaded:
    predictor: Predictor
    #: types outside skops' default trusted set that were loaded because they were named
    trusted_types: tuple[str, ...] = ()


def artifact_format(artifact: dict[str, Any], source: str) -> str:
    """The format to load ``artifact`` (a manifest's ``artifact:``) as: as declared, else by suffix."""
    if artifact.get("type") == "directory":
        raise InputError(f"{source}: the artifact is a directory; serve loads a single file "
                         f"({', '.join(FORMATS)})", fix="register the model as one skops or ONNX file")
    declared = artifact.get("format")
    fmt = declared if isinstance(declared, str) else SUFFIXES.get(
        PurePosixPath(str(artifact.get("path", ""))).suffix.lower())
    if fmt not in FORMATS:
        what = f"format {fmt!r}" if fmt else f"{artifact.get('path')!r}, whose format is not recorded,"
        raise InputError(f"{source}: the artifact is {what} and cannot be served "
                         f"(served: {', '.join(FORMATS)})",
                         fix="register the model as skops (scikit-learn) or ONNX, with --format if its "
                         "file name does not say")
    return fmt


def check_trust(fmt: str, what: str, *, trust_pickle: bool) -> None:
    """Refuse, before any byte is read, a format that runs code unless the user said to trust it."""
    if fmt in RUNS_CODE and not trust_pickle:
        raise InputError(
            f"{what} is a {fmt} file: loading it runs any code it contains, with your permissions",
            fix="pass --trust-pickle if you trust whoever produced it (its sha256 is checked against the "
            "registry first), or register the model as skops or ONNX, which load without running code")


def load(fmt: str, data: bytes, *, where: str, trust_pickle: bool = False,
         trust_types: tuple[str, ...] = ()) -> Loaded:
    """A predictor for ``data`` (bytes already verified against the manifest)."""
    require(fmt)
    if fmt == "onnx":
        return Loaded(_onnx(data, where))
    if fmt == "skops":
        model, trusted = _skops(data, where, trust_types)
        return Loaded(_sklearn(model, where), trusted)
    check_trust(fmt, where, trust_pickle=trust_pickle)
    return Loaded(_sklearn(_joblib(data, where, fmt), where))


def require(fmt: str) -> None:
    """The libraries ``fmt`` needs are installed, or an error that names the extra."""
    missing = [_PACKAGES[m] for m in _NEEDS[fmt] if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelregError(f"serving {fmt} models needs {', '.join(missing)}, which "
                            f"{'is' if len(missing) == 1 else 'are'} not installed", fix=EXTRA)


def _skops(data: bytes, where: str, trust_types: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    import skops.io

    try:
        untrusted = [str(t) for t in skops.io.get_untrusted_types(data=data)]
    except Exception as exc:  # any library error here means: not a skops file skops can read
        raise InputError(f"{where} is not a skops file skops can read: {_brief(exc)}") from exc
    unnamed = [t for t in untrusted if t not in trust_types]
    if unnamed:
        raise InputError(
            f"{where} holds type(s) skops does not trust by default: {', '.join(unnamed)}",
            fix="review them (skops' documentation says what each can do), then pass --trust-type NAME "
            "for each one you trust")
    try:
        return skops.io.loads(data, trusted=untrusted), tuple(untrusted)
    except ImportError as exc:
        raise ModelregError(f"loading {where} needs the module {exc.name!r}, which is not installed",
                            fix=f"install it (and {EXTRA})") from exc
    except Exception as exc:
        raise InputError(f"{where}: skops could not load it: {_brief(exc)}") from exc


def _joblib(data: bytes, where: str, fmt: str) -> Any:
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except ImportError as exc:
        raise ModelregError(f"loading {where} needs the module {exc.name!r}, which is not installed",
                            fix=f"install it (and {EXTRA})") from exc
    except Exception as exc:  # unpickling can raise anything
        raise InputError(f"{where}: not a {fmt} file joblib can load: {_brief(exc)}") from exc


def _sklearn(model: Any, where: str) -> Predictor:
    if not callable(getattr(model, "predict", None)):
        raise InputError(f"{where} holds a {type(model).__module__}.{type(model).__qualname__}, "
                         "which has no predict()", fix="serve a scikit-learn estimator or pipeline")
    from modelreg.serve.predictors import SklearnPredictor

    return SklearnPredictor(model)


def _onnx(data: bytes, where: str) -> Predictor:
    from modelreg.serve.predictors import OnnxPredictor

    return OnnxPredictor(_onnx_session(data, where))


def _onnx_session(data: bytes, where: str) -> Any:
    import onnxruntime

    try:
        return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own classes for a bad graph
        raise InputError(f"{where}: onnxruntime could not load it: {_brief(exc)}") from exc


def load_object(fmt: str, data: bytes, *, where: str, trust_pickle: bool = False,
                trust_types: tuple[str, ...] = ()) -> Any:
    """The framework's own object for ``data`` (bytes already verified), not a predictor: what
    ``modelreg.load_model`` returns. A scikit-learn estimator for skops, joblib and pickle (the
    last two only with ``trust_pickle``), an ``onnxruntime.InferenceSession`` for ONNX."""
    require(fmt)
    if fmt == "onnx":
        return _onnx_session(data, where)
    if fmt == "skops":
        return _skops(data, where, trust_types)[0]
    check_trust(fmt, where, trust_pickle=trust_pickle)
    return _joblib(data, where, fmt)


def _brief(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
