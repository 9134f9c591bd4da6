"""``modelreg register``: what it records, and that bad input writes nothing."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import yaml

from tests.helpers import Cli, artifact, commit_all, git, metrics_file, register, snapshot_tree


def manifest(root: Path, model: str, version: int) -> dict:
    return yaml.safe_load((root / "registry" / model / f"v{version}" / "version.yaml").read_text())


def test_register_records_everything(registry: Path, workdir: Path, cli: Cli, code_repo: Path) -> None:
    art = artifact(workdir / "model.pkl", size=10_000)
    mfile = metrics_file(workdir / "metrics.json", {
        "roc_auc": 0.9724, "f1": 0.7964,
        "slices": {"card_type=visa": {"roc_auc": 0.9731}, "card_type=master": {"roc_auc": 0.9708}}})
    params = workdir / "params.yaml"
    params.write_text("eta: 0.1\nobjective: binary\n")
    card = workdir / "card.md"
    card.write_text("# Fraud detector\n")
    data = artifact(workdir / "transactions.parquet", size=500, seed=3)
    result = cli.ok("-C", str(registry), "register", "fraud-detector", "--artifact", str(art),
                    "--metrics", str(mfile), "--metric", "latency_p95_ms=41", "--params", str(params),
                    "--param", "max_depth=6", "--param", "booster=gbtree", "--tag", "team=fraud",
                    "--tag", "approved=yes", "--description", "XGBoost; trained on 2024-11 data",
                    "--framework", "xgboost==2.0.3", "--dataset", f"transactions={data}",
                    "--run-id", "5f1e", "--run-url", "https://mlflow.acme/runs/5f1e", "--card", str(card),
                    "--code-repo", str(code_repo), "--owner", "@acme/fraud-ml", "--policy", "high-risk")
    assert "Registered fraud-detector v1" in result.out
    doc = manifest(registry, "fraud-detector", 1)
    import hashlib

    raw = art.read_bytes()
    assert doc["artifact"] == {"path": "model.pkl", "type": "file", "md5": hashlib.md5(raw).hexdigest(),
                               "sha256": hashlib.sha256(raw).hexdigest(), "size": 10_000, "format": "pickle"}
    assert doc["metrics"] == {"roc_auc": 0.9724, "f1": 0.7964, "latency_p95_ms": 41.0}
    assert doc["slices"]["card_type=visa"] == {"roc_auc": 0.9731}
    assert doc["params"] == {"eta": 0.1, "objective": "binary", "max_depth": 6, "booster": "gbtree"}
    assert doc["tags"] == {"team": "fraud", "approved": "yes"}
    assert doc["framework"] == {"name": "xgboost", "version": "2.0.3"}
    code = doc["lineage"]["code"]
    assert code["repo"] == "https://github.com/acme/fraud.git"
    assert code["commit"] == git(code_repo, "rev-parse", "HEAD").strip()
    assert code["dirty"] is False
    assert doc["lineage"]["data"] == [{"name": "transactions", "path": str(data), "size": 500,
                                       "md5": hashlib.md5(data.read_bytes()).hexdigest(),
                                       "sha256": hashlib.sha256(data.read_bytes()).hexdigest()}]
    assert doc["lineage"]["run"] == {"id": "5f1e", "url": "https://mlflow.acme/runs/5f1e"}
    assert doc["created_by"] == "Alice Example"
    assert doc["card"] == "card.md"
    assert (registry / "registry/fraud-detector/v1/card.md").read_text() == "# Fraud detector\n"
    model = yaml.safe_load((registry / "registry/fraud-detector/model.yaml").read_text())
    assert model["owners"] == ["@acme/fraud-ml"] and model["policy"] == "high-risk"
    # The pointer is DVC's own format, and the object is in the remote at DVC's address.
    pointer = yaml.safe_load((registry / "registry/fraud-detector/v1/model.pkl.dvc").read_text())
    md5 = doc["artifact"]["md5"]
    assert pointer["outs"][0] == {"md5": md5, "size": 10_000, "hash": "md5", "path": "model.pkl"}
    remote_object = registry / ".modelreg/remote/files/md5" / md5[:2] / md5[2:]
    assert remote_object.read_bytes() == raw
    # The artifact never enters git.
    assert (registry / "registry/fraud-detector/v1/.gitignore").read_text() == "/model.pkl\n"


def test_versions_count_up(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, seed=1)
    result = register(cli, registry, workdir, seed=2)
    assert "v2" in result.out
    assert manifest(registry, "fraud-detector", 2)["version"] == 2


def test_dirty_code_is_marked(registry: Path, workdir: Path, cli: Cli, code_repo: Path) -> None:
    (code_repo / "train.py").write_text("print('changed')\n")
    register(cli, registry, workdir, "fraud-detector", "--code-repo", str(code_repo))
    assert manifest(registry, "fraud-detector", 1)["lineage"]["code"]["dirty"] is True


def test_dvc_tracked_dataset_records_dvc_hash(registry: Path, workdir: Path, cli: Cli) -> None:
    (workdir / "data.csv.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef\n"
                                          "  size: 77\n  hash: md5\n  path: data.csv\n")
    register(cli, registry, workdir, "fraud-detector", "--dataset", str(workdir / "data.csv"))
    data = manifest(registry, "fraud-detector", 1)["lineage"]["data"][0]
    assert data == {"name": "data.csv", "path": str(workdir / "data.csv"),
                    "md5": "0123456789abcdef0123456789abcdef", "size": 77}


def test_directory_artifact(registry: Path, workdir: Path, cli: Cli) -> None:
    folder = workdir / "hf-model"
    artifact(folder / "model.safetensors", size=3000, seed=1)
    (folder / "config.json").write_text("{}")
    artifact(folder / "tokenizer" / "vocab.txt", size=100, seed=2)
    cli.ok("-C", str(registry), "register", "bert-intent", "--artifact", str(folder), "--metric", "f1=0.91",
           "--owner", "@acme/nlp")
    doc = manifest(registry, "bert-intent", 1)
    assert doc["artifact"]["type"] == "directory"
    assert doc["artifact"]["files"] == 3
    assert doc["artifact"]["size"] == 3102
    assert doc["artifact"]["format"] == "huggingface"
    assert doc["artifact"]["md5"].endswith(".dir")


def test_branch_and_commit(registry: Path, workdir: Path, cli: Cli) -> None:
    result = register(cli, registry, workdir, "fraud-detector", "--branch", "register/fraud-v1")
    assert "on branch register/fraud-v1" in result.out
    assert git(registry, "branch", "--show-current").strip() == "register/fraud-v1"
    assert git(registry, "log", "-1", "--format=%s").strip() == "Register fraud-detector v1"
    assert git(registry, "status", "--porcelain").strip() == ""
    files = git(registry, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(files) == [".github/CODEOWNERS",  # a new model's owners route its reviews
                             "registry/fraud-detector/model.yaml", "registry/fraud-detector/v1/.gitignore",
                             "registry/fraud-detector/v1/model.pkl.dvc",
                             "registry/fraud-detector/v1/version.yaml"]


def test_without_commit_the_tree_is_left_to_the_user(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir)
    assert "registry/fraud-detector/" in git(registry, "status", "--porcelain")
    assert git(registry, "log", "--format=%s").splitlines() == ["Create the registry"]


def test_new_model_needs_an_owner(registry: Path, workdir: Path, cli: Cli) -> None:
    art = artifact(workdir / "model.pkl")
    result = cli.fails("-C", str(registry), "register", "fraud-detector", "--artifact", str(art))
    assert "--owner" in result.err


def test_owner_of_an_existing_model_is_not_silently_changed(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir)
    art = artifact(workdir / "model.pkl")
    result = cli.fails("-C", str(registry), "register", "fraud-detector", "--artifact", str(art),
                       "--owner", "@someone/else")
    assert "model.yaml" in result.err and "pull request" in result.err


# Bad input: one line naming file/field and fix, exit 1, nothing written ------------------------

BAD_METRICS = [
    ('{"roc_auc": NaN}', "roc_auc: nan is not a finite number"),
    ('{"roc_auc": Infinity}', "roc_auc: inf is not a finite number"),
    ('{"slices": {"visa": {"auc": -Infinity}}}', "slices.visa.auc: -inf is not a finite number"),
    ('{"roc_auc": "0.97"}', "roc_auc: expected a number, got str"),
    ('{"roc_auc": true}', "roc_auc: expected a number, got bool"),
    ('{"slices": {"a": {"auc": null}}}', "slices.a.auc: expected a number"),
    ('[1, 2]', "expected a mapping"),
    ('{"roc_auc": 0.9,', "invalid JSON"),
]


@pytest.mark.parametrize(("text", "message"), BAD_METRICS)
def test_bad_metrics_file(registry: Path, workdir: Path, cli: Cli, text: str, message: str) -> None:
    (workdir / "metrics.json").write_text(text)
    art = artifact(workdir / "model.pkl")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", "m", "--artifact", str(art), "--metrics",
                       str(workdir / "metrics.json"), "--owner", "@acme/x")
    assert message in result.err
    assert str(workdir / "metrics.json") in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert snapshot_tree(registry) == before


@pytest.mark.parametrize("text", ["roc_auc: .nan\n", "roc_auc: 0.9\nroc_auc: 0.8\n", "a: &x 1\nb: *x\n"])
def test_bad_yaml_metrics_file(registry: Path, workdir: Path, cli: Cli, text: str) -> None:
    (workdir / "metrics.yaml").write_text(text)
    art = artifact(workdir / "model.pkl")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", "m", "--artifact", str(art), "--metrics",
                       str(workdir / "metrics.yaml"), "--owner", "@acme/x")
    assert f"{workdir / 'metrics.yaml'}:" in result.err
    assert snapshot_tree(registry) == before


@pytest.mark.parametrize(("args", "message"), [
    (["--metric", "auc=nan"], "not a finite number"),
    (["--metric", "auc=high"], "'high' is not a number"),
    (["--metric", "auc"], "is not KEY=VALUE"),
    (["--tag", "bad key=x"], "tags.bad key"),
    (["--owner", "not an owner"], "owners.0"),
    (["--policy", "../../etc"], "policy"),
])
def test_bad_options(registry: Path, workdir: Path, cli: Cli, args: list[str], message: str) -> None:
    art = artifact(workdir / "model.pkl")
    before = snapshot_tree(registry)
    owner = [] if "--owner" in args else ["--owner", "@acme/x"]
    result = cli.fails("-C", str(registry), "register", "m", "--artifact", str(art), *owner, *args)
    assert message in result.err, result.err
    assert snapshot_tree(registry) == before


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "Fraud", ".git"])
def test_names_that_leave_the_registry(registry: Path, workdir: Path, cli: Cli, name: str) -> None:
    art = artifact(workdir / "model.pkl")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", name, "--artifact", str(art), "--owner", "@a/b")
    assert "is not a valid model name" in result.err
    assert snapshot_tree(registry) == before
    assert not (registry.parent / "evil").exists()


def test_artifact_symlink_inside_directory_is_refused(registry: Path, workdir: Path, cli: Cli) -> None:
    folder = workdir / "model"
    artifact(folder / "weights.bin")
    os.symlink("/etc/passwd", folder / "leak")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", "m", "--artifact", str(folder), "--owner", "@a/b")
    assert "symbolic link" in result.err
    assert snapshot_tree(registry) == before


def test_remote_down_leaves_no_half_version(tmp_path: Path, workdir: Path, cli: Cli) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the remote should be")
    registry = tmp_path / "reg"
    cli.ok("init", str(registry), "--remote", str(blocker / "remote"))
    commit_all(registry, "Point at a broken remote")
    art = artifact(workdir / "model.pkl")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", "m", "--artifact", str(art), "--metric", "auc=0.9",
                       "--owner", "@a/b", "--commit", code=4)  # a service failed: not the input
    assert "DVC push failed" in result.err or "could not push" in result.err
    assert "check the remote" in result.err and "'storage'" in result.err
    assert snapshot_tree(registry) == before
    assert git(registry, "log", "-1", "--format=%s").strip() == "Point at a broken remote"


def test_an_http_remote_on_a_closed_port_is_exit_4_in_one_line(registry: Path, workdir: Path,
                                                               cli: Cli) -> None:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = registry / ".dvc" / "config"
    url = f"    url = http://127.0.0.1:{port}/store\n"
    config.write_text("".join(url if line.strip().startswith("url = ") else line
                              for line in config.read_text().splitlines(keepends=True)))
    commit_all(registry, "An HTTP remote")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", "m", "--artifact", str(artifact(workdir / "m.pkl")),
                       "--owner", "@a/b", code=4)
    [line] = result.err.splitlines()  # DVC's own log of the failed transfer is not shown besides
    assert line.startswith("error: DVC could not push ") and "to the remote 'storage': " in line
    assert f"127.0.0.1:{port}" in line and "check the remote is reachable" in line
    assert snapshot_tree(registry) == before


def test_metrics_yaml_with_slices(registry: Path, workdir: Path, cli: Cli) -> None:
    (workdir / "m.yaml").write_text("roc_auc: 0.97\nslices:\n  region=eu: {roc_auc: 0.96}\n")
    art = artifact(workdir / "model.onnx")
    cli.ok("-C", str(registry), "register", "m", "--artifact", str(art), "--metrics", str(workdir / "m.yaml"),
           "--owner", "@a/b")
    doc = manifest(registry, "m", 1)
    assert doc["slices"] == {"region=eu": {"roc_auc": 0.96}}
    assert doc["artifact"]["format"] == "onnx"


def test_not_a_registry(tmp_path: Path, workdir: Path, cli: Cli) -> None:
    art = artifact(workdir / "model.pkl")
    result = cli.fails("-C", str(tmp_path), "register", "m", "--artifact", str(art))
    assert "not inside a modelreg registry" in result.err and "modelreg init" in result.err


def test_json_metrics_pretty_ints(registry: Path, workdir: Path, cli: Cli) -> None:
    (workdir / "m.json").write_text(json.dumps({"n_trees": 300}))
    art = artifact(workdir / "model.pkl")
    cli.ok("-C", str(registry), "register", "m", "--artifact", str(art), "--metrics", str(workdir / "m.json"),
           "--owner", "@a/b")
    assert manifest(registry, "m", 1)["metrics"] == {"n_trees": 300}


def test_broken_dvc_config_is_a_user_error(registry: Path, workdir: Path, cli: Cli) -> None:
    (registry / ".dvc" / "config.local").write_text("['remote \"storage\"']\n    no_such_option = 1\n")
    art = artifact(workdir / "model.pkl")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", "m", "--artifact", str(art), "--owner", "@a/b")
    assert result.err.startswith("error: .dvc/config: DVC configuration error")
    assert "no_such_option" in result.err and "dvc config --list" in result.err
    assert snapshot_tree(registry) == before


def test_credentials_in_the_code_remote_are_not_recorded(registry: Path, workdir: Path, cli: Cli,
                                                          code_repo: Path) -> None:
    git(code_repo, "remote", "set-url", "origin", "https://ci-bot:ghp_secret@github.com/acme/fraud.git")
    register(cli, registry, workdir, "fraud-detector", "--code-repo", str(code_repo))
    text = (registry / "registry/fraud-detector/v1/version.yaml").read_text()
    assert "ghp_secret" not in text and "ci-bot" not in text
    assert manifest(registry, "fraud-detector", 1)["lineage"]["code"]["repo"] == "https://github.com/acme/fraud.git"


def test_card_named_like_the_artifact_is_refused(registry: Path, workdir: Path, cli: Cli) -> None:
    art = artifact(workdir / "model.pkl")
    card = workdir / "cards" / "model.pkl"
    card.parent.mkdir()
    card.write_text("# card")
    result = cli.fails("-C", str(registry), "register", "m", "-a", str(art), "--card", str(card),
                       "--owner", "@a/b")
    assert "the card and the artifact are both named 'model.pkl'" in result.err


def test_branch_is_created_only_after_a_successful_push(tmp_path: Path, workdir: Path, cli: Cli) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    registry = tmp_path / "reg"
    cli.ok("init", str(registry), "--remote", str(blocker / "remote"))
    commit_all(registry, "init")
    art = artifact(workdir / "model.pkl")
    cli.fails("-C", str(registry), "register", "m", "-a", str(art), "--owner", "@a/b", "--branch", "reg/m",
              code=4)
    assert git(registry, "branch", "--show-current").strip() == "main"
    assert "reg/m" not in git(registry, "branch", "--list")


def test_existing_branch_is_refused_before_any_work(registry: Path, workdir: Path, cli: Cli) -> None:
    git(registry, "branch", "taken")
    art = artifact(workdir / "model.pkl")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", "m", "-a", str(art), "--owner", "@a/b",
                       "--branch", "taken")
    assert "a branch named 'taken' exists already" in result.err
    assert snapshot_tree(registry) == before


def test_strings_that_look_like_numbers_stay_strings(registry: Path, workdir: Path, cli: Cli) -> None:
    params = workdir / "params.json"
    params.write_text('{"seed": "1e3", "id": "2E5"}')
    register(cli, registry, workdir, "fraud", "-m", "1e3", "--tag", "build=1e3", "--params", str(params))
    shown = cli.ok("-C", str(registry), "show", "fraud/1", "--json").json["manifest"]
    assert shown["params"] == {"seed": "1e3", "id": "2E5"}
    assert shown["description"] == "1e3" and shown["tags"] == {"build": "1e3"}


def test_a_metric_beyond_any_float_is_refused(registry: Path, workdir: Path, cli: Cli) -> None:
    (workdir / "big.json").write_text('{"auc": ' + "9" * 400 + "}")
    before = snapshot_tree(registry)
    err = cli.fails("-C", str(registry), "register", "m", "--artifact", str(artifact(workdir / "m.pkl")),
                    "--metrics", str(workdir / "big.json"), "--owner", "@a/b").err
    assert "is too large a number" in err
    assert snapshot_tree(registry) == before


def _dvc(root: Path, *args: str) -> str:
    """The real ``dvc`` command line, from the same environment as modelreg."""
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "dvc"
    proc = subprocess.run([str(exe), *args], cwd=root, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"dvc {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def test_dvc_pull_in_a_fresh_clone_fetches_what_register_pushed(registry: Path, workdir: Path,
                                                                 cli: Cli, tmp_path: Path) -> None:
    """register moves bytes through DVC's data layer, not its ``Repo``: DVC itself must find them
    where it looks. A cache directory of the registry's own choosing (``cache.dir``) and a remote
    outside the clone; a file and a directory."""
    remote = tmp_path / "shared-remote"
    _dvc(registry, "remote", "modify", "storage", "url", str(remote))
    _dvc(registry, "cache", "dir", "--local", "../elsewhere-cache")
    commit_all(registry, "A shared remote")
    art = artifact(workdir / "model.pkl", size=50_000, seed=7)
    folder = workdir / "bundle"
    artifact(folder / "weights.bin", size=3000, seed=8)
    artifact(folder / "sub" / "config.json", size=100, seed=9)
    cli.ok("-C", str(registry), "register", "m", "--artifact", str(art), "--owner", "@a/b", "--commit")
    cli.ok("-C", str(registry), "register", "d", "--artifact", str(folder), "--owner", "@a/b", "--commit")
    cache = Path(_dvc(registry, "cache", "dir").strip())
    assert cache == tmp_path / "elsewhere-cache"  # relative to where `dvc cache dir` ran
    md5 = manifest(registry, "m", 1)["artifact"]["md5"]
    assert (cache / "files" / "md5" / md5[:2] / md5[2:]).read_bytes() == art.read_bytes()
    assert "in sync" in _dvc(registry, "status", "--cloud")  # DVC sees it all pushed

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(registry), str(clone))
    _dvc(clone, "pull", "-q")
    assert (clone / "registry/m/v1/model.pkl").read_bytes() == art.read_bytes()
    assert (clone / "registry/d/v1/bundle/weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    assert (clone / "registry/d/v1/bundle/sub/config.json").read_bytes() == \
        (folder / "sub" / "config.json").read_bytes()


def test_a_registry_without_dvc_is_told_what_to_run(registry: Path, workdir: Path, cli: Cli) -> None:
    import shutil

    shutil.rmtree(registry / ".dvc")
    commit_all(registry, "No DVC")
    before = snapshot_tree(registry)
    result = cli.fails("-C", str(registry), "register", "m", "--artifact", str(artifact(workdir / "m.pkl")),
                       "--owner", "@a/b")
    [line] = result.err.splitlines()
    assert "has no .dvc directory" in line and "modelreg init" in line, line
    assert snapshot_tree(registry) == before


def test_created_by_is_the_author_git_records(registry: Path, workdir: Path, cli: Cli,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI job sets its identity in GIT_AUTHOR_NAME rather than git config: created_by is who the
    commit says authored it, as git takes them."""
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Training Pipeline")
    register(cli, registry, workdir, "fraud-detector", "--commit")
    doc = yaml.safe_load((registry / "registry/fraud-detector/v1/version.yaml").read_text())
    assert doc["created_by"] == "Training Pipeline"
    assert git(registry, "log", "-1", "--format=%an").strip() == "Training Pipeline"
