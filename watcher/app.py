"""The composition root: settings -> store, channels, pipeline, daemon. Nothing else wires parts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from watcher.notify import Channels, check_channel_url
from watcher.notify.render import check_template
from watcher.rules.presearch import document_frequency
from watcher.rules.ruleset import settle_long_lived
from watcher.settings import Settings, load_settings
from watcher.store import Store

log = logging.getLogger(__name__)


def load(config_path: Path) -> Settings:
    """Load and validate settings; raises ``ConfigError`` listing every problem."""
    return load_settings(config_path, check_channel_url, check_template)


@dataclass
class App:
    settings: Settings
    store: Store
    channels: Channels

    def close(self) -> None:
        self.store.close()


def build(settings: Settings) -> App:
    """Open the database (migrating it) and set up the channels."""
    store = open_store(settings)
    tune_rules(settings, store)
    return App(settings, store, Channels(settings.channels, settings.templates))


TUNE_FROM_RULES = 1_000  # below this many rules presearch is cheap however anchors fall
TUNE_SAMPLE = 2_000  # recent items read to learn how common each word is


def tune_rules(settings: Settings, store: Store) -> None:
    """Pick presearch anchors knowing which words are common in the stored news (a large rule
    set then hands fewer needless candidates to evaluation). Matches are the same either way."""
    if len(settings.rules) >= TUNE_FROM_RULES:
        settings.rules.tune(document_frequency(store.recent_texts(TUNE_SAMPLE)))
        settle_long_lived()  # the collector no longer walks 100,000 rules, 0.8 s each time
    else:
        settings.rules.prepare()


def open_store(settings: Settings) -> Store:
    """The store alone, for read-only commands (``hits``, ``feeds``)."""
    store = Store(settings.database_url)
    store.migrate()
    return store
