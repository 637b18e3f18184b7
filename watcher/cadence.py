"""When to poll a feed next: its interval, stretched by what the server and the feed ask, backed
off after errors. Pure functions of plain values and ``now``, so every rule is testable alone.

Politeness first: watcher never polls earlier than a publisher asked (``<ttl>``,
``Cache-Control: max-age``, ``Expires``, ``Retry-After``), but never later than a day, so a
server's odd header cannot silence a feed for good.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

STRETCH_CAP = 24 * 3600.0  # the most a server's caching headers or <ttl> can push a poll away
BACKOFF_CAP = 6 * 3600.0  # the longest wait between polls of a failing feed
FULL_FETCH_EVERY = timedelta(days=1)  # one fetch without validators, for servers stuck on 304
REDIRECT_CONFIRMATIONS = 3  # polls in a row a 301/308 must point at the same URL to be followed
JITTER = 0.1  # up to 10% later (at most JITTER_CAP) so feeds of one host drift apart
JITTER_CAP = 300.0

_MAX_AGE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


def http_date(value: str | None) -> datetime | None:
    """An HTTP date (RFC 9110), UTC-aware; None when absent or unparseable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000" or an obsolete zone: HTTP dates are GMT
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def cache_lifetime(
    cache_control: str | None, expires: str | None, date: str | None, now: datetime
) -> float | None:
    """Seconds the response says it stays fresh: ``max-age`` wins over ``Expires`` (as in HTTP
    caching); ``Expires`` is read against the server's own ``Date`` to ignore clock skew."""
    if cache_control:
        if re.search(r"(?:^|[,\s])(no-cache|no-store)\b", cache_control, re.IGNORECASE):
            return None
        ages = {k.lower(): int(v) for k, v in _MAX_AGE.findall(cache_control)}
        if "max-age" in ages:
            return float(ages["max-age"])
    expires_at = http_date(expires)
    if expires_at is None:
        return None
    base = http_date(date) or now
    return max(0.0, (expires_at - base).total_seconds())


def ttl_seconds(ttl: str | None) -> int | None:
    """RSS ``<ttl>`` (minutes) in seconds; None when absent or not a positive number."""
    if not ttl:
        return None
    try:
        minutes = float(ttl.strip())
    except ValueError:
        return None
    return int(minutes * 60) if 0 < minutes < 1e6 else None


def retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = http_date(value)
    return None if when is None else max(0.0, (when - now).total_seconds())


def jittered(delay: float, rng: random.Random | None = None) -> float:
    """``delay`` plus up to 10% (at most 5 minutes): never earlier than asked, never in lockstep."""
    r = rng.random() if rng is not None else random.random()
    return delay + min(JITTER_CAP, delay * JITTER) * r


def healthy_delay(interval: float, ttl: int | None, lifetime: float | None) -> float:
    """The wait after a good poll: the interval, or longer if the feed or server asks for it
    (capped at a day; an interval set above a day is kept as the user wrote it)."""
    asked = max(float(ttl or 0), lifetime or 0.0)
    return max(interval, min(asked, STRETCH_CAP))


def failing_delay(interval: float, failures: int, server_asked: float | None = None) -> float:
    """The wait after the ``failures``-th failure in a row: the interval doubled per failure up
    to 6 hours, or what ``Retry-After`` asked if that is longer (capped at a day). Polling never
    stops: a feed that comes back is seen within 6 hours."""
    backoff = min(BACKOFF_CAP, interval * 2.0 ** max(0, failures - 1))
    backoff = max(backoff, min(interval, BACKOFF_CAP))
    if server_asked is not None:
        backoff = max(backoff, min(server_asked, STRETCH_CAP))
    return backoff
