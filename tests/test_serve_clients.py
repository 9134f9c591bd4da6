"""``modelreg serve`` called by the inference clients people already use: Triton's ``tritonclient.http``
and KServe's ``InferenceRESTClient``, with their defaults (binary tensor data included), against the
real command on 127.0.0.1; every prediction compared with the model loaded directly. Then what a
hostile client sends through the same extension: 4xx with a one-line reason, and the server stays up.

The registry is ``tests/test_serve.py``'s: iris v1 skops (production, deployed), v2 joblib, v3 ONNX.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import http.client
import json
import os
import signal
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton

from modelreg.serve import binary, encoding
from modelreg.serve.protocol import BadRequest, Tensor, infer_response, parse_infer_request
from tests.test_serve import ROWS, Scenario, scenario

__all__ = ["scenario"]  # the module-scoped registry of tests/test_serve.py, shared as a fixture


@dataclass
class Served:
    url: str  # host:port
    proc: subprocess.Popen[str]


@contextlib.contextmanager
def serving(scenario: Scenario, uri: str, *options: str) -> Iterator[Served]:
    """``modelreg serve URI`` as a user starts it, on a free port; stopped with Ctrl-C."""
    proc = subprocess.Popen([sys.executable, "-m", "modelreg", "-C", str(scenario.root), "serve", uri,
                             "--port", "0", "--json", "--quiet", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        yield Served(json.loads(line)["url"].removeprefix("http://"), proc)
        assert proc.poll() is None, "the server died"
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def sklearn_server(scenario: Scenario) -> Iterator[Served]:
    with serving(scenario, "iris@production") as served:
        yield served


@pytest.fixture(scope="module")
def onnx_server(scenario: Scenario) -> Iterator[Served]:
    with serving(scenario, "iris/3") as served:
        yield served


@pytest.fixture(scope="module")
def onnx_session(scenario: Scenario) -> Any:
    import onnxruntime

    return onnxruntime.InferenceSession(str(scenario.work / "iris.onnx"), providers=["CPUExecutionProvider"])


def client(served: Served) -> Any:
    return triton.InferenceServerClient(served.url, connection_timeout=10, network_timeout=30)


# -- tritonclient -----------------------------------------------------------------------------------------


def test_tritonclient_health_and_metadata(sklearn_server: Served, scenario: Scenario) -> None:
    with contextlib.closing(client(sklearn_server)) as tc:
        assert tc.is_server_live() and tc.is_server_ready()
        assert tc.is_model_ready("iris") and tc.is_model_ready("iris", "1")
        assert not tc.is_model_ready("iris", "2")
        meta = tc.get_model_metadata("iris")
        assert (meta["name"], meta["versions"], meta["platform"]) == ("iris", ["1"], "scikit-learn")
        assert meta["parameters"]["sha256"] == scenario.sha256(1)
        assert "binary_tensor_data" in tc.get_server_metadata()["extensions"]


@pytest.mark.parametrize("binary_data", [True, False])
def test_tritonclient_binary_and_json_answer_as_the_model(sklearn_server: Served, scenario: Scenario,
                                                          binary_data: bool) -> None:
    rows = scenario.features[ROWS]
    with contextlib.closing(client(sklearn_server)) as tc:
        tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
        tensor.set_data_from_numpy(rows, binary_data=binary_data)
        asked = [triton.InferRequestedOutput(n, binary_data=binary_data)
                 for n in ("predict", "predict_proba")]
        result = tc.infer("iris", [tensor], outputs=asked, request_id="r-1")
        response = result.get_response()
        assert (response["model_name"], response["model_version"], response["id"]) == ("iris", "1", "r-1")
        assert response["parameters"]["sha256"] == scenario.sha256(1)
        for tensor_doc in response["outputs"]:
            assert ("binary_data_size" in tensor_doc.get("parameters", {})) is binary_data
        assert result.as_numpy("predict").tolist() == scenario.model.predict(rows).tolist()
        proba = result.as_numpy("predict_proba")
        expected = scenario.model.predict_proba(rows)
        # binary FP64 is the model's own bits; JSON goes through decimal text
        assert np.array_equal(proba, expected) if binary_data else np.allclose(proba, expected)


@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT64", "INT32", "UINT8", "FP16"])
def test_tritonclient_datatypes(sklearn_server: Served, scenario: Scenario, datatype: str) -> None:
    """Every numeric datatype the model's FP64 input holds exactly (docs/serve.md)."""
    rows = scenario.features[ROWS]
    dtype = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32,
             "UINT8": np.uint8, "FP16": np.float16}[datatype]
    data = (rows * 10).astype(dtype) if datatype[0] in "IU" else rows.astype(dtype)
    direct = data
    with contextlib.closing(client(sklearn_server)) as tc:
        tensor = triton.InferInput("input-0", list(data.shape), datatype)
        tensor.set_data_from_numpy(data)
        result = tc.infer("iris", [tensor])  # no outputs named: binary_data_output for all of them
        assert "binary_data_size" in result.get_output("predict")["parameters"]
        assert result.as_numpy("predict").tolist() == scenario.model.predict(direct).tolist()


def test_tritonclient_bytes_for_a_numeric_input_is_refused(sklearn_server: Served,
                                                           scenario: Scenario) -> None:
    """Numbers as text are not the FP64 the model declares: a 400 naming the input, as ONNX says."""
    rows = scenario.features[ROWS]
    data = np.array([[str(v).encode() for v in row] for row in rows], dtype=np.object_)
    with contextlib.closing(client(sklearn_server)) as tc:
        tensor = triton.InferInput("input-0", list(data.shape), "BYTES")
        tensor.set_data_from_numpy(data)
        refused = "input 'input-0' is BYTES; the model takes FP64"
        with pytest.raises(triton.InferenceServerException, match=refused):
            tc.infer("iris", [tensor])


@pytest.mark.parametrize("request_compression", ["gzip", "deflate"])
@pytest.mark.parametrize("response_compression", [None, "gzip", "deflate"])
def test_tritonclient_compressed_requests_and_responses(sklearn_server: Served, scenario: Scenario,
                                                        request_compression: str,
                                                        response_compression: str | None) -> None:
    rows = scenario.features[ROWS]
    with contextlib.closing(client(sklearn_server)) as tc:
        tensor = triton.InferInput("input-0", list(rows.shape), "FP64")
        tensor.set_data_from_numpy(rows)
        result = tc.infer("iris", [tensor], outputs=[triton.InferRequestedOutput("predict_proba")],
                          request_compression_algorithm=request_compression,
                          response_compression_algorithm=response_compression)
        assert np.array_equal(result.as_numpy("predict_proba"), scenario.model.predict_proba(rows))


def test_tritonclient_onnx_as_onnxruntime_answers(onnx_server: Served, scenario: Scenario,
                                                  onnx_session: Any) -> None:
    rows = scenario.features[ROWS].astype(np.float32)
    expected = dict(zip(["label", "probabilities"], onnx_session.run(None, {"X": rows}), strict=True))
    with contextlib.closing(client(onnx_server)) as tc:
        meta = tc.get_model_metadata("iris", "3")
        assert meta["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}]
        for binary_data in (True, False):
            tensor = triton.InferInput("X", list(rows.shape), "FP32")
            tensor.set_data_from_numpy(rows, binary_data=binary_data)
            asked = [triton.InferRequestedOutput(n, binary_data=binary_data) for n in expected]
            result = tc.infer("iris", [tensor], model_version="3", outputs=asked)
            for name, want in expected.items():
                assert np.array_equal(result.as_numpy(name), want), name
        wrong = triton.InferInput("X", list(rows.shape), "FP64")
        wrong.set_data_from_numpy(rows.astype(np.float64))
        with pytest.raises(triton.InferenceServerException, match="the model takes FP32"):
            tc.infer("iris", [wrong])


async def _aio_calls(url: str, rows: Any) -> tuple[bool, dict[str, Any], Any]:
    import tritonclient.http.aio as triton_aio

    client = triton_aio.InferenceServerClient(url)
    try:  # aiohttp asks for gzip on every request and leaves decompressing to tritonclient
        tensor = triton_aio.InferInput("input-0", list(rows.shape), "FP64")
        tensor.set_data_from_numpy(rows)
        result = await client.infer("iris", [tensor])
        return (await client.is_model_ready("iris"), await client.get_model_metadata("iris"),
                result.as_numpy("predict"))
    finally:
        await client.close()


def test_tritonclient_asyncio(sklearn_server: Served, scenario: Scenario) -> None:
    rows = scenario.features[ROWS]
    ready, meta, predicted = asyncio.run(_aio_calls(sklearn_server.url, rows))
    assert ready and meta["name"] == "iris"
    assert predicted.tolist() == scenario.model.predict(rows).tolist()


# -- KServe's InferenceRESTClient -------------------------------------------------------------------------


async def _kserve_calls(url: str, rows: Any) -> dict[str, Any]:
    from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
    from kserve.protocol.infer_type import RequestedOutput

    async with InferenceRESTClient(RESTConfig(protocol="v2")) as rest:
        out: dict[str, Any] = {
            "live": await rest.is_server_live(url),
            "ready": await rest.is_server_ready(url),
            "model_ready": await rest.is_model_ready(url, "iris"),
            "other_ready": await rest.is_model_ready(url, "fraud"),
        }
        tensor = InferInput("input-0", list(rows.shape), "FP64")
        tensor.set_data_from_numpy(rows)  # binary_data=True: KServe's default
        response = await rest.infer(url, InferRequest("iris", [tensor], request_id="k-1"), model_name="iris")
        out["binary"] = response
        tensor = InferInput("input-0", list(rows.shape), "FP64")
        tensor.set_data_from_numpy(rows, binary_data=False)
        asked = [RequestedOutput("predict"), RequestedOutput("predict_proba", {"binary_data": True})]
        out["json"] = await rest.infer(url, InferRequest("iris", [tensor], request_outputs=asked),
                                       model_name="iris")
        tensor = InferInput("input-0", list(rows.shape), "FP64", data=rows.tolist())
        out["other_model"] = InferRequest("fraud", [tensor]).to_rest()[0]
        return out


def test_kserve_rest_client(sklearn_server: Served, scenario: Scenario) -> None:
    rows = scenario.features[ROWS]
    out = asyncio.run(_kserve_calls(f"http://{sklearn_server.url}", rows))
    assert (out["live"], out["ready"], out["model_ready"], out["other_ready"]) == (True, True, True, False)
    answer = out["binary"]
    assert (answer.model_name, answer.id) == ("iris", "k-1")  # KServe's client drops model_version
    assert answer.parameters["sha256"] == scenario.sha256(1)
    assert answer.outputs[0].name == "predict"
    assert answer.outputs[0].as_numpy().tolist() == scenario.model.predict(rows).tolist()
    answer = out["json"]
    assert [o.name for o in answer.outputs] == ["predict", "predict_proba"]
    assert answer.outputs[0].as_numpy().tolist() == scenario.model.predict(rows).tolist()
    assert np.array_equal(answer.outputs[1].as_numpy(), scenario.model.predict_proba(rows))
    # the body's model_name must be the URL's: KServe's client lets the two differ
    reply = post(sklearn_server, json.dumps(out["other_model"]).encode())
    assert reply.status == 400 and "\"model_name\" is 'fraud'" in reply.error


# -- what a hostile client sends --------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def error(self) -> str:
        message = json.loads(self.body)["error"]
        assert isinstance(message, str) and "\n" not in message and "Traceback" not in message
        return message


def post(served: Served, body: bytes, headers: dict[str, str] | None = None,
         path: str = "/v2/models/iris/infer") -> Reply:
    conn = http.client.HTTPConnection(served.url, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def with_binary(doc: dict[str, Any], tail: bytes, header: int | None = None) -> tuple[bytes, dict[str, str]]:
    head = json.dumps(doc).encode()
    return head + tail, {binary.HEADER: str(len(head) if header is None else header),
                         "Content-Type": "application/octet-stream"}


FOUR = struct.pack("<4d", 5.1, 3.5, 1.4, 0.2)


def binary_input(size: Any, shape: list[int] | None = None, datatype: str = "FP64") -> dict[str, Any]:
    return {"inputs": [{"name": "x", "shape": shape or [1, 4], "datatype": datatype,
                        "parameters": {"binary_data_size": size}}]}


HOSTILE: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("header larger than the body", *with_binary(binary_input(32), FOUR, header=10_000), 400,
     "Inference-Header-Content-Length is 10000, but the body is only"),
    ("header not a number", *with_binary(binary_input(32), FOUR, header=-5), 400,
     "Inference-Header-Content-Length '-5' is not a length in bytes"),
    ("negative binary_data_size", *with_binary(binary_input(-1), FOUR), 400,
     "input 'x': parameters.binary_data_size must be a size in bytes"),
    ("huge binary_data_size", *with_binary(binary_input(2**62), FOUR), 400,
     "input 'x': binary_data_size is 4611686018427387904 bytes, but only 32"),
    ("binary_data_size as text", *with_binary(binary_input("32"), FOUR), 400, "must be a size in bytes"),
    ("shape times datatype is not the size", *with_binary(binary_input(32, [2, 4]), FOUR), 400,
     "input 'x' (shape [2, 4], FP64): binary_data_size is 32 bytes, but 8 FP64 element(s) take 64"),
    ("size that is not the datatype's", *with_binary(binary_input(32, [1, 4], "FP32"), FOUR), 400,
     "but 4 FP32 element(s) take 16"),
    ("bytes nobody claims", *with_binary(binary_input(32), FOUR + b"junk"), 400,
     "4 byte(s) of binary data that no input's binary_data_size accounts for"),
    ("binary size without the header", json.dumps(binary_input(32)).encode(), {}, 400,
     "has parameters.binary_data_size but the request has no binary part"),
    ("data and binary both", *with_binary({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64",
                                                       "data": [1, 2, 3, 4],
                                                       "parameters": {"binary_data_size": 32}}]}, FOUR),
     400, "has both \"data\" and parameters.binary_data_size"),
    ("a BOOL that is neither 0 nor 1", *with_binary(binary_input(4, [1, 4], "BOOL"), b"\x00\x01\x02\x00"),
     400, "BOOL element 2 is the byte 2, not 0 or 1"),
    ("a BYTES length past the end", *with_binary(binary_input(8, [1, 1], "BYTES"), b"\xff\x00\x00\x00abcd"),
     400, "BYTES element 0 says 255 bytes, but only 4 remain"),
    ("a huge BYTES shape", *with_binary(binary_input(8, [10**9, 4], "BYTES"), b"\x00" * 8), 400,
     "too few for 4000000000 BYTES element(s)"),
    ("NaN in binary FP64", *with_binary(binary_input(32), struct.pack("<4d", 1, float("nan"), 1, 1)), 400,
     "data[1] = NaN is not a finite FP64"),
    ("a parameter that is an object", json.dumps({"parameters": {"x": {"a": 1}}, "inputs": [
        {"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}).encode(), {}, 400,
     "parameter 'x' of the request is an object"),
    ("an input parameter that is an array", json.dumps({"inputs": [
        {"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4],
         "parameters": {"tags": [1]}}]}).encode(), {}, 400, "parameter 'tags' of input 'x' is an array"),
    ("an output parameter that is null", json.dumps({"inputs": [
        {"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}],
        "outputs": [{"name": "predict", "parameters": {"binary_data": None}}]}).encode(), {}, 400,
     "parameter 'binary_data' of output 'predict' is null"),
    ("binary_data that is not a boolean", json.dumps({"inputs": [
        {"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}],
        "outputs": [{"name": "predict", "parameters": {"binary_data": "yes"}}]}).encode(), {}, 400,
     "parameter 'binary_data' of output 'predict' must be true or false"),
    ("a parameter beyond int64", b'{"parameters": {"n": 99999999999999999999}, "inputs": []}', {}, 400,
     "parameter 'n' of the request: 99999999999999999999 is outside int64"),
    ("shared memory", json.dumps({"inputs": [
        {"name": "x", "shape": [1, 4], "datatype": "FP64",
         "parameters": {"shared_memory_region": "r", "shared_memory_byte_size": 32}}]}).encode(), {}, 400,
     "shared memory is not supported"),
    ("an unknown field", json.dumps({"inputs": [], "modle_name": "iris"}).encode(), {}, 400,
     "unknown field(s) 'modle_name'"),
    ("another model_version in the body", json.dumps({"model_version": "2", "inputs": [
        {"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}).encode(), {}, 400,
     "the body's \"model_version\" is '2', but this server serves iris v1"),
    ("an encoding not supported", gzip.compress(b"{}"), {"Content-Encoding": "br"}, 415,
     "Content-Encoding 'br' is not supported"),
    ("gzip cut short", gzip.compress(json.dumps(binary_input(32)).encode())[:-12],
     {"Content-Encoding": "gzip"}, 400, "the gzip body ends before its compressed stream does"),
    ("not gzip at all", b"{\"inputs\": []}", {"Content-Encoding": "gzip"}, 400, "not valid gzip data"),
]


@pytest.mark.parametrize(("body", "headers", "status", "message"), [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_hostile_requests_are_4xx_with_one_line(sklearn_server: Served, body: bytes, headers: dict[str, str],
                                                status: int, message: str) -> None:
    reply = post(sklearn_server, body, headers)
    assert reply.status == status, reply.body
    assert message in reply.error
    assert reply.headers["connection"] == "close"
    assert post(sklearn_server, json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64",
                                                        "data": [1, 2, 3, 4]}]}).encode()).status == 200


def _bomb(coding: str, size: int) -> bytes:
    """A body that inflates to ``size`` bytes (mostly zeros), made from one compressed megabyte repeated:
    a full flush ends each copy byte-aligned with no reference to what came before. Its checksum is
    not the data's, which the server never reaches."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS)
    head = b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}], "id": "'
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    megabyte = packer.compress(b"\0" * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    return start + megabyte * (size >> 20) + packer.compress(b'"}') + packer.flush()


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_a_compression_bomb_is_413_not_memory(sklearn_server: Served, coding: str) -> None:
    bomb = _bomb(coding, 512 << 20)
    assert len(bomb) < 1 << 20  # under the body limit as sent: only inflating it could hurt
    reply = post(sklearn_server, bomb, {"Content-Encoding": coding})
    assert reply.status == 413
    assert f"the {coding} body inflates to more than 16777216 bytes" in reply.error
    with open(f"/proc/{sklearn_server.proc.pid}/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM:"))
    assert int(peak.split()[1]) < 400_000, peak  # the server's peak resident kB: nowhere near 512 MiB


def test_a_compressed_body_within_the_limit_is_read(sklearn_server: Served, scenario: Scenario) -> None:
    rows = scenario.features[ROWS]
    doc = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64",
                       "data": rows.ravel().tolist()}], "model_name": "iris", "model_version": "1"}
    for coding, packed in (("gzip", gzip.compress(json.dumps(doc).encode())),
                           ("deflate", zlib.compress(json.dumps(doc).encode())),
                           ("deflate", zlib.compress(json.dumps(doc).encode(), wbits=-15))):  # raw deflate
        reply = post(sklearn_server, packed, {"Content-Encoding": coding,
                                              "Accept-Encoding": "gzip;q=0, deflate"})
        assert reply.status == 200 and reply.headers["content-encoding"] == "deflate"
        answer = json.loads(zlib.decompress(reply.body))
        assert answer["outputs"][0]["data"] == scenario.model.predict(rows).tolist()


# -- the extension alone ----------------------------------------------------------------------------------

ALL_TYPES = {"BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
             "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
             "FP16": np.float16, "FP32": np.float32, "FP64": np.float64}


@pytest.mark.parametrize("datatype", [*ALL_TYPES, "BYTES"])
def test_every_datatype_round_trips(datatype: str) -> None:
    if datatype == "BYTES":
        values = np.array([["a", "", "é€"], ["x" * 300, "0", "\n"]], dtype=np.object_)
        raw = b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values.ravel())
    else:
        rng = np.random.default_rng(7)
        values = (rng.integers(0, 2, (2, 3)) if datatype == "BOOL" else
                  rng.integers(np.iinfo(ALL_TYPES[datatype]).min, np.iinfo(ALL_TYPES[datatype]).max, (2, 3),
                               dtype=ALL_TYPES[datatype], endpoint=True)
                  if datatype[0] in "IU" else rng.normal(0, 100, (2, 3))).astype(ALL_TYPES[datatype])
        raw = values.astype(values.dtype.newbyteorder("<")).tobytes()
    body, headers = with_binary({"inputs": [{"name": "t", "shape": [2, 3], "datatype": datatype,
                                             "parameters": {"binary_data_size": len(raw)}}],
                                 "outputs": [{"name": "t", "parameters": {"binary_data": True}}]}, raw)
    request = parse_infer_request(body, int(headers[binary.HEADER]))
    tensor = request.inputs[0]
    assert tensor.data == values.ravel().tolist()
    assert request.binary("t") and not request.binary("other")
    doc, tail = infer_response("m", 1, "i", [Tensor("t", (2, 3), datatype, tensor.data)], "0" * 64,
                               request.binary)
    assert tail == raw and doc["outputs"][0] == {"name": "t", "shape": [2, 3], "datatype": datatype,
                                                 "parameters": {"binary_data_size": len(raw)}}


def test_the_request_default_and_per_output_choice() -> None:
    base = {"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [1]}]}
    assert not parse_infer_request(json.dumps(base).encode()).binary("y")
    everything = parse_infer_request(json.dumps({**base, "parameters": {"binary_data_output": True},
                                                 "outputs": [{"name": "y"}, {"name": "z", "parameters": {
                                                     "binary_data": False}}]}).encode())
    assert everything.binary("y") and not everything.binary("z")
    with pytest.raises(BadRequest, match="'binary_data_output' of the request must be true or false"):
        parse_infer_request(json.dumps({**base, "parameters": {"binary_data_output": 1}}).encode())
    with pytest.raises(BadRequest, match="is not a finite number"):
        parse_infer_request(b'{"parameters": {"x": 1e999}, "inputs": []}')


def test_inflating_stops_at_the_limit() -> None:
    assert encoding.decode(gzip.compress(b"x" * 1000), "gzip", 1000) == b"x" * 1000
    with pytest.raises(BadRequest, match="inflates to more than 999 bytes") as caught:
        encoding.decode(gzip.compress(b"x" * 1000), "GZip", 999)
    assert caught.value.status == 413
    assert encoding.decode(b"{}", None, 1) == b"{}"
    assert encoding.choose("br, gzip;q=0.5") == "gzip" and encoding.choose("gzip;q=0, identity") is None
    assert encoding.choose(None) is None


def test_modelreg_imports_neither_client() -> None:
    """The clients are test tools: the server, the protocol and the command never import them."""
    probe = ("import sys, modelreg.serve.server, modelreg.serve.model, modelreg.serve.encoding, "
             "modelreg.serve.predictors, modelreg.cli.main\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'kserve', 'tritonclient', 'httpx', "
             "'geventhttpclient', 'gevent'}))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
