"""URLs without the credentials a user may have written into them.

A remote such as ``https://user:token@github.com/acme/fraud.git`` must never end up in a
committed manifest (lineage) or a message. The userinfo is everything before the *last* ``@``
of the authority (a password may itself hold an ``@``: ``https://alice:p@ss@host``), and the
scheme is matched in any case (``HTTPS://`` is as much a URL as ``https://``).
"""

from __future__ import annotations

import re

#: a scheme, then the authority's userinfo: greedy up to the last ``@`` before the path
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s'\"]*@")


def without_credentials(url: str) -> str:
    """``url`` with its userinfo dropped, for a manifest (``https://github.com/acme/fraud.git``)."""
    return _USERINFO.sub(r"\1", url, count=1) if _USERINFO.match(url) else url


def masked(text: str) -> str:
    """``text`` (a URL, or a message holding URLs) with each URL's userinfo written ``***``, for
    output (``postgresql://***@db/mlflow``)."""
    return _USERINFO.sub(r"\1***@", text)
