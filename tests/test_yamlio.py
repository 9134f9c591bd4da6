"""The strict YAML loader: every rule the design promises, proven on hostile input."""

from __future__ import annotations

import pytest

from modelreg.errors import InputError
from modelreg.formats import yamlio


def rejects(text: str | bytes, *words: str) -> InputError:
    with pytest.raises(InputError) as info:
        yamlio.loads(text, "registry/m/v1/version.yaml")
    message = str(info.value)
    assert message.startswith("registry/m/v1/version.yaml"), message
    for word in words:
        assert word in message, message
    return info.value


def test_plain_document_loads() -> None:
    doc = yamlio.loads("a: 1\nb: [x, 2.5]\nc: {d: true}\n", "f")
    assert doc == {"a": 1, "b": ["x", 2.5], "c": {"d": True}}


def test_aliases_are_refused_with_the_line() -> None:
    error = rejects("base: &b {x: 1}\ncopy: *b\n", "anchors and aliases")
    assert error.line == 2


def test_billion_laughs_is_refused_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    rejects(bomb, "anchors and aliases")


def test_duplicate_keys_are_refused() -> None:
    error = rejects("metrics:\n  f1: 0.8\n  f1: 0.9\n", "duplicate key 'f1'")
    assert error.line == 3


def test_merge_keys_are_refused() -> None:
    rejects("a: {x: 1}\nb:\n  <<: {y: 2}\n", "merge keys")


def test_multiple_documents_are_refused() -> None:
    rejects("a: 1\n---\nb: 2\n", "more than one YAML document")


def test_non_string_keys_are_refused() -> None:
    rejects("rejected:\n  2: failed bias review\n", "keys must be strings")
    rejects("? [a, b]\n: 1\n", "keys must be strings")


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.inf", "+.Inf"])
def test_non_finite_numbers_are_refused(value: str) -> None:
    error = rejects(f"metrics:\n  roc_auc: {value}\n", "not a finite number")
    assert error.line == 2


def test_yes_no_on_off_stay_strings() -> None:
    doc = yamlio.loads("a: yes\nb: no\nc: on\nd: off\ne: true\nf: False\n", "f")
    assert doc == {"a": "yes", "b": "no", "c": "on", "d": "off", "e": True, "f": False}


def test_yaml11_number_surprises_stay_strings() -> None:
    doc = yamlio.loads("a: 1:20\nb: 0o17\nc: 1_000\nd: 017\ne: 0x1F\n", "f")
    assert doc == {"a": "1:20", "b": "0o17", "c": "1_000", "d": "017", "e": "0x1F"}


def test_timestamps_stay_strings() -> None:
    assert yamlio.loads("created_at: 2026-11-20T10:02:11Z\n", "f") == {"created_at": "2026-11-20T10:02:11Z"}


@pytest.mark.parametrize("text", ["a: !!python/object:os.system ls\n", "a: !!binary aGk=\n",
                                  "a: !!set {x: null}\n", "a: !custom x\n"])
def test_tags_are_refused(text: str) -> None:
    rejects(text)


def test_size_cap() -> None:
    rejects(b"a: " + b"x" * (yamlio.MAX_BYTES + 1), "larger than")


def test_depth_cap() -> None:
    deep = "a: " + "[" * (yamlio.MAX_DEPTH + 5) + "]" * (yamlio.MAX_DEPTH + 5) + "\n"
    rejects(deep, "nesting deeper")


def test_syntax_error_names_the_line() -> None:
    error = rejects("a: 1\nb: [unclosed\nc: 3\n")
    assert error.line is not None


def test_invalid_utf8_is_refused() -> None:
    rejects(b"a: \xff\xfe\n", "UTF-8")


def test_key_lines_point_at_fields() -> None:
    lines = yamlio.key_lines("a: 1\nmetrics:\n  f1: 0.8\nlist:\n  - x\n")
    assert lines[("metrics", "f1")] == 3
    assert lines[("list", 0)] == 5


def test_dumps_round_trips_strings_that_look_like_other_types() -> None:
    data = {"tags": {"approved": "yes", "code": "017", "when": "2026-11-20T10:02:11Z"}, "n": 1.5}
    assert yamlio.loads(yamlio.dumps(data), "f") == data


def test_very_deep_flow_nesting_is_refused_without_crashing() -> None:
    import subprocess
    import sys

    # In a child process: before the fix this killed the interpreter (SIGSEGV).
    code = ("from modelreg.formats import yamlio\n"
            "try:\n    yamlio.loads('x: ' + '[' * 100000 + ']' * 100000, 'f')\n"
            "except Exception as e:\n    print(type(e).__name__, e)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "InputError f:1: nesting deeper than 32 levels" in proc.stdout


def test_huge_integers_are_refused() -> None:
    rejects("big: 1" + "0" * 5000 + "\n", "cannot be read")


@pytest.mark.parametrize("value", ["1e3", "2E5", "1.5e-3", "yes", "017", "null", "true", "0x1F", "~", ""])
def test_what_is_written_reads_back_as_written(value: str) -> None:
    doc = {"seed": value, "nested": {"k": [value]}}
    assert yamlio.loads(yamlio.dumps(doc), "f") == doc


@pytest.mark.parametrize("text", ["a: " + "9" * 400, "a: -" + "9" * 400])
def test_integers_beyond_any_float_are_refused(text: str) -> None:
    rejects(text, "too large a number")
