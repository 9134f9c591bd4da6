"""What the commands share: read options, the registry they act on, output helpers."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from modelreg.api import Registry
from modelreg.errors import IntegrityError

if TYPE_CHECKING:
    from modelreg.read.ledger_trust import Verdict

F = TypeVar("F", bound=Callable[..., Any])

#: the terminal width that tables and manifests are laid out for; --json is never shortened
WIDTH = 100
#: keys whose hex values are hashes, shown short as git shows commits (register prints the same 12)
HASH_KEYS = frozenset({"md5", "sha256", "commit"})
SHORT_HASH = 12
_HEX = re.compile(r"^[0-9a-f]{32,}(\.dir)?$")


def read_options(func: F) -> F:
    """``--at REV`` and ``--json``: every read command has both."""
    func = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)
    return click.option("--at", "at", metavar="REV",
                        help="Read the registry as of a commit, branch, tag or date "
                        "(e.g. main, v1.0, 2026-11-01); the work tree is not touched.")(func)


def registry(at: str | None = None) -> Registry:
    ctx = click.get_current_context()
    root = ctx.find_root().obj
    reg = Registry(root or ".", at=at)
    ctx.call_on_close(reg.close)  # a read --at REV holds a git cat-file until the command ends
    return reg


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A byte-counting progress bar on stderr (when it is a terminal); the core only sees the callback."""
    if not sys.stderr.isatty():
        yield lambda _done: None  # (modelreg.edges.hashing is not imported: reads must stay cheap)
        return
    with click.progressbar(length=total, label=label, file=sys.stderr,
                           show_pos=False, show_percent=True) as bar:

        def advance(done: int) -> None:
            bar.update(done)

        yield advance


def emit_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, default=str))


def short_hash(key: str, value: Any) -> Any:
    """``value`` with a hash (under a key such as ``md5`` or ``lineage.code.commit``) cut to its
    first digits; anything else as it is."""
    if key.rsplit(".", 1)[-1] in HASH_KEYS and isinstance(value, str) and _HEX.match(value):
        return value[:SHORT_HASH] + (".dir" if value.endswith(".dir") else "")
    return value


def short_hashes(data: Any, key: str = "") -> Any:
    """A copy of a manifest with every hash shortened (see :func:`short_hash`)."""
    if isinstance(data, dict):
        return {k: short_hashes(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [short_hashes(v, key) for v in data]
    return short_hash(key, data)


def clip(text: str, width: int = WIDTH) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when anything was cut."""
    return text if len(text) <= width else text[:width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int | None = None,
          flexible: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell. With ``width``, the widest of the ``flexible`` columns
    narrows (its cells clipped with an ellipsis) until every line fits, if it can."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    if width is not None and flexible:
        while sum(widths) + 2 * (len(widths) - 1) > width:
            column = max(flexible, key=lambda i: widths[i])
            if widths[column] <= max(len(headers[column]), 8):
                break
            widths[column] -= 1
        cells = [[clip(c, w) for c, w in zip(r, widths, strict=True)] for r in cells]
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


def warn(warnings: Sequence[str]) -> None:
    """The core's warnings (data on its result), one line each on stderr: --json output stays JSON."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def forged_records(verdicts: list[Verdict]) -> None:
    """--verify fails (exit 1) when a ledger record is forged: its facts were shown marked, and are
    not to be believed."""
    forged = [v for v in verdicts if v.state == "forged"]
    if forged:
        raise IntegrityError(f"{len(forged)} ledger record{'s' if len(forged) > 1 else ''} forged: "
                             f"{forged[0].why}", fix="do not believe the facts marked forged; see "
                             "docs/security.md (signed decisions) for who can write the ledger")
