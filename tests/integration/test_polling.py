"""Polling etiquette against a real HTTP server on 127.0.0.1: conditional GET, unchanged bodies,
the next poll's time, Retry-After, backoff, a network outage, redirects, 410, per-host limits,
compression. Time is a clock the test moves, never a sleep."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import brotli  # type: ignore[import-untyped]
import pytest

from tests.conftest import VENEZUELA_RULES as RULES
from tests.conftest import Entry, FeedServer, free_port, rss, write_config
from watcher.app import build, load
from watcher.fetcher import fetch, new_session
from watcher.health import HealthPolicy
from watcher.pipeline import Pipeline, PollReport
from watcher.scheduler import Daemon
from watcher.settings import Settings
from watcher.store import Store

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Rig:
    """One config's store and pipeline, polled by hand at the test's clock."""

    settings: Settings
    store: Store
    pipeline: Pipeline
    clock: Clock
    ids: dict[str, int]

    def poll(self, url: str) -> PollReport:
        spec = next(s for s in self.settings.feeds if s.url == url)

        async def go() -> PollReport:
            async with new_session(self.settings.host_concurrency, self.settings.timeout) as s:
                return await self.pipeline.poll(s, spec, self.ids[url])

        return asyncio.run(go())

    def delay(self, report: PollReport) -> float:
        assert report.next_poll is not None
        return (report.next_poll - self.clock.now).total_seconds()

    def state(self, url: str):  # type: ignore[no-untyped-def]
        return self.store.feed_state(self.ids[url])


def make_rig(tmp_path: Path, feeds: list[dict[str, object]], **keys: object) -> Rig:
    channels = keys.pop("channels", None) or {"desk": "console://"}
    config = write_config(tmp_path, feeds=feeds, channels=channels, rules=RULES, **keys)
    settings = load(config)
    app = build(settings)
    clock = Clock()
    pipeline = Pipeline(
        app.store,
        lambda: settings.rules,
        clock=clock,
        policy=lambda: HealthPolicy(alert_after=settings.alert_after),
    )
    ids = {url: st.id for url, st in app.store.sync_feeds(settings.feeds).items()}
    return Rig(settings, app.store, pipeline, clock, ids)


@pytest.fixture
def rigs() -> Iterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for r in made:
        r.store.close()


def feed(url: str, interval: str = "5m") -> dict[str, object]:
    return {"url": url, "name": url.rsplit("/", 1)[-1], "interval": interval}


# -- conditional GET and unchanged bodies --------------------------------------------------------


def test_validators_are_stored_exactly_and_a_304_costs_no_parse(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig]
) -> None:
    etag = 'W/"v1;gzip"'
    url = feed_server.set(
        "/f.xml",
        rss([Entry("a", "Venezuela")]),
        headers={"ETag": etag, "Last-Modified": "Thu, 04 Nov 2021 10:00:00 GMT"},
    )
    r = make_rig(tmp_path, [feed(url)])
    rigs.append(r)
    first = r.poll(url)
    assert first.new_items == 1 and not first.not_modified
    r.clock.advance(minutes=6)
    second = r.poll(url)
    assert second.not_modified and second.error is None
    (_, h1), (_, h2) = feed_server.requests
    assert "If-None-Match" not in h1
    assert h2["If-None-Match"] == etag
    assert h2["If-Modified-Since"] == "Thu, 04 Nov 2021 10:00:00 GMT"
    state = r.state(url)
    assert state.status == "ok" and state.last_success == r.clock.now


def test_a_byte_identical_body_is_not_parsed_again_and_a_changed_one_is(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig]
) -> None:
    url = feed_server.set("/f.xml", rss([Entry("a", "Venezuela one")]))  # no validators
    r = make_rig(tmp_path, [feed(url)])
    rigs.append(r)
    assert r.poll(url).new_items == 1
    r.clock.advance(minutes=6)
    assert r.poll(url).not_modified
    feed_server.set("/f.xml", rss([Entry("a", "Venezuela one"), Entry("b", "Venezuela two")]))
    r.clock.advance(minutes=6)
    report = r.poll(url)
    assert not report.not_modified and report.new_items == 1 and report.alerts == 1


def test_once_a_day_the_feed_is_fetched_without_validators(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig]
) -> None:
    url = feed_server.set("/f.xml", rss([Entry("a", "Venezuela")]), headers={"ETag": '"v1"'})
    r = make_rig(tmp_path, [feed(url, "1h")])
    rigs.append(r)
    r.poll(url)
    for _ in range(23):
        r.clock.advance(hours=1)
        assert r.poll(url).not_modified
    r.clock.advance(hours=1, minutes=1)
    r.poll(url)
    conditional = ["If-None-Match" in h for _, h in feed_server.requests]
    assert conditional == [False] + [True] * 23 + [False]


# -- when the next poll is -----------------------------------------------------------------------


def _rss_with_ttl(minutes: int) -> bytes:
    return rss([Entry("a", "Venezuela")]).replace(
        b"<description>test</description>", f"<ttl>{minutes}</ttl>".encode()
    )


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (None, {}, 300),  # the interval
        (_rss_with_ttl(60), {}, 3600),
        (None, {"Cache-Control": "public, max-age=7200"}, 7200),
        (None, {"Cache-Control": "max-age=9999999"}, 86400),  # capped at a day
        (None, {"Cache-Control": "no-cache", "Expires": "soon"}, 300),
        ("expires", {}, 3 * 3600),
    ],
    ids=["interval", "ttl", "max-age", "max-age-capped", "no-cache", "expires"],
)
def test_the_next_poll_is_the_interval_stretched_by_ttl_and_caching_headers(
    tmp_path: Path,
    feed_server: FeedServer,
    rigs: list[Rig],
    body: bytes | str | None,
    headers: dict[str, str],
    expected: float,
) -> None:
    if body == "expires":
        now = datetime.now(UTC).replace(microsecond=0)
        headers = {"Expires": format_datetime(now + timedelta(hours=3), usegmt=True)}
        # The server's Date is read against Expires: our clock being elsewhere does not matter.
        headers["Date"] = format_datetime(now, usegmt=True)
    content = body if isinstance(body, bytes) else rss([Entry("a", "Venezuela")])
    url = feed_server.set("/f.xml", content, headers=headers)
    r = make_rig(tmp_path, [feed(url)])
    rigs.append(r)
    delay = r.delay(r.poll(url))
    # never earlier than asked; jitter adds up to 10% (at most 5 minutes)
    assert expected <= delay <= expected + min(300, expected * 0.1) + 2  # Date's 1 s grain


def test_feeds_of_one_host_do_not_poll_in_lockstep(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig]
) -> None:
    urls = [feed_server.set(f"/f{i}.xml", rss([Entry("a", "x")])) for i in range(5)]
    r = make_rig(tmp_path, [feed(u) for u in urls])
    rigs.append(r)
    next_polls = {r.poll(u).next_poll for u in urls}
    assert len(next_polls) == 5


# -- errors: Retry-After, backoff, recovery, network down ----------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_or_as_a_date_is_honoured(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig], status: int
) -> None:
    url = feed_server.set("/f.xml", b"slow down", status=status, headers={"Retry-After": "7200"})
    r = make_rig(tmp_path, [feed(url)])
    rigs.append(r)
    report = r.poll(url)
    assert report.error is not None and str(status) in report.error
    assert 7200 <= r.delay(report) <= 7200 + 300
    at = format_datetime(START + timedelta(hours=3), usegmt=True)
    feed_server.set("/f.xml", b"slow down", status=status, headers={"Retry-After": at})
    report = r.poll(url)
    assert 3 * 3600 <= r.delay(report) <= 3 * 3600 + 300


def test_errors_back_off_exponentially_to_six_hours_then_a_recovered_feed_polls_normally(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig]
) -> None:
    url = feed_server.set("/f.xml", b"oops", status=500)
    r = make_rig(tmp_path, [feed(url, "10m")])
    rigs.append(r)
    delays = []
    for _ in range(8):
        report = r.poll(url)
        delays.append(r.delay(report))
        assert report.next_poll is not None
        r.clock.now = report.next_poll
    base = [600, 1200, 2400, 4800, 9600, 19200, 21600, 21600]  # doubling, capped at 6 h
    assert all(b <= d <= b + min(300, b * 0.1) for b, d in zip(base, delays, strict=True))
    assert r.state(url).error_count == 8 and r.state(url).status == "failing"
    feed_server.set("/f.xml", rss([Entry("a", "Venezuela")]))
    report = r.poll(url)
    assert report.error is None and 600 <= r.delay(report) <= 660
    state = r.state(url)
    assert state.status == "ok" and state.error_count == 0 and state.error_since is None


def test_a_network_outage_is_not_counted_against_each_feed(tmp_path: Path) -> None:
    # Two feed hosts, neither reachable (127.0.0.2 and .3 refuse: nothing listens there).
    dead = [f"http://127.0.0.{n}:{free_port()}/feed.xml" for n in (2, 3)]
    config = write_config(
        tmp_path,
        feeds=[{"url": u, "name": f"host{i}"} for i, u in enumerate(dead)],
        channels={"desk": "console://"},
        rules=RULES,
    )
    app = build(load(config))
    try:
        report = asyncio.run(Daemon(app).run_once())
        assert all(p.error and "network looks down" in p.error for p in report.polls)
        views = app.store.feed_views()
        assert [v.error_count for v in views] == [0, 0]
        assert all(v.status == "failing" for v in views)  # shown, but no backoff, no alert
    finally:
        app.close()


def test_one_dead_host_among_live_ones_is_counted(tmp_path: Path, feed_server: FeedServer) -> None:
    dead = f"http://127.0.0.2:{free_port()}/feed.xml"
    live = feed_server.set("/f.xml", rss([Entry("a", "x")]))
    config = write_config(
        tmp_path,
        feeds=[{"url": dead, "name": "Dead"}, {"url": live, "name": "Live"}],
        channels={"desk": "console://"},
        rules=RULES,
    )
    app = build(load(config))
    try:
        asyncio.run(Daemon(app).run_once())
        views = {v.name: v for v in app.store.feed_views()}
        assert views["Dead"].error_count == 1 and views["Dead"].status == "failing"
        assert "cannot connect to 127.0.0.2" in (views["Dead"].last_error or "")
        assert "network" not in (views["Dead"].last_error or "")
    finally:
        app.close()


# -- redirects and 410 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "moves"), [(301, True), (308, True), (302, False), (307, False)])
def test_permanent_redirects_move_the_feed_after_three_polls_and_temporary_ones_never(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig], code: int, moves: bool
) -> None:
    new = feed_server.set("/new.xml", rss([Entry("a", "Venezuela")]))
    old = feed_server.set("/old.xml", b"", status=code, headers={"Location": new})
    r = make_rig(tmp_path, [feed(old)])
    rigs.append(r)
    for _ in range(4):
        assert r.poll(old).error is None
        r.clock.advance(minutes=6)
    first_hops = [p for p in feed_server.paths() if p == "/old.xml"]
    if moves:
        assert len(first_hops) == 3  # the 4th poll went straight to the new URL
        assert r.state(old).fetch_url == new
        assert r.state(old).url == old  # the config's URL stays the feed's identity
    else:
        assert len(first_hops) == 4 and r.state(old).fetch_url is None


def test_an_inconsistent_permanent_redirect_is_not_followed(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig]
) -> None:
    a = feed_server.set("/a.xml", rss([Entry("a", "x")]))
    b = feed_server.set("/b.xml", rss([Entry("a", "x")]))
    old = feed_server.set("/old.xml", b"", status=301, headers={"Location": a})
    r = make_rig(tmp_path, [feed(old)])
    rigs.append(r)
    for target in (a, a, b, a, a):
        feed_server.set("/old.xml", b"", status=301, headers={"Location": target})
        r.poll(old)
    assert r.state(old).fetch_url is None and r.state(old).redirect_count == 2


def test_410_marks_the_feed_gone_stops_polling_it_and_tells_the_operator(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig]
) -> None:
    url = feed_server.set("/f.xml", b"gone", status=410)
    r = make_rig(tmp_path, [feed(url)])
    rigs.append(r)
    report = r.poll(url)
    assert report.next_poll is None and "410 Gone" in (report.error or "")
    assert r.state(url).status == "gone"
    (alert,) = r.store.operator_alerts()
    assert alert.kind == "feed-gone" and url in alert.body
    r.clock.advance(days=2)
    assert r.poll(url).skipped and len(feed_server.requests) == 1
    assert r.ids[url] not in r.store.due_feed_ids(r.clock.now)
    assert r.store.reenable_feed(url)
    feed_server.set("/f.xml", rss([Entry("a", "Venezuela")]))
    assert r.poll(url).new_items == 1 and r.state(url).status == "ok"


# -- per-host limit and compression --------------------------------------------------------------


@pytest.mark.parametrize("limit", [None, 3])
def test_requests_in_flight_per_host_are_capped(
    tmp_path: Path, feed_server: FeedServer, limit: int | None
) -> None:
    urls = [feed_server.set(f"/f{i}.xml", rss([Entry("a", "x")]), delay=0.3) for i in range(6)]
    config = write_config(
        tmp_path,
        feeds=[feed(u) for u in urls],
        channels={"desk": "console://"},
        rules=RULES,
        **({"defaults": {"host_concurrency": limit}} if limit else {}),
    )
    app = build(load(config))
    try:
        report = asyncio.run(Daemon(app).run_once())
    finally:
        app.close()
    assert all(p.error is None for p in report.polls)
    assert feed_server.most_in_flight == (limit or 2)


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_compressed_responses_are_offered_and_decoded(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig], encoding: str
) -> None:
    import zlib

    body = rss([Entry("a", "Venezuela compressed")])
    packed = {"gzip": gzip.compress, "br": brotli.compress, "deflate": zlib.compress}[encoding]
    url = feed_server.set("/f.xml", packed(body), headers={"Content-Encoding": encoding})
    r = make_rig(tmp_path, [feed(url)])
    rigs.append(r)
    report = r.poll(url)
    assert report.error is None and report.new_items == 1
    offered = feed_server.requests[0][1]["Accept-Encoding"]
    assert {"gzip", "deflate", "br"} <= {e.strip() for e in offered.split(",")}


def test_cookies_a_feed_sets_are_never_sent_back(feed_server: FeedServer) -> None:
    """A feed reader keeps no cookies: within the daemon's one HTTP session a publisher cannot
    follow the poller from request to request, nor one feed's cookie reach another."""
    url = feed_server.set(
        "/f.xml",
        rss([Entry("a", "Venezuela")]),
        headers={"Set-Cookie": "visitor=abc123; Path=/"},
    )
    other = feed_server.set("/g.xml", rss([Entry("b", "Caracas")]))
    # by name: a cookie jar ignores cookies set by a bare IP address
    url, other = (u.replace("127.0.0.1", "localhost") for u in (url, other))

    async def go() -> None:
        async with new_session() as session:  # one session, as the daemon keeps
            for target in (url, url, other):
                assert (await fetch(session, target)).error is None

    asyncio.run(go())
    assert len(feed_server.requests) == 3
    assert all("Cookie" not in headers for _, headers in feed_server.requests)
