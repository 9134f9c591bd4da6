"""MLflow clients read a modelreg registry, and ``modelreg.load_model``: the real ``mlflow`` package.

Models trained on iris are saved with ``mlflow.sklearn.save_model`` (an MLflow model directory)
and as skops, ONNX and joblib files, registered with modelreg in a real registry (real git, real
DVC remote) and promoted by editing ``model.yaml`` as a merged pull request does. MLflow finds
the plugin through the entry points pyproject.toml declares (written into a ``.dist-info`` on
the path, as an install writes them), and unchanged MLflow code then reads the registry.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from modelreg.cli.main import main
from modelreg.errors import InputError, IntegrityError
from tests.helpers import RELATIVE_REMOTE, commit_all, git

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest's own dependency before 3.11
    import tomli as tomllib

mlflow = pytest.importorskip("mlflow")

from mlflow import MlflowClient  # noqa: E402 (after the skip: only with mlflow installed)
from mlflow.exceptions import MlflowException  # noqa: E402

import modelreg  # noqa: E402
from modelreg.integrations.mlflow import store as plugin_store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ROWS = slice(None, None, 15)


def _modelreg(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    assert code in (0, None), f"modelreg {' '.join(args)}: {err.getvalue()}"
    return out.getvalue()


def plugin_dist_info(where: Path) -> Path:
    """The entry points of pyproject.toml (groups ``mlflow.*``) as an install writes them: a
    ``.dist-info`` that ``importlib.metadata`` finds on the path. Returns the directory to add."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    groups = {g: eps for g, eps in declared.items() if g.startswith("mlflow.")}
    assert set(groups) == {"mlflow.model_registry_store", "mlflow.artifact_repository"}
    info = where / "modelreg_mlflow_plugin-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: modelreg-mlflow-plugin\nVersion: 0\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{g}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items()) + "\n"
        for g, eps in groups.items()))
    return where


def _load_entry_points(path: Path) -> None:
    """Put the plugin's entry points on this process's path and have MLflow read its entry-point
    groups again (it reads them once per process, maybe before this module was collected)."""
    sys.path.insert(0, str(path))
    importlib.invalidate_caches()
    from mlflow.store.artifact import artifact_repository_registry
    from mlflow.tracking._model_registry import utils

    artifact_repository_registry._artifact_repository_registry.register_entrypoints()
    utils._get_store_registry().register_entrypoints()


@dataclass
class Scenario:
    root: Path
    work: Path
    features: Any
    models: dict[str, Any]  # the fitted estimators by name: logistic, nb, logistic3, logistic4, churn

    @property
    def uri(self) -> str:
        return f"modelreg://{self.root}"

    def client(self) -> Any:
        return MlflowClient(registry_uri=self.uri)

    def manifest(self, model: str, version: int) -> dict[str, Any]:
        path = self.root / f"registry/{model}/v{version}/version.yaml"
        doc: dict[str, Any] = yaml.safe_load(path.read_text())
        return doc


def _isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Alice Example\n\temail = alice@example.com\n"
                         "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
    mp.setenv("HOME", str(home))
    mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("DVC_NO_ANALYTICS", "1")
    for name in ("MODELREG_REGISTRY", "MLFLOW_REGISTRY_URI", "GITHUB_ACTIONS", "GITHUB_TOKEN"):
        mp.delenv(name, raising=False)


def _train(work: Path) -> tuple[Any, dict[str, Any]]:
    import joblib
    import mlflow.sklearn
    import skops.io
    from skl2onnx import to_onnx
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB

    features, labels = load_iris(return_X_y=True)
    models = {"logistic": LogisticRegression(max_iter=1000).fit(features, labels),
              "nb": GaussianNB().fit(features, (labels + 1) % 3),  # answers unlike v1, on every row
              "logistic3": LogisticRegression(C=0.1, max_iter=1000).fit(features, labels),
              "logistic4": LogisticRegression(C=0.01, max_iter=1000).fit(features, labels)}
    for name, model in models.items():
        mlflow.sklearn.save_model(model, str(work / name / "model"))
    churn = LogisticRegression(C=0.05, max_iter=1000).fit(features, labels)
    models["churn"] = churn
    skops.io.dump(churn, work / "churn.skops")
    onx = to_onnx(churn, features[:1].astype(np.float32), options={id(churn): {"zipmap": False}})
    (work / "churn.onnx").write_bytes(onx.SerializeToString())
    joblib.dump(churn, work / "churn.joblib")
    return features, models


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = plugin_dist_info(tmp_path_factory.mktemp("plugin"))
    _load_entry_points(path)
    return path


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, plugin: Path) -> Iterator[Scenario]:
    base = tmp_path_factory.mktemp("mlflow")
    root, work, home = base / "registry", base / "work", base / "home"
    work.mkdir()
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, home)
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{base / 'tracking.db'}")
        features, models = _train(work)
        _modelreg("init", str(root))
        config = root / ".dvc/config"  # a relative remote: each copy of the registry has its own
        config.write_text(config.read_text().replace(str(root / ".modelreg/remote"), RELATIVE_REMOTE))
        (root / "policies/default.yaml").write_text("schema_version: 1\n")
        (work / "metrics.json").write_text(json.dumps({"accuracy": 0.97}))
        commit_all(root, "Create the registry")
        reg = ("-C", str(root), "register")
        common = ("--metrics", str(work / "metrics.json"), "--owner", "@acme/ml")
        _modelreg(*reg, "iris", "-a", str(work / "logistic/model"), *common, "-m", "logistic regression",
                  "--tag", "team=fraud", "--param", "C=1.0", "--run-id", "run-1",
                  "--run-url", "https://mlflow.example/runs/1")
        _modelreg(*reg, "iris", "-a", str(work / "nb/model"), *common, "--tag", "team=fraud",
                  "--tag", "candidate=yes", "--run-id", "run-2")
        _modelreg(*reg, "iris", "-a", str(work / "logistic3/model"), *common)
        _modelreg(*reg, "iris", "-a", str(work / "logistic4/model"), *common)
        for name, fmt in (("churn.skops", "skops"), ("churn.onnx", "onnx"), ("churn.joblib", "joblib")):
            _modelreg(*reg, "churn", "-a", str(work / name), "--format", fmt, *common)
        commit_all(root, "Register iris v1-v4 and churn v1-v3")
        iris = yaml.safe_load((root / "registry/iris/model.yaml").read_text())
        iris.update(description="Iris classifiers", tags={"domain": "botany"},
                    aliases={"champion": 1, "production": 1, "staging": 2}, archived=[3],
                    rejected=[{"version": 4, "reason": "worse"}])
        (root / "registry/iris/model.yaml").write_text(yaml.safe_dump(iris, sort_keys=False))
        churn = yaml.safe_load((root / "registry/churn/model.yaml").read_text())
        churn.update(tags={"domain": "retention"}, aliases={"production": 1})
        (root / "registry/churn/model.yaml").write_text(yaml.safe_dump(churn, sort_keys=False))
        commit_all(root, "Promote iris v1 to champion and production, v2 to staging (#1)")
        _modelreg("-C", str(root), "check", "--all")
        yield Scenario(root, work, features, models)


@pytest.fixture
def scene(scenario: Scenario, tmp_path: Path) -> Scenario:
    """A private copy of the registry, with its own DVC remote and no local cache of the artifacts."""
    root = tmp_path / "registry"
    shutil.copytree(scenario.root, root, symlinks=True)
    shutil.rmtree(root / ".modelreg" / "artifacts", ignore_errors=True)
    return Scenario(root, scenario.work, scenario.features, scenario.models)


def _ms(stamp: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _same_tree(a: Path, b: Path) -> None:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()
                           and p.name != "registered_model_meta")
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


# MLflow's own loaders, in a fresh process: nothing but the entry points and the environment ------


def test_unchanged_mlflow_code_loads_by_alias_version_stage_and_latest(scenario: Scenario, plugin: Path,
                                                                       tmp_path: Path) -> None:
    script = ("import json, sys, numpy as np, mlflow.pyfunc\n"
              "x = np.array(json.loads(sys.argv[1]))\n"
              "out = {u: mlflow.pyfunc.load_model(u).predict(x).tolist() for u in sys.argv[2:]}\n"
              "print(json.dumps(out))\n")
    uris = ["models:/iris@champion", "models:/iris/1", "models:/iris/2", "models:/iris/Production",
            "models:/iris/Staging", "models:/iris/latest"]
    env = {**os.environ, "MLFLOW_REGISTRY_URI": scenario.uri,
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'tracking.db'}",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(plugin)])}
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(scenario.features[ROWS].tolist()), *uris],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    want = {name: scenario.models[name].predict(scenario.features[ROWS]).tolist()
            for name in ("logistic", "nb")}
    assert want["logistic"] != want["nb"]  # so that a wrong version could not pass
    assert got == {"models:/iris@champion": want["logistic"], "models:/iris/1": want["logistic"],
                   "models:/iris/2": want["nb"], "models:/iris/Production": want["logistic"],
                   "models:/iris/Staging": want["nb"], "models:/iris/latest": want["nb"]}


# the store's reads -----------------------------------------------------------------------------


def test_get_registered_model(scenario: Scenario) -> None:
    rm = scenario.client().get_registered_model("iris")
    stamps = [_ms(scenario.manifest("iris", n)["created_at"]) for n in (1, 2, 3, 4)]
    assert (rm.name, rm.description, rm.tags) == ("iris", "Iris classifiers", {"domain": "botany"})
    assert rm.aliases == {"champion": 1, "production": 1, "staging": 2}
    assert (rm.creation_timestamp, rm.last_updated_timestamp) == (min(stamps), max(stamps))
    assert [(v.version, v.current_stage) for v in rm.latest_versions] == [(2, "Staging"), (1, "Production")]


def test_get_model_version_maps_every_field(scenario: Scenario) -> None:
    mv = scenario.client().get_model_version("iris", 1)
    doc = scenario.manifest("iris", 1)
    assert (mv.name, mv.version, mv.description, mv.user_id) == ("iris", 1, "logistic regression",
                                                                  doc["created_by"])
    assert mv.creation_timestamp == mv.last_updated_timestamp == _ms(doc["created_at"])
    assert (mv.current_stage, mv.status, mv.aliases) == ("Production", "READY", ["champion", "production"])
    assert (mv.run_id, mv.run_link) == ("run-1", "https://mlflow.example/runs/1")
    assert mv.tags == {"team": "fraud"}
    assert mv.source == f"modelreg://{scenario.root}/registry/iris/v1/model"
    assert {m.key: m.value for m in mv.metrics} == {"accuracy": 0.97}
    assert {p.key: p.value for p in mv.params} == {"C": "1.0"}
    client = scenario.client()
    assert [client.get_model_version("iris", n).current_stage for n in (2, 3, 4)] == ["Staging", "Archived",
                                                                                      "None"]
    assert client.get_model_version_download_uri("iris", 1) == mv.source


def test_get_model_version_by_alias_and_what_is_not_there(scenario: Scenario) -> None:
    client = scenario.client()
    assert client.get_model_version_by_alias("iris", "staging").version == 2
    assert client.get_model_version_by_alias("iris", "champion").run_id == "run-1"
    for call, code in ((lambda: client.get_model_version_by_alias("iris", "nope"), "RESOURCE_DOES_NOT_EXIST"),
                       (lambda: client.get_model_version("iris", 9), "RESOURCE_DOES_NOT_EXIST"),
                       (lambda: client.get_registered_model("nope"), "RESOURCE_DOES_NOT_EXIST"),
                       (lambda: client.get_model_version("iris", "one"), "INVALID_PARAMETER_VALUE")):
        with pytest.raises(MlflowException) as caught:
            call()
        assert caught.value.error_code == code, caught.value


def test_get_latest_versions_maps_stages(scenario: Scenario) -> None:
    client = scenario.client()
    # rejected v4 is in no stage; archived v3 only when Archived is asked for
    assert [(v.version, v.current_stage) for v in client.get_latest_versions("iris")] == [
        (2, "Staging"), (1, "Production")]
    assert [v.version for v in client.get_latest_versions("iris", ["production"])] == [1]
    assert [v.version for v in client.get_latest_versions("iris", ["Archived"])] == [3]
    assert [v.version for v in client.get_latest_versions("churn", ["None"])] == [3]
    with pytest.raises(MlflowException, match="Invalid Model Version stage"):
        client.get_latest_versions("iris", ["Shipping"])


def test_search_registered_models(scenario: Scenario) -> None:
    client = scenario.client()
    assert [m.name for m in client.search_registered_models()] == ["churn", "iris"]
    assert [m.name for m in client.search_registered_models("name = 'iris'")] == ["iris"]
    assert [m.name for m in client.search_registered_models("name LIKE 'ch%'")] == ["churn"]
    assert [m.name for m in client.search_registered_models("tags.domain = 'retention'")] == ["churn"]
    assert [m.name for m in client.search_registered_models(order_by=["name DESC"])] == ["iris", "churn"]
    first = client.search_registered_models(max_results=1)
    second = client.search_registered_models(max_results=1, page_token=first.token)
    assert ([m.name for m in first], [m.name for m in second], second.token) == (["churn"], ["iris"], None)


def test_search_model_versions_with_mlflows_filter_grammar(scenario: Scenario) -> None:
    client = scenario.client()

    def found(filter_string: str | None, **kw: Any) -> list[tuple[str, int]]:
        return [(v.name, v.version) for v in client.search_model_versions(filter_string, **kw)]

    assert sorted(found("name = 'iris'")) == [("iris", n) for n in (1, 2, 3, 4)]
    assert found("tags.candidate = 'yes'") == [("iris", 2)]
    assert found("run_id = 'run-1'") == [("iris", 1)]
    assert sorted(found("name = 'iris' AND tags.team = 'fraud'")) == [("iris", 1), ("iris", 2)]
    assert found("name LIKE 'chu%'", order_by=["version_number ASC"]) == [("churn", 1), ("churn", 2),
                                                                         ("churn", 3)]
    assert found("name IN ('churn') AND version_number >= 2", order_by=["version_number DESC"]) == [
        ("churn", 3), ("churn", 2)]
    page = client.search_model_versions("name = 'churn'", max_results=2, order_by=["version_number ASC"])
    rest = client.search_model_versions("name = 'churn'", max_results=2, order_by=["version_number ASC"],
                                        page_token=page.token)
    assert [v.version for v in page] + [v.version for v in rest] == [1, 2, 3]
    with pytest.raises(MlflowException) as caught:
        client.search_model_versions("metrics.accuracy > 0.5")  # MLflow's grammar has no metrics here
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_the_registry_is_read_afresh_on_every_call(scene: Scenario) -> None:
    client = scene.client()
    assert client.get_model_version_by_alias("iris", "champion").version == 1
    doc = yaml.safe_load((scene.root / "registry/iris/model.yaml").read_text())
    doc["aliases"]["champion"] = 2
    (scene.root / "registry/iris/model.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    commit_all(scene.root, "Promote iris v2 to champion (#2)")
    assert client.get_model_version_by_alias("iris", "champion").version == 2
    # ...and a revision is read as it was
    old = MlflowClient(registry_uri=f"{scene.uri}?at=HEAD~1")
    assert old.get_model_version_by_alias("iris", "champion").version == 1
    assert old.get_model_version("iris", 1).source.endswith("/registry/iris/v1/model?at=HEAD~1")


def test_registry_uri_forms(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(scenario.root.parent)
    for uri in (f"modelreg:{scenario.root}", f"modelreg:///{scenario.root}", "modelreg:registry",
                f"modelreg://localhost{scenario.root}"):
        assert MlflowClient(registry_uri=uri).get_model_version("iris", 1).version == 1, uri
    monkeypatch.chdir(scenario.root / "registry")
    assert MlflowClient(registry_uri="modelreg:").get_registered_model("churn").name == "churn"
    for bad, says in ((f"modelreg://example.com{scenario.root}", "names the host"),
                      (f"modelreg://{tmp_path}", "is not inside a modelreg registry"),
                      (f"{scenario.uri}?branch=main", "one at=REVISION")):
        with pytest.raises(MlflowException, match=says):
            MlflowClient(registry_uri=bad).get_registered_model("iris")


# downloads: the bytes modelreg get would write, verified ----------------------------------------


def test_download_artifacts_of_a_model_directory_by_alias(scenario: Scenario, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", scenario.uri)
    out = Path(mlflow.artifacts.download_artifacts("models:/iris@staging", dst_path=str(tmp_path)))
    _same_tree(scenario.work / "nb/model", out)
    meta = yaml.safe_load((out / "registered_model_meta").read_text())
    assert (meta["model_name"], str(meta["model_version"])) == ("iris", "2")
    (tmp_path / "one").mkdir()
    one = Path(mlflow.artifacts.download_artifacts("models:/iris/1/MLmodel", dst_path=str(tmp_path / "one")))
    assert one.read_bytes() == (scenario.work / "logistic/model/MLmodel").read_bytes()
    source = scenario.client().get_model_version("iris", 1).source
    again = Path(mlflow.artifacts.download_artifacts(source))
    _same_tree(scenario.work / "logistic/model", again)
    # as MLflow lists any URI: the parent's listing of the path the URI names
    assert [f.path for f in mlflow.artifacts.list_artifacts(source)] == sorted(
        f"model/{p.name}" for p in (scenario.work / "logistic/model").iterdir())


def test_download_artifacts_of_a_file(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", scenario.uri)
    out = Path(mlflow.artifacts.download_artifacts("models:/churn@production"))
    assert sorted(p.name for p in out.iterdir()) == ["churn.skops"]
    assert (out / "churn.skops").read_bytes() == (scenario.work / "churn.skops").read_bytes()


def _tamper(root: Path, data: bytes) -> list[Path]:
    """Every copy (DVC cache and remote) of the object holding ``data``, swapped for other bytes of
    the same length; returns them."""
    md5 = hashlib.md5(data).hexdigest()
    found = [r / "files/md5" / md5[:2] / md5[2:] for r in (root / ".dvc/cache", root / ".modelreg/remote")]
    found = [p for p in found if p.exists()]
    assert found
    for path in found:
        os.chmod(path, 0o644)
        path.write_bytes(bytes(b ^ 0xFF for b in data))
    return found


def test_a_tampered_artifact_fails_the_download_and_writes_nothing(scene: Scenario, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", scene.uri)
    _tamper(scene.root, (scene.work / "logistic/model/model.skops").read_bytes())
    dst = tmp_path / "dst"
    dst.mkdir()
    for uri in ("models:/iris@champion", "models:/iris/1"):
        with pytest.raises(MlflowException, match="sha256"):
            mlflow.artifacts.download_artifacts(uri, dst_path=str(dst))
        assert list(dst.iterdir()) == [], "nothing of a refused artifact may stay"
    with pytest.raises(MlflowException, match="sha256"):
        mlflow.pyfunc.load_model("models:/iris@champion")
    with pytest.raises(IntegrityError, match="sha256"):
        modelreg.load_model("models:/iris@champion", registry=scene.root)


# writes: refused, each with what to run instead ------------------------------------------------


def test_every_write_is_refused_with_what_to_run_instead(scene: Scenario) -> None:
    client = scene.client()
    before = git(scene.root, "status", "--porcelain", "--ignored")
    calls = {
        "create_registered_model": lambda: client.create_registered_model("new"),
        "create_model_version": lambda: client.create_model_version("iris", "/tmp/model", run_id="r"),
        "set_registered_model_alias": lambda: client.set_registered_model_alias("iris", "champion", 2),
        "delete_registered_model_alias": lambda: client.delete_registered_model_alias("iris", "champion"),
        "transition_model_version_stage":
            lambda: client.transition_model_version_stage("iris", 2, "Production"),
        "delete_model_version": lambda: client.delete_model_version("iris", 1),
        "delete_registered_model": lambda: client.delete_registered_model("iris"),
        "rename_registered_model": lambda: client.rename_registered_model("iris", "flowers"),
        "update_registered_model": lambda: client.update_registered_model("iris", "new text"),
        "update_model_version": lambda: client.update_model_version("iris", 1, "new text"),
        "set_registered_model_tag": lambda: client.set_registered_model_tag("iris", "k", "v"),
        "delete_registered_model_tag": lambda: client.delete_registered_model_tag("iris", "domain"),
        "set_model_version_tag": lambda: client.set_model_version_tag("iris", "1", "k", "v"),
        "delete_model_version_tag": lambda: client.delete_model_version_tag("iris", "1", "team"),
        "copy_model_version": lambda: client.copy_model_version("models:/iris/1", "other"),
    }
    instead = {"create_model_version": "modelreg register", "set_registered_model_alias": "modelreg promote",
               "transition_model_version_stage": "modelreg promote",
               "delete_registered_model_alias": "modelreg demote", "delete_model_version": "modelreg archive"}
    for name, call in calls.items():
        with pytest.raises(MlflowException) as caught:
            call()
        message = str(caught.value.message)
        assert caught.value.error_code == "PERMISSION_DENIED", (name, message)
        assert message.startswith(f"{name} is refused: {scene.uri} is a modelreg registry"), message
        assert "pull request" in message and instead.get(name, "modelreg") in message, message
    store = plugin_store.ModelregRegistryStore(scene.uri)
    assert {"create_prompt", "create_webhook", "link_prompt_version_to_model"} <= set(plugin_store.WRITES)
    for name in plugin_store.WRITES:  # every write MLflow's store interface has, prompts and webhooks too
        with pytest.raises(plugin_store.ReadOnly, match="pull request"):
            getattr(store, name)("iris", "1", "x")
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    repo = get_artifact_repository(client.get_model_version_download_uri("iris", 1))
    with pytest.raises(MlflowException, match="modelreg register"):
        repo.log_artifact(str(scene.root / "modelreg.yaml"))
    assert git(scene.root, "status", "--porcelain", "--ignored") == before


def test_a_path_outside_the_artifact_is_refused(scenario: Scenario, tmp_path: Path) -> None:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    repo = get_artifact_repository(scenario.client().get_model_version_download_uri("iris", 1))
    for path in ("../v2/model", "/etc/passwd", "MLmodel/../../.."):
        with pytest.raises(MlflowException, match="not a path inside the artifact"):
            repo.download_artifacts(path, str(tmp_path))
    with pytest.raises(MlflowException, match="has no artifact 'other'"):
        get_artifact_repository(f"modelreg://{scenario.root}/registry/iris/v1/other").download_artifacts("")


# modelreg.load_model ---------------------------------------------------------------------------


def test_load_model_returns_each_formats_object(scenario: Scenario) -> None:
    x = scenario.features[ROWS]
    want = scenario.models["churn"].predict(x).tolist()
    skops_model = modelreg.load_model("models:/churn@production", registry=scenario.root)
    assert skops_model.predict(x).tolist() == want
    session = modelreg.load_model("models:/churn/2", registry=scenario.root)
    assert type(session).__name__ == "InferenceSession"
    labels = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]
    assert labels.tolist() == want
    pyfunc = modelreg.load_model("models:/iris@staging", registry=scenario.root)
    assert type(pyfunc).__name__ == "PyFuncModel"
    assert pyfunc.predict(x).tolist() == scenario.models["nb"].predict(x).tolist()


def test_load_model_refuses_pickle_unless_trusted_and_before_fetching(scene: Scenario) -> None:
    with pytest.raises(InputError, match="trusted=True") as caught:
        modelreg.load_model("models:/churn/3", registry=scene.root)
    assert "joblib file" in str(caught.value)
    assert not (scene.root / ".modelreg/artifacts/churn").exists(), "refused before a byte is fetched"
    x = scene.features[ROWS]
    loaded = modelreg.load_model("models:/churn/3", registry=scene.root, trusted=True)
    assert loaded.predict(x).tolist() == scene.models["churn"].predict(x).tolist()


def test_the_policy_outranks_trust(scene: Scenario) -> None:
    (scene.root / "policies/default.yaml").write_text(
        "schema_version: 1\nartifact:\n  code_execution: refuse\n")
    commit_all(scene.root, "Refuse code in artifacts")
    with pytest.raises(InputError, match="code_execution: refuse"):
        modelreg.load_model("models:/churn/3", registry=scene.root, trusted=True)
    assert modelreg.load_model("models:/churn/1", registry=scene.root) is not None  # skops runs no code


def test_an_mlflow_directory_holding_a_pickle_needs_trust(scene: Scenario, tmp_path: Path) -> None:
    import mlflow.sklearn

    saved = tmp_path / "pickled" / "model"
    mlflow.sklearn.save_model(scene.models["nb"], str(saved), serialization_format="cloudpickle")
    _modelreg("-C", str(scene.root), "register", "iris", "-a", str(saved), "--metric", "accuracy=0.9")
    commit_all(scene.root, "Register iris v5 (cloudpickle)")
    with pytest.raises(InputError, match=r"MLflow model directory holding model/model\.pkl"):
        modelreg.load_model("models:/iris/5", registry=scene.root)
    x = scene.features[ROWS]
    loaded = modelreg.load_model("models:/iris/5", registry=scene.root, trusted=True)
    assert loaded.predict(x).tolist() == scene.models["nb"].predict(x).tolist()


# code, paths outside the directory and signatures: load_model and the plugin alike ---------------

def _pyc_model(where: Path, marker: Path) -> Path:
    """An MLflow model directory whose loader module is only compiled: ``code/evilmod.pyc``, no
    ``.py``; importing it creates ``marker``."""
    import py_compile

    folder = where / "pycmodel"
    (folder / "code").mkdir(parents=True)
    source = where / "evilmod.py"
    source.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
                      "class M:\n    def predict(self, x, params=None):\n        return x\n"
                      "def _load_pyfunc(path):\n    return M()\n")
    py_compile.compile(str(source), cfile=str(folder / "code/evilmod.pyc"), doraise=True)
    (folder / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: evilmod\n"
                                    "    code: code\n    python_version: 3.11.0\n")
    return folder


def _set_policy(root: Path, text: str) -> None:
    (root / "policies/default.yaml").write_text(f"schema_version: 1\n{text}")
    commit_all(root, "Change the policy")


def test_a_compiled_module_is_code_for_load_model_and_the_plugin(scene: Scenario, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "PWNED"
    folder = _pyc_model(tmp_path, marker)
    _modelreg("-C", str(scene.root), "register", "pyc", "-a", str(folder), "--metric", "accuracy=0.9",
              "--owner", "@acme/ml")
    commit_all(scene.root, "Register pyc v1")
    with pytest.raises(InputError, match=r"trusted=True") as caught:
        modelreg.load_model("models:/pyc/1", registry=scene.root)
    assert "pycmodel/code/evilmod.pyc" in str(caught.value)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", scene.uri)
    dst = tmp_path / "dst"
    dst.mkdir()
    for mode, said in (("refuse", "compiled Python module, a format that runs code"),
                       ("scan", "no scanner reads")):
        _set_policy(scene.root, f"artifact:\n  code_execution: {mode}\n")
        with pytest.raises(InputError, match=f"code_execution: {mode}|{said}"):
            modelreg.load_model("models:/pyc/1", registry=scene.root, trusted=True)
        with pytest.raises(MlflowException, match=said):
            mlflow.pyfunc.load_model("models:/pyc/1")
        with pytest.raises(MlflowException, match="nothing was downloaded"):
            mlflow.artifacts.download_artifacts("models:/pyc/1", dst_path=str(dst))
        assert list(dst.iterdir()) == [], "nothing of a refused artifact may stay"
    assert not marker.exists(), "the compiled module ran"


def test_an_mlmodel_path_outside_the_directory_is_never_loaded(scene: Scenario, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    from modelreg.edges import weights

    outside = tmp_path / "other.pkl"
    outside.write_bytes(pickle.dumps(scene.models["nb"]))
    folder = tmp_path / "absmodel"
    folder.mkdir()
    (folder / "README.txt").write_text("no pickle here\n")
    for n, path in enumerate((str(outside), "../../../../.dvc/cache/files/md5/00/x")):
        (folder / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
                                        f"    model_path: {path}\n    python_version: 3.11.0\n")
        with pytest.raises(AssertionError, match="outside the model directory"):
            _modelreg("-C", str(scene.root), "register", "abs", "-a", str(folder), "--metric",
                      "accuracy=0.9", "--owner", "@acme/ml")
        # a version registered by a modelreg that did not read MLmodel yet: the loaders still refuse
        with monkeypatch.context() as mp:
            mp.setattr(weights, "outside_paths", lambda path, name: [])
            _modelreg("-C", str(scene.root), "register", "abs", "-a", str(folder), "--metric",
                      "accuracy=0.9", *(("--owner", "@acme/ml") if n == 0 else ()))
        commit_all(scene.root, f"Register abs v{n + 1}")
        with pytest.raises(InputError, match="outside the model directory"):
            modelreg.load_model(f"models:/abs/{n + 1}", registry=scene.root, trusted=True)
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", scene.uri)
        with pytest.raises(MlflowException, match="outside the model directory"):
            mlflow.pyfunc.load_model(f"models:/abs/{n + 1}")


def test_the_plugin_verifies_the_signature_the_policy_requires(scene: Scenario, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = tmp_path / "train.key"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    (scene.root / "policies/keys").mkdir(parents=True, exist_ok=True)
    (scene.root / "policies/keys/train.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    _set_policy(scene.root, "signing:\n  required: true\n  signers:\n"
                "    - {kind: key, public_key: policies/keys/train.pub}\n")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", scene.uri)
    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(MlflowException, match=r"signature not verified.*not signed"):
        mlflow.pyfunc.load_model("models:/iris@champion")
    with pytest.raises(MlflowException, match="signature not verified"):
        mlflow.artifacts.download_artifacts("models:/iris/1", dst_path=str(dst))
    assert list(dst.iterdir()) == []
    _modelreg("-C", str(scene.root), "register", "iris", "-a", str(scene.work / "nb/model"),
              "--metric", "accuracy=0.9", "--sign-key", str(private))
    commit_all(scene.root, "Register iris v5, signed")
    x = scene.features[ROWS]
    loaded = mlflow.pyfunc.load_model("models:/iris/5")
    assert loaded.predict(x).tolist() == scene.models["nb"].predict(x).tolist()
