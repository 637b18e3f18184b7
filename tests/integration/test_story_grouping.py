"""Story grouping against real receivers: two outlets carry one story under their own links,
and the channel gets one alert listing both, not one per outlet.

Two feeds on the local HTTP server, a webhook receiver (json://) and an SMTP server; the store
is a real SQLite file. The clock is injected: polls and delivery passes read the test's ``now``,
so a hold of minutes or quiet hours pass without sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import Entry, FeedServer, SmtpReceiver, WebhookReceiver, rss, write_config
from watcher.app import App, build, load
from watcher.cli import cli
from watcher.fetcher import new_session
from watcher.notify import deliver_due
from watcher.pipeline import Pipeline
from watcher.store.schema import items, story_items

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)

RULES = """
rules:
  - id: venezuela
    title: Venezuela
    query: 'Venezuela*'
    notify: [desk]
"""

# One wire story as two outlets carry it: headline and a few words edited, their own links.
WIRE = Entry(
    "w1",
    "Venezuela frees dozens of political prisoners after talks with opposition",
    "Venezuela's government released at least 40 political prisoners on Tuesday, rights groups "
    "said, days after President Nicolás Maduro's officials met opposition negotiators in "
    "Barbados. Those freed include students and two journalists detained during last year's "
    "protests in Caracas, according to the Foro Penal legal aid group.",
    link="https://wire.example/2026/11/venezuela-prisoners",
)
DAILY = Entry(
    "d1",
    "Venezuela releases dozens of political prisoners after talks with opposition",
    "Venezuela's government freed at least 40 political prisoners on Tuesday, human rights "
    "groups said, days after President Nicolás Maduro's officials met opposition negotiators "
    "in Barbados. Those freed include students and two reporters detained during last year's "
    "protests in Caracas, according to the Foro Penal legal aid group.",
    link="https://daily.example/world/venezuela-frees-prisoners?id=9",
)
# Another story about Maduro and Venezuela: same names, another story.
CURRENCY = Entry(
    "d2",
    "Maduro announces new currency controls as Venezuela's bolivar slides",
    "President Nicolás Maduro announced new controls on foreign currency on Tuesday as the "
    "bolivar lost a fifth of its value in a week. Officials in Caracas said banks must report "
    "every dollar sale to the central bank, and the opposition said the measures would deepen "
    "Venezuela's shortages of food and medicine.",
    link="https://daily.example/economy/bolivar",
)


@pytest.fixture(autouse=True)
def _fast(no_throttle: None) -> None:
    pass


@dataclass
class Desk:
    """A watcher on two feeds (Wire, Daily) whose clock the test turns."""

    app: App
    feed_server: FeedServer
    now: datetime = T0
    apps: list[App] = field(default_factory=list)

    def publish(self, feed: str, *entries: Entry) -> None:
        self.feed_server.set(f"/{feed}.xml", rss(list(entries), title=feed))

    def poll(self, feed: str | None = None) -> None:
        """Poll one feed (or both) as the daemon does, story grouping as configured."""
        settings = self.app.settings
        states = self.app.store.sync_feeds(settings.feeds)
        pipeline = Pipeline(
            self.app.store,
            lambda: settings.rules,
            clock=lambda: self.now,
            timezone=lambda: settings.timezone,
            stories=lambda: settings.stories,
        )

        async def go() -> None:
            async with new_session() as session:
                for spec in settings.feeds:
                    if feed is None or spec.name == feed:
                        await pipeline.poll(session, spec, states[spec.url].id)

        asyncio.run(go())

    def at(self, when: datetime) -> int:
        """Turn the clock to ``when`` and run a delivery pass; how many alerts went out."""
        self.now = when
        return deliver_due(self.app.store, self.app.channels, self.now).sent

    def restart(self) -> None:
        """A new process: the store and its story index built afresh from the database."""
        self.app.close()
        self.app = build(load(self.app.settings.config_path))
        self.apps.append(self.app)

    def cli(self, *args: str) -> str:
        config = str(self.app.settings.config_path)
        result = CliRunner().invoke(cli, ["--config", config, *args])
        assert result.exit_code == 0, result.stderr
        return result.stdout

    def ledger(self, *args: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.cli("alerts", "--format", "json", *args))
        return rows


@pytest.fixture
def make_desk(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> Iterator[Callable[..., Desk]]:
    desks: list[Desk] = []

    def make(
        stories: dict[str, Any] | None = None,
        rules: str = RULES,
        channels: dict[str, str] | None = None,
        database: str | None = None,
    ) -> Desk:
        for feed in ("Wire", "Daily"):
            feed_server.set(f"/{feed}.xml", rss([], title=feed))
        config = write_config(
            tmp_path,
            feeds=[
                {"url": feed_server.url("/Wire.xml"), "name": "Wire"},
                {"url": feed_server.url("/Daily.xml"), "name": "Daily"},
            ],
            channels=channels or {"desk": f"json://127.0.0.1:{webhook.port}/desk"},
            rules=rules,
            more={
                **({"stories": stories} if stories is not None else {}),
                **({"database": database} if database is not None else {}),
            },
        )
        app = build(load(config))
        desk = Desk(app, feed_server, apps=[app])
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.app.close()


def messages(webhook: WebhookReceiver) -> list[dict[str, Any]]:
    return [payload for _, payload in webhook.received]


def test_with_a_hold_the_receiver_gets_one_alert_listing_both_outlets(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk({"hold": "10m"})
    desk.publish("Wire", WIRE)
    desk.poll("Wire")
    assert desk.at(T0) == 0  # held: copies may still come
    (row,) = desk.ledger()
    assert row["status"] == "pending" and "story hold" in row["held"]

    desk.now = T0 + timedelta(minutes=4)
    desk.publish("Daily", DAILY)
    desk.poll("Daily")
    assert desk.at(T0 + timedelta(minutes=9)) == 0
    assert desk.at(T0 + timedelta(minutes=10)) == 1
    assert desk.at(T0 + timedelta(hours=2)) == 0  # and nothing more, ever

    (message,) = messages(webhook)
    assert message["title"] == WIRE.title
    body = message["message"]
    assert "Also reported by" in body
    assert "Daily" in body and DAILY.title in body and DAILY.link in body  # type: ignore[operator]

    copy, first = desk.ledger()  # newest first
    assert first["status"] == "sent" and first["grouped_into"] is None
    assert copy["status"] == "grouped" and copy["grouped_into"] == first["id"]
    assert copy["feed"] == "Daily" and copy["sent_at"] == first["sent_at"]


def test_without_a_hold_the_first_goes_at_once_and_the_late_copy_is_grouped_not_sent(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk()  # the defaults: grouping on, no hold
    desk.publish("Wire", WIRE)
    desk.poll("Wire")
    assert desk.at(T0) == 1
    assert [m["title"] for m in messages(webhook)] == [WIRE.title]
    assert "Also reported by" not in messages(webhook)[0]["message"]

    desk.now = T0 + timedelta(hours=3)
    desk.publish("Daily", DAILY)
    desk.poll("Daily")
    assert desk.at(desk.now) == 0
    assert desk.at(desk.now + timedelta(hours=1)) == 0
    assert len(webhook.received) == 1

    copy, first = desk.ledger()
    assert (copy["status"], copy["grouped_into"], copy["sent_at"]) == ("grouped", first["id"], None)
    assert [r["id"] for r in desk.ledger("--status", "grouped")] == [copy["id"]]
    table = desk.cli("alerts", "--status", "grouped")
    assert "grouped" in table and "Venezuela releases dozens" in table
    assert f"same story as alert {first['id']}, sent before this copy came: not sent again" in table


def test_different_stories_about_the_same_people_are_not_grouped(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk({"hold": "5m"})
    desk.publish("Wire", WIRE)
    desk.publish("Daily", CURRENCY)
    desk.poll()
    assert desk.at(T0 + timedelta(minutes=5)) == 2
    assert sorted(m["title"] for m in messages(webhook)) == sorted([WIRE.title, CURRENCY.title])
    assert all("Also reported by" not in m["message"] for m in messages(webhook))
    assert {r["status"] for r in desk.ledger()} == {"sent"}


def test_a_copy_arriving_after_a_restart_still_joins_its_story(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk({"hold": "10m"})
    desk.publish("Wire", WIRE)
    desk.poll("Wire")
    desk.restart()
    desk.now = T0 + timedelta(minutes=2)
    desk.publish("Daily", DAILY)
    desk.poll("Daily")
    assert desk.at(T0 + timedelta(minutes=10)) == 1
    (message,) = messages(webhook)
    assert DAILY.title in message["message"]
    assert [r["status"] for r in desk.ledger()] == ["grouped", "sent"]


def test_grouping_off_sends_one_alert_per_outlet(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk({"enabled": False, "hold": "10m"})
    desk.publish("Wire", WIRE)
    desk.publish("Daily", DAILY)
    desk.poll()
    assert desk.at(T0) == 2  # no hold either
    assert {r["status"] for r in desk.ledger()} == {"sent"}


def test_a_copy_outside_the_window_is_a_story_of_its_own(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk({"window": "6h"})
    desk.publish("Wire", WIRE)
    desk.poll("Wire")
    desk.now = T0 + timedelta(hours=7)
    desk.publish("Daily", DAILY)
    desk.poll("Daily")
    assert desk.at(desk.now) == 2
    assert {r["status"] for r in desk.ledger()} == {"sent"}


def test_signatures_too_old_to_group_anything_are_dropped(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    """A daemon that runs for a year keeps no year of signatures: one older than two windows
    can group nothing and is dropped (hourly), while one within the window stays."""
    desk = make_desk({"window": "6h"})
    desk.publish("Wire", WIRE)
    desk.poll("Wire")
    desk.now = T0 + timedelta(hours=13)
    desk.publish("Daily", CURRENCY)
    desk.poll("Daily")
    with desk.app.store.engine.connect() as conn:
        kept = conn.execute(
            select(items.c.title).join(story_items, story_items.c.item_id == items.c.id)
        ).scalars()
        assert list(kept) == [CURRENCY.title]
    assert desk.at(desk.now) == 2  # both alerted, each on its own


def test_a_grouped_copy_does_not_count_against_max_per_hour(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk(
        rules="""
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk]
            max_per_hour: 2
        """
    )
    desk.publish("Wire", WIRE)
    desk.poll("Wire")
    desk.publish("Daily", DAILY, CURRENCY)  # a copy of Wire's story, and a story of its own
    desk.now = T0 + timedelta(minutes=1)
    desk.poll("Daily")
    # Two alerts this hour, at the limit of two: both sent alone, none folded into a summary.
    assert desk.at(desk.now) == 2
    assert sorted(m["title"] for m in messages(webhook)) == sorted([WIRE.title, CURRENCY.title])
    statuses = {r["title"]: (r["status"], r["held"]) for r in desk.ledger()}
    assert statuses[DAILY.title] == ("grouped", None)
    assert statuses[CURRENCY.title] == ("sent", None)


def test_a_copy_arriving_in_quiet_hours_is_listed_in_the_alert_they_hold(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk(
        rules="""
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk]
            quiet_hours: "08:00-12:00"
          - id: maduro
            title: Maduro
            query: 'Maduro'
            notify: [desk]
            quiet_hours: "08:00-12:00"
        """
    )
    desk.publish("Wire", WIRE)
    desk.poll("Wire")  # 09:00 UTC: quiet until 12:00
    desk.now = T0 + timedelta(hours=2)
    desk.publish("Daily", DAILY)
    desk.poll("Daily")
    assert desk.at(T0 + timedelta(hours=2, minutes=59)) == 0
    assert desk.at(T0 + timedelta(hours=3)) == 1
    (message,) = messages(webhook)
    assert "Also reported by" in message["message"] and DAILY.link in message["message"]
    # Both rules matched both copies; the one alert names each once.
    assert "Rules: Venezuela, Maduro\n" in message["message"]
    assert [r["status"] for r in desk.ledger()] == ["grouped", "sent"]


def test_the_rules_that_matched_a_copy_are_merged_into_the_storys_alert(
    make_desk: Callable[..., Desk], smtp: SmtpReceiver
) -> None:
    desk = make_desk(
        {"hold": "5m"},
        rules="""
        rules:
          - id: venezuela
            title: Venezuela watch
            query: 'title:Venezuela AND frees'
            notify: [mail]
          - id: prisoners
            title: Political prisoners
            query: '"political prisoners" AND releases'
            notify: [mail]
        """,
        channels={"mail": smtp.url()},
    )
    desk.publish("Wire", WIRE)  # "frees": only the first rule
    desk.poll("Wire")
    desk.now = T0 + timedelta(minutes=1)
    desk.publish("Daily", DAILY)  # "releases": only the second
    desk.poll("Daily")
    assert desk.at(T0 + timedelta(minutes=5)) == 1
    (mail,) = smtp.wait_for(1)
    text = mail.get_body(("plain", "html")).get_content()  # type: ignore[union-attr]
    assert "Venezuela watch" in text and "Political prisoners" in text
    assert "Daily" in text and "Also reported by" in text
    copy, first = desk.ledger()
    assert first["rules"] == ["venezuela"] and copy["rules"] == ["prisoners"]


@pytest.mark.postgres
def test_grouping_on_postgresql_survives_a_restart_and_lists_both_outlets(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver, postgres_url: str
) -> None:
    desk = make_desk({"hold": "10m"}, database=postgres_url)
    desk.publish("Wire", WIRE)
    desk.publish("Daily", CURRENCY)
    desk.poll()
    desk.restart()
    desk.now = T0 + timedelta(minutes=3)
    desk.publish("Daily", CURRENCY, DAILY)
    desk.poll("Daily")
    assert desk.at(T0 + timedelta(minutes=10)) == 2
    by_title = {m["title"]: m["message"] for m in messages(webhook)}
    assert DAILY.link in by_title[WIRE.title]
    assert "Also reported by" not in by_title[CURRENCY.title]
    assert sorted(r["status"] for r in desk.ledger()) == ["grouped", "sent", "sent"]


def test_when_grouping_fails_each_copy_alerts_on_its_own(
    make_desk: Callable[..., Desk],
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(self: object, text: str) -> None:
        raise MemoryError("no room for a signature")

    monkeypatch.setattr("watcher.stories.StoryIndex.sign", broken)
    desk = make_desk({"hold": "10m"})
    desk.publish("Wire", WIRE)
    desk.publish("Daily", DAILY)
    desk.poll()
    assert desk.at(T0) == 2  # never lost, and not held for copies it cannot recognise
    assert "story grouping failed" in caplog.text and "alerted on its own" in caplog.text


def test_a_copy_arriving_while_the_storys_alert_waits_to_retry_is_listed_in_it(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk()
    webhook.status = 503  # the receiver is overloaded: the first send fails
    desk.publish("Wire", WIRE)
    desk.poll("Wire")
    assert desk.at(T0) == 0
    (row,) = desk.ledger()
    assert row["status"] == "pending" and row["attempts"] == 1
    desk.now = T0 + timedelta(seconds=10)
    desk.publish("Daily", DAILY)
    desk.poll("Daily")  # during the backoff
    webhook.status = 200
    assert desk.at(T0 + timedelta(hours=1)) == 1
    (message,) = messages(webhook)
    assert message["title"] == WIRE.title and DAILY.link in message["message"]
    copy, first = desk.ledger()
    assert copy["status"] == "grouped" and copy["sent_at"] == first["sent_at"] is not None


def test_a_digest_lists_the_other_outlets_under_the_storys_article(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk(
        rules="""
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk]
            digest: daily@10:00
        """
    )
    desk.publish("Wire", WIRE)
    desk.poll("Wire")
    desk.now = T0 + timedelta(minutes=30)
    desk.publish("Daily", DAILY, CURRENCY)
    desk.poll("Daily")
    assert desk.at(T0 + timedelta(minutes=59)) == 0
    assert desk.at(T0 + timedelta(hours=1)) == 2  # the story's alert and CURRENCY's, as one
    (message,) = messages(webhook)
    assert message["title"] == "watcher digest: 2 articles"
    body = message["message"]
    assert WIRE.title in body and CURRENCY.title in body
    assert f"also reported by: Daily: {DAILY.title}" in body
    assert body.count(DAILY.title) == 1  # listed under Wire's article, not as an article


def test_retrying_a_grouped_copy_names_the_alert_to_retry(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk()
    desk.publish("Wire", WIRE)
    desk.publish("Daily", DAILY)
    desk.poll()
    assert desk.at(T0) == 1
    copy, first = desk.ledger()
    config = str(desk.app.settings.config_path)
    result = CliRunner().invoke(cli, ["--config", config, "alerts", "retry", str(copy["id"])])
    assert result.exit_code == 1
    assert f"grouped into alert {first['id']}" in result.stderr
    assert f"`watcher alerts retry {first['id']}`" in result.stderr


def test_a_channel_only_the_copys_rules_reach_gets_its_own_alert(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    desk = make_desk(
        rules="""
        rules:
          - id: venezuela
            title: Venezuela
            query: 'Venezuela*'
            notify: [desk]
          - id: prisoners
            title: Political prisoners
            query: '"political prisoners" AND releases'
            notify: [mail]
        """,
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk", "mail": smtp.url()},
    )
    desk.publish("Wire", WIRE)  # "frees": the desk only
    desk.poll("Wire")
    desk.now = T0 + timedelta(minutes=1)
    desk.publish("Daily", DAILY)  # "releases": the desk (a copy) and the mail (its first)
    desk.poll("Daily")
    assert desk.at(desk.now) == 2
    assert [m["title"] for m in messages(webhook)] == [WIRE.title]
    (mail,) = smtp.wait_for(1)
    assert mail["Subject"] == DAILY.title
    by_channel = {(r["channel"], r["status"]) for r in desk.ledger()}
    assert by_channel == {("desk", "sent"), ("desk", "grouped"), ("mail", "sent")}


# A feed whose summaries are all its footer: the words two of its items share are the footer's,
# not a story's.
FOOTER = (
    "Read the full story on our site. Subscribe to our newsletter for the day's top business "
    "news, delivered to your inbox every morning. Follow us on social media for the latest "
    "updates, and download our app to get alerts on breaking stories as they happen."
)
RECALL = Entry("b1", "Acme recalls cars", FOOTER, link="https://biz.example/acme-recall")
RESIGNS = Entry("b2", "Globex CEO resigns", FOOTER, link="https://biz.example/globex-ceo")
MERGER = Entry("b3", "Initech and Hooli agree merger", FOOTER, link="https://biz.example/merger")
BUSINESS = """
rules:
  - id: companies
    title: Companies
    query: 'Acme OR Globex OR Initech'
    notify: [desk]
"""


def test_one_feeds_stories_sharing_its_footer_each_get_their_own_alert(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    desk = make_desk(rules=BUSINESS)
    desk.publish("Daily", RECALL)
    desk.poll("Daily")
    assert desk.at(T0) == 1
    # Later, two more stories from the same feed over the same footer: each is news of its own,
    # not a copy of the one already sent (nor of each other).
    desk.now = T0 + timedelta(minutes=30)
    desk.publish("Daily", RECALL, RESIGNS, MERGER)
    desk.poll("Daily")
    assert desk.at(desk.now) == 2
    titles = sorted(m["title"] for m in messages(webhook))
    assert titles == sorted([RECALL.title, RESIGNS.title, MERGER.title])
    assert all("Also reported by" not in m["message"] for m in messages(webhook))
    assert {r["status"] for r in desk.ledger()} == {"sent"}


def test_stories_from_two_feeds_sharing_only_a_footer_are_not_grouped(
    make_desk: Callable[..., Desk], webhook: WebhookReceiver
) -> None:
    # An aggregator carries one publisher's items, footer and all: its item is a copy only when
    # the headlines have a word in common.
    desk = make_desk({"hold": "5m"}, rules=BUSINESS)
    desk.publish("Wire", RECALL)
    desk.poll("Wire")
    desk.now = T0 + timedelta(minutes=1)
    aggregated_recall = Entry(
        "a1", "Acme recalls 40,000 cars", FOOTER, link="https://agg.example/1"
    )
    aggregated_ceo = Entry("a2", "Globex CEO resigns", FOOTER, link="https://agg.example/2")
    desk.publish("Daily", aggregated_recall, aggregated_ceo)
    desk.poll("Daily")
    assert desk.at(T0 + timedelta(minutes=6)) == 2
    by_title = {m["title"]: m["message"] for m in messages(webhook)}
    assert sorted(by_title) == sorted([RECALL.title, aggregated_ceo.title])
    assert aggregated_recall.link in by_title[RECALL.title]  # type: ignore[operator]
    assert "Also reported by" not in by_title[aggregated_ceo.title]
    statuses = {r["title"]: r["status"] for r in desk.ledger()}
    assert statuses == {
        RECALL.title: "sent",
        aggregated_recall.title: "grouped",
        aggregated_ceo.title: "sent",
    }
