"""feed:, link:, lang: and alias exclusions: the scopes beyond an item's text."""

from __future__ import annotations

import pytest

from watcher.models import Item
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_aliases, compile_rule

ALIASES = compile_aliases(
    {"khan": ["Karim Khan", "Khan"], "court": ["ICC"]},
    exclude={"khan": ["Imran", "Sadiq", "Shah Rukh", "Academy"]},
)


def item(title: str, link: str | None = None, language: str | None = None) -> Item:
    return Item(
        key="k",
        article_key="a",
        title=title,
        link=link,
        summary="",
        content="",
        published=None,
        language=language,
    )


def hits(
    query: str, it: Item, feed: tuple[str, ...] = (), lang: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    rules = RuleSet([compile_rule(RuleSpec("r", "R", query, lang=lang), ALIASES)])
    return [h.terms for h in rules.match(it, feed)]


@pytest.mark.parametrize(
    ("query", "feed", "matched"),
    [
        ("feed:bbc AND icc", ("BBC Mundo", "latam"), True),
        ('feed:"BBC Mundo" AND icc', ("BBC Mundo",), True),
        ("feed:latam AND icc", ("BBC Mundo", "latam", "es"), True),  # a tag
        ("feed:reuters AND icc", ("BBC Mundo", "latam"), False),
        ('feed:"mundo latam" AND icc', ("BBC Mundo", "latam"), False),  # no phrase across tags
        ("bbc AND icc", ("BBC Mundo",), False),  # the feed is not part of the text
        ("feed:(bbc OR reuters) AND icc", ("Reuters World",), True),
    ],
)
def test_feed_scope_matches_the_feed_name_and_tags(
    query: str, feed: tuple[str, ...], matched: bool
) -> None:
    assert bool(hits(query, item("The ICC rules"), feed)) is matched


@pytest.mark.parametrize(
    ("link", "matched"),
    [
        ("https://www.bbc.co.uk/mundo/articles/1", True),
        ("https://bbc.co.uk/news", True),
        ("https://news.bbc.co.uk/x", True),
        ("https://notbbc.co.uk/x", False),
        ("https://bbc.co.uk.evil.example/x", False),
        (None, False),
    ],
)
def test_link_scope_matches_a_domain_and_its_subdomains(link: str | None, matched: bool) -> None:
    assert bool(hits("icc AND link:bbc.co.uk", item("The ICC rules", link))) is matched


def test_link_domain_is_reported_as_a_matched_term() -> None:
    assert hits("icc AND link:bbc.co.uk", item("ICC", "https://www.bbc.co.uk/a")) == [
        ("ICC", "bbc.co.uk")
    ]


@pytest.mark.parametrize(
    ("language", "langs", "matched"),
    [
        ("es", ("es",), True),
        ("es-VE", ("es",), True),
        ("en-GB", ("es",), False),
        (None, ("es",), True),  # nobody declared a language: the rule still applies
        ("en", (), True),
        ("EN_us", ("en", "es"), True),
    ],
)
def test_lang_limits_a_rule_to_declared_languages(
    language: str | None, langs: tuple[str, ...], matched: bool
) -> None:
    assert bool(hits("icc", item("ICC", language=language), lang=langs)) is matched


@pytest.mark.parametrize(
    ("title", "terms"),
    [
        ("Prosecutor Karim Khan arrives", ("Karim Khan",)),
        ("Khan arrives in Caracas", ("Khan",)),
        ("Imran Khan arrested in Lahore", None),
        ("Sadiq Khan re-elected", None),
        ("Shah Rukh Khan film opens", None),
        ("Khan Academy adds courses", None),  # context after the alias refuses it too
        ("Imran Khan and prosecutor Karim Khan", ("Karim Khan",)),  # one refused, one kept
    ],
)
def test_alias_exclusions_refuse_a_match_with_that_context(
    title: str, terms: tuple[str, ...] | None
) -> None:
    found = hits("@khan", item(title))
    assert found == ([terms] if terms else [])


def test_rules_sharing_a_query_each_report_their_own_hit() -> None:
    """Many people watch the same thing: rules with one query are worked out once per item,
    and each still gets its own hit, with its own title and channels, and only where its own
    language limit allows."""
    specs = [
        RuleSpec("desk-a", "Desk A", '"Karim Khan"', notify=("email",)),
        RuleSpec("desk-b", "Desk B", '"karim khan"', notify=("slack",)),
        RuleSpec("desk-c", "Desk C", '"Karim Khan" AND Caracas'),
        RuleSpec("desk-d", "Desk D", '"Karim Khan" AND Caracas', lang=("es",)),
        RuleSpec("desk-e", "Desk E", '"Karim Khan" AND Caracas'),
        RuleSpec("desk-f", "Desk F", '"Karim Khan" AND Lima'),
    ]
    rules = RuleSet([compile_rule(s, ALIASES) for s in specs])
    found = rules.match(item("Karim KHAN lands in Caracas", language="en"))
    assert [(h.rule_id, h.rule_title, h.terms, h.notify) for h in found] == [
        ("desk-a", "Desk A", ("Karim KHAN",), ("email",)),
        ("desk-b", "Desk B", ("Karim KHAN",), ("slack",)),
        ("desk-c", "Desk C", ("Karim KHAN", "Caracas"), ()),
        ("desk-e", "Desk E", ("Karim KHAN", "Caracas"), ()),
    ]
