"""The whole path as a user runs it: CLI -> HTTP feed -> rules -> SQLite -> email and Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Entry, FeedServer, SmtpReceiver, WebhookReceiver, rss, write_config
from watcher.cli import cli

RULES = """
aliases:
  court: ["International Criminal Court", "ICC", "Corte Penal Internacional"]
rules:
  - id: icc-venezuela
    title: ICC investigation of Venezuela
    query: '@court AND Venezuela* AND NOT cricket'
    notify: [newsroom, legal]
  - id: crimes
    title: Crimes against humanity
    query: '"crimes against humanity"'
    notify: [legal]
"""

ENTRIES = [
    Entry(
        "e1",
        "ICC prosecutor Karim Khan opens investigation into Venezuela",
        "<p>Nicolás Maduro said the state respects the decision on alleged "
        "<b>crimes against</b>\nhumanity.</p>",
    ),
    Entry(
        "e2",
        "La Corte Penal Internacional investiga a Venezuela",
        "El fiscal visitó Caracas.",
        pub="Fri, 05 Nov 2021 09:30:00 +0000",
    ),
    # Escaped twice in the XML, so the item's *text* holds these tags and mentions.
    Entry(
        "e3",
        "&lt;!channel&gt; ICC &amp; Venezuela: &lt;script&gt;alert(1)&lt;/script&gt; @here",
        "&lt;img src=x onerror=alert(1)&gt; the ICC and Venezuela &lt;!here&gt;",
    ),
    Entry("e4", "ICC T20 World Cup: Venezuela-born spinner stars", "cricket news"),
    Entry("e5", "Imran Khan speaks in Lahore", "Pakistan politics"),
]


HOSTILE = "<!channel> ICC & Venezuela: <script>alert(1)</script> @here"


def run_cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def desk(
    tmp_path: Path,
    feed_server: FeedServer,
    smtp: SmtpReceiver,
    slack_to: Callable[[], str],
    no_throttle: None,
) -> Path:
    feed_server.set("/world.xml", rss(ENTRIES))
    return write_config(
        tmp_path,
        feeds=[{"url": feed_server.url("/world.xml"), "name": "World Desk", "interval": "1s"}],
        channels={"newsroom": slack_to(), "legal": smtp.url()},
        rules=RULES,
    )


def test_each_matching_article_is_alerted_once_by_email_and_slack(
    desk: Path, smtp: SmtpReceiver, webhook: WebhookReceiver
) -> None:
    code, _out, err = run_cli(desk, "run", "--once")
    assert code == 0, err

    mails = smtp.wait_for(3)
    assert sorted(m["Subject"] for m in mails) == sorted(
        [ENTRIES[0].title, ENTRIES[1].title, HOSTILE]
    )
    posts = webhook.wait_for(3)
    assert len(posts) == 3
    time.sleep(0.3)
    assert len(smtp.messages) == 3 and len(webhook.received) == 3  # no look-alike, no doubles

    first = next(m for m in mails if m["Subject"] == ENTRIES[0].title)
    plain = first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = first.get_body(("html",)).get_content()  # type: ignore[union-attr]
    # One message naming both rules that route this article to the legal channel.
    assert "ICC investigation of Venezuela" in plain and "Crimes against humanity" in plain
    assert "https://news.example/e1" in plain and "World Desk" in plain
    assert "2021-11-04 10:00 UTC" in plain
    assert "crimes against humanity" in plain and "Venezuela" in plain  # matched terms
    assert 'href="https://news.example/e1"' in html


def test_feed_text_cannot_inject_markup_or_mentions(
    desk: Path, smtp: SmtpReceiver, webhook: WebhookReceiver
) -> None:
    run_cli(desk, "run", "--once")
    hostile = next(m for m in smtp.wait_for(3) if "script" in str(m["Subject"]))
    html = hostile.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html

    payloads = [p for _path, p in webhook.wait_for(3)]
    for payload in payloads:
        blob = json.dumps(payload)
        assert "<!channel>" not in blob and "<!here>" not in blob and "<@" not in blob
    hostile_post = next(p for p in payloads if "script" in p["attachments"][0]["title"])
    assert hostile_post["attachments"][0]["title"].startswith("&lt;!channel&gt;")
    assert "<https://news.example/e3|" in hostile_post["attachments"][0]["text"]


def test_nothing_is_repeated_on_the_next_poll_or_after_a_restart(
    desk: Path, feed_server: FeedServer, smtp: SmtpReceiver, webhook: WebhookReceiver
) -> None:
    run_cli(desk, "run", "--once")
    smtp.wait_for(3)
    webhook.wait_for(3)
    time.sleep(1.1)  # the feed's 1s interval has passed: it is due again
    code, _out, err = run_cli(desk, "run", "--once")  # a new process state: a restart
    assert code == 0, err
    time.sleep(0.3)
    assert len(smtp.messages) == 3 and len(webhook.received) == 3
    assert len(feed_server.requests) == 2  # it did poll again

    # An edited entry (same guid, new title) is not a new article; a new one is.
    edited = [
        Entry("e2", "EDITED: La Corte Penal Internacional y Venezuela", "otra vez"),
        *ENTRIES[2:],
        Entry("e6", "ICC judges allow Venezuela probe to resume", ""),
    ]
    feed_server.set("/world.xml", rss([ENTRIES[0], *edited]))
    time.sleep(1.1)
    run_cli(desk, "run", "--once")
    assert [m["Subject"] for m in smtp.wait_for(4)][3:] == [
        "ICC judges allow Venezuela probe to resume"
    ]
    assert len(webhook.wait_for(4)) == 4
    time.sleep(0.3)
    assert len(smtp.messages) == 4 and len(webhook.received) == 4


def test_hits_and_feeds_report_what_was_stored(desk: Path) -> None:
    run_cli(desk, "run", "--once")
    code, out, _ = run_cli(desk, "hits", "--format", "json")
    assert code == 0
    hits = json.loads(out)
    assert len(hits) == 4  # e1 twice (two rules), e2, e3
    assert {h["rule"] for h in hits} == {"icc-venezuela", "crimes"}
    e1 = next(h for h in hits if h["rule"] == "crimes")
    assert e1["title"] == ENTRIES[0].title
    assert e1["link"] == "https://news.example/e1"
    assert e1["feed"] == "World Desk"
    assert e1["published"] == "2021-11-04T10:00:00Z"
    assert e1["matched_at"].endswith("Z")
    assert e1["terms"] == ["crimes against\nhumanity"] or e1["terms"] == ["crimes against humanity"]

    _, out, _ = run_cli(desk, "hits", "--rule", "crimes", "--format", "json")
    assert [h["rule"] for h in json.loads(out)] == ["crimes"]
    _, out, _ = run_cli(desk, "hits", "--limit", "1", "--format", "json")
    assert len(json.loads(out)) == 1
    _, out, _ = run_cli(desk, "hits", "--since", "1h", "--limit", "0", "--format", "json")
    assert len(json.loads(out)) == 4
    _, out, _ = run_cli(desk, "hits")
    assert "icc-venezuela" in out and "World Desk" in out

    code, out, _ = run_cli(desk, "feeds", "--format", "json")
    assert code == 0
    (feed,) = json.loads(out)
    assert feed["name"] == "World Desk" and feed["status"] == "ok"
    assert feed["items"] == 5 and feed["error_count"] == 0 and feed["last_error"] is None
    assert feed["last_polled"] and feed["next_poll"]
