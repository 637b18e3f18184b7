"""Trying rules out without touching the daemon: ``test-rule`` on one item, ``backtest`` over the
items already stored. Nothing here writes to the database or sends anything."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from selectolax.lexbor import LexborHTMLParser

from watcher.errors import WatcherError
from watcher.fetcher import fetch, new_session
from watcher.models import Item
from watcher.parser import parse_feed
from watcher.rules.matcher import Document
from watcher.rules.ruleset import CompiledRule, Explanation, RuleSet
from watcher.settings import Settings
from watcher.store import Store
from watcher.text import html_to_text


@dataclass(frozen=True)
class Candidate:
    """An item to try the rules on, with what ``feed:`` terms see."""

    title: str
    summary: str
    content: str = ""
    link: str | None = None
    language: str | None = None
    feed: tuple[str, ...] = ()


def rules_for(settings: Settings, rule_id: str | None) -> RuleSet:
    """All enabled rules, or just ``rule_id`` (even if disabled: that is what one tests)."""
    if rule_id is None:
        return settings.rules
    rule = settings.rules.by_id.get(rule_id)
    if rule is None:
        known = ", ".join(sorted(settings.rules.by_id)) or "none"
        raise WatcherError(f'no rule "{rule_id}" in the rules files (rules: {known})')
    return RuleSet([CompiledRule(replace(rule.spec, enabled=True), rule.node)])


def candidates_from_bytes(body: bytes, source: str, title: str) -> list[Candidate]:
    """A feed's entries when the bytes are a feed; otherwise one item of text or HTML."""
    parsed = parse_feed(body, source)
    if parsed.error is None and parsed.items:
        feed = (parsed.title,) if parsed.title else ()
        return [
            Candidate(i.title, i.summary, i.content, i.link, i.language, feed) for i in parsed.items
        ]
    text = body.decode("utf-8", "replace")
    page_title = title
    if not page_title and "<title" in text.lower():
        node = LexborHTMLParser(text).css_first("title")
        page_title = node.text(strip=True) if node is not None else ""
    return [Candidate(page_title, html_to_text(text), link=source if "://" in source else None)]


def candidates_from_url(url: str, title: str) -> list[Candidate]:
    async def get() -> bytes:
        async with new_session() as session:
            result = await fetch(session, url)
        if result.error:
            raise WatcherError(f"cannot fetch {url}: {result.error}")
        return result.body

    return candidates_from_bytes(asyncio.run(get()), url, title)


def explain(rules: RuleSet, item: Candidate) -> list[Explanation]:
    doc = Document.from_html(item.title, item.summary, item.content, item.link, item.feed)
    return rules.explain(doc, language=item.language)


@dataclass
class Backtest:
    """What a rule would have caught among the stored items, and what it would have sent."""

    rule: str
    scanned: int = 0
    matches: list[tuple[datetime, str, Item, tuple[str, ...]]] = field(default_factory=list)
    articles: set[str] = field(default_factory=set)

    def alerts(self, channels: tuple[str, ...]) -> dict[str, int]:
        """One alert per article per channel, as the daemon would have sent them."""
        return {channel: len(self.articles) for channel in channels}


def backtest(
    store: Store,
    settings: Settings,
    rule_id: str,
    since: datetime | None,
    progress: Callable[[int], None] = lambda n: None,
) -> Backtest:
    rules = rules_for(settings, rule_id)
    tags = {f.url: f.tags for f in settings.feeds}
    names = {f.url: f.name for f in settings.feeds}
    result = Backtest(rule_id)
    for batch in store.iter_items(since):
        for stored, item in batch:
            feed = (names.get(stored.feed_url) or stored.feed_name, *tags.get(stored.feed_url, ()))
            for hit in rules.match(item, feed):
                result.matches.append((stored.first_seen, feed[0], item, hit.terms))
                result.articles.add(item.article_key)
        result.scanned += len(batch)
        progress(len(batch))
    result.matches.sort(key=lambda m: m[0], reverse=True)
    return result
