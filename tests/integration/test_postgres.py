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


def _upgrade_with_a_feed_from_0002(url: str) -> None:
    """A database in use before 0003 (a feed row exists) migrates, and its feed polls on."""
    from alembic import command
    from sqlalchemy import text

    from watcher.store.migrate import alembic_config

    store = Store(url)
    try:
        with store.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0002")
            conn.execute(
                text(
                    "INSERT INTO feeds (url, status, error_count) "
                    "VALUES ('https://old.example/f.xml', 'ok', 0)"
                )
            )
        store.migrate()
        (view,) = store.feed_views()
        assert view.state.redirect_count == 0 and view.state.new_item_polls == 0
        assert store.queue_operator_alert("test", "subject", "body", _NOW) > 0
        assert [a.kind for a in store.operator_alerts("pending")] == ["test"]
    finally:
        store.close()


_NOW = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.mark.postgres
def test_migration_0003_upgrades_a_used_database_on_postgresql(postgres_url: str) -> None:
    _upgrade_with_a_feed_from_0002(postgres_url)


def test_migration_0003_upgrades_a_used_database_on_sqlite(tmp_path: Path) -> None:
    _upgrade_with_a_feed_from_0002(f"sqlite:///{tmp_path / 'w.db'}")


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
