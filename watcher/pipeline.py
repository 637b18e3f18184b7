"""One poll of one feed: fetch -> parse -> keep the new items -> match -> store hits and alerts.

The store commits the result in one transaction. Only items the feed has not delivered before are
matched, so an edited entry (same id, new title) is never a new article.

A poll also decides the feed's next poll (``cadence``), follows confirmed permanent moves,
skips the parse of a body identical to the last one, and queues an operator alert when the
feed's health changes (``health``), all in the same transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import logging
import os
import random
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlsplit

import aiohttp

from watcher import cadence
from watcher.fetcher import FetchResult, fetch, is_file
from watcher.health import HealthPolicy, next_notice
from watcher.models import FeedSpec, FeedState, Item, Noise, RuleHit, StoryPolicy
from watcher.parser import ParsedFeed, parse_feed
from watcher.processes import WorkerProcesses
from watcher.rules.ruleset import RuleSet, settle_long_lived
from watcher.store import PollOutcome, PollRecord, Store

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
    not_modified: bool = False  # a 304 or an unchanged body
    next_poll: datetime | None = None  # None: not polled again (gone), or skipped
    skipped: bool = False  # a gone feed, not fetched


class NetworkWatch:
    """Tells "our network is down" from "this feed's server is down".

    Rule: a DNS or connection failure counts against its feed unless every *other* feed host
    whose latest fetch we know also failed to connect. With one host only, or no other host
    heard from yet, it counts (we cannot tell, and a dead feed must not go unnoticed).
    """

    def __init__(self) -> None:
        self._reached: dict[str, bool] = {}  # host -> whether its latest fetch reached it

    @staticmethod
    @functools.lru_cache(maxsize=65536)
    def host(url: str) -> str:
        # Cached: a feed's URL is split at every poll, and a round splits thousands.
        return (urlsplit(url).hostname or url).lower()

    def observe(self, url: str, fetched: FetchResult) -> None:
        if not is_file(url):
            self._reached[self.host(url)] = not fetched.network_error

    def network_down(self, url: str) -> bool:
        me = self.host(url)
        others = [ok for host, ok in self._reached.items() if host != me]
        return bool(others) and not any(others)


class ParsePool:
    """Processes that parse a round's bodies, and match their items, beside the event loop's
    (one per core), so the main process only fetches and stores.

    Each process gets the rule set once, when it starts (``rules``; pickled with its presearch
    index, so nothing is compiled again). It cannot know which items the database holds, so
    it matches only the items of a feed that has never delivered one (a first round: every
    item is new); for any other feed the main process matches the few new items itself, as
    it would without a pool, rather than the pool matching every known item for nothing.
    Hits from the pool are used only while ``rules`` is still the pipeline's rule set (a
    reload during the round: the main process matches).

    The processes (``processes.WorkerProcesses``) are driven from the event loop through
    pipes. ``with parse_pool(...) as pool:`` shuts them down when the round ends.
    """

    def __init__(self, rules: RuleSet | None = None, workers: int | None = None) -> None:
        self.rules = rules
        self.broken = False  # a process died: see ``lost``
        self.processes = WorkerProcesses(
            workers or os.cpu_count() or 1, initializer=_start_worker, initargs=(rules,)
        )

    def lost(self) -> None:
        """A process of the pool died (killed, or out of memory): the pool takes no more work,
        and the polls it held fall back to parsing in this process, so the round still
        stores every feed."""
        if not self.broken:
            log.warning(
                "a parsing process died (killed, or out of memory?); the rest of this round "
                "is parsed in the main process"
            )
        self.broken = True

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        self.processes.shutdown()


def parse_pool(rules: RuleSet | None = None, workers: int | None = None) -> ParsePool:
    """A ``ParsePool`` with ``rules`` (None: the processes parse only)."""
    return ParsePool(rules, workers)


_worker_rules: RuleSet | None = None  # the rule set of this process, when it is a pool's worker


def _start_worker(rules: RuleSet | None) -> None:
    global _worker_rules
    _worker_rules = rules
    if rules is not None:
        rules.prepare()
    # what the process was started with lives as long as it does: out of the collector's walks
    # (a large rule set is millions of objects, each full collection would walk them all)
    settle_long_lived()


def _little_left(
    parsed: ParsedFeed | None, hits: list[list[RuleHit]] | None, state: FeedState
) -> bool:
    """Whether ``Pipeline.decide`` has nothing slow left for a body the pool has handled: it
    failed to parse, or its items were matched there and none can be known to the database
    (``Pipeline._match_new``: a feed that never delivered an item)."""
    if parsed is None:
        return False
    return parsed.error is not None or (hits is not None and state.first_new_item is None)


def _feed_words(spec: FeedSpec, title: str | None) -> tuple[str, ...]:
    """What ``feed:`` terms see: the feed's name (its title when the config names none) and
    its tags."""
    return (spec.name or title or "", *spec.tags)


def parse_and_match(
    body: bytes, url: str, content_type: str | None, spec: FeedSpec, match: bool
) -> tuple[ParsedFeed, list[list[RuleHit]] | None]:
    """In a pool's process: the parsed feed, and when ``match``, each item's hits (None
    without: not asked, or no rules)."""
    parsed = parse_feed(body, url, content_type)
    if not match or parsed.error is not None or _worker_rules is None:
        return parsed, None
    feed = _feed_words(spec, parsed.title)
    return parsed, [_worker_rules.match(item, feed) for item in parsed.items]


class RoundWriter:
    """Commits the polls of a round in batches, a few transactions instead of one per feed.

    A batch goes out when it holds ``max_polls`` polls or ``max_items`` items, and at least
    every ``max_wait`` seconds, so alerts are queued promptly while a round is still running.
    Every poll keeps its own guarantees: its state, items, hits and alerts commit together, so a
    crash before a commit loses the state too and the feed is fetched again, nothing skipped.
    If a batch fails, its polls are committed one by one, so one bad poll fails alone.
    """

    def __init__(
        self, store: Store, max_polls: int = 500, max_items: int = 5000, max_wait: float = 0.25
    ) -> None:
        self.store = store
        self.max_polls, self.max_items, self.max_wait = max_polls, max_items, max_wait
        self._pending: list[tuple[PollRecord, asyncio.Future[PollOutcome]]] = []
        self._items = 0
        self._flushing = 0  # items of the batch being committed
        self._flushed = asyncio.Event()
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RoundWriter:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            if exc[0] is not None:
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=exc[0] is not None)

    def commit(self, rec: PollRecord) -> asyncio.Future[PollOutcome]:
        """Queue a poll for the next batch; the future holds what committing it did."""
        done: asyncio.Future[PollOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append((rec, done))
        self._items += len(rec.items)
        if len(self._pending) >= self.max_polls or self._items >= self.max_items:
            self._wake.set()
        return done

    async def room(self) -> None:
        """Wait while the polls not yet committed hold two batches' worth of items: when the
        store is slower than fetching and parsing, a round must not hold every feed's items
        in memory (the bodies in flight are bounded; this bounds what they become)."""
        while self._items + self._flushing >= 2 * self.max_items:
            self._flushed.clear()
            self._wake.set()
            await self._flushed.wait()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.max_wait)
            self._wake.clear()
            batch, self._pending, self._flushing, self._items = self._pending, [], self._items, 0
            if batch:
                await self._flush(batch)
            self._flushing = 0
            self._flushed.set()
            if self._closing and not self._pending:
                return

    async def _flush(self, batch: list[tuple[PollRecord, asyncio.Future[PollOutcome]]]) -> None:
        try:
            outcomes = await asyncio.to_thread(self.store.record_polls, [r for r, _ in batch])
        except Exception:
            log.warning("committing %d polls at once failed; committing each alone", len(batch))
            for rec, done in batch:
                try:
                    done.set_result(await asyncio.to_thread(self.store.record_poll, rec))
                except Exception as exc:
                    done.set_exception(exc)
            return
        for (_, done), outcome in zip(batch, outcomes, strict=True):
            done.set_result(outcome)


# How many new container objects the collector lets a round allocate between collections
# (Python's default: 700). A round allocates several per item (the parsed item, its hits, the
# rows the store builds), and holds thousands of items until their batch commits: at the
# default the collector ran ~400 times per 50,000 items, re-scanning the items in flight, a
# sixth of the main process's CPU. Nearly all of these objects are freed by reference counting;
# the few cycles wait a little longer.
ROUND_GC_THRESHOLD = 20_000
_relaxed_rounds = 0  # rounds running in this process with the threshold raised
_saved_threshold: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def _collect_less() -> Iterator[None]:
    """Raise the collector's first threshold to ``ROUND_GC_THRESHOLD`` while a round runs (or
    several at once), and put back what was set before when the last one ends."""
    global _relaxed_rounds, _saved_threshold
    if _relaxed_rounds == 0:
        _saved_threshold = gc.get_threshold()
        first, *rest = _saved_threshold
        gc.set_threshold(max(first, ROUND_GC_THRESHOLD), *rest)
    _relaxed_rounds += 1
    try:
        yield
    finally:
        _relaxed_rounds -= 1
        if _relaxed_rounds == 0:
            gc.set_threshold(*_saved_threshold)


class Pipeline:
    """Polls feeds against the current rule set. ``rules`` is read at each poll, so a reload
    takes effect on the next poll without restarting anything."""

    def __init__(
        self,
        store: Store,
        rules: Callable[[], RuleSet],
        clock: Callable[[], datetime] = utcnow,
        policy: Callable[[], HealthPolicy] = HealthPolicy,
        rng: random.Random | None = None,
        timezone: Callable[[], tzinfo] = lambda: UTC,
        stories: Callable[[], StoryPolicy | None] = lambda: None,
        channel_noise: Callable[[], Mapping[str, Noise]] = dict,
    ) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock
        self.policy = policy
        self.rng = rng
        self.network = NetworkWatch()
        self.timezone = timezone  # the config's clock, read at each poll like the rules
        self.stories = stories  # story grouping (None: off), read at each poll too
        self.channel_noise = channel_noise  # the channels' noise control, read at each poll too

    async def poll(
        self,
        session: aiohttp.ClientSession,
        spec: FeedSpec,
        feed_id: int,
        writer: RoundWriter | None = None,
    ) -> PollReport:
        """One poll, committed alone, or with ``writer`` in its next batch (the daemon: polls
        that fall due together commit together, each whole, as in a round)."""
        fetched = await self.fetch(session, spec, feed_id)
        if fetched is None:
            return PollReport(spec.url, skipped=True)
        state, result = fetched
        if writer is None:
            return await asyncio.to_thread(self.process, spec, feed_id, result, state)
        rec = await self._decide(spec, feed_id, result, state, None)
        return await self._committed(spec, rec, writer.commit(rec))

    async def fetch(
        self,
        session: aiohttp.ClientSession,
        spec: FeedSpec,
        feed_id: int,
        state: FeedState | None = None,
    ) -> tuple[FeedState, FetchResult] | None:
        """The network half of a poll (None for a gone feed: not fetched). ``state`` is read
        here unless the caller read it (a round reads all its feeds' states at once)."""
        if state is None:
            state = await asyncio.to_thread(self.store.feed_state, feed_id)
        if state.status == "gone":
            return None
        url = state.fetch_url or spec.url
        full = state.last_full_fetch is None or (
            self.clock() - state.last_full_fetch >= cadence.FULL_FETCH_EVERY
        )
        if full:  # once a day without validators: some servers answer 304 forever
            result = await fetch(session, url)
        else:
            result = await fetch(session, url, state.etag, state.last_modified)
        self.network.observe(url, result)
        return state, result

    async def poll_round(
        self,
        session: aiohttp.ClientSession,
        feeds: list[tuple[FeedSpec, int]],
        in_flight: int = 64,
        pool: ParsePool | None = None,
    ) -> list[PollReport]:
        """Poll many feeds at once (``run --once``, the bench). Results are committed in
        batches (``RoundWriter``), each poll with its items, hits and alerts, except failures
        to reach a server, which wait until every fetch is done, so that "is our network
        down?" is judged from every host of the round. ``in_flight`` bounds the bodies held in
        memory; ``pool``, when given, parses bodies and matches their items in other processes
        (``parse_pool``). The collector runs less often meanwhile (``ROUND_GC_THRESHOLD``)."""
        with _collect_less():
            return await self._poll_round(session, feeds, in_flight, pool)

    async def _poll_round(
        self,
        session: aiohttp.ClientSession,
        feeds: list[tuple[FeedSpec, int]],
        in_flight: int,
        pool: ParsePool | None,
    ) -> list[PollReport]:
        gate = asyncio.Semaphore(in_flight)
        deferred: list[tuple[int, FeedSpec, int, FeedState, FetchResult]] = []
        states = await asyncio.to_thread(self.store.feed_states, [f for _, f in feeds])

        async with RoundWriter(self.store) as writer:

            async def one(index: int, spec: FeedSpec, feed_id: int) -> PollReport | None:
                async with gate:
                    got = await self.fetch(session, spec, feed_id, states[feed_id])
                    if got is None:
                        return PollReport(spec.url, skipped=True)
                    state, result = got
                    if result.network_error:
                        deferred.append((index, spec, feed_id, state, result))
                        return None
                    rec = await self._decide(spec, feed_id, result, state, pool)
                    await writer.room()
                    committed = writer.commit(rec)
                return await self._committed(spec, rec, committed)

            reports = await asyncio.gather(*(one(i, s, f) for i, (s, f) in enumerate(feeds)))
            late = [
                (index, spec, self.decide(spec, feed_id, result, state))
                for index, spec, feed_id, state, result in deferred
            ]
            done = await asyncio.gather(
                *(self._committed(spec, rec, writer.commit(rec)) for _, spec, rec in late)
            )
            for (index, _, _), report in zip(late, done, strict=True):
                reports[index] = report
        return [r for r in reports if r is not None]

    async def _committed(
        self, spec: FeedSpec, rec: PollRecord, committed: asyncio.Future[PollOutcome]
    ) -> PollReport:
        """The report of a poll once committed. A poll the database refused fails alone: its
        state is not advanced either, so the next round fetches it in full and loses nothing."""
        try:
            outcome = await committed
        except Exception as exc:
            log.exception("feed %s: could not store this poll", spec.name or spec.url)
            return PollReport(spec.url, error=f"could not store this poll: {exc}")
        return self.report(spec, rec, outcome)

    async def _decide(
        self,
        spec: FeedSpec,
        feed_id: int,
        fetched: FetchResult,
        state: FeedState,
        pool: ParsePool | None,
    ) -> PollRecord:
        """``decide`` on the event loop when there is no body (a 304 or a failure: a few
        microseconds, a thread hop would cost more), else in a worker thread, the parse and
        the matching in ``pool`` (other processes: the other core, and the event loop never
        waits on them)."""
        if not fetched.body:
            return self.decide(spec, feed_id, fetched, state)
        parsed, hits = None, None
        if pool is not None and pool.broken:
            pool = None  # parsed here, as without a pool
        digest = hashlib.sha256(fetched.body).hexdigest() if pool is not None else None
        if pool is not None and digest != state.body_hash:
            try:
                parsed, hits = await pool.processes.run(
                    parse_and_match,
                    fetched.body,
                    fetched.url,
                    fetched.content_type,
                    spec,
                    state.first_new_item is None,  # every item new: match them there
                )
            except BrokenProcessPool:
                pool.lost()  # this feed and the rest of the round are parsed here
            else:
                if pool.rules is not self.rules():
                    hits = None  # the rules were reloaded since the pool started: match here
        if pool is not None and (digest == state.body_hash or _little_left(parsed, hits, state)):
            # Nothing left to parse, match or read from the database: what remains takes less
            # than a worker thread's round trip (~100 us of CPU here, a tenth of a feed's share
            # of the main process in a first round).
            return self.decide(spec, feed_id, fetched, state, parsed, hits, digest)
        return await asyncio.to_thread(
            self.decide, spec, feed_id, fetched, state, parsed, hits, digest
        )

    def process(
        self,
        spec: FeedSpec,
        feed_id: int,
        fetched: FetchResult,
        state: FeedState | None = None,
    ) -> PollReport:
        """Everything after the network: parse, match, and commit (runs in a worker thread).
        ``state`` is the feed's state read before the fetch, when the caller has it."""
        state = state or self.store.feed_state(feed_id)
        rec = self.decide(spec, feed_id, fetched, state)
        return self.report(spec, rec, self.store.record_poll(rec))

    def decide(
        self,
        spec: FeedSpec,
        feed_id: int,
        fetched: FetchResult,
        state: FeedState,
        parsed: ParsedFeed | None = None,
        hits: list[list[RuleHit]] | None = None,
        digest: str | None = None,
    ) -> PollRecord:
        """What a poll changes (parse and match included), not yet committed. Reads the
        database only to tell new items from known ones, and only when there is a body.
        ``parsed`` is the body already parsed elsewhere (a process of the round's pool), and
        ``hits`` each of its items' hits, matched there against the current rules; ``digest``
        the body's sha256, when the caller has computed it already (hashed once, not twice)."""
        now = self.clock()
        rec = PollRecord(
            feed_id=feed_id,
            polled_at=now,
            next_poll=None,
            timezone=self.timezone(),
            stories=self.stories(),
            channel_noise=self.channel_noise(),
        )
        ttl = state.ttl
        if fetched.status == 410:
            rec.gone = True
            rec.error = (
                "HTTP 410 Gone: the publisher removed this feed; remove it from the config "
                "or re-enable it with `watcher feeds --reenable URL` if it comes back"
            )
        elif fetched.error is not None:
            rec.error = fetched.error
        elif fetched.not_modified:
            rec.not_modified = True
            rec.etag, rec.last_modified, rec.validators = fetched.etag, fetched.last_modified, True
        else:
            digest = digest or hashlib.sha256(fetched.body).hexdigest()
            if digest == state.body_hash:  # byte-identical: nothing new, no parse
                rec.not_modified = True
            else:
                if parsed is None:
                    parsed = parse_feed(fetched.body, fetched.url, fetched.content_type)
                if parsed.error is not None:
                    rec.error = parsed.error
                else:
                    rec.body_hash = digest
                    rec.feed_title = parsed.title
                    ttl = rec.ttl = cadence.ttl_seconds(parsed.ttl)
                    feed = _feed_words(spec, parsed.title)
                    rec.items = self._match_new(feed_id, parsed.items, feed, hits, state)
                    rec.alert = spec.backlog != "skip" or state.polled_ok_before
            if rec.error is None:
                rec.full_fetch = True
                rec.etag, rec.last_modified, rec.validators = (
                    fetched.etag,
                    fetched.last_modified,
                    True,
                )
        self._follow_moves(rec, state, fetched, spec)
        failures = self._judge(rec, state, fetched)
        if rec.gone:
            rec.next_poll = None
        elif rec.error is not None:
            asked = (
                cadence.retry_after(fetched.retry_after, now)
                if fetched.status in (429, 503)
                else None
            )
            delay = cadence.failing_delay(spec.interval, failures, asked)
            rec.next_poll = now + timedelta(seconds=cadence.jittered(delay, self.rng))
        else:
            lifetime = cadence.cache_lifetime(
                fetched.cache_control, fetched.expires, fetched.date, now
            )
            delay = cadence.healthy_delay(spec.interval, ttl, lifetime)
            rec.next_poll = now + timedelta(seconds=cadence.jittered(delay, self.rng))
        self._health(rec, state, spec, failures)
        return rec

    @staticmethod
    def report(spec: FeedSpec, rec: PollRecord, outcome: PollOutcome) -> PollReport:
        """Log a committed poll and say what it did."""
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
            spec.url,
            outcome.new_items,
            outcome.hits,
            outcome.alerts,
            rec.error,
            rec.not_modified,
            rec.next_poll,
        )

    def _judge(self, rec: PollRecord, state: FeedState, fetched: FetchResult) -> int:
        """Whether a failure counts against the feed; returns the failures in a row."""
        if rec.error is None:
            return 0
        if fetched.network_error and self.network.network_down(fetched.url):
            rec.count_error = False
            rec.error = (
                f"{rec.error} (no feed server could be reached: our network looks down; "
                "not counted against this feed)"
            )
            rec.error_since = state.error_since
            return state.error_count
        rec.error_since = state.error_since or rec.polled_at
        return state.error_count + 1

    @staticmethod
    def _follow_moves(
        rec: PollRecord, state: FeedState, fetched: FetchResult, spec: FeedSpec
    ) -> None:
        """Follow a 301/308 for good once it has pointed at the same URL on
        ``REDIRECT_CONFIRMATIONS`` successful polls in a row (one odd answer moves nothing).
        The config URL stays the feed's identity; only where it is fetched from changes."""
        rec.fetch_url, rec.redirect_to, rec.redirect_count = state.fetch_url, None, 0
        target = fetched.permanent_url
        if not target or rec.error is not None or rec.gone:
            return
        count = state.redirect_count + 1 if target == state.redirect_to else 1
        if count >= cadence.REDIRECT_CONFIRMATIONS:
            rec.fetch_url = None if target == spec.url else target
            log.info("feed %s moved permanently to %s", spec.name or spec.url, target)
        else:
            rec.redirect_to, rec.redirect_count = target, count

    def _health(self, rec: PollRecord, state: FeedState, spec: FeedSpec, failures: int) -> None:
        """The operator alert standing after this poll, and the one to queue if it changed."""
        new = bool(rec.items)
        after = replace(
            state,
            status="gone" if rec.gone else "failing" if rec.error else "ok",
            last_error=rec.error,
            error_count=failures,
            error_since=rec.error_since if rec.error else None,
            first_new_item=state.first_new_item or (rec.polled_at if new else None),
            last_new_item=rec.polled_at if new else state.last_new_item,
            new_item_polls=state.new_item_polls + new,
        )
        if rec.error and not rec.count_error:
            rec.health_alert = state.health_alert  # our network, not the feed: say nothing
            return
        standing, notice = next_notice(
            spec.name or spec.url, spec.url, after, rec.polled_at, self.policy()
        )
        rec.health_alert = standing
        if notice is not None:
            rec.notice = (notice.kind, notice.subject, notice.body)
            log.warning("%s", notice.subject)

    def _match_new(
        self,
        feed_id: int,
        items: list[Item],
        feed: tuple[str, ...],
        hits: list[list[RuleHit]] | None = None,
        state: FeedState | None = None,
    ) -> list[tuple[Item, list[RuleHit]]]:
        """The items the feed has not delivered before, each with its hits (``hits``: already
        matched in a pool's process, one list per item).

        A feed that has never delivered a new item (``first_new_item`` unset: a first round)
        is not asked about: the store's lookup would find nothing. Were a stored item missed
        this way (a database older than that column), the store still inserts only items it
        does not hold and records hits only for those, so it would cost a match, not an alert.
        """
        if state is not None and state.first_new_item is None:
            known: set[str] = set()
        else:
            known = self.store.known_keys(feed_id, (i.key for i in items))
        if hits is not None:
            return [(i, h) for i, h in zip(items, hits, strict=True) if i.key not in known]
        rules = self.rules()
        return [(item, rules.match(item, feed)) for item in items if item.key not in known]
