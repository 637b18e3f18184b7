"""The same pipeline on PostgreSQL: schema from the migrations, dedupe, hits. Runs in CI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import Entry, FeedServer, WebhookReceiver, rss, write_config
from watcher.cli import cli
from watcher.store import Store

RULES = """
rules:
  - id: venezuela
    title: Venezuela
    query: 'Venezuela* AND (ICC OR "Corte Penal Internacional")'
    notify: [desk]
"""


@pytest.mark.postgres
def test_pipeline_on_postgresql_alerts_once_and_reports_hits(
    tmp_path: Path,
    postgres_url: str,
    feed_server: FeedServer,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    no_throttle: None,
) -> None:
    monkeypatch.setenv("WATCHER_DATABASE_URL", postgres_url)
    url = feed_server.set(
        "/f.xml",
        rss(
            [
                Entry("1", "La Corte Penal Internacional y Venezuela"),
                Entry("2", "ICC and Venezuela", link="https://news.example/1?utm_medium=x"),
                Entry("3", "Cricket's ICC"),
            ]
        ),
    )
    config = write_config(
        tmp_path,
        feeds=[{"url": url, "name": "PG", "interval": "1s"}],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk"},
        rules=RULES,
    )
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["--config", str(config), "run", "--once"])
        assert result.exit_code == 0, result.stderr
    # Items 1 and 2 share a canonical link (tracking parameter dropped): one alert.
    posts = webhook.wait_for(1)
    assert [p["title"] for _, p in posts] == ["La Corte Penal Internacional y Venezuela"]
    assert not (tmp_path / "watcher.db").exists()  # the URL override was used

    result = runner.invoke(cli, ["--config", str(config), "hits", "--format", "json"])
    hits = json.loads(result.stdout)
    assert sorted(h["title"] for h in hits) == [
        "ICC and Venezuela",
        "La Corte Penal Internacional y Venezuela",
    ]
    assert all(h["published"].endswith("Z") and h["feed"] == "PG" for h in hits)


@pytest.mark.postgres
def test_migrations_build_exactly_the_declared_schema_on_postgresql(postgres_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from watcher.store.schema import metadata

    store = Store(postgres_url)
    try:
        store.migrate()
        store.migrate()  # idempotent
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        store.close()


def test_migrations_build_exactly_the_declared_schema_on_sqlite(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from watcher.store.schema import metadata

    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        store.migrate()
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        store.close()


def _upgrade_a_used_database(url: str, start: str) -> None:
    """A database in use at ``start`` (a feed row exists; from 0003 on, an operator alert; from
    0004 on, a queued alert too) migrates along 0001-...-0005, and what each revision added
    works on it (the queued alert keeps its place in the ledger); once at the head, a start
    finds it current without Alembic."""
    from alembic import command
    from sqlalchemy import text

    from watcher.store.migrate import alembic_config, current_revision, head_revision

    store = Store(url)
    try:
        with store.engine.begin() as conn:
            command.upgrade(alembic_config(conn), start)
            conn.execute(
                text(
                    "INSERT INTO feeds (url, status, error_count) "
                    "VALUES ('https://old.example/f.xml', 'ok', 0)"
                )
            )
            if start >= "0003":
                conn.execute(
                    text(
                        "INSERT INTO operator_alerts (kind, subject, body, status, attempts, "
                        "created_at, next_attempt) VALUES ('old', 's', 'b', 'pending', 0, "
                        ":now, :now)"
                    ),
                    {"now": _NOW},
                )
            if start >= "0004":
                conn.execute(
                    text(
                        "INSERT INTO items (feed_id, key, article_key, title, summary, content, "
                        "first_seen) SELECT id, 'k', 'a', 'Old story', '', '', :now FROM feeds"
                    ),
                    {"now": _NOW},
                )
                conn.execute(
                    text(
                        "INSERT INTO deliveries (article_key, channel, item_id, rules, status, "
                        "attempts, created_at, next_attempt) SELECT 'a', 'desk', id, '[\"r\"]', "
                        "'pending', 0, :now, :now FROM items"
                    ),
                    {"now": _NOW},
                )
        store.migrate()
        with store.engine.connect() as conn:
            assert current_revision(conn) == head_revision() == "0005"
        (view,) = store.feed_views()
        assert view.state.redirect_count == 0 and view.state.new_item_polls == 0
        assert store.queue_operator_alert("test", "subject", "body", _NOW) > 0
        expected = ["old", "test"] if start >= "0003" else ["test"]
        assert [a.kind for a in store.operator_alerts("pending")] == expected
        ledger = store.alert_views(None, 0)  # the ledger's columns (0004, 0005) are there
        if start >= "0004":
            (old,) = ledger
            assert (old.title, old.status, old.grouped_into) == ("Old story", "pending", None)
        else:
            assert ledger == []
        store.migrate()  # current: nothing to do
    finally:
        store.close()


_NOW = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.parametrize("start", ["0002", "0003", "0004"])
def test_migrations_upgrade_a_used_database_on_postgresql(postgres_url: str, start: str) -> None:
    _upgrade_a_used_database(postgres_url, start)


@pytest.mark.parametrize("start", ["0002", "0003", "0004"])
def test_migrations_upgrade_a_used_database_on_sqlite(tmp_path: Path, start: str) -> None:
    _upgrade_a_used_database(f"sqlite:///{tmp_path / 'w.db'}", start)


@pytest.mark.postgres
def test_gone_feed_and_operator_alert_on_postgresql(
    tmp_path: Path,
    postgres_url: str,
    feed_server: FeedServer,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    no_throttle: None,
) -> None:
    monkeypatch.setenv("WATCHER_DATABASE_URL", postgres_url)
    config = write_config(
        tmp_path,
        feeds=[{"url": feed_server.set("/f.xml", b"", status=410), "name": "Old"}],
        channels={"desk": "console://", "ops": f"json://127.0.0.1:{webhook.port}/ops"},
        rules=RULES,
        operator_channel="ops",
    )
    runner = CliRunner()
    for _ in range(2):
        assert runner.invoke(cli, ["--config", str(config), "run", "--once"]).exit_code == 0
    assert len(feed_server.requests) == 1  # gone: not polled again
    assert [p["title"] for _, p in webhook.wait_for(1)] == ["watcher: feed gone: Old"]
    out = runner.invoke(cli, ["--config", str(config), "feeds", "--format", "json"]).stdout
    assert json.loads(out)[0]["status"] == "gone"


@pytest.mark.postgres
def test_alert_ledger_and_hourly_summary_on_postgresql(
    tmp_path: Path,
    postgres_url: str,
    feed_server: FeedServer,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    no_throttle: None,
) -> None:
    from datetime import timedelta

    from tests.integration.test_alert_ledger import ledger, poll_only
    from watcher.app import build, load
    from watcher.models import DeliveryPolicy
    from watcher.notify import deliver_due
    from watcher.pipeline import utcnow

    monkeypatch.setenv("WATCHER_DATABASE_URL", postgres_url)
    url = feed_server.set(
        "/f.xml", rss([Entry(f"v{i}", f"ICC: Venezuela story {i}") for i in range(4)])
    )
    config = write_config(
        tmp_path,
        feeds=[{"url": url, "name": "PG"}],
        channels={"desk": f"json://127.0.0.1:{webhook.port}/desk"},
        rules=RULES.replace("notify: [desk]", "notify: [desk]\n    max_per_hour: 1"),
    )
    app = build(load(config))
    try:
        poll_only(app)
        webhook.status = 404
        policy = DeliveryPolicy(permanent_attempts=1)
        now = utcnow()
        report = deliver_due(app.store, app.channels, now, policy)
        assert report.gave_up == 1  # the one alert due now; 3 wait for the hour's summary
        rows = ledger(config, "--status", "failed")
        assert [r["title"] for r in rows] == ["ICC: Venezuela story 0"]
        assert all(r["held"] for r in ledger(config, "--status", "pending"))

        webhook.status = 200
        assert app.store.requeue(None, now) == [rows[0]["id"]]
        assert deliver_due(app.store, app.channels, now, policy).sent == 1
        assert deliver_due(app.store, app.channels, now + timedelta(hours=1), policy).sent == 3
        titles = [p["title"] for _, p in webhook.received]
        assert titles == [
            "ICC: Venezuela story 0",
            "Venezuela: 3 more alerts this hour (over its hourly limit)",
        ]
        assert {r["status"] for r in ledger(config, "--limit", "0")} == {"sent"}
    finally:
        app.close()
    assert not (tmp_path / "watcher.db").exists()
