"""Item identity, canonical links, and rendering that escapes feed text for each target."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime

import pytest

from tests.conftest import Entry, rss
from watcher.links import canonical_link
from watcher.models import PendingAlert
from watcher.notify.render import render_html, render_markdown, render_text, safe_link
from watcher.parser import parse_feed


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://ex.com/a?id=1&utm_source=rss&utm_medium=feed", "https://ex.com/a?id=1"),
        ("http://EX.com/a#comments", "https://ex.com/a"),
        ("https://ex.com/a?b=2&a=1", "https://ex.com/a?a=1&b=2"),
        ("https://ex.com/a?fbclid=xyz", "https://ex.com/a"),
        ("https://ex.com/%7Euser", "https://ex.com/~user"),
    ],
)
def test_links_that_name_one_article_share_a_canonical_form(a: str, b: str) -> None:
    assert canonical_link(a) == canonical_link(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://ex.com/a?id=1", "https://ex.com/a?id=2"),
        ("https://ex.com/a", "https://ex.com/b"),
        ("https://ex.com/a", "https://other.com/a"),
    ],
)
def test_different_articles_keep_different_links(a: str, b: str) -> None:
    assert canonical_link(a) != canonical_link(b)


def test_identity_is_guid_then_link_then_content_hash() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><guid>g-1</guid><title>With guid</title><link>https://ex.com/1</link></item>"
        b"<item><title>With link</title><link>https://ex.com/2?utm_source=x</link></item>"
        b"<item><title>Neither</title><description>text</description></item>"
        b"<item><title>With link</title><link>https://ex.com/2?utm_source=x</link></item>"
        b'<item><guid isPermaLink="false">empty</guid></item>'
        b"</channel></rss>"
    )
    items = parse_feed(body, "https://feeds.example/f.xml").items
    # feedparser reads a bare <guid> as a permalink and resolves it against the feed URL.
    assert [i.key for i in items[:2]] == [
        "https://feeds.example/g-1",
        "https://ex.com/2?utm_source=x",
    ]
    assert items[2].key.startswith("sha256:")
    assert len(items) == 3  # the repeated entry is one item; an empty entry is dropped
    assert items[1].article_key == "https://ex.com/2"
    assert items[2].article_key.startswith("https://feeds.example/f.xml#sha256:")


def test_items_are_plain_text_with_dates_in_utc() -> None:
    body = rss(
        [
            Entry(
                "1",
                "Guaid&oacute; &amp; Khan",
                "<p>La <b>Corte</b></p><p>Penal</p>",
                pub="Thu, 04 Nov 2021 12:00:00 +0200",
            )
        ]
    )
    (item,) = parse_feed(body, "https://feeds.example/f.xml").items
    assert item.title == "Guaidó & Khan"
    assert item.summary == "La Corte Penal"
    assert item.published == datetime(2021, 11, 4, 10, 0, tzinfo=UTC)


def test_relative_links_are_made_absolute_against_the_feed_url() -> None:
    body = rss([Entry("1", "x", link="/news/1")])
    (item,) = parse_feed(body, "https://feeds.example/rss/f.xml").items
    assert item.link == "https://feeds.example/news/1"


def test_a_gzip_body_without_content_encoding_is_read_and_a_gzip_bomb_is_refused() -> None:
    body = gzip.compress(rss([Entry("1", "Compressed Venezuela")]))
    assert parse_feed(body, "u").items[0].title == "Compressed Venezuela"
    bomb = gzip.compress(b" " * (11 * 1024 * 1024))
    assert parse_feed(bomb, "u").error == "gzip body inflates past 10 MiB: not read"


ALERT = PendingAlert(
    id=1,
    channel="c",
    attempts=0,
    title="<!channel> *bold* [x](javascript:alert(1)) <script>alert(1)</script> & @here",
    link="https://ex.com/a?x=1&y=<2>|3",
    feed_name="<b>Desk</b>",
    published=datetime(2021, 11, 4, 10, 0, tzinfo=UTC),
    summary="<img src=x onerror=alert(1)> " + "word " * 200,
    rules=(("r1", "ICC <Venezuela>", ("ICC", "Venezuela")),),
)


def test_markdown_escapes_feed_text_and_keeps_the_link_safe() -> None:
    body = render_markdown(ALERT).body
    # No "<" reaches Slack unescaped except our own link target.
    assert re.search(r"(?<!\\)<(?!https://ex\.com/)", body) is None
    assert "\\<\\!channel\\>" in body and "\\<script\\>" in body
    assert "(javascript:" not in body
    assert "(<https://ex.com/a?x=1&y=%3C2%3E%7C3>)" in body
    assert "**Rules:** ICC \\<Venezuela\\>" in body


def test_html_escapes_feed_text_and_shows_the_link_as_text_too() -> None:
    body = render_html(ALERT).body
    assert "<script>" not in body and "<img" not in body and "<b>Desk</b>" not in body
    assert "&lt;script&gt;" in body and "&lt;b&gt;Desk&lt;/b&gt;" in body
    assert body.count("https://ex.com/a?x=1&amp;y=%3C2%3E%7C3") == 3  # two hrefs and the text


def test_text_alert_has_every_field_and_a_short_snippet() -> None:
    text = render_text(ALERT).body
    assert "Feed: <b>Desk</b> | Published: 2021-11-04 10:00 UTC" in text
    assert "Rules: ICC <Venezuela>" in text and "Matched: ICC, Venezuela" in text
    assert text.splitlines()[-1].endswith("…") and len(text.splitlines()[-1]) <= 290


@pytest.mark.parametrize("link", ["javascript:alert(1)", "ftp://ex.com/x", "", None, "/relative"])
def test_only_web_links_are_linked(link: str | None) -> None:
    assert safe_link(link) is None
