"""When digests fall due and quiet hours end, on the config's clock (table-driven)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from watcher.models import Noise, RuleHit
from watcher.noise import (
    effective,
    next_digest,
    parse_digest,
    parse_quiet_hours,
    plan,
    quiet_until,
)

MADRID = ZoneInfo("Europe/Madrid")


def at(text: str, tz: ZoneInfo = MADRID) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("schedule", "now", "due"),
    [
        ("hourly", "2026-11-26 10:10", "2026-11-26 11:00"),
        ("hourly", "2026-11-26 23:59", "2026-11-27 00:00"),
        ("daily@08:00", "2026-11-26 07:59", "2026-11-26 08:00"),
        ("daily@08:00", "2026-11-26 08:00", "2026-11-27 08:00"),
        ("daily @ 8:30", "2026-11-26 09:00", "2026-11-27 08:30"),
        ("weekly@mon 08:00", "2026-11-26 10:00", "2026-11-30 08:00"),  # a Thursday
        ("weekly@Monday 08:00", "2026-11-30 07:00", "2026-11-30 08:00"),
        ("weekly@mon 08:00", "2026-11-30 08:00", "2026-12-07 08:00"),
        # Across the spring DST change the digest stays at 08:00 local time.
        ("daily@08:00", "2026-03-28 09:00", "2026-03-29 08:00"),
    ],
)
def test_next_digest_on_the_local_clock(schedule: str, now: str, due: str) -> None:
    assert next_digest(parse_digest(schedule), at(now), MADRID) == at(due)


@pytest.mark.parametrize(
    ("window", "now", "until"),
    [
        ("22:00-07:00", "2026-11-26 21:59", None),
        ("22:00-07:00", "2026-11-26 22:00", "2026-11-27 07:00"),
        ("22:00-07:00", "2026-11-27 03:00", "2026-11-27 07:00"),
        ("22:00-07:00", "2026-11-27 07:00", None),
        ("12:00-14:00", "2026-11-27 13:00", "2026-11-27 14:00"),
        ("12:00-14:00", "2026-11-27 14:30", None),
    ],
)
def test_quiet_hours(window: str, now: str, until: str | None) -> None:
    got = quiet_until(parse_quiet_hours(window), at(now), MADRID)
    assert got == (at(until) if until else None)


@pytest.mark.parametrize(
    "text", ["daily", "daily@25:00", "weekly@xyz 08:00", "weekly@mo 08:00", "every hour"]
)
def test_unreadable_digests_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="write"):
        parse_digest(text)


def test_an_alert_goes_out_as_early_as_any_of_its_rules_allows() -> None:
    night = at("2026-11-26 23:00")
    quiet = Noise(quiet_hours=parse_quiet_hours("22:00-07:00"))
    digest = Noise(digest=parse_digest("daily@08:00"))
    held = RuleHit("held", "Held", (), ("desk",), quiet)
    loud = RuleHit("loud", "Loud", (), ("desk",))
    daily = RuleHit("daily", "Daily", (), ("desk",), digest)
    assert plan([held], night, MADRID).due == at("2026-11-27 07:00")
    assert plan([held, loud], night, MADRID).due == night
    assert plan([daily, held], night, MADRID).due == at("2026-11-27 07:00")
    only_digest = plan([daily], night, MADRID)
    assert only_digest.due == at("2026-11-27 08:00") and only_digest.batch


def test_a_rules_own_settings_win_over_its_channels_and_fill_in_the_rest() -> None:
    """A channel's keys reach every rule's alerts on it, but a rule's own key wins for its
    alerts: its digest, limit and quiet hours stay its own, and urgency still skips quiet hours."""
    night = at("2026-11-26 23:00")
    channel = Noise(parse_digest("daily@08:00"), 10, parse_quiet_hours("22:00-07:00"))
    plain = Noise()
    own = Noise(parse_digest("hourly"), 3, parse_quiet_hours("23:30-06:00"))
    urgent = Noise(urgent=True)
    assert effective(plain, channel) == channel
    assert effective(own, channel) == own
    assert effective(urgent, channel) == replace(channel, urgent=True)
    assert effective(plain, Noise()) == plain

    def due(noise: Noise) -> datetime:
        return plan([RuleHit("r", "R", (), ("desk",), noise)], night, MADRID).due

    no_digest = replace(channel, digest=None)
    assert due(effective(plain, no_digest)) == at("2026-11-27 07:00")  # the channel's window
    assert due(effective(Noise(urgent=True), no_digest)) == night  # urgent bypasses it
    assert due(effective(plain, channel)) == at("2026-11-27 08:00")  # the channel's digest
    assert due(effective(own, channel)) == at("2026-11-27 00:00")  # the rule's hourly one
