"""The places in a generated workflow that belong to the user, kept by ``modelreg init --upgrade``.

A generated workflow is rewritten whole when modelreg or ``modelreg.yaml`` changes, except
between a pair of markers such as::

      # --- your steps (gate): kept by modelreg init --upgrade ---
      - name: Install the S3 plugin of DVC
        run: ...
      # --- end of your steps (gate) ---

Upgrading keeps the lines between them verbatim, and writes everything else afresh. A region
is named by what it holds and the job it is in, so the deploy job of a new environment gets
empty ones and a region of a job that is gone is reported as dropped. A marker that is not
whole (misspelt, unclosed, nested, twice) stops the upgrade before anything is written: guessing
where a user's lines end could lose them.

A file whose first comment lines hold ``# modelreg: hand-maintained`` is the user's own: the
gate does not compare it and the upgrade leaves it alone.
"""

from __future__ import annotations

import re

from modelreg.errors import InputError

#: what a region's name looks like: what it holds, then the job, e.g. ``steps (deploy-production)``
_NAME = r"[a-z-]+ \([A-Za-z0-9_-]+\)"
_BEGIN = re.compile(rf"^[ \t]*# --- your (?P<name>{_NAME}): kept by modelreg init --upgrade ---[ \t]*$")
_END = re.compile(rf"^[ \t]*# --- end of your (?P<name>{_NAME}) ---[ \t]*$")
#: a line meant as a marker (so one that is not whole is an error, not an ordinary comment)
_LOOKS_LIKE = re.compile(r"^[ \t]*#[ \t]*-{2,}[ \t]*(your|end)\b|kept by modelreg init", re.IGNORECASE)
#: the opt-out: a comment line of its own, before the first line that is neither a comment nor blank
HAND_MAINTAINED = "# modelreg: hand-maintained"
FIX = ("each `# --- your NAME (JOB): kept by modelreg init --upgrade ---` line needs its own "
       "`# --- end of your NAME (JOB) ---` below it, unchanged; fix the markers, or restore the file "
       "from git and run `modelreg init --upgrade` again")


def begin(name: str, indent: str) -> str:
    return f"{indent}# --- your {name}: kept by modelreg init --upgrade ---\n"


def end(name: str, indent: str) -> str:
    return f"{indent}# --- end of your {name} ---\n"


def marked(name: str, indent: str, default: str = "") -> str:
    """A region as a template writes it: its markers around its default lines."""
    return f"{begin(name, indent)}{default}{end(name, indent)}"


def hand_maintained(text: str) -> bool:
    """Whether the file opts out of being generated (its leading comments say so)."""
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith("#"):
            return False
        if line.startswith(HAND_MAINTAINED):
            return True
    return False


def read(text: str, path: str) -> dict[str, str]:
    """The regions of a file: name → the lines between its markers, verbatim (line ends kept).

    Raises ``InputError`` naming the file and line of the first marker that is not whole.
    """
    found: dict[str, str] = {}
    open_name: str | None = None
    open_line = 0
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        bare = line.rstrip("\r\n")
        opening, closing = _BEGIN.match(bare), _END.match(bare)
        if opening:
            name = opening["name"]
            if open_name is not None:
                raise InputError(f"opens `your {name}` inside `your {open_name}` (line {open_line}), "
                                 "which is not closed", file=path, line=number, fix=FIX)
            if name in found:
                raise InputError(f"opens `your {name}` a second time", file=path, line=number, fix=FIX)
            open_name, open_line, lines = name, number, []
        elif closing:
            name = closing["name"]
            if open_name != name:
                raise InputError(f"closes `your {name}`, which is not open here"
                                 + (f" (`your {open_name}` is, since line {open_line})" if open_name else ""),
                                 file=path, line=number, fix=FIX)
            found[name] = "".join(lines)
            open_name = None
        elif _LOOKS_LIKE.match(bare):
            raise InputError("looks like a marker of a kept region but is not one modelreg reads",
                             file=path, line=number, fix=FIX)
        elif open_name is not None:
            lines.append(line)
    if open_name is not None:
        raise InputError(f"opens `your {open_name}`, which is never closed", file=path, line=open_line,
                         fix=FIX)
    return found


def fill(template: str, kept: dict[str, str]) -> str:
    """The template with each region's lines replaced by ``kept``'s (where it has that region)."""
    out: list[str] = []
    skipping = False
    for line in template.splitlines(keepends=True):
        opening, closing = _BEGIN.match(line.rstrip("\n")), _END.match(line.rstrip("\n"))
        if opening and opening["name"] in kept:
            out += [line, kept[opening["name"]]]
            skipping = True
        elif closing and skipping:
            out.append(line)
            skipping = False
        elif not skipping:
            out.append(line)
    return "".join(out)
