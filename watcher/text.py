"""Text normalisation shared by the parser and the rule engine.

Matching compares *words*: runs of letters and digits, compared without case or accents. Both the
feed items and the rule queries go through the same functions here, so the two sides can never
disagree on what a word is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser as HTMLParser


def _mark_class() -> str:
    """A regex class of every combining mark (Unicode category M*), which ``re`` cannot name.

    Marks belong to the word they sit on: "Olúṣẹ́gun" (accents with no precomposed form) and
    Hindi vowel signs must not split a word in two.
    """
    ranges: list[tuple[int, int]] = []
    for cp in (*range(0x300, 0x20000), *range(0xE0100, 0xE01F0)):
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


# A word: a letter or digit in any script, then letters, digits and the marks on them.
# Underscore is the one \w character that is not a word character.
WORD_RE = re.compile(rf"[^\W_](?:[^\W_]|[{_mark_class()}])*")
# Invisible characters that sit inside words in real feeds (soft hyphen, zero-width joiners).
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))

# Tags that end a line or block: a space goes in their place so that "<p>a</p><p>b</p>" reads as
# two words, while inline tags ("<b>Gua</b>idó") join their text as the reader sees it.
_BLOCK_TAG_RE = re.compile(
    r"<(?=/?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|thead|tbody|blockquote|pre"
    r"|section|article|header|footer|aside|figure|figcaption|img|nav|main)\b)",
    re.IGNORECASE,
)
_SPACE_RE = re.compile(r"\s+")


def html_to_text(markup: str) -> str:
    """Strip tags, drop scripts and styles, decode entities, and collapse whitespace."""
    if "<" not in markup and "&" not in markup:
        return _SPACE_RE.sub(" ", markup).strip()
    tree = HTMLParser(_BLOCK_TAG_RE.sub(" <", markup))
    tree.strip_tags(["script", "style", "noscript", "template"])
    body = tree.body
    text = body.text(separator="") if body is not None else ""
    return _SPACE_RE.sub(" ", text).strip()


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Case- and accent-insensitive form of a word: Guaidó -> guaido, NICOLÁS -> nicolas."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Token:
    """A word of a field: its folded form, and where it stands in the original text."""

    word: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split text into folded words with their character spans in ``text``.

    The text is NFKC-normalised first (ligatures, full-width letters, composed accents), so spans
    refer to that normalised text; ``normalize_text`` returns it for callers that need snippets.
    """
    tokens: list[Token] = []
    for m in WORD_RE.finditer(text):
        folded = fold(m.group())
        # Folding can reveal separators (e.g. a compatibility character); split again if so.
        if WORD_RE.fullmatch(folded):
            tokens.append(Token(folded, m.start(), m.end()))
        else:
            tokens.extend(Token(p, m.start(), m.end()) for p in WORD_RE.findall(folded))
    return tokens


def normalize_text(text: str) -> str:
    """NFKC form of ``text``, without invisible in-word characters (soft hyphens, zero-width
    joiners): the form whose character offsets tokens refer to."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text.translate(_INVISIBLE))


def words(text: str) -> list[str]:
    """The folded words of a text, without positions (for queries and tests)."""
    return [t.word for t in tokenize(normalize_text(text))]
