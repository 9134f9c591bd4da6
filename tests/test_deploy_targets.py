"""The command, webhook and kserve targets and notifications, each against real parts.

Commands are real processes; webhooks and notifications POST to a local receiver
on 127.0.0.1 (tests/http_sink.py); KServe manifests are written to a temporary
directory and read back with PyYAML (as Kubernetes' YAML 1.1 reader would). The
Activation is built here, its artifact a file the test writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelreg.deploy import notify as notify_mod
from modelreg.deploy.targets import Activation, Serving, build
from modelreg.deploy.targets import command as command_mod
from modelreg.deploy.targets import kserve as kserve_mod
from modelreg.deploy.targets import webhook as webhook_mod
from modelreg.deploy.targets.webhook import deliver, verify_signature
from modelreg.errors import IntegrityError
from modelreg.formats import models
from tests.http_sink import HttpSink

SECRET = "s3cr3t-signing-key-for-the-tests"
COMMIT = "1a2b3c4d" * 5
ARTIFACT = b"pretend this is a pickled model\n"
SHA256 = hashlib.sha256(ARTIFACT).hexdigest()
MD5 = hashlib.md5(ARTIFACT).hexdigest()


def activation(root: Path, **changes: Any) -> Activation:
    art = root / "artifact" / "model.pkl"
    if not art.exists():
        art.parent.mkdir(parents=True, exist_ok=True)
        art.write_bytes(ARTIFACT)

    def fetch_to(dest: Path) -> Path:
        shutil.copyfile(art, dest)
        return dest

    fields: dict[str, Any] = {
        "environment": "prod", "model": "fraud-detector", "alias": "production", "version": 4,
        "sha256": SHA256, "md5": MD5, "artifact_name": "model.pkl", "uri": "models:/fraud-detector/4",
        "commit": COMMIT, "registry": root, "fetch_to": fetch_to, "local_path": lambda: art,
        "manifest": {"model": "fraud-detector", "version": 4,
                     "artifact": {"path": "model.pkl", "md5": MD5, "sha256": SHA256, "size": len(ARTIFACT),
                                  "format": "pickle"}},
    }
    fields.update(changes)
    return Activation(**fields)


def swapped() -> Path:
    raise IntegrityError("model.pkl: sha256 does not match the manifest")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "registry"
    path.mkdir()
    return path


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpSink]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with HttpSink() as receiver:
        yield receiver


# -- command ---------------------------------------------------------------------------------------

PY = sys.executable


def command(root: Path, code: str, *, timeout: float = 30.0, grace: float = 5.0) -> command_mod.Command:
    return command_mod.Command([PY, "-c", code], timeout, root, grace=grace)


def test_command_gets_the_model_in_its_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INHERITED_BY_THE_COMMAND", "yes")
    code = ("import json, os; print(json.dumps({'cwd': os.getcwd(), 'env': {k: v for k, v in "
            "os.environ.items() if k.startswith('MODELREG_') or k == 'INHERITED_BY_THE_COMMAND'}}))")
    config = models.CommandTarget.model_validate({"type": "command", "run": [PY, "-c", code],
                                                  "env": ["INHERITED_BY_THE_COMMAND"]})
    target = command_mod.make(config, root)
    outcome = target.activate(activation(root))
    assert outcome.ok, outcome.message
    assert outcome.detail["exit_code"] == 0 and outcome.message == "exit code 0"
    seen = json.loads(outcome.detail["stdout"])
    assert Path(seen["cwd"]).resolve() == root.resolve()
    assert seen["env"] == {
        "MODELREG_ENVIRONMENT": "prod", "MODELREG_MODEL": "fraud-detector", "MODELREG_VERSION": "4",
        "MODELREG_ALIAS": "production", "MODELREG_ARTIFACT": str(root / "artifact" / "model.pkl"),
        "MODELREG_URI": "models:/fraud-detector/4", "MODELREG_SHA256": SHA256, "MODELREG_COMMIT": COMMIT,
        "INHERITED_BY_THE_COMMAND": "yes",
    }
    assert target.serving("fraud-detector", "production") is None


def test_command_exit_code_decides(root: Path) -> None:
    code = "import sys; print('half done'); print('cannot reach the cluster', file=sys.stderr); sys.exit(3)"
    outcome = command(root, code).activate(activation(root))
    assert not outcome.ok
    assert outcome.detail["exit_code"] == 3 and outcome.detail["timed_out"] is False
    assert outcome.message == "exit code 3: cannot reach the cluster"
    assert outcome.detail["stdout"] == "half done\n"


def test_command_timeout_kills_the_process_group(root: Path) -> None:
    # the command ignores SIGTERM and leaves a child of its own: both must be gone after the timeout
    code = ("import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "print(child.pid, flush=True); time.sleep(60)")
    started = time.monotonic()
    outcome = command(root, code, timeout=1.0, grace=0.3).activate(activation(root))
    assert time.monotonic() - started < 10
    assert not outcome.ok and outcome.detail["timed_out"] is True
    assert outcome.message == "timed out after 1s; its process group was stopped"
    child = int(outcome.detail["stdout"].strip())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the command's child outlived the timeout"


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that does not reap (PID 1 in some containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_command_output_is_capped(root: Path) -> None:
    # a megabyte on each stream, stderr first: read both as they come, keep only the tails
    code = ("import sys; sys.stderr.write('e' * 1_000_000 + 'END-ERR\\n'); sys.stderr.flush(); "
            "sys.stdout.write('o' * 1_000_000 + 'END-OUT\\n')")
    outcome = command(root, code).activate(activation(root))
    assert outcome.ok, outcome.message
    stdout, stderr = outcome.detail["stdout"], outcome.detail["stderr"]
    assert stdout.endswith("oooEND-OUT\n") and stderr.endswith("eeeEND-ERR\n")
    assert stdout.startswith("…") and len(stdout.encode()) <= command_mod.OUTPUT_TAIL + len("…".encode())
    assert len(stderr.encode()) <= command_mod.OUTPUT_TAIL + len("…".encode())


def test_command_missing_program_is_an_outcome(root: Path) -> None:
    target = command_mod.Command(["modelreg-test-no-such-program", "--now"], 10, root)
    outcome = target.activate(activation(root))
    assert not outcome.ok
    assert outcome.message.startswith("modelreg-test-no-such-program: no such program")


def test_command_not_executable(root: Path) -> None:
    (root / "deploy.sh").write_text("#!/bin/sh\nexit 0\n")
    outcome = command_mod.Command(["./deploy.sh"], 10, root).activate(activation(root))
    assert not outcome.ok and "not executable" in outcome.message
    (root / "deploy.sh").chmod(0o755)  # relative programs are found in the registry's root
    assert command_mod.Command(["./deploy.sh"], 10, root).activate(activation(root)).ok


def test_command_does_not_run_without_verified_bytes(root: Path) -> None:
    marker = root / "ran"
    outcome = command(root, f"open({str(marker)!r}, 'w')").activate(activation(root, local_path=swapped))
    assert not outcome.ok and "sha256 does not match" in outcome.message
    assert not marker.exists()


def test_command_config_through_the_table(root: Path) -> None:
    config = models.CommandTarget.model_validate({"type": "command", "run": ["deploy", "--fast"]})
    target = build(config, root)
    assert isinstance(target, command_mod.Command)
    assert target.timeout == 600 and target.name == "command deploy --fast"


# -- webhook ---------------------------------------------------------------------------------------

def webhook(url: str, *, secret_env: str | None = "MODELREG_TEST_HOOK_SECRET", retries: int = 3,
            timeout: float = 5.0) -> webhook_mod.Webhook:
    return webhook_mod.Webhook(url, secret_env=secret_env, retries=retries, timeout=timeout,
                                     base_delay=0.01)


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MODELREG_TEST_HOOK_SECRET", SECRET)
    return SECRET


def test_webhook_event_is_signed(root: Path, sink: HttpSink, secret: str) -> None:
    config = models.WebhookTarget.model_validate({"type": "webhook", "url": f"{sink.url}/hooks/deploy",
                                                  "secret_env": "MODELREG_TEST_HOOK_SECRET"})
    target = build(config, root)
    outcome = target.activate(activation(root))
    assert outcome.ok, outcome.message
    assert outcome.message == "delivered (HTTP 200)"
    (request,) = sink.requests
    assert request.method == "POST" and request.path == "/hooks/deploy"
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-modelreg-event"] == "modelreg.activate"
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["x-modelreg-delivery"])
    event = request.json()
    assert {k: event[k] for k in ("event", "environment", "model", "version", "alias", "sha256", "uri",
                                  "commit")} == {
        "event": "modelreg.activate", "environment": "prod", "model": "fraud-detector", "version": 4,
        "alias": "production", "sha256": SHA256, "uri": "models:/fraud-detector/4", "commit": COMMIT}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    stamp, signature = headers["x-modelreg-timestamp"], headers["x-modelreg-signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(secret, stamp, request.body, signature)
    assert verify_signature(secret.encode(), stamp, request.body, signature)
    assert not verify_signature("another secret", stamp, request.body, signature)
    assert not verify_signature(secret, stamp, request.body.replace(b"4", b"5"), signature)
    assert not verify_signature(secret, str(int(stamp) + 1), request.body, signature)
    assert not verify_signature(secret, stamp, request.body, None)
    assert not verify_signature(secret, stamp, request.body, signature, now=int(stamp) + 301)  # a replay
    assert verify_signature(secret, stamp, request.body, signature, now=int(stamp) + 301, tolerance=None)
    assert target.serving("fraud-detector", "production") is None


def test_webhook_without_a_secret_is_unsigned(root: Path, sink: HttpSink) -> None:
    assert webhook(sink.url, secret_env=None).activate(activation(root)).ok
    (request,) = sink.requests
    assert "x-modelreg-signature" not in request.headers and "x-modelreg-timestamp" not in request.headers


def test_webhook_retries_until_delivered(root: Path, sink: HttpSink, secret: str) -> None:
    sink.answer(500, times=1)
    sink.answer(429, times=1)
    sink.answer(503, times=1)
    outcome = webhook(sink.url).activate(activation(root))
    assert outcome.ok, outcome.message
    assert [a["status"] for a in outcome.detail["attempts"]] == [500, 429, 503, 200]
    assert len(sink.requests) == 4
    assert len({r.headers["x-modelreg-delivery"] for r in sink.requests}) == 1  # one delivery, retried
    for request in sink.requests:  # every attempt carries a valid signature of its own
        assert verify_signature(secret, request.headers["x-modelreg-timestamp"], request.body,
                                request.headers["x-modelreg-signature"])


def test_webhook_backoff_doubles_and_is_capped(sink: HttpSink) -> None:
    sink.answer(500, times=5)
    sink.answer(429, headers={"Retry-After": "3"})
    waited: list[float] = []
    outcome = deliver(sink.url, {"event": "x"}, target="t", retries=6, base_delay=0.5, max_delay=4.0,
                      sleep=waited.append)
    assert outcome.ok
    assert waited == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]  # the 429's Retry-After: 3 stays within the cap
    sink.answer(429, headers={"Retry-After": "3"})
    waited.clear()
    assert deliver(sink.url, {"event": "x"}, target="t", retries=1, base_delay=0.5, sleep=waited.append).ok
    assert waited == [3.0]


def test_webhook_retries_exhausted(root: Path, sink: HttpSink, secret: str) -> None:
    sink.answer(502, times=10, body="bad gateway")
    outcome = webhook(sink.url, retries=2).activate(activation(root))
    assert not outcome.ok
    assert len(sink.requests) == 3
    assert outcome.message == "not delivered after 3 attempts: HTTP 502"
    assert outcome.detail["attempts"][-1] == {"status": 502, "response": "bad gateway"}


def test_webhook_no_retry_on_a_client_error(root: Path, sink: HttpSink, secret: str) -> None:
    sink.answer(400, times=10, body='{"error": "unknown model"}')
    outcome = webhook(sink.url).activate(activation(root))
    assert not outcome.ok and len(sink.requests) == 1
    assert outcome.message == ("not delivered: HTTP 400; the receiver refused it, so it was not retried")


def test_webhook_retries_a_timeout(root: Path, sink: HttpSink, secret: str) -> None:
    sink.answer(200, delay=2.0)
    outcome = webhook(sink.url, timeout=0.3).activate(activation(root))
    assert outcome.ok, outcome.message
    assert outcome.detail["attempts"][0] == {"status": None, "error": "no answer within 0.3s"}
    assert len(sink.requests) == 2


def test_webhook_retries_a_refused_connection(root: Path, secret: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = webhook(f"http://127.0.0.1:{port}/hook", retries=1).activate(activation(root))
    assert not outcome.ok
    assert len(outcome.detail["attempts"]) == 2
    assert outcome.message.startswith("not delivered after 2 attempts: cannot connect")


def test_webhook_missing_secret_variable(root: Path, sink: HttpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELREG_TEST_HOOK_SECRET", raising=False)
    outcome = webhook(sink.url).activate(activation(root))
    assert not outcome.ok
    assert "MODELREG_TEST_HOOK_SECRET" in outcome.message and "not set" in outcome.message
    assert sink.requests == []  # nothing unsigned went out


def test_webhook_secret_never_in_the_outcome(root: Path, sink: HttpSink, secret: str) -> None:
    sink.answer(500, body=f"debug: your secret is {SECRET}")  # a receiver that echoes what it should not
    sink.answer(400, body=f"{SECRET}!")
    outcome = webhook(sink.url).activate(activation(root))
    assert not outcome.ok
    text = json.dumps(outcome.to_dict()) + outcome.target
    assert SECRET not in text and "***" in text
    ok = webhook(sink.url).activate(activation(root))
    assert ok.ok and SECRET not in json.dumps(ok.to_dict())


def test_webhook_refuses_a_redirect_to_another_host(root: Path, sink: HttpSink, secret: str) -> None:
    with HttpSink() as elsewhere:
        sink.answer(307, headers={"Location": f"{elsewhere.url}/steal"})
        outcome = webhook(sink.url).activate(activation(root))
        assert not outcome.ok and "not followed" in outcome.message
        assert elsewhere.requests == [] and len(sink.requests) == 1  # and not retried


def test_webhook_follows_a_redirect_on_the_same_host(root: Path, sink: HttpSink, secret: str) -> None:
    sink.answer(308, headers={"Location": "/v2/hook"})
    outcome = webhook(f"{sink.url}/hook").activate(activation(root))
    assert outcome.ok, outcome.message
    first, second = sink.requests
    assert (second.method, second.path, second.body) == ("POST", "/v2/hook", first.body)
    assert verify_signature(secret, second.headers["x-modelreg-timestamp"], second.body,
                            second.headers["x-modelreg-signature"])


# -- kserve ----------------------------------------------------------------------------------------

DVC_CONFIG = "[core]\n    remote = store\n['remote \"store\"']\n    url = s3://acme-models/registry\n"


def kserve(root: Path, **config: Any) -> kserve_mod.KServe:
    target = build(models.KServeTarget.model_validate({"type": "kserve", "path": "gitops", **config}), root)
    assert isinstance(target, kserve_mod.KServe)
    return target


@pytest.fixture
def dvc_root(root: Path) -> Path:
    (root / ".dvc").mkdir()
    (root / ".dvc" / "config").write_text(DVC_CONFIG)
    return root


def test_kserve_writes_an_inference_service(dvc_root: Path) -> None:
    outcome = kserve(dvc_root, namespace="ml").activate(activation(dvc_root))
    assert outcome.ok, outcome.message
    path = dvc_root / "gitops" / "ml" / "prod" / "fraud-detector.yaml"
    assert outcome.detail["path"] == str(path) and outcome.detail["changed"] is True
    text = path.read_text()
    assert text.startswith("# Written by `modelreg deploy`: change registry/fraud-detector/model.yaml")
    doc = yaml.safe_load(text)  # YAML 1.1, as Kubernetes reads it
    assert kserve_mod.validate(doc) == []
    assert doc["apiVersion"] == "serving.kserve.io/v1beta1" and doc["kind"] == "InferenceService"
    meta = doc["metadata"]
    assert (meta["name"], meta["namespace"]) == ("fraud-detector-prod", "ml")
    assert meta["labels"] == {"app.kubernetes.io/managed-by": "modelreg",
                              "modelreg.dev/model": "fraud-detector", "modelreg.dev/environment": "prod",
                              "modelreg.dev/alias": "production", "modelreg.dev/version": "4"}
    assert meta["annotations"] == {
        "modelreg.dev/model": "fraud-detector", "modelreg.dev/environment": "prod",
        "modelreg.dev/alias": "production", "modelreg.dev/version": "4", "modelreg.dev/sha256": SHA256,
        "modelreg.dev/md5": MD5, "modelreg.dev/commit": COMMIT,
        "modelreg.dev/uri": "models:/fraud-detector/4"}
    assert doc["spec"] == {"predictor": {"model": {
        "modelFormat": {"name": "sklearn"},
        "storageUri": f"s3://acme-models/registry/files/md5/{MD5[:2]}/{MD5[2:]}"}}}
    again = kserve(dvc_root, namespace="ml").activate(activation(dvc_root))
    assert again.ok and again.detail["changed"] is False and path.read_text() == text


@pytest.mark.parametrize(("model", "environment", "expected"), [
    ("fraud-detector", "prod", "fraud-detector-prod"),
    ("fraud.v2", "prod", r"fraud-v2-prod-[0-9a-f]{6}"),
    ("fraud_detector", "prod", r"fraud-detector-prod-[0-9a-f]{6}"),
    ("7eleven", "prod", r"m-7eleven-prod-[0-9a-f]{6}"),
    ("churn", "prod_eu_", r"churn-prod-eu-[0-9a-f]{6}"),
    ("a" * 64, "production", r"a{46}-[0-9a-f]{6}"),
    ("x" * 48, "prod", "x" * 48 + "-prod"),  # 53: fits
    ("x" * 49, "prod", r"x{46}-[0-9a-f]{6}"),
])
def test_kserve_names(model: str, environment: str, expected: str) -> None:
    name = kserve_mod.isvc_name(model, environment)
    assert re.fullmatch(expected, name), name
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= kserve_mod.NAME_MAX == 53


def test_kserve_names_do_not_collide() -> None:
    names = {kserve_mod.isvc_name(m, "prod") for m in ("a.b", "a_b", "a-b", "a.b_", "a" * 64, "a" * 63 + "b")}
    assert len(names) == 6


def test_kserve_refuses_a_name_taken_in_the_namespace(dvc_root: Path) -> None:
    target = kserve(dvc_root)
    assert target.activate(activation(dvc_root, model="a-b", environment="c")).ok
    outcome = target.activate(activation(dvc_root, model="a", environment="b-c"))
    assert not outcome.ok and "'a-b-c' is also the name in" in outcome.message
    assert not (dvc_root / "gitops/default/b-c/a.yaml").exists()


def test_kserve_long_model_name(dvc_root: Path) -> None:
    model = "fraud.detector_" + "x" * 49
    outcome = kserve(dvc_root).activate(activation(dvc_root, model=model))
    assert outcome.ok, outcome.message
    doc = yaml.safe_load((dvc_root / "gitops" / "default" / "prod" / f"{model}.yaml").read_text())
    assert kserve_mod.validate(doc) == [] and len(doc["metadata"]["name"]) == 53
    assert "modelreg.dev/model" not in doc["metadata"]["labels"]  # 64 characters: not a label value
    assert doc["metadata"]["annotations"]["modelreg.dev/model"] == model


@pytest.mark.parametrize("fmt", ["gguf", None])
def test_kserve_refuses_an_unknown_format(dvc_root: Path, fmt: str | None) -> None:
    manifest = {"artifact": {"path": "model.pkl", **({"format": fmt} if fmt else {})}}
    outcome = kserve(dvc_root).activate(activation(dvc_root, manifest=manifest))
    assert not outcome.ok
    assert ("artifact.format 'gguf' has no KServe model format" if fmt else "artifact.format is not set") \
        in outcome.message
    assert "register a version with `--format NAME`" in outcome.message
    assert not (dvc_root / "gitops").exists()


def test_kserve_says_what_would_serve_a_skops_model(dvc_root: Path) -> None:
    """Re-registering the same skops file under another --format would not help: the message says
    what would."""
    manifest = {"artifact": {"path": "model.skops", "format": "skops"}}
    outcome = kserve(dvc_root).activate(activation(dvc_root, manifest=manifest))
    assert not outcome.ok and "\n" not in outcome.message
    assert "artifact.format 'skops' has no KServe model format" in outcome.message
    assert "--format" not in outcome.message
    for hint in ("KServe's sklearn server loads only joblib or pickle files", "converted to ONNX",
                 "saved with joblib.dump as model.joblib", "runs any code in the file",
                 "artifact.code_execution", "`directory` target", "`command` target"):
        assert hint in outcome.message, hint
    assert not (dvc_root / "gitops").exists()


def test_kserve_formats(dvc_root: Path) -> None:
    for fmt, expected in (("onnx", "onnx"), ("tf-savedmodel", "tensorflow"), ("mlflow", "mlflow")):
        act = activation(dvc_root, model=f"m-{expected}", manifest={"artifact": {"format": fmt}})
        assert kserve(dvc_root).activate(act).ok
        doc = yaml.safe_load((dvc_root / "gitops" / "default" / "prod" / f"m-{expected}.yaml").read_text())
        model = doc["spec"]["predictor"]["model"]
        assert model["modelFormat"] == {"name": expected}
        assert model.get("protocolVersion") == ("v2" if fmt == "mlflow" else None)


def test_kserve_storage_uri_template(root: Path) -> None:
    # no .dvc/config needed: the template says where the cluster reads
    target = kserve(root, storage_uri="s3://serving/{model}/v{version}/{sha256}?md5={md5}")
    outcome = target.activate(activation(root, local_path=swapped))  # nothing is fetched for a template
    assert outcome.ok, outcome.message
    assert outcome.detail["storage_uri"] == f"s3://serving/fraud-detector/v4/{SHA256}?md5={MD5}"
    doc = yaml.safe_load((root / "gitops" / "default" / "prod" / "fraud-detector.yaml").read_text())
    assert doc["spec"]["predictor"]["model"]["storageUri"] == outcome.detail["storage_uri"]


@pytest.mark.parametrize("template", ["s3://serving/{name}", "s3://serving/{model.__class__}", "s3://x/{}"])
def test_kserve_storage_uri_unknown_placeholder(root: Path, template: str) -> None:
    outcome = kserve(root, storage_uri=template).activate(activation(root))
    assert not outcome.ok and "unknown placeholder" in outcome.message
    assert "{model}, {version}, {md5}, {sha256}" in outcome.message


def test_kserve_default_verifies_the_remote_object(dvc_root: Path) -> None:
    outcome = kserve(dvc_root).activate(activation(dvc_root, local_path=swapped))
    assert not outcome.ok and "could not be verified" in outcome.message
    assert not (dvc_root / "gitops").exists()


@pytest.mark.parametrize(("url", "message"), [
    ("/srv/dvc-store", "is a path on this machine"),
    ("ssh://host/store", "ssh:// is not a scheme KServe downloads from"),
])
def test_kserve_refuses_a_remote_the_cluster_cannot_read(root: Path, url: str, message: str) -> None:
    (root / ".dvc").mkdir()
    (root / ".dvc" / "config").write_text(f"[core]\n    remote = r\n['remote \"r\"']\n    url = {url}\n")
    outcome = kserve(root).activate(activation(root))
    assert not outcome.ok and message in outcome.message


def test_kserve_without_a_remote(root: Path) -> None:
    outcome = kserve(root).activate(activation(root))
    assert not outcome.ok and "no storage_uri and no DVC remote" in outcome.message


def test_kserve_directory_artifact_needs_a_storage_uri(dvc_root: Path) -> None:
    outcome = kserve(dvc_root).activate(activation(dvc_root, md5=MD5 + ".dir"))
    assert not outcome.ok and "set storage_uri" in outcome.message


def test_kserve_serving_round_trip(dvc_root: Path) -> None:
    target = kserve(dvc_root)
    assert target.serving("fraud-detector", "production") == Serving(None, None)
    assert target.activate(activation(dvc_root)).ok
    assert target.serving("fraud-detector", "production") == Serving(4, SHA256, verified=False)
    assert target.serving("fraud-detector", "production", verify=True) == Serving(4, SHA256, verified=False)
    assert target.serving("fraud-detector", "staging") == Serving(None, None)
    assert target.serving("churn", "production") == Serving(None, None)
    # a second environment serving the alias, at another version
    assert target.activate(activation(dvc_root, environment="prod-eu", version=3)).ok
    drift = target.serving("fraud-detector", "production")
    assert drift is not None and drift.version is None
    assert drift.drift == "the environments serving production disagree (prod: v4, prod-eu: v3)"


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d["metadata"].update(name="Fraud_Detector"), "metadata.name: 'Fraud_Detector' is not a DNS"),
    (lambda d: d["metadata"].update(name="9lives"), "metadata.name: '9lives' is not a DNS-1035"),
    (lambda d: d["metadata"].update(name="a" * 54), "is longer than 53 characters"),
    (lambda d: d["metadata"].update(namespace="ML"), "metadata.namespace: 'ML' is not a DNS-1123 label"),
    (lambda d: d["metadata"]["labels"].update(x="v" * 64), "metadata.labels.x: "),
    (lambda d: d["metadata"]["labels"].update({"bad key!": "v"}), "'bad key!' is not a qualified name"),
    (lambda d: d["metadata"]["annotations"].update(n=4), "metadata.annotations.n: should be a string"),
    (lambda d: d["spec"]["predictor"]["model"].update(name="m"), "spec.predictor.model.name: not allowed"),
    (lambda d: d["spec"]["predictor"].update(sklearn={}), "exactly one implementation"),
    (lambda d: d["spec"]["predictor"]["model"].pop("modelFormat"), "modelFormat.name: required"),
    (lambda d: d["spec"]["predictor"]["model"].pop("storageUri"), "storageUri: required"),
    (lambda d: d["spec"]["predictor"]["model"].update(storageUri="azure://c/p"), "azure:// is not a scheme"),
    (lambda d: d["spec"]["predictor"]["model"].update(protocolVersion="v3"), "protocolVersion: 'v3'"),
    (lambda d: d.update(apiVersion="serving.kserve.io/v1alpha1"), "apiVersion: should be"),
    (lambda d: d.pop("spec"), "spec.predictor: required"),
])
def test_kserve_validate(root: Path, change: Any, problem: str) -> None:
    doc = kserve_mod.inference_service(activation(root), namespace="ml", model_format="sklearn",
                                       storage_uri="gs://bucket/model")
    assert kserve_mod.validate(doc) == []
    change(doc)
    problems = kserve_mod.validate(doc)
    assert len(problems) == 1 and problem in problems[0], problems


def test_kserve_validate_accepts_the_documented_storage_schemes() -> None:
    for uri in ("gs://b/m", "s3://b/m", "pvc://claim/m", "https://acct.blob.core.windows.net/c/m", "oci://r/m",
                "hf://org/model", "hdfs://n/m", "webhdfs://n/m", "http://h/m.pkl", "file:///mnt/m"):
        assert kserve_mod.storage_problem(uri) is None, uri


# -- notify ----------------------------------------------------------------------------------------

DEPLOYED = {"event": "modelreg.deployment", "time": "2026-11-21T09:14:03.000000Z", "kind": "deployment",
            "model": "fraud-detector", "alias": "production", "before": 3, "after": 4, "commit": COMMIT,
            "environment": "prod", "outcome": "failed", "sha256": SHA256, "pr": 12, "approvers": None,
            "actor": "alice", "message": "webhook <http://127.0.0.1>: HTTP 500 & gave up", "targets": []}
MOVED = {"event": "modelreg.move", "model": "fraud-detector", "alias": "production", "before": 3, "after": 4,
         "commit": COMMIT, "pr": 12}


def notification(url: str, kind: str = "webhook", secret_env: str | None = None) -> models.Notification:
    return models.Notification.model_validate({"type": kind, "url": url, "secret_env": secret_env})


def test_notify_slack(sink: HttpSink) -> None:
    outcomes = notify_mod.notify([notification(f"{sink.url}/services/T0/B0/XXXX", "slack")], DEPLOYED)
    assert [o.ok for o in outcomes] == [True]
    assert outcomes[0].target == f"notify slack {sink.url}/…"  # a Slack URL's path is its secret
    (request,) = sink.requests
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"text": ":x: *fraud-detector* v4 in `prod` (production): failed — webhook "
                                      "&lt;http://127.0.0.1&gt;: HTTP 500 &amp; gave up "
                                      f"[PR #12, commit {COMMIT[:7]}]"}
    notify_mod.notify([notification(sink.url, "slack")], MOVED)
    assert sink.requests[1].json() == {
        "text": f"*fraud-detector*: `production` v3 → v4 [PR #12, commit {COMMIT[:7]}]"}


def test_notify_webhook_is_signed(sink: HttpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_TEST_NOTIFY_SECRET", SECRET)
    (outcome,) = notify_mod.notify([notification(sink.url, secret_env="MODELREG_TEST_NOTIFY_SECRET")], MOVED)
    assert outcome.ok
    (request,) = sink.requests
    assert request.json() == MOVED
    assert request.headers["x-modelreg-event"] == "modelreg.move"
    assert verify_signature(SECRET, request.headers["x-modelreg-timestamp"], request.body,
                            request.headers["x-modelreg-signature"])


def test_notify_failures_are_returned_not_raised(sink: HttpSink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELREG_TEST_NOTIFY_SECRET", raising=False)
    sink.answer(500, times=notify_mod.RETRIES + 1)
    notifications = [notification(sink.url), notification(sink.url, secret_env="MODELREG_TEST_NOTIFY_SECRET"),
                     notification(sink.url, "slack")]
    outcomes = notify_mod.notify(notifications, DEPLOYED, base_delay=0.01)
    assert [o.ok for o in outcomes] == [False, False, True]
    assert outcomes[0].message == f"not delivered after {notify_mod.RETRIES + 1} attempts: HTTP 500"
    assert "MODELREG_TEST_NOTIFY_SECRET" in outcomes[1].message
    assert len(sink.requests) == notify_mod.RETRIES + 2


def test_a_command_never_gets_the_jobs_token_and_its_output_keeps_no_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelreg.deploy.targets.command import Command as Command

    monkeypatch.setenv("GITHUB_TOKEN", "ghs_pushes-to-the-registry")
    monkeypatch.setenv("DEPLOY_HOOK_SECRET", "hook-secret-value")
    script = tmp_path / "leaky.sh"
    script.write_text('#!/bin/sh\necho "token=[$GITHUB_TOKEN] secret=[$DEPLOY_HOOK_SECRET]"\nexit 3\n')
    script.chmod(0o755)
    artifact_file = tmp_path / "model.bin"
    artifact_file.write_bytes(b"m")
    outcome = Command([str(script)], 10.0, tmp_path, secret_env=["DEPLOY_HOOK_SECRET"]).activate(
        _scrub_activation(artifact_file, tmp_path))
    recorded = json.dumps(outcome.to_dict())
    assert "token=[]" in recorded  # not passed on
    assert "hook-secret-value" not in recorded and "secret=[***]" in recorded


def _scrub_activation(artifact_file: Path, root: Path) -> Activation:
    return Activation(environment="production", model="m", alias="production", version=1, sha256="0" * 64,
                      md5="0" * 32, artifact_name="model.bin", uri="models:/m/1", commit="c" * 40,
                      registry=root, fetch_to=lambda dest: artifact_file, local_path=lambda: artifact_file)
