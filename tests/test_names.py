from __future__ import annotations

import pytest

from modelreg import names
from modelreg.errors import InputError


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
