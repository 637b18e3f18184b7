"""The alert ledger against real receivers: a receiver down then up, a receiver that refuses for
good, re-queueing, one channel down beside another, and what ``watcher alerts`` shows of it all.

Time is injected (``deliver_due(..., now)``), so hours of backoff pass without sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import VENEZUELA_RULES as RULES
from tests.conftest import (
    Entry,
    FeedServer,
    SmtpReceiver,
    WebhookReceiver,
    free_port,
    rss,
    write_config,
)
from watcher.app import App, build, load
from watcher.cli import cli
from watcher.fetcher import new_session
from watcher.models import DeliveryPolicy
from watcher.notify import deliver_due
from watcher.pipeline import Pipeline, utcnow

SLACK_TOKENS = ("T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ")


@pytest.fixture(autouse=True)
def _fast(no_throttle: None) -> None:
    pass


def run_cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def ledger(config: Path, *args: str) -> list[dict[str, object]]:
    code, out, err = run_cli(config, "alerts", "--format", "json", *args)
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def poll_only(app: App) -> None:
    """Poll every feed and queue its alerts; send nothing (the test drives delivery)."""
    settings = app.settings
    states = app.store.sync_feeds(settings.feeds)

    async def go() -> None:
        async with new_session() as session:
            for spec in settings.feeds:
                await Pipeline(app.store, lambda: settings.rules).poll(
                    session, spec, states[spec.url].id
                )

    asyncio.run(go())


@pytest.fixture
def make_app(tmp_path: Path, feed_server: FeedServer) -> Iterator[Callable[..., App]]:
    apps: list[App] = []

    def make(channels: dict[str, str], titles: list[str], rules: str = RULES) -> App:
        url = feed_server.set("/f.xml", rss([Entry(f"e{i}", t) for i, t in enumerate(titles)]))
        config = write_config(tmp_path, [{"url": url, "name": "F"}], channels, rules)
        app = build(load(config))
        apps.append(app)
        poll_only(app)
        return app

    yield make
    for app in apps:
        app.close()


def test_a_receiver_down_then_up_gets_the_alert_once(make_app: Callable[..., App]) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    app = make_app({"desk": f"json://127.0.0.1:{port}/desk"}, ["Venezuela story"])
    config = app.settings.config_path
    t0 = utcnow()
    first = deliver_due(app.store, app.channels, t0)
    assert (first.sent, first.failed, first.gave_up) == (0, 1, 0)
    (row,) = ledger(config)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "Connection error" in str(row["last_error"])

    receiver = WebhookReceiver(port)
    try:
        receiver.status = 503  # up, but overloaded: still a failure, never "sent"
        assert deliver_due(app.store, app.channels, t0 + timedelta(minutes=2)).failed == 1
        (row,) = ledger(config)
        assert row["status"] == "pending" and row["attempts"] == 2
        assert "error=503" in str(row["last_error"])
        assert receiver.received == []

        receiver.status = 200
        # Not due yet (backoff): nothing is sent early.
        assert deliver_due(app.store, app.channels, t0 + timedelta(minutes=2, seconds=5)).sent == 0
        assert deliver_due(app.store, app.channels, t0 + timedelta(hours=1)).sent == 1
        assert deliver_due(app.store, app.channels, t0 + timedelta(hours=3)).sent == 0
        assert [p["title"] for _, p in receiver.received] == ["Venezuela story"]
    finally:
        receiver.close()
    (row,) = ledger(config)
    assert row["status"] == "sent" and row["attempts"] == 3 and row["last_error"] is None
    assert row["sent_at"] and row["last_attempt"] == row["sent_at"]


def test_a_transient_failure_gives_up_only_after_max_attempts(
    make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    webhook.status = 500
    app = make_app({"desk": f"json://127.0.0.1:{webhook.port}/desk"}, ["Venezuela story"])
    policy = DeliveryPolicy(max_attempts=4, permanent_attempts=2)
    now = utcnow()
    for attempt in range(1, 5):
        report = deliver_due(app.store, app.channels, now, policy)
        assert report.failed == 1 and report.gave_up == (1 if attempt == 4 else 0)
        now += timedelta(hours=2)
    assert deliver_due(app.store, app.channels, now, policy).failed == 0  # given up: not tried
    (row,) = ledger(app.settings.config_path)
    assert row["status"] == "failed" and row["attempts"] == 4
    assert len(webhook.log) == 4


def test_a_permanent_failure_moves_to_failed_is_shown_and_retry_sends_it_once(
    make_app: Callable[..., App],
    slack_to: Callable[[], str],
    webhook: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    webhook.status = 404  # the Slack webhook was deleted: tools that count this as sent lose it
    app = make_app({"desk": slack_to()}, ["Venezuela story"])
    config = app.settings.config_path
    now = utcnow()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            deliver_due(app.store, app.channels, now, app.settings.delivery)
            now += timedelta(minutes=10)
    assert webhook.received == [] and len(webhook.log) == 3  # default: 3 tries for a 404

    (row,) = ledger(config, "--status", "failed")
    assert row["attempts"] == 3 and row["channel"] == "desk" and row["rules"] == ["venezuela"]
    assert row["title"] == "Venezuela story" and row["feed"] == "F"
    error = str(row["last_error"])
    assert "does not know this address (404): check the webhook" in error
    assert ledger(config, "--status", "pending") == []
    code, table, _ = run_cli(config, "alerts")
    assert code == 0 and "failed" in table and "(404)" in table

    gave_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(gave_up) == 1
    message = gave_up[0].getMessage()
    assert "failed for good after 3 attempts" in message
    assert f"watcher alerts retry {row['id']}" in message
    everything = caplog.text + table + json.dumps(ledger(config))
    assert not any(token in everything for token in SLACK_TOKENS)  # secrets stay secret

    # The webhook is fixed; the operator re-queues it and it arrives, once.
    webhook.status = 200
    code, out, _ = run_cli(config, "alerts", "retry", str(row["id"]))
    assert code == 0 and out.strip() == f"re-queued alert {row['id']}"
    (row,) = ledger(config)
    assert row["status"] == "pending" and row["attempts"] == 0
    assert deliver_due(app.store, app.channels, utcnow(), app.settings.delivery).sent == 1
    assert deliver_due(app.store, app.channels, utcnow() + timedelta(hours=2)).sent == 0
    assert [p["attachments"][0]["title"] for _, p in webhook.received] == ["Venezuela story"]
    (row,) = ledger(config, "--status", "sent")
    assert row["attempts"] == 1

    code, _, err = run_cli(config, "alerts", "retry", str(row["id"]))
    assert code == 1 and "already sent; nothing to retry" in err
    code, _, err = run_cli(config, "alerts", "retry", "999")
    assert code == 1 and "no alert has id 999" in err
    code, _, err = run_cli(config, "alerts", "retry")
    assert code == 2 and "--all-failed" in err


def test_retry_all_failed_requeues_every_failed_alert(
    make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    webhook.status = 401
    app = make_app(
        {"desk": f"json://127.0.0.1:{webhook.port}/desk"},
        ["Venezuela one", "Venezuela two", "Venezuela three"],
    )
    config = app.settings.config_path
    policy = DeliveryPolicy(permanent_attempts=1)
    report = deliver_due(app.store, app.channels, utcnow(), policy)
    # A refusal is this message's answer, not a dead receiver: every alert was tried.
    assert (report.failed, report.gave_up) == (3, 3)
    rows = ledger(config, "--status", "failed")
    assert len(rows) == 3
    assert all("refused the credentials (401)" in str(r["last_error"]) for r in rows)
    assert [r["title"] for r in rows] == ["Venezuela three", "Venezuela two", "Venezuela one"]
    assert len(ledger(config, "--limit", "2")) == 2
    assert len(ledger(config, "--limit", "0")) == 3

    webhook.status = 200
    code, out, _ = run_cli(config, "alerts", "retry", "--all-failed")
    assert code == 0 and out.startswith("re-queued 3 failed alerts")
    assert deliver_due(app.store, app.channels, utcnow(), policy).sent == 3
    assert sorted(p["title"] for _, p in webhook.received) == sorted(
        ["Venezuela one", "Venezuela two", "Venezuela three"]
    )
    code, out, _ = run_cli(config, "alerts", "retry", "--all-failed")
    assert code == 0 and out.strip() == "re-queued 0 failed alerts"


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(code, True) for code in (400, 401, 403, 404, 410)]
    + [(code, False) for code in (429, 500, 502, 503)],
)
def test_which_answers_are_final(
    make_app: Callable[..., App], webhook: WebhookReceiver, status: int, permanent: bool
) -> None:
    webhook.status = status
    app = make_app({"desk": f"json://127.0.0.1:{webhook.port}/desk"}, ["Venezuela story"])
    policy = DeliveryPolicy(max_attempts=5, permanent_attempts=1)
    report = deliver_due(app.store, app.channels, utcnow(), policy)
    assert report.failed == 1 and report.gave_up == (1 if permanent else 0)
    (row,) = ledger(app.settings.config_path)
    assert f"error={status}" in str(row["last_error"])


def test_a_refused_mail_address_is_final_and_says_which_setting_to_fix(
    make_app: Callable[..., App],
) -> None:
    from aiosmtpd.controller import Controller

    class RefuseNobody:
        async def handle_RCPT(
            self, server: object, session: object, envelope: object, address: str, _: object
        ) -> str:
            if address.startswith("nobody@"):
                return "550 5.1.1 no such user"
            envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    server = Controller(RefuseNobody(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        url = f"mailto://127.0.0.1:{port}?from=w@example.org&to=nobody@example.org"
        app = make_app({"desk": url}, ["Venezuela story"])
        policy = DeliveryPolicy(permanent_attempts=1)
        assert deliver_due(app.store, app.channels, utcnow(), policy).gave_up == 1
    finally:
        server.stop()
    (row,) = ledger(app.settings.config_path)
    assert row["status"] == "failed"
    assert "refused the recipient address: check the to= address" in str(row["last_error"])


def test_a_channel_that_hangs_does_not_hold_up_another(
    make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    stuck = WebhookReceiver()
    stuck.gate = threading.Event()  # answers nothing until the test lets it
    try:
        rules = RULES.replace("notify: [desk]", "notify: [desk, stuck]")
        titles = [f"Venezuela story {i}" for i in range(5)]
        app = make_app(
            {
                "desk": f"json://127.0.0.1:{webhook.port}/desk",
                "stuck": f"json://127.0.0.1:{stuck.port}/stuck",
            },
            titles,
            rules,
        )
        sender = threading.Thread(target=deliver_due, args=(app.store, app.channels, utcnow()))
        sender.start()
        # Every desk alert arrives while the stuck receiver still holds its first request.
        assert sorted(p["title"] for _, p in webhook.wait_for(5)) == sorted(titles)
        assert stuck.log == []
        stuck.gate.set()
        sender.join(60)
    finally:
        stuck.gate.set()
        stuck.close()
    # Released, the stuck receiver gets its alerts too, each once.
    assert sorted(p["title"] for _, p in stuck.received) == sorted(titles)
    rows = ledger(app.settings.config_path, "--limit", "0")
    assert [r["status"] for r in rows] == ["sent"] * 10


def test_notify_test_reports_what_the_receiver_said(
    tmp_path: Path, webhook: WebhookReceiver, smtp: SmtpReceiver
) -> None:
    config = write_config(
        tmp_path,
        feeds=[],
        channels={"hook": f"json://127.0.0.1:{webhook.port}/hook", "mail": smtp.url()},
        rules=RULES.replace("[desk]", "[hook]"),
    )
    code, out, _ = run_cli(config, "notify-test", "hook")
    assert code == 0 and out.strip() == "hook (JSON): sent; the receiver accepted the test alert"
    assert webhook.received[0][1]["title"] == "watcher test alert: this channel works"
    code, out, _ = run_cli(config, "notify-test", "mail")
    assert code == 0 and smtp.wait_for(1)[0]["Subject"] == "watcher test alert: this channel works"

    webhook.status = 404
    code, _, err = run_cli(config, "notify-test", "hook")
    assert code == 4
    assert err.startswith("hook (JSON): FAILED (will not work until fixed): the receiver does")
    assert "check the webhook or URL" in err
    webhook.status = 503
    code, _, err = run_cli(config, "notify-test", "hook")
    assert code == 4 and "FAILED (may be temporary)" in err and "error=503" in err

    code, _, err = run_cli(config, "notify-test", "slack")
    assert code == 2 and 'no channel "slack" (channels: hook, mail)' in err
    assert not (tmp_path / "watcher.db").exists()  # a test send stores nothing


def test_an_alert_given_up_is_told_once_to_the_operator_channel(
    tmp_path: Path,
    feed_server: FeedServer,
    webhook: WebhookReceiver,
    smtp: SmtpReceiver,
    slack_to: Callable[[], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Slack channel whose webhook is gone (404) gives its alerts up at once; the operator's
    mail server (a real SMTP receiver) gets one message for the alerts given up together,
    naming the channel, each article and the command that sends it again, and never the Slack
    token: a deleted webhook with 500 alerts queued tells the operator once, not 500 times."""
    url = feed_server.set(
        "/f.xml", rss([Entry("e1", "Venezuela one"), Entry("e2", "Venezuela two")])
    )
    config = write_config(
        tmp_path,
        [{"url": url, "name": "F"}],
        {"desk": slack_to(), "ops": smtp.url("ops@example.org")},
        RULES,
        operator_channel="ops",
        delivery={"permanent_attempts": 1},
    )
    webhook.status = 404
    with caplog.at_level(logging.INFO):
        code, _, err = run_cli(config, "run", "--once")
    assert code == 0, err
    failed = ledger(config, "--status", "failed")
    assert sorted(str(r["title"]) for r in failed) == ["Venezuela one", "Venezuela two"]
    assert [d.status for d in webhook.log] == [404, 404]  # each tried once, then given up

    (mail,) = smtp.wait_for(1)
    assert len(smtp.wait_for(2, timeout=1.0)) == 1  # one message for both
    assert mail["subject"] == "watcher: 2 alerts failed for good"
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for row in failed:
        assert f'Alert {row["id"]} to channel "desk" was given up' in body
        assert f"watcher alerts retry {row['id']}" in body and str(row["title"]) in body
    assert "404" in body
    by_title = {str(mail["subject"]): body}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("failed for good" in e for e in errors)
    for secret in SLACK_TOKENS:
        assert secret not in caplog.text
        assert all(secret not in body for body in by_title.values())

    # Told once: another pass (nothing due) sends the operator nothing more.
    code, _, err = run_cli(config, "run", "--once")
    assert code == 0, err
    assert len(smtp.wait_for(2, timeout=1.0)) == 1
    app = build(load(config))
    try:
        kinds = [(a.kind, a.status) for a in app.store.operator_alerts()]
    finally:
        app.close()
    assert kinds == [("alert-failed", "sent")] * 2


DIGEST_RULES = """
rules:
  - id: venezuela
    title: Venezuela
    query: 'Venezuela*'
    notify: [desk]
    digest: daily@08:00
"""


def test_retry_leaves_an_alert_held_for_a_digest_where_it_is(
    make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    app = make_app(
        {"desk": f"json://127.0.0.1:{webhook.port}/desk"},
        ["Venezuela one", "Venezuela two"],
        rules=DIGEST_RULES,
    )
    config = app.settings.config_path
    before = ledger(config)
    member = before[0]
    assert member["status"] == "pending" and "digest" in str(member["held"])

    code, out, err = run_cli(config, "alerts", "retry", str(member["id"]))
    assert code == 1 and out == "", err
    assert f"alert {member['id']} is pending (next attempt at " in err
    assert f"held: {member['held']}" in err
    assert "nothing was changed" in err
    assert "`watcher alerts retry` only re-queues failed alerts" in err
    assert ledger(config) == before  # not due now, attempts and hold as they were
    # The digest member does not go out alone now: nothing is sent until the digest.
    assert deliver_due(app.store, app.channels, utcnow()).sent == 0
    assert webhook.received == []


def test_retry_does_not_reset_the_attempts_of_an_alert_waiting_to_retry(
    make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    webhook.status = 500
    app = make_app({"desk": f"json://127.0.0.1:{webhook.port}/desk"}, ["Venezuela story"])
    config = app.settings.config_path
    policy = DeliveryPolicy(max_attempts=2)
    now = utcnow()
    assert deliver_due(app.store, app.channels, now, policy).failed == 1
    (row,) = ledger(config)
    assert row["status"] == "pending" and row["attempts"] == 1

    code, _, err = run_cli(config, "alerts", "retry", str(row["id"]))
    assert code == 1
    assert f"alert {row['id']} is pending" in err and "attempt 1 failed" in err
    assert "error=500" in err and "nothing was changed" in err
    assert ledger(config) == [row]
    # max_attempts still counts from the first attempt: the second failure gives up.
    report = deliver_due(app.store, app.channels, now + timedelta(hours=2), policy)
    assert (report.failed, report.gave_up) == (1, 1)
    assert len(webhook.log) == 2


def test_retry_of_an_alert_being_sent_does_not_let_another_sender_send_it_too(
    make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    app = make_app({"desk": f"json://127.0.0.1:{webhook.port}/desk"}, ["Venezuela story"])
    config = app.settings.config_path
    now = utcnow()
    lease = timedelta(seconds=app.settings.delivery.lease)
    (claimed,) = app.store.claim_due_alerts(now, lease)  # a sender is sending it right now

    code, _, err = run_cli(config, "alerts", "retry", str(claimed.id))
    assert code == 1 and f"alert {claimed.id} is pending" in err
    # A second sender (`run --once` beside the daemon) finds nothing to claim.
    assert app.store.claim_due_alerts(now, lease) == []
    (row,) = ledger(config)
    assert row["status"] == "pending" and row["attempts"] == 0
