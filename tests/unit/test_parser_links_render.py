"""Item identity, canonical links, and which links an alert may link to."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from tests.conftest import Entry, rss
from watcher.links import canonical_link
from watcher.notify.render import safe_link
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


@pytest.mark.parametrize("link", ["javascript:alert(1)", "ftp://ex.com/x", "", None, "/relative"])
def test_only_web_links_are_linked(link: str | None) -> None:
    assert safe_link(link) is None
