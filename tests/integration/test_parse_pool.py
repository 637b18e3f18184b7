"""A round whose bodies are parsed and matched in a pool of processes stores exactly what the
main process stores matching every new item itself with ``RuleSet.match_document``: the same
items, the same hits with the same matched words, the same alerts, once each. Items a feed has
delivered before are not new however they were matched, and a rule set reloaded after the pool
started is the one that matches."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Entry, FeedServer, process_alive, rss
from watcher.fetcher import new_session
from watcher.models import FeedSpec
from watcher.pipeline import ParsePool, Pipeline, parse_pool
from watcher.rules.matcher import Document
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_rule
from watcher.store import Store
from watcher.store.schema import deliveries, hits, items

RULES = RuleSet(
    [
        compile_rule(RuleSpec(rid, rid, query, notify=("desk",)), {})
        for rid, query in (
            ("venezuela", "Venezuela*"),
            ("phrase", '"Karim Khan" AND (court OR tribunal)'),
            ("feed", "feed:latam AND Bogotá"),
            ("near", "Guaidó NEAR/3 opposition"),
        )
    ]
)
OTHER = RuleSet([compile_rule(RuleSpec("oil", "oil", "petróleo", notify=("desk",)), {})])

TITLES = [
    "Venezuela: Karim Khan visits the court",
    "Guaidó and the opposition meet in Caracas",
    "Lluvias en Bogotá: el petróleo sube",
    "<b>Karim</b> Khan &amp; the tribunal",
    "Nothing to see here",
]


def _body(i: int, new: int = 0) -> bytes:
    return rss(
        [
            Entry(f"{i}-{k}", TITLES[(i + k) % len(TITLES)], f"<p>story {k} of feed {i}</p>")
            for k in range(len(TITLES) + new)
        ]
    )


def _stored(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    with store.engine.connect() as conn:
        stored_items = [
            tuple(r)
            for r in conn.execute(
                select(items.c.feed_id, items.c.key, items.c.title, items.c.summary).order_by(
                    items.c.feed_id, items.c.key
                )
            )
        ]
        stored_hits = [
            tuple(r)
            for r in conn.execute(
                select(items.c.feed_id, items.c.key, hits.c.rule_id, hits.c.terms)
                .join(items, items.c.id == hits.c.item_id)
                .order_by(items.c.feed_id, items.c.key, hits.c.rule_id)
            )
        ]
        alerts = len(conn.execute(select(deliveries.c.id)).all())
    return stored_items, stored_hits, alerts


def _round(pipeline: Pipeline, feeds: list[tuple[FeedSpec, int]], pool: ParsePool | None) -> None:
    async def go() -> None:
        async with new_session(20) as session:
            reports = await pipeline.poll_round(session, feeds, pool=pool)
        assert all(r.error is None for r in reports)

    asyncio.run(go())


def test_hits_matched_in_the_pool_are_those_the_main_process_finds(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    n = 12
    urls = [feed_server.set(f"/f{i}.xml", _body(i)) for i in range(n)]
    specs = [
        FeedSpec(url=u, name=f"Feed {i}", interval=300, tags=("latam",) if i % 2 else ())
        for i, u in enumerate(urls)
    ]
    results = []
    with parse_pool(RULES, workers=2) as pool:
        for name, use_pool in (("pooled", pool), ("main", None)):
            store = Store(f"sqlite:///{tmp_path / name}.db")
            store.migrate()
            ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
            feeds = [(s, ids[s.url]) for s in specs]
            pipeline = Pipeline(store, lambda: RULES)
            _round(pipeline, feeds, use_pool)
            # Each feed now has two new entries beside the five it delivered before.
            for i in range(n):
                feed_server.set(f"/f{i}.xml", _body(i, new=2))
            _round(pipeline, feeds, use_pool)
            results.append(_stored(store))
            for i in range(n):
                feed_server.set(f"/f{i}.xml", _body(i))
            store.close()
    pooled, main = results
    assert pooled == main
    stored_items, stored_hits, alerts = pooled
    assert len(stored_items) == n * (len(TITLES) + 2)
    assert alerts == len({(f, k) for f, k, _, _ in stored_hits})  # one per article on desk
    # Every rule hit somewhere, and each hit is what match_document finds for the stored text.
    assert {rule for _, _, rule, _ in stored_hits} == {"venezuela", "phrase", "feed", "near"}
    title_of = {(f, k): t for f, k, t, _ in stored_items}
    summary_of = {(f, k): s for f, k, _, s in stored_items}
    by_item: dict[tuple[object, object], list[tuple[str, list[str]]]] = {}
    for f, k, rule, terms in stored_hits:
        by_item.setdefault((f, k), []).append((str(rule), json.loads(str(terms))))
    for (f, k), found in by_item.items():
        i = int(str(k).split("-")[0])
        doc = Document(
            {"title": str(title_of[f, k]), "summary": str(summary_of[f, k]), "content": ""},
            f"https://news.example/{k}",
            (specs[i].name or "", *specs[i].tags),
        )
        expected = [(h.rule_id, list(h.terms)) for h in RULES.match_document(doc)]
        assert sorted(found) == sorted(expected)


def test_a_rule_set_reloaded_after_the_pool_started_is_the_one_that_matches(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    urls = [feed_server.set(f"/r{i}.xml", _body(i)) for i in range(3)]
    specs = [FeedSpec(url=u, name=None, interval=300) for u in urls]
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    store.migrate()
    try:
        ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
        with parse_pool(RULES, workers=1) as pool:
            _round(Pipeline(store, lambda: OTHER), [(s, ids[s.url]) for s in specs], pool)
        _, stored_hits, _ = _stored(store)
        assert stored_hits
        assert {rule for _, _, rule, _ in stored_hits} == {"oil"}
    finally:
        store.close()


def _stored_after_round(
    path: Path, specs: list[FeedSpec], pool: ParsePool | None
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    """What one first round over ``specs`` stores in a fresh database at ``path``."""
    store = Store(f"sqlite:///{path}")
    store.migrate()
    try:
        ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
        _round(Pipeline(store, lambda: RULES), [(s, ids[s.url]) for s in specs], pool)
        return _stored(store)
    finally:
        store.close()


def test_a_round_whose_parsing_processes_die_still_stores_every_feed(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A parsing process killed (by the out-of-memory killer, or an operator) must not fail the
    round: the feeds it would have parsed are parsed in the main process, and the round
    stores exactly what a round without a pool stores."""
    n = 6
    urls = [feed_server.set(f"/k{i}.xml", _body(i)) for i in range(n)]
    specs = [FeedSpec(url=u, name=f"Feed {i}", interval=300) for i, u in enumerate(urls)]
    with parse_pool(RULES, workers=1) as pool:
        pool.processes.wait_ready()
        for pid in pool.processes.pids:
            os.kill(pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger="watcher.pipeline"):
            killed = _stored_after_round(tmp_path / "killed.db", specs, pool)
        assert pool.broken
    assert killed == _stored_after_round(tmp_path / "main.db", specs, None)
    assert len(killed[0]) == n * len(TITLES) and killed[1]
    assert "a parsing process died" in caplog.text


def test_a_parsing_process_killed_mid_round_loses_nothing(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """One of two parsing processes killed while the round runs: whatever it held is parsed
    again (by the other process or the main one), and the round stores what a round without a
    pool stores."""
    n = 40
    urls = [
        feed_server.set(f"/m{i}.xml", _body(i, new=40), delay=0.02)  # a round of a second or so
        for i in range(n)
    ]
    specs = [FeedSpec(url=u, name=f"Feed {i}", interval=300) for i, u in enumerate(urls)]
    with parse_pool(RULES, workers=2) as pool:
        pool.processes.wait_ready()
        victim = pool.processes.pids[0]
        killer = threading.Thread(
            target=_kill_after, args=(victim, feed_server, len(feed_server.requests) + n // 3)
        )
        killer.start()
        killed = _stored_after_round(tmp_path / "killed.db", specs, pool)
        killer.join()
        assert not process_alive(victim)
    assert killed == _stored_after_round(tmp_path / "main.db", specs, None)
    assert len(killed[0]) == n * (len(TITLES) + 40)


def _kill_after(pid: int, server: FeedServer, requests: int) -> None:
    """Kill ``pid`` once ``server`` has been asked for ``requests`` feeds (at most 30 s on)."""
    deadline = time.monotonic() + 30
    while len(server.requests) < requests:
        if time.monotonic() > deadline:
            return
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
