"""Rendering: every built-in template against hostile feed text (golden bodies), highlighting
after escaping, the snippet window, and user templates that are broken at load or at render."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from watcher.models import OtherSource, PendingAlert
from watcher.notify.render import (
    KINDS,
    Style,
    TemplateProblem,
    excerpt,
    load_style,
    load_template,
    render,
    render_batch,
    render_notice,
)

ZW = "\u200b"

HOSTILE = PendingAlert(
    id=7,
    channel="desk",
    attempts=0,
    title="<!channel> *ICC* rules on <http://evil.example|Venezuela> <script>x</script> @here",
    link="https://news.example/a?id=1&x=<2>|3",
    feed_name="<b>Desk</b> _wire_",
    published=datetime(2021, 11, 4, 10, 0, tzinfo=UTC),
    summary='"><img src=x onerror=alert(1)> The ICC & Venezuela: <@U123> ~said~ `x` @everyone.',
    rules=(("icc", "ICC <Venezuela>", ("ICC", "Venezuela")),),
    also=(
        OtherSource("<!here> Mirror", "Copy <b>bold</b>", "javascript:alert(1)", None),
        OtherSource(
            "Wire & Co",
            "[x](http://evil.example)",
            "https://wire.example/s?a=1&b=2",
            datetime(2021, 11, 4, 11, 30, tzinfo=UTC),
        ),
    ),
)

GOLDEN_ALERT = {
    "slack": (
        "*<https://news.example/a?id=1&amp;x=%3C2%3E%7C3|&lt;!channel&gt; \u2217ICC\u2217 rules on "
        "&lt;http://evil.example|Venezuela&gt; &lt;script&gt;x&lt;/script&gt; @\u200bhere>*\n"
        "*Feed:* &lt;b&gt;Desk&lt;/b&gt; \u02cdwire\u02cd · *Published:* 2021-11-04 10:00 UTC\n"
        "*Rules:* ICC &lt;Venezuela&gt;\n"
        "*Matched:* ICC, Venezuela\n"
        '> "&gt;&lt;img src=x onerror=alert(1)&gt; The *ICC* &amp; *Venezuela*: &lt;@U123&gt; '
        "\u223csaid\u223c \u02cbx\u02cb @\u200beveryone.\n"
        "*Also reported by:*\n"
        "• &lt;!here&gt; Mirror: Copy &lt;b&gt;bold&lt;/b&gt;\n"
        "• Wire &amp; Co: <https://wire.example/s?a=1&amp;b=2|[x](http://evil.example)> "
        "(2021-11-04 11:30 UTC)"
    ),
    "email": (
        '<h2><a href="https://news.example/a?id=1&amp;x=%3C2%3E%7C3">&lt;!channel&gt; *ICC* '
        "rules on &lt;http://evil.example|Venezuela&gt; &lt;script&gt;x&lt;/script&gt; @here"
        "</a></h2>\n"
        '<p><a href="https://news.example/a?id=1&amp;x=%3C2%3E%7C3">'
        "https://news.example/a?id=1&amp;x=%3C2%3E%7C3</a></p>\n"
        "<p><b>Feed:</b> &lt;b&gt;Desk&lt;/b&gt; _wire_<br>\n"
        "<b>Published:</b> 2021-11-04 10:00 UTC<br>\n"
        "<b>Rules:</b> ICC &lt;Venezuela&gt;<br>\n"
        "<b>Matched:</b> ICC, Venezuela</p>\n"
        "<p>&#34;&gt;&lt;img src=x onerror=alert(1)&gt; The <mark>ICC</mark> &amp; "
        "<mark>Venezuela</mark>: &lt;@U123&gt; ~said~ `x` @everyone.</p>\n"
        "<p><b>Also reported by:</b></p>\n"
        "<ul>\n"
        "<li>&lt;!here&gt; Mirror: Copy &lt;b&gt;bold&lt;/b&gt;</li>\n"
        '<li>Wire &amp; Co: <a href="https://wire.example/s?a=1&amp;b=2">'
        "[x](http://evil.example)</a> (2021-11-04 11:30 UTC)<br>"
        "https://wire.example/s?a=1&amp;b=2</li>\n"
        "</ul>"
    ),
    "text": (
        "<\u200b!channel> *ICC* rules on <http://evil.example|Venezuela> <script>x</script> "
        "@\u200bhere\n"
        "https://news.example/a?id=1&x=%3C2%3E%7C3\n"
        "Feed: <b>Desk</b> _wire_ | Published: 2021-11-04 10:00 UTC\n"
        "Rules: ICC <Venezuela>\n"
        "Matched: ICC, Venezuela\n"
        "\n"
        '"><img src=x onerror=alert(1)> The ICC & Venezuela: <\u200b@U123> ~said~ `x` '
        "@\u200beveryone.\n"
        "\n"
        "Also reported by:\n"
        "- <\u200b!here> Mirror: Copy <b>bold</b>\n"
        "  (no link)\n"
        "- Wire & Co: [x](http://evil.example) (2021-11-04 11:30 UTC)\n"
        "  https://wire.example/s?a=1&b=2"
    ),
}

GOLDEN_FOLD = {
    "slack": (
        "*ICC &lt;Venezuela&gt;* (1)\n"
        "• <https://news.example/a?id=1&amp;x=%3C2%3E%7C3|&lt;!channel&gt; "
        "\u2217ICC\u2217 rules on "
        "&lt;http://evil.example|Venezuela&gt; &lt;script&gt;x&lt;/script&gt; @\u200bhere> · "
        "&lt;b&gt;Desk&lt;/b&gt; \u02cdwire\u02cd · 2021-11-04 10:00 UTC\n"
        "    also reported by: &lt;!here&gt; Mirror, "
        "<https://wire.example/s?a=1&amp;b=2|Wire &amp; Co>"
    ),
    "email": (
        "<h3>ICC &lt;Venezuela&gt; (1)</h3>\n"
        "<ul>\n"
        '<li><a href="https://news.example/a?id=1&amp;x=%3C2%3E%7C3">&lt;!channel&gt; *ICC* '
        "rules on &lt;http://evil.example|Venezuela&gt; &lt;script&gt;x&lt;/script&gt; @here</a>"
        " · &lt;b&gt;Desk&lt;/b&gt; _wire_ · 2021-11-04 10:00 UTC<br>"
        "https://news.example/a?id=1&amp;x=%3C2%3E%7C3<br>Also reported by: &lt;!here&gt; "
        'Mirror, <a href="https://wire.example/s?a=1&amp;b=2">Wire &amp; Co</a>\n'
        "</li>\n"
        "</ul>"
    ),
    "text": (
        "ICC <Venezuela> (1)\n"
        "- <\u200b!channel> *ICC* rules on <http://evil.example|Venezuela> <script>x</script> "
        "@\u200bhere\n"
        "  https://news.example/a?id=1&x=%3C2%3E%7C3 | <b>Desk</b> _wire_ | 2021-11-04 10:00 UTC\n"
        "  also reported by: <\u200b!here> Mirror: Copy <b>bold</b> (no link)\n"
        "  also reported by: Wire & Co: [x](http://evil.example) https://wire.example/s?a=1&b=2"
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_golden_alert_with_hostile_feed_text(kind: str) -> None:
    rendered = render(HOSTILE, Style(kind))
    assert rendered.body == GOLDEN_ALERT[kind]
    assert rendered.format == {"slack": "markdown", "email": "html", "text": "text"}[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_golden_hourly_summary_with_hostile_feed_text(kind: str) -> None:
    rendered = render_batch([HOSTILE], "fold", Style(kind))
    assert rendered.body == GOLDEN_FOLD[kind]
    assert rendered.title.endswith(": 1 more alert this hour (over its hourly limit)")


def _slack_controls(body: str) -> list[str]:
    """Every ``<...>`` sequence Slack would read as a control (link, mention, command)."""
    out, at = [], body.find("<")
    while at >= 0:
        end = body.find(">", at)
        out.append(body[at : end + 1])
        at = body.find("<", at + 1)
    return out


HOSTILE_TEXTS = [
    "<!channel>",
    "<!here|here>",
    "<@U123>",
    "<#C123|general>",
    "<http://evil.example|click me>",
    "<mailto:x@evil.example|mail>",
    "@here @channel @everyone",
    "*bold* _it_ ~strike~ `code`",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "&lt;!channel&gt; &amp;",
    "[click](javascript:alert(1))",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_no_feed_text_forms_a_slack_control_or_mention(text: str) -> None:
    """Whatever the feed says, the only <...> in a Slack body are our own links."""
    alert = PendingAlert(
        1, "c", 0, text, "https://ok.example/a", text, None, f"{text} ICC {text}",
        rules=(("r", text, ("ICC",)),),
        also=(OtherSource(text, text, "https://ok.example/b", None),),
    )  # fmt: skip
    style = Style("slack")
    for rendered in (render(alert, style), render_batch([alert], "digest", style)):
        controls = _slack_controls(rendered.body)
        assert controls and all(c.startswith("<https://ok.example/") for c in controls)
        for mention in ("@here", "@channel", "@everyone"):
            assert mention not in rendered.body and mention not in rendered.title
        assert "*bold*" not in rendered.body and "`code`" not in rendered.body


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_no_feed_text_forms_an_html_tag_or_attribute(text: str) -> None:
    alert = PendingAlert(
        1, "c", 0, text, "https://ok.example/a", text, None, f"{text} ICC {text}",
        rules=(("r", text, ("ICC",)),),
        also=(OtherSource(text, text, "https://ok.example/b", None),),
    )  # fmt: skip
    style = Style("email")
    for rendered in (render(alert, style), render_batch([alert], "digest", style)):
        parser = _Tags()
        parser.feed(rendered.body)
        ours = {"h2", "h3", "a", "p", "b", "br", "mark", "ul", "li"}
        assert {tag for tag, _ in parser.tags} <= ours
        for tag, attrs in parser.tags:
            assert attrs == [] or (tag == "a" and attrs[0][0] == "href" and len(attrs) == 1)
            if tag == "a":
                assert str(attrs[0][1]).startswith("https://ok.example/")


def test_plain_text_defangs_mentions_and_control_sequences_only() -> None:
    alert = PendingAlert(1, "c", 0, "<!here> @channel AT&T *x*", None, "F", None, "")
    rendered = render(alert, Style("text"))
    assert rendered.title == f"<{ZW}!here> @{ZW}channel AT&T *x*"
    assert rendered.body.splitlines()[:2] == [rendered.title, "(no link)"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("slack", "Deal: *AT&amp;T* &lt; *lt* and a &lt; b"),
        ("email", "Deal: <mark>AT&amp;T</mark> &lt; <mark>lt</mark> and a &lt; b"),
        ("text", "Deal: AT&T < lt and a < b"),
    ],
)
def test_terms_are_highlighted_after_escaping_never_inside_an_escape(
    kind: str, expected: str
) -> None:
    """A term is found in the feed's own text and each piece escaped on its own: "lt" is
    highlighted where the text says lt, never inside the ``&lt;`` the escaping made."""
    alert = PendingAlert(
        1, "c", 0, "t", None, "F", None, "Deal: AT&T < lt and a < b",
        rules=(("r", "R", ("AT&T", "lt")),),
    )  # fmt: skip
    body = render(alert, Style(kind)).body
    assert expected in body


def test_the_snippet_is_short_and_shows_the_first_matched_term() -> None:
    text = "filler " * 100 + "La Corte Penal\nInternacional abrió la investigación " + "x " * 200
    segments = excerpt(text, ["Corte Penal Internacional"])
    shown = "".join(piece for piece, _ in segments)
    assert shown.startswith("… ") and shown.endswith(" …") and len(shown) <= 285
    assert [piece for piece, hit in segments if hit] == ["Corte Penal Internacional"]
    # Near the start: the window starts with the text.
    assert excerpt("ICC opens a case. " + "x " * 300, ["ICC"])[0] == ("ICC", True)


def test_an_operator_notice_is_escaped_for_each_kind() -> None:
    body = 'Feed "<!channel>" failed: <b>500</b> & @here\nrun `watcher alerts retry 3`'
    slack = render_notice("s", body, Style("slack")).body
    assert "<" not in slack and f"@{ZW}here" in slack and "&amp;" in slack
    html = render_notice("s", body, Style("email")).body
    assert "<b>500" not in html and "&lt;b&gt;500" in html and "<br>\n" in html
    assert render_notice("s", body, Style("text")).body.startswith(f'Feed "<{ZW}!channel>"')


# -- user templates -------------------------------------------------------------------------------


def _template(tmp_path: Path, text: str, name: str = "mine.j2") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("{{ title }}\n{% if link %}\n{{ link }}\n", 3, "template syntax: Unexpected end"),
        ("{{ title }}\n\n{{ titel }}\n", 3, 'unknown name "titel"; did you mean "title"?'),
        ("ok\n{{ rules[3].upper() }}\n", 2, "fails on a sample alert: UndefinedError"),
        ("{{ title.__class__.__mro__ }}\n", 1, "fails on a sample alert: "),
        ("{% for x in also %}{{ x.feed.mro() }}{% endfor %}\n", 1, "fails on a sample alert: "),
    ],
)
def test_a_broken_template_is_refused_at_load_with_its_line(
    tmp_path: Path, source: str, line: int, message: str
) -> None:
    with pytest.raises(TemplateProblem) as caught:
        load_template(_template(tmp_path, source), "slack", "alert")
    assert caught.value.line == line
    assert message in caught.value.message


def test_the_sandbox_refuses_reaching_python_internals(tmp_path: Path) -> None:
    source = "{{ feed.__class__.__base__.__subclasses__() }}"
    with pytest.raises(TemplateProblem, match="fails on a sample alert"):
        load_template(_template(tmp_path, source), "text", "alert")


def test_a_batch_template_knows_the_batch_names_only(tmp_path: Path) -> None:
    with pytest.raises(TemplateProblem, match=r'unknown name "snippet".*count, groups'):
        load_template(_template(tmp_path, "{{ snippet }}"), "email", "batch")
    good = "{{ count }} {{ kind }}: {% for g in groups %}{{ g.rule }} {% endfor %}"
    assert load_template(_template(tmp_path, good), "email", "batch") is not None


def test_a_template_that_fails_on_a_real_alert_falls_back_to_the_built_in(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The sample alerts carry one other source or none; this template breaks on two. The
    alert still goes out, with the built-in template, and the log says which line failed."""
    source = "{{ title }}\n{% if also|length > 1 %}{{ also[5].feed }}{% endif %}\n"
    path = _template(tmp_path, source)
    style = load_style("slack", {"alert": path})
    single = PendingAlert(1, "c", 0, "Only one", None, "F", None, "", also=HOSTILE.also[:1])
    assert render(single, style).body == "Only one"
    with caplog.at_level(logging.WARNING):
        rendered = render(HOSTILE, style)
    assert rendered.body == GOLDEN_ALERT["slack"]
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"template {path}:2 failed on alert 7" in record.getMessage()
    assert "sent with the built-in template" in record.getMessage()


def test_user_templates_escape_feed_text_too(tmp_path: Path) -> None:
    """A template author who writes {{ title }} gets it escaped for the kind; |safe is the
    only way out, and it is theirs to write."""
    slack = load_style("slack", {"alert": _template(tmp_path, "NEW: {{ title }}", "s.j2")})
    assert render(HOSTILE, slack).body.startswith("NEW: &lt;!channel&gt; \u2217ICC\u2217")
    html = load_style("email", {"alert": _template(tmp_path, "<i>{{ title }}</i>", "e.j2")})
    assert render(HOSTILE, html).body.startswith("<i>&lt;!channel&gt; *ICC* rules")
