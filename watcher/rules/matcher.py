"""Evaluate compiled rules against an item.

An item is turned once into a ``Document``: per field, its folded words, and all of them in one
string. Rules are evaluated against it: a word or a phrase costs one string search in C, a
prefix or ``*`` phrase a search for its first part plus a check of the few places it occurs;
what each term found is kept for the other rules that ask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import NamedTuple
from urllib.parse import urlsplit

from watcher.errors import QuerySyntaxError
from watcher.rules.query import (
    FIELDS,
    TEXT_FIELDS,
    AliasRef,
    And,
    LinkDomain,
    Near,
    Node,
    Not,
    Or,
    Term,
)
from watcher.text import (
    html_to_text,
    normalize_and_fold,
    spaced_words,
    split_words,
    word_spans,
    word_start,
)
from watcher.text import (
    words as words_of,
)

_GAP = "\x00"  # a word no query can hold: keeps phrases from running across feed name and tags
_FIELD_END = "\x02"  # the same between fields in ``Document.everything``
_ORDER = {name: i for i, name in enumerate((*FIELDS, "link"))}


def reading_order(span: Span) -> tuple[int, int, int]:
    """Sort key: title, summary, content, feed, link; then position."""
    return (_ORDER[span.field], span.start, span.end)


class Span(NamedTuple):
    """Where a term matched: a field and a half-open range of word positions (a tuple: made,
    hashed and compared in C, and matching makes a great many)."""

    field: str
    start: int
    end: int


# Makes a Span from a (field, start, end) tuple without the Python-level ``__new__``.
_span: Callable[[tuple[str, int, int]], Span] = partial(tuple.__new__, Span)


Unit = tuple[Span, ...]  # one match of a NEAR operand: the words it is made of


def link_host(link: str | None) -> str:
    """The host of a link, lower case, without a leading ``www.`` ("" when there is none)."""
    if not link:
        return ""
    try:
        host = urlsplit(link.strip()).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


@lru_cache(maxsize=4096)
def _feed_segments(feed: tuple[str, ...]) -> tuple[str, tuple[str, ...], str]:
    """A feed's name and tags as ``Document`` holds them: the text, the words (each name or tag
    a run of its own), and the words spaced. Worked out once per feed, not once per item."""
    segments = [words_of(s) for s in feed if s]
    found = tuple(w for seg in segments for w in (*seg, _GAP))[:-1]
    return " | ".join(feed), found, " ".join(found)


class Document:
    """The searchable form of one item: folded words per field, its link's host, its feed.

    All the words also stand in one string, ``everything``: " title words \x02 summary words
    \x02 content words \x02 feed words ", one space between words. A word, a phrase or a
    prefix is then found with one string search in C (" karim khan ", " venez"), its position
    by counting the spaces before it, and presearch runs its automaton over the same string.
    """

    __slots__ = (
        "_bounds",
        "_host",
        "_in_place",
        "_link",
        "_spaced",
        "_spans",
        "_surfaces",
        "_text_bounds",
        "everything",
        "memo",
        "terms",
        "text",
        "words",
    )

    def __init__(
        self, fields: Mapping[str, str], link: str | None = None, feed: Sequence[str] = ()
    ) -> None:
        # (each dict is filled through a local name: this runs for every item)
        texts: dict[str, str] = {}
        in_place: dict[str, bool] = {}  # per text field: see ``_fast_cut``
        # per text field, " its words spaced ", None when not ASCII (see ``spaced_words``)
        spaced_of: dict[str, str | None] = {}
        words: dict[str, list[str]] = {}
        # each field's stretch of ``everything``: from the space before its first word to the
        # space after its last, so that " word " patterns found in it are the field's own
        bounds: dict[str, tuple[str, int, int]] = {}  # name -> (name, start, end)
        self.text, self._in_place, self._spaced, self.words = texts, in_place, spaced_of, words
        self._bounds = bounds
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._surfaces: dict[Span, str] = {}
        # what each term and alias of the rules evaluated so far found here: the rules an
        # item is a candidate for share many terms ("Venezuela", a name that drew them all)
        self.memo: dict[object, tuple[object, Evaluation]] = {}
        self.terms: dict[tuple[Span, ...], tuple[str, ...]] = {}  # see ``matched_terms``
        self._link = link
        self._host: str | None = None if link else ""  # worked out when a link: rule asks
        parts = []
        at = 0
        for name in TEXT_FIELDS:
            text = fields.get(name)
            if text:
                # in_place: whether a word's place in ``folded`` is its place in ``text``
                text, folded, in_place[name] = normalize_and_fold(text)
                spaced = spaced_words(folded)  # what split_words would work out, kept
                if spaced is None:
                    spaced_of[name] = None
                    found = split_words(folded)
                else:
                    spaced_of[name] = f" {spaced} "  # for ``word_start``, when a rule hits
                    found = spaced.split()
                part = " ".join(found)
            else:
                text, found, part = "", [], ""
            texts[name] = text
            words[name] = found
            parts.append(part)
            bounds[name] = (name, at, at + len(part) + 2)
            at += len(part) + 3
        # feed: its name and each of its tags, as separate runs of words
        if feed:
            texts["feed"], feed_words, part = _feed_segments(tuple(feed))
            words["feed"] = list(feed_words)
        else:
            texts["feed"], words["feed"], part = "", [], ""
        parts.append(part)
        bounds["feed"] = ("feed", at, at + len(part) + 2)
        self.everything = " " + f" {_FIELD_END} ".join(parts) + " "
        self._text_bounds = (bounds["title"], bounds["summary"], bounds["content"])

    def cuts(self) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
        """The text fields' texts, and for each the padded words ``_fast_cut`` reads, or None
        where it cannot be trusted: what the C engine needs to cut a matched term itself."""
        texts = self.text
        spaced = self._spaced
        in_place = self._in_place
        return (texts["title"], texts["summary"], texts["content"]), tuple(
            spaced.get(name) if in_place.get(name) else None for name in TEXT_FIELDS
        )

    @property
    def host(self) -> str:
        """The item's link's host (see ``link_host``): parsing a URL for every item would cost
        more than a ``link:`` rule saves, so it is done once, when one asks."""
        host = self._host
        if host is None:
            host = self._host = link_host(self._link)
        return host

    @classmethod
    def from_html(
        cls,
        title: str = "",
        summary: str = "",
        content: str = "",
        link: str | None = None,
        feed: Sequence[str] = (),
    ) -> Document:
        """Build a document from fields that may still hold markup (e.g. ``test-rule --text``)."""
        texts = {"title": title, "summary": summary, "content": content}
        return cls({k: html_to_text(v) for k, v in texts.items()}, link, feed)

    def find(self, pattern: str, fields: tuple[str, ...], length: int = 1) -> list[Span]:
        """The span of ``length`` words from every place ``pattern`` (" word ", " two words ",
        " prefix") begins in the given fields."""
        everything = self.everything
        ranges: tuple[tuple[str, int, int], ...]
        if fields is TEXT_FIELDS:  # the usual case: one search over title, summary, content
            ranges = self._text_bounds
        elif len(fields) == 1:
            ranges = (self._bounds[fields[0]],)
        else:
            return [span for name in fields for span in self.find(pattern, (name,), length)]
        hi = ranges[-1][2]
        at = everything.find(pattern, ranges[0][1], hi)
        found: list[Span] = []
        while at >= 0:
            for name, start, end in ranges:
                if at < end:
                    # one space before each word before it, counted in C
                    word = everything.count(" ", start, at)
                    found.append(_span((name, word, word + length)))
                    break
            at = everything.find(pattern, at + 1, hi)  # the space between words is shared
        return found

    def first(self, pattern: str, field: str | None, length: int) -> Span | None:
        """Where ``pattern`` (" word ", " two words ") first begins, in reading order, in one
        field or (``None``) in the text fields: the same as ``find(...)[0]``, one search."""
        everything = self.everything
        ranges = self._text_bounds if field is None else (self._bounds[field],)
        at = everything.find(pattern, ranges[0][1], ranges[-1][2])
        if at < 0:
            return None
        for name, start, end in ranges:
            if at < end:
                word = everything.count(" ", start, at)  # one space before each word before it
                return _span((name, word, word + length))
        return None  # (a match lies within the ranges searched)

    def surface(self, span: Span) -> str:
        """The text of a span as the reader saw it (case and accents kept)."""
        found = self._surfaces.get(span)
        if found is None:
            found = self._surfaces[span] = self._surface(span)
        return found

    def _surface(self, span: Span) -> str:
        if span.field == "link":
            return self.host
        words = self.words[span.field]
        if span.field not in TEXT_FIELDS:
            return " ".join(words[span.start : span.end])
        full = self.text[span.field]
        cut = self._fast_cut(span)
        if cut is not None:
            return full[cut[0] : cut[1]]
        spans = self._spans.get(span.field)
        if spans is None:
            spans = self._spans[span.field] = word_spans(full, len(words))
        if len(spans) != len(words):
            return " ".join(words[span.start : span.end])
        return full[spans[span.start][0] : spans[span.end - 1][1]]

    def _fast_cut(self, span: Span) -> tuple[int, int] | None:
        """Where a span stands in its text, read off the folded text, for texts whose folding
        kept every character in place (all English and most Spanish): no regex over the text.
        ``None`` when that cannot be trusted."""
        padded = self._spaced[span.field]
        if padded is None:
            return None
        # Equal lengths would not prove it: "ß" folding to two letters and a lone accent
        # vanishing elsewhere cancel out, and the cut would start on the accent.
        if not self._in_place[span.field]:
            return None
        words = self.words[span.field]
        first, last = span.start, span.end - 1
        start = word_start(padded, words, first)
        if last == first:
            return start, start + len(words[first])
        return start, word_start(padded, words, last, first, start) + len(words[last])


# -- compiled query nodes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alias:
    """An alias definition: its spellings, and context words that refuse a match when they
    stand right before or right after it ("Imran" before "Khan")."""

    terms: tuple[Term, ...]
    exclude: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class AliasSet:
    """A resolved ``@alias`` within an optional field."""

    name: str
    terms: tuple[Term, ...]
    exclude: tuple[Term, ...] = ()
    field: str | None = None


@dataclass(frozen=True, slots=True)
class CNear:
    left: CNode
    right: CNode
    distance: int
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class CAnd:
    children: tuple[CNode, ...]


@dataclass(frozen=True, slots=True)
class COr:
    children: tuple[CNode, ...]


@dataclass(frozen=True, slots=True)
class CNot:
    child: CNode


CNode = Term | AliasSet | LinkDomain | CNear | CAnd | COr | CNot


def compile_node(node: Node, aliases: Mapping[str, Alias]) -> CNode:
    """Replace alias references by their definitions; an unknown alias raises
    ``QuerySyntaxError`` at its column, naming the aliases there are."""
    if isinstance(node, AliasRef):
        alias = aliases.get(node.name)
        if alias is None:
            known = ", ".join("@" + n for n in sorted(aliases)) or "none are defined"
            raise QuerySyntaxError(f"unknown alias @{node.name} (known: {known})", node.column)
        return AliasSet(node.name, alias.terms, alias.exclude, node.field)
    if isinstance(node, Near):
        left = compile_node(node.left, aliases)
        right = compile_node(node.right, aliases)
        return CNear(left, right, node.distance, node.ordered)
    if isinstance(node, And):
        return CAnd(tuple(compile_node(c, aliases) for c in node.children))
    if isinstance(node, Or):
        return COr(tuple(compile_node(c, aliases) for c in node.children))
    if isinstance(node, Not):
        return CNot(compile_node(node.child, aliases))
    return node


def has_positive_term(node: CNode) -> bool:
    """True when the query can only match an item that contains at least one of its terms."""
    if isinstance(node, CNot):
        return False
    if isinstance(node, CAnd):
        return any(has_positive_term(c) for c in node.children)
    if isinstance(node, COr):
        return all(has_positive_term(c) for c in node.children)
    return True


# -- evaluation ---------------------------------------------------------------------------------


def _term_spans(term: Term, doc: Document, fields: tuple[str, ...]) -> list[Span]:
    n = len(term.parts)
    if term.pattern:  # exact words: one search for the whole phrase
        return doc.find(term.pattern, fields, n)
    first = term.parts[0]
    pattern = " " + first.text + (" " if first.kind == "word" else "")  # a prefix: " venez"
    found = doc.find(pattern, fields)
    if n == 1:
        return found
    spans = []
    for name, at, _ in found:
        words = doc.words[name]
        if at + n > len(words):
            continue
        for offset in range(1, n):
            part = term.parts[offset]
            word = words[at + offset]
            if word == _GAP:
                break
            if part.kind == "word" and word != part.text:
                break
            if part.kind == "prefix" and not word.startswith(part.text):
                break
        else:
            spans.append(Span(name, at, at + n))
    return spans


def _alias_spans(alias: AliasSet, doc: Document, fields: tuple[str, ...]) -> list[Span]:
    spans = [s for term in alias.terms for s in _term_spans(term, doc, fields)]
    if not spans or not alias.exclude:
        return spans
    context = [s for term in alias.exclude for s in _term_spans(term, doc, fields)]
    ends = {(c.field, c.end) for c in context}
    starts = {(c.field, c.start) for c in context}
    return [s for s in spans if (s.field, s.start) not in ends and (s.field, s.end) not in starts]


def _close(a: Span, b: Span, distance: int, ordered: bool) -> bool:
    """Same field, not overlapping, at most ``distance`` words between; ``a`` first if
    ordered."""
    if a.field != b.field:
        return False
    if a.end <= b.start:
        return b.start - a.end <= distance
    if b.end <= a.start:
        return not ordered and a.start - b.end <= distance
    return False  # overlapping spans are the same words, not two things near each other


def _near(node: CNear, doc: Document, within: str | None) -> Evaluation:
    """Pairs of a left and a right match close enough, field by field.

    Each side is evaluated within one field at a time, so a group beside NEAR must match wholly
    in the field where the pair stands. A match of a NEAR, for an enclosing NEAR, is the pair's
    words: "(a NEAR/0 b) NEAR/0 c" needs c next to the a or the b of a pair that matched.
    """
    units: list[Unit] = []
    used: set[Span] = set()
    for name in (within,) if within is not None else TEXT_FIELDS:
        left = evaluate(node.left, doc, name)
        if not left.matched:
            continue
        right = evaluate(node.right, doc, name)
        if not right.matched:
            continue
        for a in left.units:
            for b in right.units:
                if any(_close(x, y, node.distance, node.ordered) for x in a for y in b):
                    # the pairs are wanted only by an enclosing NEAR (``within`` set): kept
                    # at the top, they grow as the square of a repeated word's count
                    if within is not None:
                        units.append(a + b)
                    used.update(a)
                    used.update(b)
    return _evaluation((True, list(used), units)) if used else NO_MATCH


class Evaluation(NamedTuple):
    """Whether a query matched, the spans of the terms that made it match, and (for an
    enclosing NEAR) its occurrences: a term's own spans, a NEAR's matching pairs.

    Never changed once made (so that one result can be shared, and kept per document)."""

    matched: bool
    spans: list[Span]
    units: list[Unit]


_evaluation: Callable[[tuple[bool, list[Span], list[Unit]]], Evaluation] = partial(
    tuple.__new__, Evaluation
)
NO_MATCH = Evaluation(False, [], [])
MATCH = Evaluation(True, [], [])  # a match with nothing to show: NOT x, where x is absent


def _leaf(node: Term | AliasSet, doc: Document, within: str | None) -> Evaluation:
    if isinstance(node, Term):
        if node.pattern and node.pattern not in doc.everything:
            return NO_MATCH  # the common case for a candidate's other terms
        spans = _term_spans(node, doc, _scope(node.field, within))
    else:
        spans = _alias_spans(node, doc, _scope(node.field, within))
    if not spans:
        return NO_MATCH
    # occurrences as NEAR operands are wanted only inside a NEAR (``within`` set)
    return _evaluation((True, spans, [(s,) for s in spans] if within else []))


def _scope(own: str | None, within: str | None) -> tuple[str, ...]:
    """The fields a term looks in: its own scope, narrowed to ``within`` (a NEAR's field)."""
    if within is None:
        return TEXT_FIELDS if own is None else (own,)
    return (within,) if own in (None, within) else ()


def evaluate(node: CNode, doc: Document, within: str | None = None) -> Evaluation:
    """Evaluate a compiled query; spans under a NOT or a failed branch are not reported.
    ``within`` limits every term to one field (the sides of a NEAR)."""
    # compiled nodes are never subclassed: a test of the type's identity is the cheapest
    if type(node) is Term or type(node) is AliasSet:
        # terms and aliases are shared objects, so their identity names them in the memo
        # (the node is kept beside its result: an id is only a name while its object lives)
        key: object = id(node) if within is None else (id(node), within)
        known = doc.memo.get(key)
        if known is not None and known[0] is node:
            return known[1]
        found = _leaf(node, doc, within)
        doc.memo[key] = (node, found)
        return found
    if type(node) is CAnd:
        spans = []
        units = []
        for child in node.children:
            result = evaluate(child, doc, within)
            if not result.matched:
                return NO_MATCH
            spans.extend(result.spans)
            units.extend(result.units)
        return _evaluation((True, spans, units))
    if type(node) is COr:
        matched = False
        spans = []
        units = []
        for child in node.children:
            result = evaluate(child, doc, within)
            if result.matched:
                matched = True
                spans.extend(result.spans)
                units.extend(result.units)
        return _evaluation((True, spans, units)) if matched else NO_MATCH
    if type(node) is CNot:
        return NO_MATCH if evaluate(node.child, doc, within).matched else MATCH
    if type(node) is CNear:
        return _near(node, doc, within)
    assert isinstance(node, LinkDomain)  # the one kind left
    host = doc.host
    on_domain = bool(host) and (host == node.domain or host.endswith("." + node.domain))
    return Evaluation(True, [Span("link", 0, 0)], []) if on_domain else NO_MATCH


def matched_terms(doc: Document, spans: Sequence[Span]) -> tuple[str, ...]:
    """The distinct matched texts in reading order (title, summary, content), ignoring case.

    Worked out once per set of spans and document: the rules an item hits often share their
    terms (many rules name the same people), and then their hits share the answer."""
    if len(spans) == 1:
        return (doc.surface(spans[0]),)
    key = tuple(spans)
    found = doc.terms.get(key)
    if found is None:
        found = doc.terms[key] = _matched_terms(doc, spans)
    return found


def _matched_terms(doc: Document, spans: Sequence[Span]) -> tuple[str, ...]:
    # One sweep in order of position drops a span inside a longer matched span ("Bensouda" in
    # "Fatou Bensouda"): it adds nothing. Spans are sorted as plain tuples (in C): by field
    # name, start, then end, so of spans that start together the longer comes later and takes
    # the place of the shorter; fields are put in reading order afterwards.
    kept: list[Span] = []
    field, reach = "", -1
    for span in sorted(set(spans)):
        name, start, end = span
        if name == field:
            if end <= reach:
                continue
            if start == kept[-1].start:
                kept[-1] = span
                reach = end
                continue
        else:
            field = name
        reach = end
        kept.append(span)
    if kept[0].field != kept[-1].field:
        kept.sort(key=reading_order)  # title, summary, content, feed, link
    seen: set[tuple[str, ...]] = set()
    terms: list[str] = []
    for span in kept:
        # the same words (case and accents aside) are one term, wherever they stand
        key = (
            (span.field, "")
            if span.field == "link"
            else tuple(doc.words[span.field][span.start : span.end])
        )
        if key not in seen:
            seen.add(key)
            terms.append(doc.surface(span))
    return tuple(terms)


def snippet(doc: Document, spans: Sequence[Span], words_around: int = 12) -> str:
    """A short excerpt around the first matched text field, matched words marked ``[...]``."""
    text_spans = sorted((s for s in spans if s.field in TEXT_FIELDS), key=reading_order)
    if not text_spans:
        return ""
    name = text_spans[0].field
    text = doc.text[name]
    offsets = word_spans(text, len(doc.words[name]))  # exact, not the fast path: context too
    if len(offsets) != len(doc.words[name]):
        return ""
    marked = sorted({(s.start, s.end) for s in text_spans if s.field == name})
    first, last = marked[0][0], marked[0][1]
    lo = max(0, first - words_around)
    hi = min(len(offsets), last + words_around)
    out: list[str] = []
    cursor = offsets[lo][0]
    for start, end in marked:
        if start < lo or end > hi or offsets[start][0] < cursor:
            continue
        out.append(text[cursor : offsets[start][0]])
        out.append("[" + text[offsets[start][0] : offsets[end - 1][1]] + "]")
        cursor = offsets[end - 1][1]
    out.append(text[cursor : offsets[hi - 1][1]])
    prefix = "… " if lo > 0 else ""
    suffix = " …" if hi < len(offsets) else ""
    return prefix + " ".join("".join(out).split()) + suffix
