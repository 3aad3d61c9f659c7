"""Range header parsing (RFC 9110 §14): what a video seek, a resumed download and a bad header get.

Pure: no server."""

from __future__ import annotations

import pytest

from api.ranges import RangeNotSatisfiable, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),  # no header: the whole object
        ("", 100, None),
        ("bytes=0-", 100, (0, 99)),
        ("bytes=10-19", 100, (10, 19)),
        ("bytes=90-200", 100, (90, 99)),  # an end past the end is cut to the last byte
        ("bytes=99-99", 100, (99, 99)),
        ("bytes=-10", 100, (90, 99)),  # the last 10 bytes
        ("bytes=-500", 100, (0, 99)),  # a suffix longer than the object: all of it
        ("  bytes=5-6  ", 100, (5, 6)),
        ("bytes=0-1,5-6", 100, None),  # several ranges: answered with the whole object
        ("items=0-1", 100, None),  # a unit we do not know
        ("bytes=-", 100, None),
        ("bytes=a-b", 100, None),
    ],
)
def test_the_range_asked_for(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=100-", 100),  # starts past the end
        ("bytes=100-200", 100),
        ("bytes=20-10", 100),  # ends before it starts
        ("bytes=-0", 100),  # the last zero bytes
        ("bytes=0-", 0),  # an empty object has no byte 0
    ],
)
def test_a_range_that_cannot_be_satisfied_is_416(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)
