"""The job's secrets, and keeping them out of what modelreg records and prints.

A deploy job holds tokens (``GITHUB_TOKEN`` can push to the registry) and
secrets (webhook signing keys, cloud credentials). Text that comes from
outside (a command target's output, a webhook receiver's answer) can repeat
them, as they are or encoded, and would then reach the ledger, which every
clone can read. :class:`Scrubber` replaces every value it is given with
``***`` in the forms a secret commonly takes in output:

- as it is, and JSON-escaped;
- URL-encoded (``quote``, ``quote_plus``; hex digits in either case);
- hex (either case);
- base64, standard and URL-safe, at each of the three alignments a value can
  have inside a longer encoded string (``user:token`` in a Basic
  ``Authorization`` header, ``token\\n`` from ``echo | base64``), line breaks
  inside allowed. The one or two characters at either end that mix in the
  neighbouring bytes stay, as with every masker of this kind.

:func:`secret_values` is what counts as a secret: the value of every
environment variable whose name looks like one (:data:`SECRET_NAME`) and of
every variable the configuration names as holding one. Values shorter than
:data:`MIN_LENGTH` are left alone: masking ``1`` or ``true`` would mangle the
output without protecting anything.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping

#: a name that says its variable holds a secret (anywhere in it: AWS_SECRET_ACCESS_KEY, NPM_TOKEN_RO)
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|_KEY|KEY_|^KEY$|"
                         r"AUTH|COOKIE|APIKEY", re.IGNORECASE)
MIN_LENGTH = 4
MASK = "***"


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def secret_values(environ: Mapping[str, str] | None = None, names: Iterable[str] = ()) -> list[str]:
    """The values of the secret-looking variables of ``environ`` (default: this process's
    environment) and of the variables ``names`` (what the configuration says holds a secret)."""
    env = os.environ if environ is None else environ
    named = set(names)
    return sorted({value for name, value in env.items()
                   if (name in named or looks_secret(name)) and len(value) >= MIN_LENGTH})


class Scrubber:
    """Replaces every given value, in every form the module lists, with ``***``."""

    def __init__(self, values: Iterable[str]) -> None:
        forms: dict[str, bool] = {}  # form → matched without regard to case
        for value in values:
            if len(value) >= MIN_LENGTH:
                for form, caseless in _forms(value):
                    forms[form] = forms.get(form, False) or caseless
        ordered = sorted(forms, key=len, reverse=True)  # the longest form wins where two overlap
        #: the longest form, in characters: a cut text's first this many may hold part of one
        self.margin = len(ordered[0]) if ordered else 0
        parts = [_pattern(form, caseless=forms[form]) for form in ordered]
        self._regex = re.compile("|".join(parts)) if parts else None

    def __call__(self, text: str) -> str:
        return self._regex.sub(MASK, text) if self._regex is not None else text

    def cut(self, text: str) -> str:
        """``text`` scrubbed, when its beginning was cut off: the first :attr:`margin` characters
        are dropped too, since the end of a secret that began before the cut cannot be
        recognised there."""
        return self(text)[self.margin:]


def _forms(value: str) -> list[tuple[str, bool]]:
    raw = value.encode("utf-8", "surrogateescape")
    forms = [(value, False), (json.dumps(value)[1:-1], False),
             (urllib.parse.quote(value, safe=""), True), (urllib.parse.quote(value), True),
             (urllib.parse.quote_plus(value), True), (raw.hex(), True)]
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii").rstrip("=")
        # only the characters made of the value's bits alone: 6 bits each, after 8*offset of others
        start = -(-8 * offset // 6)
        end = (8 * (offset + len(raw))) // 6
        core = encoded[start:end]
        if len(core) >= MIN_LENGTH:
            forms.append((core, False))
            forms.append((core.replace("+", "-").replace("/", "_"), False))
    return [(form, caseless) for form, caseless in forms if len(form) >= MIN_LENGTH]


def _pattern(form: str, *, caseless: bool) -> str:
    if form.isalnum() or set(form) <= _BASE64:
        # encoded forms may be wrapped (base64 at 76 columns): a line break may come anywhere
        body = r"(?:\r?\n)?".join(re.escape(c) for c in form)
    else:
        body = re.escape(form)
    return f"(?i:{body})" if caseless else body


_BASE64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
