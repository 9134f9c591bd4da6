"""URLs without the credentials a user may have written into them.

A remote such as ``https://user:token@github.com/acme/fraud.git`` must never end up in a
committed manifest (lineage) or a message. The userinfo is everything before the *last* ``@``
of the authority (a password may itself hold an ``@``: ``https://alice:p@ss@host``), and the
scheme is matched in any case (``HTTPS://`` is as much a URL as ``https://``). A password may
even hold an unescaped ``/`` (``https://alice:p@ss/word@host``, which a URL parser would split
into host ``ss`` and a path): after ``user:``, everything up to the last ``@`` is dropped, so a
secret is over-scrubbed rather than shown (a port followed by a path with an ``@`` in it is
the rare URL this shortens wrongly).
"""

from __future__ import annotations

import re

#: a scheme, then the userinfo: ``user:password`` greedy up to the last ``@`` (even past a ``/``),
#: or a user alone up to the last ``@`` before the path
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)(?:[^/?#\s'\"@:]*:[^?#\s'\"]*@|[^/?#\s'\"]*@)")


def without_credentials(url: str) -> str:
    """``url`` with its userinfo dropped, for a manifest (``https://github.com/acme/fraud.git``)."""
    return _USERINFO.sub(r"\1", url, count=1) if _USERINFO.match(url) else url


def masked(text: str) -> str:
    """``text`` (a URL, or a message holding URLs) with each URL's userinfo written ``***``, for
    output (``postgresql://***@db/mlflow``)."""
    return _USERINFO.sub(r"\1***@", text)
