"""Every outside HTTP call ends by its deadline, however slowly the other side sends.

A trickling server (127.0.0.1) sends its headers, then a byte every 0.5 s: urllib's
per-operation timeout never fires on it. The webhook target, notifications and the
GitHub client must each give up at their deadline with one line naming the URL.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from modelreg.deploy import notify as notify_mod
from modelreg.deploy.targets import Activation
from modelreg.deploy.targets import webhook as webhook_mod
from modelreg.deploy.targets.webhook import deliver
from modelreg.edges import deadline
from modelreg.edges.github import Client
from modelreg.errors import ServiceError
from modelreg.formats import models
from tests.http_sink import HttpSink, Trickle

TOKEN = "ghp_trickleTokenValue0123456789"


@pytest.mark.parametrize("headers", [True, False], ids=["trickled-body", "trickled-status-line"])
def test_a_request_ends_at_its_deadline(headers: bool) -> None:
    with Trickle(interval=0.2, headers=headers) as server:
        start = time.monotonic()
        with pytest.raises(deadline.DeadlineExceeded):
            deadline.request(deadline.opener(), urllib.request.Request(server.url), deadline=1.0,
                             timeout=5.0, max_bytes=1 << 20)
        assert time.monotonic() - start < 4.0


def test_a_fast_answer_is_read_whole_and_capped() -> None:
    with HttpSink() as sink:
        sink.answer(200, body=b"y" * 100)
        answer = deadline.request(deadline.opener(), urllib.request.Request(sink.url, data=b"{}"),
                                  deadline=5.0, max_bytes=40)
    assert answer.status == 200 and answer.body == b"y" * 40 and answer.truncated


def test_a_webhook_attempt_ends_at_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_TEST_HOOK_SECRET", "hook-secret-value-123")
    with Trickle() as server:
        start = time.monotonic()
        outcome = deliver(server.url + "/hook/secret-path", {"event": "x"}, target="t",
                          secret_env="MODELREG_TEST_HOOK_SECRET", retries=0, timeout=1.0)
        took = time.monotonic() - start
    assert took < 3.0, f"the attempt took {took:.1f}s with a 1s timeout"
    assert not outcome.ok
    assert "\n" not in outcome.message
    assert outcome.message.startswith(f"not delivered: no answer within 1s from {server.url}/…")
    assert "raise `timeout`" in outcome.message
    assert "secret-path" not in outcome.message and "hook-secret-value-123" not in str(outcome.to_dict())


def test_retries_stop_at_the_total_deadline() -> None:
    with Trickle() as server:
        start = time.monotonic()
        outcome = deliver(server.url, {"event": "x"}, target="t", retries=5, timeout=1.0, base_delay=0.2,
                          total=2.0)
        took = time.monotonic() - start
    assert not outcome.ok
    assert took < 4.0, f"retries ran {took:.1f}s past a 2s total"
    assert len(outcome.detail["attempts"]) <= 3


def test_the_webhook_target_is_bounded(tmp_path: Path) -> None:
    config = models.WebhookTarget.model_validate({"type": "webhook", "url": "http://127.0.0.1:9/x",
                                                  "timeout": "1s", "retries": 1})
    act = Activation(environment="production", model="m", alias="production", version=1, sha256="0" * 64,
                     md5="0" * 32, artifact_name="model.bin", uri="models:/m/1", commit="c" * 40,
                     registry=tmp_path, fetch_to=lambda dest: dest, local_path=lambda: tmp_path)
    with Trickle() as server:
        target = webhook_mod.make(config, tmp_path)
        target.url, target.base_delay = server.url, 0.1
        start = time.monotonic()
        outcome = target.activate(act)
        assert time.monotonic() - start < 4.0
    assert not outcome.ok
    assert outcome.message.startswith("not delivered after 2 attempts: no answer within 1s")


def test_a_notification_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify_mod, "TIMEOUT", 0.8)
    monkeypatch.setattr(notify_mod, "TOTAL", 1.5)
    with Trickle() as server:
        hook = models.Notification.model_validate({"type": "slack", "url": server.url + "/services/T/B/X"})
        start = time.monotonic()
        (outcome,) = notify_mod.notify([hook], {"event": "modelreg.move", "model": "m"}, base_delay=0.1)
        assert time.monotonic() - start < 3.5
    assert not outcome.ok and "no answer within" in outcome.message and "/services/" not in outcome.message


def test_a_github_call_ends_at_its_timeout() -> None:
    with Trickle() as server:
        start = time.monotonic()
        with pytest.raises(ServiceError, match=r"^GitHub's API at http://127\.0\.0\.1:\d+ did not answer "
                           r"within 1 s \(pull request acme/registry#7\)") as info:
            Client(server.url, TOKEN, timeout=1.0).pull("acme/registry", 7)
        assert time.monotonic() - start < 4.0
    assert TOKEN not in str(info.value) and "\n" not in str(info.value)


def test_a_github_call_ends_at_its_total_across_pages() -> None:
    with Trickle(headers=False) as server:
        start = time.monotonic()
        with pytest.raises(ServiceError, match="did not answer within"):
            Client(server.url, TOKEN, timeout=5.0, total=1.0).reviews("acme/registry", 7)
        assert time.monotonic() - start < 4.0


def test_a_webhooks_url_path_never_reaches_the_record() -> None:
    # a chat service's webhook URL is its secret; a receiver may echo it in an error
    with HttpSink() as sink:
        sink.answer(404, body="no route for POST /services/T0/B0/SECRETPATH42")
        outcome = deliver(f"{sink.url}/services/T0/B0/SECRETPATH42", {"event": "x"}, target="t", retries=0)
    assert not outcome.ok and "SECRETPATH42" not in json.dumps(outcome.to_dict())
    assert outcome.detail["attempts"][0]["response"] == "no route for POST ***"


def test_a_tls_handshake_that_never_ends_is_cut_off_too() -> None:
    with Trickle(interval=30, headers=False) as server:  # accepts, then says nothing
        url = server.url.replace("http://", "https://")
        start = time.monotonic()
        with pytest.raises(deadline.DeadlineExceeded):
            deadline.request(deadline.opener(), urllib.request.Request(url), deadline=1.0, timeout=10.0,
                             max_bytes=1024)
        assert time.monotonic() - start < 4.0
