"""Durations as the registry's files write them: ``30s``, ``15m``, ``24h``, ``7d``, ``2w``.

The file formats (``models.py``) check the spelling; this turns one into seconds, for
the soak time of a promotion and the timeouts of deploy targets.
"""

from __future__ import annotations

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(duration: str) -> int:
    """Seconds in a duration the file formats accepted (a number and one unit of s, m, h, d, w)."""
    return int(duration[:-1]) * _UNITS[duration[-1]]
