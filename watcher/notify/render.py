"""Alerts as text, Slack-flavoured Markdown, or HTML; feed text is escaped for each.

Feed text is hostile until proven otherwise: a title of ``<!channel>`` must not ping a Slack
channel and a summary holding ``<script>`` must not reach an email as markup. Every piece of feed
text goes through the escaper of the target format; only our own markup is left unescaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from watcher.models import PendingAlert

SNIPPET_CHARS = 280
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&@:])")


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    format: str  # "text" | "markdown" | "html"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "unknown"


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def safe_link(link: str | None) -> str | None:
    """An http(s) link with the characters that could break out of a link target encoded."""
    if not link:
        return None
    parts = urlsplit(link.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(link.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")


def md_escape(text: str) -> str:
    """Backslash-escape CommonMark punctuation, so feed text renders literally."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _parts(alert: PendingAlert) -> tuple[str, str, list[str]]:
    rules = [title for _id, title, _terms in alert.rules]
    terms: list[str] = []
    for _id, _title, rule_terms in alert.rules:
        terms.extend(t for t in rule_terms if t not in terms)
    return alert.title or "(untitled)", ", ".join(rules), terms


def render_text(alert: PendingAlert) -> Rendered:
    title, rules, terms = _parts(alert)
    lines = [
        title,
        alert.link or "(no link)",
        f"Feed: {alert.feed_name} | Published: {when(alert.published)}",
        f"Rules: {rules}",
        f"Matched: {', '.join(terms)}",
    ]
    if alert.summary:
        lines += ["", snippet(alert.summary)]
    if alert.also:  # story grouping: the other outlets' copies
        lines += ["", "Also reported by:"]
        lines += [
            f"- {o.feed_name}: {o.title or '(untitled)'} {o.link or '(no link)'}"
            for o in alert.also
        ]
    return Rendered(title, "\n".join(lines), "text")


def render_markdown(alert: PendingAlert) -> Rendered:
    title, rules, terms = _parts(alert)
    link = safe_link(alert.link)
    head = f"**[{md_escape(title)}](<{link}>)**" if link else f"**{md_escape(title)}**"
    lines = [
        head,
        f"**Feed:** {md_escape(alert.feed_name)} · **Published:** {when(alert.published)}",
        f"**Rules:** {md_escape(rules)}",
        f"**Matched:** {md_escape(', '.join(terms))}",
    ]
    if alert.summary:
        lines += ["", md_escape(snippet(alert.summary))]
    if alert.also:  # story grouping: the other outlets' copies
        lines += ["", "**Also reported by:**"]
        for o in alert.also:
            t, link = md_escape(o.title or "(untitled)"), safe_link(o.link)
            lines.append(f"- {md_escape(o.feed_name)}: " + (f"[{t}](<{link}>)" if link else t))
    return Rendered(title, "\n".join(lines), "markdown")


def render_html(alert: PendingAlert) -> Rendered:
    title, rules, terms = _parts(alert)
    e = html.escape
    link = safe_link(alert.link)
    head = (
        f'<h2><a href="{e(link)}">{e(title)}</a></h2>\n<p><a href="{e(link)}">{e(link)}</a></p>'
        if link
        else f"<h2>{e(title)}</h2>"
    )
    parts = [
        head,
        f"<p><b>Feed:</b> {e(alert.feed_name)}<br>\n<b>Published:</b> {when(alert.published)}<br>",
        f"<b>Rules:</b> {e(rules)}<br>\n<b>Matched:</b> {e(', '.join(terms))}</p>",
    ]
    if alert.summary:
        parts.append(f"<p>{e(snippet(alert.summary))}</p>")
    if alert.also:  # story grouping: the other outlets' copies
        parts.append("<p><b>Also reported by:</b></p>\n<ul>")
        for o in alert.also:
            t, link = e(o.title or "(untitled)"), safe_link(o.link)
            head = f'<a href="{e(link)}">{t}</a>' if link else t
            parts.append(f"<li>{e(o.feed_name)}: {head}</li>")
        parts.append("</ul>")
    return Rendered(title, "\n".join(parts), "html")


def sample_alert(channel: str) -> PendingAlert:
    """The alert ``watcher notify-test`` sends: shaped like a real one, plainly a test."""
    return PendingAlert(
        id=0,
        channel=channel,
        attempts=0,
        title="watcher test alert: this channel works",
        link="https://example.org/watcher-test",
        feed_name="watcher notify-test",
        published=None,
        summary="A sample alert sent by `watcher notify-test`. Real alerts look like this one.",
        rules=(("notify-test", "Channel check", ("test",)),),
    )


def _by_rule(alerts: Sequence[PendingAlert]) -> list[tuple[str, list[PendingAlert]]]:
    """Articles grouped under the first rule (of each alert) that sent them, in rule order."""
    groups: dict[str, list[PendingAlert]] = {}
    for alert in alerts:
        title = alert.rules[0][1] if alert.rules else "(no rule)"
        groups.setdefault(title, []).append(alert)
    return list(groups.items())


def batch_title(alerts: Sequence[PendingAlert], kind: str) -> str:
    n = len(alerts)
    articles = f"{n} article{'s' if n != 1 else ''}"
    if kind == "fold":
        rule = alerts[0].rules[0][1] if alerts[0].rules else "a rule"
        return f"{rule}: {n} more alert{'s' if n != 1 else ''} this hour (over its hourly limit)"
    return f"watcher digest: {articles}"


def render_batch(alerts: Sequence[PendingAlert], kind: str, fmt: str) -> Rendered:
    """One message for many alerts (a digest, or an hour's alerts over a rule's limit): the
    articles listed under their rules, each with its link, feed and published time."""
    title = batch_title(alerts, kind)
    groups = _by_rule(alerts)
    if fmt == "html":
        e = html.escape
        parts = []
        for rule, items in groups:
            parts.append(f"<h3>{e(rule)} ({len(items)})</h3>\n<ul>")
            for a in items:
                link = safe_link(a.link)
                head = (
                    f'<a href="{e(link)}">{e(a.title or "(untitled)")}</a>'
                    if link
                    else e(a.title or "(untitled)")
                )
                also = "".join(f"<br>also: {e(o.feed_name)}: {e(o.title)}" for o in a.also)
                parts.append(f"<li>{head} · {e(a.feed_name)} · {when(a.published)}{also}</li>")
            parts.append("</ul>")
        return Rendered(title, "\n".join(parts), "html")
    if fmt == "markdown":
        lines = []
        for rule, items in groups:
            lines += [f"**{md_escape(rule)}** ({len(items)})"]
            for a in items:
                link = safe_link(a.link)
                t = md_escape(a.title or "(untitled)")
                head = f"[{t}](<{link}>)" if link else t
                lines.append(f"- {head} · {md_escape(a.feed_name)} · {when(a.published)}")
                lines += [f"  - also: {md_escape(f'{o.feed_name}: {o.title}')}" for o in a.also]
            lines.append("")
        return Rendered(title, "\n".join(lines).rstrip(), "markdown")
    lines = []
    for rule, items in groups:
        lines.append(f"{rule} ({len(items)})")
        for a in items:
            lines.append(f"- {a.title or '(untitled)'}")
            lines.append(f"  {a.link or '(no link)'} | {a.feed_name} | {when(a.published)}")
            lines += [f"  also: {o.feed_name}: {o.title} {o.link or ''}" for o in a.also]
        lines.append("")
    return Rendered(title, "\n".join(lines).rstrip(), "text")


RENDERERS = {"text": render_text, "markdown": render_markdown, "html": render_html}


def render(alert: PendingAlert, fmt: str) -> Rendered:
    """Render for a channel that prefers ``fmt``; unknown formats get plain text."""
    return RENDERERS.get(fmt, render_text)(alert)
