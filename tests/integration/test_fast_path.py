"""The fast path (lxml) stores exactly what feedparser would, or leaves the feed to feedparser.

Differential over every feed file of ../shared/corpus (read in place): wherever the fast path
reads a file, the items it yields (identity, title, link, published time, language, text after
our HTML-to-text) and the feed's title and ttl equal feedparser's. A changed identity would
alert a story twice; a changed text would match rules differently.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from feedparser.urls import _urljoin
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Entry, rss
from tests.integration.test_corpus import CORPUS, FILES
from watcher import fastparse
from watcher.parser import ParsedFeed, parse_feed


def _both(body: bytes, url: str, content_type: str | None = None) -> tuple[ParsedFeed, ParsedFeed]:
    return (
        parse_feed(body, url, content_type),
        parse_feed(body, url, content_type, fast_path=False),
    )


def _same(fast: ParsedFeed, reference: ParsedFeed) -> None:
    assert (fast.title, fast.ttl, fast.error) == (reference.title, reference.ttl, reference.error)
    assert len(fast.items) == len(reference.items)
    for mine, theirs in zip(fast.items, reference.items, strict=True):
        assert mine == theirs  # key, article key, title, link, text, published, language


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_the_fast_path_stores_what_feedparser_stores_for_every_corpus_feed(path: Path) -> None:
    body = path.read_bytes()
    fast, reference = _both(body, f"https://feeds.example/{path.name}")
    if fast.engine == "lxml":
        _same(fast, reference)
    else:
        assert fast == reference


def test_the_fast_path_reads_a_good_share_of_real_publishers_feeds() -> None:
    real = [p for p in FILES if p.relative_to(CORPUS).parts[0] == "real-feeds"]
    if not real:
        pytest.skip(f"feed corpus not found at {CORPUS} (it sits beside the checkout in CI)")
    fast = [
        p for p in real if parse_feed(p.read_bytes(), "https://feeds.example/f").engine == "lxml"
    ]
    # 109 of 333 when written; far fewer would mean the fast path has stopped doing its job.
    assert len(fast) >= len(real) // 4


def test_common_rss_and_atom_shapes_take_the_fast_path_and_agree() -> None:
    plain = rss(
        [
            Entry("a", "Maduro & the <b>ICC</b>", "<p>Caracas &amp; The Hague</p>"),
            Entry("b", "Café con Venezuela", "texto", link="https://n.example/b?x=1&y=2"),
        ]
    )
    atom = (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="es_VE"><title>Desk</title>'
        b"<entry><id>tag:n.example,2026:1</id><title type='html'>Fiscal &lt;i&gt;Khan&lt;/i&gt;"
        b"</title><link rel='alternate' href='https://n.example/1'/>"
        b"<updated>2026-11-02T10:00:00Z</updated><summary>s</summary>"
        b"<content type='html'>&lt;p&gt;Corte Penal&lt;/p&gt;</content></entry>"
        b"<entry><id>urn:uuid:2</id><title>no link</title>"
        b"<published>2026-11-02T11:00:00+01:00</published></entry></feed>"
    )
    for body in (plain, b"\xef\xbb\xbf  \n" + plain, atom):
        fast, reference = _both(body, "https://feeds.example/f.xml", "application/xml")
        assert fast.engine == "lxml"
        assert fast.items
        _same(fast, reference)


@pytest.mark.parametrize(
    "body",
    [
        # xml:base on an item changes how feedparser resolves its link
        b'<rss version="2.0"><channel><item xml:base="https://x.example/a/">'
        b"<title>t</title><link>b</link></item></channel></rss>",
        # a declared encoding other than UTF-8
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><item>'
        "<title>Bogotá</title></item></channel></rss>".encode("iso-8859-1"),
        # XHTML content, an item element not checked, a repeated title, RSS 0.91
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><content type="xhtml">'
        b'<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></content></entry></feed>',
        b'<rss version="2.0"><channel><item><title>t</title><itunes:summary xmlns:itunes='
        b'"http://www.itunes.com/dtds/podcast-1.0.dtd">s</itunes:summary></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title></title><title>t</title></item></channel></rss>',
        b'<rss version="0.91"><channel><item><title>t</title></item></channel></rss>',
        # a date feedparser cannot read
        b'<rss version="2.0"><channel><item><title>t</title><pubDate>someday</pubDate></item>'
        b"</channel></rss>",
    ],
)
def test_shapes_beyond_the_fast_path_go_to_feedparser(body: bytes) -> None:
    parsed = parse_feed(body, "https://feeds.example/f.xml")
    assert parsed.engine == "feedparser"
    assert parsed == parse_feed(body, "https://feeds.example/f.xml", fast_path=False)


def test_hostile_xml_is_refused_by_the_fast_path_without_expanding_or_reading_anything(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{laughs}]><rss version="2.0"><channel>'
        "<item><title>&l9;</title></item></channel></rss>"
    ).encode()
    external = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>'
    ).encode()
    deep = b'<rss version="2.0"><channel><item><title>' + b"<a>" * 100_000 + b"</title></item>"
    huge = (
        b'<rss version="2.0"><channel><item><title>'
        + b"x" * (11 * 1024 * 1024)
        + b"</title></item></channel></rss>"
    )
    for body in (bomb, external, deep, huge):
        assert fastparse.parse(body, "https://feeds.example/f.xml", None) is None
        parsed = parse_feed(body, "https://feeds.example/f.xml")  # and feedparser copes
        assert all("TOP-SECRET" not in i.title for i in parsed.items)
        if body is bomb:
            assert all(len(i.title) < 100_000 for i in parsed.items)


_BASES = [
    "https://feeds.example/f.xml",
    "http://feeds.example/a/b/",
    "https://feeds.example/a/../b/./c.xml?q=1#f",
    "https://feeds.example",
    "http://feeds.example/a;p",
    "feed:x",
    "https://[feeds.example/f.xml",
    "",
]
_URL_PIECES = st.sampled_from(
    [
        "http",
        "https",
        "HTTP",
        ":",
        "//",
        "///",
        "/",
        "?",
        "#",
        ";",
        "[",
        "]",
        "@",
        "%41",
        ".",
        "..",
        "a",
        "B",
        "n.example",
        ":8080",
        "x=1",
        "&",
        " ",
        "\t",
        "\x01",
        "é",
        "-",
        "~",
    ]
)


@given(st.lists(_URL_PIECES, max_size=14).map("".join), st.sampled_from(_BASES))
def test_links_and_ids_are_joined_to_the_feed_url_exactly_as_feedparser_joins_them(
    uri: str, base: str
) -> None:
    # The fast path skips feedparser's join for a plain absolute link; any link it skips
    # must be one feedparser hands back unchanged, or an article's identity would change.
    assert fastparse._join(base, uri) == _urljoin(base, uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://n.example/a/b?x=1&y=2#frag",
        "https://n.example",
        "http://n.example:8080/a;b",
        "http://n.example/a?",
        "http://n.example/a#",
        "http:///n.example/a",
        "HTTPS://n.example/a",
        "https://[n.example/a",
        "https://n.example/a b",
        "https://n.example/./a/../b",
        "https://n.example/é",
        "0-1",
        "12345",
        "a.b~c_d-e",
        ".",
        "..",
        ".hidden",
        "x:y",
        "a%20b",
        "/relative/path",
    ],
)
def test_tricky_links_are_joined_as_feedparser_joins_them(uri: str) -> None:
    for base in _BASES:
        assert fastparse._join(base, uri) == _urljoin(base, uri)
