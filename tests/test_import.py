"""``modelreg import mlflow`` against a real MLflow sqlite store filled by MLflow's own client, and
``modelreg import gto`` against a repository made with GTO's own API."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

from modelreg.edges.hashing import digest, listing_sha256, walk_files
from tests.helpers import Cli, build_file_tree, commit_all, git

mlflow = pytest.importorskip("mlflow")

COMMIT = "0123456789abcdef0123456789abcdef01234567"
#: a policy that leaves promotions free: MLflow's aliases are imported as they are
OPEN_POLICY = """schema_version: 1
description: imported models
required: [description, metrics, lineage.code.commit]
"""


def _sha256(path: Path) -> str:
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return listing_sha256([digest(p, rel) for p, rel in walk_files(path)])


def _log_version(client: Any, name: str, experiment: str, seed: int, work: Path, *,
                 commit: str | None = COMMIT, auc: float = 0.9, description: str = "",
                 tags: dict[str, str] | None = None) -> Any:
    model_dir = work / f"{name}-{seed}"
    build_file_tree(model_dir, {"MLmodel": f"flavors: {{}}\nseed: {seed}\n",
                                "model.pkl": bytes([seed % 256]) * (1000 + seed)})
    run_tags = {"mlflow.source.git.commit": commit} if commit else {}
    run_tags["mlflow.source.name"] = "train.py"
    run = client.create_run(experiment, tags=run_tags)
    client.log_metric(run.info.run_id, "roc_auc", auc)
    client.log_metric(run.info.run_id, "f1 score", 0.5)  # a name modelreg spells f1_score
    client.log_param(run.info.run_id, "max_depth", str(seed + 2))
    client.log_param(run.info.run_id, "booster", "gbtree")
    client.log_artifacts(run.info.run_id, str(model_dir), "model")
    client.set_terminated(run.info.run_id)
    source = f"{run.info.artifact_uri}/model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return client.create_model_version(name, source, run_id=run.info.run_id, tags=tags,
                                           description=description)


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow store (sqlite + file artifact root): fraud v1..v3 (v1 Archived, v2 Production,
    @champion -> v3), churn v1 (Staging, no git commit tag), "Credit Score" v1."""
    base = tmp_path_factory.mktemp("mlflow")
    db = base / "mlflow.db"
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.create_experiment("train", artifact_location=(base / "artifacts").as_uri())
    client.create_registered_model("fraud", tags={"team": "fraud"}, description="Fraud scoring")
    for seed in (1, 2, 3):
        _log_version(client, "fraud", experiment, seed, base / "work", auc=0.9 + seed / 100,
                     description=f"fraud v{seed}", tags={"data": f"2026-0{seed}"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.transition_model_version_stage("fraud", "1", "Archived")
        client.transition_model_version_stage("fraud", "2", "Production")
    client.set_registered_model_alias("fraud", "champion", "3")
    client.create_registered_model("churn", description="Churn")
    _log_version(client, "churn", experiment, 7, base / "work", description="churn v1", commit=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.transition_model_version_stage("churn", "1", "Staging")
    client.create_registered_model("Credit Score")
    _log_version(client, "Credit Score", experiment, 9, base / "work", description="credit v1")
    return base


@pytest.fixture
def store(mlflow_store: Path, tmp_path: Path) -> Path:
    """A private copy of the MLflow store (a test may add versions to it)."""
    copy = tmp_path / "mlflow"
    shutil.copytree(mlflow_store, copy)
    # the artifact root is recorded as an absolute URI: point the copy's database at its own
    import sqlite3

    with sqlite3.connect(copy / "mlflow.db") as db:
        for table, column in (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                              ("model_versions", "source"), ("model_versions", "storage_location")):
            try:
                db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)",  # fixed names
                           (str(mlflow_store), str(copy)))
            except sqlite3.OperationalError:
                continue  # a column this MLflow version does not have
    return copy


@pytest.fixture
def open_registry(registry: Path) -> Path:
    (registry / "policies" / "default.yaml").write_text(OPEN_POLICY)
    commit_all(registry, "open policy")
    return registry


def _uri(store: Path) -> str:
    return f"sqlite:///{store / 'mlflow.db'}"


def _import(cli: Cli, root: Path, store: Path, *extra: str) -> Any:
    return cli.ok("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store), "--owner", "@acme/ml",
                  "--json", *extra).json


def test_mlflow_import_brings_versions_aliases_stages_lineage_and_bytes(cli: Cli, open_registry: Path,
                                                                        store: Path) -> None:
    root = open_registry
    out = _import(cli, root, store)
    assert out["branch"] == "modelreg/import-mlflow"
    assert git(root, "branch", "--show-current").strip() == "modelreg/import-mlflow"
    assert {(v["model"], v["version"], v["mlflow_version"]) for v in out["imported"]} == {
        ("fraud", 1, "1"), ("fraud", 2, "2"), ("fraud", 3, "3"), ("churn", 1, "1"), ("credit-score", 1, "1")}

    fraud = cli.ok("-C", str(root), "show", "fraud", "--json").json
    assert fraud["description"] == "Fraud scoring"
    assert fraud["tags"] == {"team": "fraud", "mlflow.name": "fraud"}
    assert fraud["aliases"] == {"champion": 3, "production": 2}
    assert fraud["archived"] == [1]
    assert cli.ok("-C", str(root), "resolve", "models:/fraud@champion", "--json").json["version"] == 3
    assert cli.ok("-C", str(root), "resolve", "models:/fraud/Production", "--json").json["version"] == 2
    assert cli.ok("-C", str(root), "resolve", "models:/churn@staging", "--json").json["version"] == 1
    assert cli.ok("-C", str(root), "show", "credit-score", "--json").json["tags"] == {
        "mlflow.name": "Credit Score"}

    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    v3 = cli.ok("-C", str(root), "show", "fraud/3", "--json").json["manifest"]
    mv = client.get_model_version("fraud", "3")
    run = client.get_run(mv.run_id)
    assert v3["description"] == "fraud v3"
    assert v3["metrics"] == {"roc_auc": pytest.approx(0.93), "f1_score": 0.5}
    assert v3["params"] == {"max_depth": 5, "booster": "gbtree"}
    assert v3["lineage"]["code"] == {"commit": COMMIT}
    assert v3["lineage"]["run"] == {"id": mv.run_id}
    assert v3["tags"]["data"] == "2026-03" and v3["tags"]["mlflow.version"] == "3"
    assert v3["tags"]["mlflow.run_id"] == mv.run_id and v3["tags"]["mlflow.source.name"] == "train.py"
    created = mv.creation_timestamp // 1000
    from datetime import datetime, timezone
    assert v3["created_at"] == datetime.fromtimestamp(created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # the bytes: the sha256 recorded is MLflow's bytes', and `get` gives them back verified
    mlflow_copy = Path(mlflow.artifacts.download_artifacts(run.info.artifact_uri + "/model",
                                                           dst_path=str(store / "dl")))
    assert v3["artifact"]["sha256"] == _sha256(mlflow_copy)
    got = cli.ok("-C", str(root), "get", "models:/fraud@champion", "-o", str(store / "got"), "--json").json
    assert _sha256(Path(got["path"])) == _sha256(mlflow_copy)
    churn = cli.ok("-C", str(root), "show", "churn/1", "--json").json["manifest"]
    assert "code" not in churn["lineage"]  # no commit tag on its run: none recorded

    check = cli("-C", str(root), "check", "--format", "json")
    assert check.code == 1  # churn v1 has no code commit: the policy says so, the import does not hide it
    gates = check.json["gates"]
    assert [g for g, r in gates.items() if not r["passed"]] == ["policy"]
    assert all("registry/churn/v1" in json.dumps(f) for f in gates["policy"]["findings"])

    assert _import(cli, root, store)["imported"] == []  # again: nothing new
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        experiment = client.get_experiment_by_name("train").experiment_id
    _log_version(client, "fraud", experiment, 4, store / "work", description="fraud v4")
    again = _import(cli, root, store)
    assert [(v["model"], v["version"]) for v in again["imported"]] == [("fraud", 4)]


def test_mlflow_check_passes_on_the_import_branch(cli: Cli, open_registry: Path, store: Path) -> None:
    root = open_registry
    _import(cli, root, store, "--model", "fraud", "--model", "Credit Score")
    report = cli("-C", str(root), "check", "--format", "json")
    assert report.code == 0, report.out
    # back on main, the import reads what the branch holds: nothing new, nothing switched
    git(root, "switch", "-q", "main")
    again = _import(cli, root, store, "--model", "fraud", "--model", "Credit Score")
    assert again["imported"] == [] and again["written"] is False
    assert git(root, "branch", "--show-current").strip() == "main"


def test_mlflow_dry_run_writes_nothing_and_shows_the_plan(cli: Cli, open_registry: Path,
                                                          store: Path) -> None:
    root = open_registry
    before = git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain")
    plan = _import(cli, root, store, "--dry-run")
    assert (git(root, "rev-parse", "HEAD"), git(root, "status", "--porcelain")) == before
    assert not git(root, "branch", "--list", "modelreg/import-mlflow").strip()
    assert plan["written"] is False and plan["imported"] == []
    fraud = next(m for m in plan["plan"]["models"] if m["model"] == "fraud")
    assert [v["version"] for v in fraud["versions"]] == [1, 2, 3]
    assert fraud["aliases"] == {"champion": 3, "production": 2} and fraud["archive"] == [1]
    assert plan["plan"]["bytes"] > 3000
    text = cli.ok("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store), "--dry-run").out
    assert "dry run, nothing written" in text and "alias champion -> v3" in text


def test_mlflow_numbers_with_a_gap_are_mapped_and_said(cli: Cli, open_registry: Path, store: Path) -> None:
    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.delete_model_version("fraud", "1")
    out = _import(cli, open_registry, store, "--model", "fraud")
    assert [(v["version"], v["mlflow_version"]) for v in out["imported"]] == [(1, "2"), (2, "3")]
    assert any("MLflow version 2 becomes v1" in n for n in out["notes"])
    champion = cli.ok("-C", str(open_registry), "resolve", "models:/fraud@champion", "--json").json
    assert champion["version"] == 2


def test_mlflow_unreachable_or_missing_store_fails_cleanly(cli: Cli, open_registry: Path,
                                                           tmp_path: Path) -> None:
    root = open_registry
    head = git(root, "rev-parse", "HEAD")
    missing = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", f"sqlite:///{tmp_path}/no.db")
    assert "no MLflow database" in missing.err and not (tmp_path / "no.db").exists()
    down = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", "http://127.0.0.1:9", code=4)
    assert "could not be reached: Connection refused" in down.err
    secret = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", "http://bob:s3cret@127.0.0.1:9",
                       code=4)
    assert "s3cret" not in secret.err and "http://***@127.0.0.1:9" in secret.err
    assert "Traceback" not in down.err
    assert git(root, "rev-parse", "HEAD") == head
    assert not git(root, "branch", "--list", "modelreg/import-mlflow").strip()


def test_mlflow_unknown_model_fails_cleanly(cli: Cli, open_registry: Path, store: Path) -> None:
    result = cli.fails("-C", str(open_registry), "import", "mlflow", "--tracking-uri", _uri(store),
                       "--model", "nope")
    assert "nope" in result.err


def test_mlflow_failure_part_way_keeps_whole_versions_and_says_which(cli: Cli, open_registry: Path,
                                                                    store: Path) -> None:
    root = open_registry
    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    source = Path(client.get_model_version("fraud", "2").source.removeprefix("file://"))
    shutil.rmtree(source)  # v2's bytes are gone from MLflow's artifact store
    result = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store), "--model", "fraud",
                       "--owner", "@acme/ml")
    assert "imported: fraud v1" in result.err
    assert (root / "registry/fraud/v1/version.yaml").exists()
    assert not (root / "registry/fraud/v2").exists()
    assert git(root, "status", "--porcelain").strip() == ""


# GTO -----------------------------------------------------------------------------------------------


@pytest.fixture
def gto_repo(tmp_path: Path) -> Path:
    """A GTO repository made with GTO's own API: churn v0.1.0, v0.2.0 (deregistered v0.1.0 is not),
    v1.0.0; prod -> v0.2.0 then v1.0.0, dev -> v0.2.0."""
    gto_api = pytest.importorskip("gto.api")
    repo = tmp_path / "gto"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    build_file_tree(repo, {"dvc.yaml": "artifacts:\n  churn:\n    type: model\n    path: models/churn.bin\n"
                                       "    desc: Churn model\n    labels: [tabular]\n",
                           "models/churn.bin": b"one"})
    commit_all(repo, "one")
    gto_api.register(repo, "churn", "HEAD", version="v0.1.0", message="first")
    (repo / "models/churn.bin").write_bytes(b"two")
    commit_all(repo, "two")
    gto_api.register(repo, "churn", "HEAD", version="v0.2.0", message="second")
    gto_api.assign(repo, "churn", "prod", version="v0.2.0")
    gto_api.assign(repo, "churn", "dev", version="v0.2.0")
    (repo / "models/churn.bin").write_bytes(b"three")
    commit_all(repo, "three")
    gto_api.register(repo, "churn", "HEAD", version="v1.0.0", message="third")
    gto_api.assign(repo, "churn", "prod", version="v1.0.0")
    gto_api.deregister(repo, "churn", version="v0.1.0")
    return repo


def test_gto_import_maps_semver_stages_and_bytes(cli: Cli, open_registry: Path, gto_repo: Path) -> None:
    root = open_registry
    plan = cli.ok("-C", str(root), "import", "gto", str(gto_repo), "--dry-run", "--json").json["plan"]
    assert plan["bytes"] == len(b"one") + len(b"two") + len(b"three")
    out = cli.ok("-C", str(root), "import", "gto", str(gto_repo), "--owner", "@acme/ml", "--json").json
    assert [(v["version"], v["gto_version"]) for v in out["imported"]] == [(1, "v0.1.0"), (2, "v0.2.0"),
                                                                          (3, "v1.0.0")]
    model = cli.ok("-C", str(root), "show", "churn", "--json").json
    assert model["aliases"] == {"prod": 3, "dev": 2}
    assert model["archived"] == [1]
    assert model["description"] == "Churn model"
    for number, data in ((1, b"one"), (2, b"two"), (3, b"three")):
        version = cli.ok("-C", str(root), "show", f"churn/{number}", "--json").json["manifest"]
        assert version["artifact"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert version["lineage"]["code"]["commit"] == git(gto_repo, "rev-list", "-n1",
                                                           f"churn@{version['tags']['gto.version']}").strip()
    assert cli.ok("-C", str(root), "resolve", "models:/churn@prod", "--json").json["version"] == 3
    history = cli.ok("-C", str(root), "history", "churn", "--json").json
    moves = [(e["alias"], e["version"]) for e in reversed(history) if e["kind"] == "alias"]
    assert moves == [("prod", 2), ("dev", 2), ("prod", 3)], history  # GTO's assignments, in order
    again = cli.ok("-C", str(root), "import", "gto", str(gto_repo), "--json").json
    assert again["imported"] == [] and again["written"] is False
    assert git(root, "status", "--porcelain") == ""
    unknown = cli.fails("-C", str(root), "import", "gto", str(gto_repo), "--model", "nope")
    assert "no artifact 'nope'" in unknown.err and "churn" in unknown.err


def test_mlflow_logged_model_imports_and_loads_as_mlflow_saved_it(cli: Cli, open_registry: Path,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A model logged with ``mlflow.sklearn.log_model(registered_model_name=...)`` (MLflow 3: a
    logged model, source ``models:/m-...``): imported with its run's metrics, params and commit,
    and the bytes ``modelreg get`` returns load through MLflow with the same predictions."""
    np = pytest.importorskip("numpy")
    linear = pytest.importorskip("sklearn.linear_model")
    uri = f"sqlite:///{tmp_path / 'logged.db'}"
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root, ./mlruns, lands here
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # the fluent API's store, for this test only
    features = np.arange(40, dtype=float).reshape(20, 2) / 40
    model = linear.LogisticRegression().fit(features, (features[:, 0] > 0.25).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlflow.start_run(tags={"mlflow.source.git.commit": COMMIT}):
            mlflow.log_metric("accuracy", 0.95)
            mlflow.log_param("C", 1.0)
            mlflow.sklearn.log_model(model, name="model", registered_model_name="skl")
    mlflow.MlflowClient(tracking_uri=uri).set_registered_model_alias("skl", "champion", "1")
    cli.ok("-C", str(open_registry), "import", "mlflow", "--tracking-uri", uri, "--owner", "@acme/ml")
    manifest = cli.ok("-C", str(open_registry), "show", "skl/1", "--json").json["manifest"]
    assert manifest["metrics"] == {"accuracy": 0.95} and manifest["params"] == {"C": 1.0}
    assert manifest["lineage"]["code"]["commit"] == COMMIT
    assert manifest["artifact"]["format"] == "mlflow" and manifest["artifact"]["type"] == "directory"
    got = cli.ok("-C", str(open_registry), "get", "models:/skl@champion", "-o", str(tmp_path / "out"),
                 "--json").json
    loaded = mlflow.pyfunc.load_model(got["path"])
    assert list(loaded.predict(features)) == list(model.predict(features))


def test_mlflow_an_alias_moved_here_is_not_moved_back(cli: Cli, open_registry: Path, store: Path) -> None:
    root = open_registry
    _import(cli, root, store, "--model", "fraud")
    cli.ok("-C", str(root), "promote", "fraud", "2", "--to", "champion", "--commit")
    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    client.set_registered_model_alias("fraud", "challenger", "2")
    out = _import(cli, root, store, "--model", "fraud")
    assert out["aliases"] == {"fraud": {"challenger": 2}}
    assert any("alias 'champion' is v2 here and v3 in MLflow" in n for n in out["notes"])
    assert cli.ok("-C", str(root), "resolve", "models:/fraud@champion", "--json").json["version"] == 2


def test_mlflow_import_without_owner_passes_check(cli: Cli, open_registry: Path, store: Path) -> None:
    cli.ok("-C", str(open_registry), "import", "mlflow", "--tracking-uri", _uri(store), "--model", "fraud")
    assert cli.ok("-C", str(open_registry), "show", "fraud", "--json").json["owners"] == []
    report = cli("-C", str(open_registry), "check", "--format", "json")
    assert report.code == 0, report.out


def test_gto_dvc_tracked_artifact_is_read_through_dvc_at_the_version(cli: Cli, open_registry: Path,
                                                                    tmp_path: Path) -> None:
    gto_api = pytest.importorskip("gto.api")
    repo = tmp_path / "gto-dvc"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    import subprocess
    import sys

    def dvc(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, check=True, capture_output=True)

    dvc("init", "-q")
    build_file_tree(repo, {"dvc.yaml": "artifacts:\n  big:\n    type: model\n    path: model.bin\n",
                           "model.bin": b"first bytes"})
    dvc("add", "model.bin")
    commit_all(repo, "one")
    gto_api.register(repo, "big", "HEAD", version="v1.0.0")
    (repo / "model.bin").write_bytes(b"second bytes")
    dvc("add", "model.bin")
    commit_all(repo, "two")
    gto_api.register(repo, "big", "HEAD", version="v1.1.0")
    plan = cli.ok("-C", str(open_registry), "import", "gto", str(repo), "--dry-run", "--json").json["plan"]
    assert plan["bytes"] == len(b"first bytes") + len(b"second bytes")  # from the DVC pointers
    out = cli.ok("-C", str(open_registry), "import", "gto", str(repo), "--json").json
    assert [v["gto_version"] for v in out["imported"]] == ["v1.0.0", "v1.1.0"]
    for number, data in ((1, b"first bytes"), (2, b"second bytes")):
        manifest = cli.ok("-C", str(open_registry), "show", f"big/{number}", "--json").json["manifest"]
        assert manifest["artifact"]["sha256"] == hashlib.sha256(data).hexdigest()


# The pure parts: the plan and the name mappings ---------------------------------------------------


def _versions(*keys: str, archived: tuple[str, ...] = ()) -> tuple[Any, ...]:
    from datetime import datetime, timezone

    from modelreg.imports.source import SourceVersion

    return tuple(SourceVersion(key=k, created_at=datetime(2026, 1, 1, tzinfo=timezone.utc), size=10,
                               archived=k in archived) for k in keys)


def test_plan_numbers_skips_and_aliases() -> None:
    from modelreg.imports.plan import Existing, plan
    from modelreg.imports.source import SourceModel

    source = SourceModel("fraud", "fraud", versions=_versions("1", "2", "4", archived=("1",)),
                         aliases={"champion": "4", "production": "2", "staging": "9"})
    fresh = plan("mlflow", [source], {}).models[0]
    assert [(s.number, s.source.key) for s in fresh.versions] == [(1, "1"), (2, "2"), (3, "4")]
    assert fresh.aliases == {"champion": 3, "production": 2} and fresh.archive == (1,)
    assert any("MLflow version 4 becomes v3" in n for n in fresh.notes)
    assert any("'staging' points at MLflow version 9, which is not imported" in n for n in fresh.notes)
    assert fresh.bytes == 30

    native = plan("mlflow", [source], {"fraud": Existing(True, {1: None})}).models[0]
    assert [s.number for s in native.versions] == [2, 3, 4]
    added = "was not imported from MLflow: its MLflow versions are added after v1"
    assert any(added in n for n in native.notes)

    have = Existing(True, {1: "1", 2: "2", 3: None}, {"champion": 2}, frozenset({1}), "fraud")
    again = plan("mlflow", [source], {"fraud": have}).models[0]
    assert [(s.number, s.source.key) for s in again.versions] == [(4, "4")]
    assert again.skipped == {"1": 1, "2": 2} and not again.create
    assert again.aliases == {"production": 2} and again.archive == ()
    assert any("'champion' is v2 here and v4 in MLflow" in n for n in again.notes)


def test_plan_refuses_two_models_on_one_name_and_another_source_model() -> None:
    from modelreg.errors import ConflictError
    from modelreg.imports.plan import Existing, plan
    from modelreg.imports.source import SourceModel

    with pytest.raises(ConflictError, match="would both be imported as 'credit-score'"):
        plan("mlflow", [SourceModel("credit-score", "Credit Score"),
                        SourceModel("credit-score", "credit score")], {})
    with pytest.raises(ConflictError, match="was imported from the MLflow model 'Fraud'"):
        plan("mlflow", [SourceModel("fraud", "fraud")], {"fraud": Existing(True, source_name="Fraud")})


def test_names_map_to_what_modelreg_allows() -> None:
    from modelreg.imports.source import alias, key, model_name, printable

    assert model_name("Credit Score") == "credit-score"
    assert model_name("__") == "model-imported"
    assert key("f1 score") == "f1_score" and key(".hidden") == "_.hidden"
    assert alias("Champion") == "champion" and alias("latest") is None and alias("1st") is None
    assert printable("red\x1b[31m\u202eevil\nline") == "red[31mevil\nline"


def test_mlflow_code_lineage_drops_credentials_and_short_commits() -> None:
    from modelreg.imports.mlflow_source import _code

    notes: list[str] = []
    code = _code({"mlflow.source.git.commit": COMMIT, "mlflow.source.git.repoURL":
                  "https://bob:ghp_secret@github.com/acme/fraud.git"}, "version 1:", notes)
    assert code == {"repo": "https://github.com/acme/fraud.git", "commit": COMMIT}
    for leaky in ("HTTPS://bob:ghp_secret@github.com/acme/fraud.git",
                  "https://alice:p@ss@github.com/acme/fraud.git",
                  "https://alice:p@ss/word@github.com/acme/fraud.git"):
        repo = _code({"mlflow.source.git.repoURL": leaky}, "version 1:", notes)["repo"]
        assert repo.lower() == "https://github.com/acme/fraud.git", repo
    from modelreg.imports.mlflow_source import shown

    assert shown("HTTPS://bob:pw@host/x and http://alice:p@ss@host") == "HTTPS://***@host/x and http://***@host"
    assert _code({"mlflow.source.git.commit": "abc123"}, "version 2:", notes) == {}
    assert "'abc123' is not a full commit hash" in notes[-1]


def test_import_refuses_a_bad_branch_name_before_reading(cli: Cli, registry: Path, tmp_path: Path) -> None:
    result = cli.fails("-C", str(registry), "import", "mlflow", "--tracking-uri", f"sqlite:///{tmp_path}/x.db",
                       "--branch", "bad..name")
    assert "not a valid branch name" in result.err


def test_mlflow_under_the_default_policy_an_alias_the_gates_refuse_is_named(cli: Cli, registry: Path,
                                                                           store: Path) -> None:
    """The default policy lets `production` follow `staging` only: MLflow's Production stage on a
    version never in Staging is left out, said, and the branch passes the promotion gate."""
    out = _import(cli, registry, store, "--model", "fraud")
    model = cli.ok("-C", str(registry), "show", "fraud", "--json").json
    assert model["aliases"] == {"champion": 3}
    refused = "alias 'production' -> v2 left out: the gates refuse it"
    assert any(refused in n for n in out["notes"]), out["notes"]
    assert out["left_out_aliases"] == {"fraud": {"production": "the gates refuse it"}}
    git(registry, "switch", "-q", "main")
    git(registry, "branch", "-q", "-D", "modelreg/import-mlflow")
    text = cli.ok("-C", str(registry), "import", "mlflow", "--tracking-uri", _uri(store),
                  "--model", "fraud").out
    assert "alias production -> v2: left out, the gates refuse it" in text
    assert "alias champion -> v3\n" in text
    git(registry, "switch", "-q", "modelreg/import-mlflow")
    report = cli("-C", str(registry), "check", "--format", "json").json
    assert report["gates"]["promotion"]["passed"], report


def test_only_the_readers_import_mlflow_and_gto() -> None:
    """Each source's library is imported by its one reader, lazily (``import modelreg.imports.apply``
    and the read commands load neither: tests/test_cli.py)."""
    import ast

    package = Path(__file__).resolve().parent.parent / "src" / "modelreg"
    owners = {"mlflow": "imports/mlflow_source.py", "gto": "imports/gto_source.py",
              "scmrepo": "imports/gto_source.py"}
    for path in package.rglob("*.py"):
        rel = path.relative_to(package).as_posix()
        if rel.startswith("integrations/"):
            continue  # the MLflow plugin (docs/mlflow-clients.md) is MLflow's own entry point
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top in owners:
                    assert rel == owners[top], f"{rel} imports {name}: only {owners[top]} may"
                    assert node.col_offset > 0, f"{rel} imports {name} at module level: import it lazily"


def test_gto_lineage_drops_the_remote_credentials(cli: Cli, open_registry: Path, gto_repo: Path) -> None:
    git(gto_repo, "remote", "add", "origin", "HTTPS://alice:p@ss@github.com/acme/churn.git")
    cli.ok("-C", str(open_registry), "import", "gto", str(gto_repo), "--json")
    code = cli.ok("-C", str(open_registry), "show", "churn/1", "--json").json["manifest"]["lineage"]["code"]
    assert code["repo"] == "HTTPS://github.com/acme/churn.git"
    committed = git(open_registry, "log", "-p", "--all")
    assert "alice:p" not in committed and "ss@github" not in committed


def test_mlflow_infinities_stored_as_the_largest_float_are_left_out(cli: Cli, open_registry: Path,
                                                                    store: Path) -> None:
    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    client.create_registered_model("loss")
    _log_version(client, "loss", client.get_experiment_by_name("train").experiment_id, 11, store / "work",
                 auc=float("inf"), description="loss v1")
    out = _import(cli, open_registry, store, "--model", "loss")
    metrics = cli.ok("-C", str(open_registry), "show", "loss/1", "--json").json["manifest"]["metrics"]
    assert "roc_auc" not in metrics and metrics["f1_score"] == 0.5
    assert any("'roc_auc' left out" in n and "infinity" in n for n in out["notes"]), out["notes"]


def test_mlflow_sizes_are_read_from_the_store_and_nothing_lands_in_the_work_tree(
        cli: Cli, open_registry: Path, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version registered from ``runs:/`` is listed through the store's own URIs: MLflow's default
    (``sqlite:///mlflow.db`` in the current directory) is never opened, so never created."""
    root = open_registry
    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    client.create_registered_model("runs-model")
    version = _log_version(client, "churn", client.get_experiment_by_name("train").experiment_id, 12,
                           store / "work", description="churn v2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.create_model_version("runs-model", f"runs:/{version.run_id}/model", run_id=version.run_id,
                                    description="from runs:/")
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    head = git(root, "rev-parse", "HEAD")
    plan = _import(cli, root, store, "--model", "runs-model", "--dry-run")
    assert git(root, "status", "--porcelain") == "" and not (root / "mlflow.db").exists()
    assert git(root, "rev-parse", "HEAD") == head
    sizes = [v["bytes"] for m in plan["plan"]["models"] for v in m["versions"]]
    assert sizes == [1000 + 12 + len("flavors: {}\nseed: 12\n")], plan["plan"]
    _import(cli, root, store, "--model", "runs-model")
    assert git(root, "status", "--porcelain") == "" and not (root / "mlflow.db").exists()


def test_mlflow_a_new_model_whose_first_version_fails_is_not_kept(cli: Cli, open_registry: Path,
                                                                  store: Path) -> None:
    root = open_registry
    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    source = Path(client.get_model_version("fraud", "1").source.removeprefix("file://"))
    shutil.rmtree(source)  # fraud v1's bytes are gone: churn imports, fraud has no version
    result = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store), "--model", "churn",
                       "--model", "fraud", "--owner", "@acme/ml")
    assert "imported: churn v1" in result.err
    assert "fraud's model file not kept (none of its versions was imported)" in result.err
    assert (root / "registry/churn/v1/version.yaml").exists()
    assert not (root / "registry/fraud").exists()
    assert "registry/fraud" not in git(root, "log", "--name-only", "--format=")
    assert git(root, "status", "--porcelain").strip() == ""


@pytest.mark.parametrize("declared", ["/etc/passwd", "../../etc"])
def test_gto_a_path_outside_the_repository_is_named_as_such(cli: Cli, open_registry: Path, gto_repo: Path,
                                                            declared: str) -> None:
    gto_api = pytest.importorskip("gto.api")
    (gto_repo / "dvc.yaml").write_text(f"artifacts:\n  evil:\n    type: model\n    path: {declared}\n")
    commit_all(gto_repo, "evil")
    gto_api.register(gto_repo, "evil", "HEAD", version="v0.1.0", message="evil")
    result = cli.fails("-C", str(open_registry), "import", "gto", str(gto_repo), "--model", "evil")
    assert f"declares the path {declared!r}" in result.err and "not inside the repository" in result.err
    assert "declares no path" not in result.err
    assert not (open_registry / "registry/evil").exists()


def test_mlflow_a_symbolic_link_in_the_artifacts_is_named(cli: Cli, open_registry: Path, store: Path) -> None:
    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    source = Path(client.get_model_version("churn", "1").source.removeprefix("file://"))
    (source / "link").symlink_to("/etc/hostname")
    result = cli.fails("-C", str(open_registry), "import", "mlflow", "--tracking-uri", _uri(store),
                       "--model", "churn")
    assert "link is a symbolic link" in result.err and "mlflow models" not in result.err
    assert "churn's model file not kept" in result.err


def test_mlflow_a_name_normalised_onto_a_native_model_is_refused_and_rename_imports_it(
        cli: Cli, open_registry: Path, store: Path, tmp_path: Path) -> None:
    from tests.helpers import register

    root = open_registry
    register(cli, root, tmp_path / "work", "credit-score", "--owner", "@other/team")
    head = git(root, "rev-parse", "HEAD")
    refused = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store),
                        "--model", "Credit Score")
    assert "'Credit Score' would be imported as 'credit-score', a model that exists here" in refused.err
    assert "--rename 'Credit Score=NAME'" in refused.err
    assert git(root, "rev-parse", "HEAD") == head and "credit-score/v2" not in git(root, "log", "--all",
                                                                                   "--name-only")
    out = _import(cli, root, store, "--model", "Credit Score", "--rename", "Credit Score=credit-mlflow")
    assert [(v["model"], v["version"]) for v in out["imported"]] == [("credit-mlflow", 1)]
    model = cli.ok("-C", str(root), "show", "credit-mlflow", "--json").json
    assert model["tags"]["mlflow.name"] == "Credit Score"
    again = _import(cli, root, store, "--model", "Credit Score", "--rename", "Credit Score=credit-mlflow")
    assert again["imported"] == []
    bad = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store), "--rename", "nope=x")
    assert "'nope' is not imported" in bad.err


def test_gto_rename_and_the_collision_message_names_it(cli: Cli, open_registry: Path, gto_repo: Path) -> None:
    from modelreg.errors import ConflictError
    from modelreg.imports.plan import plan
    from modelreg.imports.source import SourceModel

    with pytest.raises(ConflictError, match="--rename 'churn=NAME'"):
        plan("gto", [SourceModel("churn", "Churn"), SourceModel("churn", "churn")], {})
    out = cli.ok("-C", str(open_registry), "import", "gto", str(gto_repo), "--rename", "churn=churn-gto",
                 "--json").json
    assert {v["model"] for v in out["imported"]} == {"churn-gto"}


def test_mlflow_a_rerun_after_the_import_branch_was_merged_starts_afresh_from_head(
        cli: Cli, open_registry: Path, store: Path, tmp_path: Path) -> None:
    from tests.helpers import register

    root = open_registry
    _import(cli, root, store, "--model", "fraud")
    git(root, "switch", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "merge the import", "modelreg/import-mlflow")
    register(cli, root, tmp_path / "work", "fraud", "--commit")  # v4, registered here after the merge
    client = mlflow.MlflowClient(tracking_uri=_uri(store))
    _log_version(client, "fraud", client.get_experiment_by_name("train").experiment_id, 13, store / "work",
                 description="fraud v4 in MLflow")
    plan = _import(cli, root, store, "--model", "fraud", "--dry-run")
    assert [v["version"] for m in plan["plan"]["models"] for v in m["versions"]] == [5]
    assert any("merged into HEAD already" in n for n in plan["notes"])
    out = _import(cli, root, store, "--model", "fraud")
    assert [(v["version"], v["mlflow_version"]) for v in out["imported"]] == [(5, "4")]
    assert git(root, "merge-base", "--is-ancestor", "main", "modelreg/import-mlflow") == ""
    # an import branch HEAD moved past without merging it is refused, naming the fix
    git(root, "switch", "-q", "main")
    register(cli, root, tmp_path / "work", "fraud", "--commit", seed=1)
    diverged = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store),
                         "--model", "fraud")
    assert "have each moved on" in diverged.err and "git merge" in diverged.err


LAX_POLICY = """schema_version: 1
description: History imported as it was; new versions go through the default policy's rules.
required: []
"""


def test_mlflow_policy_option_names_a_lax_policy_so_history_imports_past_the_default_gates(
        cli: Cli, registry: Path, store: Path) -> None:
    """The default policy requires description and lineage.code.commit (churn's run has no commit):
    `--policy imported` names a lax policy in each new model.yaml, and the branch passes the gates.
    The plan marks the alias the default policy's promotion rule will refuse."""
    root = registry
    plan = cli.ok("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store), "--model", "fraud",
                  "--dry-run").out
    assert "alias production -> v2: will be left out, policy default lets production follow staging only" \
        in plan
    missing = cli.fails("-C", str(root), "import", "mlflow", "--tracking-uri", _uri(store),
                        "--policy", "imported")
    assert "no policy 'imported'" in missing.err and "--policy" in missing.err
    (root / "policies" / "imported.yaml").write_text(LAX_POLICY)
    commit_all(root, "a policy for imported history")
    _import(cli, root, store, "--model", "churn", "--model", "fraud", "--policy", "imported")
    assert cli.ok("-C", str(root), "show", "churn", "--json").json["policy"] == "imported"
    report = cli("-C", str(root), "check", "--format", "json")
    assert report.code == 0, report.out
