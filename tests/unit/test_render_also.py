"""Other outlets' copies of a story in its alert: listed in every format, their feed text
escaped like the rest (a title of ``<!channel>`` must not ping a Slack channel)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watcher.models import OtherSource, PendingAlert
from watcher.notify.render import render, render_batch

ALERT = PendingAlert(
    id=1,
    channel="desk",
    attempts=0,
    title="Venezuela frees political prisoners",
    link="https://wire.example/a",
    feed_name="Wire",
    published=datetime(2026, 11, 26, 9, tzinfo=UTC),
    summary="Venezuela released 40 political prisoners on Tuesday.",
    rules=(("venezuela", "Venezuela", ("Venezuela",)),),
    also=(
        OtherSource("Daily <b>News</b>", "<!channel> Venezuela releases prisoners", None, None),
        OtherSource("Post", "Prisoners freed", "https://post.example/b?x=1&y=2", None),
    ),
)


def test_text_lists_each_other_outlet_with_its_title_and_link() -> None:
    body = render(ALERT, "text").body
    assert "Also reported by:" in body
    assert "- Daily <b>News</b>: <!channel> Venezuela releases prisoners (no link)" in body
    assert "- Post: Prisoners freed https://post.example/b?x=1&y=2" in body


def test_markdown_escapes_the_other_outlets_text() -> None:
    body = render(ALERT, "markdown").body
    assert "**Also reported by:**" in body
    assert "<!channel>" not in body and "\\<\\!channel\\>" in body
    assert "[Prisoners freed](<https://post.example/b?x=1&y=2>)" in body


def test_html_escapes_the_other_outlets_text() -> None:
    body = render(ALERT, "html").body
    assert "<b>News</b>" not in body and "Daily &lt;b&gt;News&lt;/b&gt;" in body
    assert "&lt;!channel&gt;" in body
    assert '<a href="https://post.example/b?x=1&amp;y=2">Prisoners freed</a>' in body


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_an_alert_without_copies_lists_none(fmt: str) -> None:
    body = render(PendingAlert(**{**ALERT.__dict__, "also": ()}), fmt).body
    assert "Also reported by" not in body


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_digest_names_the_other_outlets_under_the_article(fmt: str) -> None:
    body = render_batch([ALERT], "digest", fmt).body
    assert "Post" in body and "Prisoners freed" in body
    assert "<!channel>" not in body or fmt == "text"
