"""The alert ledger: deliveries can end as ``failed`` and remember when they were last tried.

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UTCDateTime

revision = "0004"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("last_attempt", UTCDateTime()))
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_created_at", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("last_attempt")
