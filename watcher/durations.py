"""Durations as users write them: ``1s``, ``30s``, ``5m``, ``1h``, ``7d``, ``1h30m``."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(value: str | int | float) -> float:
    """Seconds in a duration; a bare number means seconds. Raises ``ValueError`` with the fix."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        shown = "nothing" if value is None else repr(str(value))
        raise ValueError(f"{shown} is not a duration; write e.g. 30s, 5m, 1h or 7d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif text and _PART_RE.sub("", text) == "":
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(text))
        else:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 5m, 1h or 7d")
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be more than zero")
    return seconds
