"""Schema migrations with Alembic, run in-process on start so users never run them by hand.

A database already at the newest revision is recognised without importing Alembic (most of a
start's import time): every command, and every daemon restart, is quicker for it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_ASSIGN = re.compile(r"^(revision|down_revision)\s*=\s*(None|\"([^\"]*)\"|'([^']*)')", re.M)


def alembic_config(conn: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str | None:
    """The newest revision, read from the revision files (None unless exactly one head)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for m in _ASSIGN.finditer(path.read_text(encoding="utf-8")):
            value = m.group(3) or m.group(4)
            if value:
                (revisions if m.group(1) == "revision" else parents).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def upgrade(conn: Connection) -> None:
    """Upgrade the database on ``conn`` to the newest revision."""
    head = head_revision()
    if head is not None and current_revision(conn) == head:
        return
    from alembic import command

    command.upgrade(alembic_config(conn), "head")
