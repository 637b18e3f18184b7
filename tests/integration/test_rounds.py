"""A round of many polls (``run --once``) commits in batches, and every feed's state stays exact:
a 304, new items, a failure and a 410 side by side, on SQLite and PostgreSQL. A poll the
database refuses fails alone and is fetched again, so nothing is lost. Polls committed in one
batch queue their alerts with the rules' noise control exactly as polls committed alone."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text

from tests.conftest import Entry, FeedServer, rss, write_config
from watcher.app import build, load
from watcher.fetcher import FetchResult, new_session
from watcher.models import Digest, FeedSpec, Noise, QuietHours
from watcher.pipeline import Pipeline, PollReport, RoundWriter
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_rule
from watcher.scheduler import POOL_FROM, Daemon
from watcher.store import PollRecord, Store
from watcher.store.schema import deliveries

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
RULES = RuleSet(
    [compile_rule(RuleSpec("venezuela", "Venezuela", "Venezuela*", notify=("desk",)), {})]
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _round(pipeline: Pipeline, specs: list[FeedSpec], ids: dict[str, int]) -> list[PollReport]:
    async def go() -> list[PollReport]:
        async with new_session(50) as session:
            return await pipeline.poll_round(session, [(s, ids[s.url]) for s in specs])

    return asyncio.run(go())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'w.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def _feeds(feed_server: FeedServer, n: int) -> list[str]:
    return [
        feed_server.set(
            f"/f{i}.xml",
            rss([Entry(f"{i}-{k}", f"Venezuela story {i}.{k}") for k in range(3)]),
            headers={"ETag": f'"v1-{i}"'},
        )
        for i in range(n)
    ]


def test_a_round_of_304s_updates_every_feed_exactly_beside_new_items_failures_and_a_gone_feed(
    store_url: str, feed_server: FeedServer
) -> None:
    urls = _feeds(feed_server, 40)
    store = Store(store_url)
    store.migrate()
    try:
        specs = [FeedSpec(url=u, name=None, interval=300) for u in urls]
        ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
        clock = Clock()
        pipeline = Pipeline(store, lambda: RULES, clock=clock)
        collector = gc.get_threshold()
        first = _round(pipeline, specs, ids)
        assert gc.get_threshold() == collector  # collects less during a round only
        assert sum(r.new_items for r in first) == 120
        assert sum(r.alerts for r in first) == 120
        before = {u: store.feed_state(ids[u]) for u in urls}

        # Second round, an hour later: most answer 304; one has a new item, one fails, one is gone.
        clock.now = START + timedelta(hours=1)
        changed, failing, gone = urls[5], urls[6], urls[7]
        feed_server.set(
            "/f5.xml",
            rss([Entry("5-new", "Venezuela: a new story"), Entry("5-0", "Venezuela story 5.0")]),
            headers={"ETag": '"v2-5"'},
        )
        feed_server.set("/f6.xml", b"down", status=500)
        feed_server.set("/f7.xml", b"", status=410)
        second = {r.url: r for r in _round(pipeline, specs, ids)}

        assert sum(r.not_modified for r in second.values()) == 37
        assert second[changed].new_items == 1 and second[changed].alerts == 1
        assert second[failing].error == "HTTP 500 Internal Server Error"
        assert second[gone].error is not None and second[gone].next_poll is None
        for url in urls:
            state, was = store.feed_state(ids[url]), before[url]
            assert state.last_polled == clock.now, url
            assert state.next_poll == second[url].next_poll, url
            if url == failing:
                assert (state.status, state.error_count) == ("failing", 1)
                assert state.etag == was.etag  # kept for when it recovers
            elif url == gone:
                assert state.status == "gone"
            elif url == changed:
                assert (state.status, state.etag) == ("ok", '"v2-5"')
                assert state.last_new_item == clock.now and state.new_item_polls == 2
            else:
                assert (state.status, state.etag, state.error_count) == ("ok", was.etag, 0)
                assert state.last_success == clock.now
                assert state.last_new_item == START and state.new_item_polls == 1
        assert store.count_items(None) == 121
        assert store.pending_count() == 121
    finally:
        store.close()


def test_a_poll_the_database_refuses_fails_alone_and_its_items_arrive_next_round(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    urls = _feeds(feed_server, 3)
    feed_server.set(
        "/f1.xml",
        rss([Entry("1-0", "Venezuela poison"), Entry("1-1", "Venezuela fine")]),
        headers={"ETag": '"v1-1"'},
    )
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    store.migrate()
    refuse: Callable[[str], None] = lambda sql: _exec(store, sql)  # noqa: E731
    refuse(
        "CREATE TRIGGER refuse BEFORE INSERT ON items WHEN NEW.title LIKE '%poison%' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    try:
        specs = [FeedSpec(url=u, name=None, interval=300) for u in urls]
        ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
        pipeline = Pipeline(store, lambda: RULES, clock=Clock())
        first = {r.url: r for r in _round(pipeline, specs, ids)}
        assert first[urls[1]].error is not None
        assert "could not store" in first[urls[1]].error
        assert first[urls[0]].new_items == 3 and first[urls[2]].new_items == 3
        assert store.feed_state(ids[urls[1]]).etag is None  # nothing of that poll was kept

        refuse("DROP TRIGGER refuse")
        second = {r.url: r for r in _round(pipeline, specs, ids)}
        assert second[urls[1]].new_items == 2 and second[urls[1]].alerts == 2
        assert second[urls[0]].not_modified and second[urls[2]].not_modified
        assert store.count_items(None) == 8
    finally:
        store.close()


def _exec(store: Store, sql: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql))


def test_run_once_over_many_feeds_parses_in_processes_and_stores_every_item_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    urls = _feeds(feed_server, POOL_FROM + 10)  # enough for run --once to start its pool
    config = write_config(
        tmp_path,
        feeds=[{"url": u, "interval": "5m"} for u in urls],
        channels={"desk": "console://"},
        rules='rules:\n  - {id: v, title: V, query: "Venezuela*", notify: [desk]}\n',
    )
    for expected_new in (3 * len(urls), 0):
        app = build(load(config))
        try:
            with app.store.engine.begin() as conn:  # every feed due again
                conn.execute(text("UPDATE feeds SET next_poll = NULL"))
            report = asyncio.run(Daemon(app).run_once())
            assert len(report.polls) == len(urls)
            assert all(p.error is None for p in report.polls)
            assert sum(p.new_items for p in report.polls) == expected_new
            assert app.store.count_items(None) == 3 * len(urls)
        finally:
            app.close()


MADRID = ZoneInfo("Europe/Madrid")  # START is 13:00 there
NOISY = RuleSet(
    [
        compile_rule(
            RuleSpec(
                "v", "Venezuela", "Venezuela*", notify=("desk", "wire"), noise=Noise(max_per_hour=2)
            ),
            {},
        ),
        compile_rule(
            RuleSpec(
                "d",
                "Budget",
                "budget",
                notify=("desk",),
                noise=Noise(digest=Digest("daily", time(8))),
            ),
            {},
        ),
        compile_rule(
            RuleSpec(
                "q",
                "Quiet",
                "quiet",
                notify=("wire",),
                noise=Noise(quiet_hours=QuietHours(time(13), time(15))),
            ),
            {},
        ),
    ]
)


def _noisy_feed(i: int) -> bytes:
    return rss(
        [
            Entry(f"{i}-v0", f"Venezuela story {i}.0"),
            Entry(f"{i}-v1", f"Venezuela quiet story {i}.1"),  # v and q, on wire both
            Entry(f"{i}-b", f"Budget talks {i}"),
            Entry(f"{i}-q", f"A quiet story {i}"),
        ]
    )


def _ledger(store: Store) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                deliveries.c.article_key,
                deliveries.c.channel,
                deliveries.c.rules,
                deliveries.c.rule,
                deliveries.c.batch,
                deliveries.c.held,
                deliveries.c.status,
                deliveries.c.created_at,
                deliveries.c.next_attempt,
            ).order_by(deliveries.c.id)
        )
        return [tuple(r) for r in rows]


def test_polls_committed_in_one_batch_queue_alerts_with_noise_control_as_polls_committed_alone(
    store_url: str, tmp_path: Path
) -> None:
    batched, alone = Store(store_url), Store(f"sqlite:///{tmp_path / 'alone.db'}")
    try:
        for store in (batched, alone):
            store.migrate()
        specs = [
            FeedSpec(url=f"https://news.example/{i}.xml", name=None, interval=300) for i in range(3)
        ]
        recs = {}
        for name, store in (("batched", batched), ("alone", alone)):
            ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
            pipeline = Pipeline(store, lambda: NOISY, clock=Clock(), timezone=lambda: MADRID)
            recs[name] = [
                pipeline.decide(
                    spec,
                    ids[spec.url],
                    FetchResult(spec.url, status=200, body=_noisy_feed(i)),
                    store.feed_state(ids[spec.url]),
                )
                for i, spec in enumerate(specs)
            ]
        outcomes = batched.record_polls(recs["batched"])
        assert outcomes == [alone.record_poll(r) for r in recs["alone"]]
        ledger = _ledger(batched)
        assert ledger == _ledger(alone)

        held = [row[5] for row in ledger]
        # Six Venezuela articles on each of desk and wire: two go out now, four wait for the
        # hour's summary, counted across the polls of the batch as across separate commits.
        folded = "over 2 an hour: in the summary at 14:00"
        assert held.count(folded) == 8
        assert sum(1 for row in ledger if row[3] == "v" and row[5] is None) == 4
        assert held.count("digest at 2026-11-03 08:00") == 3
        # "A quiet story" waits; an article that rule v also routes to wire goes when v lets it.
        assert held.count("quiet hours until 15:00") == 3
        assert {row[4] for row in ledger if row[5] == folded} == {f"fold:v@{START.isoformat()}"}
    finally:
        batched.close()
        alone.close()


def test_daemon_polls_that_fall_due_together_commit_together_each_whole(
    store_url: str, feed_server: FeedServer
) -> None:
    urls = _feeds(feed_server, 30)
    store = Store(store_url)
    store.migrate()
    commits = []
    event.listen(store.engine, "commit", lambda conn: commits.append(conn))
    try:
        specs = [FeedSpec(url=u, name=None, interval=300) for u in urls]
        ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
        pipeline = Pipeline(store, lambda: RULES, clock=Clock())

        async def polls() -> list[PollReport]:
            async with new_session(50) as session, RoundWriter(store) as writer:
                return await asyncio.gather(
                    *(pipeline.poll(session, s, ids[s.url], writer) for s in specs)
                )

        before = len(commits)
        reports = asyncio.run(polls())
        assert [r.new_items for r in reports] == [3] * len(urls)
        assert sum(r.alerts for r in reports) == 3 * len(urls)
        assert store.count_items(None) == 3 * len(urls)
        # 30 polls, far fewer transactions: the daemon's start no longer commits feed by feed.
        assert len(commits) - before < len(urls) // 3
        states = store.feed_states(list(ids.values()))
        assert all(s.status == "ok" and s.etag for s in states.values())
    finally:
        store.close()


def test_a_round_waits_for_a_slow_store_instead_of_holding_every_feeds_items(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    try:
        specs = [
            FeedSpec(url=f"https://news.example/{i}.xml", name=None, interval=300) for i in range(6)
        ]
        ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
        pipeline = Pipeline(store, lambda: RULES, clock=Clock())
        recs = [
            pipeline.decide(
                s,
                ids[s.url],
                FetchResult(
                    s.url, status=200, body=rss([Entry(f"{i}-{k}", "Venezuela") for k in range(3)])
                ),
                store.feed_state(ids[s.url]),
            )
            for i, s in enumerate(specs)
        ]

        async def go() -> None:
            async with RoundWriter(store, max_items=3, max_wait=0.05) as writer:
                blocker = sqlite3.connect(path, isolation_level=None)
                blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
                done = [writer.commit(recs[0]), writer.commit(recs[1])]  # two batches' worth
                waiting = asyncio.create_task(writer.room())
                await asyncio.sleep(0.3)
                assert not waiting.done()  # the round waits for the store, holding no more
                blocker.rollback()
                blocker.close()
                await asyncio.wait_for(waiting, 20)
                for rec in recs[2:]:
                    await writer.room()
                    done.append(writer.commit(rec))
                outcomes = await asyncio.gather(*done)
            assert [o.new_items for o in outcomes] == [3] * len(recs)

        asyncio.run(go())
        assert store.count_items(None) == 3 * len(recs)
    finally:
        store.close()


ROUTED = RuleSet(
    [
        compile_rule(RuleSpec("v", "Venezuela", "Venezuela*", notify=("desk",)), {}),
        compile_rule(RuleSpec("c", "Caracas", "Caracas", notify=("wire",)), {}),
    ]
)


def test_an_article_in_many_feeds_and_batches_is_alerted_once_per_channel_every_copy_kept(
    store_url: str,
) -> None:
    """Alerts of a batch go to the database together, in a few statements: an article
    carried by two feeds of one batch, and again by a feed of a later batch, still gets one
    alert per channel (the first copy's), a channel only a later copy reaches still gets its
    own, and every copy is stored once with its hits. A poll committed twice in a batch
    stores nothing the second time."""
    store = Store(store_url)
    store.migrate()
    try:
        specs = [FeedSpec(url=f"https://news.example/{n}.xml", name=n, interval=300) for n in "abc"]
        ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
        pipeline = Pipeline(store, lambda: ROUTED, clock=Clock())
        court, budget, oil = (f"https://news.example/story/{n}" for n in ("court", "budget", "oil"))
        bodies = {
            "a": [
                Entry("a1", "Venezuela court opens case", link=court),
                Entry("a2", "Venezuela budget", link=budget),
            ],
            "b": [
                Entry("b1", "Venezuela court opens case in Caracas", link=court + "?utm_source=x"),
                Entry("b2", "Venezuela oil", link=oil),
            ],
            "c": [
                Entry("c1", "Venezuela court case, Caracas reacts", link=court),
                Entry("c2", "Venezuela budget passes", link=budget),
            ],
        }

        def poll(spec: FeedSpec, entries: list[Entry]) -> PollRecord:
            feed_id = ids[spec.url]
            fetched = FetchResult(spec.url, status=200, body=rss(entries))
            return pipeline.decide(spec, feed_id, fetched, store.feed_state(feed_id))

        a, b, c = specs
        first = store.record_polls([poll(a, bodies["a"]), poll(b, bodies["b"])])
        again = poll(a, [*bodies["a"], Entry("a3", "Venezuela oil output", link=oil)])
        second = store.record_polls([poll(c, bodies["c"]), again, again])

        assert [(o.new_items, o.hits, o.alerts) for o in first] == [(2, 2, 2), (2, 3, 2)]
        assert [(o.new_items, o.hits, o.alerts) for o in second] == [
            (2, 3, 0),
            (1, 1, 0),
            (0, 0, 0),
        ]
        with store.engine.connect() as conn:
            ledger = conn.execute(
                text(
                    "SELECT d.article_key, d.channel, d.rules, i.key FROM deliveries d"
                    " JOIN items i ON i.id = d.item_id ORDER BY d.article_key, d.channel"
                )
            ).all()
        assert [tuple(row) for row in ledger] == [
            (budget, "desk", '["v"]', "a2"),
            (court, "desk", '["v"]', "a1"),  # the first copy's
            (court, "wire", '["c"]', "b1"),  # only b1 (and c1, later) reach wire
            (oil, "desk", '["v"]', "b2"),
        ]
        assert sum(o.alerts for o in first + second) == len(ledger)
        with store.engine.connect() as conn:
            stored = conn.execute(text("SELECT key FROM items ORDER BY key")).scalars().all()
            hit_rows = conn.execute(text("SELECT count(*) FROM hits")).scalar_one()
        assert stored == ["a1", "a2", "a3", "b1", "b2", "c1", "c2"]
        assert hit_rows == 9
    finally:
        store.close()


@pytest.mark.parametrize(
    "at", [START, START + timedelta(microseconds=123456)], ids=["whole-second", "microseconds"]
)
def test_times_a_batch_stores_compare_exactly_with_times_asked_about(
    store_url: str, at: datetime
) -> None:
    """Items, hits and alerts go to the driver in statements of our own: their times must
    be stored as SQLAlchemy stores them, or "hits since", "items since" and "due now" would
    miss rows stored at that very instant (SQLite compares them as text)."""
    store = Store(store_url)
    store.migrate()
    try:
        spec = FeedSpec(url="https://news.example/t.xml", name="t", interval=300)
        feed_id = store.sync_feeds([spec])[spec.url].id
        clock = Clock()
        clock.now = at
        pipeline = Pipeline(store, lambda: ROUTED, clock=clock)
        body = rss([Entry(f"t{k}", f"Venezuela story {k} in Caracas") for k in range(3)])
        fetched = FetchResult(spec.url, status=200, body=body)
        outcome = store.record_poll(
            pipeline.decide(spec, feed_id, fetched, store.feed_state(feed_id))
        )
        assert (outcome.new_items, outcome.hits, outcome.alerts) == (3, 6, 6)

        assert store.count_items(at) == 3
        assert store.count_items(at + timedelta(microseconds=1)) == 0
        assert len(store.hits(None, at, 0)) == 6
        assert store.hits(None, at + timedelta(microseconds=1), 0) == []
        assert store.next_attempt_at() == at
        assert len(store.claim_due_alerts(at, timedelta(minutes=5))) == 6
        # published times (the feed's pubDate) read back as they were given
        [view] = [h for h in store.hits("v", None, 0) if h.title == "Venezuela story 0 in Caracas"]
        assert view.published == datetime(2021, 11, 4, 10, 0, tzinfo=UTC)
    finally:
        store.close()
