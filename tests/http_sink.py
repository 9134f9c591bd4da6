"""A local HTTP receiver for webhook tests: records every request, answers as scripted.

A ThreadingHTTPServer on 127.0.0.1 (a free port). By default every request gets
``200 ok``; ``answer()`` queues other answers, each for a number of requests,
used in order (a 500 twice, then the default)::

    with HttpSink() as sink:
        sink.answer(500, times=2)
        sink.answer(200, delay=2.0)          # slower than the client's timeout
        sink.answer(307, headers={"Location": other.url})
        ...
        sink.requests[0].json(), sink.requests[0].headers["x-modelreg-signature"]
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

#: the most of a request body the sink keeps
MAX_BODY = 4 * 1024 * 1024


@dataclass
class Received:
    """One request; header names in lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0
    times: int = 1


class HttpSink:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def answer(self, status: int = 200, *, times: int = 1, delay: float = 0.0,
               headers: dict[str, str] | None = None, body: bytes | str = b"") -> None:
        """Answer the next ``times`` requests (after those already queued) with this."""
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._answers.append(Answer(status, dict(headers or {}), raw, delay, times))

    @property
    def url(self) -> str:
        assert self._server is not None, "start the sink first (with HttpSink() as sink)"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HttpSink:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="http-sink",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on a delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> HttpSink:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _next(self, received: Received) -> Answer:
        with self._lock:
            self.requests.append(received)
            if not self._answers:
                return Answer()
            answer = self._answers[0]
            answer.times -= 1
            if answer.times <= 0:
                self._answers.pop(0)
            return answer


def _handler_for(sink: HttpSink) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            body = self.rfile.read(length)
            received = Received(self.command, self.path,
                                {name.lower(): value for name, value in self.headers.items()}, body)
            answer = sink._next(received)
            if answer.delay and sink._stopping.wait(answer.delay):
                return
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout under test)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the requests are recorded instead

    return Handler


class Trickle:
    """A server on 127.0.0.1 that answers every connection a byte at a time, every ``interval``.

    ``headers=True`` (the default) sends a whole status line and headers first, then a body of
    ``length`` bytes a byte at a time (a receiver that never trips a per-read timeout);
    ``headers=False`` trickles the status line itself. Each connection has its own thread;
    ``connections`` counts them.
    """

    def __init__(self, *, interval: float = 0.5, length: int = 30, headers: bool = True,
                 status: int = 200) -> None:
        self.interval = interval
        self.length = length
        self.headers = headers
        self.status = status
        self.connections = 0
        self._stopping = threading.Event()
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self._server.settimeout(0.05)  # accept() polls, so that stopping is noticed
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, name="trickle", daemon=True)

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        head = (f"HTTP/1.1 {self.status} OK\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {self.length}\r\n\r\n").encode()
        with conn:
            try:
                conn.settimeout(5)
                conn.recv(65536)
                if self.headers:
                    conn.sendall(head)
                    trickled = b"x" * self.length
                else:
                    trickled = head
                for byte in trickled:
                    if self._stopping.wait(self.interval):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return  # the client hung up: what the test wants
