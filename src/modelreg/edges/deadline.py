"""HTTP requests that end by a wall-clock deadline, however slowly the other side sends.

urllib's ``timeout`` bounds each socket operation, not the request: a server
that sends a byte every second never trips it, and can hold a deploy job for
as long as it likes. :func:`request` bounds the whole exchange (connecting,
the TLS handshake, sending, the status line and headers, the body, and any
redirect urllib follows on the way) by one deadline: a watchdog thread shuts
the request's sockets down when it passes, which ends whatever read or write
is blocked on them, and the request then raises :class:`DeadlineExceeded`. The
body read is capped too (``max_bytes``), so a hostile server fills neither the
time nor the memory.

What the deadline cannot cut short is name resolution (``getaddrinfo`` runs in
the C library, outside any socket); each attempt still ends at most the
resolver's own timeout past it.

Used by the webhook target, notifications and the GitHub client, each with its
own opener (redirect rules): ``opener(handler)`` adds the guarded HTTP and
HTTPS handlers to it.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message


class DeadlineExceeded(TimeoutError):
    """The whole request took longer than its deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within {seconds:g}s")
        self.seconds = seconds


@dataclass(frozen=True)
class Answer:
    """A response: status, headers and at most ``max_bytes`` of the body (``truncated`` if more)."""

    status: int
    headers: Message
    body: bytes
    truncated: bool


class _Watchdog:
    """Shuts down every socket registered with it once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # under the lock: once this returns, the timer can no longer touch a socket (or a
        # file descriptor number the system has given to something else since)
        with self._lock:
            self._timer.cancel()
            self._sockets.clear()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()
#: seconds left at which a failed socket operation counts as the deadline's doing
_CLIPPED = 0.1


def _watchdog() -> _Watchdog | None:
    dog: _Watchdog | None = getattr(_current, "dog", None)
    return dog


def _op_timeout(timeout: float | None) -> float | None:
    """A socket operation never waits past the deadline either (connect, above all)."""
    dog = _watchdog()
    if dog is None:
        return timeout
    left = max(0.001, dog.remaining())
    return left if timeout is None else min(timeout, left)


class _HTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.timeout = _op_timeout(self.timeout)
        super().connect()
        if (dog := _watchdog()) is not None:
            dog.add(self.sock)


class _HTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        # HTTPSConnection.connect, with the TLS socket registered before its handshake: a
        # server that trickles the handshake is cut off at the deadline too
        self.timeout = _op_timeout(self.timeout)
        http.client.HTTPConnection.connect(self)
        dog = _watchdog()
        if dog is not None:
            dog.add(self.sock)
        host = self._tunnel_host or self.host  # type: ignore[attr-defined]  # set by __init__
        context: ssl.SSLContext = self._context  # type: ignore[attr-defined]  # set by __init__
        self.sock = context.wrap_socket(self.sock, server_hostname=host, do_handshake_on_connect=False)
        if dog is not None:
            dog.add(self.sock)
        self.sock.do_handshake()


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        context = self._context  # type: ignore[attr-defined]  # set by HTTPSHandler.__init__
        return self.do_open(_HTTPSConnection, req, context=context)


def opener(*handlers: urllib.request.BaseHandler) -> urllib.request.OpenerDirector:
    """An opener with ``handlers`` (e.g. a redirect policy) whose connections obey :func:`request`."""
    return urllib.request.build_opener(_HTTPHandler(), _HTTPSHandler(), *handlers)


@contextlib.contextmanager
def _guarded(seconds: float) -> Iterator[_Watchdog]:
    if getattr(_current, "dog", None) is not None:
        raise RuntimeError("deadline.request does not nest")
    with _Watchdog(seconds) as dog:
        _current.dog = dog
        try:
            yield dog
        finally:
            _current.dog = None


def request(director: urllib.request.OpenerDirector, req: urllib.request.Request, *, deadline: float,
            timeout: float | None = None, max_bytes: int) -> Answer:
    """Send ``req`` and read the answer, all within ``deadline`` seconds.

    ``timeout`` bounds each socket operation as well (a dead peer is noticed before the
    deadline). An HTTP error status raises :class:`urllib.error.HTTPError` as urllib does,
    its body already read (within the deadline and ``max_bytes``) so a handler may read it.
    Raises :class:`DeadlineExceeded` when the deadline passes, whatever was under way;
    other failures as urllib raises them.
    """
    if deadline <= 0:
        raise DeadlineExceeded(0.0)
    op_timeout = deadline if timeout is None else min(timeout, deadline)
    with _guarded(deadline) as dog:
        try:
            try:
                with director.open(req, timeout=op_timeout) as response:
                    body = response.read(max_bytes + 1)
                    status = int(response.status)
                    headers: Message = response.headers
            except urllib.error.HTTPError as exc:
                with exc:
                    try:
                        data = exc.read(max_bytes + 1)
                    except (OSError, http.client.HTTPException):
                        data = b""
                if dog.expired:
                    raise DeadlineExceeded(deadline) from exc
                raise urllib.error.HTTPError(exc.url, exc.code, exc.msg, exc.headers,
                                             io.BytesIO(data[:max_bytes])) from None
        except (OSError, http.client.HTTPException, urllib.error.URLError) as exc:
            # a socket operation's own timeout is clipped to the time left, so it may fire a hair
            # before the watchdog marks the deadline passed: that is the deadline too
            if dog.expired or dog.remaining() <= _CLIPPED:
                raise DeadlineExceeded(deadline) from exc
            raise
        if dog.expired:  # the shutdown ended the body early: what was read is not the answer
            raise DeadlineExceeded(deadline)
    return Answer(status, headers, body[:max_bytes], len(body) > max_bytes)

