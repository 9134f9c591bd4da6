"""The HTTP side of ``modelreg serve``: the Open Inference Protocol's endpoints, standard library only.

::

    GET  /v2                                      server metadata
    GET  /v2/health/live  /v2/health/ready        liveness, readiness
    GET  /v2/models/NAME[/versions/V]             model metadata: versions, platform, inputs, outputs
    GET  /v2/models/NAME[/versions/V]/ready       model readiness
    POST /v2/models/NAME[/versions/V]/infer       a prediction

Every response is JSON, or JSON followed by binary tensor data when the request asks for it
(``Inference-Header-Content-Length`` says where the JSON ends; :mod:`modelreg.serve.binary`);
a request may be sent the same way, and compressed (gzip, deflate: :mod:`modelreg.serve.encoding`).
An error is ``{"error": "..."}`` with a 4xx status for what the
client can fix, and 500 for what it cannot, never a traceback. Every response names the
version and sha256 served in ``X-Modelreg-Version`` and ``X-Modelreg-Sha256``; an inference
response also in ``model_version`` and ``parameters.sha256``.

The server binds 127.0.0.1 unless told otherwise. It has no authentication and no TLS:
anything else should sit behind a proxy that provides both.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from modelreg import __version__
from modelreg.errors import ConflictError
from modelreg.serve import binary, encoding
from modelreg.serve.model import ServedModel, server_metadata
from modelreg.serve.protocol import BadRequest, InferRequest, encode, infer_response, parse_infer_request

MAX_BODY = 16 * 1024 * 1024
_MODEL_PATH = re.compile(r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?"
                         r"(?P<action>/ready|/infer)?$")
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7f)}


def _no_log(_: str) -> None:
    return


class InferenceServer(ThreadingHTTPServer):
    """Serves one :class:`ServedModel`; ``serve_forever`` in a thread or the main one."""

    daemon_threads = True

    def __init__(self, model: ServedModel, host: str = "127.0.0.1", port: int = 0, *,
                 max_body: int = MAX_BODY, log: Callable[[str], None] = _no_log) -> None:
        self.model = model
        self.max_body = max_body
        self.log = log
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            raise ConflictError(f"cannot listen on {host} port {port}: {exc.strerror or exc}",
                                fix="choose another --port (0 picks a free one), or stop what holds it"
                                ) from exc

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _NotAllowed(Exception):
    def __init__(self, allow: str) -> None:
        super().__init__(allow)
        self.allow = allow


class _Handler(BaseHTTPRequestHandler):
    server: InferenceServer
    protocol_version = "HTTP/1.1"
    server_version = f"modelreg/{__version__}"
    timeout = 30  # seconds a connection may sit idle or trickle bytes
    # errors the standard library answers itself (a malformed request line, an unknown method)
    error_content_type = "application/json"
    error_message_format = '{"error": "%(message)s"}'
    #: the binary data of an inference response, sent after its JSON
    _tail: bytes | None = None
    #: an inference answered: compressed if Accept-Encoding asks. Only these, as Triton does: aiohttp
    #: (tritonclient.http.aio) asks for gzip on every request but reads only inference bodies compressed
    _inferred = False

    def version_string(self) -> str:  # the Server header: no Python version for the curious
        return self.server_version

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        headers: dict[str, str] = {}
        self._tail, self._inferred = None, False
        try:
            status, doc = self._route(method)
        except BadRequest as exc:
            status, doc = exc.status, {"error": exc.detail}
        except _NotAllowed as exc:
            status, doc = 405, {"error": f"{method} is not allowed here (allowed: {exc.allow})"}
            headers["Allow"] = exc.allow
        except Exception as exc:  # the model's own failure: the client gets a message, not a traceback
            line = f"error: {self.command} {self.path}: {type(exc).__name__}: {exc}"
            self.server.log(line.translate(_CONTROL))
            status, doc = 500, {"error": f"the model failed: {type(exc).__name__}"}
        if status >= 400:  # a body left unread would be taken for the next request: end the connection
            self.close_connection = True
        self._send(status, doc, headers)

    def _route(self, method: str) -> tuple[int, dict[str, Any]]:
        path = urlsplit(self.path).path
        model = self.server.model
        if path in ("/v2", "/v2/"):
            self._only(method, "GET")
            return 200, server_metadata()
        if path in ("/v2/health/live", "/v2/health/ready"):
            self._only(method, "GET")
            return 200, {path.rsplit("/", 1)[1]: True}
        match = _MODEL_PATH.match(path)
        if match is None:
            raise BadRequest(f"no endpoint {path} (this server speaks the Open Inference Protocol: "
                             f"/v2/health/ready, /v2/models/{model.name}, "
                             f"/v2/models/{model.name}/infer)", 404)
        name, version, action = match.group("name", "version", "action")
        if name != model.name:
            raise BadRequest(f"model {name!r} is not served here; this server serves {model.name!r} "
                             f"v{model.version}", 404)
        if version is not None and version != str(model.version):
            raise BadRequest(f"{model.name} v{version} is not served here; this server serves "
                             f"v{model.version} ({model.requested})", 404)
        if action == "/infer":
            self._only(method, "POST")
            body = self._body()
            request = parse_infer_request(body, self._header_length())
            self._same_model(request)
            outputs = model.infer(request.inputs, request.outputs)
            doc, self._tail = infer_response(model.name, model.version, request.id, outputs, model.sha256,
                                             request.binary)
            self._inferred = True
            return 200, doc
        self._only(method, "GET")
        if action == "/ready":
            return 200, {"name": model.name, "ready": True}
        return 200, model.metadata()

    def _same_model(self, request: InferRequest) -> None:
        """The names a client puts in the body (KServe's sends ``model_name``) agree with the URL."""
        model = self.server.model
        if request.model_name is not None and request.model_name != model.name:
            raise BadRequest(f"the body's \"model_name\" is {request.model_name!r}, but this server serves "
                             f"{model.name!r} (the URL's model)")
        if request.model_version not in (None, "", str(model.version)):
            raise BadRequest(f"the body's \"model_version\" is {request.model_version!r}, but this server "
                             f"serves {model.name} v{model.version}")

    def _header_length(self) -> int | None:
        text = self.headers.get(binary.HEADER)
        if text is None:
            return None
        if not (text.strip().isascii() and text.strip().isdigit()) or len(text.strip()) > 18:
            raise BadRequest(f"{binary.HEADER} {text!r} is not a length in bytes")
        return int(text)

    @staticmethod
    def _only(method: str, allowed: str) -> None:
        if method != allowed:
            raise _NotAllowed(allowed)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise BadRequest("send the body with a Content-Length (chunked transfer is not supported)", 411)
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise BadRequest("a request body with a Content-Length is required", 411)
        if not (length_text.strip().isascii() and length_text.strip().isdigit()):
            raise BadRequest(f"Content-Length {length_text!r} is not a size in bytes")
        length = int(length_text)
        if length > self.server.max_body:
            raise BadRequest(f"the body is {length} bytes; this server takes at most {self.server.max_body} "
                             "(modelreg serve --max-request-bytes)", 413)
        try:
            body = self.rfile.read(length)
        except TimeoutError as exc:
            raise BadRequest(f"the body did not arrive within {self.timeout} seconds", 408) from exc
        if len(body) != length:
            raise BadRequest("the connection closed before the whole body arrived")
        # The body is read as JSON (or JSON and binary data, as Inference-Header-Content-Length says)
        # whatever its Content-Type says: curl -d says form data, KServe's client octet-stream.
        return encoding.decode(body, self.headers.get("Content-Encoding"), self.server.max_body)

    def _send(self, status: int, doc: dict[str, Any], headers: dict[str, str]) -> None:
        try:
            body = encode(doc)
        except ValueError:  # NaN or infinity in the model's output: JSON cannot carry it
            status = 500
            body = encode({"error": "the model's output holds NaN or infinity, which JSON cannot carry"})
        content_type = "application/json"
        inferred = status == 200 and self._inferred
        tail = self._tail if inferred else None
        if tail is not None:  # the binary tensor extension: the JSON's length, then the tensors' bytes
            headers[binary.HEADER] = str(len(body))
            content_type = "application/octet-stream"
            body += tail
        coding = encoding.choose(self.headers.get("Accept-Encoding")) if inferred else None
        if coding is not None:
            body = encoding.compress(body, coding)
            headers["Content-Encoding"] = coding
        model = self.server.model
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if inferred:
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("X-Modelreg-Model", model.name)
        self.send_header("X-Modelreg-Version", str(model.version))
        self.send_header("X-Modelreg-Sha256", model.sha256)
        for key, value in headers.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line is the client's text: escape control characters before it reaches a terminal.
        self.server.log(f"{self.address_string()} {(format % args).translate(_CONTROL)}")
