from __future__ import annotations

from pathlib import Path

import pytest

from modelreg.errors import InputError
from modelreg.formats import names
from tests.helpers import Cli, artifact, snapshot_tree


@pytest.mark.parametrize("name", ["fraud-detector", "bert.intent", "m1", "a_b", "x" * 64])
def test_valid_model_names(name: str) -> None:
    assert names.check_model_name(name) == name


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".hidden", "Upper", "a..b", "a.", "", "x" * 65,
                                  "a\x00b", "a b", "-lead"])
def test_invalid_model_names(name: str) -> None:
    with pytest.raises(InputError, match="not a valid model name"):
        names.check_model_name(name)


@pytest.mark.parametrize(("path", "ok"), [("a/b", True), ("a/../b", True), ("../a", False),
                                          ("a/../../b", False),
                                          ("/etc/passwd", False), ("a\\..\\b", False), (".", True)])
def test_inside(path: str, ok: bool) -> None:
    assert names.inside(path) is ok


def test_version_dirs_are_canonical() -> None:
    assert names.parse_version_dir("v12") == 12
    assert names.parse_version_dir("v012") is None
    assert names.parse_version_dir("v0") is None
    assert names.parse_version_dir("12") is None


def test_a_trailing_newline_is_not_part_of_any_name() -> None:
    # Python's `$` also matches before a final newline; every name check must see the whole text.
    from modelreg.formats import shape

    for check in (names.check_model_name, names.check_alias_name, names.check_file_name):
        with pytest.raises(InputError, match="is not a valid"):
            check("fraud\n")
    assert names.parse_version_dir("v2\n") is None
    doc = {"name": "fraud", "aliases": {"production\n": 1}}
    with pytest.raises(InputError, match=r"'production\\n' is not allowed as a name here"):
        shape.check("model", doc, "registry/fraud/model.yaml")


def test_register_refuses_a_model_name_with_a_newline(registry: Path, workdir: Path, cli: Cli) -> None:
    before = snapshot_tree(registry)
    err = cli.fails("-C", str(registry), "register", "fraud\n", "--artifact",
                    str(artifact(workdir / "m.pkl")), "--owner", "@a/b").err
    assert "is not a valid model name" in err
    assert snapshot_tree(registry) == before
