"""Polling one feed with 100 rules loaded, and with 100,000: the per-poll cost should not grow.

Prints a table; not a test. Usage: python bench/poll_rules.py [--polls N]

Each poll parses a 50-item feed from bytes, finds its new items, matches them against the rule
set and commits items, hits and queued alerts to a fresh SQLite file, exactly as the daemon does
(``Pipeline.process``). Rules are compiled before timing; the compile time is printed apart.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

from watcher.fetcher import FetchResult
from watcher.models import FeedSpec
from watcher.pipeline import Pipeline
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_rule
from watcher.store import Store

FIRST = "Ana Luis María Carlos Juan Karim Fatou Nicolás Delcy Diosdado Leopoldo Tarek".split()
LAST = "Maduro Guaidó Khan Bensouda Rodríguez López Cabello Saab Machado González Pérez".split()
WORDS = (
    "court prosecutor investigation government opposition election protest crimes humanity "
    "sanctions oil border migrants caracas venezuela tribunal fiscal gobierno elecciones "
    "protestas sanciones petróleo frontera migrantes corte investigación derechos humanos"
).split()


def feed(n_items: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    items = []
    for i in range(n_items):
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        title = f"{name} {' '.join(rnd.choices(WORDS, k=8))}"
        text = " ".join(rnd.choices([*WORDS, *LAST], k=90))
        items.append(
            f"<item><title>{escape(title)}</title><link>https://n.example/{seed}/{i}</link>"
            f"<guid>{seed}-{i}</guid><description>{escape(text)}</description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def rules(n: int) -> RuleSet:
    rnd = random.Random(7)
    specs = []
    for i in range(n):
        if i < 50:  # the same 50 rules that really hit, at every size
            query = f'"{rnd.choice(FIRST)} {rnd.choice(LAST)}" AND {rnd.choice(WORDS)}'
        else:  # watch lists: people who are not in this feed
            name = f'"{rnd.choice(FIRST)} {rnd.choice(LAST)}{i}"'
            query = f"{name} AND ({rnd.choice(WORDS)} OR {rnd.choice(WORDS)})"
        specs.append(RuleSpec(f"r{i}", f"rule {i}", query, ("desk",)))
    return RuleSet([compile_rule(s, {}) for s in specs])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--polls", type=int, default=40)
    args = ap.parse_args()
    print(f"{'rules':>8} {'compile s':>10} {'poll ms (median)':>17} {'hits/poll':>10}")
    for size in (100, 100_000):
        t0 = time.perf_counter()
        ruleset = rules(size)
        compile_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
            store.migrate()
            spec = FeedSpec(url="https://bench.example/feed.xml", name="Bench", interval=60)
            feed_id = store.sync_feeds([spec])[spec.url].id
            pipeline = Pipeline(store, lambda rs=ruleset: rs)  # type: ignore[misc]
            times, hits = [], 0
            for poll in range(args.polls):
                body = feed(50, poll)  # 50 new items every poll
                fetched = FetchResult(spec.url, status=200, body=body)
                t = time.perf_counter()
                report = pipeline.process(spec, feed_id, fetched)
                times.append(time.perf_counter() - t)
                hits += report.hits
            store.close()
        times.sort()
        median = times[len(times) // 2] * 1000
        print(f"{size:>8} {compile_s:>10.2f} {median:>17.1f} {hits / args.polls:>10.1f}")


if __name__ == "__main__":
    main()
