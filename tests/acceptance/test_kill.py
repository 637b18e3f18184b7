"""kill -9, thirty times, while alerts flow to a slow receiver: nothing is lost, and the only
duplicates are sends that were in flight at a kill.

Daemons run as real processes against a real feed server, SQLite and a webhook receiver that
takes 50 ms per request and records when each request started and when its answer was written.
A daemon takes ~2 s to start, so to keep the test short three run at once, as an operator's
``run --once`` may run beside the daemon: each round starts a new daemon, waits until alerts are
flowing, and SIGKILLs the oldest at a random moment, noting the time. The feed grows between
rounds. After the last kill one daemon drains the queue. Then:

- every article that matches arrived at least once (at-least-once across crashes);
- no alert was recorded as sent twice: each daemon logs "sent to desk: TITLE" right after the
  commit, and no title appears twice in all the logs together (two live senders never both
  sent one alert);
- every extra copy of an article is one whose earlier send was cut short by a kill: the request
  had started before a kill that came while the alert was still leased to its sender (the
  sender died before it could record it); so at most one extra copy per kill. The receiver
  times each request; under load a sender can take seconds from the answer to its commit, so
  the window is the lease, not a fixed grace.

The claim lease is 6 s here (config ``delivery.lease``; 5 min by default) so that what a killed
daemon had claimed but not sent is due again soon. A lease must outlast one send and its commit,
however loaded the machine: claims are handed back at half the lease, and a sender stalled longer
than that between its check and its commit (seen with a 2 s lease while the whole test suite ran
on two shared cores) would let a live second sender send the alert too.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tests.conftest import VENEZUELA_RULES as RULES
from tests.conftest import Entry, FeedServer, WebhookReceiver, rss, write_config

KILLS = 30
ALIVE = 3  # daemons running at once
LEASE = 6.0  # seconds: config delivery.lease for this test


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}; daemon log:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_thirty_kill_9s_lose_no_alert_and_double_only_sends_in_flight(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> None:
    rng = random.Random(5)
    webhook.delay = 0.05
    entries = [Entry(f"v{i}", f"Venezuela story {i}") for i in range(20)]
    entries.append(Entry("noise", "Cricket scores"))
    feed_server.set("/f.xml", rss(entries))
    config = write_config(
        tmp_path,
        feeds=[{"url": feed_server.url("/f.xml"), "name": "F", "interval": "1s"}],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk"},
        rules=RULES,
        more={"delivery": {"lease": f"{LEASE:g}s"}},
    )
    logs = [tmp_path / f"daemon-{i}.log" for i in range(KILLS + 1)]
    kills: list[float] = []
    alive: list[subprocess.Popen[bytes]] = []
    try:
        for round_ in range(KILLS):
            alive.append(start(config, logs[round_]))
            if len(alive) < ALIVE and round_ < KILLS - 1:
                continue
            # Kill while alerts flow: a request has arrived since the last kill.
            seen = len(webhook.started)
            wait_until(lambda seen=seen: len(webhook.started) > seen, 30, "a send", logs[round_])
            time.sleep(rng.uniform(0, 0.1))
            victim = alive.pop(0)
            kills.append(time.time())
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            # News keeps coming.
            entries += [
                Entry(f"r{round_}-{j}", f"Venezuela round {round_} no. {j}") for j in (1, 2)
            ]
            feed_server.set("/f.xml", rss(entries))
        for proc in alive:
            kills.append(time.time())
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        alive.clear()

        expected = {e.title for e in entries if e.title.startswith("Venezuela")}
        last = start(config, logs[KILLS])
        alive.append(last)
        wait_until(
            lambda: expected <= {p["title"] for _, p in webhook.received},
            60,
            "the last daemon to deliver the rest",
            logs[KILLS],
        )
        time.sleep(1.5)  # anything more would be a duplicate; give it the chance to show
        last.send_signal(signal.SIGTERM)
        assert last.wait(15) == 0
    finally:
        for proc in alive:
            stop(proc)

    assert len(kills) >= KILLS
    received = [d for d in webhook.log if d.status == 200]
    titles = Counter(d.payload["title"] for d in received)
    assert set(titles) == expected  # every alert, and nothing that did not match

    # Which alerts each daemon recorded as sent (it logs right after the commit).
    committed = Counter(
        line.split("sent to desk: ", 1)[1]
        for log in logs
        for line in log.read_text().splitlines()
        if "sent to desk: " in line
    )
    assert max(committed.values()) == 1, [t for t, n in committed.items() if n > 1]

    def cut_short_by_a_kill(started: float, ended: float) -> bool:
        """The send had started when a daemon was killed, and that kill came while the alert
        was still leased to its sender: the sender died before it could record it."""
        return any(started <= k <= ended + LEASE for k in kills)

    extra = 0
    for title, count in titles.items():
        copies = sorted(
            (d for d in received if d.payload["title"] == title), key=lambda d: d.started
        )
        for d in copies[:-1]:
            assert cut_short_by_a_kill(d.started, d.ended), (
                f"{title!r} was sent again although its send at {d.started:.3f}-{d.ended:.3f} "
                f"was not cut short by any kill (kills after it started, seconds later: "
                f"{[round(k - d.started, 3) for k in kills if k >= d.started][:3]})"
            )
        extra += count - 1
    assert extra <= len(kills)  # one channel: at most one send in flight per killed daemon
    print(
        f"\n{len(kills)} kills, {len(expected)} alerts, {len(received)} received, "
        f"{extra} duplicates (each in flight at a kill)"
    )
