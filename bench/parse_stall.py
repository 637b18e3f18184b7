"""Does parsing a big feed stall polling? Prints the event loop's worst lag; not a test.

    python bench/parse_stall.py [--feeds 45]

The daemon parses each body in a worker thread (``run --once`` with many feeds uses a process
pool). A thread shares the interpreter lock, so the question is how long the event loop, which
runs every other fetch, waits while a ~2 MB feed is parsed: a ticker on the loop sleeps 5 ms at
a time and records how late it wakes, once with the lxml fast path and once with feedparser.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from poll_rules import feed

from watcher.parser import parse_feed


def big_feed(parts: int) -> bytes:
    """One RSS document holding the items of ``parts`` generated 50-item feeds."""
    items = b"".join(
        b"<item>" + feed(50, i).split(b"<item>", 1)[1].rsplit(b"</channel>", 1)[0]
        for i in range(parts)
    )
    return (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>'
        + items
        + (b"</channel></rss>")
    )


def parse(body: bytes) -> tuple[float, int, str]:
    started = time.perf_counter()
    parsed = parse_feed(body, "http://bench.example/big.xml")
    return time.perf_counter() - started, len(parsed.items), parsed.engine


async def measure(body: bytes) -> tuple[float, int, str, float]:
    lags: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    took, items, engine = await asyncio.to_thread(parse, body)
    done = True
    await task
    return took, items, engine, max(lags)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=45, help="50-item feeds joined into one")
    args = ap.parse_args()
    body = big_feed(args.feeds)
    refused = body.replace(b"<rss", b"<!DOCTYPE rss>\n<rss", 1)  # the fast path refuses a doctype
    print(f"one feed of {len(body) / 1e6:.1f} MB, parsed in a worker thread")
    for label, data in (("fast path", body), ("feedparser", refused)):
        took, items, engine, lag = asyncio.run(measure(data))
        print(
            f"{label:>10}: {items:,} items parsed in {took:.2f} s ({engine}); "
            f"the event loop's worst lag meanwhile: {lag * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
