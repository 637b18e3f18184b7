"""Drain the outbox: send every due alert, mark it sent, keep it queued with a retry time, or
give it up as ``failed`` (kept in the ledger, re-queued by ``watcher alerts retry``).

Each channel drains on its own thread: a receiver that is down or slow holds up only its own
alerts. Within a channel alerts go out oldest first, and the first failure that retrying may fix
(connection refused, 5xx, timeout) ends that channel's pass: the rest wait for the same retry time
instead of each waiting for its own timeout against a receiver known to be down.

Operator alerts (feeds failing, silent, gone, recovered; news alerts given up as ``failed``)
have their own outbox table and go to the config's ``operator_channel`` with the same backoff;
without one they are logged. An alert given up queues its operator alert in the same
transaction that marks it ``failed``, so the operator hears of each exactly once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.models import DeliveryPolicy, OperatorAlert, PendingAlert
from watcher.notify.channels import Channels
from watcher.notify.render import render, render_batch, render_notice
from watcher.store import Store

log = logging.getLogger(__name__)

RETRY_BASE = 30.0  # seconds before the first retry; doubles per attempt
RETRY_CAP = 3600.0
UNCONFIGURED_RETRY = timedelta(hours=1)  # alerts for a channel no longer in the config
CLAIM_BATCH = 20  # alerts claimed at once; keep one batch's sending time under the lease
MAX_PARALLEL_CHANNELS = 16


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # failed attempts: queued for a retry, or given up
    gave_up: int = 0  # of those, moved to ``failed`` for good

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.sent + other.sent, self.failed + other.failed, self.gave_up + other.gave_up
        )


@dataclass(frozen=True)
class _Outcome(DeliveryReport):
    """One send's report, plus what it means for the alerts queued behind it."""

    final_for_alert_only: bool = False  # the receiver refused this alert; others may pass
    resume_at: datetime | None = None  # when a receiver that failed is worth trying again


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter, so a recovering receiver is not hit all at once."""
    delay: float = min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempts))
    return delay * random.uniform(0.8, 1.2)


def deliver_due(
    store: Store,
    channels: Channels,
    now: datetime,
    policy: DeliveryPolicy | None = None,
    operator_channel: str | None = None,
) -> DeliveryReport:
    """Send every alert that is due at ``now``, all channels at once, then the operator alerts
    (among them those for alerts given up in this pass). Nothing is dropped."""
    policy = policy or DeliveryPolicy()
    park_unconfigured(store, channels, now, policy)
    report = DeliveryReport()
    names = channels.names
    if names:
        with ThreadPoolExecutor(min(len(names), MAX_PARALLEL_CHANNELS)) as pool:
            reports = list(
                pool.map(
                    lambda name: deliver_channel(store, channels, name, lambda: now, policy),
                    names,
                )
            )
        report = sum(reports, report)
    return report + deliver_operator_alerts(store, channels, now, operator_channel, policy)


def deliver_operator_alerts(
    store: Store,
    channels: Channels,
    now: datetime,
    channel: str | None,
    policy: DeliveryPolicy | None = None,
    batch: int = 100,
) -> DeliveryReport:
    """Send due operator alerts to ``channel``. Without a channel each is logged once and
    marked ``logged``: the log is then where the operator reads them. A failed send stays
    queued with a retry time (operator alerts are never given up)."""
    lease = timedelta(seconds=(policy or DeliveryPolicy()).lease)
    sent = failed = 0
    while True:
        due = store.claim_operator_alerts(now, lease, batch)
        for unit in _operator_messages(due):
            first = unit[0]
            if channel is None:
                for alert in unit:
                    log.warning("operator alert (no operator_channel set): %s", alert.subject)
                    store.finish_operator_alert(alert.id, now, "no operator_channel configured")
                continue
            subject, body = _operator_text(unit)
            error: str | None = f'operator_channel "{channel}" is not configured'
            asked = 0.0  # the receiver's Retry-After, in seconds
            if channel in channels:
                notice = render_notice(subject, body, channels.styles[channel])
                result = channels.send(channel, notice.title, notice.body, notice.format)
                error = None if result.ok else result.error or "apprise reported failure"
                asked = result.retry_after or 0.0
            if error is None:
                for alert in unit:
                    store.finish_operator_alert(alert.id, now, None)
                sent += len(unit)
                log.info("operator alert sent to %s: %s", channel, subject)
            else:
                retry_at = now + timedelta(seconds=max(retry_delay(first.attempts), asked))
                for alert in unit:
                    store.finish_operator_alert(alert.id, now, error, retry_at)
                failed += len(unit)
                log.warning(
                    "operator alert to %s failed, retry at %s UTC: %s",
                    channel,
                    retry_at.strftime("%H:%M:%S"),
                    error,
                )
        if len(due) < batch:
            return DeliveryReport(sent, failed)


LISTED_FAILURES = 20  # alerts given up named in full in one operator message; the rest counted


def _operator_messages(due: list[OperatorAlert]) -> list[list[OperatorAlert]]:
    """The claimed operator alerts as messages: alerts given up (``alert-failed``) that are due
    together go out as one message, so that a channel refusing 500 queued alerts (a deleted
    webhook) tells the operator once, not 500 times; every other kind goes alone."""
    given_up = [a for a in due if a.kind == "alert-failed"]
    units = [[a] for a in due if a.kind != "alert-failed"]
    return [*units, given_up] if len(given_up) > 1 else [[a] for a in due]


def _operator_text(unit: list[OperatorAlert]) -> tuple[str, str]:
    """Subject and body of one operator message (one alert, or several given up)."""
    if len(unit) == 1:
        return unit[0].subject, unit[0].body
    listed = "\n\n".join(a.body for a in unit[:LISTED_FAILURES])
    more = len(unit) - LISTED_FAILURES
    tail = (
        f"\n\n... and {more} more alerts given up: `watcher alerts --status failed` lists them all."
        if more > 0
        else ""
    )
    return f"watcher: {len(unit)} alerts failed for good", listed + tail


def park_unconfigured(
    store: Store, channels: Channels, now: datetime, policy: DeliveryPolicy
) -> None:
    """Alerts for a channel gone from the config stay queued (it may come back), looked at
    again hourly; they count no attempts, so they never fail for that reason alone."""
    for name in store.channels_with_due_alerts(now) - set(channels.names):
        while due := store.claim_due_alerts(
            now, timedelta(seconds=policy.lease), 500, channel=name
        ):
            store.postpone(
                [a.id for a in due],
                now + UNCONFIGURED_RETRY,
                f'channel "{name}" is not configured; add it back to the config to send these',
            )


def deliver_channel(
    store: Store,
    channels: Channels,
    name: str,
    clock: Callable[[], datetime],
    policy: DeliveryPolicy,
) -> DeliveryReport:
    """Send one channel's due alerts, oldest first, until none is due or the receiver fails.

    Alerts of one batch (a digest, an hour's summary) go out as one message. A claimed batch is
    handed back (due at once, for whichever sender claims first) when half its lease has
    passed, so a slow receiver never lets the lease run out under an alert this sender still
    means to send: that would let a second sender send it too.
    """
    report = DeliveryReport()
    lease = timedelta(seconds=policy.lease)
    while True:
        now = clock()
        due = store.claim_due_alerts(now, lease, CLAIM_BATCH, channel=name, clock=clock)
        claimed_at = time.monotonic()
        units = _messages(due)
        for i, unit in enumerate(units):
            if i and time.monotonic() - claimed_at > policy.lease / 2:
                store.postpone([a.id for u in units[i:] for a in u], now)
                break
            outcome = _send(store, channels, name, unit, clock(), policy)
            report += outcome
            if outcome.failed and not outcome.final_for_alert_only:
                # The receiver is down or overloaded: the rest back off with this message.
                resume_at = outcome.resume_at or now
                store.postpone([a.id for u in units[i + 1 :] for a in u], resume_at)
                store.postpone_due(name, clock(), resume_at)
                return report
        else:
            if len(due) < CLAIM_BATCH:
                return report


def _messages(alerts: list[PendingAlert]) -> list[list[PendingAlert]]:
    """The claimed alerts as messages: one per alert, or one per batch, in order."""
    units: list[list[PendingAlert]] = []
    batches: dict[str, list[PendingAlert]] = {}
    for alert in alerts:
        if alert.batch is None:
            units.append([alert])
        elif alert.batch in batches:
            batches[alert.batch].append(alert)
        else:
            batches[alert.batch] = [alert]
            units.append(batches[alert.batch])
    return units


def _send(
    store: Store,
    channels: Channels,
    name: str,
    unit: list[PendingAlert],
    now: datetime,
    policy: DeliveryPolicy,
) -> _Outcome:
    first = unit[0]
    style = channels.styles[name]
    if first.batch is None:
        rendered, what = render(first, style), f"alert {first.id}"
    else:
        kind, _, key = first.batch.partition(":")
        # "fold:*@...": over the channel's max_per_hour, not one rule's (``Store._queue_alerts``)
        rendered = render_batch(unit, kind, style, channel_limit=key.startswith("*@"))
        what = f"{rendered.title!r} ({len(unit)} alerts)"
    result = channels.send(name, rendered.title, rendered.body, rendered.format)
    ids = [a.id for a in unit]
    if result.ok:
        store.mark_sent(ids, now)
        outlets = sum(len(a.also) for a in unit)  # other outlets' copies listed (story grouping)
        log.info(
            "sent to %s: %s%s", name, rendered.title, f" (+{outlets} outlets)" if outlets else ""
        )
        return _Outcome(sent=len(unit))
    error = result.error or "apprise reported failure"
    attempts = max(a.attempts for a in unit) + 1
    limit = policy.permanent_attempts if result.permanent else policy.max_attempts
    if attempts >= limit:
        given = _on_permanent_failure(store, unit, attempts, error, now)
        return _Outcome(
            failed=len(unit),
            gave_up=given,
            final_for_alert_only=result.permanent,
            resume_at=now + timedelta(seconds=max(RETRY_BASE, result.retry_after or 0.0)),
        )
    # Never sooner than the receiver asked (Retry-After); the channel's other alerts wait too.
    wait = max(retry_delay(attempts - 1), result.retry_after or 0.0)
    retry_at = now + timedelta(seconds=wait)
    store.retry_later(ids, error, now, retry_at)
    log.warning(
        "%s to %s failed (attempt %d of %d), retry at %s UTC: %s",
        what,
        name,
        attempts,
        limit,
        retry_at.strftime("%H:%M:%S"),
        error,
    )
    return _Outcome(failed=len(unit), final_for_alert_only=result.permanent, resume_at=retry_at)


def _on_permanent_failure(
    store: Store, unit: list[PendingAlert], attempts: int, error: str, now: datetime
) -> int:
    """Give the alerts up (status ``failed``): the one place that tells the operator.

    Each alert given up queues one operator alert (kind ``alert-failed``, sent to the config's
    ``operator_channel`` by ``deliver_operator_alerts``) in the transaction that marks it
    failed, and logs an ERROR saying what happened and what to do. ``error`` is already
    redacted by ``Channels.send``: no secret reaches the log or the operator channel.
    Returns how many were given up (none when another sender got there first).
    """
    notices = {a.id: _permanent_failure_notice(a, attempts, error) for a in unit}
    given = set(store.give_up([a.id for a in unit], error, now, notices))
    for alert in unit:
        if alert.id not in given:
            continue
        log.error(
            'alert %d to channel "%s" failed for good after %d attempts: %s. '
            "It stays in the ledger (watcher alerts --status failed); fix the channel, then run "
            "`watcher alerts retry %d` (or --all-failed) to send it. Article: %s",
            alert.id,
            alert.channel,
            attempts,
            error,
            alert.id,
            alert.title,
        )
    return len(given)


def _permanent_failure_notice(
    alert: PendingAlert, attempts: int, error: str
) -> tuple[str, str, str]:
    """The operator alert for a given-up alert: (kind, subject, plain-text body)."""
    subject = f'watcher: alert to "{alert.channel}" failed: {alert.title}'
    body = (
        f'Alert {alert.id} to channel "{alert.channel}" was given up after {attempts} '
        f"attempts: {error}\n"
        f"Article: {alert.title} ({alert.feed_name})\n{alert.link or '(no link)'}\n"
        "It stays in the ledger (watcher alerts --status failed). Fix the channel, then run "
        f"`watcher alerts retry {alert.id}` (or `watcher alerts retry --all-failed`) to send it."
    )
    return "alert-failed", subject, body
