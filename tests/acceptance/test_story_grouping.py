"""Story grouping in ``watcher run`` as a real process: one alert for a story two outlets carry,
and a copy that comes after a restart still joins the story it belongs to."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import FeedServer, WebhookReceiver, rss, write_config
from tests.integration.test_story_grouping import DAILY, RULES, WIRE
from watcher.cli import cli


@pytest.fixture
def config(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver
) -> Callable[[str], Path]:
    def make(hold: str) -> Path:
        feed_server.set("/wire.xml", rss([WIRE], title="Wire"))
        feed_server.set("/daily.xml", rss([], title="Daily"))
        return write_config(
            tmp_path,
            feeds=[
                {"url": feed_server.url("/wire.xml"), "name": "Wire", "interval": "1s"},
                {"url": feed_server.url("/daily.xml"), "name": "Daily", "interval": "1s"},
            ],
            channels={"desk": f"json://127.0.0.1:{webhook.port}/desk"},
            rules=RULES,
            more={"stories": {"hold": hold}},
        )

    return make


@pytest.fixture
def daemon() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    with contextlib.ExitStack() as stack:
        procs: list[subprocess.Popen[str]] = []

        def start(path: Path) -> subprocess.Popen[str]:
            log = stack.enter_context((path.parent / f"daemon{len(procs)}.log").open("w"))
            proc = subprocess.Popen(
                [sys.executable, "-m", "watcher", "--config", str(path), "run"],
                stdout=log,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            procs.append(proc)
            return proc

        yield start
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def ledger(path: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["--config", str(path), "alerts", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def wait_until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_the_daemon_holds_a_story_and_sends_one_alert_listing_both_outlets(
    config: Callable[[str], Path],
    daemon: Callable[[Path], subprocess.Popen[str]],
    feed_server: FeedServer,
    webhook: WebhookReceiver,
) -> None:
    path = config("8s")
    proc = daemon(path)
    wait_until(lambda: len(ledger(path)) == 1)  # Wire's copy is queued, held for copies
    feed_server.set("/daily.xml", rss([DAILY], title="Daily"))
    (_, message), *_ = webhook.wait_for(1, timeout=30)
    assert message["title"] == WIRE.title
    assert "Also reported by" in message["message"] and DAILY.link in message["message"]
    time.sleep(2)
    assert len(webhook.received) == 1
    stop(proc)
    copy, first = ledger(path)
    assert (first["status"], copy["status"], copy["grouped_into"]) == (
        "sent",
        "grouped",
        first["id"],
    )


def test_a_copy_that_comes_after_a_restart_is_grouped_not_sent(
    config: Callable[[str], Path],
    daemon: Callable[[Path], subprocess.Popen[str]],
    feed_server: FeedServer,
    webhook: WebhookReceiver,
) -> None:
    path = config("0s")
    proc = daemon(path)
    webhook.wait_for(1, timeout=30)
    stop(proc)
    feed_server.set("/daily.xml", rss([DAILY], title="Daily"))
    proc = daemon(path)
    wait_until(lambda: len(ledger(path)) == 2)
    time.sleep(2)  # a delivery pass or two
    stop(proc)
    assert [p["title"] for _, p in webhook.received] == [WIRE.title]
    copy, first = ledger(path)
    assert (copy["status"], copy["grouped_into"], copy["sent_at"]) == ("grouped", first["id"], None)
