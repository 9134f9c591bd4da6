"""``modelreg serve`` on real parts: a scikit-learn model trained on iris, saved with skops, joblib and
ONNX, registered in a real registry (real DVC remote), deployed by ``modelreg deploy`` to a
``directory`` target, then served on a free port of 127.0.0.1 and asked for real predictions,
which must equal the model's own."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from modelreg import __version__
from modelreg.cli.main import main
from modelreg.errors import ConflictError, InputError, IntegrityError, ModelregError, NotFoundError
from modelreg.serve.model import ServedModel, open_model
from modelreg.serve.protocol import BadRequest, parse_infer_request
from modelreg.serve.server import InferenceServer
from tests.helpers import Cli, commit_all

ROWS = slice(None, None, 15)  # 10 rows of iris, every class among them


@dataclass
class Scenario:
    root: Path  # the registry: iris v1 skops, v2 joblib, v3 onnx; production=1 deployed, staging=3
    srv: Path  # the directory target of the environment "production"
    work: Path  # the files as trained
    model: Any  # the fitted LogisticRegression
    features: Any  # iris' features

    def sha256(self, version: int) -> str:
        doc = yaml.safe_load((self.root / f"registry/iris/v{version}/version.yaml").read_text())
        return str(doc["artifact"]["sha256"])


def _modelreg(*args: str) -> str:
    """Runs the real CLI in-process (usable where the function-scoped ``cli`` fixture is not)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    assert code in (0, None), f"modelreg {' '.join(args)}: {err.getvalue()}"
    return out.getvalue()


def _isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """What conftest's autouse fixture does per test, for the module-scoped set-up."""
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Alice Example\n\temail = alice@example.com\n"
                         "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("DVC_NO_ANALYTICS", "1")
    for name in ("MODELREG_REGISTRY", "GITHUB_ACTIONS", "GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_REPOSITORY",
                 "GITHUB_EVENT_PATH", "GITHUB_STEP_SUMMARY"):
        mp.delenv(name, raising=False)


def _train(work: Path) -> tuple[Any, Any]:
    import joblib
    import skops.io
    from skl2onnx import to_onnx
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(features, labels)
    skops.io.dump(model, work / "iris.skops")
    joblib.dump(model, work / "iris.joblib")
    onx = to_onnx(model, features[:1].astype(np.float32), options={id(model): {"zipmap": False}})
    (work / "iris.onnx").write_bytes(onx.SerializeToString())
    return model, features


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    base = tmp_path_factory.mktemp("serve")
    root, srv, work, home = base / "registry", base / "srv", base / "work", base / "home"
    work.mkdir()
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, home)
        model, features = _train(work)
        _modelreg("init", str(root))
        config = yaml.safe_load((root / "modelreg.yaml").read_text())
        config["environments"] = {"production": {"alias": "production", "targets": [
            {"type": "directory", "path": str(srv)}]}}
        (root / "modelreg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (root / "policies/default.yaml").write_text("schema_version: 1\n")
        (work / "metrics.json").write_text(json.dumps({"accuracy": 0.97}))
        commit_all(root, "Create the registry")
        for name, fmt in (("iris.skops", "skops"), ("iris.joblib", "joblib"), ("iris.onnx", "onnx")):
            _modelreg("-C", str(root), "register", "iris", "--artifact", str(work / name), "--format", fmt,
                      "--metrics", str(work / "metrics.json"), "--owner", "@acme/ml", "-m", f"iris as {fmt}")
        commit_all(root, "Register iris v1-v3")
        doc = yaml.safe_load((root / "registry/iris/model.yaml").read_text())
        doc["aliases"] = {"production": 1, "staging": 3}
        (root / "registry/iris/model.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        commit_all(root, "Promote iris v1 to production (#1)")
        _modelreg("-C", str(root), "deploy")
        assert os.readlink(srv / "iris" / "production") == "1"
    yield Scenario(root, srv, work, model, features)


@pytest.fixture
def scene(scenario: Scenario, tmp_path: Path) -> Scenario:
    """A copy of the scenario to change: registry and directory target (the DVC remote is shared)."""
    root, srv = tmp_path / "registry", tmp_path / "srv"
    shutil.copytree(scenario.root, root, symlinks=True)
    shutil.copytree(scenario.srv, srv, symlinks=True)
    shutil.rmtree(root / ".modelreg" / "artifacts", ignore_errors=True)  # no fetched copies
    config = yaml.safe_load((root / "modelreg.yaml").read_text())
    config["environments"]["production"]["targets"][0]["path"] = str(srv)
    (root / "modelreg.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return Scenario(root, srv, scenario.work, scenario.model, scenario.features)


@contextlib.contextmanager
def running(model: ServedModel, **options: Any) -> Iterator[InferenceServer]:
    server = InferenceServer(model, "127.0.0.1", 0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def production(scenario: Scenario) -> Iterator[InferenceServer]:
    """iris@production as deployed (v1, skops), served on a free port."""
    with running(open_model(scenario.root, "iris@production")) as server:
        yield server


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    doc: Any


def call(server: InferenceServer, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Reply:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        assert response.getheader("Content-Type") == "application/json"
        assert b"Traceback" not in raw
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw))
    finally:
        conn.close()


def infer(server: InferenceServer, rows: Any, *, name: str = "input-0", datatype: str = "FP64",
          outputs: list[str] | None = None, path: str = "/v2/models/iris/infer") -> Reply:
    request: dict[str, Any] = {"id": "req-1", "inputs": [
        {"name": name, "shape": list(rows.shape), "datatype": datatype, "data": rows.ravel().tolist()}]}
    if outputs:
        request["outputs"] = [{"name": n} for n in outputs]
    return call(server, "POST", path, json.dumps(request).encode(), {"Content-Type": "application/json"})


def output(reply: Reply, name: str) -> Any:
    tensor = next(o for o in reply.doc["outputs"] if o["name"] == name)
    return np.array(tensor["data"]).reshape(tensor["shape"])


# -- predictions ------------------------------------------------------------------------------------------


def test_the_deployed_version_answers_as_the_model_does(scenario: Scenario,
                                                        production: InferenceServer) -> None:
    rows = scenario.features[ROWS]
    reply = infer(production, rows, outputs=["predict", "predict_proba"])
    assert reply.status == 200, reply.doc
    assert output(reply, "predict").tolist() == scenario.model.predict(rows).tolist()
    assert np.allclose(output(reply, "predict_proba"), scenario.model.predict_proba(rows))
    assert (reply.doc["model_name"], reply.doc["model_version"], reply.doc["id"]) == ("iris", "1", "req-1")
    assert reply.doc["parameters"]["sha256"] == scenario.sha256(1)
    assert reply.headers["x-modelreg-sha256"] == scenario.sha256(1)
    assert reply.headers["x-modelreg-version"] == "1"
    assert production.model.source.startswith(f"the directory target {scenario.srv}")
    # predict only by default; nested data (as the shape) reads the same as flat
    nested = {"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": rows[:2].tolist()}]}
    reply = call(production, "POST", "/v2/models/iris/versions/1/infer", json.dumps(nested).encode())
    assert [o["name"] for o in reply.doc["outputs"]] == ["predict"]
    assert reply.doc["outputs"][0]["data"] == scenario.model.predict(rows[:2]).tolist()
    assert len(reply.doc["id"]) == 32  # none given: one is made


def test_metadata_and_health(scenario: Scenario, production: InferenceServer) -> None:
    assert call(production, "GET", "/v2/health/live").doc == {"live": True}
    assert call(production, "GET", "/v2/health/ready").doc == {"ready": True}
    assert call(production, "GET", "/v2/models/iris/ready").doc == {"name": "iris", "ready": True}
    server = call(production, "GET", "/v2")
    assert server.doc["name"] == "modelreg" and server.headers["server"] == f"modelreg/{__version__}"
    meta = call(production, "GET", "/v2/models/iris").doc
    assert meta == call(production, "GET", "/v2/models/iris/versions/1").doc
    assert (meta["name"], meta["versions"], meta["platform"]) == ("iris", ["1"], "scikit-learn")
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}]
    assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]
    assert meta["parameters"] == {"sha256": scenario.sha256(1), "uri": "models:/iris/1",
                                  "requested": "models:/iris@production", "format": "skops"}
    missing = call(production, "GET", "/v2/models/iris/versions/2")
    assert missing.status == 404 and "serves v1" in missing.doc["error"]
    assert call(production, "GET", "/v2/models/fraud").status == 404
    assert call(production, "GET", "/metrics").status == 404


# -- what the server refuses ------------------------------------------------------------------------------

FOUR = [5.1, 3.5, 1.4, 0.2]
BAD_BODIES = [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "JSON object"),
    (b"{}", "\"inputs\" must be a non-empty list"),
    (b'{"inputs": [], "extra": 1}', "unknown field(s) 'extra'"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": FOUR[:3]}]}),
     "shape [1, 4] holds 4 element(s), but data has 3"),
    (json.dumps({"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [FOUR, FOUR[:3]]}]}),
     "data[1] has 3 element(s) where shape [2, 4] wants 4"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FLOAT", "data": FOUR}]}),
     "\"datatype\" must be one of"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [5.1, "a", 1, 2]}]}),
     "data[1] = \"a\" is not a number (FP64)"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [True, 1, 1, 2]}]}),
     "is not a number (FP64)"),
    (b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [NaN, 1, 1, 2]}]}',
     "NaN is not a number JSON allows"),
    (b'{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1e39, 1, 1, 2]}]}',
     "is not a finite FP32"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT8", "data": [1, 2, 3, 300]}]}),
     "outside INT8's range"),
    (json.dumps({"inputs": [{"name": "x", "shape": [-1, 4], "datatype": "FP64", "data": FOUR}]}),
     "\"shape\" must be a list"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": FOUR}] * 2}),
     "input 'x' is named twice"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": FOUR[:3]}]}),
     "this model takes [rows, 4]"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": FOUR}],
                 "outputs": [{"name": "decision"}]}),
     "the model has no output 'decision' (outputs: predict, predict_proba)"),
    (json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "BYTES",
                             "data": ["a", "b", "c", "d"]}]}),
     "the model refused the input"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_malformed_requests_are_400_with_the_reason(production: InferenceServer, body: bytes | str,
                                                    message: str) -> None:
    raw = body.encode() if isinstance(body, str) else body
    reply = call(production, "POST", "/v2/models/iris/infer", raw)
    assert reply.status == 400, reply.doc
    assert message in reply.doc["error"]


def test_what_is_not_a_prediction_request_is_refused(production: InferenceServer) -> None:
    good = json.dumps({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": FOUR}]}).encode()
    assert call(production, "GET", "/v2/models/iris/infer").status == 405
    assert call(production, "POST", "/v2/models/iris", good).headers["allow"] == "GET"
    binary = call(production, "POST", "/v2/models/iris/infer", good,
                  {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": "10"})
    assert binary.status == 400 and "not JSON" in binary.doc["error"]  # the JSON part cut at 10 bytes
    form = {"Content-Type": "application/x-www-form-urlencoded"}  # what curl -d says
    assert call(production, "POST", "/v2/models/iris/infer", good, form).status == 200
    huge = call(production, "POST", "/v2/models/iris/infer", None, {"Content-Length": str(10**9)})
    assert huge.status == 413 and "at most 16777216" in huge.doc["error"]
    assert huge.headers["connection"] == "close"  # the unread body is never taken for a request
    host, port = production.server_address[:2]
    with socket.create_connection((str(host), port), timeout=10) as sock:  # no Content-Length at all
        sock.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 411 ")
    assert call(production, "GET", "/v2/health/ready").status == 200  # still serving


def test_a_small_body_cap(scenario: Scenario) -> None:
    with running(open_model(scenario.root, "iris@production"), max_body=64) as server:
        reply = infer(server, scenario.features[:10])
        assert reply.status == 413 and "at most 64" in reply.doc["error"]


def test_the_protocol_parser_alone() -> None:
    request = parse_infer_request(json.dumps({"inputs": [
        {"name": "a", "shape": [2, 2], "datatype": "UINT64", "data": [[0, 1], [2, 2**64 - 1]]},
        {"name": "b", "shape": [0, 3], "datatype": "BOOL", "data": []}],
        "outputs": [{"name": "y"}]}).encode())
    assert [t.data for t in request.inputs] == [[0, 1, 2, 2**64 - 1], []]
    assert request.outputs == ["y"] and request.id is None
    with pytest.raises(BadRequest, match=r"input .a.: data\[0\] is nested deeper than shape \[2\]"):
        parse_infer_request(b'{"inputs": [{"name": "a", "shape": [2], "datatype": "INT32", '
                            b'"data": [[1], 2]}]}')
    with pytest.raises(BadRequest, match="not JSON this server takes"):
        parse_infer_request(b'{"id": ' + b"9" * 5000 + b"}")


# -- what is refused before serving -----------------------------------------------------------------------


def test_a_tampered_deployed_file_is_refused(scene: Scenario, cli: Cli) -> None:
    deployed = scene.srv / "iris" / "1" / "iris.skops"
    os.chmod(deployed, 0o644)
    data = bytearray(deployed.read_bytes())
    data[-1] ^= 0xFF
    deployed.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=rf"{re.escape(str(deployed))}: sha256 \w+, but "
                       r"registry/iris/v1/version\.yaml records \w+; refusing to load it"):
        open_model(scene.root, "iris@production")
    err = cli.fails("-C", str(scene.root), "serve", "iris@production", "--port", "0").err
    assert "refusing to load it" in err and "modelreg reconcile" in err


def test_pickle_is_refused_without_trust_and_before_any_byte_is_fetched(scene: Scenario, cli: Cli) -> None:
    with pytest.raises(InputError, match=r"models:/iris/2 is a joblib file: loading it runs any code it "
                       r"contains.*pass --trust-pickle"):
        open_model(scene.root, "models:/iris/2")
    assert not (scene.root / ".modelreg" / "artifacts").exists()
    assert "--trust-pickle" in cli.fails("-C", str(scene.root), "serve", "iris/2", "--port", "0").err
    assert "RUNS ANY CODE it contains" in " ".join(cli.ok("serve", "--help").out.split())


def test_pickle_with_trust_is_fetched_verified_and_served(scene: Scenario) -> None:
    model = open_model(scene.root, "models:/iris/2", trust_pickle=True)
    assert (model.version, model.format, model.source) == (2, "joblib", "the DVC remote")
    assert (scene.root / ".modelreg/artifacts/iris/v2/iris.joblib").is_file()  # as load_path caches it
    rows = scene.features[ROWS]
    with running(model) as server:
        reply = infer(server, rows)
    assert output(reply, "predict").tolist() == scene.model.predict(rows).tolist()
    assert reply.doc["model_version"] == "2" and reply.doc["parameters"]["sha256"] == scene.sha256(2)


def test_a_remote_that_cannot_be_reached_is_named_before_serving(scene: Scenario, cli: Cli) -> None:
    from tests.test_remote_errors import closed_port, point_remote_at

    shutil.rmtree(scene.root / ".dvc" / "cache", ignore_errors=True)
    port = closed_port()
    point_remote_at(scene.root, f"http://127.0.0.1:{port}/store")
    err = cli.fails("-C", str(scene.root), "serve", "iris/2", "--trust-pickle", "--port", "0", code=4).err
    assert f"the default remote is 'storage' (http://127.0.0.1:{port}/store); nothing answered" in err
    assert "has no object" not in err and len(err.strip().splitlines()) == 1


def test_onnx_is_served_as_onnxruntime_answers(scene: Scenario) -> None:
    import onnxruntime

    model = open_model(scene.root, "iris@staging")  # no environment serves staging: fetched
    assert (model.version, model.format) == (3, "onnx")
    rows = scene.features[ROWS].astype(np.float32)
    direct = onnxruntime.InferenceSession(str(scene.work / "iris.onnx"), providers=["CPUExecutionProvider"])
    label, probabilities = direct.run(None, {"X": rows})
    with running(model) as server:
        meta = call(server, "GET", "/v2/models/iris").doc
        assert meta["platform"] == "onnxruntime_onnx"
        assert meta["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}]
        reply = infer(server, rows, name="X", datatype="FP32")
        assert reply.status == 200, reply.doc
        assert output(reply, "label").tolist() == label.tolist() == scene.model.predict(rows).tolist()
        assert np.allclose(output(reply, "probabilities"), probabilities)
        wrong = infer(server, rows, name="X", datatype="FP64")
        assert wrong.status == 400 and "input 'X' is FP64; the model takes FP32" in wrong.doc["error"]
        unknown = infer(server, rows, name="features", datatype="FP32")
        assert unknown.status == 400 and "missing 'X'; unknown 'features'" in unknown.doc["error"]


def test_skops_types_outside_its_trusted_set_need_naming(scene: Scenario, cli: Cli) -> None:
    import skops.io
    from sklearn.tree import DecisionTreeClassifier

    features, labels = scene.features, scene.model.predict(scene.features)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(features, labels)
    skops.io.dump(tree, scene.work.parent / "tree.skops")
    cli.ok("-C", str(scene.root), "register", "iris", "--artifact", str(scene.work.parent / "tree.skops"),
           "--format", "skops", "--metrics", str(scene.work / "metrics.json"), "-m", "a tree")
    with pytest.raises(InputError, match=r"holds type\(s\) skops does not trust by default: "
                       r"sklearn\.tree\._tree\.Tree.*--trust-type"):
        open_model(scene.root, "iris/4")
    model = open_model(scene.root, "iris/4", trust_types=("sklearn.tree._tree.Tree",))
    assert model.trusted_types == ("sklearn.tree._tree.Tree",)
    with running(model) as server:
        reply = infer(server, features[ROWS])
    assert output(reply, "predict").tolist() == tree.predict(features[ROWS]).tolist()


def test_a_promotion_not_yet_deployed_serves_what_is_deployed_and_says_so(scene: Scenario) -> None:
    doc = yaml.safe_load((scene.root / "registry/iris/model.yaml").read_text())
    doc["aliases"]["production"] = 2
    (scene.root / "registry/iris/model.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    model = open_model(scene.root, "iris@production")
    assert model.version == 1
    assert "serves production = v1, but the registry says v2: serving what is deployed" in model.notes[0]


def test_a_deployed_file_that_is_not_a_regular_file_is_refused(scene: Scenario) -> None:
    deployed = scene.srv / "iris" / "1" / "iris.skops"
    deployed.unlink()
    os.mkfifo(deployed)  # reading it would block forever
    with pytest.raises(IntegrityError, match=r"iris\.skops is not a regular file"):
        open_model(scene.root, "iris@production")


def test_a_missing_library_names_the_extra_before_anything_is_fetched(scene: Scenario,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # how Python marks a module as not importable
    with pytest.raises(ModelregError, match=r"serving onnx models needs onnxruntime, which is not "
                       r"installed; pip install 'modelreg\[serve\]'"):
        open_model(scene.root, "iris@staging")
    assert not (scene.root / ".modelreg" / "artifacts").exists()


def test_the_request_log_escapes_control_characters(scenario: Scenario) -> None:
    lines: list[str] = []
    with running(open_model(scenario.root, "iris@production"), log=lines.append) as server:
        host, port = server.server_address[:2]
        with socket.create_connection((str(host), port), timeout=10) as sock:
            sock.sendall(b"GET /v2/\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 404 ")
    assert any("GET /v2/\\x1b[2J" in line for line in lines) and not any("\x1b" in line for line in lines)


class Broken:
    """A model that fails (negative first feature) or answers NaN: pickled, so loaded with --trust-pickle."""

    n_features_in_ = 4

    def predict(self, rows: Any) -> Any:
        if rows[0, 0] < 0:
            raise RuntimeError("/internal/path/weights.bin is gone")
        return np.full(len(rows), np.nan)


def test_a_failing_model_is_a_500_without_its_details(scene: Scenario, cli: Cli) -> None:
    import joblib

    joblib.dump(Broken(), scene.work.parent / "broken.joblib")
    cli.ok("-C", str(scene.root), "register", "iris", "--artifact", str(scene.work.parent / "broken.joblib"),
           "--metrics", str(scene.work / "metrics.json"), "-m", "broken")
    lines: list[str] = []
    with running(open_model(scene.root, "iris/4", trust_pickle=True), log=lines.append) as server:
        failed = infer(server, -scene.features[:2])
        assert failed.status == 500 and failed.doc == {"error": "the model failed: RuntimeError"}
        assert any("weights.bin is gone" in line for line in lines)  # the detail goes to the log only
        nan = infer(server, scene.features[:2])
        assert nan.status == 500 and "NaN or infinity" in nan.doc["error"]
        assert call(server, "GET", "/v2/health/ready").status == 200


def test_a_link_that_is_not_a_version_is_refused(scene: Scenario) -> None:
    link = scene.srv / "iris" / "production"
    link.unlink()
    link.symlink_to("../../etc")
    with pytest.raises(IntegrityError, match=r"points at '\.\./\.\./etc', not at a version directory"):
        open_model(scene.root, "iris@production")


def test_environments_are_checked(scenario: Scenario) -> None:
    with pytest.raises(NotFoundError, match=r"no environment 'nope' in modelreg\.yaml"):
        open_model(scenario.root, "iris@production", env="nope")
    with pytest.raises(InputError, match="environment 'production' serves the alias 'production', not "
                       "'staging'"):
        open_model(scenario.root, "iris@staging", env="production")


def test_a_taken_port_is_a_clear_error(scenario: Scenario, production: InferenceServer) -> None:
    port = production.server_address[1]
    with pytest.raises(ConflictError, match=rf"cannot listen on 127\.0\.0\.1 port {port}: .*--port"):
        InferenceServer(production.model, "127.0.0.1", port)


# -- the command ------------------------------------------------------------------------------------------


def test_the_command_serves_on_a_free_port_until_interrupted(scenario: Scenario) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "modelreg", "-C", str(scenario.root), "serve",
                             "iris@production", "--port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline())
        assert (started["version"], started["sha256"], started["format"]) == (1, scenario.sha256(1), "skops")
        assert started["url"].startswith("http://127.0.0.1:")
        rows = scenario.features[ROWS]
        request = {"inputs": [{"name": "input-0", "shape": [10, 4], "datatype": "FP64",
                               "data": rows.ravel().tolist()}]}
        conn = http.client.HTTPConnection(started["url"].removeprefix("http://"), timeout=10)
        conn.request("POST", "/v2/models/iris/infer", json.dumps(request))
        reply = json.loads(conn.getresponse().read())
        conn.close()
        assert reply["outputs"][0]["data"] == scenario.model.predict(rows).tolist()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert '"POST /v2/models/iris/infer HTTP/1.1" 200' in err and err.rstrip().endswith("stopped")


@pytest.mark.parametrize(("datatype", "data", "said"), [
    ("BYTES", ["5.1", "3.5", "1.4", "0.2"], "input 'input-0' is BYTES; the model takes FP64"),
    ("BOOL", [True, False, True, False], "input 'input-0' is BOOL; the model takes FP64"),
    ("UINT64", [2**64 - 1, 3, 1, 0], "input 'input-0' is UINT64 with a value beyond ±2**53"),
    ("INT64", [-(2**53) - 1, 3, 1, 0], "input 'input-0' is INT64 with a value beyond ±2**53"),
])
def test_the_sklearn_input_refuses_a_datatype_fp64_does_not_hold(production: InferenceServer, datatype: str,
                                                                  data: list[Any], said: str) -> None:
    request = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": datatype, "data": data}]}
    reply = call(production, "POST", "/v2/models/iris/infer", json.dumps(request).encode())
    assert reply.status == 400 and said in reply.doc["error"], reply.doc


@pytest.mark.parametrize(("datatype", "data"), [("FP32", FOUR), ("FP16", [5.0, 3.5, 1.5, 0.25]),
                                                ("INT64", [5, 3, 1, 0]), ("UINT8", [5, 3, 1, 0])])
def test_the_sklearn_input_takes_datatypes_that_convert_exactly(
        scenario: Scenario, production: InferenceServer, datatype: str, data: list[Any]) -> None:
    request = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": datatype, "data": data}]}
    reply = call(production, "POST", "/v2/models/iris/infer", json.dumps(request).encode())
    assert reply.status == 200, reply.doc
    assert reply.doc["outputs"][0]["data"] == scenario.model.predict(np.array([data], dtype=float)).tolist()
