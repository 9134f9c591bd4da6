"""The Open Inference Protocol's binary tensor data extension: tensors as raw bytes after the JSON.

KServe's v2 protocol and Triton call it ``binary_data``: a request or response body is a JSON
document followed by the tensors' bytes, and the header ``Inference-Header-Content-Length``
says where the JSON ends. An input carries ``parameters.binary_data_size`` instead of ``data``;
an output asked for with ``parameters.binary_data: true`` (or every output, with the request's
``parameters.binary_data_output: true``) is answered the same way.

The bytes are little-endian, in row-major order, one fixed-size element after another for
numbers (BOOL is one byte, 0 or 1), and for BYTES each element is a 4-byte little-endian
length followed by that many bytes. Pure functions over :mod:`struct`: no numpy, no network.
A ``ValueError`` says what is wrong with the bytes; the caller names the tensor.
"""

from __future__ import annotations

import struct
from typing import Any

#: the header that gives the length of the JSON part of a body
HEADER = "Inference-Header-Content-Length"
#: protocol datatype → struct code (little-endian, standard sizes); BYTES is length-prefixed
CODES: dict[str, str] = {
    "BOOL": "B", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q",
    "INT8": "b", "INT16": "h", "INT32": "i", "INT64": "q", "FP16": "e", "FP32": "f", "FP64": "d",
}
_PREFIX = struct.Struct("<I")


def element_size(datatype: str) -> int | None:
    """Bytes per element, or None for BYTES (each element says its own length)."""
    code = CODES.get(datatype)
    return struct.calcsize("<" + code) if code else None


def decode(raw: bytes | memoryview, datatype: str, count: int) -> list[Any]:
    """``count`` elements of ``datatype`` from exactly ``raw``; ValueError when the sizes disagree."""
    size = element_size(datatype)
    if size is None:
        return _decode_bytes(memoryview(raw), count)
    if len(raw) != count * size:
        raise ValueError(f"binary_data_size is {len(raw)} bytes, but {count} {datatype} element(s) "
                         f"take {count * size} ({size} each)")
    values = list(struct.unpack(f"<{count}{CODES[datatype]}", raw))
    if datatype == "BOOL":
        for position, value in enumerate(values):
            if value not in (0, 1):
                raise ValueError(f"BOOL element {position} is the byte {value}, not 0 or 1")
        return [bool(v) for v in values]
    return values


def _decode_bytes(raw: memoryview, count: int) -> list[Any]:
    if count * _PREFIX.size > len(raw):  # before reading: a huge shape costs nothing
        raise ValueError(f"binary_data_size is {len(raw)} bytes, too few for {count} BYTES element(s) "
                         f"(each starts with a {_PREFIX.size}-byte length)")
    out: list[Any] = []
    offset = 0
    for position in range(count):
        if offset + _PREFIX.size > len(raw):
            raise ValueError(f"BYTES element {position}: the data ends before its length prefix")
        (length,) = _PREFIX.unpack_from(raw, offset)
        offset += _PREFIX.size
        if offset + length > len(raw):
            raise ValueError(f"BYTES element {position} says {length} bytes, but only "
                             f"{len(raw) - offset} remain")
        chunk = bytes(raw[offset:offset + length])
        offset += length
        try:  # BYTES are text for every model this server loads (ONNX strings, scikit-learn labels)
            out.append(chunk.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"BYTES element {position} is not UTF-8 text ({exc.reason} at byte "
                             f"{exc.start})") from exc
    if offset != len(raw):
        raise ValueError(f"binary_data_size is {len(raw)} bytes, but {count} BYTES element(s) "
                         f"take {offset}")
    return out


def encode(datatype: str, data: list[Any]) -> bytes:
    """``data`` (flat, as :class:`~modelreg.serve.protocol.Tensor` holds it) as the extension's bytes."""
    if datatype == "BYTES":
        parts = []
        for value in data:
            chunk = value if isinstance(value, bytes) else str(value).encode("utf-8")
            parts += [_PREFIX.pack(len(chunk)), chunk]
        return b"".join(parts)
    return struct.pack(f"<{len(data)}{CODES[datatype]}", *data)
