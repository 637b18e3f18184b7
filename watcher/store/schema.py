"""Tables. Changing them needs an Alembic revision in ``migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text),  # the name the config gives it, if any
    Column("title", Text),  # the feed's own title, used when the config names none
    Column("etag", Text),
    Column("last_modified", Text),
    Column("status", String(16), nullable=False, default="new"),  # new | ok | failing | gone
    Column("last_polled", UTCDateTime()),
    Column("last_success", UTCDateTime()),
    Column("next_poll", UTCDateTime()),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error", Text),
    # -- polling etiquette and health (0003) --
    Column("fetch_url", Text),  # where a confirmed permanent redirect now sends us; else url
    Column("redirect_to", Text),  # a 301/308 target seen on consecutive polls, not yet confirmed
    Column("redirect_count", Integer, nullable=False, default=0, server_default="0"),
    Column("body_hash", Text),  # sha256 of the last body parsed: an identical body is not parsed
    Column("last_full_fetch", UTCDateTime()),  # last 200: a daily fetch goes without validators
    Column("ttl", Integer),  # the feed's <ttl>, in seconds, remembered across 304s
    Column("error_since", UTCDateTime()),  # first failure of the current run of failures
    Column("health_alert", String(16)),  # failing | stale | gone: the operator alert standing
    Column("first_new_item", UTCDateTime()),  # first and last poll that brought new items,
    Column("last_new_item", UTCDateTime()),  # and how many did: the feed's usual rhythm
    Column("new_item_polls", Integer, nullable=False, default=0, server_default="0"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("article_key", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("link", Text),
    Column("summary", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("published", UTCDateTime()),
    Column("language", Text),
    Column("first_seen", UTCDateTime(), nullable=False),
    UniqueConstraint("feed_id", "key", name="uq_items_feed_key"),
    Index("ix_items_article_key", "article_key"),
)

hits = Table(
    "hits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("rule_title", Text, nullable=False),
    Column("terms", Text, nullable=False),  # JSON list of the matched texts
    Column("matched_at", UTCDateTime(), nullable=False),
    UniqueConstraint("item_id", "rule_id", name="uq_hits_item_rule"),
    Index("ix_hits_matched_at", "matched_at"),
    Index("ix_hits_rule_id", "rule_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("article_key", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("rules", Text, nullable=False),  # JSON list of rule ids routed to this channel
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),  # since created or last re-queued
    Column("last_error", Text),  # redacted: no channel secret is ever stored
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt", UTCDateTime(), nullable=False),
    Column("last_attempt", UTCDateTime()),
    Column("sent_at", UTCDateTime()),
    Column("rule", Text),  # the rule whose noise settings decided when it goes out
    Column("batch", Text),  # digest or hourly summary it goes out in; NULL: a message of its own
    Column("held", Text),  # why it waits: quiet hours, a digest, an hourly limit
    # -- story grouping (0005) --
    Column("story_id", Integer),  # story_items.story_id of its item, when grouping saw it
    Column("grouped_into", Integer),  # status grouped: the delivery that carries the story
    UniqueConstraint("article_key", "channel", name="uq_deliveries_article_channel"),
    Index("ix_deliveries_status_next", "status", "next_attempt"),
    Index("ix_deliveries_created_at", "created_at"),
    Index("ix_deliveries_rule", "rule", "channel", "created_at"),
    Index("ix_deliveries_story", "story_id", "channel"),
    Index("ix_deliveries_grouped_into", "grouped_into"),
)

story_items = Table(
    "story_items",
    metadata,
    # An item signed for story grouping (only items with a hit are): the story it belongs to
    # (the id of the story's first item) and its MinHash signature, read back on start so that
    # copies arriving after a restart still join their story.
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", Integer, nullable=False),
    Column("seen_at", UTCDateTime(), nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Index("ix_story_items_seen_at", "seen_at"),
)

operator_alerts = Table(
    "operator_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),  # e.g. feed-failing, feed-recovered, feed-gone
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | sent | logged (no channel set)
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("next_attempt", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    Index("ix_operator_alerts_status_next", "status", "next_attempt"),
)
