"""Storage behind one narrow interface: ``Store``. Every SQL statement lives in this package."""

from watcher.store.repository import PollRecord, Store

__all__ = ["PollRecord", "Store"]
