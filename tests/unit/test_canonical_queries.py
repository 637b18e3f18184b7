"""Links with a query or a fragment take the short way to their canonical form too (most
links of real feeds carry a query: ``?id=885690``, ``?ref=rss``, ``?source=rss-...``): held
here to what w3lib gives, as ``test_canonical_links`` holds the plain ones. A link
canonicalised differently would alert one story twice."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watcher import links

_NAMES = st.sampled_from(
    ["a", "A", "b", "ab", "a-b", "a.b", "a_b", "a~", "id", "ID", "utm_source", "UTM_Medium",
     "fbclid", "ref", "source", "p", "_ga", "x", "0", "-", "."]
)  # fmt: skip
_VALUES = st.sampled_from(
    ["", "1", "2", "10", "rss", "RSS", "a-b", "x.y", "~z", "rss-b4981c59ffa5------2", "-", "."]
)
_ODD = st.sampled_from(["", "&", "&&", "=", "==", "+", "%20", "%7E", " ", "é", "/", "?", ";"])


@st.composite
def _link(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
    host = draw(st.sampled_from(["n.example", "News.Example", "a-b.example"]) | st.just("n.x:80"))
    path = draw(st.sampled_from(["", "/", "/a", "/A/b.asp", "/2026/x-y_z~", "/a/./b", "/@me/x"]))
    pairs = draw(st.lists(st.tuples(_NAMES, _VALUES, st.just(True) | st.booleans()), max_size=5))
    query = "&".join(f"{n}={v}" if eq else n for n, v, eq in pairs)
    query += draw(st.just("") | _ODD)
    mark = draw(st.sampled_from(["?", "", "?"]))
    fragment = draw(st.sampled_from(["", "#", "#top", "#a/b?c=d", "#x y", "#é"]))
    return f"{scheme}://{host}{path}{mark}{query if mark else ''}{fragment}"


@settings(max_examples=500)
@given(_link())
@example("http://www.ambito.com/noticia.asp?id=885690")
@example("https://medium.com/x?source=rss-b4981c59ffa5------2&a=1&a=0&ab=1&a-b=2&a.b=3")
@example("https://n.example/a?utm_source=rss&utm_medium=feed#comments")
@example("https://n.example?b=2&a=1&b=1")
@example("https://n.example/a?a=&a")
def test_links_with_a_query_get_what_w3lib_gives(link: str) -> None:
    assert links.canonical_link(link) == links._by_w3lib(link.strip())


@pytest.mark.parametrize(
    "link",
    [
        "http://www.ambito.com/noticia.asp?id=885690",
        "http://derstandard.at/2000049936842/Von-lauter-Dolmen?ref=rss",
        "https://n.example/a?utm_source=rss#top",
    ],
)
def test_common_query_links_take_the_short_way(link: str) -> None:
    assert links._PLAIN_LINK.match(link) is not None
