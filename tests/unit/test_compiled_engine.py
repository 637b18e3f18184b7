"""The C engine (``watcher/rules/_engine.c`` behind ``compiled.py``): built where CI runs, the
same hits as the Python engine on what it hands back to Python and on odd input, and an
engine that refuses a malformed program instead of reading outside it.

The language itself is held to a reference evaluator in ``test_matcher_properties.py``, with
both engines."""

from __future__ import annotations

import os
import pickle
import resource
from array import array

import pytest

from watcher.models import RuleHit
from watcher.rules import compiled
from watcher.rules.matcher import Document, Span
from watcher.rules.query import FIELDS
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_aliases, compile_rule

needs_c = pytest.mark.skipif(not compiled.AVAILABLE, reason="watcher's C engine is not built here")


def test_the_c_engine_is_built_where_ci_runs() -> None:
    """CI installs with a C compiler: the fast engine must be the one its tests run."""
    if os.environ.get("CI") != "true":
        pytest.skip("outside CI an install without a C compiler falls back to Python")
    assert compiled.AVAILABLE, "watcher/rules/_engine.c was not built by the install"


def rules_of(*queries: str, aliases: dict[str, list[str]] | None = None) -> list:
    table = compile_aliases(aliases or {})
    return [compile_rule(RuleSpec(f"r{i}", f"rule {i}", q), table) for i, q in enumerate(queries)]


def both(rules: list, doc: Document) -> tuple[list[RuleHit], list[RuleHit]]:
    return (
        RuleSet(rules, compiled=True).match_document(doc),
        RuleSet(rules, compiled=False).match_document(doc),
    )


@needs_c
def test_link_rules_and_nested_near_are_evaluated_in_python_with_the_same_hits() -> None:
    rules = rules_of(
        "link:elpais.com AND Maduro",
        "(Khan NEAR/2 court) NEAR/3 Venezuela",
        "Maduro",
    )
    index = RuleSet(rules, compiled=True).prepare()
    assert isinstance(index, compiled.CompiledIndex)
    assert index.python_rules == 2
    doc = Document.from_html(
        "Karim Khan's court weighs Venezuela case",
        "Maduro answers the prosecutor",
        link="https://elpais.com/a",
    )
    in_c, in_python = both(rules, doc)
    assert [h.rule_id for h in in_c] == ["r0", "r1", "r2"]
    assert in_c == in_python
    elsewhere = Document.from_html("Maduro answers", link="https://example.org/a")
    assert [h.rule_id for h in RuleSet(rules, compiled=True).match_document(elsewhere)] == ["r2"]


@needs_c
def test_a_text_with_a_lone_surrogate_still_matches() -> None:
    """A broken feed can leave a lone surrogate in a str, which has no UTF-8: the engine reads
    its surrogate-passing bytes instead of failing the item."""
    rules = rules_of('"Karim Khan"', "Bensouda")
    doc = Document({"title": "Karim Khan \ud800 meets Bensouda", "summary": "", "content": ""})
    in_c, in_python = both(rules, doc)
    assert [h.terms for h in in_c] == [("Karim Khan",), ("Bensouda",)]
    assert in_c == in_python


@needs_c
def test_a_phrase_longer_than_the_lookup_key_matches_only_whole() -> None:
    """Phrases are looked up by a hash of their first 31 words; longer ones are compared whole."""
    words = [f"w{i}" for i in range(40)]
    rules = rules_of('"' + " ".join(words) + '"', '"' + " ".join([*words[:31], "other"]) + '"')
    doc = Document({"title": " ".join(words), "summary": "", "content": ""})
    in_c, in_python = both(rules, doc)
    assert [h.rule_id for h in in_c] == ["r0"]
    assert in_c == in_python


@needs_c
def test_phrases_and_wildcards_do_not_run_across_fields_or_feed_tags() -> None:
    rules = rules_of('"karim khan"', '"president * maduro"', 'feed:"bbc mundo"', "venez*")
    doc = Document(
        {"title": "Interview with Karim", "summary": "Khan said president", "content": "Maduro"},
        feed=("BBC", "Mundo"),  # two tags: "bbc mundo" is no phrase of the feed
    )
    in_c, in_python = both(rules, doc)
    assert in_c == in_python == []
    doc = Document(
        {"title": "Karim Khan and President Nicolás Maduro", "content": "Venezolanos"},
        feed=("BBC Mundo",),
    )
    in_c, in_python = both(rules, doc)
    assert [h.terms for h in in_c] == [
        ("Karim Khan",),
        ("President Nicolás Maduro",),
        ("bbc mundo",),  # (a feed's name is shown as its words)
        ("Venezolanos",),
    ]
    assert in_c == in_python


@needs_c
def test_the_compiled_index_pickles_for_the_parsing_processes() -> None:
    rules = RuleSet(rules_of("Maduro NEAR/3 ICC", "@khan", aliases={"khan": ["Karim Khan"]}), True)
    copy = pickle.loads(pickle.dumps(rules))
    doc = Document({"title": "Maduro and the ICC", "summary": "", "content": ""})
    assert copy.match_document(doc) == rules.match_document(doc) != []


def _engine_args(code: list[int]) -> tuple[object, ...]:
    """One word ("maduro"), one rule anchored on it, and ``code`` as the rule's query."""
    none = [array("i") for _ in range(6)]
    return (
        b"maduro",
        array("i", [0]),  # word_off
        array("i", [6]),  # word_len
        *none,  # phrases and prefixes: none
        array("i", [0]),  # set_anchor: the word
        array("i", [0]),  # set_rule
        array("i", [0]),  # set_off
        array("i", [0]),  # set_n: nothing but the anchor
        array("i"),  # set_members
        array("i"),  # always
        array("i", code),
        array("i", [0]),  # rule_code
        array("i", [0]),  # first_only
        FIELDS,
        Span,
    )


@needs_c
@pytest.mark.parametrize(
    ("code", "why"),
    [
        ([1, 7, 7, 5, 1, 0, 0], "bad member"),  # a member that does not exist
        ([1, 7, 7, 0, 1, 0, 3], "bad word"),  # a part naming a word that does not exist
        ([1, 9, 7, 0, 1, 0, 0], "bad node size"),  # a size past the end
        ([3, 3, 2], "truncated"),  # an AND with children missing
        ([9, 2], "bad opcode"),
        ([3, 3, -1], "short group"),  # an AND of no children would match anything
        ([2, 12, 7, 2, -1, 1, 7, 7, 0, 1, 0, 0], "short alias"),  # counts that disagree
        ([1, 9, 7, 0, 2, 0, 0, 0, 0], "bad member length"),  # an exact word two words long
    ],
)
def test_a_malformed_program_is_refused_not_run(code: list[int], why: str) -> None:
    engine = compiled._engine
    assert engine is not None
    with pytest.raises(ValueError, match=why):
        engine.Engine(*_engine_args(code))


@needs_c
def test_an_engine_whose_building_failed_cannot_be_used() -> None:
    engine = compiled._engine
    assert engine is not None
    broken = engine.Engine.__new__(engine.Engine)
    with pytest.raises(ValueError, match="bad opcode"):
        broken.__init__(*_engine_args([9, 2]))
    with pytest.raises(RuntimeError, match="not built"):
        broken.match(" maduro \x02  \x02  \x02  ")
    args = list(_engine_args([1, 7, 7, 0, 1, 0, 0]))
    args[-1] = int  # spans are made as tuples of this type: it must be one
    with pytest.raises(TypeError, match="tuple type"):
        engine.Engine(*args)


@needs_c
def test_a_well_formed_program_runs() -> None:
    """(The counterpart of the test above: the same arrays with a good program match.)"""
    engine = compiled._engine
    assert engine is not None
    built = engine.Engine(*_engine_args([1, 7, 7, 0, 1, 0, 0]))
    found = built.match(" maduro habla \x02  \x02  \x02  ")
    assert found == ([0], [0], [(Span("title", 0, 1),)], [None])  # no texts given: spans
    texts, spaced = ("Maduro habla", "", ""), (" maduro habla ", None, None)
    found = built.match(" maduro habla \x02  \x02  \x02  ", texts, spaced)
    assert found == ([0], [0], [None], [("Maduro",)])  # the term, cut from the text


def test_rule_sets_match_alike_in_either_engine_on_aliases_with_exclusions() -> None:
    aliases = {"khan": ["Khan", "Karim Khan"]}
    table = compile_aliases(aliases, {"khan": ["Imran", "Sadiq"]})
    rules = [compile_rule(RuleSpec("k", "k", "@khan AND (court OR ICC)"), table)]
    doc = Document({"title": "Imran Khan at the court", "summary": "Karim Khan", "content": ""})
    python = RuleSet(rules, compiled=False).match_document(doc)
    assert [h.terms for h in python] == [("court", "Karim Khan")]
    if compiled.AVAILABLE:
        assert RuleSet(rules, compiled=True).match_document(doc) == python


@needs_c
@pytest.mark.parametrize(
    "title",
    [
        "Die Straße: Maduro und Khan in Den Haag",  # ß folds to "ss": not in place
        "ﬁscal Maduro ante la Corte Penal Internacional",  # a ligature, NFKC'd away
        "马杜罗 Maduro 与 Karim Khan",  # folded text not ASCII
        "Maduro, Khan, MADURO and Karim Khan's court",  # repeats, case
    ],
)
def test_terms_are_the_python_engines_where_the_text_cannot_be_cut_in_place(title: str) -> None:
    """Where folding moved characters, the C engine hands the spans to Python to cut; where
    it did not, it cuts them itself: the same terms either way."""
    rules = rules_of("Maduro AND Khan", '"Karim Khan" OR Maduro', "Maduro NEAR/6 Khan")
    doc = Document.from_html(title, "Karim Khan habló; Maduro respondió")
    in_c, in_python = both(rules, doc)
    assert len(in_c) == 3
    assert in_c == in_python


def test_a_rule_set_that_needs_no_particular_word_is_matched_by_both_engines() -> None:
    """Presearch can reduce a wide OR to "tried on every item": then no word is indexed at
    all, and the Python index must still answer (it raised before)."""
    aliases = {"al2": ["president * maduro", "khan"], "al3": ["karim khan"]}
    rules = rules_of("(((summary:omega OR @al2) AND (東京 OR feed:@al2)) OR @al3)", aliases=aliases)
    for text, expected in (("x", []), ("Karim Khan", ["r0"])):
        doc = Document({"title": text})
        python = RuleSet(rules, compiled=False).match_document(doc)
        assert [h.rule_id for h in python] == expected
        if compiled.AVAILABLE:
            assert RuleSet(rules, compiled=True).match_document(doc) == python


@needs_c
def test_a_wide_near_over_a_repeated_word_keeps_memory_to_the_words() -> None:
    """A span per close pair would grow as the square of a repeated word's count: 8,000 of
    each under NEAR/100000 took 2.9 GB. Each span is now kept once."""
    rules = RuleSet(rules_of("maduro NEAR/100000 khan"), compiled=True)
    doc = Document({"title": "maduro khan " * 8000})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, the peak so far
    (hit,) = rules.match_document(doc)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert hit.terms == ("maduro", "khan")
    assert grown_mb < 500, f"the peak grew by {grown_mb:.0f} MB"
