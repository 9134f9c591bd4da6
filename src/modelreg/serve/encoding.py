"""Compressed bodies: ``Content-Encoding`` of a request, ``Accept-Encoding`` for a response.

Clients compress request bodies with gzip or deflate (tritonclient's
``request_compression_algorithm``). A request is inflated at most to the server's body limit:
a few kilobytes that would inflate to gigabytes (a "zip bomb") are refused once the limit is
passed, never inflated in full. ``deflate`` is the zlib format (RFC 1950), as HTTP defines it
and tritonclient sends it; the raw deflate stream some clients send instead is read too.
"""

from __future__ import annotations

import gzip
import zlib

from modelreg.serve.protocol import BadRequest

#: Content-Encoding → zlib's wbits for it
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
READS = ("gzip", "deflate")
_CHUNK = 1 << 16


def decode(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body as sent before compression; 413 beyond ``limit`` bytes, 400 if corrupt, 415 if unknown."""
    coding = (content_encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding not in _WBITS:
        raise BadRequest(f"Content-Encoding {content_encoding!r} is not supported (send "
                         f"{', '.join(READS)} or identity)", 415)
    try:
        return _inflate(body, _WBITS[coding], limit, coding)
    except zlib.error as exc:
        if coding != "deflate":
            raise BadRequest(f"the body is not valid {coding} data: {exc}") from exc
    try:  # a raw deflate stream without zlib's header
        return _inflate(body, -zlib.MAX_WBITS, limit, coding)
    except zlib.error as exc:
        raise BadRequest(f"the body is not valid {coding} data: {exc}") from exc


def _inflate(body: bytes, wbits: int, limit: int, coding: str) -> bytes:
    inflater = zlib.decompressobj(wbits)
    parts: list[bytes] = []
    total = 0
    pending = body
    while True:
        # max_length bounds what one call may produce: memory never holds more than limit + a chunk
        part = inflater.decompress(pending, _CHUNK)
        total += len(part)
        if total > limit:
            raise BadRequest(f"the {coding} body inflates to more than {limit} bytes, the most this server "
                             "takes (modelreg serve --max-request-bytes)", 413)
        parts.append(part)
        pending = inflater.unconsumed_tail
        # a full chunk with no input left may still have output inside zlib: ask again
        if inflater.eof or (not pending and len(part) < _CHUNK):
            break
    if not inflater.eof:
        raise BadRequest(f"the {coding} body ends before its compressed stream does")
    if inflater.unused_data:
        raise BadRequest(f"the {coding} body has {len(inflater.unused_data)} byte(s) after its "
                         "compressed stream")
    return b"".join(parts)


def choose(accept_encoding: str | None) -> str | None:
    """The encoding to compress a response with, from the request's ``Accept-Encoding`` (None: none)."""
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        weight = 1.0
        key, _, value = params.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        weights[name.strip().lower()] = weight
    for name in READS:
        if weights.get(name, 0.0) > 0:
            return name
    return None


def compress(body: bytes, coding: str) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0) if coding == "gzip" else zlib.compress(body)
