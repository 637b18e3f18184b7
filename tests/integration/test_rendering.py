"""Rendered alerts as real receivers get them (SMTP, Slack, a json:// webhook), template
overrides from the config, and a receiver's ``Retry-After`` holding its channel back.

Time is injected into delivery (``deliver_due(..., now)``), so waits pass without sleeping.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tests.conftest import VENEZUELA_RULES as RULES
from tests.conftest import FeedServer, SmtpReceiver, WebhookReceiver, write_config
from tests.integration.test_alert_ledger import ledger, poll_only, run_cli
from tests.unit.test_render import HOSTILE
from watcher.app import App, build, load
from watcher.notify import Channels, deliver_due
from watcher.notify.deliver import deliver_operator_alerts
from watcher.notify.render import render, sample_alert
from watcher.pipeline import utcnow
from watcher.scheduler import Daemon
from watcher.store import Store

ZW = "\u200b"


@pytest.fixture(autouse=True)
def _fast(no_throttle: None) -> None:
    pass


@pytest.fixture
def make_app(tmp_path: Path, feed_server: FeedServer) -> Iterator[Callable[..., App]]:
    from tests.conftest import Entry, rss

    apps: list[App] = []

    def make(channels: dict[str, str], titles: list[str], **keys: object) -> App:
        url = feed_server.set("/f.xml", rss([Entry(f"e{i}", t) for i, t in enumerate(titles)]))
        config = write_config(tmp_path, [{"url": url, "name": "F"}], channels, RULES, **keys)
        app = build(load(config))
        apps.append(app)
        poll_only(app)
        return app

    yield make
    for app in apps:
        app.close()


def _next_attempts(app: App) -> list[datetime]:
    """Each pending alert's next attempt, as ``watcher alerts`` shows it (to the second)."""
    return [
        datetime.fromisoformat(str(r["next_attempt"]))
        for r in ledger(app.settings.config_path, "--status", "pending")
    ]


def test_retry_after_seconds_holds_the_alert_and_the_channels_others(
    make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    """A webhook answering 429 with Retry-After: 600 is not tried again for 10 minutes (the
    backoff alone would retry in about 30 s), nor are the alerts queued behind; then all go."""
    app = make_app(
        {"desk": f"json://127.0.0.1:{webhook.port}/desk"}, ["Venezuela one", "Venezuela two"]
    )
    webhook.status, webhook.headers = 429, {"Retry-After": "600"}
    t0 = utcnow()
    report = deliver_due(app.store, app.channels, t0)
    assert (report.sent, report.failed) == (0, 1)
    assert len(webhook.log) == 1  # the second alert was not thrown at a receiver asking to wait
    asked = (t0 + timedelta(seconds=600)).replace(microsecond=0)  # the ledger shows seconds
    assert all(at >= asked for at in _next_attempts(app))
    (first,) = [r for r in ledger(app.settings.config_path) if r["attempts"] == 1]
    assert "asked to wait 600s (Retry-After)" in str(first["last_error"])

    webhook.status, webhook.headers = 200, {}
    for later in (timedelta(seconds=40), timedelta(minutes=5), timedelta(seconds=590)):
        assert deliver_due(app.store, app.channels, t0 + later).sent == 0
    assert len(webhook.log) == 1
    assert deliver_due(app.store, app.channels, t0 + timedelta(seconds=610)).sent == 2
    assert sorted(p["title"] for _, p in webhook.received) == ["Venezuela one", "Venezuela two"]
    assert [r["status"] for r in ledger(app.settings.config_path)] == ["sent", "sent"]


def test_retry_after_as_an_http_date_from_slack(
    make_app: Callable[..., App], webhook: WebhookReceiver, slack_to: Callable[[], str]
) -> None:
    app = make_app({"desk": slack_to()}, ["Venezuela story"])
    t0 = utcnow()
    until = (t0 + timedelta(minutes=15)).replace(microsecond=0)
    webhook.status = 429
    webhook.headers = {"Retry-After": email.utils.format_datetime(until, usegmt=True)}
    assert deliver_due(app.store, app.channels, t0).failed == 1
    (at,) = _next_attempts(app)
    assert at >= until - timedelta(seconds=1)  # the date is read against the clock, to the second
    webhook.status, webhook.headers = 200, {}
    assert deliver_due(app.store, app.channels, t0 + timedelta(minutes=14)).sent == 0
    assert deliver_due(app.store, app.channels, until + timedelta(seconds=2)).sent == 1
    assert len(webhook.received) == 1


def test_a_429_without_retry_after_keeps_the_usual_backoff(
    make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    app = make_app({"desk": f"json://127.0.0.1:{webhook.port}/desk"}, ["Venezuela story"])
    webhook.status = 429
    t0 = utcnow()
    assert deliver_due(app.store, app.channels, t0).failed == 1
    (at,) = _next_attempts(app)
    assert t0 + timedelta(seconds=20) < at < t0 + timedelta(seconds=40)  # 30 s ± 20%


# -- what the receivers get ------------------------------------------------------------------


def test_email_has_an_html_part_and_a_text_part_both_safe(smtp: SmtpReceiver) -> None:
    channels = Channels({"mail": smtp.url()})
    rendered = render(HOSTILE, channels.styles["mail"])
    assert channels.send("mail", rendered.title, rendered.body, rendered.format).ok
    (mail,) = smtp.wait_for(1)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == " ".join(HOSTILE.title.split())
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    plain = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "<img" not in html and "<b>Desk" not in html
    assert "&lt;script&gt;" in html and "<mark>ICC</mark>" in html
    assert 'href="https://wire.example/s?a=1&amp;b=2"' in html
    assert "javascript:" not in html
    # The text part (apprise's, from the HTML) keeps every link and the other outlets.
    assert "https://news.example/a?id=1&x=%3C2%3E%7C3" in plain
    assert "Also reported by:" in plain and "Wire & Co" in plain
    assert "https://wire.example/s?a=1&b=2" in plain
    assert "<!here> Mirror: Copy <b>bold</b>" in plain  # as text, which is what it is


def test_slack_gets_our_mrkdwn_as_it_is(
    webhook: WebhookReceiver, slack_to: Callable[[], str]
) -> None:
    channels = Channels({"news": slack_to()})
    rendered = render(HOSTILE, channels.styles["news"])
    assert channels.send("news", rendered.title, rendered.body, rendered.format).ok
    ((_path, payload),) = webhook.wait_for(1)
    (attachment,) = payload["attachments"]
    assert payload["mrkdwn"] is True
    assert attachment["text"] == rendered.body  # apprise did not re-read it as CommonMark
    assert attachment["title"].startswith("&lt;!channel&gt; *ICC*")
    assert f"@{ZW}here" in attachment["title"]
    assert "• Wire &amp; Co: <https://wire.example/s?a=1&amp;b=2|" in attachment["text"]


def test_a_webhook_gets_plain_text_with_mentions_defanged(webhook: WebhookReceiver) -> None:
    channels = Channels({"hook": f"json://127.0.0.1:{webhook.port}/hook"})
    rendered = render(HOSTILE, channels.styles["hook"])
    assert channels.send("hook", rendered.title, rendered.body, rendered.format).ok
    ((_path, payload),) = webhook.wait_for(1)
    assert payload["message"] == rendered.body
    assert payload["title"].startswith(f"<{ZW}!channel>")
    assert "@here" not in payload["message"] and "<!here>" not in payload["message"]
    assert "- Wire & Co: [x](http://evil.example) (2021-11-04 11:30 UTC)" in payload["message"]


# -- templates from the config ----------------------------------------------------------------


TEMPLATES = {"text": {"alert": "mine/alert.j2", "batch": "mine/batch.j2"}}


def test_an_override_is_used_by_notify_test_and_by_delivery(
    tmp_path: Path, make_app: Callable[..., App], webhook: WebhookReceiver
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "alert.j2").write_text(
        "ALERT {{ title }} <{{ link }}> [{{ terms|join('|') }}] also={{ also|length }}\n"
    )
    (tmp_path / "mine" / "batch.j2").write_text("{{ count }} in {{ kind }}")
    app = make_app(
        {"desk": f"json://127.0.0.1:{webhook.port}/desk"}, ["Venezuela @here"], templates=TEMPLATES
    )
    code, _out, err = run_cli(app.settings.config_path, "notify-test", "desk")
    assert code == 0, err
    assert webhook.received[0][1]["message"] == (
        "ALERT watcher test alert: this channel works <https://example.org/watcher-test> "
        "[test] also=1"
    )
    assert deliver_due(app.store, app.channels, utcnow()).sent == 1
    assert webhook.received[1][1]["message"] == (
        f"ALERT Venezuela @{ZW}here <https://news.example/e0> [Venezuela] also=0"
    )


@pytest.mark.parametrize(
    ("template", "where", "message"),
    [
        (None, "watcher.yaml:{line}", "templates.text.alert: template file not found: "),
        ("{{ title }}\n{% for x in also %}\n{{ x.feed }\n", "mine/alert.j2:3", "template syntax"),
        ("{{ title }}\n\n{{ snipet }}\n", "mine/alert.j2:3", 'did you mean "snippet"?'),
        ("{{ title }}\n{{ rules[7].title }}\n", "mine/alert.j2:2", "fails on a sample alert"),
    ],
)
def test_check_reports_a_bad_template_at_its_file_and_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    template: str | None,
    where: str,
    message: str,
) -> None:
    (tmp_path / "mine").mkdir()
    if template is not None:
        (tmp_path / "mine" / "alert.j2").write_text(template)
    config = write_config(tmp_path, [], {"desk": "console://"}, RULES, templates=TEMPLATES)
    line = next(
        i for i, text in enumerate(config.read_text().splitlines(), 1) if "alert.j2" in text
    )
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_cli(config, "check")
    assert code == 1
    assert f"{where.format(line=line)}: templates.text.alert: " in err
    assert message in err
    if template is None:
        assert "batch.j2" in err  # every problem at once, the missing batch template too


def test_an_unknown_kind_in_templates_is_a_config_error(tmp_path: Path) -> None:
    templates = {"discord": {"alert": "x.j2"}}
    config = write_config(tmp_path, [], {"desk": "console://"}, RULES, templates=templates)
    code, _out, err = run_cli(config, "check")
    assert code == 1 and 'unknown key "discord"' in err and "slack, email, text" in err


def test_notify_test_says_how_long_the_receiver_asked_to_wait(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    hook = {"hook": f"json://127.0.0.1:{webhook.port}/hook"}
    config = write_config(tmp_path, [], hook, RULES.replace("desk", "hook"))
    webhook.status, webhook.headers = 429, {"Retry-After": "30"}
    code, _out, err = run_cli(config, "notify-test", "hook")
    assert code == 4
    assert "FAILED (may be temporary)" in err and "asked to wait 30s (Retry-After)" in err


def test_a_template_broken_while_running_keeps_the_last_good_one(
    tmp_path: Path, webhook: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """The daemon watches template files like rules files: a broken edit is reported at its
    line and the daemon keeps rendering with the last good template; a fixed one is taken."""
    (tmp_path / "mine").mkdir()
    template = tmp_path / "mine" / "alert.j2"
    template.write_text("GOOD {{ title }}")
    hook = {"hook": f"json://127.0.0.1:{webhook.port}/hook"}
    templates = {"text": {"alert": "mine/alert.j2"}}
    config = write_config(tmp_path, [], hook, RULES.replace("desk", "hook"), templates=templates)
    app = build(load(config))
    try:
        daemon = Daemon(app)
        daemon._scheduler = AsyncIOScheduler()  # not started: reload only (re)schedules feeds

        def body() -> str:
            return render(sample_alert("hook"), daemon.channels.styles["hook"]).body

        template.write_text("BROKEN {{ title }\n")
        with caplog.at_level(logging.ERROR):
            asyncio.run(daemon._check_reload())
        assert "alert.j2:1: templates.text.alert: template syntax" in caplog.text
        assert "config not reloaded" in caplog.text
        assert body() == "GOOD watcher test alert: this channel works"

        template.write_text("BETTER {{ title }}")
        asyncio.run(daemon._check_reload())
        assert body() == "BETTER watcher test alert: this channel works"
    finally:
        app.close()


def test_each_service_gets_its_kind_and_slack_keeps_its_url_forms() -> None:
    channels = Channels(
        {
            "hooks": "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
            "bot": "slack://xoxb-1234-1234-abc124/#general",
            "mail": "mailtos://u:p@smtp.example.org?to=a@example.org",
            "discord": "discord://1234/abcd",
            "console": "console://",
        }
    )
    kinds = {name: style.kind for name, style in channels.styles.items()}
    assert kinds == {
        "hooks": "slack",
        "bot": "slack",
        "mail": "email",
        "discord": "text",
        "console": "text",
    }


def test_an_operator_alert_waits_for_retry_after_too(
    tmp_path: Path, webhook: WebhookReceiver
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'ops.db'}")
    store.migrate()
    try:
        t0 = utcnow()
        store.queue_operator_alert("feed-failing", "Feed <!channel> failing", "body @here", t0)
        channels = Channels({"ops": f"json://127.0.0.1:{webhook.port}/ops"})
        webhook.status, webhook.headers = 429, {"Retry-After": "900"}
        assert deliver_operator_alerts(store, channels, t0, "ops").failed == 1
        webhook.status, webhook.headers = 200, {}
        assert deliver_operator_alerts(store, channels, t0 + timedelta(minutes=14), "ops").sent == 0
        assert deliver_operator_alerts(store, channels, t0 + timedelta(minutes=16), "ops").sent == 1
        ((_path, payload),) = webhook.received
        assert payload["title"] == f"Feed <{ZW}!channel> failing"
        assert payload["message"] == f"body @{ZW}here"
    finally:
        store.close()
