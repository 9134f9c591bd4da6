"""Writes stay where they belong: the directory target, and the module all outputs share.

A link planted inside an output directory is never written through; only files modelreg
wrote (its manifest lists them) are ever deleted. ``site -o`` is covered in test_site.py,
``card -o`` in test_cards.py, ``get -o`` in test_get.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from modelreg.deploy.targets import Activation
from modelreg.deploy.targets.directory import Directory
from modelreg.edges.outdir import MANIFEST, OutDir
from modelreg.errors import ConflictError


def activation(root: Path, version: int, alias: str = "production") -> Activation:
    data = f"model bytes v{version}".encode()

    def fetch_to(dest: Path) -> Path:
        dest.write_bytes(data)
        return dest

    return Activation(environment="prod", model="m", alias=alias, version=version,
                      sha256=hashlib.sha256(data).hexdigest(), md5=hashlib.md5(data).hexdigest(),
                      artifact_name="model.bin", uri=f"models:/m/{version}", commit="c" * 40, registry=root,
                      fetch_to=fetch_to, local_path=lambda: root / "unused")


@pytest.fixture
def target(tmp_path: Path) -> Directory:
    (tmp_path / "registry").mkdir()
    return Directory(tmp_path / "serving", keep=1)


def test_pruning_keeps_a_users_files(tmp_path: Path, target: Directory) -> None:
    registry = tmp_path / "registry"
    assert target.activate(activation(registry, 1)).ok
    model = target.root / "m"
    (model / "1" / "notes.txt").write_text("the user's")  # beside an artifact modelreg wrote
    (model / "config.pbtxt").write_text('name: "m"')  # Triton's model configuration
    (model / "7").mkdir()  # a directory named like a version, not one modelreg installed
    (model / "7" / "mine.bin").write_text("the user's")
    for version in (2, 3):
        outcome = target.activate(activation(registry, version))
        assert outcome.ok, outcome.message
    assert (model / "1" / "notes.txt").read_text() == "the user's"
    assert not (model / "1" / "model.bin").exists() and not (model / "2").exists()
    assert (model / "config.pbtxt").exists() and (model / "7" / "mine.bin").exists()
    assert (model / "3" / "model.bin").read_bytes() == b"model bytes v3"
    assert json.loads((model / MANIFEST).read_text())["files"] == ["3/deployment.json", "3/model.bin"]


def test_a_version_holding_a_users_file_is_not_replaced(tmp_path: Path, target: Directory) -> None:
    registry = tmp_path / "registry"
    (target.root / "m" / "1").mkdir(parents=True)
    (target.root / "m" / "1" / "model.bin").write_text("someone else's")
    outcome = target.activate(activation(registry, 1))
    assert not outcome.ok and "holds files modelreg did not write (1/model.bin)" in outcome.message
    assert (target.root / "m" / "1" / "model.bin").read_text() == "someone else's"


def test_a_link_planted_in_the_root_is_never_written_through(tmp_path: Path, target: Directory) -> None:
    registry, elsewhere = tmp_path / "registry", tmp_path / "elsewhere"
    elsewhere.mkdir()
    target.root.mkdir()
    (target.root / "m").symlink_to(elsewhere)  # the model's directory
    outcome = target.activate(activation(registry, 1))
    assert not outcome.ok and "is a symbolic link" in outcome.message
    assert list(elsewhere.iterdir()) == []
    (target.root / "m").unlink()
    (target.root / "m").mkdir()
    (target.root / "m" / "1").symlink_to(elsewhere)  # a version's directory
    outcome = target.activate(activation(registry, 1))
    assert not outcome.ok and "did not write" in outcome.message
    assert list(elsewhere.iterdir()) == []
    (target.root / "m" / "1").unlink()
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (target.root / "m" / ".modelreg-lock").unlink()
    (target.root / "m" / ".modelreg-lock").symlink_to(victim)  # the lock file
    outcome = target.activate(activation(registry, 1))
    assert not outcome.ok and victim.read_text() == "keep"


def test_the_root_may_itself_be_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "serving").symlink_to(real)
    (tmp_path / "registry").mkdir()
    assert Directory(tmp_path / "serving", keep=1).activate(activation(tmp_path / "registry", 1)).ok
    assert (real / "m" / "1" / "model.bin").exists()


def test_an_older_deployment_without_a_manifest_is_still_pruned(tmp_path: Path, target: Directory) -> None:
    registry = tmp_path / "registry"
    assert target.activate(activation(registry, 1)).ok
    (target.root / "m" / MANIFEST).unlink()  # as modelreg wrote it before it kept one
    assert target.activate(activation(registry, 2)).ok
    assert not (target.root / "m" / "1").exists()


def test_outdir_refuses_paths_out_of_it(tmp_path: Path) -> None:
    out = OutDir(tmp_path)
    for rel in ("../x", "/etc/passwd", "a/../../x", ""):
        with pytest.raises(ValueError):
            out.path(rel)
    (tmp_path / "sub").write_text("a file")
    with pytest.raises(ConflictError, match="is not a directory"):
        out.path("sub/x.html")


def test_a_manifest_that_is_a_link_or_damaged_deletes_nothing(tmp_path: Path) -> None:
    out = OutDir(tmp_path / "out")
    out.ensure()
    (tmp_path / "out" / "page.html").write_text("a user's")
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({"format": 1, "files": ["page.html"]}))
    (tmp_path / "out" / MANIFEST).symlink_to(forged)
    assert out.written() == set() and out.prune(set()) == []
    (tmp_path / "out" / MANIFEST).unlink()
    (tmp_path / "out" / MANIFEST).write_text("{not json")
    assert out.prune(set()) == [] and (tmp_path / "out" / "page.html").exists()


def test_kserve_never_writes_through_a_link_in_its_directory(tmp_path: Path) -> None:
    from dataclasses import replace

    from modelreg.deploy.targets.kserve import KServe

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "gitops" / "ml").mkdir(parents=True)
    (tmp_path / "gitops" / "ml" / "prod").symlink_to(elsewhere)
    act = replace(activation(tmp_path, 1), manifest={"artifact": {"format": "sklearn"}})
    target = KServe(tmp_path / "gitops", "ml", "s3://bucket/{model}/{version}", tmp_path)
    outcome = target.activate(act)
    assert not outcome.ok and "is a symbolic link" in outcome.message
    assert list(elsewhere.iterdir()) == []
    (tmp_path / "gitops" / "ml" / "prod").unlink()
    assert target.activate(act).ok
