"""The Python API mirrors the CLI: Registry, ModelVersion, load_path."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelreg
from modelreg import Registry, load_path
from modelreg.errors import ModelregError, NotFoundError
from modelreg.write.register import Registration
from tests.helpers import Cli, artifact, commit_all, register, set_aliases


def test_resolve_and_download(registry: Path, workdir: Path, cli: Cli, tmp_path: Path) -> None:
    register(cli, registry, workdir, metrics={"roc_auc": 0.9724}, seed=1)
    set_aliases(registry, "fraud-detector", {"champion": 1})
    reg = Registry(registry)
    mv = reg.resolve("models:/fraud-detector@champion")
    assert mv.metrics["roc_auc"] == 0.9724
    assert mv.aliases == ("champion",)
    assert mv.uri == "models:/fraud-detector/1"
    path = mv.download(f"{tmp_path}/out/")
    assert path == tmp_path / "out" / "model.pkl"
    assert path.read_bytes() == (workdir / "fraud-detector-1" / "model.pkl").read_bytes()


def test_registry_found_from_a_subdirectory(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir)
    assert Registry(registry / "registry" / "fraud-detector").root == registry


def test_register_from_python(registry: Path, workdir: Path) -> None:
    art = artifact(workdir / "model.onnx")
    done = Registry(registry).register(Registration(model="m", artifact=art, metrics={"auc": 0.9},
                                                    owners=["@acme/ml"]))
    assert done.version == 1
    assert Registry(registry).version("m", 1).artifact["format"] == "onnx"


def test_past_registry_is_read_only(registry: Path, workdir: Path) -> None:
    with pytest.raises(ModelregError, match="cannot register into a past revision"):
        Registry(registry, at="HEAD").register(Registration(model="m", artifact=workdir))


def test_load_path_caches_and_reverifies(registry: Path, workdir: Path, cli: Cli) -> None:
    register(cli, registry, workdir, seed=2)
    commit_all(registry, "v1")
    first = load_path("models:/fraud-detector/1", registry=registry)
    assert first == registry / ".modelreg/artifacts/fraud-detector/v1/model.pkl"
    first.write_bytes(b"tampered")  # a later call notices, and fetches a verified copy again
    second = load_path("models:/fraud-detector/1", registry=registry)
    assert second.read_bytes() == (workdir / "fraud-detector-2" / "model.pkl").read_bytes()


def test_errors_are_catchable_by_builtin_type(registry: Path) -> None:
    with pytest.raises(LookupError, match="no model named 'missing'"):
        Registry(registry).resolve("models:/missing/1")
    with pytest.raises(ValueError, match="'models:/a/b/c' is not a model URI"):
        Registry(registry).resolve("models:/a/b/c")
    with pytest.raises(ValueError, match="'Not Valid' is not a valid model name"):
        Registry(registry).resolve("Not Valid/1")
    assert issubclass(NotFoundError, modelreg.ModelregError)


def test_lazy_top_level_import_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, modelreg; print('pydantic' in sys.modules, 'dvc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
