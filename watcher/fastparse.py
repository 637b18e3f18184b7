"""The fast path of feed parsing: lxml for plain, well-formed RSS 2.0 and Atom 1.0.

feedparser is the reference (``watcher.parser``) and costs ~100x a bare XML parse. This module
reads the common shape of a feed with lxml and returns the very entries feedparser would, as the
same dictionaries, so that one piece of code (``parser._item``) turns either into stored items.
Anything outside that shape is refused (``None``) and goes to feedparser: a doctype, an encoding
other than UTF-8, ``xml:base``, ``xml:lang`` below the root, XHTML content, an item element we
have not checked feedparser's handling of, a repeated title or description, a date feedparser
cannot read. A differential test over the shared corpus holds the two to the same items.

feedparser's quirks are copied where they touch what we store, each through feedparser's own
helper so that they cannot drift: links and ids resolved against the feed URL, a guid that
stands for the link, the UTF-8-read-as-Latin-1 repair, cp1252 code points, its date parser.

The parser never loads a DTD, resolves an entity or touches the network, and refuses huge
trees (``huge_tree=False``): hostile input costs no more here than on the fallback.
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

# Item children whose feedparser handling was checked to leave our fields alone, beside the ones
# read here. Anything else in an item sends the whole feed to feedparser.
RSS_ITEM_READ = {"title", "link", "description", "guid", "pubDate", CONTENT_ENCODED, DC + "date"}
RSS_ITEM_INERT = {
    "author",
    "category",
    "comments",
    "enclosure",
    DC + "creator",
    "{http://wellformedweb.org/CommentAPI/}commentRss",
    "{http://purl.org/rss/1.0/modules/slash/}comments",
    "{http://search.yahoo.com/mrss/}content",
    "{http://search.yahoo.com/mrss/}thumbnail",
    "{com-wordpress:feed-additions:1}post-id",
}
ATOM_ENTRY_READ = {ATOM + n for n in ("id", "title", "summary", "content", "published", "updated")}
ATOM_ENTRY_INERT = {ATOM + n for n in ("author", "contributor", "category", "link", "rights")}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
MEDIA = "{http://search.yahoo.com/mrss/}"
# Feed-level elements that feedparser reads as the feed's title or language, or that change how
# it reads the titles around them.
FEED_DENY = {
    DC + "title",
    DC + "language",
    MEDIA + "title",
    ATOM + "language",
    "textinput",
    "textInput",
    "channel",
    ATOM + "source",
}

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    huge_tree=False,
    load_dtd=False,
    dtd_validation=False,
    remove_comments=True,
    remove_pis=True,
    recover=False,
    collect_ids=False,
)

_C1 = re.compile("[\x80-\x9f]")
# An absolute http(s) URL that feedparser's ``_urljoin`` hands back unchanged: no slashes to
# fix after "//", no brackets in the host, no ";" params, no empty "?" or "#" for urllib to
# drop, nothing but printable ASCII (urllib strips controls and spaces). Most links are so.
# A lone relative path segment: no "/", ":", "?", "#", ";" or "%", not "." or "..".
_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*\Z")
_PLAIN_URL = re.compile(r"https?://[^/?#;\[\]\s]+(?:/[^?#;\s]*)?(?:\?[^#;\s]+)?(?:#\S+)?\Z")
_looks_like_html = _FeedParserMixin.looks_like_html
_map_type = _FeedParserMixin.map_content_type


class Refused(Exception):
    """The feed is outside the fast path's shape: feedparser reads it."""


def _fp(value: str) -> str:
    """What feedparser's ``pop`` does to every text value (strict parser, UTF-8 input)."""
    value = value.strip()
    if value.isascii():  # both repairs below leave ASCII alone; most text is ASCII
        return value
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    if _C1.search(value) is None:  # str.translate with a dict costs ~1 us per character
        return value
    return value.translate(_cp1252)


def _join(base: str, uri: str) -> str:
    """feedparser's ``_urljoin(base, uri)``, without its two parses for a plain absolute URL
    or a lone path segment such as a guid "12345" (a quarter of the fast path's time went
    there)."""
    if uri.isascii() and uri.isprintable():
        directory = _directory(base)  # None: a base urllib cannot parse fails every join
        if directory is not None:
            if _PLAIN_URL.match(uri):
                return uri
            if _SEGMENT.match(uri):
                return directory + uri
    return str(_urljoin(base, uri))


@functools.lru_cache(maxsize=256)
def _directory(base: str) -> str | None:
    """What joining any lone segment to ``base`` puts before it (the base's directory, its
    dot segments resolved): the join of a one-letter segment, less the letter. None when
    that join fails (feedparser then returns ""; the full join says so)."""
    joined = str(_urljoin(base, "x"))
    return joined[:-1] if joined.endswith("x") else None


def _check_attrs(el: Any) -> None:
    for name in el.attrib:
        low = name.lower()
        if name in (XML_BASE, XML_LANG) or low in ("base", "lang"):
            raise Refused(f"xml:base or xml:lang on {el.tag}")


def _text(el: Any) -> str:
    """An element's text; markup inside it is beyond the fast path."""
    if len(el):
        raise Refused(f"child elements in {el.tag}")
    return str(el.text or "")


def _date(value: str) -> Any:
    parsed = _parse_date(value)
    if parsed is None and value:
        raise Refused(f"date feedparser may read otherwise: {value!r}")
    return parsed


def _typed(el: Any, default: str, atom: bool) -> dict[str, Any]:
    """A text construct as feedparser's ``*_detail``: its type, after feedparser's guess."""
    if atom:
        kind = el.get("type", default)
        kind = {"text": "text/plain", "html": "text/html"}.get(kind, kind)
        if kind not in ("text/plain", "text/html") or el.get("mode") or el.get("src"):
            raise Refused(f"{el.tag} of type {kind}")
    else:
        if el.attrib:
            raise Refused(f"attributes on {el.tag}")
        kind = default
    return {"type": kind, "language": None}


def _value(el: Any, detail: dict[str, Any], atom: bool) -> str:
    value = _fp(_text(el))
    if not atom and detail["type"] == "text/plain" and _looks_like_html(value):
        detail["type"] = "text/html"
    return value


def _walk_checks(root: Any) -> None:
    for el in root.iter():
        if not isinstance(el.tag, str):
            raise Refused("entity reference")
        if el is not root:
            _check_attrs(el)
        if el.tag.endswith("}svg") or el.tag == "svg":
            raise Refused("svg")


def parse(body: bytes, url: str, content_type: str | None) -> dict[str, Any] | None:
    """feedparser's ``{"feed": ..., "entries": [...]}`` for this body, or None (refused)."""
    try:
        return _parse(body, url, content_type)
    except (Refused, etree.XMLSyntaxError, ValueError, UnicodeError):
        return None


def _parse(body: bytes, url: str, content_type: str | None) -> dict[str, Any]:
    if content_type and "charset" in content_type.lower():
        charset = content_type.lower().split("charset", 1)[1].strip(" =\"'").split(";")[0]
        if charset.strip("\"' ") not in ("utf-8", "utf8"):
            raise Refused("charset")
    body = body.removeprefix(b"\xef\xbb\xbf").lstrip()  # as feedparser does
    declared = _DECLARED.match(body[:200])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise Refused("declared encoding")
    body.decode("utf-8")  # UnicodeDecodeError: feedparser guesses the encoding
    tree = etree.fromstring(body, _PARSER).getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Refused("doctype")
    root = tree.getroot()
    _walk_checks(root)
    for name in root.attrib:
        if name == XML_BASE or name.lower() in ("base", "lang"):
            raise Refused("xml:base or lang on the root")
    base = make_safe_absolute_uri(url, url) or url
    lang = root.get(XML_LANG)
    lang = lang.replace("_", "-") if lang else None
    if root.tag == "rss" and root.get("version") == "2.0":
        parsed = _rss(root, base, lang)
    elif root.tag == ATOM + "feed":
        parsed = _atom(root, base, lang)
    else:
        raise Refused(f"root {root.tag!r}")
    if not parsed["entries"]:
        raise Refused("no entries")  # feedparser says whether an empty feed is broken
    return parsed


def _feed_title(parent: Any, title_tag: str, atom: bool, lang: str | None) -> dict[str, Any]:
    titles = [c for c in parent if c.tag == title_tag]
    if len(titles) > 1:
        raise Refused("two feed titles")
    feed: dict[str, Any] = {}
    if titles:
        detail = _typed(titles[0], "text/plain", atom)
        detail["language"] = lang
        feed["title"] = _value(titles[0], detail, atom)
        feed["title_detail"] = detail
    if lang:
        feed["language"] = lang
    return feed


def _rss(root: Any, base: str, lang: str | None) -> dict[str, Any]:
    channels = [c for c in root if c.tag == "channel"]
    if len(channels) != 1 or len(root) != 1:
        raise Refused("not one channel")
    channel = channels[0]
    feed = _feed_title(channel, "title", False, lang)
    for tag, key in (("language", "language"), ("ttl", "ttl")):
        found = [c for c in channel if c.tag == tag]
        if len(found) > 1:
            raise Refused(f"two {tag}")
        if found:
            feed[key] = _fp(_text(found[0]))
    for c in channel:
        if c.tag in FEED_DENY:
            raise Refused(f"channel element {c.tag!r}: feedparser may read it as language or title")
    entries = [_rss_item(item, base, lang) for item in channel if item.tag == "item"]
    return {"feed": feed, "entries": entries}


def _rss_item(item: Any, base: str, lang: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    if item.attrib:
        raise Refused("attributes on item")
    for child in item:
        tag = child.tag
        if tag in RSS_ITEM_INERT:
            if len(child):
                raise Refused(f"child elements in {tag}")
            continue
        if tag not in RSS_ITEM_READ or tag in seen:
            raise Refused(f"item element {tag}")
        seen.add(tag)
        if tag == "title":
            detail = _typed(child, "text/plain", False)
            detail["language"] = lang
            entry["title"] = _value(child, detail, False)
            entry["title_detail"] = detail
        elif tag == "description":
            detail = _typed(child, "text/html", False)
            detail["language"] = lang
            entry["summary"] = _value(child, detail, False)
            entry["summary_detail"] = detail
        elif tag == CONTENT_ENCODED:
            detail = _typed(child, "text/html", False)
            detail["language"] = lang
            detail["value"] = _value(child, detail, False)
            entry["content"] = [detail]
        elif tag == "link":
            if child.attrib:
                raise Refused("attributes on link")
            entry["link"] = _link(_join(base, _text(child).strip()))
        elif tag == "guid":
            islink = _permalink(child)
            value = _text(child).strip()
            entry["id"] = _fp(_join(base, value) if islink and value else value)
            entry["_guidislink"] = islink
        elif tag == "pubDate":
            entry["published_parsed"] = _date(_fp(_text(child)))
        else:  # dc:date
            entry["updated_parsed"] = _date(_fp(_text(child)))
    if "content" in entry and "summary" not in entry:
        entry["summary"] = entry["content"][0]["value"]  # feedparser copies it, without detail
    if entry.pop("_guidislink", False) and "link" not in entry:
        entry["link"] = entry["id"]
    return entry


def _permalink(guid: Any) -> bool:
    for name, value in guid.attrib.items():
        if name.lower() != "ispermalink":
            raise Refused(f"guid attribute {name}")
        return bool(value == "true")
    return True


def _link(value: str) -> str:
    """feedparser's repair of an RSS link whose query was taken for entity references."""
    value = _fp(value)
    if "&" not in value:
        return value
    return re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", value.replace("&amp;", "&"))


def _atom(root: Any, base: str, lang: str | None) -> dict[str, Any]:
    feed = _feed_title(root, ATOM + "title", True, lang)
    if any(c.tag in FEED_DENY or c.tag == "item" for c in root):
        raise Refused("unexpected feed element")
    entries = [_atom_entry(entry, base, lang) for entry in root if entry.tag == ATOM + "entry"]
    return {"feed": feed, "entries": entries}


def _atom_entry(el: Any, base: str, lang: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in el:
        tag = child.tag
        if tag == ATOM + "link":
            href = child.get("href")
            if href is None or len(child):
                raise Refused("link without href")
            rel = child.get("rel", "alternate")
            kind = child.get("type", "application/atom+xml" if rel == "self" else "text/html")
            if rel == "alternate" and _map_type(kind) in HTML_TYPES:
                entry["link"] = _join(base, href)
            continue
        if tag in ATOM_ENTRY_INERT:
            if tag in (ATOM + "author", ATOM + "contributor"):
                _person(child)
            continue
        if tag not in ATOM_ENTRY_READ or tag in seen:
            raise Refused(f"entry element {tag}")
        seen.add(tag)
        name = tag[len(ATOM) :]
        if name in ("title", "summary", "content"):
            detail = _typed(child, "text/plain", True)
            detail["language"] = lang
            value = _value(child, detail, True)
            if name == "content":
                detail["value"] = value
                entry["content"] = [detail]
            else:
                entry[name] = value
                entry[f"{name}_detail"] = detail
        elif name == "id":
            if child.attrib:
                raise Refused("attributes on id")
            value = _text(child).strip()
            entry["id"] = _fp(_join(base, value)) if value else ""
            entry.setdefault("link", entry["id"])  # an id stands for a missing link
        else:
            entry[f"{name}_parsed"] = _date(_fp(_text(child)))
    if "content" in entry and "summary" not in entry:
        entry["summary"] = entry["content"][0]["value"]
    return entry


def _person(el: Any) -> None:
    for child in el:
        if child.tag not in (ATOM + "name", ATOM + "email", ATOM + "uri") or len(child):
            raise Refused(f"author element {child.tag}")
