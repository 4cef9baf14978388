"""module_utils/quantities.py: numbers read as the roles' Jinja expressions read them."""

from __future__ import annotations

import pytest

from unit_fixtures import load_plugin

q = load_plugin("module_utils", "quantities")


@pytest.mark.parametrize("value, number", [("8", 8), (8, 8), ("1.5", 1), ("", 0), ("many", 0), (None, 0), ("-2", -2)])
def test_to_int_is_jinjas_int(value: object, number: int) -> None:
    assert q.to_int(value) == number
