"""Channels: a name from the config bound to one apprise URL, plus watcher's ``console://``.

One URL per channel, so each delivery row maps to exactly one apprise result.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

import apprise
from apprise.decorators import notify as apprise_notify
from apprise.manager_plugins import NotificationManager

log = logging.getLogger(__name__)

# apprise paces each plugin (email: one message per 5.5 s) to spare remote services. Alerts
# come in bursts when a story breaks, so no channel waits more than this between two sends;
# Slack keeps its own 1.2 s, under its one-message-per-second limit.
MAX_SEND_INTERVAL = 1.0


@apprise_notify(on="console", name="watcher console")  # type: ignore[untyped-decorator,no-untyped-call]
def _console(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
    """Print alerts on standard output: the quickstart's channel, and handy under systemd."""
    try:
        print(f"=== ALERT: {title}\n{body}\n", file=sys.stdout, flush=True)
    except (OSError, ValueError) as exc:
        log.warning("console channel cannot write to standard output: %s", exc)
        return False
    return True


class _RedactSecrets(logging.Filter):
    """Scrub every known channel URL's secrets from apprise's log records, whoever reads them
    (apprise names a rejected token in full: "An invalid Slack Token (xoxb-...) was specified")."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls:
            message = record.getMessage()
            clean = message
            for url in self.urls:
                clean = redact(clean, url)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_REDACTOR = _RedactSecrets()
logging.getLogger("apprise").addFilter(_REDACTOR)


def check_channel_url(url: str) -> str | None:
    """What is wrong with an apprise URL, or None. Never echoes the URL: it may hold secrets."""
    _REDACTOR.urls.add(url)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not scheme:
        return "not an apprise URL (expected scheme://...; e.g. mailtos://, slack://, console://)"
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        if scheme.lower() not in NotificationManager():  # type: ignore[no-untyped-call]
            return f'no notification service is called "{scheme}://" (a typo? see apprise\'s list)'
        return f'this "{scheme}://" URL is malformed; check its form in apprise\'s docs'
    return None


def redact(text: str, url: str) -> str:
    """``text`` without any secret-looking piece of ``url`` (tokens, passwords, the URL)."""
    text = text.replace(url, "<channel URL>")
    for piece in re.split(r"[/:@?&=#,]+", url):
        if len(piece) >= 6 and piece.lower() not in _HARMLESS:
            text = text.replace(piece, "***")
    return text


_HARMLESS = {"mailto", "mailtos", "https", "console", "hooks.slack.com", "services"}


def _format_of(plugin: Any) -> str:
    fmt = plugin.notify_format
    if isinstance(fmt, tuple | list):
        fmt = fmt[0]
    return str(getattr(fmt, "value", fmt))


class Channels:
    """The configured channels, each with its apprise instance and preferred body format."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self._urls = dict(urls)
        _REDACTOR.urls.update(urls.values())
        self._apprise: dict[str, apprise.Apprise] = {}
        self.formats: dict[str, str] = {}
        for name, url in urls.items():
            a = apprise.Apprise()
            if not a.add(url):
                raise ValueError(f'channel "{name}": apprise refused its URL')
            plugin = a[0]
            plugin.request_rate_per_sec = min(plugin.request_rate_per_sec, MAX_SEND_INTERVAL)
            self._apprise[name] = a
            self.formats[name] = _format_of(plugin)

    def __contains__(self, name: object) -> bool:
        return name in self._apprise

    def send(self, name: str, title: str, body: str, fmt: str) -> str | None:
        """Send one message; return None on success, else the reason it failed."""
        a = self._apprise[name]
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            try:
                result = a.notify(body=body, title=title, body_format=apprise.NotifyFormat(fmt))
            except Exception as exc:  # a plugin bug must not kill the delivery loop
                return redact(f"{type(exc).__name__}: {exc}", self._urls[name])
        if result:
            return None
        lines = [ln.split(" - ", 2)[-1] for ln in captured.getvalue().splitlines() if ln.strip()]
        return redact("; ".join(lines[-3:]) or "apprise reported failure", self._urls[name])
