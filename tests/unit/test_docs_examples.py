"""The examples in docs/rules.md hold: each quoted text matches (or not) as the table says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from watcher.rules.matcher import Document
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_rule

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def _rows() -> list[tuple[str, str, bool]]:
    """(query, text, should match) from the table with Matches / Does not match columns."""
    cases = []
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| Query | Matches | Does not match |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if not in_table or line.startswith("|---"):
            continue
        query_cell, yes_cell, no_cell = (c.strip() for c in line.strip("|").split("|"))
        query = re.fullmatch(r"`(.*)`", query_cell)
        assert query, line
        for cell, expected in ((yes_cell, True), (no_cell, False)):
            for text in re.findall(r'"([^"]*)"', cell):
                cases.append((query.group(1), text.replace("\\n", "\n"), expected))
    return cases


CASES = _rows()


def test_the_docs_table_was_read() -> None:
    assert len(CASES) >= 15


@pytest.mark.parametrize(("query", "text", "expected"), CASES)
def test_docs_example(query: str, text: str, expected: bool) -> None:
    rules = RuleSet([compile_rule(RuleSpec("r", "r", query), {})])
    assert bool(rules.match_document(Document.from_html(summary=text))) is expected
