"""Polling etiquette and feed health: moved URLs, body hashes, health alerts, operator outbox.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"

_FEED_COLUMNS = (
    ("fetch_url", sa.Text),
    ("redirect_to", sa.Text),
    ("body_hash", sa.Text),
    ("last_full_fetch", UTCDateTime),
    ("ttl", sa.Integer),
    ("error_since", UTCDateTime),
    ("health_alert", lambda: sa.String(16)),
    ("first_new_item", UTCDateTime),
    ("last_new_item", UTCDateTime),
)


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        for name, kind in _FEED_COLUMNS:
            batch.add_column(sa.Column(name, kind()))
        batch.add_column(
            sa.Column("redirect_count", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("new_item_polls", sa.Integer, nullable=False, server_default="0")
        )
    op.create_table(
        "operator_alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_operator_alerts"),
    )
    op.create_index("ix_operator_alerts_status_next", "operator_alerts", ["status", "next_attempt"])


def downgrade() -> None:
    op.drop_index("ix_operator_alerts_status_next", table_name="operator_alerts")
    op.drop_table("operator_alerts")
    with op.batch_alter_table("feeds") as batch:
        for name in ("new_item_polls", "redirect_count", *(n for n, _ in reversed(_FEED_COLUMNS))):
            batch.drop_column(name)
