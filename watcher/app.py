"""The composition root: settings -> store, channels, pipeline, daemon. Nothing else wires parts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from watcher.notify import Channels, check_channel_url
from watcher.settings import Settings, load_settings
from watcher.store import Store

log = logging.getLogger(__name__)


def load(config_path: Path) -> Settings:
    """Load and validate settings; raises ``ConfigError`` listing every problem."""
    return load_settings(config_path, check_channel_url)


@dataclass
class App:
    settings: Settings
    store: Store
    channels: Channels

    def close(self) -> None:
        self.store.close()


def build(settings: Settings) -> App:
    """Open the database (migrating it) and set up the channels."""
    store = Store(settings.database_url)
    store.migrate()
    return App(settings, store, Channels(settings.channels))


def open_store(settings: Settings) -> Store:
    """The store alone, for read-only commands (``hits``, ``feeds``)."""
    store = Store(settings.database_url)
    store.migrate()
    return store
