"""Strict, safe YAML: the only way modelreg reads or writes a YAML file.

Registry files arrive through pull requests, so they are untrusted input. The
loader is PyYAML's safe loader (the C one when available) with these rules:

- one document per file; no anchors/aliases (no billion-laughs); no duplicate
  keys; keys are strings; at most ``MAX_BYTES`` bytes and ``MAX_DEPTH`` levels;
- YAML 1.2 scalars: only ``true``/``false`` are booleans (``yes``, ``no``,
  ``on``, ``off`` stay strings), no sexagesimal or octal surprises, and
  timestamps stay strings (the schema parses them);
- numbers are finite: ``.nan`` and ``.inf`` are rejected wherever they appear.

Every rejection is an :class:`InputError` naming the file, line and field.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

import yaml

from modelreg.errors import InputError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32
#: the largest integer read: beyond it no float can hold the value
MAX_INT = int(sys.float_info.max)

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
# A float needs a dot or an exponent, and neither an int nor a float may have a
# leading zero: "017" (a code, a zip) stays a string rather than becoming 17.
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)\.[0-9]*(?:[eE][-+]?[0-9]+)?|(?:0|[1-9][0-9]*)[eE][-+]?[0-9]+)"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


class _StrictLoader(_Base):  # type: ignore[valid-type,misc]
    """Safe loader with YAML 1.2 core scalars and alias rejection."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A node met twice is an alias (*ref) to an anchored node.
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _Rejected(node, "anchors and aliases (&, *) are not allowed", "write the value out")
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise _Rejected(node, "expected a mapping", "use key: value pairs")
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                raise _Rejected(key_node, "merge keys (<<) are not allowed", "write the keys out")
            if key_node.tag != "tag:yaml.org,2002:str" or not isinstance(key_node, yaml.ScalarNode):
                raise _Rejected(key_node, "keys must be strings", "quote the key")
            key = key_node.value
            if key in mapping:
                raise _Rejected(key_node, f"duplicate key {key!r}", "keep one of them")
            if value_node in self.constructed_objects:  # point at the alias, not its anchor
                raise _Rejected(key_node, "anchors and aliases (&, *) are not allowed",
                                "write the value out")
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _Rejected(node, f"{node.value} is not a finite number", "use a real number")
        return float(value)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = int(super().construct_yaml_int(node))
        if abs(value) > MAX_INT:  # no float holds it: every comparison with a metric would overflow
            raise _Rejected(node, f"{node.value[:20]}... is too large a number", "use a real number")
        return value

    def construct_yaml_map(self, node: yaml.MappingNode) -> Any:
        data: dict[str, Any] = {}
        yield data
        data.update(self.construct_mapping(node))


class _Rejected(Exception):
    def __init__(self, node: yaml.Node, message: str, fix: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.fix = fix


def _install_resolvers(loader: type[yaml.SafeLoader]) -> None:
    loader.yaml_implicit_resolvers = {}
    first = {
        "tag:yaml.org,2002:bool": list("tTfF"),
        "tag:yaml.org,2002:int": list("-+0123456789"),
        "tag:yaml.org,2002:float": list("-+0123456789."),
        "tag:yaml.org,2002:null": ["~", "n", "N", ""],
    }
    patterns = {
        "tag:yaml.org,2002:bool": _BOOL,
        "tag:yaml.org,2002:int": _INT,
        "tag:yaml.org,2002:float": _FLOAT,
        "tag:yaml.org,2002:null": _NULL,
    }
    for tag, regexp in patterns.items():
        loader.add_implicit_resolver(tag, regexp, first[tag])
    loader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_yaml_map)
    loader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)
    loader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
    # Explicit tags such as !!python/object are already refused by the safe
    # loader; timestamps and sets are refused here so values stay plain data.
    for tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:set", "tag:yaml.org,2002:omap",
                "tag:yaml.org,2002:pairs", "tag:yaml.org,2002:binary"):
        loader.add_constructor(tag, _reject_tag)


def _reject_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise _Rejected(node, f"the tag {node.tag} is not allowed", "write a plain string, number or list")


_install_resolvers(_StrictLoader)


def _check_depth(text: str, source: str) -> None:
    """Refuse deep nesting from the flat event stream, before the composer recurses into it
    (PyYAML's C composer overflows the stack on a few kilobytes of ``[[[[``)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=source, line=line,
                                 fix="flatten the structure")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _text(data: bytes | str, source: str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise InputError(f"file is larger than {MAX_BYTES // 1024} KiB", file=source,
                         fix="keep large data in the artifact, not the manifest")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=source,
                         fix="save the file as UTF-8") from None


def loads(data: bytes | str, source: str) -> Any:
    """Parse one YAML document strictly; ``source`` names the file in errors."""
    text = _text(data, source)
    loader = _StrictLoader(text)
    try:
        if "[" in text or "{" in text or text.count("\n") > MAX_DEPTH:
            _check_depth(text, source)  # only text that could nest deeply pays for a second pass
        node = loader.get_single_node()
        if node is None:
            return None
        return loader.construct_document(node)
    except _Rejected as exc:
        raise InputError(exc.message, file=source, line=exc.node.start_mark.line + 1,
                         fix=exc.fix) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "nesting depth" in str(exc.problem):  # PyYAML >= 6.0.3 has a cap of its own
            raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=source,
                             line=mark.line + 1 if mark else None, fix="flatten the structure") from None
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc.context):
            problem, fix = "more than one YAML document", "keep one document per file"
        else:
            fix = "fix the YAML syntax"
        raise InputError(problem, file=source, line=mark.line + 1 if mark else None,
                         fix=fix) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=source, fix="fix the YAML syntax") from None
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=source,
                         fix="flatten the structure") from None
    except InputError:
        raise
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InputError(f"a value cannot be read: {exc}", file=source,
                         fix="write numbers of at most 15 significant digits") from None
    finally:
        loader.dispose()


def key_lines(data: bytes | str) -> dict[tuple[str | int, ...], int]:
    """Map each field path (``("metrics", "f1")``) to its 1-based line.

    Only used to point error messages at a line; call it after :func:`loads`
    accepted the document.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    loader = _StrictLoader(data)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                walk(item, (*path, index))

    if node is not None:
        walk(node, ())
    return lines


class _QuotingDumper(_Dumper):  # type: ignore[valid-type,misc]
    """Quotes every string that YAML 1.1 *or* our YAML 1.2 rules would read as something else.

    PyYAML's dumper decides by YAML 1.1, under which ``1e3`` is a string; the loader above
    reads it as the float 1000.0, so unquoted it would come back as another value.
    """


for _tag, _pattern, _first in (("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
                               ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
                               ("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789.")),
                               ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])):
    _QuotingDumper.add_implicit_resolver(_tag, _pattern, _first)


def dumps(data: Any, header: str | None = None) -> str:
    """Serialise plain data as block-style YAML in the key order given.

    What is written reads back, by :func:`loads`, as exactly ``data``; anything else is a bug
    and raises rather than writing a file that means something else.
    """
    text = yaml.dump(data, Dumper=_QuotingDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)
    if loads(text, "the YAML being written") != data:
        raise ValueError("modelreg's YAML writer would change the data it writes (a bug)")
    return f"{header}\n{text}" if header else text
