"""The rules of when a feed is polled next, on the header values servers really send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watcher import cadence

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 120 ", 120.0),
        ("Mon, 02 Nov 2026 13:00:00 GMT", 3600.0),
        ("Mon, 02 Nov 2026 11:00:00 GMT", 0.0),  # in the past: now
        ("Monday, 02-Nov-26 13:00:00 GMT", 3600.0),  # the obsolete RFC 850 form
        ("soon", None),  # garbage: ignored, the backoff decides
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert cadence.retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    ("cache_control", "expires", "date", "seconds"),
    [
        ("max-age=600", None, None, 600.0),
        ('public, s-maxage=60, max-age="900"', None, None, 900.0),
        ("max-age=600", "Mon, 02 Nov 2026 18:00:00 GMT", None, 600.0),  # max-age wins
        ("no-store, max-age=600", None, None, None),
        (None, "Mon, 02 Nov 2026 14:00:00 GMT", None, 7200.0),
        # Expires read against the server's Date: a server clock an hour off changes nothing
        (None, "Mon, 02 Nov 2026 15:00:00 GMT", "Mon, 02 Nov 2026 13:00:00 GMT", 7200.0),
        (None, "0", None, None),  # "already expired" in the only form many servers send
        (None, None, None, None),
    ],
)
def test_cache_lifetime(
    cache_control: str | None, expires: str | None, date: str | None, seconds: float | None
) -> None:
    assert cadence.cache_lifetime(cache_control, expires, date, NOW) == seconds


@pytest.mark.parametrize(
    ("ttl", "seconds"), [("60", 3600), (" 15 ", 900), ("0", None), ("soon", None), (None, None)]
)
def test_ttl_is_minutes(ttl: str | None, seconds: int | None) -> None:
    assert cadence.ttl_seconds(ttl) == seconds


def test_a_long_interval_is_kept_and_its_failures_retry_within_six_hours() -> None:
    day = 86400.0
    assert cadence.healthy_delay(2 * day, None, None) == 2 * day
    assert cadence.failing_delay(2 * day, 1) == 6 * 3600
    assert cadence.failing_delay(60, 1, server_asked=10 * day) == day  # Retry-After capped
