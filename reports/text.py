"""Make device-supplied text safe for a terminal."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(value: object, limit: int = 80) -> str:
    """Strip control characters (ANSI escapes, bidi overrides) and cut long values."""
    text = _CONTROL.sub("?", str(value)).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
