"""Noise control: when an alert may go out, given its rules' digest, quiet hours and urgency.

A channel may set the same keys for every alert sent to it; ``effective`` folds them under a
rule's own. Pure functions of the rules, ``now`` and the config's time zone, so that a test can
walk a day in a second. The store applies the result when it queues an alert (and counts
``max_per_hour``, which needs the ledger); delivery sends what is due, one message per batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from watcher.models import Digest, Noise, QuietHours, RuleHit

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"
_DIGEST = re.compile(
    rf"^\s*(?:(hourly)|daily\s*@\s*{_TIME}|weekly\s*@\s*([a-z]+)\s+{_TIME})\s*$", re.I
)
_QUIET = re.compile(rf"^\s*{_TIME}\s*-\s*{_TIME}\s*$")


def parse_digest(text: str) -> Digest:
    """``hourly``, ``daily@08:00`` or ``weekly@mon 08:00``; ValueError says how to write it."""
    m = _DIGEST.match(text)
    if m is None:
        raise ValueError(
            f"{text!r} is not a digest schedule; write hourly, daily@08:00 or weekly@mon 08:00"
        )
    if m.group(1):
        return Digest("hourly")
    if m.group(2):
        return Digest("daily", at=time(int(m.group(2)), int(m.group(3))))
    word = m.group(4).lower()
    days = [i for i, name in enumerate(_WEEKDAYS) if len(word) >= 3 and name.startswith(word)]
    if not days:
        raise ValueError(
            f"{m.group(4)!r} is not a weekday; write mon, tue, wed, thu, fri, sat or sun"
        )
    return Digest("weekly", at=time(int(m.group(5)), int(m.group(6))), weekday=days[0])


def parse_quiet_hours(text: str) -> QuietHours:
    """``22:00-07:00`` (may span midnight); ValueError says how to write it."""
    m = _QUIET.match(text)
    if m is None:
        raise ValueError(f'{text!r} is not a time window; write it as "22:00-07:00"')
    start = time(int(m.group(1)), int(m.group(2)))
    end = time(int(m.group(3)), int(m.group(4)))
    if start == end:
        raise ValueError(f"{text!r} starts and ends at the same time; give a window")
    return QuietHours(start, end)


def effective(rule: Noise, channel: Noise) -> Noise:
    """A rule's noise on one channel: each key the rule leaves unset is taken from the
    channel's, so a rule's own digest, limit or quiet hours (and urgency) win for its alerts."""
    return replace(
        rule,
        digest=rule.digest if rule.digest is not None else channel.digest,
        max_per_hour=rule.max_per_hour if rule.max_per_hour is not None else channel.max_per_hour,
        quiet_hours=rule.quiet_hours if rule.quiet_hours is not None else channel.quiet_hours,
    )


def _at(day: date, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def next_digest(digest: Digest, now: datetime, tz: tzinfo) -> datetime:
    """The first digest time after ``now`` (UTC), on the config's local clock."""
    local = now.astimezone(tz)
    if digest.kind == "hourly":
        hour = local.replace(minute=0, second=0, microsecond=0)
        return (hour + timedelta(hours=1)).astimezone(UTC)
    day = local.date()
    if digest.kind == "weekly":
        day += timedelta(days=(digest.weekday - local.weekday()) % 7)
    step = timedelta(days=7 if digest.kind == "weekly" else 1)
    when = _at(day, digest.at, tz)
    while when <= now:
        day += step
        when = _at(day, digest.at, tz)
    return when


def quiet_until(quiet: QuietHours, now: datetime, tz: tzinfo) -> datetime | None:
    """When the quiet window holding ``now`` ends (UTC), or None when ``now`` is not in one."""
    local = now.astimezone(tz)
    t, today = local.time().replace(tzinfo=None), local.date()
    if quiet.start < quiet.end:
        return _at(today, quiet.end, tz) if quiet.start <= t < quiet.end else None
    if t >= quiet.start:
        return _at(today + timedelta(days=1), quiet.end, tz)
    if t < quiet.end:
        return _at(today, quiet.end, tz)
    return None


def hour_window(now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The clock hour holding ``now`` on the config's local clock, as UTC bounds."""
    start = now.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    return start.astimezone(UTC), (start + timedelta(hours=1)).astimezone(UTC)


@dataclass(frozen=True)
class Plan:
    """When and how one article's alert to one channel goes out."""

    rule: str  # the rule whose settings decided it
    due: datetime
    batch: str | None = None  # alerts sharing a batch go out as one message
    max_per_hour: int | None = None
    held: str | None = None  # why it waits, for the ledger ("quiet hours until 07:00")


def plan(hits: Sequence[RuleHit], now: datetime, tz: tzinfo) -> Plan:
    """Decide for the rules routing one article to one channel.

    An alert goes out as early as any of its rules allows: if one rule wants it at once
    (no digest; urgent, or outside its quiet hours) it is sent now; if every rule holds it,
    the earliest release wins; only when every rule is a digest does it wait for a digest.
    """
    immediate = [h for h in hits if h.noise.digest is None]
    if not immediate:
        dues = [(next_digest(h.noise.digest, now, tz), h) for h in hits if h.noise.digest]
        due, h = min(dues, key=lambda pair: pair[0])
        local = due.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        return Plan(h.rule_id, due, f"digest:{due.isoformat()}", held=f"digest at {local}")
    best: Plan | None = None
    for h in immediate:
        until = None
        if h.noise.quiet_hours is not None and not h.noise.urgent:
            until = quiet_until(h.noise.quiet_hours, now, tz)
        candidate = Plan(
            h.rule_id,
            until or now,
            max_per_hour=h.noise.max_per_hour,
            held=(f"quiet hours until {until.astimezone(tz).strftime('%H:%M')}" if until else None),
        )
        if best is None or candidate.due < best.due:
            best = candidate
    assert best is not None
    return best
