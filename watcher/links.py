"""Canonical links: the identity of an article across feeds and polls.

Two links name the same article when they differ only in tracking parameters (``utm_*`` and
friends), the fragment, the order of query parameters, percent-encoding, host case or
http-versus-https. w3lib (Scrapy's URL toolkit) does the canonical form; we only add the list of
tracking parameters to drop.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
_TRACKING = {
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "igshid",
    "ocid",
    "cmpid",
    "_ga",
    "_gl",
    "mkt_tok",
    "spm",
    "ito",
    "at_medium",
    "at_campaign",
    "ns_mchannel",
    "ns_source",
    "ns_campaign",
    "ns_linkname",
    "ns_fee",
    "from_rss",
}
# A link whose canonical form needs no parsing: http(s), a plain host, a path of unreserved
# characters without dot segments, a query (if any) of name=value pairs of unreserved
# characters, any fragment (most article links). w3lib would only lower the host, drop the
# fragment and sort the pairs (less the tracking ones), so its work per link (~30 us: splits,
# IDNA, percent-encoding) is skipped for these.
_UNRESERVED = "[a-z0-9._~-]"
_PLAIN_LINK = re.compile(
    rf"https?://([a-z0-9-]{{1,63}}(?:\.[a-z0-9-]{{1,63}})*)((?!.*/\.)/[a-z0-9._~/-]*)?"
    rf"(?:\?({_UNRESERVED}+={_UNRESERVED}*(?:&{_UNRESERVED}+={_UNRESERVED}*)*))?"
    r"(?:#[!-~]*)?\Z",
    re.IGNORECASE,
)
MAX_KEY = 512  # longer identities are hashed so that every database can index them


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING or lowered.startswith(_TRACKING_PREFIXES)


def canonical_link(link: str) -> str:
    """The canonical form of an http(s) link; other strings come back stripped but unchanged."""
    link = link.strip()
    plain = _PLAIN_LINK.match(link)
    if plain is None:
        return _by_w3lib(link)
    host, path, query = plain.groups()
    start = f"https://{host.lower()}{path or '/'}"
    if query is None:
        return start
    # The pairs sorted by name, then value (as w3lib sorts them), less the tracking ones.
    pairs = sorted(pair.partition("=") for pair in query.split("&"))
    kept = "&".join(f"{name}={value}" for name, _, value in pairs if not _is_tracking(name))
    return f"{start}?{kept}" if kept else start


def _by_w3lib(link: str) -> str:
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return link
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    cleaned = urlunsplit(("https", parts.netloc.lower(), parts.path or "/", urlencode(query), ""))
    return canonicalize_url(cleaned)


def item_keys(
    feed_url: str, guid: str, link: str | None, title: str, summary: str, content: str
) -> tuple[str, str]:
    """An item's identity within its feed (its guid, else its link, else a hash of its title
    and text) and across feeds (its canonical link, else the feed-scoped key), each short
    enough to index (``bounded``). ``guid`` and ``link`` come stripped ("" and None: none)."""
    key = guid or link
    if not key:
        key = "sha256:" + hashlib.sha256(f"{title}\n{summary}\n{content}".encode()).hexdigest()
    key = bounded(key)
    return key, bounded(canonical_link(link) if link else f"{feed_url}#{key}")


def bounded(key: str) -> str:
    """``key`` itself when short enough to index, else a stable hash of it."""
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
