"""The fast path (lxml) stores exactly what feedparser would, or leaves the feed to feedparser.

Differential over every feed file of ../shared/corpus (read in place): wherever the fast path
reads a file, the items it yields (identity, title, link, published time, language, text after
our HTML-to-text) and the feed's title and ttl equal feedparser's. A changed identity would
alert a story twice; a changed text would match rules differently.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from feedparser.urls import _urljoin
from hypothesis import given, settings
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


@pytest.mark.parametrize("content_type", [None, "application/rss+xml"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_the_fast_path_stores_what_feedparser_stores_for_every_corpus_feed(
    path: Path, content_type: str | None
) -> None:
    # None: a local file, or a server that names no type (feedparser then decodes a body
    # without a declared encoding as Latin-1); the other as most servers send feeds.
    body = path.read_bytes()
    fast, reference = _both(body, f"https://feeds.example/{path.name}", content_type)
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
    no_declaration = plain[plain.index(b"?>") + 2 :]
    for body in (plain, b"\xef\xbb\xbf" + plain, b"\xef\xbb\xbf  \n" + no_declaration, atom):
        fast, reference = _both(body, "https://feeds.example/f.xml", "application/xml")
        assert fast.engine == "lxml"
        assert fast.items
        _same(fast, reference)


def test_whitespace_before_the_declaration_sends_the_feed_to_feedparser() -> None:
    # feedparser's strict parser fails on it and its loose parser reads the feed, with its
    # own handling of entities in links: the fast path does not copy that parser.
    body = b"\n" + rss([Entry("a", "x", link="https://n.example/a?id=2&amp;x=1")])
    fast, reference = _both(body, "https://feeds.example/f.xml", "application/xml")
    assert fast.engine == "feedparser"
    assert fast == reference


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


# -- generated feeds: every shape the fast path reads, against feedparser ----------------------

_TEXT_PIECES = st.sampled_from(
    [
        "Maduro",
        "Guaidó",
        "investigación",
        "\u2019",  # right single quotation mark
        "Ã©",
        "\x93",
        " ",
        "  ",
        "\n",
        "\t",
        "\xa0",
        "\u3000",
        "<b>",
        "</b>",
        "<p>Corte</p>",
        "&amp;",
        "&eacute;",
        "&#233;",
        "&lt;i&gt;",
        "a < b",
        "x",
        "\x01",  # the character references below, which escaping would spoil
        "\x02",
    ]
)
_CHAR_REFS = {"\x01": "&#195;&#169;", "\x02": "&#233;&#x2019;"}
_XML_TEXT = st.lists(_TEXT_PIECES, max_size=8).map("".join)
_LINKS = st.sampled_from(
    [
        "https://n.example/a/1",
        "https://N.example/a/1",
        "http://n.example/a?utm_source=rss&id=2",
        "https://n.example/a?id=2&amp;x=1",
        "https://n.example/a/1#frag",
        "/relative/1",
        "12345",
        "a b",
        " https://n.example/pad ",
        "",
    ]
)
_DATES = st.sampled_from(
    [
        "Thu, 04 Nov 2021 12:00:00 +0200",
        "04 Nov 2021 12:00:00 GMT",
        "Thu, 4 Nov 2021 12:00:00 EST",
        "Thu, 31 Nov 2021 12:00:00 +0000",
        "2026-11-02T10:00:00Z",
        "2026-11-02T11:00:00.5+01:00",
        "2026-11-02",
        "",
        "  Thu, 04 Nov 2021 12:00:00 +0000 ",
    ]
)


def _el(tag: str, text: str | None, attrs: str = "") -> str:
    if text is None:
        return ""
    return f"<{tag}{attrs}>{escape(text, _CHAR_REFS)}</{tag}>"


@st.composite
def _rss_feed(draw: st.DrawFn) -> bytes:
    items = []
    for _ in range(draw(st.integers(1, 4))):
        guid = draw(st.none() | _LINKS)
        permalink = draw(st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"']))
        parts = [
            _el("title", draw(st.none() | _XML_TEXT)),
            _el("link", draw(st.none() | _LINKS)),
            _el("guid", guid, permalink),
            _el("description", draw(st.none() | _XML_TEXT)),
            _el("content:encoded", draw(st.none() | _XML_TEXT)),
            _el("pubDate", draw(st.none() | _DATES)),
            _el("dc:date", draw(st.none() | _DATES)),
            _el("category", draw(st.none() | st.just("politics"))),
        ]
        items.append("<item>" + "".join(draw(st.permutations(parts))) + "</item>")
    items += draw(st.sampled_from([[], [items[0]]]))  # an item listed twice
    lang = draw(st.sampled_from(["", ' xml:lang="es_VE"', ' xml:lang="en"']))
    channel = (
        _el("title", draw(st.none() | _XML_TEXT))
        + _el("language", draw(st.none() | st.sampled_from(["es", "", "en-GB"])))
        + _el("ttl", draw(st.none() | st.just("60")))
    )
    return (
        f'<rss version="2.0"{lang} xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        f' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>{channel}{"".join(items)}'
        "</channel></rss>"
    ).encode()


@st.composite
def _atom_feed(draw: st.DrawFn) -> bytes:
    kinds = st.sampled_from(["", ' type="text"', ' type="html"'])
    entries = []
    for _ in range(draw(st.integers(1, 4))):
        link = draw(st.none() | _LINKS)
        parts = [
            _el("id", draw(st.none() | _LINKS)),
            _el("title", draw(st.none() | _XML_TEXT), draw(kinds)),
            "" if link is None else f'<link rel="alternate" href="{escape(link)}"/>',
            _el("summary", draw(st.none() | _XML_TEXT), draw(kinds)),
            _el("content", draw(st.none() | _XML_TEXT), draw(kinds)),
            _el("published", draw(st.none() | _DATES)),
            _el("updated", draw(st.none() | _DATES)),
            draw(st.sampled_from(["", "<author><name>Ana</name></author>"])),
        ]
        entries.append("<entry>" + "".join(draw(st.permutations(parts))) + "</entry>")
    lang = draw(st.sampled_from(["", ' xml:lang="es_VE"', ' xml:lang="en"']))
    title = _el("title", draw(st.none() | _XML_TEXT), draw(kinds))
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom"{lang}>{title}{"".join(entries)}</feed>'
    ).encode()


_PROLOGS = st.sampled_from(
    [
        b"",
        b'<?xml version="1.0"?>',
        b'<?xml version="1.0" encoding="utf-8"?>\n',
        b"<?xml version='1.0' encoding='UTF8'?>",
        b'\n<?xml version="1.0" encoding="utf-8"?>',
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>',
        b"\xef\xbb\xbf",
    ]
)
_CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/rss+xml",
        "application/xml; charset=utf-8",
        "text/xml",
        "text/xml; charset=UTF-8",
        "text/html",
        "application/octet-stream",
    ]
)


@settings(max_examples=400, deadline=None)
@given(_PROLOGS, _rss_feed() | _atom_feed(), _CONTENT_TYPES)
def test_generated_feeds_store_what_feedparser_stores(
    prolog: bytes, feed: bytes, content_type: str | None
) -> None:
    body = prolog + feed
    fast, reference = _both(body, "https://feeds.example/dir/f.xml", content_type)
    if fast.engine == "lxml":
        _same(fast, reference)
    else:
        assert fast == reference


def test_generated_feeds_mostly_take_the_fast_path() -> None:
    # The generator above must exercise the fast path, not only the fallback.
    bodies = [
        rss([Entry("1", "Maduro &amp; <b>ICC</b>", "<p>x</p>", pub="04 Nov 2021 12:00:00 GMT")]),
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>t</title>'
        b"<updated>2026-11-02T10:00:00Z</updated></entry></feed>",
    ]
    for body in bodies:
        assert parse_feed(body, "https://feeds.example/f.xml").engine == "lxml"


def test_identities_too_long_to_index_are_hashed_as_feedparser_s_are() -> None:
    long_path = "/".join(["segment"] * 80)
    body = rss(
        [
            Entry("g" * 600, "Long guid", link=f"https://n.example/{long_path}"),
            Entry("short", "Long link", link=f"https://n.example/{long_path}?id=1"),
        ]
    ).replace(b' isPermaLink="false"', b"", 1)
    fast, reference = _both(body, "https://feeds.example/f.xml", "application/rss+xml")
    assert fast.engine == "lxml"
    _same(fast, reference)
    assert all(i.key.startswith("sha256:") or len(i.key) <= 512 for i in fast.items)
    assert fast.items[0].key.startswith("sha256:")
    assert fast.items[1].article_key.startswith("sha256:")
