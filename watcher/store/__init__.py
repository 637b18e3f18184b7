"""Storage behind one narrow interface: ``Store``. Every SQL statement lives in this package."""

from watcher.store.repository import PollOutcome, PollRecord, Store

__all__ = ["PollOutcome", "PollRecord", "Store"]
