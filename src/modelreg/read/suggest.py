"""Names close to a mistyped one: "did you mean 'production'?".

Only error paths and warnings call this, so a successful read never pays for it
(``difflib`` is imported inside the functions).
"""

from __future__ import annotations

from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (difflib's ratio of at least 0.6), else the only candidate
    that ``name`` begins (``prod`` → ``production``), else None."""
    import difflib

    known = sorted(set(candidates) - {name})
    found = difflib.get_close_matches(name, known, n=1)
    if found:
        return found[0]
    starting = [c for c in known if name and c.startswith(name)]
    return starting[0] if len(starting) == 1 else None


def did_you_mean(name: str, candidates: Iterable[str], what: str) -> str | None:
    """``did you mean 'production'? (aliases: production, staging)``, or None without a close name.

    ``what`` names the candidates in the parenthesis (``aliases``, ``models``); a long list is
    left out rather than filling the terminal.
    """
    known = sorted(set(candidates))
    guess = closest(name, known)
    if guess is None:
        return None
    listing = f" ({what}: {', '.join(known)})" if len(known) <= 10 else ""
    return f"did you mean {guess!r}?{listing}"


def one_edit_apart(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with one character inserted, deleted, replaced, or two neighbours
    swapped (``fraud-detecter`` and ``fraud-detector``); False for equal names."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1:]


def near_duplicates(name: str, candidates: Iterable[str]) -> list[str]:
    """The candidates one edit away from ``name``, sorted."""
    return sorted(c for c in set(candidates) if one_edit_apart(name, c))
