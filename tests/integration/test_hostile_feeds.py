"""Hostile or broken responses from a real server never crash or hang a poll, and each one leaves
a reason in `watcher feeds` that tells the operator what is wrong."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.conftest import Entry, FeedServer, rss, write_config
from tests.integration.test_polling import RULES
from watcher.app import build, load
from watcher.cli import cli

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<rss version="2.0"><channel><title>Bomb</title>
<item><title>Laughs &i;</title><guid>b1</guid><link>https://news.example/b1</link></item>
</channel></rss>"""

LATIN1 = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Diario</title>'
    "<item><title>Acusación en Venezuela</title><guid>l1</guid></item></channel></rss>"
).encode("latin-1")

GOOD = rss([Entry("g1", "Venezuela story")])


def poll_all(
    tmp_path: Path, server: FeedServer, routes: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Serve each route, run one `watcher run --once` with a 1 s timeout, return `feeds` JSON."""
    feeds = []
    for name, route in routes.items():
        body = route.pop("body")
        feeds.append({"url": server.set(f"/{name}", body, **route), "name": name})
    config = write_config(
        tmp_path,
        feeds=feeds,
        channels={"desk": "console://"},
        rules=RULES,
        defaults={"timeout": "1s"},
    )
    runner = CliRunner()
    ran = runner.invoke(cli, ["--config", str(config), "-q", "run", "--once"])
    assert ran.exit_code == 0, ran.output
    out = runner.invoke(cli, ["--config", str(config), "feeds", "--format", "json"]).stdout
    return {v["name"]: v for v in json.loads(out)}


def test_broken_responses_each_get_a_clear_reason_and_the_good_feed_still_works(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    views = poll_all(
        tmp_path,
        feed_server,
        {
            "malformed": {"body": b'<rss version="2.0"><channel><title>Broken</title></chan'},
            "html": {
                "body": b"<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body>",
                "content_type": "text/html; charset=utf-8",
            },
            "empty": {"body": b""},
            "json": {"body": b'{"error": "not here"}', "content_type": "application/json"},
            "stall": {"body": GOOD, "stall": 5.0},
            "endless": {"body": b"<rss><channel>", "endless": True},
            "gzip-bomb": {
                "body": gzip.compress(b"<rss>" + b" " * (64 * 1024 * 1024)),
                "headers": {"Content-Encoding": "gzip"},
            },
            "good": {"body": GOOD},
        },
    )
    reasons = {name: (v["status"], v["last_error"]) for name, v in views.items()}
    assert reasons["good"] == ("ok", None)
    assert reasons["malformed"][0] == "failing"
    assert reasons["malformed"][1].startswith("not a valid feed")
    assert reasons["html"] == ("failing", "not a feed: the URL returned an HTML page")
    assert reasons["empty"] == ("failing", "empty response: the server sent no feed")
    assert reasons["json"] == (
        "failing",
        "not a feed: the URL returned JSON (JSON Feed is not supported)",
    )
    assert reasons["stall"] == (
        "failing",
        "timed out: no complete response within 1s (the server stalled or is too slow)",
    )
    assert reasons["endless"] == ("failing", "response larger than 10 MiB (decoded): not read")
    assert reasons["gzip-bomb"] == ("failing", "response larger than 10 MiB (decoded): not read")
    for name, v in views.items():
        if v["status"] == "failing":
            assert v["reason"].startswith(v["last_error"]), name


def test_odd_but_readable_feeds_are_read(tmp_path: Path, feed_server: FeedServer) -> None:
    views = poll_all(
        tmp_path,
        feed_server,
        {
            # An RSS feed served as HTML, as bytes, as text: the content is what counts.
            "as-html": {"body": GOOD, "content_type": "text/html"},
            "as-octets": {"body": GOOD, "content_type": "application/octet-stream"},
            "as-text": {"body": GOOD, "content_type": "text/plain"},
            # Declares UTF-8 but is Latin-1.
            "latin1": {"body": LATIN1, "content_type": "application/rss+xml; charset=utf-8"},
            # Entities that would expand to gigabytes are not expanded.
            "bomb": {"body": BOMB},
        },
    )
    assert {n: (v["status"], v["items"]) for n, v in views.items()} == {
        "as-html": ("ok", 1),
        "as-octets": ("ok", 1),
        "as-text": ("ok", 1),
        "latin1": ("ok", 1),
        "bomb": ("ok", 1),
    }
    runner = CliRunner()
    config = tmp_path / "watcher.yaml"
    out = runner.invoke(cli, ["--config", str(config), "hits", "--format", "json"]).stdout
    # Latin-1 read right despite its label: its title is stored intact and matches.
    assert {h["title"] for h in json.loads(out)} == {"Venezuela story", "Acusación en Venezuela"}
    app = build(load(config))
    try:
        titles = {i.title for batch in app.store.iter_items(None) for _, i in batch}
    finally:
        app.close()
    bomb_title = next(t for t in titles if t.startswith("Laughs"))
    assert len(bomb_title) < 100
