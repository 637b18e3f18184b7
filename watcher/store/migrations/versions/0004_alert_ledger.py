"""The alert ledger: deliveries can end as ``failed``, remember when they were last tried, and
carry noise control: the rule that decided their timing, the batch (digest or hourly summary)
they go out in, and why they wait.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UTCDateTime

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("last_attempt", UTCDateTime()))
        batch.add_column(sa.Column("rule", sa.Text))
        batch.add_column(sa.Column("batch", sa.Text))
        batch.add_column(sa.Column("held", sa.Text))
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])
    op.create_index("ix_deliveries_rule", "deliveries", ["rule", "channel", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_rule", "deliveries")
    op.drop_index("ix_deliveries_created_at", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        for column in ("held", "batch", "rule", "last_attempt"):
            batch.drop_column(column)
