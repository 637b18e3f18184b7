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
from zoneinfo import ZoneInfo

import pytest
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

    def make(rules: str, channels: dict[str, str] | None = None) -> Desk:
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
