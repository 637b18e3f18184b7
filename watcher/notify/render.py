"""Alerts as Slack mrkdwn, email HTML or plain text, from Jinja2 templates; feed text escaped.

Feed text is hostile until proven otherwise: a title of ``<!channel>`` must not ping a Slack
channel, ``<http://evil|click>`` must not become a link, and a summary holding ``<script>`` must
not reach an email as markup. So escaping is not left to whoever writes a template: every
``{{ value }}`` is escaped for the channel's kind on output (HTML autoescape for email, a
``finalize`` hook for mrkdwn and plain text), and only values we built ourselves (the snippet
with its highlights, a link) arrive pre-escaped as ``Markup``.

Templates come in three kinds (``KINDS``), each with an ``alert`` form (one article) and a
``batch`` form (a digest, or an hour's alerts over a rule's limit). The built-in ones ship in
``templates/``; the config may override any of them (``templates:``). All of them run in
Jinja2's immutable sandbox, since an override is user-supplied code. An override that fails
while rendering an alert costs nothing: the built-in renders it and the failure is logged.
"""

from __future__ import annotations

import difflib
import logging
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import (
    BaseLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from watcher.errors import ConfigError, Problem
from watcher.models import OtherSource, PendingAlert

log = logging.getLogger(__name__)

SNIPPET_CHARS = 280
KINDS = ("slack", "email", "text")  # Slack, email (mailto/mailtos), every other service
ROLES = ("alert", "batch")
BODY_FORMAT = {"slack": "markdown", "email": "html", "text": "text"}  # apprise's body_format
_BUILTIN = {
    ("slack", "alert"): "slack-alert.j2",
    ("slack", "batch"): "slack-batch.j2",
    ("email", "alert"): "email-alert.html.j2",
    ("email", "batch"): "email-batch.html.j2",
    ("text", "alert"): "text-alert.j2",
    ("text", "batch"): "text-batch.j2",
}
# The names a template may use, for the "unknown name" check at load time.
NAMES = {
    "alert": ("title", "link", "feed", "published", "rules", "terms", "snippet", "also"),
    "batch": ("title", "kind", "count", "groups"),
}


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    format: str  # "text" | "markdown" | "html": how apprise is to read ``body``


# -- escaping -----------------------------------------------------------------------------------

# Mass mentions in Slack, Discord, Mattermost, Rocket.Chat; a zero-width space after the "@"
# (as discord.py's escape_mentions does) leaves the word readable but no longer a mention.
_MASS_MENTION = re.compile(r"@(?=(?:here|channel|everyone|all|group)\b)", re.IGNORECASE)
# Slack's and Discord's control sequences (<!here>, <@U123>, <#C123>) in plain text.
_CONTROL = re.compile(r"<(?=[!@#])")
# Slack has no escape for its formatting characters: feed text gets look-alikes instead, so
# "*bold*" in a headline shows as U+2217 asterisk operators rather than bolding or unbalancing
# ours.
_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def defang(text: str) -> str:
    """``@here``, ``@channel``, ``@everyone`` ... shown, but never notifying anyone."""
    return _MASS_MENTION.sub("@\u200b", text)


def mrkdwn(text: str) -> str:
    """Feed text as literal Slack mrkdwn: ``&``, ``<``, ``>`` as entities (so no ``<!channel>``,
    ``<@U123>`` or ``<http://evil|click>`` can form), formatting characters as look-alikes."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return defang(text.translate(_LOOKALIKES))


def plain(text: str) -> str:
    """Feed text for plain-text services: mentions and ``<!...>``/``<@...>`` defanged. apprise
    escapes the rest for services that read Markdown or HTML."""
    return defang(_CONTROL.sub("<\u200b", text))


def safe_link(link: str | None) -> str | None:
    """An http(s) link with the characters that could break out of a link target encoded."""
    if not link:
        return None
    parts = urlsplit(link.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(link.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "unknown"


# -- snippets with highlighted terms -------------------------------------------------------------


def _terms_pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    """Any of ``terms`` as whole words, case-insensitively, whatever lies between a phrase's
    words (the matcher joins them across punctuation and line breaks too); longest first."""
    alternatives = []
    for term in sorted(set(terms), key=len, reverse=True):
        words = re.findall(r"\w+", term)
        if words:
            alternatives.append(r"\W+".join(re.escape(w) for w in words))
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def excerpt(text: str, terms: Sequence[str], limit: int = SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """A short window of ``text`` as (piece, is_a_matched_term) segments.

    The window shows the first matched term: it starts at the text's beginning when the term
    falls in the first ``limit`` characters, else a little before the term. Segments are raw
    text, so each kind escapes them and only then wraps the matches in its own markup: the
    highlight can never split an escape (an ``&amp;``) or be forged by the text.
    """
    text = " ".join(text.split())
    pattern = _terms_pattern(terms)
    spans = [m.span() for m in pattern.finditer(text)] if pattern else []
    start = 0
    if len(text) > limit and spans and spans[0][1] > limit:
        start = max(0, spans[0][0] - limit // 4)
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < spans[0][0] else start
    end = len(text)
    if end - start > limit:
        space = text.rfind(" ", start, start + limit)
        end = space if space > start else start + limit
    segments: list[tuple[str, bool]] = [("… ", False)] if start else []
    at = start
    for a, b in spans:
        a, b = max(a, start), min(b, end)
        if a >= b:
            continue
        if a > at:
            segments.append((text[at:a], False))
        segments.append((text[a:b], True))
        at = b
    if at < end:
        segments.append((text[at:end], False))
    if end < len(text):
        segments.append((" …", False))
    return segments


def _snippet(kind: str, text: str, terms: Sequence[str]) -> Markup:
    parts = []
    for piece, hit in excerpt(text, terms):
        if kind == "slack":
            parts.append(f"*{mrkdwn(piece)}*" if hit else mrkdwn(piece))
        elif kind == "email":
            parts.append(f"<mark>{escape(piece)}</mark>" if hit else str(escape(piece)))
        else:  # plain text: the terms are listed under "Matched:"; no markers to misread
            parts.append(plain(piece))
    return Markup("".join(parts))


# -- template context -----------------------------------------------------------------------------


def _one_line(text: str | None, default: str) -> str:
    return " ".join((text or "").split()) or default


def _link(kind: str, link: str | None) -> str | None:
    """The safe link as the kind's template wants it: for mrkdwn ``&`` is an entity even in a
    URL; in HTML autoescape handles it; in plain text it is the URL itself."""
    url = safe_link(link)
    if url is None:
        return None
    if kind == "slack":
        return Markup(url.replace("&", "&amp;"))
    return url if kind == "email" else Markup(url)


def _others(kind: str, also: Sequence[OtherSource]) -> list[dict[str, Any]]:
    return [
        {
            "feed": _one_line(o.feed_name, "(unnamed feed)"),
            "title": _one_line(o.title, "(untitled)"),
            "link": _link(kind, o.link),
            "published": when(o.published) if o.published else None,
        }
        for o in also
    ]


def _terms(alert: PendingAlert) -> list[str]:
    terms: list[str] = []
    for _id, _title, rule_terms in alert.rules:
        terms.extend(t for t in rule_terms if t not in terms)
    return terms


def alert_context(kind: str, alert: PendingAlert) -> dict[str, Any]:
    """What an ``alert`` template sees (documented in README.md, "Alert templates")."""
    terms = _terms(alert)
    return {
        "title": _one_line(alert.title, "(untitled)"),
        "link": _link(kind, alert.link),
        "feed": _one_line(alert.feed_name, "(unnamed feed)"),
        "published": when(alert.published),
        "rules": [title for _id, title, _terms in alert.rules],
        "terms": terms,
        "snippet": _snippet(kind, alert.summary, terms) if alert.summary.strip() else "",
        "also": _others(kind, alert.also),
    }


def batch_title(alerts: Sequence[PendingAlert], kind: str, channel_limit: bool = False) -> str:
    n = len(alerts)
    articles = f"{n} article{'s' if n != 1 else ''}"
    if kind == "fold" and channel_limit:  # alerts of any rules, over the channel's own limit
        return f"{n} more alert{'s' if n != 1 else ''} this hour (over this channel's hourly limit)"
    if kind == "fold":
        rule = alerts[0].rules[0][1] if alerts[0].rules else "a rule"
        return f"{rule}: {n} more alert{'s' if n != 1 else ''} this hour (over its hourly limit)"
    return f"watcher digest: {articles}"


def batch_context(
    kind: str, alerts: Sequence[PendingAlert], batch: str, channel_limit: bool = False
) -> dict[str, Any]:
    """What a ``batch`` template sees: articles grouped under the first rule (of each alert)
    that sent them, in rule order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        rule = alert.rules[0][1] if alert.rules else "(no rule)"
        article = alert_context(kind, alert)
        del article["snippet"]  # a digest lists articles; it does not quote them
        groups.setdefault(_one_line(rule, "(no rule)"), []).append(article)
    return {
        "title": batch_title(alerts, batch, channel_limit),
        "kind": batch,
        "count": len(alerts),
        "groups": [{"rule": rule, "articles": items} for rule, items in groups.items()],
    }


# -- environments and templates ----------------------------------------------------------------


def _finalizer(escaper: Callable[[str], str]) -> Callable[[Any], Any]:
    def finalize(value: Any) -> Any:
        if value is None:
            return ""
        if hasattr(value, "__html__"):  # Markup: built (and escaped) by us, or |safe
            return value
        return escaper(str(value))

    return finalize


def _environment(kind: str, loader: BaseLoader) -> ImmutableSandboxedEnvironment:
    """The sandbox a kind's templates run in, escaping every value on output for that kind."""
    options: dict[str, Any] = {
        "loader": loader,
        "undefined": StrictUndefined,  # a misspelt name is an error, not silently empty
        "trim_blocks": True,
        "lstrip_blocks": True,
        "auto_reload": False,
    }
    if kind == "email":
        env = ImmutableSandboxedEnvironment(
            autoescape=True, finalize=lambda v: "" if v is None else v, **options
        )
    else:
        escaper = mrkdwn if kind == "slack" else plain
        env = ImmutableSandboxedEnvironment(
            autoescape=False, finalize=_finalizer(escaper), **options
        )
    env.filters["mrkdwn"] = lambda v: Markup(mrkdwn(str(v)))
    env.filters["plain"] = lambda v: Markup(plain(str(v)))
    return env


_BUILTINS: dict[tuple[str, str], Template] = {}


def builtin(kind: str, role: str) -> Template:
    """A built-in template, loaded from the package (so an installed wheel has them)."""
    key = (kind, role)
    if key not in _BUILTINS:
        env = _environment(kind, PackageLoader("watcher.notify", "templates"))
        _BUILTINS[key] = env.get_template(_BUILTIN[key])
    return _BUILTINS[key]


class TemplateProblem(Exception):
    """A template override that cannot be used: its line (None: the file as a whole) and why."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _failing_line(exc: BaseException, path: Path) -> int | None:
    """The template line a render failed on (Jinja2 maps its frames to template lines)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else None


def load_template(path: Path, kind: str, role: str) -> Template:
    """Compile a user's template and try it on sample alerts; raise ``TemplateProblem``.

    The trial render catches, at load time, what would otherwise fail on the first real alert:
    a misspelt name, an attribute that does not exist, a sandbox refusal.
    """
    env = _environment(kind, FileSystemLoader(str(path.parent)))
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateProblem(None, f"template file not found: {path}") from None
    except UnicodeDecodeError:
        raise TemplateProblem(None, "not UTF-8 text") from None
    except OSError as exc:
        raise TemplateProblem(None, f"cannot read the template: {exc.strerror}") from None
    try:
        tree = env.parse(source, path.name, str(path))
        template = env.get_template(path.name)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.lineno, f"template syntax: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(None, f"template: {exc}") from None
    allowed = NAMES[role]
    for name in sorted(meta.find_undeclared_variables(tree)):
        if name in allowed or name in env.globals:
            continue
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), None)
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise TemplateProblem(
            line, f'unknown name "{name}"{hint} ({role} templates have: {", ".join(allowed)})'
        )
    samples = [sample_alert("check"), sample_alert("check", also=False)]
    try:
        if role == "alert":
            for alert in samples:
                template.render(alert_context(kind, alert))
        else:
            for batch in ("digest", "fold"):
                template.render(batch_context(kind, samples, batch))
    except Exception as exc:  # any failure of user code is a problem to report, not a crash
        raise TemplateProblem(
            _failing_line(exc, path), f"fails on a sample alert: {type(exc).__name__}: {exc}"
        ) from None
    return template


@dataclass(frozen=True)
class Style:
    """How one channel's alerts look: its kind, and the user's templates that replace the
    built-in ones (by role, with the file they came from, for the log)."""

    kind: str
    overrides: Mapping[str, tuple[Path, Template]] = field(default_factory=dict)

    def render(self, role: str, context: dict[str, Any], what: str) -> str:
        override = self.overrides.get(role)
        if override is not None:
            path, template = override
            try:
                return template.render(context).strip()
            except Exception as exc:  # user code: never lose the alert over it
                line = _failing_line(exc, path)
                log.warning(
                    "template %s%s failed on %s (%s: %s); sent with the built-in template",
                    path,
                    f":{line}" if line else "",
                    what,
                    type(exc).__name__,
                    exc,
                )
        return builtin(self.kind, role).render(context).strip()


def check_template(path: Path, kind: str, role: str) -> list[tuple[int | None, str]]:
    """What is wrong with a template override ((line, message); none when it is usable): for
    ``settings.load_settings``, so ``watcher check`` and a reload report it at its line."""
    try:
        load_template(path, kind, role)
    except TemplateProblem as exc:
        return [(exc.line, exc.message)]
    return []


def load_style(kind: str, files: Mapping[str, Path]) -> Style:
    """A kind's style with the user's templates (``files``: role -> path) loaded and tried;
    ``ConfigError`` if one broke since the settings were checked."""
    overrides = {}
    for role, path in files.items():
        try:
            overrides[role] = (path, load_template(path, kind, role))
        except TemplateProblem as exc:
            raise ConfigError([Problem(str(path), exc.line or 1, exc.message)]) from None
    return Style(kind, overrides)


def _title(kind: str, text: str) -> str:
    """A message title: plain text for every kind (apprise escapes it for Slack's title field,
    and an email subject is no markup); mentions are defanged wherever a chat shows it."""
    if kind == "text":
        return plain(text)
    return defang(text) if kind == "slack" else text


def render(alert: PendingAlert, style: Style) -> Rendered:
    """One article, as its channel's kind wants it."""
    body = style.render("alert", alert_context(style.kind, alert), f"alert {alert.id}")
    title = _title(style.kind, _one_line(alert.title, "(untitled)"))
    return Rendered(title, body, BODY_FORMAT[style.kind])


def render_batch(
    alerts: Sequence[PendingAlert], batch: str, style: Style, channel_limit: bool = False
) -> Rendered:
    """One message for many alerts (``batch``: "digest", or "fold" for an hour's alerts over a
    rule's limit, or with ``channel_limit`` over the channel's): the articles listed under their
    rules, each with its link, feed, time."""
    context = batch_context(style.kind, alerts, batch, channel_limit)
    body = style.render("batch", context, f"{batch} of {len(alerts)} alerts")
    return Rendered(_title(style.kind, context["title"]), body, BODY_FORMAT[style.kind])


def render_notice(subject: str, body: str, style: Style) -> Rendered:
    """An operator alert: our own text, but quoting feed names and servers' messages, so it is
    escaped like feed text. Not templated: it says what broke and how to fix it."""
    if style.kind == "slack":
        text = mrkdwn(body)
    elif style.kind == "email":
        text = str(escape(body)).replace("\n", "<br>\n")
    else:
        text = plain(body)
    return Rendered(_title(style.kind, subject), text, BODY_FORMAT[style.kind])


def sample_alert(channel: str, also: bool = True) -> PendingAlert:
    """The alert ``watcher notify-test`` sends: shaped like a real one, plainly a test."""
    return PendingAlert(
        id=0,
        channel=channel,
        attempts=0,
        title="watcher test alert: this channel works",
        link="https://example.org/watcher-test",
        feed_name="watcher notify-test",
        published=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        summary="A sample alert sent by watcher notify-test. Real alerts look like this one: "
        "the words that matched a rule are highlighted in this test snippet.",
        rules=(("notify-test", "Channel check", ("test",)),),
        also=(
            (
                OtherSource(
                    "Another outlet",
                    "The same story, reported elsewhere",
                    "https://example.net/watcher-test",
                    None,
                ),
            )
            if also
            else ()
        ),
    )
