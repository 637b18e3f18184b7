"""``watcher run`` as a real process: polls on its schedule, reloads rules, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import VENEZUELA_RULES as RULES
from tests.conftest import Entry, FeedServer, WebhookReceiver, rss, write_config


@pytest.fixture
def daemon_config(tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver) -> Path:
    feed_server.set("/f.xml", rss([Entry("v1", "Venezuela first story")]))
    return write_config(
        tmp_path,
        feeds=[{"url": feed_server.url("/f.xml"), "name": "F", "interval": "1s"}],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk"},
        rules=RULES,
    )


@pytest.fixture
def start_daemon(daemon_config: Path) -> Iterator[subprocess.Popen[str]]:
    log = daemon_config.parent / "daemon.log"
    out = daemon_config.parent / "daemon.out"
    with log.open("w") as err, out.open("w") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(daemon_config), "run"],
            stdout=stdout,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def wait_log(path: Path, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in log:\n{path.read_text()}")


def test_daemon_polls_on_schedule_and_stops_cleanly_on_sigterm(
    start_daemon: subprocess.Popen[str],
    daemon_config: Path,
    feed_server: FeedServer,
    webhook: WebhookReceiver,
) -> None:
    posts = webhook.wait_for(1)
    assert [p["title"] for _, p in posts] == ["Venezuela first story"]

    feed_server.set(
        "/f.xml", rss([Entry("v1", "Venezuela first story"), Entry("v2", "Venezuela second story")])
    )
    posts = webhook.wait_for(2)
    assert [p["title"] for _, p in posts] == ["Venezuela first story", "Venezuela second story"]
    polls = len(feed_server.requests)
    time.sleep(2.5)
    assert len(feed_server.requests) > polls  # it keeps polling at the 1s interval
    assert len(webhook.received) == 2  # and alerts nothing twice

    start_daemon.send_signal(signal.SIGTERM)
    assert start_daemon.wait(timeout=15) == 0
    assert "stopped" in (daemon_config.parent / "daemon.log").read_text()


def test_a_broken_rules_edit_is_reported_and_the_last_good_rules_keep_working(
    start_daemon: subprocess.Popen[str],
    daemon_config: Path,
    feed_server: FeedServer,
    webhook: WebhookReceiver,
) -> None:
    log = daemon_config.parent / "daemon.log"
    webhook.wait_for(1)
    rules = daemon_config.parent / "rules" / "main.yaml"
    rules.write_text(RULES.replace("'Venezuela*'", "'(Venezuela*'"))
    content = wait_log(log, "config not reloaded")
    assert 'rules/main.yaml:5: rule "venezuela": query: unclosed "("' in content

    # Still matching with the last good rules.
    feed_server.set("/f.xml", rss([Entry("v2", "Venezuela again")]))
    assert [p["title"] for _, p in webhook.wait_for(2)][1] == "Venezuela again"

    # A fixed edit takes effect without a restart.
    rules.write_text(RULES.replace("'Venezuela*'", "'Caracas'"))
    wait_log(log, "config reloaded")
    feed_server.set("/f.xml", rss([Entry("v3", "Venezuela news"), Entry("c1", "Caracas news")]))
    webhook.wait_for(3)
    time.sleep(1.5)
    assert [p["title"] for _, p in webhook.received] == [
        "Venezuela first story",
        "Venezuela again",
        "Caracas news",
    ]
    start_daemon.send_signal(signal.SIGINT)
    assert start_daemon.wait(timeout=15) == 0


def test_run_refuses_to_start_on_an_invalid_config(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        feeds=[],
        channels={"desk": "console://"},
        rules="rules:\n  - id: x\n    query: 'a OR'\n    notify: [desk]\n",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        'rules/main.yaml:3: rule "x": query: the query ends where a term was expected (at column 5)'
    )
    assert not (tmp_path / "watcher.db").exists()


def test_daemon_waits_as_long_as_retry_after_asks_then_polls_again(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    busy = feed_server.set("/busy.xml", b"busy", status=503, headers={"Retry-After": "6"})
    fine = feed_server.set("/fine.xml", rss([Entry("v1", "Venezuela")]))
    config = write_config(
        tmp_path,
        feeds=[
            {"url": busy, "name": "Busy", "interval": "1s"},
            {"url": fine, "name": "Fine", "interval": "1s"},
        ],
        channels={"desk": "console://"},
        rules=RULES,
    )

    def count(path: str) -> int:
        return feed_server.paths().count(path)

    with (tmp_path / "daemon.log").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while count("/fine.xml") < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            # The fine feed, on the same 1 s interval, has been polled 5 times (> 4 s): the busy
            # one asked for 6 s and was left alone.
            assert count("/fine.xml") >= 5
            assert count("/busy.xml") == 1
            while count("/busy.xml") < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert count("/busy.xml") == 2  # and then polled again: never given up on
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def test_a_hung_channel_does_not_hold_up_another_in_the_daemon(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> None:
    import json
    import threading

    stuck = WebhookReceiver()
    stuck.gate = threading.Event()  # takes every request and answers none
    titles = [f"Venezuela story {i}" for i in range(3)]
    feed_server.set("/f.xml", rss([Entry(f"v{i}", t) for i, t in enumerate(titles)]))
    config = write_config(
        tmp_path,
        feeds=[{"url": feed_server.url("/f.xml"), "name": "F", "interval": "1s"}],
        channels={
            "desk": f"json://127.0.0.1:{webhook.port}/desk",
            "stuck": f"json://127.0.0.1:{stuck.port}/stuck",
        },
        rules=RULES.replace("notify: [desk]", "notify: [stuck, desk]"),
    )
    with (tmp_path / "daemon.log").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        # Every desk alert arrives while the stuck receiver still holds its first request.
        assert sorted(p["title"] for _, p in webhook.wait_for(3)) == titles
        assert stuck.log == []  # it has answered nothing yet
        deadline = time.monotonic() + 10
        while not stuck.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(stuck.started) == 1  # tried, and hanging; its other alerts wait behind it
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stuck.gate.set()
        stuck.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = subprocess.run(
        [sys.executable, "-m", "watcher", "--config", str(config), "alerts", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = json.loads(out)
    assert sorted(r["status"] for r in rows if r["channel"] == "desk") == ["sent"] * 3
    assert sorted(r["status"] for r in rows if r["channel"] == "stuck") == ["pending"] * 3


def test_the_daemon_tells_the_operator_channel_of_an_alert_given_up(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> None:
    ops = WebhookReceiver()
    webhook.status = 404  # the desk's webhook is gone: its alert is given up at once
    feed_server.set("/f.xml", rss([Entry("v1", "Venezuela story")]))
    config = write_config(
        tmp_path,
        feeds=[{"url": feed_server.url("/f.xml"), "name": "F", "interval": "1s"}],
        channels={
            "desk": f"json://127.0.0.1:{webhook.port}/desk",
            "ops": f"json://127.0.0.1:{ops.port}/ops",
        },
        rules=RULES,
        operator_channel="ops",
        delivery={"permanent_attempts": 1},
    )
    with (tmp_path / "daemon.log").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        ((path, payload),) = ops.wait_for(1)
        assert path == "/ops"
        assert payload["title"] == 'watcher: alert to "desk" failed: Venezuela story'
        assert "watcher alerts retry" in payload["message"]
        time.sleep(1.5)  # polls go on; the alert stays failed, and is told once
        assert len(ops.received) == 1 and [d.status for d in webhook.log] == [404]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        ops.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "failed for good" in (tmp_path / "daemon.log").read_text()
