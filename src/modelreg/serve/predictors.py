"""Predictors: protocol tensors in, numpy arrays to the model, protocol tensors out.

Imported only once a model is loaded: numpy is part of the ``serve`` extra. A model's
refusal of an input that passed the protocol's checks (a string where it wants numbers,
say) is a :class:`BadRequest`; anything else it raises is the server's error (500).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from modelreg.serve.protocol import BadRequest, Tensor, TensorSpec

#: protocol datatype → numpy dtype
NUMPY_TYPES: dict[str, Any] = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64, "BYTES": np.object_,
}
#: onnxruntime's type names → protocol datatype
ORT_TYPES = {
    "tensor(bool)": "BOOL", "tensor(uint8)": "UINT8", "tensor(uint16)": "UINT16", "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64", "tensor(int8)": "INT8", "tensor(int16)": "INT16", "tensor(int32)": "INT32",
    "tensor(int64)": "INT64", "tensor(float16)": "FP16", "tensor(float)": "FP32", "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


def to_array(tensor: Tensor) -> Any:
    return np.array(tensor.data, dtype=NUMPY_TYPES[tensor.datatype]).reshape(tensor.shape)


def datatype_of(dtype: Any) -> str:
    kind, bits = dtype.kind, dtype.itemsize * 8
    if kind == "b":
        return "BOOL"
    if kind in "iu" and bits in (8, 16, 32, 64):
        return f"{'U' if kind == 'u' else ''}INT{bits}"
    if kind == "f":
        return f"FP{bits}" if bits in (16, 32, 64) else "FP64"
    if kind in "USO":
        return "BYTES"
    raise ValueError(f"the model returned an array of dtype {dtype}, which the protocol cannot carry")


def to_tensor(name: str, value: Any) -> Tensor:
    array = np.asarray(value)
    datatype = datatype_of(array.dtype)
    flat = array.reshape(-1)
    data: list[Any]
    if datatype == "BYTES":
        data = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in flat.tolist()]
    elif datatype == "FP64" and array.dtype.itemsize > 8:
        data = flat.astype(np.float64).tolist()
    else:
        data = flat.tolist()
    return Tensor(name, tuple(int(d) for d in array.shape), datatype, data)


#: the datatypes a scikit-learn model's FP64 input takes: each converts to float64 exactly (INT64
#: and UINT64 only for values within ±2**53, checked); BOOL and BYTES are not features
SKLEARN_INPUTS = ("FP64", "FP32", "FP16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32",
                  "UINT64")
_EXACT = 2**53


def _sklearn_input(tensor: Tensor) -> None:
    """Refuse a datatype the scikit-learn model's FP64 input would not take exactly (worded as the
    model's refusal, which is what a string in BYTES met before, then as ONNX's)."""
    if tensor.datatype not in SKLEARN_INPUTS:
        raise BadRequest(f"the model refused the input: input {tensor.name!r} is {tensor.datatype}; "
                         "the model takes FP64 (or a numeric "
                         f"datatype that converts to it exactly: {', '.join(SKLEARN_INPUTS[1:])})")
    if tensor.datatype in ("INT64", "UINT64") and any(abs(v) > _EXACT for v in _flat(tensor.data)):
        raise BadRequest(f"the model refused the input: input {tensor.name!r} is {tensor.datatype} "
                         "with a value beyond ±2**53, which FP64 does not hold exactly; the model takes FP64")


def _flat(data: Any) -> Iterator[Any]:
    for item in data:
        if isinstance(item, list):
            yield from _flat(item)
        else:
            yield item


def _select(asked: list[str] | None, available: list[TensorSpec], default: list[str]) -> list[str]:
    if asked is None:
        return default
    known = [spec.name for spec in available]
    for name in asked:
        if name not in known:
            raise BadRequest(f"the model has no output {name!r} (outputs: {', '.join(known)})")
    return asked


class SklearnPredictor:
    """A scikit-learn estimator or pipeline: one input, rows by features; ``predict``,
    and ``predict_proba`` when asked for by name (as MLServer's scikit-learn runtime does)."""

    platform = "scikit-learn"

    def __init__(self, model: Any) -> None:
        self.model = model
        features = getattr(model, "n_features_in_", None)
        self.features = int(features) if isinstance(features, (int, np.integer)) else None
        classes = getattr(model, "classes_", None)
        label = datatype_of(np.asarray(classes).dtype) if classes is not None else "FP64"
        self.inputs = [TensorSpec("input-0", "FP64", (-1, self.features if self.features else -1))]
        self.outputs = [TensorSpec("predict", label, (-1,))]
        if hasattr(model, "predict_proba"):  # False when a wrapper makes it unavailable
            self.outputs.append(TensorSpec("predict_proba", "FP64",
                                           (-1, len(classes) if classes is not None else -1)))

    def infer(self, inputs: list[Tensor], outputs: list[str] | None) -> list[Tensor]:
        if len(inputs) != 1:
            raise BadRequest(f"this scikit-learn model takes one input (rows by features), not {len(inputs)}")
        tensor = inputs[0]
        _sklearn_input(tensor)
        if self.features is not None and (len(tensor.shape) != 2 or tensor.shape[1] != self.features):
            raise BadRequest(f"input {tensor.name!r} has shape {list(tensor.shape)}; this model takes "
                             f"[rows, {self.features}]")
        features = to_array(tensor)
        out = []
        for name in _select(outputs, self.outputs, ["predict"]):
            try:
                result = getattr(self.model, name)(features)
            except (ValueError, TypeError) as exc:
                raise BadRequest(f"the model refused the input: {_first_line(exc)}") from exc
            out.append(to_tensor(name, result))
        return out


class OnnxPredictor:
    """An ONNX graph in onnxruntime: inputs by name, datatype and shape as the graph declares them."""

    platform = "onnxruntime_onnx"

    def __init__(self, session: Any) -> None:
        self.session = session
        self.inputs = [TensorSpec(i.name, ORT_TYPES.get(i.type, i.type), _dims(i.shape))
                       for i in session.get_inputs()]
        # Outputs that are not tensors (skl2onnx's ZipMap: a list of maps) are not served.
        self.outputs = [TensorSpec(o.name, ORT_TYPES[o.type], _dims(o.shape))
                        for o in session.get_outputs() if o.type in ORT_TYPES]

    def infer(self, inputs: list[Tensor], outputs: list[str] | None) -> list[Tensor]:
        given = {t.name: t for t in inputs}
        wanted = [spec.name for spec in self.inputs]
        extra = sorted(set(given) - set(wanted))
        missing = [n for n in wanted if n not in given]
        if extra or missing:
            raise BadRequest(f"this model takes the inputs {', '.join(map(repr, wanted))}"
                             + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
                             + (f"; unknown {', '.join(map(repr, extra))}" if extra else ""))
        feeds = {}
        for spec in self.inputs:
            tensor = given[spec.name]
            if tensor.datatype != spec.datatype:
                raise BadRequest(f"input {spec.name!r} is {tensor.datatype}; the model takes {spec.datatype}")
            if len(tensor.shape) != len(spec.shape) or any(
                    want not in (-1, got) for want, got in zip(spec.shape, tensor.shape, strict=True)):
                raise BadRequest(f"input {spec.name!r} has shape {list(tensor.shape)}; the model takes "
                                 f"{list(spec.shape)} (-1: any size)")
            feeds[spec.name] = to_array(tensor)
        names = _select(outputs, self.outputs, [spec.name for spec in self.outputs])
        try:
            results = self.session.run(names, feeds)
        except Exception as exc:
            if type(exc).__name__ == "InvalidArgument":  # onnxruntime's class for input it cannot take
                raise BadRequest(f"the model refused the input: {_first_line(exc)}") from exc
            raise
        return [to_tensor(name, value) for name, value in zip(names, results, strict=True)]


def _dims(shape: Any) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (shape or []))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
