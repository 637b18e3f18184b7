"""Command line: each command maps user input to one call and errors to exit codes.

Exit codes: 0 success, 1 invalid config or rules (one ``PATH:LINE: message`` per problem on
stderr), 2 bad command-line usage, 3 the database cannot be opened.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from watcher import __version__
from watcher.app import build, load, open_store
from watcher.durations import parse_duration
from watcher.errors import ConfigError
from watcher.settings import Settings, config_path_from

log = logging.getLogger("watcher")


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose >= 0 else logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Third-party loggers can print URLs holding tokens at debug level: keep them at warnings.
    for noisy in ("apscheduler", "aiohttp", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # apprise names rejected tokens in its messages: its log reaches nobody directly; watcher
    # reports each failed send itself, with secrets redacted (``notify.channels.redact``).
    apprise_log = logging.getLogger("apprise")
    apprise_log.propagate = False
    if not apprise_log.handlers:
        apprise_log.addHandler(logging.NullHandler())


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _settings(ctx: click.Context) -> Settings:
    try:
        return load(ctx.obj["config"])
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


def _open(settings: Settings, full: bool) -> Any:
    """The app (``full``) or just its store; a database that cannot be opened exits 3."""
    try:
        return build(settings) if full else open_store(settings)
    except SQLAlchemyError as exc:
        reason = exc.args[0] if exc.args else exc
        _fail(f"cannot open the database: {type(exc).__name__}: {reason}", 3)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _short(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> str:
    def cell(text: str, width: int) -> str:
        text = " ".join(str(text).split())
        return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)

    lines = ["  ".join(cell(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(cell(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: give a duration (30m, 24h, 7d) or a date (2026-11-01)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    metavar="PATH",
    envvar="WATCHER_CONFIG",
    default="config/watcher.yaml",
    show_default=True,
    show_envvar=True,
    help="The config file (feeds, channels, where the rules are).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors in the log.")
@click.version_option(__version__, prog_name="watcher")
@click.pass_context
def cli(ctx: click.Context, config: str, verbose: int, quiet: bool) -> None:
    """watcher: polls news feeds, matches them against your YAML watch rules, and alerts.

    The database is the config's `database`, or WATCHER_DATABASE_URL when set.
    """
    _setup_logging(-1 if quiet else verbose)
    ctx.obj = {"config": config_path_from(config)}


@cli.command()
@click.option(
    "--once", is_flag=True, help="Poll every feed that is due now, deliver the alerts, and exit."
)
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run the daemon until SIGTERM or Ctrl-C (or one round with --once)."""
    from watcher.scheduler import Daemon

    app = _open(_settings(ctx), full=True)
    daemon = Daemon(app)
    try:
        if once:
            report = asyncio.run(daemon.run_once())
            failed = [p for p in report.polls if p.error]
            log.info(
                "polled %d feeds (%d failed): %d new items, %d hits; alerts: %d sent, "
                "%d failed and queued for retry",
                len(report.polls),
                len(failed),
                sum(p.new_items for p in report.polls),
                sum(p.hits for p in report.polls),
                report.delivery.sent,
                report.delivery.failed,
            )
        else:
            asyncio.run(daemon.run_forever())
    finally:
        app.close()


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config and rules: exit 0 when valid, else 1 with PATH:LINE: problem lines."""
    settings = _settings(ctx)
    click.echo(
        f"{ctx.obj['config']}: OK ({len(settings.feeds)} feeds, "
        f"{len(settings.rules)} rules, {len(settings.channels)} channels)"
    )


@cli.command()
@click.option("--rule", metavar="ID", help="Only hits of this rule.")
@click.option("--since", metavar="AGE", help="Only hits newer than this: 30m, 24h, 7d, or a date.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="At most N hits, newest first; 0 means all.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_context
def hits(ctx: click.Context, rule: str | None, since: str | None, limit: int, fmt: str) -> None:
    """Stored hits, newest first."""
    cutoff = _since(since)
    store = _open(_settings(ctx), full=False)
    try:
        found = store.hits(rule, cutoff, limit)
    finally:
        store.close()
    if fmt == "json":
        out: list[dict[str, Any]] = [
            {
                "rule": h.rule,
                "rule_title": h.rule_title,
                "title": h.title,
                "link": h.link,
                "feed": h.feed,
                "published": _iso(h.published),
                "matched_at": _iso(h.matched_at),
                "terms": list(h.terms),
            }
            for h in found
        ]
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no hits" + (f" for rule {rule}" if rule else ""), err=True)
        return
    rows = [(_short(h.matched_at), h.rule, h.feed, h.title, ", ".join(h.terms)) for h in found]
    click.echo(
        _table(("MATCHED (UTC)", "RULE", "FEED", "TITLE", "TERMS"), rows, (16, 20, 18, 50, 40))
    )


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.pass_context
def feeds(ctx: click.Context, fmt: str) -> None:
    """Each configured feed: status, last and next poll, errors, items stored."""
    settings = _settings(ctx)
    store = _open(settings, full=False)
    try:
        store.sync_feeds(settings.feeds)
        views = store.feed_views([f.url for f in settings.feeds])
    finally:
        store.close()
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "name": v.name,
                        "url": v.url,
                        "status": v.status,
                        "last_polled": _iso(v.last_polled),
                        "next_poll": _iso(v.next_poll),
                        "error_count": v.error_count,
                        "last_error": v.last_error,
                        "items": v.items,
                    }
                    for v in views
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    rows = [
        (
            v.name,
            v.status,
            _short(v.last_polled),
            _short(v.next_poll),
            str(v.error_count),
            str(v.items),
            v.last_error or "",
        )
        for v in views
    ]
    click.echo(
        _table(
            ("NAME", "STATUS", "LAST POLLED", "NEXT POLL", "ERRORS", "ITEMS", "LAST ERROR"),
            rows,
            (28, 8, 16, 16, 6, 6, 60),
        )
    )


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="watcher")


__all__ = ["Path", "cli", "main"]
