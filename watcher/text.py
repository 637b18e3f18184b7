"""Text normalisation shared by the parser and the rule engine.

Matching compares *words*: runs of letters and digits, compared without case or accents. Both the
feed items and the rule queries go through the same functions here, so the two sides can never
disagree on what a word is.
"""

from __future__ import annotations

import re
import unicodedata

from selectolax.lexbor import LexborHTMLParser as HTMLParser

# A word: a letter or digit in any script, then letters, digits and the marks on them.
# Underscore is the one \w character that is not a word character. Marks (Unicode category M)
# belong to the word they sit on: "Olúṣẹ́gun" (accents with no precomposed form) and Hindi vowel
# signs must not split a word. ``re`` cannot name categories, so the class is built once at
# import; it is slow to match, so it is used only for texts that hold marks after folding.
_SIMPLE_WORD_RE = re.compile(r"[^\W_]+")
_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+")
_MARKS = "".join(
    f"\\U{cp:08x}" for cp in range(0x300, 0x20000) if unicodedata.category(chr(cp))[0] == "M"
)
WORD_RE = re.compile(rf"[^\W_](?:[^\W_]|[{_MARKS}])*")
# Invisible characters that sit inside words in real feeds (soft hyphen, zero-width joiners).
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_ASCII_BYTES = bytes(range(128))

# Tags that end a line or block: a space goes in their place so that "<p>a</p><p>b</p>" reads as
# two words, while inline tags ("<b>Gua</b>idó") join their text as the reader sees it.
_BLOCK_TAG_RE = re.compile(
    r"<(?=/?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|thead|tbody|blockquote|pre"
    r"|section|article|header|footer|aside|figure|figcaption|img|nav|main)\b)",
    re.IGNORECASE,
)


def html_to_text(markup: str) -> str:
    """Strip tags, drop scripts and styles, decode entities, and collapse whitespace.

    Whitespace is collapsed with ``str.split`` and ``join``: the same characters as the regex
    ``\\s+`` (both ask ``str.isspace``), at a quarter of its cost on a news summary."""
    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    tree = HTMLParser(_BLOCK_TAG_RE.sub(" <", markup))
    tree.strip_tags(["script", "style", "noscript", "template"])
    body = tree.body
    text = body.text(separator="") if body is not None else ""
    return " ".join(text.split())


def _fold_char(char: str) -> str:
    """The folded form of one character: case folded, compatibility-decomposed, combining
    accents dropped; a character that can stand neither in nor on a word (punctuation, symbols,
    spaces) becomes a space, which separates words exactly as it did."""
    if not char.isalnum() and unicodedata.category(char)[0] != "M":
        return " "
    decomposed = unicodedata.normalize("NFKD", char.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _FoldTable(dict[int, str]):
    """``str.translate`` table of ``_fold_char``, filled as characters are met (a text holds
    few distinct ones; there are not many in all)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        found = self[code] = char if code < 128 else _fold_char(char)
        return found


_FOLD_TABLE = _FoldTable()
_FEW = 40  # distinct non-ASCII characters up to which replacing each beats translating all


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a word or text: Guaidó -> guaido, NICOLÁS -> nicolas.

    Folding is per character, so folding a whole text and then splitting it gives the same words
    as splitting first and folding each word: items are folded whole (fast), queries per word.
    English and Spanish text comes out ASCII, which the rest of the engine reads fastest.
    """
    if text.isascii():
        return text.lower()
    return _fold_distinct(text, _distinct_non_ascii(text))


def normalize_and_fold(text: str) -> tuple[str, str, bool]:
    """``normalize_text(text)``, the ``fold`` of that, and whether folding kept every
    character where it stood (each folded to exactly one): then an offset in the folded text
    is the same offset in the normalised one. One look at the text's distinct non-ASCII
    characters serves all three, where normalising changes nothing (most news)."""
    if text.isascii():
        return text, text.lower(), True
    distinct = _distinct_non_ascii(text)
    if not (distinct <= _NFKC_INERT or _all_inert(distinct)):
        text = _normalize(text, distinct)
        if text.isascii():
            return text, text.lower(), True
        distinct = _distinct_non_ascii(text)
    return text, _fold_distinct(text, distinct), _keep_place(distinct)


def _fold_distinct(text: str, distinct: set[str]) -> str:
    # Look at each distinct character once: a news text holds a few accented letters and
    # quotes, and replacing each of them is far faster than decomposing the whole text.
    if len(distinct) <= _FEW:
        table = _FOLD_TABLE
        for char in distinct:
            folded = table[ord(char)]
            if folded != char:
                text = text.replace(char, folded)
    else:  # Chinese, Japanese, ...: one pass through the table
        text = text.translate(_FOLD_TABLE)
    return text.lower()


# Characters known to fold to exactly one character: filled as they are met, so that the test
# for a text is one subset test in C.
_IN_PLACE: set[str] = set()


def _keep_place(distinct: set[str]) -> bool:
    if distinct <= _IN_PLACE:
        return True
    table = _FOLD_TABLE
    for char in distinct - _IN_PLACE:
        if len(table[ord(char)].lower()) != 1:
            return False
        _IN_PLACE.add(char)
    return True


def _distinct_non_ascii(text: str) -> set[str]:
    """The distinct characters of ``text`` beyond ASCII, gathered in C."""
    return set(
        text.encode("utf-8", "surrogatepass")
        .translate(None, _ASCII_BYTES)  # drops every ASCII byte
        .decode("utf-8", "surrogatepass")
    )


# ASCII fast path: letters lowered, digits kept, every other byte a separator.
_ASCII_WORDS = bytes(
    (c | 0x20 if chr(c).isalpha() else c) if c < 128 and chr(c).isalnum() else 32
    for c in range(256)
)


def split_words(folded: str) -> list[str]:
    """The words of an already folded text."""
    spaced = spaced_words(folded)
    if spaced is not None:
        return spaced.split()
    if not _has_marks(folded):
        return _SIMPLE_WORD_RE.findall(folded)
    return WORD_RE.findall(folded)


def _has_marks(text: str) -> bool:
    """Whether a text holds combining marks (looking at each distinct character once)."""
    return any(unicodedata.category(c)[0] == "M" for c in set(text) if c > "\x7f")


def normalize_text(text: str) -> str:
    """NFKC form of ``text``, without invisible in-word characters (soft hyphens, zero-width
    joiners): the form whose character offsets ``word_spans`` refer to."""
    if text.isascii():
        return text
    distinct = _distinct_non_ascii(text)
    if distinct <= _NFKC_INERT or _all_inert(distinct):
        return text  # (most English and Spanish news): nothing to remove, nothing to compose
    return _normalize(text, distinct)


def _normalize(text: str, distinct: set[str]) -> str:
    if not distinct.isdisjoint(_INVISIBLE):
        text = _INVISIBLE_RE.sub("", text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


# Blocks (Latin-1 and Latin Extended letters and signs; general punctuation) where no character
# composes with the one before it: NFKC composes a character with the one before only when it
# is the second of a canonical pair, and those are combining marks, Hangul jamo and a few
# vowel signs of Indic scripts (a test holds this over every code point). A text whose
# non-ASCII characters all lie here, are no combining mark and are their own NFKC form is
# already NFKC, and checking that per character is one subset test once they are learned.
_INERT_BLOCKS = ((0x00A0, 0x024F), (0x2010, 0x205E))
_NFKC_INERT: set[str] = set()  # learned as met
_NFKC_ACTIVE: set[str] = set()


def _all_inert(distinct: set[str]) -> bool:
    for char in distinct - _NFKC_INERT:
        if char in _NFKC_ACTIVE:
            return False
        code = ord(char)
        if (
            any(lo <= code <= hi for lo, hi in _INERT_BLOCKS)
            and char not in _INVISIBLE
            and not unicodedata.combining(char)
            and unicodedata.normalize("NFKC", char) == char
        ):
            _NFKC_INERT.add(char)
        else:
            _NFKC_ACTIVE.add(char)
            return False
    return True


def words(text: str) -> list[str]:
    """The folded words of a text: what rules are matched against."""
    return split_words(normalize_and_fold(text)[1])


def word_spans(normalized: str, count: int | None = None) -> list[tuple[int, int]]:
    """Character spans in ``normalized`` (an output of ``normalize_text``) of each of its words,
    in the order ``words`` gives them: used only to show matched text as the reader saw it.
    ``count``, when known, is how many words ``words`` gives (saves folding the text again)."""
    if normalized.isascii():  # the common case: the same words as split_words, found in place
        return [m.span() for m in _ASCII_WORD_RE.finditer(normalized)]
    if not _has_marks(normalized):
        spans = [m.span() for m in _SIMPLE_WORD_RE.finditer(normalized)]
        if count is None:
            count = len(split_words(fold(normalized)))
        if len(spans) == count:  # folding split no word
            return spans
    spans = []
    for m in WORD_RE.finditer(normalized):
        n = len(split_words(fold(m.group())))  # folding can split a word (rare compatibility chars)
        spans.extend([(m.start(), m.end())] * n)
    return spans


def word_start(padded: str, words: list[str], index: int, since: int = 0, at: int = 0) -> int:
    """Offset of word ``index`` in a text whose words are separated by whitespace only (see
    ``spaced_words``), given as ``padded`` (the text with a space added at each end) and its
    ``words`` (its ``split()``). The word is the n-th whole-word occurrence of its spelling, n
    counted in the list; each occurrence is one search in C, and a word mostly occurs once.
    ``since`` and ``at``: an earlier word's index and offset, to search on from there."""
    word = words[index]
    pattern = " " + word + " "
    at = padded.find(pattern, at)
    if words.index(word, since) != index:  # it occurs before, too: skip those (rare)
        for _ in range(words[since:index].count(word)):
            at = padded.find(pattern, at + 1)  # occurrences share the space between them
    return at  # the match's leading space stands where the word stands in the unpadded text


def spaced_words(folded: str) -> str | None:
    """An ASCII folded text with every character that is not part of a word made a space: its
    words stand where they stood, so offsets read here are offsets in the text it came from
    (when folding kept the length). ``None`` for a text that is not ASCII after folding."""
    if not folded.isascii():
        return None
    return folded.encode("ascii").translate(_ASCII_WORDS).decode("ascii")
