"""Feed health: what ``watcher feeds`` says a feed is doing and why, and when the operator is told.

A silently dead feed is the failure users fear most, so health is judged from plain stored
values and ``now`` (no clock read here) and each status carries a reason that says what to do.

- **failing**: the last poll failed. The operator is alerted once the failures have lasted
  ``alert_after`` (default 6 h), and once more when the feed recovers.
- **stale**: polls succeed but no new item has come for ``STALE_FACTOR`` times the feed's usual
  gap between new items (and at least ``STALE_FLOOR``). The usual gap is the average over the
  polls that brought new items, known after ``STALE_MIN_POLLS`` of them.
- **gone**: the server answered 410 Gone; not polled again until re-enabled.
- **disabled**: ``enabled: false`` in the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from watcher.models import FeedState

STALE_FACTOR = 5
STALE_FLOOR = timedelta(days=1)
STALE_MIN_POLLS = 3
DEFAULT_ALERT_AFTER = 6 * 3600.0


@dataclass(frozen=True)
class HealthPolicy:
    alert_after: float = DEFAULT_ALERT_AFTER  # seconds a feed may fail before the operator hears


@dataclass(frozen=True)
class Notice:
    """An operator alert to queue: ``kind`` is machine-readable, the rest is for people."""

    kind: str
    subject: str
    body: str


def _ago(delta: timedelta) -> str:
    """A span as people say it: 45s, 20m, 1h30m, 30h, 12d."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    return f"{seconds // 86400}d"


def _at(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def usual_gap(state: FeedState) -> timedelta | None:
    """The average time between polls that brought new items; None until known."""
    if state.new_item_polls < STALE_MIN_POLLS or not (state.first_new_item and state.last_new_item):
        return None
    return (state.last_new_item - state.first_new_item) / (state.new_item_polls - 1)


def stale_reason(state: FeedState, now: datetime) -> str | None:
    """Why a feed that polls fine looks silent, or None when it does not."""
    gap = usual_gap(state)
    if gap is None or state.last_new_item is None:
        return None
    silent = now - state.last_new_item
    if silent <= max(STALE_FLOOR, gap * STALE_FACTOR):
        return None
    return (
        f"no new item for {_ago(silent)} (since {_at(state.last_new_item)}); it usually has one "
        f"every {_ago(gap)}: check the feed still carries news (its URL may have changed)"
    )


def assess(state: FeedState, enabled: bool, now: datetime) -> tuple[str, str]:
    """``(status, reason)`` as ``watcher feeds`` shows them."""
    if not enabled:
        return "disabled", "enabled: false in the config: not polled"
    if state.status == "gone":
        return "gone", (
            f"{state.last_error or 'HTTP 410 Gone'}; not polled any more: remove it from the "
            "config, or run `watcher feeds --reenable URL` if it is back"
        )
    if state.status == "new" or state.last_polled is None:
        return "new", "not polled yet"
    if state.status == "failing":
        since = state.error_since
        detail = f" for {_ago(now - since)} (since {_at(since)})" if since else ""
        moved = f" (fetched from {state.fetch_url}, where it moved)" if state.fetch_url else ""
        retry = "retried with backoff" if state.error_count else "retried at its interval"
        return "failing", f"{state.last_error or 'failed'}; failing{detail}, {retry}{moved}"
    stale = stale_reason(state, now)
    if stale:
        return "stale", stale
    if state.fetch_url:
        return "ok", f"moved permanently: fetched from {state.fetch_url}"
    return "ok", ""


def next_notice(
    name: str,
    url: str,
    after: FeedState,
    now: datetime,
    policy: HealthPolicy,
) -> tuple[str | None, Notice | None]:
    """The operator alert a poll's outcome calls for, if any, and the alert left standing.

    ``after`` is the feed's state once the poll is recorded (``health_alert`` as it was before).
    One alert when a feed goes bad, one when it comes back; nothing in between.
    """
    standing = after.health_alert
    where = f"Feed: {name}\nURL: {url}\n"
    if after.status == "gone":
        if standing == "gone":
            return standing, None
        return "gone", Notice(
            "feed-gone",
            f"watcher: feed gone: {name}",
            f"{where}The server answered 410 Gone: the publisher removed this feed. watcher "
            "will not poll it again. Remove it from the config, or run "
            "`watcher feeds --reenable URL` if it comes back.",
        )
    if after.status == "failing":
        since = after.error_since
        if (
            standing == "failing"
            or since is None
            or (now - since).total_seconds() < (policy.alert_after)
        ):
            return standing, None
        return "failing", Notice(
            "feed-failing",
            f"watcher: feed failing: {name}",
            f"{where}Failing for {_ago(now - since)} (since {_at(since)}), "
            f"{after.error_count} failed polls.\nLast error: {after.last_error}\n"
            "watcher keeps retrying (backing off up to 6 h) and will say when it recovers.",
        )
    stale = stale_reason(after, now)
    if standing == "failing" or (standing == "stale" and not stale):
        was = "failing" if standing == "failing" else "silent"
        return None, Notice(
            "feed-recovered",
            f"watcher: feed recovered: {name}",
            f"{where}The feed was {was} and polls fine again"
            + (" with new items." if standing == "stale" else "."),
        )
    if stale and standing is None:
        return "stale", Notice(
            "feed-stale",
            f"watcher: feed silent: {name}",
            f"{where}The feed polls fine but has {stale}.",
        )
    return standing, None
