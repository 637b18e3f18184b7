"""Drain the outbox: send every due alert, mark it sent, or keep it queued with a retry time."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from watcher.notify.channels import Channels
from watcher.notify.render import render
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
    store: Store, channels: Channels, now: datetime, batch: int = 100
) -> DeliveryReport:
    """Send every alert that is due now. A failed send stays queued; nothing is dropped."""
    sent = failed = 0
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
