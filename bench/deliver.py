"""Delivery throughput, and the time from a poll to its alert at the receiver.

Prints tables; not a test. Usage: python bench/deliver.py [--alerts 10000] [--polls 40]

1. Throughput: N alerts are queued in a fresh SQLite store (spread over 1, 4 or 16 channels,
   each a ``json://`` webhook on a local receiver running in a process of its own, as a real
   receiver does), then drained by ``deliver_due`` as ``run --once`` does: one thread per
   channel, claims of 20, one commit per send.
2. Latency: a deliverer thread runs as the daemon's delivery loop does (woken after each poll
   that queued alerts), while polls of 50 new items each (5 matching one rule routed to 4
   channels) are committed every 250 ms through ``Pipeline.process``; for every alert, its
   arrival at the receiver minus the end of the poll that found its item (the poll itself:
   fetch, parse, match, commit, is not counted).

apprise's throttling is left as watcher configures it (the json:// plugin has none; Slack
keeps 1.2 s between sends and email is capped at 1 s, so on those channels pacing, not watcher,
sets the rate).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from watcher.fetcher import FetchResult
from watcher.models import FeedSpec, Item, RuleHit
from watcher.notify import Channels, deliver_due
from watcher.pipeline import Pipeline
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_rule
from watcher.store import PollRecord, Store


def _serve(port_out: Any) -> None:
    """The receiver's process: notes when each alert (by channel path and title) arrived."""
    arrived: dict[str, float] = {}  # "path title" -> time
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/_reset":
                with lock:
                    arrived.clear()
                self._answer(b"ok")
                return
            key = f"{self.path} {json.loads(body)['title']}"
            with lock:
                arrived.setdefault(key, time.time())
            self._answer(b"ok")

        def do_GET(self) -> None:
            with lock:
                self._answer(json.dumps(arrived).encode())

        def _answer(self, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    port_out.put(httpd.server_address[1])
    httpd.serve_forever()


class Receiver:
    """A webhook receiver on 127.0.0.1 in a process of its own, as a real receiver is: its
    work does not share the sender's interpreter lock."""

    def __init__(self) -> None:
        ports: Any = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
        self.process.start()
        self.port: int = ports.get(timeout=30)

    @property
    def arrived(self) -> dict[tuple[str, str], float]:
        """(channel path, title) -> when it arrived."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_arrivals") as answer:
            raw: dict[str, float] = json.loads(answer.read())
        return {tuple(k.split(" ", 1)): v for k, v in raw.items()}  # type: ignore[misc]

    def reset(self) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_reset", b"{}", method="POST"
        )
        urllib.request.urlopen(request).close()

    def channels(self, n: int) -> Channels:
        return Channels({f"c{j}": f"json://127.0.0.1:{self.port}/c{j}" for j in range(n)})

    def close(self) -> None:
        self.process.terminate()
        self.process.join()


def fresh_store(tmp: str) -> tuple[Store, int]:
    store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
    store.migrate()
    spec = FeedSpec(url="https://bench.example/feed.xml", name="Bench", interval=60)
    return store, store.sync_feeds([spec])[spec.url].id


def throughput(receiver: Receiver, alerts: int, n_channels: int) -> tuple[float, float]:
    """Seconds to queue and to deliver ``alerts`` alerts over ``n_channels`` channels."""
    with tempfile.TemporaryDirectory() as tmp:
        store, feed_id = fresh_store(tmp)
        now = datetime.now(UTC)
        rec = PollRecord(feed_id=feed_id, polled_at=now, next_poll=now)
        for i in range(alerts):
            item = Item(
                key=f"k{i}",
                article_key=f"https://bench.example/{i}",
                title=f"story {n_channels}-{i}",
                link=f"https://bench.example/{i}",
                summary="Karim Khan visited Caracas.",
                content="",
                published=now,
            )
            rec.items.append((item, [RuleHit("r", "Rule", ("Khan",), (f"c{i % n_channels}",))]))
        t0 = time.perf_counter()
        store.record_poll(rec)
        queued = time.perf_counter() - t0
        channels = receiver.channels(n_channels)
        t0 = time.perf_counter()
        sent = 0
        while sent < alerts:
            sent += deliver_due(store, channels, datetime.now(UTC)).sent
        took = time.perf_counter() - t0
        store.close()
    return queued, took


MATCHING = 5  # of each poll's 50 new items


def feed(poll: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>{escape(f'{topic(i)} poll {poll} item {i}')}</title>"
        f"<link>https://bench.example/{poll}/{i}</link><guid>{poll}-{i}</guid>"
        f"<description>Caracas news</description></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>'
        f"{entries}</channel></rss>"
    ).encode()


def topic(i: int) -> str:
    return "Venezuela" if i < MATCHING else "Weather"


def latency(receiver: Receiver, polls: int, n_channels: int) -> list[float]:
    """Seconds from the end of a poll to each of its alerts reaching the receiver."""
    receiver.reset()
    names = tuple(f"c{j}" for j in range(n_channels))
    rules = RuleSet([compile_rule(RuleSpec("v", "Venezuela", "Venezuela", names), {})])
    with tempfile.TemporaryDirectory() as tmp:
        store, feed_id = fresh_store(tmp)
        channels = receiver.channels(n_channels)
        spec = FeedSpec(url="https://bench.example/feed.xml", name="Bench", interval=60)
        pipeline = Pipeline(store, lambda: rules)
        kick, done = threading.Event(), threading.Event()

        def deliverer() -> None:  # the daemon's delivery loop, woken by polls
            while not done.is_set():
                kick.wait(0.5)
                kick.clear()
                deliver_due(store, channels, datetime.now(UTC))

        thread = threading.Thread(target=deliverer)
        thread.start()
        polled: dict[tuple[str, str], float] = {}
        for poll in range(polls):
            pipeline.process(spec, feed_id, FetchResult(spec.url, status=200, body=feed(poll, 50)))
            end = time.time()
            for i in range(MATCHING):
                for name in names:
                    polled[(f"/{name}", f"Venezuela poll {poll} item {i}")] = end
            kick.set()
            time.sleep(0.25)
        deadline = time.time() + 60
        while len(receiver.arrived) < len(polled) and time.time() < deadline:
            time.sleep(0.2)
        done.set()
        kick.set()
        thread.join()
        store.close()
    arrived = receiver.arrived
    return sorted(arrived[k] - polled[k] for k in polled if k in arrived)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=10_000)
    ap.add_argument("--polls", type=int, default=40)
    args = ap.parse_args()
    receiver = Receiver()
    try:
        print(f"throughput: {args.alerts:,} queued alerts to a local webhook receiver")
        print(f"{'channels':>9} {'queue s':>8} {'deliver s':>10} {'alerts/s':>9}")
        for n in (1, 4, 16):
            queued, took = throughput(receiver, args.alerts, n)
            print(f"{n:>9} {queued:>8.2f} {took:>10.2f} {args.alerts / took:>9.0f}")
        n = 4
        lat = latency(receiver, args.polls, n)
        total = args.polls * MATCHING * n
        print(
            f"\nlatency: a poll of 50 new items ({MATCHING} matching, each alerted on {n} "
            f"channels) every 250 ms, {args.polls} polls ({len(lat):,} of {total:,} alerts)"
        )
        if lat:
            p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
            print(f"poll end -> receiver: p50 {p50:.3f} s, p99 {p99:.3f} s, max {lat[-1]:.3f} s")
    finally:
        receiver.close()


if __name__ == "__main__":
    main()
