"""HTTP (and local file) fetching of feeds: the only module that talks to the network.

We own the HTTP so that every request has timeouts, a size cap, a User-Agent naming watcher and
conditional-GET headers; feedparser then only parses the bytes.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path

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


def is_file(url: str) -> bool:
    return not url.lower().startswith(("http://", "https://"))


def new_session() -> aiohttp.ClientSession:
    """One session per daemon: connection pooling, timeouts and the User-Agent for every fetch."""
    timeout = aiohttp.ClientTimeout(total=TOTAL_TIMEOUT, sock_connect=CONNECT_TIMEOUT)
    return aiohttp.ClientSession(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
        connector=aiohttp.TCPConnector(limit=50, limit_per_host=2),
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


def _reason(exc: BaseException) -> str:
    """A reason an operator can act on, without a traceback."""
    if isinstance(exc, asyncio.TimeoutError):
        return f"timed out (connect {CONNECT_TIMEOUT:g}s, total {TOTAL_TIMEOUT:g}s)"
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or (
        isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror)
    ):
        return f"cannot resolve host {getattr(exc, 'host', '')}: check the URL or DNS"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken response body: {exc}"
    if isinstance(exc, aiohttp.ClientError):
        return f"HTTP error: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


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
            if resp.status == 304:
                return FetchResult(
                    final, status=304, not_modified=True, etag=etag, last_modified=last_modified
                )
            if resp.status >= 400:
                return FetchResult(
                    final,
                    status=resp.status,
                    error=f"HTTP {resp.status} {resp.reason or ''}".strip(),
                )
            chunks = []
            size = 0
            async for chunk in resp.content.iter_chunked(65536):
                size += len(chunk)
                if size > MAX_BODY:
                    return FetchResult(
                        final,
                        status=resp.status,
                        error=(f"response larger than {MAX_BODY // (1024 * 1024)} MiB: not read"),
                    )
                chunks.append(chunk)
            return FetchResult(
                final,
                status=resp.status,
                body=b"".join(chunks),
                content_type=resp.headers.get("Content-Type"),
                etag=resp.headers.get("ETag"),
                last_modified=resp.headers.get("Last-Modified"),
            )
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        return FetchResult(url, error=_reason(exc))
