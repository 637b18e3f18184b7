"""Real local parts for tests: an HTTP server serving feeds, an SMTP server, a webhook receiver.

Everything listens on 127.0.0.1 only. Feeds are written by the tests themselves (``rss()``);
the publishers' corpus in ../shared is read in place and skipped when absent.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import socket
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# -- feeds --------------------------------------------------------------------------------------


@dataclass
class Entry:
    guid: str
    title: str
    description: str = ""
    link: str | None = None
    pub: str = "Thu, 04 Nov 2021 10:00:00 +0000"


def rss(entries: list[Entry], title: str = "Test Desk") -> bytes:
    """An RSS 2.0 document holding ``entries`` (text is XML-escaped, so HTML arrives as markup)."""
    items = []
    for e in entries:
        link = e.link or f"https://news.example/{e.guid}"
        items.append(
            f"<item><title>{escape(e.title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">{escape(e.guid)}</guid><pubDate>{e.pub}</pubDate>'
            f"<description>{escape(e.description)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>"
        f"<description>test</description>{''.join(items)}</channel></rss>"
    ).encode()


@dataclass
class Route:
    """What the server answers at one path. ``delay`` waits before answering; ``stall`` sends
    the headers then waits that long before the body; ``endless`` streams a body that never
    ends (no Content-Length); an ``ETag`` in ``headers`` is honoured with a 304."""

    body: bytes
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    stall: float = 0.0
    endless: bool = False


class _Listener(ThreadingHTTPServer):
    # The default backlog (5) drops connections when a round opens 50 at once on a loaded
    # machine: the client's SYN is retried after seconds, and a poll can time out.
    request_queue_size = 128
    daemon_threads = True


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.httpd = _Listener(("127.0.0.1", port), handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FeedServer(_Server):
    """Serves feeds at paths the test sets, and records every request it gets."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        super().__init__(_FeedHandler)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def set(self, path: str, body: bytes, **kw: Any) -> str:
        self.routes[path] = Route(body, **kw)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class _FeedHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server: FeedServer = self.server.owner  # type: ignore[attr-defined]
        server.requests.append((self.path, dict(self.headers)))
        route = server.routes.get(self.path)
        # "In flight" = received and not yet answered: counted down before the first byte of the
        # answer, so a client that starts its next request on reading this one is never counted
        # twice.
        with server.lock:
            server.in_flight += 1
            server.most_in_flight = max(server.most_in_flight, server.in_flight)
        try:
            if route is not None and route.delay:
                time.sleep(route.delay)
        finally:
            with server.lock:
                server.in_flight -= 1
        # The client may give up mid-answer (a timeout or size cap under test).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(route)

    def _answer(self, route: Route | None) -> None:
        if route is None:
            self.send_response(404)
            self.end_headers()
            return
        etag = route.headers.get("ETag")
        if etag is not None and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        if not route.endless:
            self.send_header("Content-Length", str(len(route.body)))
        for k, v in route.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if route.stall:
            self.wfile.flush()
            time.sleep(route.stall)
        self.wfile.write(route.body)
        if route.endless:
            chunk = b"<item><title>more</title></item>" * 2048
            for _ in range(10_000):  # ~640 MiB at most: far past any cap
                self.wfile.write(chunk)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class Delivery:
    """One request as the receiver saw it: when it started, when the answer was written."""

    path: str
    payload: Any
    status: int
    started: float  # time.time()
    ended: float


class WebhookReceiver(_Server):
    """Receives POSTs (Slack, json:// webhooks); answers ``status`` (200 unless a test says),
    with ``headers`` (e.g. a 429's ``Retry-After``).

    ``delay`` makes it slow (seconds before answering); ``gate``, when set, holds every answer
    until the test sets the event. ``log`` keeps every request, accepted or not, with its times.
    """

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[str, Any]] = []
        self.log: list[Delivery] = []
        self.started: list[float] = []  # every request's start, the moment it arrives
        self.status = 200
        self.headers: dict[str, str] = {}
        self.delay = 0.0
        self.gate: threading.Event | None = None
        super().__init__(_WebhookHandler, port)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[tuple[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        started = time.time()
        server.started.append(started)
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if len(body) < length:
            return  # the sender died mid-request (a kill test): nothing arrived, as for Slack
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = body.decode("utf-8", "replace")
        if server.gate is not None:
            server.gate.wait(30)
        if server.delay:
            time.sleep(server.delay)
        status = server.status
        if status < 400:
            server.received.append((self.path, payload))
        try:
            self.send_response(status)
            for name, value in server.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"ok")
            self.wfile.flush()
        except OSError:
            pass  # the sender died waiting (a kill test): the request still arrived
        finally:
            server.log.append(Delivery(self.path, payload, status, started, time.time()))

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the sender may be gone (killed)
            super().finish()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


# -- email --------------------------------------------------------------------------------------


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self, port: int = 0) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                receiver.messages.append(msg)  # type: ignore[arg-type]
                return "250 OK"

        self.port = port or free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str = "desk@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=watcher@example.org&to={to}"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver()
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie waiting to be reaped is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# -- configs ------------------------------------------------------------------------------------


# One rule sending every item about Venezuela to the channel "desk": the tests of polling,
# delivery and the daemon need a rule, not any particular one.
VENEZUELA_RULES = """
rules:
  - id: venezuela
    title: Venezuela
    query: 'Venezuela*'
    notify: [desk]
"""


def write_config(
    root: Path,
    feeds: list[dict[str, Any]],
    channels: dict[str, Any],  # name -> URL, or {url: ..., digest: ...} (a channel's noise)
    rules: str,
    extra: str = "",
    more: dict[str, Any] | None = None,
    **keys: Any,
) -> Path:
    """Write ``watcher.yaml`` and ``rules/main.yaml`` under ``root``; return the config path.
    ``more`` and ``keys`` are more top-level config keys (``defaults``, ``operator_channel``,
    ``delivery``); ``extra`` is raw YAML appended to the file."""
    (root / "rules").mkdir(exist_ok=True)
    (root / "rules" / "main.yaml").write_text(textwrap.dedent(rules).lstrip(), encoding="utf-8")
    config = {
        "database": "sqlite:///watcher.db",
        "feeds": feeds,
        "channels": channels,
        "rules": "rules/",
        **keys,
        **(more or {}),
    }
    path = root / "watcher.yaml"
    path.write_text(json.dumps(config, indent=2) + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture
def no_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """apprise paces sends per plugin; tests send in bursts and need no pacing."""
    monkeypatch.setattr("watcher.notify.channels.MAX_SEND_INTERVAL", 0.0)


@pytest.fixture
def slack_to(webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """Point apprise's Slack plugin at the local receiver; returns a slack:// URL for a channel."""
    from apprise.plugins.slack import NotifySlack

    monkeypatch.setattr(NotifySlack, "webhook_url", webhook.url("/services"))
    return lambda: "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#newsroom"


# -- databases ----------------------------------------------------------------------------------


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test; skipped locally when none runs, never in CI."""
    if not _postgres_reachable():
        if IN_CI:
            pytest.fail("CI=true but PostgreSQL is not reachable on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    import sqlalchemy

    name = f"watcher_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def shared_corpus() -> Path:
    """The publishers' feed corpus, read in place; tests using it skip when it is absent."""
    corpus = SHARED / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"feed corpus not found at {corpus} (it sits beside the checkout in CI)")
    return corpus
