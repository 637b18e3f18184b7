"""Polling throughput against a local server: a first round, a 304 round, and the plain approach.

    python bench/poll.py [--feeds 5000] [--rules 1000] [--plain-sample 200] [--concurrency 50]

Prints numbers (with the issue's targets beside them); not a test. A separate process serves
``--feeds`` feeds of 50 items (~35 KB each, fixed seed) on 127.0.0.1 with ETags, answering 304
to a matching ``If-None-Match``. Then, in this process, on a fresh SQLite file:

- first round: every feed fetched (aiohttp, ``--concurrency`` per host, since all the feeds share
  one host), parsed, matched against ``--rules`` rules and stored, exactly as ``run --once`` does
  (``Pipeline.poll_round``);
- 304 round: every feed again, now answered 304: fetch plus the feed-state update;
- plain: ``feedparser.parse(url)`` in a loop, as rss2email and feed2exec do (no matching, no
  storage), on the first ``--plain-sample`` feeds, and the rate compared with the first round's;
- peak resident memory of this process (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from hashlib import sha1
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import feedparser
from aiohttp import web
from poll_rules import feed, rules

from watcher.fetcher import new_session
from watcher.models import FeedSpec
from watcher.pipeline import ParsePool, Pipeline, parse_pool
from watcher.store import Store


def serve(n_feeds: int, port_out: multiprocessing.Queue[int]) -> None:
    bodies = [feed(50, i) for i in range(n_feeds)]
    etags = [f'"{sha1(b).hexdigest()[:16]}"' for b in bodies]

    async def handle(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        if request.headers.get("If-None-Match") == etags[i]:
            return web.Response(status=304, headers={"ETag": etags[i]})
        return web.Response(
            body=bodies[i], content_type="application/rss+xml", headers={"ETag": etags[i]}
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/f{i}.xml", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port_out.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


async def round_(
    pipeline: Pipeline,
    specs: list[FeedSpec],
    ids: dict[str, int],
    concurrency: int,
    pool: ParsePool | None = None,
) -> tuple[int, int, int]:
    """One ``run --once`` round over every feed (``Pipeline.poll_round``): (new items, hits,
    304s)."""
    async with new_session(concurrency) as session:
        reports = await pipeline.poll_round(session, [(s, ids[s.url]) for s in specs], pool=pool)
    assert all(r.error is None for r in reports), [r.error for r in reports if r.error][:3]
    return (
        sum(r.new_items for r in reports),
        sum(r.hits for r in reports),
        sum(r.not_modified for r in reports),
    )


def cpu_of(pids: object) -> float:
    """CPU seconds these processes have used (read from /proc: the pool's processes are not
    our children but the fork server's)."""
    total = 0
    for pid in pids:  # type: ignore[attr-defined]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def pool_cpu(pool: ParsePool | None) -> float:
    """CPU seconds the pool's processes have used."""
    return cpu_of(pool.processes.pids) if pool is not None else 0.0


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=5000)
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--plain-sample", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument(
        "--workers", type=int, default=os.cpu_count(), help="parsing processes (0: none)"
    )
    args = ap.parse_args()

    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.feeds, ports), daemon=True)
    server.start()
    port = ports.get(timeout=120)
    urls = [f"http://127.0.0.1:{port}/f{i}.xml" for i in range(args.feeds)]
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, feedparser {feedparser.__version__}"
    )
    print(f"load average before the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{args.feeds} feeds x 50 items (~{len(feed(50, 0)) // 1024} KB), {args.rules} rules")

    t = time.perf_counter()
    ruleset = rules(args.rules)
    print(f"rules compiled in {time.perf_counter() - t:.2f} s (not counted below)")

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.migrate()
        specs = [FeedSpec(url=u, name=None, interval=300) for u in urls]
        ids = {u: s.id for u, s in store.sync_feeds(specs).items()}
        pipeline = Pipeline(store, lambda: ruleset)

        pool = parse_pool(ruleset, args.workers) if args.workers else None
        if pool is not None:  # started before the clock, as a daemon starts it once
            pool.processes.wait_ready()
        served = cpu_of([server.pid])
        cpu, t = time.process_time(), time.perf_counter()
        new, hits, _ = asyncio.run(round_(pipeline, specs, ids, args.concurrency, pool))
        first_s, first_cpu = time.perf_counter() - t, time.process_time() - cpu
        first_served, served = cpu_of([server.pid]) - served, cpu_of([server.pid])
        parse_cpu = pool_cpu(pool)
        if pool is not None:
            pool.shutdown()
        print(
            f"first round: {new:,} items in {first_s:.1f} s = {new / first_s:,.0f} items/s "
            f"({first_cpu:.1f} s CPU in watcher's process, {parse_cpu:.1f} s in "
            f"{args.workers} parsing processes: "
            f"{(first_cpu + parse_cpu) / max(new, 1) * 1e6:.0f} us per item; the server used "
            f"{first_served:.1f} s; {hits:,} hits)   target >= 15,000 items/s"
        )

        cpu, t = time.process_time(), time.perf_counter()
        _, _, n304 = asyncio.run(round_(pipeline, specs, ids, args.concurrency))
        second_s, second_cpu = time.perf_counter() - t, time.process_time() - cpu
        second_served = cpu_of([server.pid]) - served
        print(
            f"304 round: {n304:,} of {len(specs):,} feeds answered 304 in {second_s:.2f} s "
            f"({second_cpu:.2f} s CPU here, {second_served:.2f} s in the server), database "
            "updates included   target <= 2 s for 5,000"
        )
        store.close()
    print(f"peak resident memory: {peak_rss_mb():.0f} MB   target <= 300 MB")

    if args.plain_sample:
        plain(urls[: args.plain_sample], new / first_s)
    print(f"load average after the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    server.terminate()


def plain(sample: list[str], watcher_rate: float) -> None:
    """The plain approach on the same feeds, for the ratio."""
    t = time.perf_counter()
    items = sum(len(feedparser.parse(u).entries) for u in sample)
    plain_s = time.perf_counter() - t
    plain_rate = items / plain_s
    print(
        f"plain feedparser.parse(url) loop: {items:,} items from {len(sample)} feeds in "
        f"{plain_s:.1f} s = {plain_rate:,.0f} items/s (no matching, no storage); "
        f"watcher's first round is {watcher_rate / plain_rate:.1f}x that"
    )


if __name__ == "__main__":
    main()
