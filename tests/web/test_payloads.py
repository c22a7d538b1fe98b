"""Ids and cursors from paths and query strings: one parser, one limit (SQLite's integer)."""

from __future__ import annotations

import pytest

from web.payloads import MAX_ID, PayloadError, ascii_id, parse_id, whole_number


@pytest.mark.parametrize(("raw", "value"), [
    ("0", 0), ("7", 7), ("007", 7), (str(MAX_ID), MAX_ID),
    (str(MAX_ID + 1), None), ("1" * 20, None), ("", None), ("-1", None), ("+1", None), ("1.0", None),
    (" 1", None), ("²", None), ("١", None), ("0x10", None),
])
def test_whole_number_takes_ascii_digits_up_to_sqlites_integer(raw: str, value: int | None) -> None:
    assert whole_number(raw) == value


def test_an_id_is_a_whole_number_above_zero() -> None:
    assert ascii_id("0") is None
    assert ascii_id("42") == 42
    assert ascii_id(str(MAX_ID)) == MAX_ID
    assert ascii_id(str(MAX_ID + 1)) is None
    assert parse_id("42") == parse_id(42) == 42
    for bad in ("0", str(MAX_ID + 1), True, 1.5, None, 0, MAX_ID + 1):
        with pytest.raises(PayloadError):
            parse_id(bad)
