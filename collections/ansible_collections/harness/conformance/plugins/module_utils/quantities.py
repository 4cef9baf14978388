# Copyright: harness developers; Apache-2.0
"""Numbers as the verify roles read them from API objects (allocatable counts, label values)."""

from __future__ import annotations

from typing import Any


def to_int(value: Any) -> int:
    """As Jinja's ``int`` filter, which the roles' expressions used: an integer, the integer part of a
    decimal ("1.5" -> 1), or 0 for anything else ("", "many", None)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0
