"""Target ``webhook``: POST a JSON event, signed, to a URL; a 2xx answer is success.

The event, shaped like SageMaker's "Model Package State Change" and MLflow's
registry webhooks (one flat object a receiver can route on ``event``)::

    {"event": "modelreg.activate", "schema_version": 1,
     "time": "2026-11-21T09:14:03Z", "environment": "prod",
     "model": "fraud-detector", "version": 4, "alias": "production",
     "uri": "...", "artifact": "model.pkl", "sha256": "9b1c...", "md5": "3f2a...",
     "commit": "1a2b3c..."}

Headers:

- ``Content-Type: application/json``
- ``X-Modelreg-Event``: the event's name (``modelreg.activate``)
- ``X-Modelreg-Delivery``: a unique id, the same on every retry of one delivery
  (a receiver can drop the duplicates)
- with ``secret_env`` set: ``X-Modelreg-Timestamp`` (Unix seconds, new on each
  attempt) and ``X-Modelreg-Signature: sha256=<hex>``, the HMAC-SHA256 of
  ``"<timestamp>.<body>"`` keyed with the secret read from that environment
  variable. A receiver checks it with :func:`verify_signature` (or the same four
  lines in its own language) and refuses stale timestamps, so a recorded request
  cannot be replayed later.

The secret is read at delivery time and appears in no message, record or log;
what a receiver answers is kept (its first :data:`RESPONSE_TAIL` bytes) only
after every secret of the job is masked in it, in its common encodings
(:mod:`modelreg.edges.secrets`).

Delivery: each attempt ends within ``timeout`` as a whole (connecting, sending,
the answer's headers and body: a receiver that trickles its answer a byte at a
time is cut off there, see :mod:`modelreg.edges.deadline`), and all attempts
and waits together within ``total``. Up to ``retries`` more attempts after the first, with exponential
backoff (``base_delay`` doubling, capped at ``max_delay``; a ``Retry-After``
answer is honoured within the cap), on connection errors, timeouts, 5xx and
429; never on another 4xx. Redirects are followed only to the same scheme,
host and port (the body re-POSTed), never elsewhere: a redirect must not carry
a signed event to a host nobody configured.

Standard library only. A webhook cannot say what it serves: ``serving()`` is None.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from typing import IO, Any

from modelreg.deploy.targets import Activation, Serving, TargetOutcome
from modelreg.edges import deadline
from modelreg.edges.secrets import Scrubber, secret_values
from modelreg.formats import models
from modelreg.formats.durations import seconds

#: "activate this version": distinct from the notifications' modelreg.deployment (an outcome)
EVENT = "modelreg.activate"
EVENT_SCHEMA_VERSION = 1
#: the first retry waits this long; each later one twice as long, up to MAX_DELAY
BASE_DELAY = 0.5
MAX_DELAY = 30.0
#: how old a signed timestamp a receiver accepts, by default
TOLERANCE_SECONDS = 300
#: bytes of a response body kept for the record
RESPONSE_TAIL = 1024
_MAX_REDIRECTS = 3
_USER_AGENT = "modelreg-webhook/1"


def event_for(act: Activation, event: str = EVENT, **extra: Any) -> dict[str, Any]:
    """The JSON event describing ``act`` (plus ``extra`` keys, e.g. an outcome)."""
    return {
        "event": event,
        "schema_version": EVENT_SCHEMA_VERSION,
        "time": _now(),
        "environment": act.environment,
        "model": act.model,
        "version": act.version,
        "alias": act.alias,
        "uri": act.uri,
        "artifact": act.artifact_name,
        "sha256": act.sha256,
        "md5": act.md5,
        "commit": act.commit,
        **extra,
    }


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Modelreg-Signature`` value: ``sha256=`` and the hex HMAC of ``"<timestamp>.<body>"``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str | bytes, timestamp: str | None, body: bytes, header: str | None, *,
                     tolerance: float | None = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """Whether a received event is authentic: for receivers of modelreg's webhooks.

    ``timestamp`` and ``header`` are the ``X-Modelreg-Timestamp`` and
    ``X-Modelreg-Signature`` headers as received, ``body`` the raw request body
    (before any JSON parsing). The comparison takes constant time; a timestamp
    further than ``tolerance`` seconds from ``now`` is refused (``None``: no check)::

        if not verify_signature(os.environ["MODELREG_WEBHOOK_SECRET"],
                                request.headers.get("X-Modelreg-Timestamp"), request.body,
                                request.headers.get("X-Modelreg-Signature")):
            return 401
    """
    if not timestamp or not header or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if tolerance is not None and abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def display_url(url: str) -> str:
    """A URL as records show it: scheme, host and port only (paths of chat webhooks are secrets)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: the delivery will say so
        port = ""
    return f"{parts.scheme}://{host}{port}" + ("/…" if parts.path.strip("/") or parts.query else "")


def deliver(url: str, payload: Mapping[str, Any], *, target: str, event: str | None = None,
            secret_env: str | None = None, retries: int = 3, timeout: float = 10.0,
            base_delay: float = BASE_DELAY, max_delay: float = MAX_DELAY, total: float | None = None,
            sleep: Callable[[float], None] = time.sleep) -> TargetOutcome:
    """POST ``payload`` as JSON, signed when ``secret_env`` is set, retrying as the module describes.

    ``timeout`` bounds each attempt as a whole (connecting, sending, the answer's headers
    and body), however slowly the receiver sends; ``total`` bounds every attempt and wait
    together (default: what ``retries`` attempts of ``timeout`` and their backoff add up to).
    ``event`` names it in ``X-Modelreg-Event`` (default: the payload's ``event``).
    Never raises for what the network or the receiver does: every failure is an
    ``TargetOutcome(ok=False)`` whose ``detail`` lists the attempts.
    """
    secret: str | None = None
    if secret_env:
        secret = os.environ.get(secret_env)
        if not secret:
            return TargetOutcome(False, target, f"the environment variable {secret_env} (the signing secret) "
                                 "is not set; set it in the deploy job's environment, e.g. from a CI secret")
    if total is None:
        total = timeout * (retries + 1) + sum(min(max_delay, base_delay * 2 ** n) for n in range(retries))
    ends = time.monotonic() + total
    # a receiver may echo what it got, or more: nothing secret of this job reaches a record
    # (the URL too: the path of a chat service's webhook is its secret, and urllib's errors repeat it)
    parts = urllib.parse.urlsplit(url)
    where = parts.path + (f"?{parts.query}" if parts.query else "")
    scrub = Scrubber([*secret_values(names=[secret_env] if secret_env else []), url,
                      *([where] if len(where) > 1 else [])])
    body = json.dumps(dict(payload), separators=(",", ":"), default=str).encode()
    event = event or str(payload.get("event", EVENT))
    delivery = str(uuid.uuid4())
    attempts: list[dict[str, Any]] = []
    result = _Result()
    detail: dict[str, Any] = {"url": display_url(url), "event": event, "delivery": delivery,
                              "signed": secret is not None, "attempts": attempts}
    for attempt in range(retries + 1):
        headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT,
                   "X-Modelreg-Event": event, "X-Modelreg-Delivery": delivery}
        if secret is not None:
            stamp = str(int(time.time()))
            headers["X-Modelreg-Timestamp"] = stamp
            headers["X-Modelreg-Signature"] = sign(secret, stamp, body)
        result = _post(url, body, headers, min(timeout, ends - time.monotonic()))
        attempts.append({k: scrub(v) if isinstance(v, str) else v for k, v in result.record().items()})
        if result.ok:
            return TargetOutcome(True, target, f"delivered (HTTP {result.status})", detail)
        if not result.retry or attempt == retries:
            break
        delay = min(max_delay, base_delay * 2 ** attempt)
        if result.retry_after is not None:
            delay = min(max_delay, max(delay, result.retry_after))
        if time.monotonic() + delay >= ends:
            detail["gave_up"] = f"the {total:g}s for all attempts would pass before the next one"
            break
        sleep(delay)
    last = attempts[-1]
    why = last.get("error") or f"HTTP {last.get('status')}"
    gave_up = f" after {len(attempts)} attempts" if len(attempts) > 1 else ""
    refused = not result.retry and result.status is not None
    hint = "; the receiver refused it, so it was not retried" if refused else ""
    if result.timed_out:
        hint = (f" from {display_url(url)} (the whole request, however slowly it sends; "
                f"{total:g}s for all attempts); make the receiver answer sooner, or raise `timeout`")
    return TargetOutcome(False, target, f"not delivered{gave_up}: {why}{hint}", detail)


class _Result:
    def __init__(self, *, status: int | None = None, error: str | None = None, response: str = "",
                 retry: bool = False, retry_after: float | None = None, timed_out: bool = False) -> None:
        self.status = status
        self.timed_out = timed_out
        self.error = error
        self.response = response
        self.retry = retry
        self.retry_after = retry_after

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.error:
            out["error"] = self.error
        if self.response:
            out["response"] = self.response
        return out


class RedirectRefused(urllib.error.URLError):
    """A redirect to another scheme, host or port."""


class _SameOrigin(urllib.request.HTTPRedirectHandler):
    max_redirections = _MAX_REDIRECTS

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Message, newurl: str) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            raise RedirectRefused(f"redirected (HTTP {code}) to another host, {display_url(newurl)}; "
                                  "not followed: configure the final URL")
        # the same receiver at another path: POST the same body again (urllib would turn it into a GET)
        return urllib.request.Request(newurl, data=req.data, headers=dict(req.headers), method="POST")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


_OPENER = deadline.opener(_SameOrigin())


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> _Result:
    """One attempt, over within ``timeout`` seconds whatever the receiver does."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    no_answer = _Result(error=f"no answer within {round(max(timeout, 0), 1):g}s", retry=True, timed_out=True)
    try:
        answer = deadline.request(_OPENER, request, deadline=timeout, max_bytes=RESPONSE_TAIL)
        return _Result(status=answer.status, response=_text(answer.body, answer.truncated))
    except urllib.error.HTTPError as exc:
        with exc:
            status = exc.code
            data = exc.read()
            retry_after = _retry_after(exc.headers.get("Retry-After"))
        return _Result(status=status, response=_text(data, len(data) >= RESPONSE_TAIL),
                       retry=status >= 500 or status == 429, retry_after=retry_after)
    except deadline.DeadlineExceeded:
        return no_answer
    except RedirectRefused as exc:
        return _Result(error=str(exc.reason))
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return no_answer
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        return _Result(error=f"cannot connect: {text}", retry=True)
    except TimeoutError:
        return no_answer
    except (http.client.HTTPException, ConnectionError) as exc:
        return _Result(error=f"connection failed: {type(exc).__name__} {exc}".strip(), retry=True)
    except (ValueError, OSError) as exc:  # a malformed URL, an unknown scheme, a local I/O error
        return _Result(error=f"cannot send: {exc}")


def _text(data: bytes, truncated: bool) -> str:
    text = data[:RESPONSE_TAIL].decode("utf-8", "replace").strip()
    return text + ("…" if truncated else "")


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None  # an HTTP date is rare here; the backoff stands


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Webhook:
    def __init__(self, url: str, *, secret_env: str | None, retries: int, timeout: float,
                 base_delay: float = BASE_DELAY, max_delay: float = MAX_DELAY) -> None:
        self.url = url
        self.secret_env = secret_env
        self.retries = retries
        self.timeout = timeout
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.name = f"webhook {display_url(url)}"

    def activate(self, act: Activation) -> TargetOutcome:
        return deliver(self.url, event_for(act), target=self.name, secret_env=self.secret_env,
                       retries=self.retries, timeout=self.timeout, base_delay=self.base_delay,
                       max_delay=self.max_delay)

    def serving(self, model: str, alias: str, *, verify: bool = False) -> Serving | None:
        return None  # a webhook cannot tell


def make(config: models.WebhookTarget, root: Path) -> Webhook:
    return Webhook(config.url, secret_env=config.secret_env, retries=config.retries,
                         timeout=float(seconds(config.timeout)))
