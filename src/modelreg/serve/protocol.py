"""The Open Inference Protocol (KServe's v2, also spoken by Triton and MLServer), over HTTP.

Pure functions and records: a request body in, a validated :class:`InferRequest` out, or a
:class:`BadRequest` saying what is wrong with it; records out as the protocol's JSON, with
the binary tensor data extension (:mod:`modelreg.serve.binary`) both ways. No numpy and no
model here: the loaders turn tensors into arrays.

A request is checked strictly, because it comes from the network: JSON only, finite numbers,
known keys, datatypes from the protocol's list, every element of the datatype it claims
(integers in range), a shape whose element count matches the data, nested data laid out
exactly as the shape says, binary data of exactly the size its shape and datatype take, and
parameter values of the types the protocol allows (string, integer, number, boolean).

Beside the protocol's fields a request may carry the ones real clients send: ``model_name``
(KServe's ``InferRequest.to_rest``) and ``model_version``; each must name what the URL names.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelreg.errors import InputError
from modelreg.serve import binary

#: integer datatypes and their ranges
INT_RANGES: dict[str, tuple[int, int]] = {
    "UINT8": (0, 2**8 - 1), "UINT16": (0, 2**16 - 1), "UINT32": (0, 2**32 - 1), "UINT64": (0, 2**64 - 1),
    "INT8": (-(2**7), 2**7 - 1), "INT16": (-(2**15), 2**15 - 1), "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1),
}
#: float datatypes and the largest finite magnitude each holds
FLOAT_MAX: dict[str, float] = {"FP16": 65504.0, "FP32": 3.4028234663852886e38, "FP64": 1.7976931348623157e308}
DATATYPES = frozenset({"BOOL", "BYTES", *INT_RANGES, *FLOAT_MAX})

MAX_INPUTS = 64
MAX_DIMS = 8
MAX_NAME = 256
MAX_PARAMETERS = 64
#: the protocol's parameter values: string, int64, double, boolean
_INT64 = INT_RANGES["INT64"]
#: fields of a request that are not the protocol's but that real clients send (KServe's client)
CLIENT_FIELDS = frozenset({"model_name", "model_version"})
#: parameters of Triton's extensions this server does not implement; ignoring them would answer wrongly
_UNSUPPORTED = {"shared_memory_region": "shared memory", "shared_memory_byte_size": "shared memory",
                "shared_memory_offset": "shared memory", "classification": "the classification extension"}


class BadRequest(InputError):
    """A request the protocol or the model cannot take: answered with ``status``, never a traceback."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Tensor:
    """A tensor as the protocol carries it: ``data`` flat, in row-major order."""

    name: str
    shape: tuple[int, ...]
    datatype: str
    data: list[Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "datatype": self.datatype, "data": self.data}


@dataclass(frozen=True)
class TensorSpec:
    """An input or output a model declares; -1 in ``shape`` is any size."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    inputs: list[Tensor]
    #: the outputs asked for by name (None: the model's defaults)
    outputs: list[str] | None
    #: ``parameters.binary_data_output``: every output in binary unless it says otherwise
    binary_default: bool = False
    #: ``parameters.binary_data`` of the outputs asked for, where given
    binary_outputs: dict[str, bool] = field(default_factory=dict)
    #: what the body names beside the URL (KServe's client sends ``model_name``)
    model_name: str | None = None
    model_version: str | None = None

    def binary(self, output: str) -> bool:
        """Whether ``output`` is answered as binary data (the extension) rather than JSON."""
        return self.binary_outputs.get(output, self.binary_default)


class _Cursor:
    """The binary part of a body, handed out to the inputs in their order."""

    def __init__(self, data: memoryview | None) -> None:
        self.data = data
        self.offset = 0

    def take(self, size: int, where: str) -> memoryview:
        if self.data is None:
            raise BadRequest(f"{where} has parameters.binary_data_size but the request has no binary part: "
                             f"send the {binary.HEADER} header with the length of the JSON")
        left = len(self.data) - self.offset
        if size > left:
            raise BadRequest(f"{where}: binary_data_size is {size} bytes, but only {left} byte(s) of "
                             "binary data remain in the body")
        chunk = self.data[self.offset:self.offset + size]
        self.offset += size
        return chunk


def parse_infer_request(body: bytes, header_length: int | None = None) -> InferRequest:
    """The body of ``POST /v2/models/NAME/infer``, validated; :class:`BadRequest` otherwise.

    ``header_length`` is the ``Inference-Header-Content-Length`` header: the body's first that
    many bytes are the JSON, the rest the inputs' binary data, all of which they must use.
    """
    cursor = _Cursor(None)
    if header_length is not None:
        if header_length > len(body):
            raise BadRequest(f"{binary.HEADER} is {header_length}, but the body is only {len(body)} bytes")
        cursor = _Cursor(memoryview(body)[header_length:])
        body = body[:header_length]
    doc = _json(body)
    if not isinstance(doc, dict):
        raise BadRequest("the request body must be a JSON object with \"inputs\"")
    _known_keys(doc, {"id", "parameters", "inputs", "outputs", *CLIENT_FIELDS}, "the request")
    request_id = _optional_text(doc, "id")
    parameters = _parameters(doc, "the request")
    binary_default = _flag(parameters, "binary_data_output", "the request")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("\"inputs\" must be a non-empty list of tensors "
                         "({\"name\", \"shape\", \"datatype\", \"data\"})")
    if len(inputs) > MAX_INPUTS:
        raise BadRequest(f"at most {MAX_INPUTS} inputs per request")
    tensors = [_tensor(item, i, cursor) for i, item in enumerate(inputs)]
    _unique([t.name for t in tensors], "input")
    if cursor.data is not None and cursor.offset != len(cursor.data):
        raise BadRequest(f"the body has {len(cursor.data) - cursor.offset} byte(s) of binary data that no "
                         f"input's binary_data_size accounts for ({binary.HEADER} is {header_length})")
    outputs, binary_outputs = _requested_outputs(doc.get("outputs"))
    return InferRequest(request_id, tensors, outputs, binary_default, binary_outputs,
                        _optional_text(doc, "model_name"), _optional_text(doc, "model_version"))


def infer_response(model: str, version: int, request_id: str | None, outputs: list[Tensor],
                   sha256: str, binary_output: Callable[[str], bool] = lambda _: False
                   ) -> tuple[dict[str, Any], bytes | None]:
    """The response's JSON, and the binary data that follows it (None: the response is JSON only)."""
    tensors, parts = [], []
    for tensor in outputs:
        doc = tensor.to_dict()
        if binary_output(tensor.name):
            raw = binary.encode(tensor.datatype, tensor.data)
            del doc["data"]
            doc["parameters"] = {"binary_data_size": len(raw)}
            parts.append(raw)
        tensors.append(doc)
    response = {"model_name": model, "model_version": str(version), "id": request_id or uuid.uuid4().hex,
                "parameters": {"sha256": sha256}, "outputs": tensors}
    return response, (b"".join(parts) if len(parts) else None)


def encode(doc: dict[str, Any]) -> bytes:
    """JSON for the wire; a non-finite number (a model's NaN output) is a ValueError, not bad JSON."""
    return json.dumps(doc, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _json(body: bytes) -> Any:
    def no_constant(name: str) -> Any:
        raise BadRequest(f"{name} is not a number JSON allows; send finite numbers only")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=no_constant)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except BadRequest:
        raise
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise BadRequest(f"the body is not JSON this server takes: {exc}") from exc
    except RecursionError as exc:
        raise BadRequest("the body is nested too deeply") from exc


def _known_keys(doc: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(doc) - known)
    if unknown:
        raise BadRequest(f"{where} has unknown field(s) {', '.join(map(repr, unknown))} "
                         f"(known: {', '.join(sorted(known))})")


def _optional_text(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME):
        raise BadRequest(f"\"{key}\" must be a string of at most {MAX_NAME} characters")
    return value


def _parameters(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """``doc["parameters"]``, each value a string, an int64, a finite double or a boolean."""
    parameters = doc.get("parameters", {})
    if not isinstance(parameters, dict):
        raise BadRequest(f"\"parameters\" of {where} must be an object")
    if len(parameters) > MAX_PARAMETERS:
        raise BadRequest(f"\"parameters\" of {where} has {len(parameters)} entries; at most {MAX_PARAMETERS}")
    for key, value in parameters.items():
        if isinstance(value, int) and not isinstance(value, bool):
            if not _INT64[0] <= value <= _INT64[1]:
                raise BadRequest(f"parameter {key!r} of {where}: {_short(value)} is outside int64")
        elif isinstance(value, float) and not math.isfinite(value):  # 1e999 reads as infinity
            raise BadRequest(f"parameter {key!r} of {where} is not a finite number")
        elif not isinstance(value, (str, float, bool)):
            kind = "null" if value is None else "an array" if isinstance(value, list) else "an object"
            raise BadRequest(f"parameter {key!r} of {where} is {kind}; a parameter's value must be a "
                             "string, a number or a boolean")
        if key in _UNSUPPORTED:
            raise BadRequest(f"parameter {key!r} of {where}: {_UNSUPPORTED[key]} is not supported by this "
                             "server; send the data in the request")
    return parameters


def _flag(parameters: dict[str, Any], key: str, where: str) -> bool:
    value = parameters.get(key, False)
    if not isinstance(value, bool):
        raise BadRequest(f"parameter {key!r} of {where} must be true or false, not {_short(value)}")
    return value


def _name(doc: dict[str, Any], where: str) -> str:
    name = doc.get("name")
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise BadRequest(f"{where} needs a \"name\": a string of 1 to {MAX_NAME} characters")
    return name


def _tensor(item: Any, index: int, cursor: _Cursor) -> Tensor:
    where = f"inputs[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object with name, shape, datatype and data")
    _known_keys(item, {"name", "shape", "datatype", "data", "parameters"}, where)
    name = _name(item, where)
    where = f"input {name!r}"
    parameters = _parameters(item, where)
    shape = item.get("shape")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise BadRequest(f"{where}: \"shape\" must be a list of at most {MAX_DIMS} sizes (integers >= 0)")
    datatype = item.get("datatype")
    if datatype not in DATATYPES:
        raise BadRequest(f"{where}: \"datatype\" must be one of {', '.join(sorted(DATATYPES))}, "
                         f"not {datatype!r}")
    if "binary_data_size" not in parameters:
        data = item.get("data")
        if not isinstance(data, list):
            raise BadRequest(f"{where}: \"data\" must be a list (flat in row-major order, or nested "
                             "as the shape), or left out for binary data (parameters.binary_data_size)")
        flat = _flatten(data, tuple(shape), where)
        _check_elements(flat, datatype, where)
        return Tensor(name, tuple(shape), datatype, flat)
    flat = _binary_data(item, parameters["binary_data_size"], datatype, tuple(shape), cursor, where)
    # Decoded bytes are of their datatype by construction (integers in range, BOOL checked, BYTES
    # text); only a float can be NaN or infinite, which a C-speed pass rules out before the slow one.
    if datatype in FLOAT_MAX and not all(map(math.isfinite, flat)):
        _check_elements(flat, datatype, where)
    return Tensor(name, tuple(shape), datatype, flat)


def _check_elements(flat: list[Any], datatype: str, where: str) -> None:
    check = _element_check(datatype)
    for position, value in enumerate(flat):
        problem = check(value)
        if problem:
            raise BadRequest(f"{where}: data[{position}] = {_short(value)} {problem}")


def _binary_data(item: dict[str, Any], size: Any, datatype: str, shape: tuple[int, ...], cursor: _Cursor,
                 where: str) -> list[Any]:
    if "data" in item:
        raise BadRequest(f"{where} has both \"data\" and parameters.binary_data_size; send one")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadRequest(f"{where}: parameters.binary_data_size must be a size in bytes (an integer >= 0), "
                         f"not {_short(size)}")
    raw = cursor.take(size, where)
    try:
        return binary.decode(raw, datatype, math.prod(shape))
    except ValueError as exc:
        raise BadRequest(f"{where} (shape {list(shape)}, {datatype}): {exc}") from exc


def _flatten(data: list[Any], shape: tuple[int, ...], where: str) -> list[Any]:
    count = math.prod(shape)
    if not any(isinstance(v, list) for v in data):
        if len(data) != count:
            raise BadRequest(f"{where}: shape {list(shape)} holds {count} element(s), "
                             f"but data has {len(data)}")
        return data
    out: list[Any] = []

    def walk(node: Any, dims: tuple[int, ...], path: str) -> None:
        if not dims:
            if isinstance(node, list):
                raise BadRequest(f"{where}: data{path} is nested deeper than shape {list(shape)}")
            out.append(node)
            return
        if not isinstance(node, list) or len(node) != dims[0]:
            size = len(node) if isinstance(node, list) else "a scalar"
            raise BadRequest(f"{where}: data{path} has {size} element(s) where shape {list(shape)} "
                             f"wants {dims[0]}")
        for i, child in enumerate(node):
            walk(child, dims[1:], f"{path}[{i}]")

    walk(data, shape, "")
    return out


def _element_check(datatype: str) -> Any:
    if datatype == "BOOL":
        return lambda v: None if isinstance(v, bool) else "is not a boolean (BOOL)"
    if datatype == "BYTES":
        return lambda v: None if isinstance(v, str) else "is not a string (BYTES)"
    if datatype in INT_RANGES:
        low, high = INT_RANGES[datatype]

        def integer(v: Any) -> str | None:
            if not isinstance(v, int) or isinstance(v, bool):
                return f"is not an integer ({datatype})"
            return None if low <= v <= high else f"is outside {datatype}'s range {low}..{high}"

        return integer
    largest = FLOAT_MAX[datatype]

    def number(v: Any) -> str | None:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return f"is not a number ({datatype})"
        finite = abs(v) <= largest if isinstance(v, int) else math.isfinite(v) and abs(v) <= largest
        return None if finite else f"is not a finite {datatype}"

    return number


def _requested_outputs(outputs: Any) -> tuple[list[str] | None, dict[str, bool]]:
    if outputs is None:
        return None, {}
    if not isinstance(outputs, list) or not outputs:
        raise BadRequest("\"outputs\" must be a non-empty list of {\"name\": ...} (or left out for the "
                         "model's default outputs)")
    names = []
    binary_outputs = {}
    for index, item in enumerate(outputs):
        if not isinstance(item, dict):
            raise BadRequest(f"outputs[{index}] must be an object with a \"name\"")
        _known_keys(item, {"name", "parameters"}, f"outputs[{index}]")
        name = _name(item, f"outputs[{index}]")
        parameters = _parameters(item, f"output {name!r}")
        if "binary_data" in parameters:
            binary_outputs[name] = _flag(parameters, "binary_data", f"output {name!r}")
        names.append(name)
    _unique(names, "output")
    return names, binary_outputs


def _unique(names: list[str], kind: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise BadRequest(f"{kind} {name!r} is named twice")
        seen.add(name)


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
