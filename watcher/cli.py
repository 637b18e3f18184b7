"""Command line: each command maps user input to one call and errors to exit codes.

Exit codes: 0 success, 1 invalid config or rules (one ``PATH:LINE: message`` per problem on
stderr) or nothing to do for the command, 2 bad command-line usage, 3 the database cannot be
opened, 4 ``notify-test`` could not deliver.
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
from watcher.errors import ConfigError, WatcherError
from watcher.models import AlertView
from watcher.settings import Settings, config_path_from

log = logging.getLogger("watcher")


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose >= 0 else logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Third-party loggers can print URLs holding tokens at debug level (urllib3 logs each
    # request's path: a Slack webhook's path is its secret): keep them at warnings.
    for noisy in ("apscheduler", "aiohttp", "alembic", "urllib3", "requests"):
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


format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


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
                "%d failed (%d of them given up: see `watcher alerts --status failed`)",
                sum(not p.skipped for p in report.polls),
                len(failed),
                sum(p.new_items for p in report.polls),
                sum(p.hits for p in report.polls),
                report.delivery.sent,
                report.delivery.failed,
                report.delivery.gave_up,
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
@format_option
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
@format_option
@click.option(
    "--reenable",
    metavar="URL",
    help="Poll again a feed marked gone (410), given by its URL or name in the config.",
)
@click.pass_context
def feeds(ctx: click.Context, fmt: str, reenable: str | None) -> None:
    """Each configured feed's health: status and why, last success, errors, next poll.

    Status is ok, stale (polls fine but silent far longer than usual), failing, gone (410:
    not polled any more) or disabled (enabled: false); new before the first poll.
    """
    from watcher.health import assess

    settings = _settings(ctx)
    store = _open(settings, full=False)
    try:
        store.sync_feeds(settings.feeds)
        if reenable is not None:
            url = next((f.url for f in settings.feeds if reenable in (f.url, f.name)), reenable)
            if not store.reenable_feed(url):
                _fail(f"no gone feed with URL {reenable!r}: `watcher feeds` lists them", 1)
            click.echo(f"{url}: re-enabled; the daemon polls it at its next check", err=True)
        views = store.feed_views([f.url for f in settings.feeds])
    finally:
        store.close()
    enabled = {f.url: f.enabled for f in settings.feeds}
    now = datetime.now(UTC)
    health = [assess(v.state, enabled.get(v.url, True), now) for v in views]
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "name": v.name,
                        "url": v.url,
                        "status": status,
                        "reason": reason or None,
                        "last_success": _iso(v.state.last_success),
                        "last_polled": _iso(v.last_polled),
                        "next_poll": _iso(v.next_poll) if status != "gone" else None,
                        "error_count": v.error_count,
                        "last_error": v.last_error,
                        "items": v.items,
                        "fetch_url": v.state.fetch_url,
                    }
                    for v, (status, reason) in zip(views, health, strict=True)
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    rows = [
        (
            v.name,
            status,
            _short(v.state.last_success),
            _short(v.next_poll) if status not in ("gone", "disabled") else "-",
            str(v.error_count),
            str(v.items),
            reason,
        )
        for v, (status, reason) in zip(views, health, strict=True)
    ]
    click.echo(
        _table(
            ("NAME", "STATUS", "LAST SUCCESS", "NEXT POLL", "ERRORS", "ITEMS", "REASON"),
            rows,
            (28, 8, 16, 16, 6, 6, 1000),  # the reason in full: it says what to fix
        )
    )


def _alert_json(a: AlertView) -> dict[str, Any]:
    return {
        "id": a.id,
        "status": a.status,
        "channel": a.channel,
        "title": a.title,
        "link": a.link,
        "feed": a.feed,
        "rules": list(a.rules),
        "attempts": a.attempts,
        "last_error": a.last_error,
        "held": a.held,
        "created_at": _iso(a.created_at),
        "last_attempt": _iso(a.last_attempt),
        "next_attempt": _iso(a.next_attempt),
        "sent_at": _iso(a.sent_at),
        "grouped_into": a.grouped_into,
    }


def _alert_when(a: AlertView) -> str:
    """What happens next or what happened last, for the table."""
    if a.status == "sent":
        return f"sent {_short(a.sent_at)}"
    if a.status == "pending":
        return f"next {_short(a.next_attempt)}"
    if a.status == "grouped":
        return f"sent {_short(a.sent_at)}" if a.sent_at else "not sent alone"
    return f"gave up {_short(a.last_attempt)}"


def _story_note(a: AlertView) -> str:
    """What became of a copy grouped into its story's alert."""
    into = f"same story as alert {a.grouped_into}"
    if a.sent_at is not None:
        return f"{into}: listed in it"
    if a.carrier_status == "sent":
        return f"{into}, sent before this copy came: not sent again"
    if a.carrier_status == "failed":
        return f"{into}, which failed: `watcher alerts retry {a.grouped_into}` sends both"
    return f"{into}: will be listed in it"


def _alert_note(a: AlertView) -> str:
    if a.status == "grouped":
        return _story_note(a)
    return a.last_error or (a.held if a.status == "pending" else "") or ""


@cli.group(invoke_without_command=True)
@click.option(
    "--status",
    type=click.Choice(["pending", "sent", "failed", "grouped"]),
    help="Only alerts in this state (default: all).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="At most N alerts, newest first; 0 means all.",
)
@format_option
@click.pass_context
def alerts(ctx: click.Context, status: str | None, limit: int, fmt: str) -> None:
    """The alert ledger: every queued alert and what became of it, newest first.

    An alert is pending (queued, or waiting to retry), sent, failed (given up after
    its attempts; `watcher alerts retry` queues it again), or grouped (another outlet's
    copy of a story that already has an alert on the channel: listed in that alert, never
    sent on its own). Times are UTC.
    """
    if ctx.invoked_subcommand is not None:
        return
    store = _open(_settings(ctx), full=False)
    try:
        found = store.alert_views(status, limit)
    finally:
        store.close()
    if fmt == "json":
        click.echo(json.dumps([_alert_json(a) for a in found], indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("no alerts" + (f" {status}" if status else ""), err=True)
        return
    rows = [
        (
            str(a.id),
            a.status,
            _short(a.created_at),
            a.channel,
            ", ".join(a.rules),
            str(a.attempts),
            _alert_when(a),
            a.title,
            _alert_note(a),
        )
        for a in found
    ]
    click.echo(
        _table(
            (
                "ID",
                "STATUS",
                "QUEUED (UTC)",
                "CHANNEL",
                "RULES",
                "TRIES",
                "WHEN (UTC)",
                "ARTICLE",
                "LAST ERROR (OR WHY IT WAITS)",
            ),
            rows,
            (6, 7, 16, 12, 18, 5, 24, 40, 80),
        )
    )


@alerts.command("retry")
@click.argument("alert_id", metavar="[ID]", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Re-queue every failed alert.")
@click.pass_context
def alerts_retry(ctx: click.Context, alert_id: int | None, all_failed: bool) -> None:
    """Queue a failed alert (or --all-failed) to be sent again now, with fresh attempts.

    A running daemon sends it on its next delivery pass (within seconds); or run
    `watcher run --once`. Only a failed alert is re-queued: a pending one is left as it
    is (held for quiet hours, a digest, an hourly summary or a story hold, waiting to retry,
    or being sent) and a sent one is never re-sent; both exit 1 saying why.
    """
    if (alert_id is None) == (not all_failed):
        raise click.UsageError("give an alert ID (see `watcher alerts`) or --all-failed, not both")
    store = _open(_settings(ctx), full=False)
    try:
        ids = store.requeue(None if all_failed else [alert_id or 0], datetime.now(UTC))
        view = store.alert_view(alert_id) if alert_id is not None and not ids else None
    finally:
        store.close()
    if all_failed:
        click.echo(f"re-queued {len(ids)} failed alerts" + (f": {_ids(ids)}" if ids else ""))
        return
    if ids:
        click.echo(f"re-queued alert {alert_id}")
        return
    if view is None:
        _fail(f"no alert has id {alert_id}; `watcher alerts` lists them", 1)
    if view.status == "grouped":
        _fail(
            f"alert {alert_id} is a copy grouped into alert {view.grouped_into} (same story); "
            f"retry that one: `watcher alerts retry {view.grouped_into}`",
            1,
        )
    only = "`watcher alerts retry` only re-queues failed alerts"
    if view.status == "pending":
        _fail(
            f"alert {alert_id} is pending ({_why_pending(view)}): it will be sent then, so "
            f"nothing was changed; {only}",
            1,
        )
    _fail(
        f"alert {alert_id} was already sent; nothing to retry (sent {_short(view.sent_at)} "
        f"UTC; sending it again would be a duplicate); {only}",
        1,
    )


def _why_pending(a: AlertView) -> str:
    """When a pending alert goes out and what it waits for, for ``alerts retry``."""
    now = datetime.now(UTC)
    due = a.next_attempt
    when = (
        "due now: the next delivery pass sends it, or is sending it"
        if due is None or due <= now
        else f"next attempt at {_short(due)} UTC"
    )
    if a.attempts:
        return f"{when}; attempt {a.attempts} failed: {a.last_error or 'no reason given'}"
    if a.held:
        return f"{when}; held: {a.held}"
    return f"{when}; being sent now, or waiting for its channel" if due and due > now else when


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(map(str, ids[:20])) + (" …" if len(ids) > 20 else "")


@cli.command("notify-test")
@click.argument("channel")
@click.pass_context
def notify_test(ctx: click.Context, channel: str) -> None:
    """Send a sample alert to CHANNEL now and report what the receiver said.

    The sample is rendered as real alerts are, with the config's templates for the channel's
    kind, so this is also how to try a template. Exits 0 when apprise reports the channel's
    target accepted it, 4 when it did not. Nothing is stored.
    """
    from watcher.notify import Channels
    from watcher.notify.render import render, sample_alert

    settings = _settings(ctx)
    if channel not in settings.channels:
        known = ", ".join(sorted(settings.channels)) or "none are configured"
        raise click.BadParameter(
            f'no channel "{channel}" (channels: {known})', param_hint="CHANNEL"
        )
    channels = Channels({channel: settings.channels[channel]}, settings.templates)
    rendered = render(sample_alert(channel), channels.styles[channel])
    result = channels.send(channel, rendered.title, rendered.body, rendered.format)
    service = f" ({result.service})" if result.service else ""
    if result.ok:
        click.echo(f"{channel}{service}: sent; the receiver accepted the test alert")
        return
    kind = "will not work until fixed" if result.permanent else "may be temporary"
    _fail(f"{channel}{service}: FAILED ({kind}): {result.error}", 4)


@cli.command("test-rule")
@click.option(
    "--rule", "rule_id", metavar="ID", help="Only this rule (default: every enabled rule)."
)
@click.option("--title", default="", help="The item's title.")
@click.option("--text", help="The item's summary text (HTML is stripped).")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False),
    help="A file: a feed (each entry is tried), an HTML page or plain text.",
)
@click.option("--url", help="A URL: a feed (each entry is tried) or an article page.")
@click.argument("stdin", required=False, metavar="[-]")
@format_option
@click.pass_context
def test_rule(
    ctx: click.Context,
    rule_id: str | None,
    title: str,
    text: str | None,
    path: str | None,
    url: str | None,
    stdin: str | None,
    fmt: str,
) -> None:
    """Show which rules match an item, which words matched where, and why. Writes nothing.

    Give the item as --text, --file, --url, or - to read it from standard input.
    """
    from watcher.explain import candidates_from_bytes, candidates_from_url, explain, rules_for

    sources = [x for x in (text, path, url, stdin) if x is not None]
    if len(sources) != 1 or (stdin is not None and stdin != "-"):
        raise click.UsageError("give the item once: --text TEXT, --file FILE, --url URL or -")
    settings = _settings(ctx)
    try:
        rules = rules_for(settings, rule_id)
        if text is not None:
            items = candidates_from_bytes(text.encode(), "text", title)
        elif path is not None:
            items = candidates_from_bytes(Path(path).read_bytes(), str(Path(path).resolve()), title)
        elif url is not None:
            items = candidates_from_url(url, title)
        else:
            items = candidates_from_bytes(sys.stdin.buffer.read(), "stdin", title)
    except WatcherError as exc:
        _fail(str(exc), 1)
    results = [(item, explanation) for item in items for explanation in explain(rules, item)]
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "rule": e.rule.id,
                        "rule_title": e.rule.title,
                        "item": item.title,
                        "terms": [
                            {"text": t, "field": f, "start": a, "end": b} for t, f, a, b in e.spans
                        ],
                        "snippet": e.snippet,
                    }
                    for item, e in results
                ],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if not results:
        click.echo("no rule matches" + (f" (tried {len(items)} items)" if len(items) > 1 else ""))
        return
    for item, e in results:
        head = f"MATCH {e.rule.id}: {e.rule.title}"
        click.echo(head + (f"\n  item: {item.title}" if len(items) > 1 else ""))
        for t, f, a, b in e.spans:
            where = f"word {a + 1}" if b == a + 1 else f"words {a + 1}-{b}"
            click.echo(f"  {t!r:<32} {f:<8} {where}")
        if e.snippet:
            click.echo(f"  {e.snippet}")


@cli.command()
@click.option(
    "--rule",
    "rule_id",
    metavar="ID",
    required=True,
    help="The rule to try (as it is in the rules files now).",
)
@click.option(
    "--since",
    metavar="AGE",
    default="30d",
    show_default=True,
    help="Items first seen within this: 30m, 24h, 7d, or a date.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many of the newest matches to show.",
)
@format_option
@click.pass_context
def backtest(ctx: click.Context, rule_id: str, since: str, sample: int, fmt: str) -> None:
    """Run a rule over the items already stored: what it would have caught and sent.

    Use it on a new or edited rule before the daemon reloads it. Nothing is sent or stored.
    """
    from watcher.explain import backtest as run_backtest

    settings = _settings(ctx)
    cutoff = _since(since)
    store = _open(settings, full=False)
    try:
        total = store.count_items(cutoff)
        with click.progressbar(
            length=total, label=f"backtesting {rule_id}", file=sys.stderr, show_pos=True
        ) as bar:
            result = run_backtest(store, settings, rule_id, cutoff, bar.update)
    except WatcherError as exc:
        _fail(str(exc), 1)
    finally:
        store.close()
    notify = settings.rules.by_id[rule_id].spec.notify
    alerts = result.alerts(notify)
    shown = result.matches[:sample]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "rule": rule_id,
                    "since": _iso(cutoff),
                    "scanned": result.scanned,
                    "matches": len(result.matches),
                    "articles": len(result.articles),
                    "alerts": alerts,
                    "sample": [
                        {
                            "title": i.title,
                            "link": i.link,
                            "feed": feed,
                            "first_seen": _iso(seen),
                            "terms": list(terms),
                        }
                        for seen, feed, i, terms in shown
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    click.echo(
        f"{rule_id}: {len(result.matches)} matches ({len(result.articles)} articles) "
        f"in {result.scanned} items stored since {_short(cutoff)} UTC"
    )
    if alerts:
        click.echo("would have alerted: " + ", ".join(f"{c} {n}" for c, n in alerts.items()))
    else:
        click.echo("would have alerted: nobody (the rule has no notify channels)")
    if shown:
        rows = [(_short(seen), feed, i.title, ", ".join(terms)) for seen, feed, i, terms in shown]
        click.echo(_table(("FIRST SEEN (UTC)", "FEED", "TITLE", "TERMS"), rows, (16, 18, 60, 40)))


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="watcher")


__all__ = ["Path", "cli", "main"]
