"""The store: the one place that reads and writes the database.

It takes and returns the dataclasses of ``watcher.models``; no ORM row leaves this module. A poll
is recorded in one transaction (feed state, new items, their hits, their queued alerts), so a
crash can never leave a hit without its alert queued, nor an alert for an item not stored.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import operator
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Dialect,
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement

from watcher.models import (
    AlertView,
    FeedSpec,
    FeedState,
    FeedView,
    HitView,
    Item,
    Noise,
    OperatorAlert,
    OtherSource,
    PendingAlert,
    RuleHit,
    StoryPolicy,
)
from watcher.noise import effective, hour_window, plan
from watcher.store.migrate import upgrade
from watcher.store.schema import deliveries, feeds, hits, items, operator_alerts, story_items

if TYPE_CHECKING:
    from watcher.stories import StoryIndex

log = logging.getLogger(__name__)


@dataclass
class PollRecord:
    """Everything one poll of one feed changes, committed at once by ``Store.record_poll``."""

    feed_id: int
    polled_at: datetime
    next_poll: datetime | None
    error: str | None = None
    not_modified: bool = False  # a 304, or a body identical to the last: nothing parsed
    etag: str | None = None
    last_modified: str | None = None
    validators: bool = False  # store ``etag`` and ``last_modified`` as received
    feed_title: str | None = None
    items: list[tuple[Item, list[RuleHit]]] = field(default_factory=list)
    alert: bool = True  # False stores a new feed's backlog without queueing alerts
    gone: bool = False  # 410: never polled again until re-enabled
    count_error: bool = True  # False: a failure blamed on our own network, not on the feed
    error_since: datetime | None = None
    body_hash: str | None = None  # None keeps the stored hash
    full_fetch: bool = False  # a 200 answered: the daily unconditional fetch is done
    ttl: int | None = None
    fetch_url: str | None = None
    redirect_to: str | None = None
    redirect_count: int = 0
    health_alert: str | None = None  # the operator alert standing after this poll
    notice: tuple[str, str, str] | None = None  # (kind, subject, body): queued with the poll
    timezone: tzinfo = UTC  # the config's clock, for digests, quiet hours and hourly limits
    stories: StoryPolicy | None = None  # story grouping (None: off)
    # channel name -> the noise control its config entry sets, under each rule's own
    channel_noise: Mapping[str, Noise] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredItem:
    """Where a stored item came from, beside the item itself."""

    id: int
    feed_url: str
    feed_name: str
    first_seen: datetime


@dataclass(frozen=True)
class PollOutcome:
    """What ``record_poll`` did: how many items were new and how many alerts it queued."""

    new_items: int
    hits: int
    alerts: int


def _groups(rec: PollRecord) -> bool:
    """Whether this poll's items are looked at for story grouping: it is on, and the poll has
    an item with a hit whose alerts are queued (only those can be grouped)."""
    return (
        rec.stories is not None
        and rec.stories.enabled
        and rec.alert
        and any(rule_hits for _, rule_hits in rec.items)
    )


# Statements of the delivery loop, built once: it runs them for every alert it sends, and
# building a statement costs more than the database takes to run it.
PRUNE_EVERY = timedelta(hours=1)  # how often expired story signatures are dropped

_CLAIM = (
    update(deliveries)
    .where(
        deliveries.c.id.in_(bindparam("ids", expanding=True)),
        deliveries.c.status == "pending",
        deliveries.c.next_attempt <= bindparam("now"),
    )
    .values(next_attempt=bindparam("until"))
    .returning(deliveries.c.id)
)
_MARK_SENT = (
    update(deliveries)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status="sent",
        sent_at=bindparam("now"),
        last_attempt=bindparam("now"),
        attempts=deliveries.c.attempts + 1,
        last_error=None,
    )
)
_MARK_COPIES_SENT = (
    update(deliveries)
    .where(
        deliveries.c.grouped_into.in_(bindparam("ids", expanding=True)),
        deliveries.c.status == "grouped",
        deliveries.c.last_attempt.is_not(None),
        deliveries.c.sent_at.is_(None),
    )
    .values(sent_at=bindparam("now"))
)


_ITEM_COLUMNS = (
    "feed_id key article_key title link summary content published language first_seen".split()
)
_HIT_COLUMNS = "item_id rule_id rule_title terms matched_at".split()
_ALERT_COLUMNS = (
    "article_key channel item_id rules status attempts created_at next_attempt rule batch held "
    "story_id grouped_into"
).split()

_NEW_ITEMS_SEEN = (  # a poll brought new items: the feed's rhythm (``feeds.first_new_item``)
    update(feeds)
    .where(feeds.c.id == bindparam("b_id"))
    .values(
        first_new_item=func.coalesce(feeds.c.first_new_item, bindparam("b_now")),
        last_new_item=bindparam("b_now"),
        new_item_polls=feeds.c.new_item_polls + 1,
    )
)


# Rows per statement of a ``_RowsInsert``: a few sizes only, since the driver keeps each
# statement it has seen compiled (SQLite: the last 128), and a statement of 500 rows takes
# ~0.5 MB compiled; one per row count seen cost ~20 MB over a round. 500 rows of 13 columns
# stay well under SQLite's 32,766 parameters and PostgreSQL's 65,535.
_CHUNKS = (500, 200, 100, 50, 20, 10, 5, 2, 1)


class _RowsInsert:
    """``INSERT INTO t (...) VALUES (...), (...), ... [ON CONFLICT (...) DO NOTHING]
    [RETURNING ...]``, built once per table and dialect and sent to the driver as it is.

    The SQL is what SQLAlchemy itself sends for a batch insert with RETURNING (its
    "insertmanyvalues"); what this saves is SQLAlchemy's work per row (its parameter dicts and
    bind processing: for a round's items that cost more than the database took to store
    them). Values go through the columns' own bind processors (``UTCDateTime``), so they are
    stored exactly as SQLAlchemy stores them; the other columns here have none on SQLite or
    PostgreSQL. Rows are sent in order, so of rows that conflict with each other the first is
    stored, as with one insert per row."""

    def __init__(
        self,
        dialect: Dialect,
        table: Table,
        columns: Sequence[str],
        conflict: Sequence[str] = (),
        returning: Sequence[str] = (),
    ) -> None:
        assert len(columns) > 1  # itemgetter gives a tuple
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.columns = list(columns)
        self.head = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES "
        self.row = f"({', '.join([mark] * len(columns))})"
        self.tail = ""
        if conflict:
            self.tail += f" ON CONFLICT ({', '.join(map(quote, conflict))}) DO NOTHING"
        if returning:
            self.tail += f" RETURNING {', '.join(map(quote, returning))}"
        # bind processors by column position (None: the value goes as it is)
        self.convert = [
            (i, proc)
            for i, name in enumerate(columns)
            if (proc := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
            is not None
        ]
        self._sql: dict[int, str] = {}

    def __call__(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Insert ``rows`` (dicts by column name); the rows RETURNING gave, if any."""
        pick = operator.itemgetter(*self.columns)
        done: dict[Any, Any] = {}  # a round's rows share their timestamps: converted once
        returned: list[Any] = []
        start = 0
        while start < len(rows):
            size = next(n for n in _CHUNKS if n <= len(rows) - start)
            chunk = rows[start : start + size]
            start += size
            params: list[Any] = []
            for row in chunk:
                values = list(pick(row))
                for i, proc in self.convert:
                    value = values[i]
                    if value is not None:
                        if value not in done:
                            done[value] = proc(value)
                        values[i] = done[value]
                params += values
            sql = self._sql.get(size)
            if sql is None:
                sql = self._sql[size] = self.head + ", ".join([self.row] * size) + self.tail
            result = conn.exec_driver_sql(sql, tuple(params))
            if result.returns_rows:
                returned += result.all()
        return returned


@dataclass
class _Outbox:
    """What a transaction's polls write after their items: hits, queued alerts and the feeds'
    rhythm, each written for the whole batch at once, in a few statements (one statement per
    alert cost more than everything else the store did for an item)."""

    statement: _RowsInsert  # the alert insert: ON CONFLICT (article_key, channel) DO NOTHING
    alerts: list[dict[str, Any]] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)
    rhythm: list[dict[str, Any]] = field(default_factory=list)
    queued: Counter[int] = field(default_factory=Counter)  # item id -> alerts stored for it

    def flush(self, conn: Connection) -> None:
        """Insert the alerts queued so far, in order: the first row of an (article, channel)
        is stored, a later one (another feed's copy of the article) is not. Counts the
        stored alerts by item; a grouped row is no alert of its own."""
        if not self.alerts:
            return
        # RETURNING item_id, status; unpacked, not read by name (a Row looks a name up only
        # after its own attribute lookup has failed: ~2,000 instructions each)
        for item_id, status in self.statement(conn, self.alerts):
            if status == "pending":
                self.queued[item_id] += 1
        self.alerts = []


def _with_article(query: Select[Any], item_id: Any) -> Select[Any]:
    """``query`` joined to its item and feed, with what an alert or a hit shows of them."""
    return (
        query.add_columns(
            items.c.title,
            items.c.link,
            items.c.published,
            feeds.c.name,
            feeds.c.title.label("feed_title"),
            feeds.c.url,
        )
        .join(items, items.c.id == item_id)
        .join(feeds, feeds.c.id == items.c.feed_id)
    )


def _feed_name(row: Any) -> str:
    """The name a feed is shown by: the config's, else its own title, else its URL."""
    return str(row.name or row.feed_title or row.url)


def _bind_plainly() -> None:
    """Let the sqlite3 module bind None and bytes parameters without looking for an adapter.

    It binds str, int and float as they are, but every other parameter goes through its
    adapter lookup, which for a type with no adapter formats and discards an AttributeError:
    ~2,000 instructions for each NULL (an item without a date, language or link), more than
    inserting the value costs. Registering what the module would do anyway (NULL for None,
    the bytes themselves) makes that a dictionary lookup. Process-wide, and the same result."""
    nothing: dict[None, None] = {}
    sqlite3.register_adapter(type(None), nothing.get)  # nothing.get(None) is None: NULL
    sqlite3.register_adapter(bytes, bytes)  # bytes(b) is b itself


def _sqlite_begin_immediate(engine: Engine) -> None:
    """Take SQLite's write lock at BEGIN, so a read-then-write never fails half-way (SQLAlchemy's
    documented recipe); plus WAL so readers (``watcher hits``) never block the daemon."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """Feeds, items, hits and the alert outbox, on SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            # Pooled: a fresh connection per transaction costs a WAL checkpoint at each close
            # (the last connection to close checkpoints), ~3 ms a poll; SQLAlchemy's pool for
            # a file database is shared safely across the worker threads.
            self.engine = create_engine(url, pool_size=4, max_overflow=8)
            _sqlite_begin_immediate(self.engine)
            _bind_plainly()
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self.dialect = self.engine.dialect.name
        # Story grouping: the signatures of recent items, read from ``story_items`` (so after a
        # restart too, and with what other processes stored) and built on first use (datasketch
        # takes ~0.7 s to import; commands that read the ledger never need it). The lock keeps
        # one poll's grouping from interleaving with another's (PostgreSQL commits in parallel).
        self._stories: StoryIndex | None = None
        self._stories_seen = 0  # the highest story_items.item_id read into the index
        self._stories_window = 0.0
        self._stories_pruned: datetime | None = None  # when expired signatures were last dropped
        self._stories_lock = threading.Lock()
        # The inserts of a poll's rows, built once (``_RowsInsert``).
        dialect = self.engine.dialect
        self._insert_alerts = _RowsInsert(
            dialect,
            deliveries,
            [*_ALERT_COLUMNS],
            conflict=["article_key", "channel"],
            returning=["item_id", "status"],
        )
        self._insert_hits = _RowsInsert(dialect, hits, [*_HIT_COLUMNS])
        self._insert_item_rows = _RowsInsert(
            dialect, items, [*_ITEM_COLUMNS], conflict=["feed_id", "key"], returning=["id", "key"]
        )

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        with self.engine.begin() as conn:
            upgrade(conn)

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    # -- feeds ---------------------------------------------------------------------------------

    def sync_feeds(self, specs: Sequence[FeedSpec]) -> dict[str, FeedState]:
        """Make sure every configured feed has a row; return their states by URL."""
        with self.engine.begin() as conn:
            for spec in specs:
                conn.execute(
                    self._insert(feeds)
                    .values(url=spec.url, name=spec.name, status="new", error_count=0)
                    .on_conflict_do_nothing(index_elements=["url"])
                )
                conn.execute(update(feeds).where(feeds.c.url == spec.url).values(name=spec.name))
            rows = conn.execute(select(feeds).where(feeds.c.url.in_([s.url for s in specs])))
            return {r.url: self._state(r) for r in rows}

    @staticmethod
    def _state(r: Any) -> FeedState:
        return FeedState(
            id=r.id,
            url=r.url,
            etag=r.etag,
            last_modified=r.last_modified,
            last_polled=r.last_polled,
            next_poll=r.next_poll,
            error_count=r.error_count,
            polled_ok_before=r.last_success is not None,
            status=r.status,
            fetch_url=r.fetch_url,
            redirect_to=r.redirect_to,
            redirect_count=r.redirect_count,
            body_hash=r.body_hash,
            last_full_fetch=r.last_full_fetch,
            ttl=r.ttl,
            last_success=r.last_success,
            last_error=r.last_error,
            error_since=r.error_since,
            health_alert=r.health_alert,
            first_new_item=r.first_new_item,
            last_new_item=r.last_new_item,
            new_item_polls=r.new_item_polls,
        )

    def feed_state(self, feed_id: int) -> FeedState:
        with self.engine.connect() as conn:
            row = conn.execute(select(feeds).where(feeds.c.id == feed_id)).one()
            return self._state(row)

    def feed_states(self, feed_ids: Sequence[int]) -> dict[int, FeedState]:
        """Many feeds' states in one query per 500 (a round of polls reads them all at once)."""
        ids = list(feed_ids)
        found: dict[int, FeedState] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(ids), 500):
                for r in conn.execute(select(feeds).where(feeds.c.id.in_(ids[i : i + 500]))):
                    found[r.id] = self._state(r)
        return found

    @functools.cached_property
    def _known_keys_stmt(self) -> Any:
        # Built once: building the select per poll cost more than running it.
        return select(items.c.key).where(
            items.c.feed_id == bindparam("feed_id"),
            items.c.key.in_(bindparam("keys", expanding=True)),
        )

    def known_keys(self, feed_id: int, keys: Iterable[str]) -> set[str]:
        """Which of these item keys the feed has already delivered to us."""
        keys = list(keys)
        found: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(keys), 500):
                rows = conn.execute(
                    self._known_keys_stmt, {"feed_id": feed_id, "keys": keys[i : i + 500]}
                )
                found.update(r.key for r in rows)
        return found

    def record_poll(self, rec: PollRecord) -> PollOutcome:
        """Commit a poll: feed state, new items, hits and queued alerts, in one transaction."""
        return self.record_polls([rec])[0]

    def record_polls(self, recs: Sequence[PollRecord]) -> list[PollOutcome]:
        """Commit many polls in one transaction (a round's worth), each exactly as
        ``record_poll`` would: a crash before the commit loses the polls' state along with
        their items, so they are fetched again, never skipped. The feed-state updates that are
        plain values (a 304, a success) go out as one executemany per shape: a per-feed
        statement and commit cost more than the poll itself."""
        grouping = any(_groups(rec) for rec in recs)
        with self._stories_lock if grouping else contextlib.nullcontext():
            try:
                return self._record_polls(recs)
            except BaseException:
                if grouping:  # the index may hold items this failed transaction never stored
                    self._stories = None
                raise

    def _record_polls(self, recs: Sequence[PollRecord]) -> list[PollOutcome]:
        outcomes = []
        distinct = len({r.feed_id for r in recs}) == len(recs)
        with self.engine.begin() as conn:
            plain: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for rec in recs:
                values = self._feed_values(rec)
                expression = any(isinstance(v, ClauseElement) for v in values.values())
                if expression or not distinct:  # one by one, in order
                    conn.execute(update(feeds).where(feeds.c.id == rec.feed_id).values(**values))
                else:
                    shape = tuple(sorted(values))
                    plain.setdefault(shape, []).append(
                        {"b_id": rec.feed_id, **{f"b_{k}": v for k, v in values.items()}}
                    )
            for shape, rows in plain.items():
                stmt = (
                    update(feeds)
                    .where(feeds.c.id == bindparam("b_id"))
                    .values({k: bindparam(f"b_{k}") for k in shape})
                )
                conn.execute(stmt, rows)
            outbox = _Outbox(self._insert_alerts)
            stored = [self._record_items(conn, rec, outbox) for rec in recs]
            outbox.flush(conn)
            self._insert_hits(conn, outbox.hits)
            if outbox.rhythm:  # the feeds' rhythm, to tell a quiet feed from a dead one
                conn.execute(_NEW_ITEMS_SEEN, outbox.rhythm)
            for item_ids, hit_count in stored:
                alerts = sum(outbox.queued[i] for i in item_ids)
                outcomes.append(PollOutcome(len(item_ids), hit_count, alerts))
        return outcomes

    @staticmethod
    def _feed_values(rec: PollRecord) -> dict[str, Any]:
        """The feed row's columns after this poll."""
        values: dict[str, Any] = {
            "last_polled": rec.polled_at,
            "next_poll": rec.next_poll,
            "fetch_url": rec.fetch_url,
            "redirect_to": rec.redirect_to,
            "redirect_count": rec.redirect_count,
            "health_alert": rec.health_alert,
        }
        if rec.error is not None:
            values.update(status="gone" if rec.gone else "failing", last_error=rec.error)
            if rec.count_error:
                values.update(error_count=feeds.c.error_count + 1, error_since=rec.error_since)
        else:
            values.update(
                status="ok",
                last_error=None,
                error_count=0,
                error_since=None,
                last_success=rec.polled_at,
            )
            if rec.validators:
                values.update(etag=rec.etag, last_modified=rec.last_modified)
            if rec.feed_title:
                values["title"] = rec.feed_title
            if rec.body_hash is not None:
                values["body_hash"] = rec.body_hash
            if rec.full_fetch:
                values["last_full_fetch"] = rec.polled_at
            if rec.ttl is not None:
                values["ttl"] = rec.ttl
        return values

    def _record_items(
        self, conn: Connection, rec: PollRecord, outbox: _Outbox
    ) -> tuple[list[int], int]:
        """The rest of a poll, after its feed row: operator notice and new items now; hits,
        queued alerts and the feed's rhythm into ``outbox``, written for the whole batch at
        once. Returns the ids of the items it stored and how many hits they had."""
        hit_count = 0
        if rec.notice is not None:
            self._queue_operator_alert(conn, *rec.notice, rec.polled_at)
        inserted = self._insert_items(conn, rec)
        story_rows: list[dict[str, Any]] = []
        index = self._story_index(conn, rec) if _groups(rec) and inserted else None
        for item, rule_hits in rec.items:
            item_id = inserted.get(item.key)
            if item_id is None or not rule_hits:
                continue  # stored by an earlier poll (an edit is not a new article), or no hit
            outbox.hits += [
                {
                    "item_id": item_id,
                    "rule_id": h.rule_id,
                    "rule_title": h.rule_title,
                    "terms": json.dumps(list(h.terms), ensure_ascii=False),
                    "matched_at": rec.polled_at,
                }
                for h in rule_hits
            ]
            hit_count += len(rule_hits)
            if rec.alert:
                story = None
                if index is not None:
                    story = self._story(index, rec, item_id, item, story_rows)
                self._queue_alerts(
                    conn,
                    outbox,
                    item_id,
                    item,
                    rule_hits,
                    rec.polled_at,
                    rec.timezone,
                    story,
                    rec.stories,
                    rec.channel_noise,
                )
        if story_rows:
            conn.execute(story_items.insert(), story_rows)
        if inserted:
            outbox.rhythm.append({"b_id": rec.feed_id, "b_now": rec.polled_at})
        return list(inserted.values()), hit_count

    def _story(
        self,
        index: StoryIndex,
        rec: PollRecord,
        item_id: int,
        item: Item,
        story_rows: list[dict[str, Any]],
    ) -> int | None:
        """The story this item belongs to: an earlier item's, when one seen within the window
        is a copy of it (another feed's, headlines sharing a word: ``StoryIndex.find``), else
        its own id; its signature and story are added to ``story_rows`` (stored in the poll's
        transaction). None when the item is too short to tell (a title alone), or when
        grouping fails: the item then alerts on its own, never lost for it."""
        from watcher.stories import story_text, to_bytes

        assert rec.stories is not None
        since = rec.polled_at - timedelta(seconds=rec.stories.window)
        try:
            signature = index.sign(story_text(item.title, item.summary, item.content))
            if signature is None:
                return None
            match = index.find(signature, rec.feed_id, item.title, since)
            data = to_bytes(signature)
        except Exception:
            log.exception("story grouping failed for %r; it is alerted on its own", item.title)
            return None
        story = item_id if match is None else match.story
        story_rows.append(
            {"item_id": item_id, "story_id": story, "seen_at": rec.polled_at, "signature": data}
        )
        index.add(item_id, story, rec.polled_at, signature, rec.feed_id, item.title)
        # Our own rows need no reading back (on SQLite the write lock is ours: no other process
        # can store a row in between; on PostgreSQL see ARCHITECTURE.md).
        self._stories_seen = max(self._stories_seen, item_id)
        return story

    def _story_index(self, conn: Connection, rec: PollRecord) -> StoryIndex | None:
        """The index of items seen within the window, brought up to date with ``story_items``
        (all of the window on first use or when the window changed; after that, the rows
        stored since the last look: by another process, or before a restart). None when it
        cannot be built: the poll's items then alert on their own."""
        from watcher.stories import StoryIndex, from_bytes

        assert rec.stories is not None
        window = rec.stories.window
        since = rec.polled_at - timedelta(seconds=window)
        try:
            if self._stories is None or window != self._stories_window:
                self._stories, self._stories_seen, self._stories_window = StoryIndex(), 0, window
            index = self._stories
            index.expire(since)
        except Exception:
            log.exception("story grouping is unavailable; this poll's items alert on their own")
            self._stories = None
            return None
        if self._stories_pruned is None or rec.polled_at - self._stories_pruned >= PRUNE_EVERY:
            # Signatures older than two windows can group nothing any more: dropped hourly,
            # so that a daemon running for a year does not keep a year of them.
            conn.execute(
                delete(story_items).where(story_items.c.seen_at < since - timedelta(seconds=window))
            )
            self._stories_pruned = rec.polled_at
        rows = conn.execute(
            select(story_items, items.c.feed_id, items.c.title)
            .join(items, items.c.id == story_items.c.item_id)
            .where(story_items.c.item_id > self._stories_seen, story_items.c.seen_at >= since)
            .order_by(story_items.c.item_id)
        )
        for r in rows:
            self._stories_seen = max(self._stories_seen, r.item_id)
            if r.item_id not in index and (signature := from_bytes(r.signature)) is not None:
                index.add(r.item_id, r.story_id, r.seen_at, signature, r.feed_id, r.title)
        return index

    def _insert_items(self, conn: Connection, rec: PollRecord) -> dict[str, int]:
        """Insert the poll's items; return the ids of those new to the feed, by key (an item
        the feed delivered before conflicts on ``(feed_id, key)`` and is not stored again)."""
        rows = [
            {
                "feed_id": rec.feed_id,
                "key": item.key,
                "article_key": item.article_key,
                "title": item.title,
                "link": item.link,
                "summary": item.summary,
                "content": item.content,
                "published": item.published,
                "language": item.language,
                "first_seen": rec.polled_at,
            }
            for item, _ in rec.items
        ]
        return {key: item_id for item_id, key in self._insert_item_rows(conn, rows)}

    def reenable_feed(self, url: str) -> bool:
        """Poll a feed marked gone again, from its config URL, at the next chance; False when
        no gone feed has that URL."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(feeds)
                    .where(feeds.c.url == url, feeds.c.status == "gone")
                    .values(
                        status="new",
                        next_poll=None,
                        error_count=0,
                        error_since=None,
                        last_error=None,
                        health_alert=None,
                        fetch_url=None,
                        redirect_to=None,
                        redirect_count=0,
                    )
                ).rowcount
            )

    # -- operator alerts -----------------------------------------------------------------------

    def queue_operator_alert(self, kind: str, subject: str, body: str, now: datetime) -> int:
        """Queue a message for the operator; the delivery loop sends it to ``operator_channel``.

        Durable like news alerts: the row stays pending until the channel takes it, so a channel
        that is down loses nothing. ``kind`` is a short machine-readable tag (``feed-failing``);
        ``subject`` and ``body`` are plain text. Returns the row id.
        """
        with self.engine.begin() as conn:
            return self._queue_operator_alert(conn, kind, subject, body, now)

    @staticmethod
    def _queue_operator_alert(
        conn: Connection, kind: str, subject: str, body: str, now: datetime
    ) -> int:
        return int(
            conn.execute(
                operator_alerts.insert()
                .values(
                    kind=kind,
                    subject=subject,
                    body=body,
                    status="pending",
                    attempts=0,
                    created_at=now,
                    next_attempt=now,
                )
                .returning(operator_alerts.c.id)
            ).scalar_one()
        )

    def claim_operator_alerts(
        self, now: datetime, lease: timedelta, limit: int = 100
    ) -> list[OperatorAlert]:
        """Take due operator alerts for sending, with the same lease as ``claim_due_alerts``."""
        table = operator_alerts
        with self.engine.begin() as conn:
            ids = list(
                conn.execute(
                    select(table.c.id)
                    .where(table.c.status == "pending", table.c.next_attempt <= now)
                    .order_by(table.c.id)
                    .limit(limit)
                ).scalars()
            )
            if not ids:
                return []
            # one statement, as for news alerts: only rows still pending and due are taken
            claimed = conn.execute(
                update(table)
                .where(
                    table.c.id.in_(ids), table.c.status == "pending", table.c.next_attempt <= now
                )
                .values(next_attempt=now + lease)
                .returning(*table.c)
            ).all()
        return [self._operator_alert(r) for r in sorted(claimed, key=lambda r: r.id)]

    @staticmethod
    def _operator_alert(r: Any) -> OperatorAlert:
        return OperatorAlert(
            id=r.id,
            kind=r.kind,
            subject=r.subject,
            body=r.body,
            status=r.status,
            attempts=r.attempts,
            created_at=r.created_at,
            last_error=r.last_error,
        )

    def finish_operator_alert(
        self, alert_id: int, now: datetime, error: str | None, retry_at: datetime | None = None
    ) -> None:
        """Record a send: sent (``error`` None), logged only (no ``retry_at``: no channel is
        configured), or failed and due again at ``retry_at``."""
        table = operator_alerts
        values: dict[str, Any] = {"attempts": table.c.attempts + 1, "last_error": error}
        if error is None:
            values.update(status="sent", sent_at=now)
        elif retry_at is None:
            values.update(status="logged", sent_at=now)
        else:
            values["next_attempt"] = retry_at
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == alert_id).values(**values))

    def operator_alerts(self, status: str | None = None) -> list[OperatorAlert]:
        """Operator alerts, oldest first (all, or those with ``status``)."""
        query = select(operator_alerts).order_by(operator_alerts.c.id)
        if status is not None:
            query = query.where(operator_alerts.c.status == status)
        with self.engine.connect() as conn:
            return [self._operator_alert(r) for r in conn.execute(query)]

    def _queue_alerts(
        self,
        conn: Connection,
        outbox: _Outbox,
        item_id: int,
        item: Item,
        rule_hits: Sequence[RuleHit],
        now: datetime,
        tz: tzinfo,
        story: int | None = None,
        stories: StoryPolicy | None = None,
        channel_noise: Mapping[str, Noise] | None = None,
    ) -> None:
        """One alert per (article, channel), naming every rule that routes the item there, due
        when the rules' noise control lets it go (``noise.plan``), each rule's settings filled
        in from the channel's (``noise.effective``). An alert beyond its rule's ``max_per_hour``
        on that channel joins the hour's summary, sent when the hour ends; one beyond the
        channel's ``max_per_hour`` (its rule setting none) counts every alert the channel had
        alone that hour, whatever the rule, and joins the channel's summary.

        Story grouping: when the item's ``story`` already has an alert on the channel (another
        outlet's copy came first), the item's row is ``grouped`` into that alert instead (listed
        in it if it is not sent yet; never sent on its own, never counted against an hourly
        limit). A story's first alert on a channel waits ``stories.hold`` for copies to join.
        The rows go into ``outbox``, inserted in one statement with the batch's others; the
        outbox is flushed before any read of ``deliveries`` here, so each read sees every
        alert queued before it, as if each had been inserted at once."""
        by_channel: dict[str, list[RuleHit]] = {}
        for h in rule_hits:
            for channel in h.notify:
                by_channel.setdefault(channel, []).append(h)
        for channel, channel_hits in by_channel.items():
            carrier = None
            if story is not None and story != item_id:
                outbox.flush(conn)
                carrier = conn.execute(
                    select(deliveries.c.id)
                    .where(
                        deliveries.c.story_id == story,
                        deliveries.c.channel == channel,
                        deliveries.c.grouped_into.is_(None),
                    )
                    .order_by(deliveries.c.id)
                    .limit(1)
                ).scalar()
            if carrier is not None:
                outbox.alerts.append(
                    {
                        "article_key": item.article_key,
                        "channel": channel,
                        "item_id": item_id,
                        "rules": json.dumps([h.rule_id for h in channel_hits]),
                        "status": "grouped",
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt": now,
                        "rule": None,  # counts against no rule's max_per_hour
                        "batch": None,
                        "held": None,
                        "story_id": story,
                        "grouped_into": carrier,
                    }
                )
                continue
            own = {h.rule_id: h.noise for h in channel_hits}
            on_channel = (channel_noise or {}).get(channel)
            if on_channel is not None:
                channel_hits = [
                    h._replace(noise=effective(h.noise, on_channel)) for h in channel_hits
                ]
            p = plan(channel_hits, now, tz)
            due, batch, held = p.due, p.batch, p.held
            if p.max_per_hour is not None:
                # the rule's own limit counts its alerts; the channel's counts all of them
                per_rule = own[p.rule].max_per_hour is not None
                # The hour counted is the one the alert goes out in: alerts held overnight by
                # quiet hours all go out at 07:00, so they count against 07:00-08:00 (counting
                # when they were queued would send every one of them at 07:00).
                start, end = hour_window(due, tz)
                col = deliveries.c
                outbox.flush(conn)
                sent_alone = conn.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(
                        col.rule == p.rule if per_rule else true(),
                        col.channel == channel,
                        or_(  # sent that hour, or still due to go out in it
                            and_(col.status == "sent", col.sent_at >= start, col.sent_at < end),
                            and_(
                                col.status == "pending",
                                col.next_attempt >= start,
                                col.next_attempt < end,
                            ),
                        ),
                        col.batch.is_(None),
                    )
                ).scalar_one()
                if sent_alone >= p.max_per_hour:
                    # "*" is no rule id: the channel's summary is its own batch
                    key = p.rule if per_rule else "*"
                    due, batch = max(due, end), f"fold:{key}@{start.isoformat()}"
                    local_end = end.astimezone(tz).strftime("%H:%M")
                    held = f"over {p.max_per_hour} an hour: in the summary at {local_end}"
            if story is not None and stories is not None and stories.hold and batch is None:
                until = now + timedelta(seconds=stories.hold)
                if due < until:  # a digest or summary already waits; quiet hours may too
                    local_until = until.astimezone(tz).strftime("%H:%M:%S")
                    due, held = until, f"story hold: waiting for other outlets until {local_until}"
            outbox.alerts.append(
                {
                    "article_key": item.article_key,
                    "channel": channel,
                    "item_id": item_id,
                    "rules": json.dumps([h.rule_id for h in channel_hits]),
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt": due,
                    "rule": p.rule,
                    "batch": batch,
                    "held": held,
                    "story_id": story,
                    "grouped_into": None,
                }
            )

    # -- alerts --------------------------------------------------------------------------------

    def claim_due_alerts(
        self,
        now: datetime,
        lease: timedelta,
        limit: int = 100,
        channel: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> list[PendingAlert]:
        """Take the due pending alerts for sending (of one ``channel`` if given), oldest first.

        Each is claimed by pushing its next attempt ``lease`` into the future, so that a second
        process (``run --once`` beside the daemon) cannot send it too; if this one dies while
        sending, the alert is due again when the lease ends: at least once, never dropped.
        The lease runs from ``clock()`` read once the write lock is held (a claim that waited
        for the lock must not start with a lease already half gone), else from ``now``.
        """
        query = (
            select(deliveries.c.id)
            .where(deliveries.c.status == "pending", deliveries.c.next_attempt <= now)
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
        with self.engine.begin() as conn:
            ids = list(conn.execute(query).scalars())
            ids += self._rest_of_batches(conn, ids, now)
            until = (clock() if clock is not None else now) + lease
            # one statement: only rows still pending and due are taken (another sender may
            # have claimed some since the select), and the database says which
            taken = set(
                conn.execute(_CLAIM, {"ids": ids, "now": now, "until": until}).scalars()
                if ids
                else ()
            )
            claimed = [i for i in ids if i in taken]
            if claimed:  # the copies grouped into them so far are listed in this send
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.grouped_into.in_(claimed), deliveries.c.status == "grouped")
                    .values(last_attempt=until - lease)
                )
        return self._alerts(claimed)

    @staticmethod
    def _rest_of_batches(conn: Connection, ids: Sequence[int], now: datetime) -> list[int]:
        """The due alerts that share a batch with ``ids`` but are not among them: a digest or an
        hourly summary is claimed whole, so that it goes out as one message."""
        if not ids:
            return []
        keys = conn.execute(
            select(deliveries.c.channel, deliveries.c.batch)
            .where(deliveries.c.id.in_(list(ids)), deliveries.c.batch.is_not(None))
            .distinct()
        ).all()
        more: list[int] = []
        for channel, batch in keys:
            more += conn.execute(
                select(deliveries.c.id)
                .where(
                    deliveries.c.channel == channel,
                    deliveries.c.batch == batch,
                    deliveries.c.status == "pending",
                    deliveries.c.next_attempt <= now,
                    deliveries.c.id.not_in(list(ids)),
                )
                .order_by(deliveries.c.id)
            ).scalars()
        return more

    def next_attempt_at(self) -> datetime | None:
        """When the earliest pending alert is due (it may be now or past), or None."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.min(deliveries.c.next_attempt)).where(deliveries.c.status == "pending")
            ).scalar()
        return value if isinstance(value, datetime) else None

    def channels_with_due_alerts(self, now: datetime) -> set[str]:
        """The channels that have an alert due now (configured or not)."""
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(deliveries.c.channel)
                    .where(deliveries.c.status == "pending", deliveries.c.next_attempt <= now)
                    .distinct()
                ).scalars()
            )

    def _alerts(self, ids: Sequence[int]) -> list[PendingAlert]:
        if not ids:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                _with_article(select(deliveries, items.c.summary), deliveries.c.item_id)
                .where(deliveries.c.id.in_(list(ids)))
                .order_by(deliveries.c.id)
            ).all()
            found = self._hits_of(conn, {r.item_id for r in rows})
            alerts = []
            for r in rows:
                rules = tuple(
                    (rid, h.rule_title, tuple(json.loads(h.terms)))
                    for rid in json.loads(r.rules)
                    if (h := found.get((r.item_id, rid))) is not None
                )
                alerts.append(
                    PendingAlert(
                        id=r.id,
                        channel=r.channel,
                        attempts=r.attempts,
                        title=r.title,
                        link=r.link,
                        feed_name=_feed_name(r),
                        published=r.published,
                        summary=r.summary,
                        rules=rules,
                        batch=r.batch,
                    )
                )
            return self._with_copies(conn, alerts)

    @staticmethod
    def _hits_of(conn: Connection, item_ids: Iterable[int]) -> dict[tuple[int, str], Any]:
        """The hits of these items by (item, rule): one query for a whole claim."""
        return {
            (h.item_id, h.rule_id): h
            for h in conn.execute(
                select(hits.c.item_id, hits.c.rule_id, hits.c.rule_title, hits.c.terms).where(
                    hits.c.item_id.in_(sorted(item_ids))
                )
            )
        }

    @staticmethod
    def _with_copies(conn: Connection, alerts: list[PendingAlert]) -> list[PendingAlert]:
        """The alerts with the other outlets' copies grouped into them (those claimed with
        them: a copy that came after the claim is not in this send) in ``also``, and the rules
        that matched the copies merged into theirs."""
        rows = conn.execute(
            _with_article(
                select(deliveries.c.grouped_into, deliveries.c.item_id, deliveries.c.rules),
                deliveries.c.item_id,
            )
            .where(
                deliveries.c.grouped_into.in_([a.id for a in alerts]),
                deliveries.c.status == "grouped",
                deliveries.c.last_attempt.is_not(None),
            )
            .order_by(deliveries.c.id)
        ).all()
        if not rows:
            return alerts
        found = Store._hits_of(conn, {r.item_id for r in rows})
        copies: dict[int, list[Any]] = {}
        for r in rows:
            copies.setdefault(r.grouped_into, []).append(r)
        out = []
        for alert in alerts:
            mine = copies.get(alert.id)
            if not mine:
                out.append(alert)
                continue
            rules = {rid: (title, list(terms)) for rid, title, terms in alert.rules}
            for r in mine:
                for rid in json.loads(r.rules):
                    h = found.get((r.item_id, rid))
                    if h is None:
                        continue
                    _, terms = rules.setdefault(rid, (h.rule_title, []))
                    terms.extend(t for t in json.loads(h.terms) if t not in terms)
            also = tuple(OtherSource(_feed_name(r), r.title, r.link, r.published) for r in mine)
            merged = tuple((rid, title, tuple(terms)) for rid, (title, terms) in rules.items())
            out.append(replace(alert, rules=merged, also=also))
        return out

    def mark_sent(self, alert_ids: Sequence[int], now: datetime) -> None:
        """Mark alerts sent, and the copies grouped into them that this send listed (those
        claimed with them) as sent with them."""
        params = {"ids": list(alert_ids), "now": now}
        with self.engine.begin() as conn:
            conn.execute(_MARK_SENT, params)
            conn.execute(_MARK_COPIES_SENT, params)

    def retry_later(
        self, alert_ids: Sequence[int], error: str, now: datetime, retry_at: datetime
    ) -> None:
        """Count a failed attempt and keep the alerts queued until ``retry_at``."""
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(list(alert_ids)))
                .values(
                    attempts=deliveries.c.attempts + 1,
                    last_error=error,
                    last_attempt=now,
                    next_attempt=retry_at,
                )
            )

    def give_up(
        self,
        alert_ids: Sequence[int],
        error: str,
        now: datetime,
        notices: Mapping[int, tuple[str, str, str]] | None = None,
    ) -> list[int]:
        """Count a failed attempt and stop trying: the alerts are ``failed`` until re-queued.

        Only alerts still pending are given up (a second sender whose lease ran out finds them
        failed already); for each, its entry in ``notices`` (kind, subject, body) is queued as
        an operator alert in the same transaction: the operator hears once per alert given up,
        and never of one that was not. Returns the ids given up.
        """
        with self.engine.begin() as conn:
            ids = list(
                conn.execute(
                    select(deliveries.c.id)
                    .where(deliveries.c.id.in_(list(alert_ids)), deliveries.c.status == "pending")
                    .order_by(deliveries.c.id)
                ).scalars()
            )
            if not ids:
                return []
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids))
                .values(
                    status="failed",
                    attempts=deliveries.c.attempts + 1,
                    last_error=error,
                    last_attempt=now,
                )
            )
            for i in ids:
                if notices is not None and i in notices:
                    self._queue_operator_alert(conn, *notices[i], now)
        return ids

    def postpone(self, alert_ids: Sequence[int], until: datetime, note: str | None = None) -> None:
        """Hand claimed alerts back unsent, due again at ``until``; no attempt is counted."""
        if not alert_ids:
            return
        values: dict[str, Any] = {"next_attempt": until}
        if note is not None:
            values["last_error"] = note
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(list(alert_ids)), deliveries.c.status == "pending")
                .values(**values)
            )

    def postpone_due(self, channel: str, now: datetime, until: datetime) -> None:
        """Push every alert of ``channel`` due at ``now`` (and not claimed) back to ``until``."""
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.channel == channel,
                    deliveries.c.status == "pending",
                    deliveries.c.next_attempt <= now,
                )
                .values(next_attempt=until)
            )

    def requeue(self, alert_ids: Sequence[int] | None, now: datetime) -> list[int]:
        """Make failed alerts (``None``: every failed one) pending and due now, with a fresh
        count of attempts. Returns the ids re-queued. Only a failed alert is: a pending one is
        held on purpose (quiet hours, a digest, a summary, a story hold), waiting out a backoff
        that counts towards its attempts, or under a sender's lease (re-queueing it would let
        a second sender send it too); a sent one would be a duplicate."""
        cond = deliveries.c.status == "failed"
        if alert_ids is not None:
            cond = and_(cond, deliveries.c.id.in_(list(alert_ids)))
        with self.engine.begin() as conn:
            ids = list(
                conn.execute(
                    update(deliveries)
                    .where(cond)
                    .values(status="pending", attempts=0, next_attempt=now)
                    .returning(deliveries.c.id)
                ).scalars()
            )
        return sorted(ids)

    def alert_view(self, alert_id: int) -> AlertView | None:
        """One row of the ledger, as ``alert_views`` shows it; None when there is no such id."""
        found = self._alert_views(deliveries.c.id == alert_id, 1)
        return found[0] if found else None

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.status == "pending")
                ).scalar_one()
            )

    # -- views ---------------------------------------------------------------------------------

    def hits(self, rule: str | None, since: datetime | None, limit: int) -> list[HitView]:
        """Stored hits, newest first; ``limit`` 0 means all."""
        query = _with_article(select(hits), hits.c.item_id).order_by(
            hits.c.matched_at.desc(), hits.c.id.desc()
        )
        if rule is not None:
            query = query.where(hits.c.rule_id == rule)
        if since is not None:
            query = query.where(hits.c.matched_at >= since)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [
                HitView(
                    rule=r.rule_id,
                    rule_title=r.rule_title,
                    title=r.title,
                    link=r.link,
                    feed=_feed_name(r),
                    published=r.published,
                    matched_at=r.matched_at,
                    terms=tuple(json.loads(r.terms)),
                )
                for r in conn.execute(query)
            ]

    def alert_views(self, status: str | None, limit: int) -> list[AlertView]:
        """The delivery ledger, newest first; ``limit`` 0 means all."""
        return self._alert_views(None if status is None else deliveries.c.status == status, limit)

    def _alert_views(self, cond: Any, limit: int) -> list[AlertView]:
        query = _with_article(select(deliveries), deliveries.c.item_id).order_by(
            deliveries.c.created_at.desc(), deliveries.c.id.desc()
        )
        if cond is not None:
            query = query.where(cond)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            carriers = {r.grouped_into for r in rows if r.grouped_into is not None}
            carrier_status = {
                c.id: c.status
                for c in conn.execute(
                    select(deliveries.c.id, deliveries.c.status).where(
                        deliveries.c.id.in_(carriers)
                    )
                )
            }
        return [
            AlertView(
                id=r.id,
                status=r.status,
                channel=r.channel,
                title=r.title,
                link=r.link,
                feed=_feed_name(r),
                rules=tuple(json.loads(r.rules)),
                attempts=r.attempts,
                last_error=r.last_error,
                held=r.held,
                created_at=r.created_at,
                last_attempt=r.last_attempt,
                next_attempt=r.next_attempt if r.status == "pending" else None,
                sent_at=r.sent_at,
                grouped_into=r.grouped_into,
                carrier_status=carrier_status.get(r.grouped_into),
            )
            for r in rows
        ]

    def feed_views(self, urls: Sequence[str] | None = None) -> list[FeedView]:
        """Each feed's health; only the configured ``urls`` when given, in that order."""
        counts = (
            select(items.c.feed_id, func.count().label("n")).group_by(items.c.feed_id).subquery()
        )
        query = select(feeds, func.coalesce(counts.c.n, 0).label("n")).outerjoin(
            counts, counts.c.feed_id == feeds.c.id
        )
        if urls is not None:
            query = query.where(feeds.c.url.in_(list(urls)))
        with self.engine.connect() as conn:
            rows = {r.url: r for r in conn.execute(query)}
        order = list(urls) if urls is not None else sorted(rows)
        return [
            FeedView(
                name=r.name or r.title or r.url,
                url=r.url,
                status=r.status,
                last_polled=r.last_polled,
                next_poll=r.next_poll,
                error_count=r.error_count,
                last_error=r.last_error,
                items=int(r.n),
                state=self._state(r),
            )
            for url in order
            if (r := rows.get(url)) is not None
        ]

    def recent_texts(self, limit: int) -> list[str]:
        """Title and summary of the newest stored items (to learn which words are common)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(items.c.title, items.c.summary).order_by(items.c.id.desc()).limit(limit)
            )
            return [f"{r.title}\n{r.summary}" for r in rows]

    def count_items(self, since: datetime | None) -> int:
        query = select(func.count()).select_from(items)
        if since is not None:
            query = query.where(items.c.first_seen >= since)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def iter_items(
        self, since: datetime | None, batch: int = 1000
    ) -> Iterator[list[tuple[StoredItem, Item]]]:
        """Stored items in batches, oldest first (for backtests); reads in pages by id so that
        a long run holds no transaction open."""
        last = 0
        while True:
            query = (
                select(
                    items,
                    feeds.c.url.label("feed_url"),
                    feeds.c.name.label("feed_name"),
                    feeds.c.title.label("feed_title"),
                )
                .join(feeds, feeds.c.id == items.c.feed_id)
                .where(items.c.id > last)
                .order_by(items.c.id)
                .limit(batch)
            )
            if since is not None:
                query = query.where(items.c.first_seen >= since)
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            last = rows[-1].id
            yield [
                (
                    StoredItem(
                        r.id, r.feed_url, r.feed_name or r.feed_title or r.feed_url, r.first_seen
                    ),
                    Item(
                        key=r.key,
                        article_key=r.article_key,
                        title=r.title,
                        link=r.link,
                        summary=r.summary,
                        content=r.content,
                        published=r.published,
                        language=r.language,
                    ),
                )
                for r in rows
            ]

    def due_feed_ids(self, now: datetime) -> set[int]:
        """Feeds due for a poll: never polled, or their next poll has come (never a gone feed)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(feeds.c.id).where(
                    feeds.c.status != "gone",
                    or_(feeds.c.next_poll.is_(None), and_(feeds.c.next_poll <= now)),
                )
            )
            return {r.id for r in rows}
