"""watcher: a self-hosted news-watch daemon."""

__version__ = "0.1.0"
