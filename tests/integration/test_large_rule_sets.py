"""A daemon with thousands of rules: the rules are kept out of the cycle collector's walks.

A full collection walking 100,000 compiled rules takes 0.8 s with the event loop stopped, so
polling would stall whenever one ran; once a large rule set is loaded, its objects are frozen
(``gc.freeze``) and the collector only ever sees what polling itself allocates.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Entry, FeedServer, rss, write_config
from watcher.app import TUNE_FROM_RULES, build, load
from watcher.scheduler import Daemon


@pytest.fixture(autouse=True)
def _unfreeze() -> Iterator[None]:
    """Give the objects frozen here back to the collector, for the other tests' sake."""
    yield
    gc.unfreeze()


def _rules(count: int) -> str:
    lines = ["rules:"]
    for i in range(count):
        lines += [
            f"  - id: watch-{i}",
            f"    title: Watch {i}",
            f"    query: '\"Person{i} Surname{i}\" OR Company{i}'",
        ]
    lines += ["  - id: khan", "    title: Karim Khan", "    query: '\"Karim Khan\"'"]
    return "\n".join(lines) + "\n"


def _tracked(obj: object) -> bool:
    """Whether the cycle collector's generations hold ``obj`` (frozen objects are not in them)."""
    return any(o is obj for o in gc.get_objects())


def test_a_large_rule_set_is_frozen_out_of_collections_and_still_matches(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    body = rss(
        [
            Entry(
                "k1", "Karim Khan opens an inquiry", "He spoke in The Hague.", "https://news.test/k"
            )
        ]
    )
    config = write_config(
        tmp_path,
        [{"name": "Desk", "url": feed_server.set("/feed.xml", body)}],
        {},
        _rules(TUNE_FROM_RULES),
    )
    gc.unfreeze()
    app = build(load(config))
    try:
        rules = app.settings.rules
        assert len(rules) > TUNE_FROM_RULES
        assert gc.get_freeze_count() > 0
        # the compiled rules, their queries and the presearch index are out of the walks
        assert not _tracked(rules.rules[0].node)
        assert not _tracked(rules.index)
        # ... and matching is unchanged: the one rule the item names hits, and only it
        report = asyncio.run(Daemon(app).run_once())
        assert [p.new_items for p in report.polls] == [1]
        assert [h.rule for h in app.store.hits(None, None, 10)] == ["khan"]
    finally:
        app.close()


def test_a_small_rule_set_is_left_to_the_collector(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_config(
        tmp_path,
        [{"name": "Desk", "url": feed_server.set("/feed.xml", rss([]))}],
        {},
        _rules(10),
    )
    gc.unfreeze()
    app = build(load(config))
    try:
        assert gc.get_freeze_count() == 0
        assert _tracked(app.settings.rules.rules[0].node)
    finally:
        app.close()
