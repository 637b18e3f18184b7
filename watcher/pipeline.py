"""One poll of one feed: fetch -> parse -> keep the new items -> match -> store hits and alerts.

The store commits the result in one transaction. Only items the feed has not delivered before are
matched, so an edited entry (same id, new title) is never a new article.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import aiohttp

from watcher.fetcher import FetchResult, fetch
from watcher.models import FeedSpec, FeedState, Item, RuleHit
from watcher.parser import parse_feed
from watcher.rules.ruleset import RuleSet
from watcher.store import PollRecord, Store

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PollReport:
    """What a poll did, for logs and for ``run --once``."""

    url: str
    new_items: int = 0
    hits: int = 0
    alerts: int = 0
    error: str | None = None
    not_modified: bool = False


class Pipeline:
    """Polls feeds against the current rule set. ``rules`` is read at each poll, so a reload
    takes effect on the next poll without restarting anything."""

    def __init__(
        self,
        store: Store,
        rules: Callable[[], RuleSet],
        clock: Callable[[], datetime] = utcnow,
        timezone: Callable[[], tzinfo] = lambda: UTC,
    ) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock
        self.timezone = timezone  # the config's clock, read at each poll like the rules

    async def poll(
        self, session: aiohttp.ClientSession, spec: FeedSpec, feed_id: int
    ) -> PollReport:
        state = await asyncio.to_thread(self.store.feed_state, feed_id)
        fetched = await fetch(session, spec.url, state.etag, state.last_modified)
        return await asyncio.to_thread(self.process, spec, feed_id, fetched, state)

    def process(
        self,
        spec: FeedSpec,
        feed_id: int,
        fetched: FetchResult,
        state: FeedState | None = None,
    ) -> PollReport:
        """Everything after the network: parse, match, and commit (runs in a worker thread).
        ``state`` is the feed's state read before the fetch, when the caller has it."""
        now = self.clock()
        state = state or self.store.feed_state(feed_id)
        rec = PollRecord(
            feed_id=feed_id,
            polled_at=now,
            next_poll=now + timedelta(seconds=spec.interval),
            timezone=self.timezone(),
        )
        if fetched.error is not None:
            rec.error = fetched.error
        elif fetched.not_modified:
            rec.not_modified = True
        else:
            parsed = parse_feed(fetched.body, fetched.url, fetched.content_type)
            if parsed.error is not None:
                rec.error = parsed.error
            else:
                rec.etag, rec.last_modified = fetched.etag, fetched.last_modified
                rec.feed_title = parsed.title
                feed = (spec.name or parsed.title or "", *spec.tags)
                rec.items = self._match_new(feed_id, parsed.items, feed)
                rec.alert = spec.backlog != "skip" or state.polled_ok_before
        outcome = self.store.record_poll(rec)
        if rec.error:
            log.warning("feed %s failed: %s", spec.name or spec.url, rec.error)
        elif outcome.new_items:
            log.info(
                "feed %s: %d new items, %d hits, %d alerts queued",
                spec.name or spec.url,
                outcome.new_items,
                outcome.hits,
                outcome.alerts,
            )
        return PollReport(
            spec.url, outcome.new_items, outcome.hits, outcome.alerts, rec.error, rec.not_modified
        )

    def _match_new(
        self, feed_id: int, items: list[Item], feed: tuple[str, ...]
    ) -> list[tuple[Item, list[RuleHit]]]:
        known = self.store.known_keys(feed_id, (i.key for i in items))
        rules = self.rules()
        return [(item, rules.match(item, feed)) for item in items if item.key not in known]
