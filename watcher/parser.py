"""Feed bytes -> plain-text ``Item``s, with a stable identity for each.

feedparser only ever sees bytes we fetched ourselves (it would otherwise open a str as a URL or
path). Everything leaving this module is plain text: markup stripped and entities decoded, so no
feed HTML can reach an alert or a rule unescaped.
"""

from __future__ import annotations

import calendar
import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from watcher import fastparse
from watcher.links import item_keys
from watcher.models import Item
from watcher.text import html_to_text


@dataclass(frozen=True)
class ParsedFeed:
    """The items of a feed, or why there are none (``error``)."""

    title: str | None
    items: list[Item] = field(default_factory=list)
    error: str | None = None
    ttl: str | None = None
    engine: str = ""  # which parser read it: "lxml" (the fast path) or "feedparser"


def _text(value: Any, detail: Any = None) -> str:
    if not value:
        return ""
    text = str(value)
    kind = (detail or {}).get("type", "") if isinstance(detail, Mapping) else ""
    if "html" in kind or "<" in text or "&" in text:
        return html_to_text(text)
    return " ".join(text.split())


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: the raw value, without feedparser's deprecated updated->published aliasing
        parsed = dict.get(entry, key)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _content(entry: Any) -> str:
    parts = []
    for block in entry.get("content") or []:
        text = _text(block.get("value"), block)
        if text and text not in parts:
            parts.append(text)
    return "\n\n".join(parts)


def _language(entry: Any, feed_language: str | None) -> str | None:
    """The item's declared language (xml:lang on its text), else the feed's."""
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key)
        if isinstance(detail, Mapping) and detail.get("language"):
            return str(detail["language"])
    return feed_language


def _item(entry: Any, feed_url: str, feed_language: str | None = None) -> Item:
    title = _text(entry.get("title"), entry.get("title_detail"))
    summary = _text(entry.get("summary"), entry.get("summary_detail"))
    content = _content(entry)
    if content == summary:
        content = ""  # feedparser copies content into summary; count the words once
    link = (entry.get("link") or "").strip() or None
    guid = (entry.get("id") or "").strip()
    key, article_key = item_keys(feed_url, guid, link, title, summary, content)
    return Item(
        key=key,
        article_key=article_key,
        title=title,
        link=link,
        summary=summary,
        content=content,
        published=_published(entry),
        language=_language(entry, feed_language),
    )


def _describe(exc: Any) -> str:
    name = type(exc).__name__
    msg = str(exc).strip()
    if "SAX" in name or "Expat" in name or "not well-formed" in msg:
        return f"not a valid feed: malformed XML ({msg})" if msg else "not a valid feed"
    return f"not a valid feed: {msg or name}"


MAX_DECOMPRESSED = 10 * 1024 * 1024


def _gunzip(body: bytes) -> bytes:
    """Decompress, refusing to inflate past the size cap (a small gzip can hold gigabytes)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, MAX_DECOMPRESSED + 1)
    if len(out) > MAX_DECOMPRESSED:
        mib = MAX_DECOMPRESSED // (1024 * 1024)
        raise ValueError(f"gzip body inflates past {mib} MiB: not read")
    return out


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, fast_path: bool = True
) -> ParsedFeed:
    """Parse feed bytes; a feed is broken only when it yields no entries and feedparser says why.

    A plain RSS 2.0 or Atom 1.0 feed is read by the fast path (``fastparse``, lxml), which
    returns the items this module would make of feedparser's entries, or refuses; everything
    else goes to feedparser, the reference. feedparser flags many harmless oddities
    (``bozo``), and a malformed feed often still yields every entry, so those are kept.
    """
    if body[:2] == b"\x1f\x8b":  # gzip sent without Content-Encoding, or a .gz file
        try:
            body = _gunzip(body)
        except (OSError, EOFError, zlib.error) as exc:
            return ParsedFeed(None, error=f"broken gzip body: {exc}")
        except ValueError as exc:
            return ParsedFeed(None, error=str(exc))
    if not body.strip():
        return ParsedFeed(None, error="empty response: the server sent no feed")
    fast = None if not fast_path else fastparse.parse(body, url, content_type)
    if fast is not None:
        return ParsedFeed(fast.title, fast.items, ttl=fast.ttl, engine="lxml")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser should not raise, but a crash must not stop polling
        return ParsedFeed(None, error=f"parser crashed: {type(exc).__name__}: {exc}")
    return _parsed(parsed, url, body, "feedparser")


def _parsed(parsed: Mapping[str, Any], url: str, body: bytes, engine: str) -> ParsedFeed:
    """Items from feedparser's result (``fastparse`` builds the same items on its own)."""
    feed = parsed.get("feed") or {}
    title = _text(feed.get("title"), feed.get("title_detail")) or None
    entries = parsed.get("entries") or []
    if not entries and parsed.get("bozo"):
        start = body.lstrip()[:200].lower()
        if start.startswith((b"<!doctype html", b"<html")):
            return ParsedFeed(title, error="not a feed: the URL returned an HTML page")
        if start.startswith((b"{", b"[")):
            return ParsedFeed(
                title, error="not a feed: the URL returned JSON (JSON Feed is not supported)"
            )
        return ParsedFeed(title, error=_describe(parsed.get("bozo_exception")))
    items = []
    seen: set[str] = set()
    declared = feed.get("language") or (feed.get("title_detail") or {}).get("language")
    feed_language = str(declared) if declared else None
    for entry in entries:
        item = _item(entry, url, feed_language)
        if not (item.title or item.link or item.summary or item.content):
            continue  # an entry with nothing in it cannot be matched or shown
        if item.key in seen:
            continue  # a feed listing one entry twice yields one item
        seen.add(item.key)
        items.append(item)
    return ParsedFeed(title, items, ttl=feed.get("ttl"), engine=engine)
