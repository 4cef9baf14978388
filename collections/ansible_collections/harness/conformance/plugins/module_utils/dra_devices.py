# Copyright: harness developers; Apache-2.0
"""DRA devices as the verify roles read them from ResourceSlices."""

from __future__ import annotations

from typing import Any


def attribute_value(attr: Any) -> str:
    """A device attribute is one-of {version, string, int, bool}: its one value, as text ("" if it has none)."""
    if isinstance(attr, dict):
        return str(next(iter(attr.values()), ""))
    return str(attr)


def device_id(driver: Any, pool: Any, device: Any) -> str:
    """A device named as the scheduler names an allocation result: ``<driver>/<pool>/<device>``."""
    return f"{driver}/{pool}/{device}"
