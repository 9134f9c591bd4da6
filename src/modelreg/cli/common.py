"""What the commands share: read options, the registry they act on, output helpers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from modelreg.registry import Registry

F = TypeVar("F", bound=Callable[..., Any])


def read_options(func: F) -> F:
    """``--at REV`` and ``--json``: every read command has both."""
    func = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)
    return click.option("--at", "at", metavar="REV",
                        help="Read the registry as of a commit, branch, tag or date "
                        "(e.g. main, v1.0, 2026-11-01); the work tree is not touched.")(func)


def registry(at: str | None = None) -> Registry:
    ctx = click.get_current_context()
    root = ctx.find_root().obj
    return Registry(root or ".", at=at)


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A byte-counting progress bar on stderr (when it is a terminal); the core only sees the callback."""
    if not sys.stderr.isatty():
        yield lambda _done: None  # (modelreg.hashing is not imported: reads must stay cheap)
        return
    with click.progressbar(length=total, label=label, file=sys.stderr,
                           show_pos=False, show_percent=True) as bar:

        def advance(done: int) -> None:
            bar.update(done)

        yield advance


def emit_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, default=str))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "-"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value)
