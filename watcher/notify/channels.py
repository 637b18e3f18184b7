"""Channels: a name from the config bound to one apprise URL, plus watcher's ``console://``.

One URL per channel, so each delivery row maps to exactly one apprise result. Each channel has
a kind (``render.KINDS``): Slack gets mrkdwn, email gets HTML (apprise adds the text/plain
part), every other service plain text that apprise escapes for its own markup.

apprise does not show a receiver's answer headers, yet a Slack 429 says in ``Retry-After`` how
long to wait. ``Channels.send`` therefore notes the status and ``Retry-After`` of every answer
``requests`` receives during the send (``_answers``: a context variable, which apprise copies
into the worker thread it sends from) and hands the wait back in ``SendResult.retry_after``.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apprise
import requests
from apprise.decorators import notify as apprise_notify
from apprise.manager_plugins import NotificationManager
from apprise.plugins import url_to_dict
from apprise.plugins.email import NotifyEmail
from apprise.plugins.slack import NotifySlack

from watcher.cadence import retry_after as parse_retry_after
from watcher.notify.render import Style, load_style

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


class _SlackMrkdwn(NotifySlack):  # type: ignore[no-untyped-call]
    """apprise's Slack, taking our mrkdwn as it is.

    apprise reads a Markdown body as CommonMark and converts it (``**b**`` to ``*b*``, ``*i*``
    to ``_i_``); our Slack templates already write mrkdwn with feed text escaped for it, so the
    conversion (``dialect_convert``, apprise's per-plugin hook) is turned off.
    """

    def dialect_convert(self, body: str, *args: Any, **kwargs: Any) -> str:
        return body


def _plugin(url: str) -> Any:
    """apprise's plugin for ``url``; for Slack, the same plugin speaking mrkdwn as it is."""
    plugin = apprise.Apprise.instantiate(url)
    if isinstance(plugin, NotifySlack):
        details = url_to_dict(url)  # type: ignore[no-untyped-call]
        details.pop("asset", None)
        plugin = _SlackMrkdwn(**details)  # type: ignore[no-untyped-call]
    return plugin


def kind_of(plugin: Any) -> str:
    """Which templates a channel gets: Slack, email, or plain text for everything else."""
    if isinstance(plugin, NotifySlack):
        return "slack"
    if isinstance(plugin, NotifyEmail):
        return "email"
    return "text"


class Channels:
    """The configured channels, each with its apprise instance and its ``Style`` (its kind
    and the config's templates for that kind)."""

    def __init__(
        self, urls: Mapping[str, str], templates: Mapping[str, Mapping[str, Path]] | None = None
    ) -> None:
        self._urls = dict(urls)
        _REDACTOR.urls.update(urls.values())
        self._apprise: dict[str, apprise.Apprise] = {}
        self.styles: dict[str, Style] = {}
        by_kind: dict[str, Style] = {}
        for name, url in urls.items():
            a = apprise.Apprise()
            plugin = _plugin(url)
            if plugin is None or not a.add(plugin):
                raise ValueError(f'channel "{name}": apprise refused its URL')
            plugin.request_rate_per_sec = min(plugin.request_rate_per_sec, MAX_SEND_INTERVAL)
            self._apprise[name] = a
            kind = kind_of(plugin)
            if kind not in by_kind:
                by_kind[kind] = load_style(kind, (templates or {}).get(kind, {}))
            self.styles[name] = by_kind[kind]

    def __contains__(self, name: object) -> bool:
        return name in self._apprise

    @property
    def names(self) -> list[str]:
        return list(self._apprise)

    def send(self, name: str, title: str, body: str, fmt: str) -> SendResult:
        """Send one message and judge apprise's per-target result: anything but SUCCESS is a
        failure, with a redacted reason and whether retrying could ever help."""
        a = self._apprise[name]
        answers: list[tuple[int, str | None]] = []
        token = _answers.set(answers)
        try:
            result = a.notify(
                body=body,
                title=title,
                body_format=apprise.NotifyFormat(fmt),
                timeout=SEND_TIMEOUT,
                log_level=logging.DEBUG,
            )
        except Exception as exc:  # a plugin bug must not kill the delivery loop
            return SendResult(False, redact(f"{type(exc).__name__}: {exc}", self._urls[name]))
        finally:
            _answers.reset(token)
        with result:
            targets = list(result)
            service = targets[0].name if targets else ""
            if result.status == apprise.AppriseResultStatus.SUCCESS and targets:
                return SendResult(True, service=service)
            entries = [(e.level, e.message) for t in targets for e in t.logs()]
            entries += [(e.level, e.message) for e in result.call_logs()]
            status = result.status.name
        judged = _judge(entries, status, service, self._urls[name])
        wait = _asked_to_wait(answers)
        if wait is None:
            return judged
        message = f"{judged.error}; the receiver asked to wait {wait:g}s (Retry-After)"
        return SendResult(False, message, judged.permanent, service, retry_after=wait)


# The answers (status, Retry-After) that ``requests`` received during this context's send.
_answers: contextvars.ContextVar[list[tuple[int, str | None]] | None] = contextvars.ContextVar(
    "watcher_send_answers", default=None
)
RETRY_AFTER_CAP = 24 * 3600.0  # a receiver asking more than a day is not believed further
_WAIT_STATUSES = (429, 503)  # "come back later": Too Many Requests, Service Unavailable


def _note_answers(send: Any) -> Any:
    """Wrap ``requests.Session.send`` so a send in progress (``_answers`` set) sees each answer's
    status and ``Retry-After``; outside a send (nothing set) it only passes through."""

    @functools.wraps(send)
    def noting(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        response = send(self, request, **kwargs)
        answers = _answers.get()
        if answers is not None:
            answers.append((response.status_code, response.headers.get("Retry-After")))
        return response

    noting.watcher_notes_answers = True  # type: ignore[attr-defined]
    return noting


if not getattr(requests.Session.send, "watcher_notes_answers", False):
    requests.Session.send = _note_answers(requests.Session.send)  # type: ignore[method-assign]


def _asked_to_wait(answers: list[tuple[int, str | None]]) -> float | None:
    """Seconds the last answer asked us to wait (429 or 503 with ``Retry-After``, seconds or
    an HTTP date), at most a day; None when it asked nothing."""
    if not answers:
        return None
    status, value = answers[-1]
    if status not in _WAIT_STATUSES:
        return None
    wait = parse_retry_after(value, datetime.now(UTC))
    return None if wait is None else min(wait, RETRY_AFTER_CAP)


SEND_TIMEOUT = 60.0  # seconds one send may take in all (apprise's own socket timeouts are 4 s)

# Receivers' answers that no retry can fix: the address, token or webhook is wrong.
_PERMANENT_HTTP = {
    400: "the receiver rejected the message (400 Bad Request)",
    401: "the receiver refused the credentials (401): check the token or password in the URL",
    403: "the receiver refused access (403): check the token and its permissions",
    404: "the receiver does not know this address (404): check the webhook or URL",
    405: "the receiver does not accept posts here (405): check the URL's path",
    410: "the receiver says this address is gone (410): make a new webhook",
    413: "the receiver refused a message this large (413)",
    422: "the receiver could not process the message (422)",
}
_HTTP_CODE = re.compile(r"\berror=(\d{3})\b")
_MAIL_REFUSED = re.compile(r'Sending email to "[^"]*" failed')
_SMTP_PERMANENT = re.compile(r"\((5\d\d), b[\'\"]")


@dataclass(frozen=True)
class SendResult:
    """One send as apprise judged it; ``error`` is safe to log and store (secrets redacted)."""

    ok: bool
    error: str | None = None
    permanent: bool = False  # retrying cannot help: the address or credentials are wrong
    service: str = ""  # apprise's name for the service (Slack, E-Mail, JSON, ...)
    retry_after: float | None = None  # seconds the receiver asked to wait (429/503 Retry-After)


def _judge(entries: list[tuple[str, str]], status: str, service: str, url: str) -> SendResult:
    """The reason a send failed, from apprise's log of the attempt, and whether it is final."""
    text = "\n".join(message for _level, message in entries)
    reason: str | None = None
    for match in _HTTP_CODE.finditer(text):
        reason = _PERMANENT_HTTP.get(int(match.group(1)))
        if reason:
            break
    if reason is None and _MAIL_REFUSED.search(text):
        reason = "the mail server refused the recipient address: check the to= address"
    elif reason is None and _SMTP_PERMANENT.search(text):
        reason = "the mail server refused the message (5xx): check the addresses and login"
    warnings = [m for level, m in entries if level in ("WARNING", "ERROR", "CRITICAL")]
    detail = "; ".join(warnings[-3:]) or f"apprise reported {status.lower()}"
    if status == "TIMEOUT":
        detail = f"no answer within {SEND_TIMEOUT:g}s; {detail}"
    message = f"{reason} [{detail}]" if reason else detail
    return SendResult(False, redact(message, url), permanent=reason is not None, service=service)
