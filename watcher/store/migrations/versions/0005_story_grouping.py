"""Story grouping: signed items with their story, and deliveries that remember their story and,
when grouped, the delivery that carried the story.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UTCDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "story_items",
        sa.Column("item_id", sa.Integer, primary_key=True),
        sa.Column("story_id", sa.Integer, nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_story_items"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name="fk_story_items_item_id_items", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_story_items_seen_at", "story_items", ["seen_at"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("story_id", sa.Integer))
        batch.add_column(sa.Column("grouped_into", sa.Integer))
    op.create_index("ix_deliveries_story", "deliveries", ["story_id", "channel"])
    op.create_index("ix_deliveries_grouped_into", "deliveries", ["grouped_into"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_grouped_into", "deliveries")
    op.drop_index("ix_deliveries_story", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("grouped_into")
        batch.drop_column("story_id")
    op.drop_index("ix_story_items_seen_at", "story_items")
    op.drop_table("story_items")
