"""Digests, hourly limits and quiet hours, against real receivers with an injected clock.

The config's time zone is Europe/Madrid (UTC+1 in November), so every local time below is one
hour ahead of UTC. Polls and delivery passes read the test's clock: a day passes in a second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from click.testing import CliRunner

from tests.conftest import (
    Entry,
    FeedServer,
    SmtpReceiver,
    WebhookReceiver,
    rss,
    write_config,
)
from watcher.app import App, build, load
from watcher.cli import cli
from watcher.fetcher import new_session
from watcher.notify import deliver_due
from watcher.pipeline import Pipeline
from watcher.scheduler import Daemon

MADRID = ZoneInfo("Europe/Madrid")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 on the config's clock (Madrid), as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=MADRID).astimezone(UTC)


@pytest.fixture(autouse=True)
def _fast(no_throttle: None) -> None:
    pass


@dataclass
class Desk:
    """A watcher whose clock the test turns; the feed is whatever the test last published."""

    app: App
    feed_server: FeedServer
    now: datetime = datetime(2026, 11, 26, 9, tzinfo=UTC)  # 10:00 in Madrid

    def publish(self, *entries: Entry) -> None:
        self.feed_server.set("/f.xml", rss(list(entries)))

    def poll(self) -> None:
        settings = self.app.settings
        states = self.app.store.sync_feeds(settings.feeds)
        pipeline = Pipeline(
            self.app.store,
            lambda: settings.rules,
            clock=lambda: self.now,
            timezone=lambda: settings.timezone,
            channel_noise=lambda: settings.channel_noise,
        )

        async def go() -> None:
            async with new_session() as session:
                for spec in settings.feeds:
                    await pipeline.poll(session, spec, states[spec.url].id)

        asyncio.run(go())

    def deliver(self) -> int:
        return deliver_due(self.app.store, self.app.channels, self.now).sent

    def at(self, when: datetime) -> int:
        """Turn the clock to ``when`` and run a delivery pass; how many alerts went out."""
        self.now = when
        return self.deliver()

    def ledger(self) -> list[dict[str, object]]:
        config = str(self.app.settings.config_path)
        result = CliRunner().invoke(cli, ["--config", config, "alerts", "--format", "json"])
        assert result.exit_code == 0, result.stderr
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows


@pytest.fixture
def make_desk(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> Iterator[Callable[..., Desk]]:
    apps: list[App] = []

    def make(rules: str, channels: dict[str, Any] | None = None) -> Desk:
        feed_server.set("/f.xml", rss([]))
        config = write_config(
            tmp_path,
            feeds=[{"url": feed_server.url("/f.xml"), "name": "Wire"}],
            channels=channels or {"desk": f"json://127.0.0.1:{webhook.port}/desk"},
            rules=rules,
            more={"timezone": "Europe/Madrid"},
        )
        app = build(load(config))
        apps.append(app)
        return Desk(app, feed_server)

    yield make
    for app in apps:
        app.close()


def titles(webhook: WebhookReceiver) -> list[str]:
    return [p["title"] for _, p in webhook.received]


def test_a_daily_digest_sends_one_message_at_eight_listing_articles_by_rule(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    desk = make_desk(
        """
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk, mail]
            digest: daily@08:00
          - id: icc
            title: The court
            query: 'ICC'
            notify: [desk]
            digest: daily@08:00
          - id: breaking
            title: Breaking
            query: 'Maduro'
            notify: [desk]
        """,
        {"desk": f"json://127.0.0.1:{webhook.port}/desk", "mail": smtp.url()},
    )
    desk.publish(
        Entry("a", "Venezuela story A"),
        Entry("b", "ICC hearing", link="https://news.example/b"),
        Entry("c", "Venezuela: Maduro speaks"),  # also an immediate rule: sent now
    )
    desk.poll()
    assert desk.deliver() == 1
    assert titles(webhook) == ["Venezuela: Maduro speaks"]

    desk.now = local(26, 15)
    hostile = "Venezuelan &lt;script&gt;x&lt;/script&gt;"  # the item's text holds the tags
    desk.publish(Entry("a", "Venezuela story A"), Entry("d", hostile))
    desk.poll()
    assert desk.at(local(26, 23)) == 0
    assert desk.at(local(27, 7, 59)) == 0
    held = {r["title"]: r["held"] for r in desk.ledger() if r["status"] == "pending"}
    assert held["ICC hearing"] == "digest at 2026-11-27 08:00"

    # Desk: A, B and D in one message (C went out at once by the immediate rule); mail: A, C, D.
    assert desk.at(local(27, 8)) == 6
    digest = webhook.received[1][1]
    assert digest["title"] == "watcher digest: 3 articles"
    body = digest["message"]
    assert body.index("Venezuela (2)") < body.index("Venezuela story A")
    assert body.index("Venezuelan") < body.index("The court (1)") < body.index("ICC hearing")
    assert "https://news.example/b" in body
    assert len(webhook.received) == 2

    (mail,) = smtp.wait_for(1)
    assert mail["Subject"] == "watcher digest: 3 articles"
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html

    # The next day: an article already in a digest is never alerted again, even re-published
    # by another feed; a new one waits for the next digest.
    desk.now = local(27, 9)
    desk.publish(Entry("a2", "Venezuela story A again", link="https://news.example/a"))
    desk.poll()
    assert desk.at(local(28, 8)) == 0
    assert all(r["status"] == "sent" for r in desk.ledger())


def test_max_per_hour_folds_the_rest_of_the_hour_into_one_summary(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk(
        """
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk]
            max_per_hour: 2
        """
    )
    desk.now = local(26, 10, 10)
    desk.publish(*[Entry(f"v{i}", f"Venezuela story {i}") for i in range(5)])
    desk.poll()
    assert desk.deliver() == 2
    assert titles(webhook) == ["Venezuela story 0", "Venezuela story 1"]

    desk.now = local(26, 10, 40)
    desk.publish(*[Entry(f"v{i}", f"Venezuela story {i}") for i in range(6)])
    desk.poll()  # story 5: still over the limit this hour
    assert desk.at(local(26, 10, 59)) == 0
    held = [r["held"] for r in desk.ledger() if r["status"] == "pending"]
    assert held == ["over 2 an hour: in the summary at 11:00"] * 4

    assert desk.at(local(26, 11)) == 4
    summary = webhook.received[2][1]
    assert summary["title"] == "Venezuela: 4 more alerts this hour (over its hourly limit)"
    for i in range(2, 6):
        assert f"Venezuela story {i}" in summary["message"]

    # A new hour: alerts go out one by one again.
    desk.now = local(26, 11, 5)
    desk.publish(Entry("w", "Venezuela new hour"))
    desk.poll()
    assert desk.deliver() == 1
    assert titles(webhook)[-1] == "Venezuela new hour"
    assert len(webhook.received) == 4


def test_quiet_hours_hold_alerts_until_the_window_ends_and_urgent_rules_bypass_them(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk(
        """
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk]
            quiet_hours: "22:00-07:00"
          - id: coup
            title: Coup
            query: 'coup'
            notify: [desk]
            quiet_hours: "22:00-07:00"
            severity: urgent
        """
    )
    desk.now = local(26, 23, 30)
    desk.publish(Entry("v", "Venezuela night story"), Entry("c", "Coup attempt reported"))
    desk.poll()  # checks go on at night: both are stored and queued now
    assert desk.deliver() == 1
    assert titles(webhook) == ["Coup attempt reported"]
    (held,) = [r for r in desk.ledger() if r["status"] == "pending"]
    assert held["title"] == "Venezuela night story"
    assert held["held"] == "quiet hours until 07:00"

    assert desk.at(local(27, 6, 59)) == 0
    assert desk.at(local(27, 7)) == 1
    assert titles(webhook) == ["Coup attempt reported", "Venezuela night story"]

    # Outside the window nothing waits.
    desk.now = local(27, 12)
    desk.publish(Entry("v2", "Venezuela noon story"))
    desk.poll()
    assert desk.deliver() == 1


def test_alerts_held_by_quiet_hours_count_against_the_hour_they_go_out_in(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    """Five stories in the night for a rule allowed two an hour: at 07:00 two go out alone and
    the other three wait for the 08:00 summary, instead of all five at 07:00."""
    desk = make_desk(
        """
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk]
            max_per_hour: 2
            quiet_hours: "22:00-07:00"
        """
    )
    desk.now = local(26, 23, 10)
    desk.publish(*[Entry(f"v{i}", f"Venezuela night story {i}") for i in range(5)])
    desk.poll()
    assert desk.deliver() == 0
    held = sorted(str(r["held"]) for r in desk.ledger())
    assert held == ["over 2 an hour: in the summary at 08:00"] * 3 + ["quiet hours until 07:00"] * 2

    assert desk.at(local(27, 7)) == 2
    assert titles(webhook) == ["Venezuela night story 0", "Venezuela night story 1"]
    assert desk.at(local(27, 7, 59)) == 0
    assert desk.at(local(27, 8)) == 3
    assert len(webhook.received) == 3
    summary = webhook.received[2][1]
    assert summary["title"] == "Venezuela: 3 more alerts this hour (over its hourly limit)"


def test_noise_settings_are_checked_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(
        tmp_path,
        feeds=[],
        channels={"desk": "console://"},
        rules="""
        rules:
          - id: a
            query: x
            notify: [desk]
            digest: dayly@8
          - id: b
            query: y
            notify: [desk]
            quiet_hours: "22-07"
            max_per_hour: 0
          - id: c
            query: z
            digest: weekly@mun 08:00
            severity: critical
        """,
        more={"timezone": "Europe/Madird"},
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert (
        'watcher.yaml:8: timezone: "Europe/Madird" is not a known time zone name; '
        'did you mean "Europe/Madrid"?'
    ) in lines
    assert (
        "rules/main.yaml:5: rule \"a\": digest: 'dayly@8' is not a digest schedule; "
        "write hourly, daily@08:00 or weekly@mon 08:00"
    ) in lines
    assert (
        "rules/main.yaml:9: rule \"b\": quiet_hours: '22-07' is not a time window; "
        'write it as "22:00-07:00"'
    ) in lines
    assert "rules/main.yaml:10: max_per_hour: Input should be greater than or equal to 1" in lines
    assert (
        "rules/main.yaml:13: rule \"c\": digest: 'mun' is not a weekday; "
        "write mon, tue, wed, thu, fri, sat or sun"
    ) in lines
    assert "rules/main.yaml:14: severity: Input should be 'normal' or 'urgent'" in lines
    assert len(lines) == 6, lines


# -- noise control per channel (the config's channels: block) ---------------------------------


def titles_to(webhook: WebhookReceiver, path: str) -> list[str]:
    return [p["title"] for at, p in webhook.received if at == path]


def test_a_channels_quiet_hours_hold_every_rules_alerts_but_an_urgent_rules(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules set no quiet hours; the desk channel does. Another channel without settings
    (a plain URL, as before) gets every alert at once. ${ENV} in a mapping's url still works."""
    monkeypatch.setenv("WATCHER_TEST_DESK_HOOK", f"127.0.0.1:{webhook.port}")
    desk = make_desk(
        """
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk, wire]
          - id: coup
            title: Coup
            query: 'coup'
            notify: [desk]
            severity: urgent
        """,
        {
            "desk": {"url": "json://${WATCHER_TEST_DESK_HOOK}/desk", "quiet_hours": "22:00-07:00"},
            "wire": f"json://127.0.0.1:{webhook.port}/wire",
        },
    )
    desk.now = local(26, 23, 30)
    desk.publish(Entry("v", "Venezuela night story"), Entry("c", "Coup attempt reported"))
    desk.poll()
    assert desk.deliver() == 2
    assert titles_to(webhook, "/desk") == ["Coup attempt reported"]
    assert titles_to(webhook, "/wire") == ["Venezuela night story"]
    (held,) = [r for r in desk.ledger() if r["status"] == "pending"]
    assert (held["channel"], held["title"]) == ("desk", "Venezuela night story")
    assert held["held"] == "quiet hours until 07:00"

    assert desk.at(local(27, 6, 59)) == 0
    assert desk.at(local(27, 7)) == 1
    assert titles_to(webhook, "/desk") == ["Coup attempt reported", "Venezuela night story"]
    assert len(webhook.received) == 3


def test_a_channels_digest_gathers_the_alerts_of_several_rules_into_one_message(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    """Two rules without a digest share the channel's daily one; a rule with its own (hourly)
    keeps it; the plain channel gets each alert at once."""
    desk = make_desk(
        """
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk, wire]
          - id: icc
            title: The court
            query: 'ICC'
            notify: [desk, wire]
          - id: maduro
            title: Maduro
            query: 'Maduro'
            notify: [desk]
            digest: hourly
        """,
        {
            "desk": {"url": f"json://127.0.0.1:{webhook.port}/desk", "digest": "daily@08:00"},
            "wire": f"json://127.0.0.1:{webhook.port}/wire",
        },
    )
    desk.now = local(26, 10, 15)
    desk.publish(
        Entry("a", "Venezuela story A"), Entry("b", "ICC hearing"), Entry("m", "Maduro speaks")
    )
    desk.poll()
    assert desk.deliver() == 2
    assert sorted(titles_to(webhook, "/wire")) == ["ICC hearing", "Venezuela story A"]
    assert titles_to(webhook, "/desk") == []
    held = {r["title"]: r["held"] for r in desk.ledger() if r["status"] == "pending"}
    assert held == {
        "Venezuela story A": "digest at 2026-11-27 08:00",
        "ICC hearing": "digest at 2026-11-27 08:00",
        "Maduro speaks": "digest at 2026-11-26 11:00",
    }

    assert desk.at(local(26, 11)) == 1  # the rule's own hourly digest
    assert titles_to(webhook, "/desk") == ["watcher digest: 1 article"]
    assert desk.at(local(27, 7, 59)) == 0
    assert desk.at(local(27, 8)) == 2
    assert titles_to(webhook, "/desk")[1:] == ["watcher digest: 2 articles"]
    body = webhook.received[-1][1]["message"]
    assert body.index("Venezuela (1)") < body.index("Venezuela story A")
    assert body.index("The court (1)") < body.index("ICC hearing")
    assert len(webhook.received) == 4


def test_a_channels_max_per_hour_counts_every_rules_alerts_and_folds_the_rest(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk(
        """
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk, wire]
          - id: icc
            title: The court
            query: 'ICC'
            notify: [desk, wire]
        """,
        {
            "desk": {"url": f"json://127.0.0.1:{webhook.port}/desk", "max_per_hour": 2},
            "wire": f"json://127.0.0.1:{webhook.port}/wire",
        },
    )
    desk.now = local(26, 10, 10)
    desk.publish(Entry("v0", "Venezuela story 0"), Entry("i0", "ICC hearing 0"))
    desk.poll()
    assert desk.deliver() == 4  # two to each channel: the desk's limit is reached

    desk.now = local(26, 10, 40)
    desk.publish(
        Entry("v0", "Venezuela story 0"),
        Entry("i0", "ICC hearing 0"),
        Entry("v1", "Venezuela story 1"),
        Entry("i1", "ICC hearing 1"),
    )
    desk.poll()
    assert desk.deliver() == 2  # only the wire's: the desk's wait for the summary
    assert sorted(titles_to(webhook, "/desk")) == ["ICC hearing 0", "Venezuela story 0"]
    assert len(titles_to(webhook, "/wire")) == 4
    held = [r["held"] for r in desk.ledger() if r["status"] == "pending"]
    assert held == ["over 2 an hour: in the summary at 11:00"] * 2

    assert desk.at(local(26, 10, 59)) == 0
    assert desk.at(local(26, 11)) == 2
    summary = webhook.received[-1][1]
    assert webhook.received[-1][0] == "/desk"
    assert summary["title"] == "2 more alerts this hour (over this channel's hourly limit)"
    assert "Venezuela story 1" in summary["message"] and "ICC hearing 1" in summary["message"]
    assert len(webhook.received) == 7


def test_channel_noise_settings_are_checked_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_TEST_UNSET", raising=False)
    secret = "json://hunter2-token@127.0.0.1:9/x"
    config = write_config(
        tmp_path,
        feeds=[],
        channels={
            "desk": {"url": secret, "digest": "dayly@8", "quiet_hours": "22-07"},
            "legal": {"url": secret, "max_per_hour": 0, "digets": "hourly"},
            "night": {"digest": "hourly"},
            "list": [secret],
            "env": {"url": "json://${WATCHER_TEST_UNSET}/x", "quiet_hours": "22:00-07:00"},
            "plain": "console://",
        },
        rules="""
        rules:
          - id: a
            query: x
            notify: [desk, legal, night, list, env, plain]
        """,
    )
    text = config.read_text().splitlines()

    def line(needle: str, after: str = "") -> int:
        start = next(i for i, t in enumerate(text) if after in t) if after else 0
        return next(i for i, t in enumerate(text) if i >= start and needle in t) + 1

    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 1
    assert "hunter2" not in result.stderr and "hunter2" not in result.stdout
    lines = result.stderr.strip().splitlines()
    night, listed = line('"night"'), line('"list"')
    expected = [
        f"watcher.yaml:{line('dayly')}: channel \"desk\": digest: 'dayly@8' is not a digest "
        "schedule; write hourly, daily@08:00 or weekly@mon 08:00",
        f"watcher.yaml:{line('22-07')}: channel \"desk\": quiet_hours: '22-07' is not a time "
        'window; write it as "22:00-07:00"',
        f'watcher.yaml:{line("max_per_hour")}: channel "legal": max_per_hour: Input should be '
        "greater than or equal to 1",
        f'watcher.yaml:{line("digets")}: channel "legal": unknown key "digets"; '
        'did you mean "digest"?',
        f'watcher.yaml:{night}: channel "night": give it an apprise URL',
        f'watcher.yaml:{listed}: channel "list": write an apprise URL, or a mapping: '
        "{url: ..., digest: ..., max_per_hour: ..., quiet_hours: ...}",
        f'watcher.yaml:{line("WATCHER_TEST_UNSET")}: channel "env": environment variable '
        "WATCHER_TEST_UNSET is not set",
    ]
    for want in expected:
        assert want in lines, (want, lines)
    assert len(lines) == len(expected), lines


def test_the_daemon_takes_a_channels_new_noise_settings_on_reload(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> None:
    feed_server.set("/f.xml", rss([Entry("v", "Venezuela night story")]))
    rules = """
        rules:
          - id: venezuela
            query: 'Venezuela*'
            notify: [desk]
        """
    hook = f"json://127.0.0.1:{webhook.port}/desk"

    def configure(desk: Any) -> Path:
        return write_config(
            tmp_path,
            feeds=[{"url": feed_server.url("/f.xml"), "name": "Wire"}],
            channels={"desk": desk},
            rules=rules,
            more={"timezone": "Europe/Madrid"},
        )

    app = build(load(configure(hook)))
    try:
        daemon = Daemon(app)
        daemon._scheduler = AsyncIOScheduler()  # not started: reload only (re)schedules feeds
        configure({"url": hook, "quiet_hours": "22:00-07:00"})
        asyncio.run(daemon.reload())
        night = local(26, 23, 30)
        daemon.pipeline.clock = lambda: night
        states = app.store.sync_feeds(daemon.settings.feeds)

        async def poll() -> None:
            async with new_session() as session:
                for spec in daemon.settings.feeds:
                    await daemon.pipeline.poll(session, spec, states[spec.url].id)

        asyncio.run(poll())
        assert deliver_due(app.store, daemon.channels, night).sent == 0
        assert deliver_due(app.store, daemon.channels, local(27, 7)).sent == 1
        assert titles(webhook) == ["Venezuela night story"]
    finally:
        app.close()
