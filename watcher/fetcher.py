"""HTTP (and local file) fetching of feeds: the only module that talks to the network.

We own the HTTP so that every request has timeouts, a size cap, a User-Agent naming watcher and
conditional-GET headers; feedparser then only parses the bytes.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from watcher import __version__

USER_AGENT = f"watcher/{__version__} (self-hosted news watch; +https://github.com/watcher)"
MAX_BODY = 10 * 1024 * 1024
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 30.0


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one fetch: a body, a 304 (``not_modified``), or an ``error`` reason."""

    url: str
    status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    # What the server asks of our schedule, as received (``cadence`` interprets them).
    cache_control: str | None = None
    expires: str | None = None
    date: str | None = None
    retry_after: str | None = None
    # Where the 301/308 redirects at the start of the chain led (302/307 are not followed for
    # good), and whether the failure was reaching the server at all (DNS, connect).
    permanent_url: str | None = None
    network_error: bool = False


def is_file(url: str) -> bool:
    return not url.lower().startswith(("http://", "https://"))


def new_session(
    host_concurrency: int = 2,
    total_timeout: float = TOTAL_TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> aiohttp.ClientSession:
    """One session per daemon: connection pooling, timeouts and the User-Agent for every fetch.

    ``host_concurrency`` caps connections per host, hence requests in flight per host: polite
    to publishers that carry many of our feeds. aiohttp decodes gzip and deflate, and brotli
    since the ``Brotli`` package is a dependency; it offers them in ``Accept-Encoding``. No
    cookies are kept, as feed readers do not: a publisher cannot follow the poller from request
    to request, and the cookie handling aiohttp does per request was a sixth of a 304's cost.
    """
    timeout = aiohttp.ClientTimeout(
        total=total_timeout, sock_connect=min(connect_timeout, total_timeout)
    )
    return aiohttp.ClientSession(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
        connector=aiohttp.TCPConnector(limit=100, limit_per_host=host_concurrency),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def _read_file(path: str) -> FetchResult:
    try:
        data = Path(path).read_bytes()[: MAX_BODY + 1]
    except FileNotFoundError:
        return FetchResult(path, error=f"file not found: {path}")
    except OSError as exc:
        return FetchResult(path, error=f"cannot read file: {exc.strerror or exc}")
    if len(data) > MAX_BODY:
        return FetchResult(path, error=f"file larger than {MAX_BODY // (1024 * 1024)} MiB")
    return FetchResult(path, status=200, body=data)


def _reason(exc: BaseException, timeout: aiohttp.ClientTimeout) -> str:
    """A reason an operator can act on, without a traceback."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"timed out connecting (no answer within {timeout.sock_connect or 0:g}s)"
    if isinstance(exc, asyncio.TimeoutError):
        return (
            f"timed out: no complete response within {timeout.total or 0:g}s "
            "(the server stalled or is too slow)"
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or (
        isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror)
    ):
        return f"cannot resolve host {getattr(exc, 'host', '')}: check the URL or DNS"
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = exc.os_error.strerror or exc.os_error
        if isinstance(exc.os_error, ConnectionRefusedError):
            why = "connection refused (nothing listens there: check the URL's host and port)"
        return f"cannot connect to {exc.host}:{exc.port}: {why}"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken response body: {exc}"
    if isinstance(exc, aiohttp.ClientError):
        return f"HTTP error: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _is_network(exc: BaseException) -> bool:
    """Whether the server was never reached: what a dead network looks like."""
    return isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def _permanent_target(resp: aiohttp.ClientResponse) -> str | None:
    """The URL the leading 301/308 hops point at; a 302/307 ends what is taken as permanent."""
    hops = [*resp.history, resp]
    target = None
    for hop, following in itertools.pairwise(hops):
        if hop.status not in (301, 308):
            break
        target = str(following.url)
    return target


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """Fetch a feed; never raises for network or server trouble: see ``FetchResult.error``."""
    if is_file(url):
        return await asyncio.to_thread(_read_file, url)
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
        "text/xml;q=0.9, */*;q=0.5"
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with session.get(url, headers=headers, max_redirects=10) as resp:
            final = str(resp.url)
            got = resp.headers
            # One FetchResult per answer, built whole (``dataclasses.replace`` cost more than
            # the rest of a 304's handling here).
            asked: dict[str, Any] = {
                "status": resp.status,
                "cache_control": got.get("Cache-Control"),
                "expires": got.get("Expires"),
                "date": got.get("Date"),
                "permanent_url": _permanent_target(resp),
            }
            if resp.status == 304:
                return FetchResult(
                    final,
                    not_modified=True,
                    etag=got.get("ETag", etag),
                    last_modified=got.get("Last-Modified", last_modified),
                    **asked,
                )
            if resp.status >= 400:
                return FetchResult(
                    final,
                    error=f"HTTP {resp.status} {resp.reason or ''}".strip(),
                    retry_after=got.get("Retry-After"),
                    **asked,
                )
            chunks = []
            size = 0
            async for chunk in resp.content.iter_chunked(65536):
                size += len(chunk)
                if size > MAX_BODY:
                    return FetchResult(
                        final,
                        status=resp.status,
                        error=(
                            f"response larger than {MAX_BODY // (1024 * 1024)} MiB "
                            "(decoded): not read"
                        ),
                    )
                chunks.append(chunk)
            return FetchResult(
                final,
                body=b"".join(chunks),
                content_type=got.get("Content-Type"),
                etag=got.get("ETag"),
                last_modified=got.get("Last-Modified"),
                **asked,
            )
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        return FetchResult(url, error=_reason(exc, session.timeout), network_error=_is_network(exc))
