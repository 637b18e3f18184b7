"""Feed health as an operator meets it: one alert when a feed has failed too long or gone silent,
one when it recovers, queued durably and sent on the operator channel; `watcher feeds` says
what each feed is doing and why; `operator_channel` is checked like every other key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Entry, FeedServer, WebhookReceiver, rss, write_config
from tests.integration.test_polling import RULES, Rig, feed, make_rig
from watcher.cli import cli
from watcher.health import assess
from watcher.notify import deliver_due
from watcher.notify.channels import Channels


@pytest.fixture
def rigs() -> list[Rig]:
    return []


@pytest.fixture(autouse=True)
def _close(rigs: list[Rig], no_throttle: None) -> object:
    yield
    for r in rigs:
        r.store.close()


def kinds(r: Rig) -> list[str]:
    return [a.kind for a in r.store.operator_alerts()]


def test_a_feed_failing_longer_than_alert_after_alerts_once_and_again_when_it_recovers(
    tmp_path: Path, feed_server: FeedServer, webhook: WebhookReceiver, rigs: list[Rig]
) -> None:
    url = feed_server.set("/f.xml", b"oops", status=500)
    channels = {"desk": "console://", "ops": f"json://127.0.0.1:{webhook.port}/ops"}
    r = make_rig(
        tmp_path,
        [feed(url, "10m")],
        channels=channels,
        defaults={"alert_after": "1h"},
        operator_channel="ops",
    )
    rigs.append(r)
    for minutes in (0, 20, 40):  # failing, but not for an hour yet
        r.clock.now = r.clock.now.replace(minute=minutes)
        r.poll(url)
    assert kinds(r) == []
    for _ in range(3):  # past the hour: one alert, not one per poll
        r.clock.advance(hours=1)
        r.poll(url)
    assert kinds(r) == ["feed-failing"]
    (failing,) = r.store.operator_alerts()
    assert "HTTP 500" in failing.body and url in failing.body and "f.xml" in failing.subject

    feed_server.set("/f.xml", rss([Entry("a", "back")]))
    r.clock.advance(hours=1)
    r.poll(url)
    r.clock.advance(hours=1)
    r.poll(url)
    assert kinds(r) == ["feed-failing", "feed-recovered"]

    # The operator channel is down: nothing is lost, the alerts wait and go out when it is back.
    ops = Channels(r.settings.channels)
    webhook.status = 500
    report = deliver_due(r.store, ops, r.clock.now, operator_channel="ops")
    assert report.failed == 2 and len(r.store.operator_alerts("pending")) == 2
    webhook.status = 200
    r.clock.advance(hours=2)
    report = deliver_due(r.store, ops, r.clock.now, operator_channel="ops")
    assert report.sent == 2 and r.store.operator_alerts("pending") == []
    titles = [p["title"] for _, p in webhook.wait_for(2)]
    assert titles == ["watcher: feed failing: f.xml", "watcher: feed recovered: f.xml"]


def test_without_an_operator_channel_operator_alerts_are_logged_not_kept_pending(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig], caplog: pytest.LogCaptureFixture
) -> None:
    url = feed_server.set("/f.xml", b"", status=410)
    r = make_rig(tmp_path, [feed(url)])
    rigs.append(r)
    r.poll(url)
    deliver_due(r.store, Channels(r.settings.channels), r.clock.now)
    (alert,) = r.store.operator_alerts()
    assert alert.status == "logged"
    assert "watcher: feed gone: f.xml" in caplog.text


def test_a_feed_silent_much_longer_than_usual_is_stale_and_alerts_once(
    tmp_path: Path, feed_server: FeedServer, rigs: list[Rig]
) -> None:
    url = feed_server.set("/f.xml", rss([Entry("e0", "x")]))
    r = make_rig(tmp_path, [feed(url, "1h")])
    rigs.append(r)
    entries = [Entry("e0", "x")]
    for i in range(1, 5):  # a new item every hour
        r.poll(url)
        entries.append(Entry(f"e{i}", "x"))
        feed_server.set("/f.xml", rss(entries))
        r.clock.advance(hours=1)
    r.poll(url)  # the last new item; then nothing new
    for _ in range(30):
        r.clock.advance(hours=1)
        r.poll(url)
    status, reason = assess(r.state(url), True, r.clock.now)
    assert status == "stale"
    assert "no new item for 30h" in reason and "usually has one every 1h" in reason
    assert kinds(r) == ["feed-stale"]
    entries.append(Entry("e9", "x"))
    feed_server.set("/f.xml", rss(entries))
    r.clock.advance(hours=1)
    r.poll(url)
    assert kinds(r) == ["feed-stale", "feed-recovered"]
    assert assess(r.state(url), True, r.clock.now)[0] == "ok"


def test_watcher_feeds_shows_each_status_with_its_reason(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = write_config(
        tmp_path,
        feeds=[
            {"url": feed_server.set("/ok.xml", rss([Entry("a", "x")])), "name": "Fine"},
            {"url": feed_server.set("/500.xml", b"", status=500), "name": "Down"},
            {"url": feed_server.set("/410.xml", b"", status=410), "name": "Removed"},
            {"url": feed_server.set("/off.xml", b""), "name": "Off", "enabled": False},
        ],
        channels={"desk": "console://"},
        rules=RULES,
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "run", "--once"]).exit_code == 0
    result = runner.invoke(cli, ["--config", str(config), "feeds", "--format", "json"])
    assert result.exit_code == 0, result.output
    views = {v["name"]: v for v in json.loads(result.stdout)}
    assert views["Fine"]["status"] == "ok" and views["Fine"]["last_success"]
    assert views["Down"]["status"] == "failing" and views["Down"]["error_count"] == 1
    assert views["Down"]["reason"].startswith("HTTP 500 Internal Server Error; failing for")
    assert views["Down"]["next_poll"]
    assert views["Removed"]["status"] == "gone" and views["Removed"]["next_poll"] is None
    assert "--reenable" in views["Removed"]["reason"]
    assert views["Off"]["status"] == "disabled" and "enabled: false" in views["Off"]["reason"]
    assert [p for p in feed_server.paths() if p == "/off.xml"] == []  # never polled

    table = runner.invoke(cli, ["--config", str(config), "feeds"]).stdout
    assert table.splitlines()[0].split() == [
        "NAME",
        "STATUS",
        "LAST",
        "SUCCESS",
        "NEXT",
        "POLL",
        "ERRORS",
        "ITEMS",
        "REASON",
    ]
    assert any(line.startswith("Removed") and " gone " in line for line in table.splitlines())

    again = runner.invoke(cli, ["--config", str(config), "feeds", "--reenable", "Removed"])
    assert again.exit_code == 0 and "re-enabled" in again.stderr
    views = {
        v["name"]: v
        for v in json.loads(
            runner.invoke(cli, ["--config", str(config), "feeds", "--format", "json"]).stdout
        )
    }
    assert views["Removed"]["status"] == "new"
    wrong = runner.invoke(cli, ["--config", str(config), "feeds", "--reenable", "Fine"])
    assert wrong.exit_code == 1 and "no gone feed" in wrong.stderr


def test_operator_channel_must_name_a_configured_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, feeds=[], channels={}, rules=RULES)  # the rules file
    (tmp_path / "watcher.yaml").write_text(
        "database: sqlite:///w.db\n"
        "channels:\n"
        "  desk: console://\n"
        "rules: rules/\n"
        "operator_channel: opz\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", "watcher.yaml", "check"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'watcher.yaml:5: operator_channel: no channel named "opz" (channels: desk); '
        "name one of the channels above"
    ]
