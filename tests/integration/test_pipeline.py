"""Dedupe, backlog, broken feeds and a notifier that is down, against real local servers."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import (
    Entry,
    FeedServer,
    SmtpReceiver,
    WebhookReceiver,
    free_port,
    rss,
    write_config,
)
from watcher.app import build, load
from watcher.fetcher import new_session
from watcher.notify import deliver_due
from watcher.pipeline import Pipeline, utcnow
from watcher.scheduler import Daemon, OnceReport

RULES = """
rules:
  - id: venezuela
    title: Venezuela
    query: 'Venezuela*'
    notify: [desk]
  - id: khan
    title: Karim Khan
    query: '"Karim Khan"'
    notify: [legal]
"""


def once(config: Path) -> OnceReport:
    app = build(load(config))
    try:
        return asyncio.run(Daemon(app).run_once())
    finally:
        app.close()


@pytest.fixture(autouse=True)
def _fast(no_throttle: None) -> None:
    pass


def test_same_article_in_two_feeds_alerts_each_channel_once_but_keeps_every_hit(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    # Outlet A carries the story; outlet B carries the same link with tracking parameters and a
    # longer text that also names Karim Khan, a rule only B's copy hits.
    a = rss(
        [
            Entry(
                "a-1",
                "Venezuela faces the ICC",
                "Caracas reacts.",
                link="https://news.example/story?id=7",
            )
        ]
    )
    b = rss(
        [
            Entry(
                "b-9",
                "Venezuela faces the ICC",
                "Prosecutor Karim Khan in Caracas.",
                link="http://NEWS.example/story?utm_source=rss&id=7#top",
            )
        ]
    )
    config = write_config(
        tmp_path,
        feeds=[
            {"url": feed_server.set("/a.xml", a), "name": "A"},
            {"url": feed_server.set("/b.xml", b), "name": "B"},
        ],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk", "legal": smtp.url()},
        rules=RULES,
    )
    report = once(config)
    assert sum(p.hits for p in report.polls) == 3  # A: venezuela; B: venezuela + khan
    assert report.delivery.sent == 2
    assert len(webhook.wait_for(1)) == 1  # desk: one alert although both copies hit
    assert len(smtp.wait_for(1)) == 1  # legal: its one alert, from B's copy only
    assert smtp.messages[0]["Subject"] == "Venezuela faces the ICC"


def test_backlog_skip_stores_a_new_feeds_items_without_alerting(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> None:
    url = feed_server.set("/f.xml", rss([Entry("old", "Old Venezuela story")]))
    config = write_config(
        tmp_path,
        feeds=[{"url": url, "name": "F", "interval": "1s", "backlog": "skip"}],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk", "legal": "console://"},
        rules=RULES,
    )
    report = once(config)
    assert report.polls[0].new_items == 1 and report.polls[0].hits == 1
    assert report.delivery.sent == 0
    feed_server.set(
        "/f.xml", rss([Entry("old", "Old Venezuela story"), Entry("new", "New Venezuela story")])
    )
    import time

    time.sleep(1.1)
    report = once(config)
    assert report.delivery.sent == 1
    (post,) = webhook.wait_for(1)
    assert post[1]["title"] == "New Venezuela story"


def test_a_broken_feed_is_marked_with_its_reason_while_the_others_go_on(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> None:
    good = feed_server.set("/good.xml", rss([Entry("g", "Venezuela story")]))
    config = write_config(
        tmp_path,
        feeds=[
            {"url": feed_server.set("/500.xml", b"oops", status=500), "name": "Down"},
            {
                "url": feed_server.set("/bad.xml", b"<rss><channel><item><title>x</tit"),
                "name": "Malformed",
            },
            {
                "url": feed_server.set(
                    "/page.xml",
                    b"<!DOCTYPE html><html><body>Hi</body></html>",
                    content_type="text/html",
                ),
                "name": "Page",
            },
            {"url": feed_server.set("/empty.xml", b""), "name": "Empty"},
            {"url": f"http://127.0.0.1:{free_port()}/gone.xml", "name": "Refused"},
            {"url": good, "name": "Good"},
        ],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk", "legal": "console://"},
        rules=RULES,
    )
    report = once(config)
    assert report.delivery.sent == 1
    app = build(load(config))
    try:
        views = {v.name: v for v in app.store.feed_views()}
    finally:
        app.close()
    assert views["Good"].status == "ok"
    assert (
        views["Down"].status == "failing"
        and views["Down"].last_error == "HTTP 500 Internal Server Error"
    )
    assert views["Page"].last_error == "not a feed: the URL returned an HTML page"
    assert views["Empty"].last_error == "empty response: the server sent no feed"
    assert "cannot connect to 127.0.0.1" in (views["Refused"].last_error or "")
    assert views["Malformed"].status in ("ok", "failing")  # feedparser may salvage the entry
    assert all(v.error_count == 1 for v in views.values() if v.status == "failing")


def test_alerts_wait_while_the_mail_server_is_down_and_go_out_when_it_is_back(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    port = free_port()
    url = feed_server.set("/f.xml", rss([Entry("k1", "Karim Khan in Caracas")]))
    config = write_config(
        tmp_path,
        feeds=[{"url": url, "name": "F"}],
        channels={
            "desk": "console://",
            "legal": f"mailto://127.0.0.1:{port}?from=w@example.org&to=l@example.org",
        },
        rules=RULES,
    )
    report = once(config)
    assert report.delivery.failed == 1 and report.delivery.sent == 0

    app = build(load(config))
    try:
        assert app.store.pending_count() == 1
        smtp = SmtpReceiver(port)
        try:
            # Not due yet: the retry waits (with backoff), and nothing is sent twice meanwhile.
            assert deliver_due(app.store, app.channels, utcnow()).sent == 0
            later = utcnow() + timedelta(hours=2)
            assert deliver_due(app.store, app.channels, later).sent == 1
            assert [m["Subject"] for m in smtp.wait_for(1)] == ["Karim Khan in Caracas"]
            assert app.store.pending_count() == 0
        finally:
            smtp.close()
    finally:
        app.close()


def test_the_fetch_names_watcher_and_uses_conditional_get(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.set(
        "/f.xml",
        rss([Entry("x", "Venezuela")]),
        headers={"ETag": '"v1"', "Last-Modified": "Thu, 04 Nov 2021 10:00:00 GMT"},
    )
    config = write_config(
        tmp_path,
        feeds=[{"url": url, "interval": "1s"}],
        channels={"desk": "console://", "legal": "console://"},
        rules=RULES,
    )
    once(config)
    import time

    time.sleep(1.1)
    once(config)
    (_, first), (_, second) = feed_server.requests
    assert first["User-Agent"].startswith("watcher/")
    assert "If-None-Match" not in first
    assert second["If-None-Match"] == '"v1"'
    assert second["If-Modified-Since"] == "Thu, 04 Nov 2021 10:00:00 GMT"


def test_hits_of_the_pipeline_name_the_feed_by_its_own_title_when_config_names_none(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.set("/f.xml", rss([Entry("x", "Venezuela")], title="El Diario"))
    config = write_config(
        tmp_path,
        feeds=[{"url": url}],
        channels={"desk": "console://", "legal": "console://"},
        rules=RULES,
    )
    once(config)
    app = build(load(config))
    try:
        (hit,) = app.store.hits(None, None, 0)
    finally:
        app.close()
    assert hit.feed == "El Diario" and hit.terms == ("Venezuela",)
    assert json.dumps(hit.terms)


def test_two_senders_at_once_never_send_an_alert_twice(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> None:
    import threading

    entries = [Entry(f"v{i}", f"Venezuela story {i}") for i in range(30)]
    config = write_config(
        tmp_path,
        feeds=[{"url": feed_server.set("/f.xml", rss(entries)), "name": "F"}],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk", "legal": "console://"},
        rules=RULES,
    )
    settings = load(config)
    apps = [build(settings), build(settings)]  # two processes' worth of store and channels
    try:
        store = apps[0].store
        spec = settings.feeds[0]
        feed_id = store.sync_feeds(settings.feeds)[spec.url].id

        async def poll_only() -> None:  # poll and queue the alerts, send nothing yet
            async with new_session() as session:
                await Pipeline(store, lambda: settings.rules).poll(session, spec, feed_id)

        asyncio.run(poll_only())
        assert store.pending_count() == 30
        now = utcnow()
        threads = [
            threading.Thread(target=deliver_due, args=(app.store, app.channels, now))
            for app in apps
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        titles = sorted(p["title"] for _, p in webhook.wait_for(30))
        assert titles == sorted(e.title for e in entries)  # each exactly once
    finally:
        for app in apps:
            app.close()
