"""Every real-world feed file in ../shared/corpus goes through the parser and the matcher.

A crash on a strange feed is a bug, and so is calling a feed broken when it has entries: that
would silently drop its alerts. The corpus is read in place and skipped when absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import SHARED
from watcher.parser import parse_feed
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_aliases, compile_rule

CORPUS = SHARED / "corpus"
FEED_DIRS = ("feedparser-suite", "real-feeds", "other-fixtures")
FILES = sorted(
    p for d in FEED_DIRS if (CORPUS / d).is_dir() for p in (CORPUS / d).rglob("*") if p.is_file()
)

RULES = RuleSet(
    [
        compile_rule(
            RuleSpec("icc", "ICC", '(ICC OR "Corte Penal Internacional") AND Venezuela*'), {}
        ),
        compile_rule(
            RuleSpec(
                "near",
                "near",
                "@khan NEAR/5 (prosecutor OR fiscal)".replace(
                    "(prosecutor OR fiscal)", "prosecutor"
                ),
            ),
            compile_aliases({"khan": ["Karim Khan", "Khan"]}),
        ),
        compile_rule(RuleSpec("any", "any word", "the OR el OR la OR a*"), {}),
    ]
)


def _entries_by_feedparser() -> dict[str, int]:
    analysis = CORPUS / "ANALYSIS.tsv"
    if not analysis.is_file():
        return {}
    with analysis.open(encoding="utf-8") as f:
        return {
            row["local_path"]: int(row["entries"] or 0) for row in csv.DictReader(f, delimiter="\t")
        }


def test_the_corpus_is_there() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"feed corpus not found at {CORPUS} (it sits beside the checkout in CI)")
    assert len(FILES) > 500


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_feed_parses_and_matches_without_crashing(path: Path) -> None:
    body = path.read_bytes()
    parsed = parse_feed(body, f"https://feeds.example/{path.name}")
    assert parsed.error is None or parsed.items == []
    for item in parsed.items:
        assert isinstance(item.title, str) and isinstance(item.summary, str)
        assert item.key and item.article_key
        assert "<script" not in item.title.lower()  # text, not markup
        for hit in RULES.match(item):
            assert hit.terms, f"{hit.rule_id} matched without reporting a term"


def test_no_feed_with_entries_is_called_broken() -> None:
    expected = _entries_by_feedparser()
    if not expected:
        pytest.skip(f"{CORPUS / 'ANALYSIS.tsv'} not found")
    wrongly_broken = []
    for local, entries in expected.items():
        path = CORPUS / local
        if entries and path.is_file():
            parsed = parse_feed(path.read_bytes(), f"https://feeds.example/{path.name}")
            # (An entry with nothing in it, not even a title, is dropped without an error.)
            if parsed.error is not None:
                wrongly_broken.append(f"{local}: {parsed.error}")
    assert wrongly_broken == []
