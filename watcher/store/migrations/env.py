"""Alembic environment: always run on the connection that ``watcher.store.migrate`` passes in."""

from alembic import context

from watcher.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("watcher runs its migrations in-process; use watcher.store.migrate.upgrade")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
