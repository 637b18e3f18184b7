"""The fast path of feed parsing: lxml for plain, well-formed RSS 2.0 and Atom 1.0.

feedparser is the reference (``watcher.parser``) and costs ~100x a bare XML parse. This module
reads the common shape of a feed with lxml and returns the very items ``parser`` would store
from feedparser's entries for it (identity, title, canonical link, text, published time,
language), built directly from the elements rather than through feedparser-shaped entries.
Anything outside that shape is refused (``None``) and goes to feedparser: a doctype, an encoding
other than UTF-8, ``xml:base``, ``xml:lang`` below the root, XHTML content, an item element we
have not checked feedparser's handling of, a repeated title or description, a date feedparser
cannot read. A differential test over the shared corpus (and over generated feeds) holds the
two to the same items.

feedparser's quirks are copied where they touch what we store, each through feedparser's own
helper so that they cannot drift: links and ids resolved against the feed URL, a guid that
stands for the link, the UTF-8-read-as-Latin-1 repair, cp1252 code points, its date parser
(the common RFC 822 and ISO 8601 forms are read here, property-tested against it).

The parser never loads a DTD, resolves an entity or touches the network, and refuses huge
trees (``huge_tree=False``): hostile input costs no more here than on the fallback.
"""

from __future__ import annotations

import calendar
import codecs
import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from feedparser import encodings as fp_encodings
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

from watcher.links import item_keys
from watcher.models import Item
from watcher.text import html_to_text

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
DC_DATE = DC + "date"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

# Item children whose feedparser handling was checked to leave our fields alone, beside the ones
# read here. Anything else in an item sends the whole feed to feedparser.
RSS_ITEM_READ = {"title", "link", "description", "guid", "pubDate", CONTENT_ENCODED, DC_DATE}
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
ATOM_LINK = ATOM + "link"
ATOM_PERSON = {ATOM + "author", ATOM + "contributor"}
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

# An absolute http(s) URL that feedparser's ``_urljoin`` hands back unchanged: no slashes to
# fix after "//", no brackets in the host, no ";" params, no empty "?" or "#" for urllib to
# drop, nothing but printable ASCII (urllib strips controls and spaces). Most links are so.
# A lone relative path segment: no "/", ":", "?", "#", ";" or "%", not "." or "..".
_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*\Z")
_PLAIN_URL = re.compile(r"https?://[^/?#;\[\]\s]+(?:/[^?#;\s]*)?(?:\?[^#;\s]+)?(?:#\S+)?\Z")
_map_type = _FeedParserMixin.map_content_type


class Refused(Exception):
    """The feed is outside the fast path's shape: feedparser reads it."""


class FastFeed(NamedTuple):
    """What ``parser.ParsedFeed`` holds for a feed the fast path read."""

    title: str | None
    items: list[Item]
    ttl: str | None


def _fp(value: str) -> str:
    """What feedparser's ``pop`` does to every text value (strict parser, UTF-8 input): strip
    it, repair UTF-8 read as Latin-1, map C1 controls to their cp1252 characters. The C1
    controls are found among the text's Latin-1 bytes (one pass in C, where a regex search or
    ``str.isprintable`` costs 3-5 times as much)."""
    value = value.strip()
    if value.isascii():  # both repairs leave ASCII alone; most text is ASCII
        return value
    try:
        latin = value.encode("iso-8859-1")
    except UnicodeEncodeError:  # beyond Latin-1: not UTF-8 read as Latin-1
        return _cp1252_mapped(value, value.encode("iso-8859-1", "ignore"))
    try:
        value = latin.decode("utf-8")
    except UnicodeDecodeError:
        return _cp1252_mapped(value, latin)
    return _cp1252_mapped(value, value.encode("iso-8859-1", "ignore"))


_NOT_C1 = bytes(range(0x80)) + bytes(range(0xA0, 0x100))


def _cp1252_mapped(value: str, latin: bytes) -> str:
    """``value.translate(_cp1252)``, given the bytes of ``value``'s Latin-1 characters: one
    replace per C1 character present (translating with a dict looks every character up,
    ~0.25 us each; no replacement is itself a C1 character)."""
    found = latin.translate(None, _NOT_C1)
    for code in set(found):
        mapped = _cp1252.get(code)
        if mapped is not None:
            value = value.replace(chr(code), mapped)
    return value


# Bytes of a Latin-1 text that need no work from feedparser's repairs or from HTML-to-text:
# printable ASCII but "<" and "&", and the Latin-1 letters (all printable). A text made of
# them alone holds no UTF-8 to repair (that needs bytes 0x80-0xbf), no C1 control, no markup
# or entity and no whitespace but the space.
_PLAIN_BYTES = bytes(b for b in range(0x20, 0x7F) if b not in b"<&") + bytes(range(0xC0, 0x100))


def stored_text(raw: str) -> str:
    """The text ``parser`` stores for a text element holding ``raw``: ``html_to_text(_fp(raw))``
    (what ``parser._text`` makes of it, whatever feedparser's guess of its type: a value
    without "<" or "&" is only collapsed, one with either is read as HTML either way), without
    the work that would find nothing to do. Most news text in English, Spanish, French, ...
    is one line of plain Latin-1 letters with single spaces: it is stored as it stands, after
    one pass in C over its Latin-1 bytes (``str.isprintable`` costs ~4 times as much)."""
    value = raw.strip()
    try:
        latin = value.encode("iso-8859-1")
    except UnicodeEncodeError:
        return html_to_text(_fp(value))
    if latin.translate(None, _PLAIN_BYTES) or "  " in value:
        return html_to_text(_fp(value))
    return value


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


# -- dates ---------------------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# "Thu, 04 Nov 2021 12:00:00 +0200" (or GMT/UTC/UT/Z): RFC 822 as nearly every RSS feed writes
# it. The day name is optional and not checked (feedparser ignores it); the day has 1-2 digits.
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d\d?) ([A-Z][a-z][a-z]) (\d{4}) "
    r"(\d\d):(\d\d):(\d\d) (?:([+-])(\d\d)(\d\d)|GMT|UTC|UT|Z)\Z"
)
# "2026-11-02T10:00:00Z", "2026-11-02T11:00:00.123+01:00": ISO 8601 as Atom feeds write it.
_ISO = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?(?:Z|([+-])(\d\d):(\d\d))\Z"
)


def _date(value: str) -> datetime | None:
    """The published time ``parser`` stores for a date element holding ``value`` (after
    ``_fp``): feedparser's reading of it as UTC, or None when it reads none (empty) or one
    that does not convert. A date feedparser cannot read is refused: it may read it otherwise
    when parsing the whole feed (other handlers, other formats)."""
    found = _RFC822.match(value) or _ISO.match(value)
    if found is not None:
        fast = _common_date(found)
        if fast is not None:
            return fast
    return _reference_date(value)


def _common_date(found: re.Match[str]) -> datetime | None:
    """A date of the common forms, as feedparser reads it; None if unsure (the reference
    decides: a day that does not exist, a year near the ends of the calendar, ...)."""
    if found.re is _RFC822:
        day_, month_name, year_, hour, minute, second, sign, tzh, tzm = found.groups()
        month = _MONTHS.get(month_name.lower())
        if month is None:
            return None
        day = int(day_)
    else:
        year_, month_, day_, hour, minute, second, sign, tzh, tzm = found.groups()
        month, day = int(month_), int(day_)
    year = int(year_)
    if not 1900 <= year <= 2999:
        return None
    try:
        stamp = datetime(year, month, day, int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    if sign is not None:
        offset = timedelta(hours=int(tzh), minutes=int(tzm))
        stamp = stamp - offset if sign == "+" else stamp + offset
    return stamp


def _reference_date(value: str) -> datetime | None:
    """feedparser's reading of ``value``, converted as ``parser._published`` converts it."""
    parsed = _parse_date(value)
    if parsed is None:
        if value:
            raise Refused(f"date feedparser may read otherwise: {value!r}")
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


# -- checks --------------------------------------------------------------------------------------


def _check_attrs(el: Any) -> None:
    names = el.keys()  # attribute names (iterating an element gives its children)
    for name in names:
        if name in (XML_BASE, XML_LANG) or name.lower() in ("base", "lang"):
            raise Refused(f"xml:base or xml:lang on {el.tag}")


def _text(el: Any) -> str:
    """An element's text; markup inside it is beyond the fast path."""
    if len(el):
        raise Refused(f"child elements in {el.tag}")
    return str(el.text or "")


def _walk_checks(root: Any, top: bool = False) -> None:
    """Entities, svg, xml:base and xml:lang anywhere in ``root``'s tree (on ``root`` itself
    only when ``top``)."""
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            raise Refused("entity reference")
        if top or el is not root:
            _check_attrs(el)
        if tag.endswith("}svg") or tag == "svg":
            raise Refused("svg")


def _typed(el: Any, atom: bool) -> str:
    """A text construct's text; refused for a type beyond plain text and HTML, or any
    attribute on an RSS element."""
    if atom:
        kind = el.get("type", "text")
        kind = {"text": "text/plain", "html": "text/html"}.get(kind, kind)
        if kind not in ("text/plain", "text/html") or el.get("mode") or el.get("src"):
            raise Refused(f"{el.tag} of type {kind}")
    elif el.keys():
        raise Refused(f"attributes on {el.tag}")
    return _text(el)


# -- feeds ---------------------------------------------------------------------------------------


def parse(body: bytes, url: str, content_type: str | None) -> FastFeed | None:
    """The feed's title, items and ttl as ``parser`` stores them, or None (refused)."""
    try:
        return _parse(body, url, content_type)
    except (Refused, etree.XMLSyntaxError, ValueError, UnicodeError):
        return None


def _parse(body: bytes, url: str, content_type: str | None) -> FastFeed:
    if content_type and "charset" in content_type.lower():
        charset = content_type.lower().split("charset", 1)[1].strip(" =\"'").split(";")[0]
        if charset.strip("\"' ") not in ("utf-8", "utf8"):
            raise Refused("charset")
    body = body.removeprefix(b"\xef\xbb\xbf")
    _check_decoding(body, content_type)
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        # feedparser finds no declaration at the start, puts its own there, and its strict
        # parser then fails on the second one: its loose parser reads the feed.
        raise Refused("whitespace before the XML declaration")
    body = body.lstrip()
    declared = _DECLARED.match(body[:200])
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise Refused("declared encoding")
    tree = etree.fromstring(body, _PARSER).getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Refused("doctype")
    root = tree.getroot()
    names = root.keys()
    for name in names:
        if name == XML_BASE or name.lower() in ("base", "lang"):
            raise Refused("xml:base or lang on the root")
    base = make_safe_absolute_uri(url, url) or url
    lang = root.get(XML_LANG)
    lang = lang.replace("_", "-") if lang else None
    if root.tag == "rss" and root.get("version") == "2.0":
        return _rss(root, _Context(url, base, lang))
    if root.tag == ATOM + "feed":
        _walk_checks(root)
        return _atom(root, _Context(url, base, lang))
    raise Refused(f"root {root.tag!r}")


_UTF8 = "utf-8"
_APPLICATION_XML = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)


def _check_decoding(body: bytes, content_type: str | None) -> None:
    """Refuse a body feedparser would not decode as UTF-8 (what lxml reads): feedparser picks
    the encoding by RFC 3023 from the Content-Type, the declaration (as its own regex finds it
    on the first line, after a UTF-8 byte-order mark) and defaults, and decodes the body with it
    before parsing, so that its UTF-8-read-as-Latin-1 repair then undoes a Latin-1 decoding
    (no Content-Type and no declaration) instead of repairing the text. A body in ASCII reads
    the same in UTF-8, ASCII and Latin-1."""
    body.decode("utf-8")  # UnicodeDecodeError: feedparser guesses the encoding
    end = body.find(b"\n")
    declared = ""
    if body.find(b"encoding=", 0, end if end >= 0 else len(body)) >= 0:
        found = fp_encodings.RE_XML_PI_ENCODING.match(body if end < 0 else body[:end])
        if found is not None:
            declared = found.group(1).decode("utf-8").lower()
    mime, charset = fp_encodings.parse_content_type(content_type or "")
    if not content_type:
        chosen = declared or "iso-8859-1"
    elif mime in _APPLICATION_XML or (mime.startswith("application/") and mime.endswith("+xml")):
        chosen = charset or declared or _UTF8
    elif mime.startswith("text/"):
        chosen = charset or "us-ascii"
    else:
        chosen = declared or _UTF8
    if _codec(chosen) == _UTF8:
        return
    if _codec(chosen) in ("ascii", "iso8859-1") and body.isascii():
        return
    # Not ASCII and declared ASCII: feedparser tries the declared encoding, the BOM's,
    # chardet's guess (when installed), UTF-8.
    no_guess = fp_encodings.lazy_chardet_encoding is None
    if _codec(chosen) == "ascii" and (not declared or _codec(declared) == _UTF8) and no_guess:
        return
    raise Refused(f"feedparser decodes this body as {chosen}")


@functools.lru_cache(maxsize=64)
def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


class _Context:
    """What every item of a feed shares."""

    __slots__ = ("base", "lang", "language", "url")

    def __init__(self, url: str, base: str, lang: str | None) -> None:
        self.url = url  # the feed's URL as given: the scope of a link-less item's identity
        self.base = base  # what links and ids are joined to
        self.lang = lang  # xml:lang on the root: the language of every text construct
        self.language: str | None = None  # the feed's declared language (set once read)


def _feed_title(parent: Any, title_tag: str, atom: bool, lang: str | None) -> dict[str, Any]:
    """The feed-level fields as feedparser has them: title, and language from xml:lang."""
    titles = [c for c in parent if c.tag == title_tag]
    if len(titles) > 1:
        raise Refused("two feed titles")
    feed: dict[str, Any] = {}
    if titles:
        feed["title"] = _fp(_typed(titles[0], atom))
        feed["title_lang"] = lang
    if lang:
        feed["language"] = lang
    return feed


def _finish(feed: dict[str, Any], entries: list[Item], ttl: str | None) -> FastFeed:
    """The feed's items as ``parser._parsed`` keeps them: an entry with nothing in it is
    dropped, and of an entry listed twice the first is kept."""
    if not entries:
        raise Refused("no entries")  # feedparser says whether an empty feed is broken
    items = []
    seen: set[str] = set()
    for item in entries:
        if not (item.title or item.link or item.summary or item.content):
            continue
        if item.key in seen:
            continue
        seen.add(item.key)
        items.append(item)
    title = html_to_text(feed["title"]) if feed.get("title") else ""
    return FastFeed(title or None, items, ttl)


def _declared(feed: dict[str, Any]) -> str | None:
    """``parser._parsed``'s feed language: the feed's, else its title's."""
    declared = feed.get("language") or feed.get("title_lang")
    return str(declared) if declared else None


def _rss(root: Any, ctx: _Context) -> FastFeed:
    channels = [c for c in root if c.tag == "channel"]
    if len(channels) != 1 or len(root) != 1:
        raise Refused("not one channel")
    channel = channels[0]
    # Everything but the items, checked as a whole; an item's reader checks what it holds.
    _check_attrs(channel)
    for child in channel:
        if child.tag != "item":
            _walk_checks(child, top=True)
    feed = _feed_title(channel, "title", False, ctx.lang)
    for tag, key in (("language", "language"), ("ttl", "ttl")):
        found = [c for c in channel if c.tag == tag]
        if len(found) > 1:
            raise Refused(f"two {tag}")
        if found:
            feed[key] = _fp(_text(found[0]))
    for c in channel:
        if c.tag in FEED_DENY:
            raise Refused(f"channel element {c.tag!r}: feedparser may read it as language or title")
    ctx.language = _declared(feed)
    entries = [_rss_item(item, ctx) for item in channel if item.tag == "item"]
    return _finish(feed, entries, feed.get("ttl"))


def _rss_item(item: Any, ctx: _Context) -> Item:
    """One RSS item as ``parser._item`` stores feedparser's entry for it."""
    if item.keys():
        raise Refused("attributes on item")
    title = summary = content = link = guid = None
    islink = False
    published: datetime | None = None
    updated: datetime | None = None
    dates = 0  # which date elements were seen (their value may be None)
    for child in item:
        tag = child.tag
        # Each element read here at most once, and holding text only (no attributes, but
        # where said); the ones not read may repeat.
        if tag == "title":
            if title is not None or child.keys() or len(child):
                raise Refused("title repeated, or with attributes or elements")
            title = stored_text(child.text or "")
        elif tag == "description":
            if summary is not None or child.keys() or len(child):
                raise Refused("description repeated, or with attributes or elements")
            summary = stored_text(child.text or "")
        elif tag == "link":
            if link is not None or child.keys() or len(child):
                raise Refused("link repeated, or with attributes or elements")
            value = (child.text or "").strip()
            link = _link(_join(ctx.base, value)) if value else ""  # feedparser joins no ""
        elif tag == "guid":
            if guid is not None:
                raise Refused("two guids")
            if child.keys():
                _check_attrs(child)
                islink = _permalink(child)
            else:
                islink = True  # a bare guid is a permalink
            value = _text(child).strip()
            guid = _fp(_join(ctx.base, value) if islink and value else value)
        elif tag == "pubDate":
            if dates & 1:
                raise Refused("two pubDates")
            dates |= 1
            _check_attrs(child)
            published = _date(_fp(_text(child)))
        elif tag in RSS_ITEM_INERT:
            _check_attrs(child)
            if len(child):
                raise Refused(f"child elements in {tag}")
        elif tag == CONTENT_ENCODED:
            if content is not None or child.keys() or len(child):
                raise Refused("content:encoded repeated, or with attributes or elements")
            content = stored_text(child.text or "")
        elif tag == DC_DATE:
            if dates & 2:
                raise Refused("two dc:dates")
            dates |= 2
            _check_attrs(child)
            updated = _date(_fp(_text(child)))
        else:
            raise Refused(f"item element {tag}")
    if islink and link is None:
        link = guid  # a guid that is a permalink stands for a missing link
    # The item's language: xml:lang (on the root) of its title or description, else the feed's.
    language = ctx.lang if ctx.lang and (title is not None or summary is not None) else None
    return _stored(
        ctx, title, summary, content, link, guid, published or updated, language or ctx.language
    )


def _stored(
    ctx: _Context,
    title: str | None,
    summary: str | None,
    content: str | None,
    link: str | None,
    guid: str | None,
    published: datetime | None,
    language: str | None,
) -> Item:
    """``parser._item`` from the texts already stored-shaped (``stored_text``)."""
    title = title or ""
    if summary is None:
        summary = content or ""  # feedparser copies the content into a missing summary
    if content is None or content == summary:
        content = ""  # count the words once
    link = (link or "").strip() or None
    key, article_key = item_keys(ctx.url, (guid or "").strip(), link, title, summary, content)
    return Item(key, article_key, title, link, summary, content, published, language)


def _permalink(guid: Any) -> bool:
    for name, value in guid.items():
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


def _atom(root: Any, ctx: _Context) -> FastFeed:
    feed = _feed_title(root, ATOM + "title", True, ctx.lang)
    if any(c.tag in FEED_DENY or c.tag == "item" for c in root):
        raise Refused("unexpected feed element")
    ctx.language = _declared(feed)
    entries = [_atom_entry(entry, ctx) for entry in root if entry.tag == ATOM + "entry"]
    return _finish(feed, entries, None)


def _atom_entry(el: Any, ctx: _Context) -> Item:
    """One Atom entry as ``parser._item`` stores feedparser's entry for it."""
    title = summary = content = link = guid = None
    published: datetime | None = None
    updated: datetime | None = None
    seen: set[str] = set()
    for child in el:
        tag = child.tag
        if tag == ATOM_LINK:
            href = child.get("href")
            if href is None or len(child):
                raise Refused("link without href")
            rel = child.get("rel", "alternate")
            kind = child.get("type", "application/atom+xml" if rel == "self" else "text/html")
            if rel == "alternate" and _map_type(kind) in HTML_TYPES:
                link = _join(ctx.base, href)
            continue
        if tag in ATOM_ENTRY_INERT:
            if tag in ATOM_PERSON:
                _person(child)
            continue
        if tag not in ATOM_ENTRY_READ or tag in seen:
            raise Refused(f"entry element {tag}")
        seen.add(tag)
        name = tag[len(ATOM) :]
        if name == "title":
            title = stored_text(_typed(child, True))
        elif name == "summary":
            summary = stored_text(_typed(child, True))
        elif name == "content":
            content = stored_text(_typed(child, True))
        elif name == "id":
            if child.keys():
                raise Refused("attributes on id")
            value = _text(child).strip()
            guid = _fp(_join(ctx.base, value)) if value else ""
            if link is None:
                link = guid  # an id stands for a missing link
        elif name == "published":
            published = _date(_fp(_text(child)))
        else:
            updated = _date(_fp(_text(child)))
    language = ctx.lang if ctx.lang and (title is not None or summary is not None) else None
    return _stored(
        ctx, title, summary, content, link, guid, published or updated, language or ctx.language
    )


def _person(el: Any) -> None:
    for child in el:
        if child.tag not in (ATOM + "name", ATOM + "email", ATOM + "uri") or len(child):
            raise Refused(f"author element {child.tag}")
