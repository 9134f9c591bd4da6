"""Free text (reasons, messages, descriptions, tag values): what it may hold, and how it is shown.

One rule everywhere (docs/format.md, "Free text"): text a person gives modelreg may hold newlines
and tabs but no other control character (C0, DEL, C1) and no bidirectional override, which could
retitle a terminal, hide a line, or make a reason read backwards in a review. It is refused where it
comes in: the CLI and the Python API (so commit messages and the manifests modelreg writes never
hold one) and the ``schema`` gate for files written by hand (so none reaches main). Readers still
read a file that holds one (written before this rule, or on a branch): what they show, and text
from elsewhere (a commit subject, a card, GitHub), is escaped on the way out: ``\\x1b`` is printed
as those four characters, in the terminal, HTML and Markdown alike. JSON escapes them itself. The
JSON Schemas leave the rule to the gate, as readers validate against them (docs/format.md).
"""

from __future__ import annotations

from typing import Any

from modelreg.errors import InputError

#: each character refused in free text, mapped to the escape it is shown as
UNPRINTABLE = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0b, 0x20), 0x7f, *range(0x80, 0xa0))}
UNPRINTABLE.update({c: f"\\u{c:04x}" for c in (0x061c, 0x200e, 0x200f, *range(0x202a, 0x202f),
                                                 *range(0x2066, 0x206a))})



def escaped(text: str) -> str:
    """``text`` with every control and bidirectional-override character written as an escape."""
    return text.translate(UNPRINTABLE)


def check_text(text: str, field: str) -> str:
    """``text`` as given, or InputError naming ``field`` and the first character refused."""
    bad = next((ch for ch in text if ord(ch) in UNPRINTABLE), None)
    if bad is not None:
        raise InputError(f"holds the control character {UNPRINTABLE[ord(bad)]} "
                         f"(at {text.index(bad) + 1} of {len(text)})", field=field,
                         fix="write plain text: newlines and tabs are the only control characters allowed")
    return text


#: the longest model description modelreg writes: a line under the model's name (the rest: a card)
MAX_DESCRIPTION = 1000


def check_description(text: str, field: str) -> str:
    """A model's description as given (stripped), or InputError naming ``field``: one line of
    plain text, at most :data:`MAX_DESCRIPTION` characters (empty clears it)."""
    check_text(text, field)
    text = text.strip()
    if any(ch in text for ch in "\n\u2028\u2029"):  # a newline, or Unicode's line and paragraph ones
        raise InputError("holds a line break; a description is one line (the catalog and `show` print "
                         "it under the model's name)", field=field,
                         fix="write one line; put the rest in a model card (register --card)")
    if len(text) > MAX_DESCRIPTION:
        raise InputError(f"is {len(text)} characters long; a description holds at most {MAX_DESCRIPTION}",
                         field=field, fix="say what the model is in a sentence or two; the rest belongs "
                         "in a model card (register --card)")
    return text


def first_unprintable(doc: Any, path: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """The dotted path and text of the first key or string value in a parsed file that holds a
    character :func:`check_text` refuses, or None."""
    if isinstance(doc, str):
        return (".".join(path), doc) if any(ord(ch) in UNPRINTABLE for ch in doc) else None
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        where = (*path, str(key))
        found = first_unprintable(key, where) if isinstance(key, str) else None
        if (found := found or first_unprintable(value, where)) is not None:
            return found
    return None
