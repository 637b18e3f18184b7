"""Plain values that cross layers: what the config declares, what a feed yields, what matched.

No layer passes ORM rows or feedparser objects to another; these dataclasses are the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import NamedTuple


@dataclass(frozen=True)
class FeedSpec:
    """A feed as the config declares it. ``url`` is an http(s) URL or an absolute file path."""

    url: str
    name: str | None
    interval: float
    backlog: str = "alert"  # "alert" | "skip": whether a new feed's first items are alerted
    tags: tuple[str, ...] = ()  # matched by feed: terms, with the name
    enabled: bool = True  # False: kept in the config (and its items kept) but never polled


class Item(NamedTuple):
    """One entry of a feed, reduced to plain text (markup stripped, entities decoded).

    A tuple rather than a frozen dataclass: as immutable, four times cheaper to make (a first
    poll makes tens of thousands) and cheaper to pickle between the parsing processes."""

    key: str  # identity within its feed: guid/id, else link, else a hash of title and text
    article_key: str  # identity across feeds: the canonical link, else feed-scoped key
    title: str
    link: str | None
    summary: str
    content: str
    published: datetime | None
    language: str | None = None  # as the item or its feed declares it (e.g. "es", "en-GB")


@dataclass(frozen=True)
class Digest:
    """``hourly``, ``daily@08:00`` or ``weekly@mon 08:00``, on the config's clock."""

    kind: str  # hourly | daily | weekly
    at: time = time(0, 0)
    weekday: int = 0  # Monday is 0 (weekly only)


@dataclass(frozen=True)
class QuietHours:
    """A daily window (may span midnight) in which a rule's alerts wait."""

    start: time
    end: time


@dataclass(frozen=True)
class Noise:
    """Noise control, as a rule (rules file) or a channel (config) sets it; the default sends
    every alert now. ``urgent`` is a rule's only: a channel has no severity."""

    digest: Digest | None = None
    max_per_hour: int | None = None
    quiet_hours: QuietHours | None = None
    urgent: bool = False  # severity: urgent, which quiet hours do not hold


_QUIET = Noise()  # the default, shared: a Noise is never changed


class RuleHit(NamedTuple):
    """One rule that matched one item, with the words that made it match.

    A tuple rather than a frozen dataclass: as immutable, and made four times faster (a hit
    is made for every rule an item matches; at 100,000 rules that is several per item)."""

    rule_id: str
    rule_title: str
    terms: tuple[str, ...]
    notify: tuple[str, ...]
    noise: Noise = _QUIET


@dataclass(frozen=True)
class FeedState:
    """What the store remembers about a feed between polls."""

    id: int
    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_polled: datetime | None = None
    next_poll: datetime | None = None
    error_count: int = 0
    polled_ok_before: bool = False
    status: str = "new"  # new | ok | failing | gone
    fetch_url: str | None = None  # a confirmed permanent redirect's target
    redirect_to: str | None = None
    redirect_count: int = 0
    body_hash: str | None = None
    last_full_fetch: datetime | None = None
    ttl: int | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    error_since: datetime | None = None
    health_alert: str | None = None
    first_new_item: datetime | None = None
    last_new_item: datetime | None = None
    new_item_polls: int = 0


@dataclass(frozen=True)
class OtherSource:
    """Another outlet's copy of the same story, listed in the story's one alert."""

    feed_name: str
    title: str
    link: str | None
    published: datetime | None


@dataclass(frozen=True)
class PendingAlert:
    """A queued delivery, with everything needed to render it."""

    id: int
    channel: str
    attempts: int
    title: str
    link: str | None
    feed_name: str
    published: datetime | None
    summary: str
    rules: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())  # (id, title, terms)
    batch: str | None = None  # alerts of one batch (digest, hourly summary) go out as one message
    also: tuple[OtherSource, ...] = ()  # other outlets' copies of this story (story grouping)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard delivery tries before an alert is given up as ``failed``.

    With the backoff of ``notify.deliver`` (30 s doubling, capped at 1 h), 16 attempts span about
    nine hours: a receiver down overnight still gets its alerts. A failure that retrying cannot fix
    (the receiver says 401/403/404/410, a refused address) gives up after 3 attempts, a few minutes,
    in case the receiver was being reconfigured.
    """

    max_attempts: int = 16
    permanent_attempts: int = 3
    lease: float = 300.0  # seconds a claimed alert is one sender's before another may send it


@dataclass(frozen=True)
class StoryPolicy:
    """Story grouping: other outlets' copies of a story join its one alert per channel.

    A copy joins when an earlier copy was seen within ``window``; ``hold`` delays each story's
    first alert so that copies arriving meanwhile are listed in it (0: send at once).
    """

    enabled: bool = True
    window: float = 24 * 3600.0  # seconds
    hold: float = 0.0  # seconds


@dataclass(frozen=True)
class AlertView:
    """One row of the delivery ledger as ``watcher alerts`` shows it."""

    id: int
    status: str  # pending | sent | failed | grouped
    channel: str
    title: str
    link: str | None
    feed: str
    rules: tuple[str, ...]
    attempts: int
    last_error: str | None
    held: str | None  # why it waits or waited: quiet hours, a digest, an hourly limit
    created_at: datetime
    last_attempt: datetime | None
    next_attempt: datetime | None  # pending only
    sent_at: datetime | None  # grouped: when the story's alert listing this copy went out
    grouped_into: int | None = None  # grouped: the alert that carries the story
    carrier_status: str | None = None  # grouped: that alert's status


@dataclass(frozen=True)
class HitView:
    """A stored hit as ``watcher hits`` shows it."""

    rule: str
    rule_title: str
    title: str
    link: str | None
    feed: str
    published: datetime | None
    matched_at: datetime
    terms: tuple[str, ...]


@dataclass(frozen=True)
class FeedView:
    """A feed's health as ``watcher feeds`` shows it."""

    name: str
    url: str
    status: str
    last_polled: datetime | None
    next_poll: datetime | None
    error_count: int
    last_error: str | None
    items: int
    state: FeedState  # everything else the store remembers, for ``health.assess``


@dataclass(frozen=True)
class OperatorAlert:
    """A message for the operator (not a news alert): a feed failing, silent, gone, recovered."""

    id: int
    kind: str
    subject: str
    body: str
    status: str  # pending | sent | logged
    attempts: int
    created_at: datetime
    last_error: str | None = None
