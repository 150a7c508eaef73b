"""Parsing of configured durations (``"30s"``, ``"5m"``, ``"250ms"``) into integer milliseconds."""

from __future__ import annotations

import re

from windowing.errors import WindowSpecError

_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)\s*$")
ACCEPTED_FORMS = "an int of milliseconds or '<n>ms', '<n>s', '<n>m', '<n>h', '<n>d' (e.g. '5m')"


def parse_duration_ms(value: str | int) -> int:
    """Return ``value`` as a non-negative number of milliseconds.

    Accepts an ``int`` (already milliseconds) or a string ``<integer><unit>`` with unit
    ``ms``, ``s``, ``m``, ``h`` or ``d``. Raises ``WindowSpecError`` (a ``ValueError``) naming
    the bad value and the accepted forms.
    """
    if isinstance(value, bool):
        raise WindowSpecError(f"duration {value!r} is a bool; expected {ACCEPTED_FORMS}")
    if isinstance(value, int):
        if value < 0:
            raise WindowSpecError(f"duration {value!r} is negative; expected {ACCEPTED_FORMS}")
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise WindowSpecError(f"cannot parse duration {value!r}; expected {ACCEPTED_FORMS}")
        return int(match.group(1)) * _UNIT_MS[match.group(2)]
    raise WindowSpecError(
        f"duration {value!r} has type {type(value).__name__}; expected {ACCEPTED_FORMS}"
    )
