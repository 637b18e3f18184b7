"""Drain the outbox: send every due alert, mark it sent, or keep it queued with a retry time.

Operator alerts (feeds failing, silent, gone, recovered) have their own outbox table and go to
the config's ``operator_channel`` with the same retries; without one they are logged.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.notify.channels import Channels
from watcher.notify.render import md_escape, render
from watcher.store import Store

log = logging.getLogger(__name__)

RETRY_BASE = 30.0  # seconds before the first retry; doubles per attempt
RETRY_CAP = 3600.0
LEASE = timedelta(minutes=5)  # how long a claimed alert is ours before another sender may retry


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter, so a recovering receiver is not hit all at once."""
    delay: float = min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempts))
    return delay * random.uniform(0.8, 1.2)


def deliver_due(
    store: Store,
    channels: Channels,
    now: datetime,
    batch: int = 100,
    operator_channel: str | None = None,
) -> DeliveryReport:
    """Send every alert that is due now. A failed send stays queued; nothing is dropped."""
    sent, failed = deliver_operator_alerts(store, channels, now, operator_channel, batch)
    while True:
        due = store.claim_due_alerts(now, LEASE, batch)
        if not due:
            break
        for alert in due:
            if alert.channel not in channels:
                # The channel is gone from the config: keep the alert, look again in an hour.
                store.mark_failed(
                    alert.id,
                    f'channel "{alert.channel}" is not configured',
                    now + timedelta(hours=1),
                )
                continue
            rendered = render(alert, channels.formats[alert.channel])
            error = channels.send(alert.channel, rendered.title, rendered.body, rendered.format)
            if error is None:
                store.mark_sent(alert.id, now)
                sent += 1
                log.info("alert sent to %s: %s", alert.channel, alert.title)
            else:
                retry_at = now + timedelta(seconds=retry_delay(alert.attempts))
                store.mark_failed(alert.id, error, retry_at)
                failed += 1
                log.warning(
                    "alert to %s failed (attempt %d), retry at %s: %s",
                    alert.channel,
                    alert.attempts + 1,
                    retry_at.strftime("%H:%M:%S"),
                    error,
                )
        if len(due) < batch:
            break
    return DeliveryReport(sent, failed)


def deliver_operator_alerts(
    store: Store, channels: Channels, now: datetime, channel: str | None, batch: int = 100
) -> tuple[int, int]:
    """Send due operator alerts to ``channel``; returns (sent, failed). Without a channel each
    is logged once and marked ``logged``: the log is then where the operator reads them."""
    sent = failed = 0
    while True:
        due = store.claim_operator_alerts(now, LEASE, batch)
        for alert in due:
            if channel is None:
                log.warning("operator alert (no operator_channel set): %s", alert.subject)
                store.finish_operator_alert(alert.id, now, "no operator_channel configured")
                continue
            error: str | None = f'operator_channel "{channel}" is not configured'
            if (
                channel in channels
            ):  # Our own text, but it quotes feed names and server messages: shown literally.
                if channels.formats[channel] == "text":
                    body, fmt = alert.body, "text"
                else:
                    body, fmt = md_escape(alert.body).replace("\n", "  \n"), "markdown"
                error = channels.send(channel, alert.subject, body, fmt)
            if error is None:
                store.finish_operator_alert(alert.id, now, None)
                sent += 1
                log.info("operator alert sent to %s: %s", channel, alert.subject)
            else:
                retry_at = now + timedelta(seconds=retry_delay(alert.attempts))
                store.finish_operator_alert(alert.id, now, error, retry_at)
                failed += 1
                log.warning(
                    "operator alert to %s failed, retry at %s: %s",
                    channel,
                    retry_at.strftime("%H:%M:%S"),
                    error,
                )
        if len(due) < batch:
            return sent, failed
