"""Matched terms are shown as the reader saw them: the fast way of finding each word in the text
(read off the folded text when folding kept characters in place) must cut exactly what the
slow, regex-per-word way cuts, whatever the text holds."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from watcher.rules.matcher import Document, Span
from watcher.rules.query import TEXT_FIELDS
from watcher.text import (
    _INERT_BLOCKS,
    fold,
    normalize_and_fold,
    normalize_text,
    spaced_words,
    split_words,
    word_spans,
    word_start,
)

# Pieces that stress the fast path: accents (precomposed and combining), letters that fold to
# two ("ß", "ﬁ"), a lone combining accent, other scripts, digits, punctuation, invisible
# characters, and plain English and Spanish words.
PIECES = [
    "Maduro",
    "Guaidó",
    "NICOLÁS",
    "Bensouda",
    "straße",
    "ﬁscal",
    "e\u0301",
    "\u0301",
    "Olúṣẹ́gun",
    "Ελλάδα",
    "Москва",
    "東京",
    "Ⅻ",
    "\uff12\uff10\uff12\uff14",  # full-width 2024
    "İstanbul",
    "año",
    "d'Hondt",
    "U.S.",
    "-",
    ",",
    " ",
    "  ",
    "\u00ad",
    "\u200b",
    "…",
    "1,5",
    "x",
]

texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map(" ".join) | st.text(
    max_size=40
)


def slow_surfaces(text: str) -> list[str]:
    normalized = normalize_text(text)
    spans = word_spans(normalized, len(split_words(fold(normalized))))
    return [normalized[a:b] for a, b in spans]


@settings(max_examples=400, deadline=None)
@given(texts)
def test_each_word_is_cut_from_the_text_as_the_slow_way_cuts_it(text: str) -> None:
    doc = Document({"summary": text})
    words = doc.words["summary"]
    expected = slow_surfaces(text)
    if len(expected) != len(words):
        return  # the slow way cannot tell either: surfaces fall back to the folded words
    assert [doc.surface(Span("summary", k, k + 1)) for k in range(len(words))] == expected


@settings(max_examples=200, deadline=None)
@given(texts)
@example("\u00b8\u00bc\u00df")  # a lone cedilla vanishes, "ß" doubles: same length, cut off
def test_a_phrase_surface_runs_from_its_first_word_to_its_last(text: str) -> None:
    doc = Document({"summary": text})
    words = doc.words["summary"]
    expected = slow_surfaces(text)
    if len(words) < 2 or len(expected) != len(words):
        return
    whole = doc.surface(Span("summary", 0, len(words)))
    assert whole.startswith(expected[0])
    assert whole.endswith(expected[-1])
    assert split_words(fold(whole)) == words


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4))
@example(["Guaidó", "straße"])  # a character met before must not make a new one look safe
def test_normalize_and_fold_say_whether_every_character_folds_to_one(batch: list[str]) -> None:
    # several texts in a row: what earlier texts taught the check must not change its answer
    for text in batch:
        normalized, folded, in_place = normalize_and_fold(text)
        assert normalized == normalize_text(text)
        assert folded == fold(normalized)
        assert in_place == all(len(fold(char)) == 1 for char in normalized)


def test_folding_that_moves_characters_is_caught() -> None:
    # "ß" folds to two letters and the lone accent to none: same length, shifted words.
    text = "straße x\u0301 Maduro Guaidó"
    normalized = normalize_text(text)
    assert len(fold(normalized)) == len(normalized)
    doc = Document({"summary": text})
    assert [doc.surface(Span("summary", k, k + 1)) for k in range(4)] == [
        "straße",
        "x\u0301",
        "Maduro",
        "Guaidó",
    ]


def test_english_and_spanish_words_are_found_in_the_folded_text() -> None:
    for text in ("Karim Khan, the ICC prosecutor", "El fiscal de la CPI visitó «Caracas»"):
        normalized = normalize_text(text)
        folded = fold(normalized)
        spaced = spaced_words(folded)
        assert spaced is not None and len(folded) == len(normalized)
        words = split_words(folded)
        starts = [word_start(f" {spaced} ", words, k) for k in range(len(words))]
        assert starts == [a for a, _ in word_spans(normalized)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["khan", "Khan", "KHAN", "a", "la", "Khan's", "x1", "--", ", "]),
        max_size=30,
    )
)
def test_a_repeated_word_is_found_where_each_of_its_occurrences_stands(pieces: list[str]) -> None:
    # A spelling that occurs several times ("Khan ... Khan") is cut at the right occurrence.
    text = " ".join(pieces)
    folded = fold(normalize_text(text))
    spaced = spaced_words(folded)
    assert spaced is not None
    words = split_words(folded)
    starts = [word_start(f" {spaced} ", words, k) for k in range(len(words))]
    assert starts == [a for a, _ in word_spans(text)]


@settings(max_examples=400, deadline=None)
@given(texts)
def test_folding_a_whole_text_reads_the_words_that_folding_each_word_reads(text: str) -> None:
    # Queries are folded word by word, items whole: both must see the same words.
    normalized = normalize_text(text)
    whole = split_words(fold(normalized))
    each = [w for a, b in word_spans(normalized) for w in split_words(fold(normalized[a:b]))]
    assert whole == each


def test_many_scripts_at_once_fold_as_each_character_alone() -> None:
    # Past a few dozen distinct characters the text is translated in one pass, not replaced
    # character by character: the two ways must agree.
    text = "".join(chr(c) for c in range(0x4E00, 0x4E60)) + " NICOLÁS Guaidó\u2019s"
    assert fold(text) == "".join(fold(c) for c in text)
    assert split_words(fold(text))[-3:] == ["nicolas", "guaido", "s"]


@settings(max_examples=200, deadline=None)
@given(texts, texts, st.integers(0, 30), st.integers(1, 3), st.sampled_from([None, "summary"]))
def test_first_finds_what_find_finds_first(
    title: str, summary: str, at: int, length: int, field: str | None
) -> None:
    # A rule of one exact phrase reports only its first occurrence: ``first`` must be the first
    # of the spans ``find`` gives, across fields in reading order, and None when there is none.
    doc = Document({"title": title, "summary": summary})
    words = doc.words["title"] + doc.words["summary"]
    phrase = words[at : at + length] or ["absent"]
    pattern = " " + " ".join(phrase) + " "
    fields = TEXT_FIELDS if field is None else (field,)
    found = doc.find(pattern, fields, len(phrase))
    assert doc.first(pattern, field, len(phrase)) == (found[0] if found else None)


@settings(max_examples=400, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4))
@example(["Guaidó", "e\u0301", "a\u00adb", "\u00bd \u2014 \u201cx\u201d"])
def test_normalize_text_is_nfkc_without_invisible_characters(batch: list[str]) -> None:
    # Texts of characters known to be inert skip the NFKC check: the answer must be NFKC's,
    # whatever texts came before (the inert characters are learned as they are met).
    for text in batch:
        stripped = "".join(c for c in text if c not in "\u00ad\u200b\u200c\u200d\u2060\ufeff")
        assert normalize_text(text) == unicodedata.normalize("NFKC", stripped)


def test_no_character_of_the_inert_blocks_composes_with_the_one_before() -> None:
    # What lets normalize_text skip NFKC's check: a character that composes with the one
    # before it is the second of some canonical decomposition pair (or a Hangul vowel or
    # trailing consonant); none of them may lie in the blocks taken as inert.
    seconds = {chr(cp) for cp in range(0x1161, 0x1176)} | {chr(cp) for cp in range(0x11A8, 0x11C3)}
    for cp in range(0x110000):
        mapping = unicodedata.decomposition(chr(cp)).split()
        if len(mapping) == 2 and not mapping[0].startswith("<"):
            seconds.add(chr(int(mapping[1], 16)))
    for lo, hi in _INERT_BLOCKS:
        assert not [c for c in seconds if lo <= ord(c) <= hi]
