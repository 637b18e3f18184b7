"""A link's canonical form (an article's identity across feeds) is the same whether it takes the
short way (a plain link: no query, no fragment, unreserved characters) or goes through w3lib:
a link canonicalised differently would alert one story twice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher import links

_PIECES = st.sampled_from(
    [
        "http",
        "https",
        "HtTp",
        "://",
        "/",
        "//",
        ".",
        "..",
        "-",
        "_",
        "~",
        "a",
        "Z",
        "0",
        "n",
        "example",
        "xn--",
        "?",
        "#",
        "%2f",
        "%7E",
        " ",
        ":443",
        "@",
        "é",
        "a" * 64,
        "utm_source=x",
    ]
)


def _w3lib(link: str) -> str:
    """The canonical form without the short way."""
    return links._by_w3lib(link.strip())


@given(st.lists(_PIECES, max_size=14).map("".join))
def test_the_short_way_gives_what_w3lib_gives(link: str) -> None:
    assert links.canonical_link(link) == _w3lib(link)


@pytest.mark.parametrize(
    "link",
    [
        "https://News.Example/2026/11/26/story-1",
        "http://news.example",
        "https://news.example/a/./b/../c",
        "https://news.example/../a",
        "https://news.example/.",
        "https://news.example/.well-known/x",
        "https://news.example//a//b/",
        "https://news.example/a~b_c.d-e",
        "https://a." + "b" * 64 + ".example/x",
        "https://news.example/a?utm_source=rss",
        "https://news.example/a#top",
        "https://news.example:443/a",
        "https://news.example/Caf%C3%A9",
    ],
)
def test_plain_and_tricky_links_get_what_w3lib_gives(link: str) -> None:
    assert links.canonical_link(link) == _w3lib(link)
