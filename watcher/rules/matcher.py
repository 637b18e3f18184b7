"""Evaluate compiled rules against an item.

An item is turned once into a ``Document``: per field, its folded words and where each word
occurs. Rules are then evaluated against that index, so a bare word costs one dictionary lookup
and a phrase costs one lookup plus a check of the few places its first word occurs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from watcher.rules.query import FIELDS, AliasRef, And, Leaf, Near, Node, Not, Or, Term
from watcher.text import fold, html_to_text, normalize_text, split_words, word_spans


@dataclass(frozen=True)
class Span:
    """Where a term matched: a field and a half-open range of word positions."""

    field: str
    start: int
    end: int


class Document:
    """The searchable form of one item: folded words and a word -> positions index per field."""

    __slots__ = ("_index", "_spans", "text", "vocabulary", "words")

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.text: dict[str, str] = {}
        self.words: dict[str, list[str]] = {}
        self.vocabulary: dict[
            str, set[str]
        ] = {}  # the distinct words: membership is all most terms need
        self._index: dict[str, dict[str, list[int]]] = {}  # positions, built when a phrase asks
        self._spans: dict[str, list[tuple[int, int]]] = {}
        for name in FIELDS:
            text = normalize_text(fields.get(name) or "")
            found = split_words(fold(text))
            self.text[name] = text
            self.words[name] = found
            self.vocabulary[name] = set(found)

    def positions(self, field_name: str) -> dict[str, list[int]]:
        """word -> its positions in a field; built on first use (phrases, NEAR, terms shown)."""
        index = self._index.get(field_name)
        if index is None:
            index = {}
            for pos, word in enumerate(self.words[field_name]):
                found = index.get(word)
                if found is None:
                    index[word] = [pos]
                else:
                    found.append(pos)
            self._index[field_name] = index
        return index

    @classmethod
    def from_html(cls, title: str = "", summary: str = "", content: str = "") -> Document:
        """Build a document from fields that may still hold markup (e.g. ``test-rule --text``)."""
        return cls(
            {
                "title": html_to_text(title),
                "summary": html_to_text(summary),
                "content": html_to_text(content),
            }
        )

    def surface(self, span: Span) -> str:
        """The original text of a span, as the reader saw it (case and accents kept)."""
        spans = self._spans.get(span.field)
        if spans is None:
            spans = self._spans[span.field] = word_spans(self.text[span.field])
        if len(spans) != len(self.words[span.field]):  # cannot happen; never show wrong text
            return " ".join(self.words[span.field][span.start : span.end])
        return self.text[span.field][spans[span.start][0] : spans[span.end - 1][1]]


def _term_spans(term: Term, doc: Document, field_name: str) -> list[Span]:
    first = term.parts[0]
    if first.kind == "word" and first.text not in doc.vocabulary[field_name]:
        return []
    index = doc.positions(field_name)
    if first.kind == "word":
        starts = index.get(first.text, [])
    else:
        starts = sorted(p for w, ps in index.items() if w.startswith(first.text) for p in ps)
    if len(term.parts) == 1:
        return [Span(field_name, s, s + 1) for s in starts]
    tokens = doc.words[field_name]
    spans = []
    n = len(term.parts)
    for s in starts:
        if s + n > len(tokens):
            continue
        for offset in range(1, n):
            part = term.parts[offset]
            word = tokens[s + offset]
            if part.kind == "word" and word != part.text:
                break
            if part.kind == "prefix" and not word.startswith(part.text):
                break
        else:
            spans.append(Span(field_name, s, s + n))
    return spans


@dataclass(frozen=True)
class AliasSet:
    """A resolved ``@alias``: its spellings as terms, within an optional field."""

    name: str
    terms: tuple[Term, ...]
    field: str | None = None


CompiledLeaf = Term | AliasSet


@dataclass(frozen=True)
class CNear:
    left: CompiledLeaf
    right: CompiledLeaf
    distance: int


@dataclass(frozen=True)
class CAnd:
    children: tuple[CNode, ...]


@dataclass(frozen=True)
class COr:
    children: tuple[CNode, ...]


@dataclass(frozen=True)
class CNot:
    child: CNode


CNode = Term | AliasSet | CNear | CAnd | COr | CNot


def compile_node(node: Node, aliases: Mapping[str, tuple[Term, ...]]) -> CNode:
    """Replace alias references by their spellings; unknown aliases raise ``KeyError``."""
    if isinstance(node, AliasRef):
        return AliasSet(node.name, aliases[node.name], node.field)
    if isinstance(node, Near):
        left = compile_node(node.left, aliases)
        right = compile_node(node.right, aliases)
        assert isinstance(left, Term | AliasSet) and isinstance(right, Term | AliasSet)
        return CNear(left, right, node.distance)
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


def _fields(scope: str | None) -> Iterable[str]:
    return FIELDS if scope is None else (scope,)


def _leaf_spans(leaf: CompiledLeaf, doc: Document, field_name: str) -> list[Span]:
    if isinstance(leaf, Term):
        return _term_spans(leaf, doc, field_name)
    spans: list[Span] = []
    for term in leaf.terms:
        spans.extend(_term_spans(term, doc, field_name))
    return spans


def _near_spans(node: CNear, doc: Document) -> list[Span]:
    found: list[Span] = []
    for name in _fields(node.left.field):
        lefts = _leaf_spans(node.left, doc, name)
        if not lefts:
            continue
        rights = _leaf_spans(node.right, doc, name)
        for a in lefts:
            for b in rights:
                if a.end <= b.start:
                    gap = b.start - a.end
                elif b.end <= a.start:
                    gap = a.start - b.end
                else:
                    continue  # overlapping spans are the same words, not two terms near each other
                if gap <= node.distance:
                    found.extend((a, b))
    return found


@dataclass
class Evaluation:
    """Whether a query matched, and the spans of the terms that made it match."""

    matched: bool
    spans: list[Span] = field(default_factory=list)


def evaluate(node: CNode, doc: Document) -> Evaluation:
    """Evaluate a compiled query; spans under a NOT or a failed branch are not reported."""
    if isinstance(node, Term | AliasSet):
        spans = [s for name in _fields(node.field) for s in _leaf_spans(node, doc, name)]
        return Evaluation(bool(spans), spans)
    if isinstance(node, CNear):
        spans = _near_spans(node, doc)
        return Evaluation(bool(spans), spans)
    if isinstance(node, CNot):
        return Evaluation(not evaluate(node.child, doc).matched)
    if isinstance(node, CAnd):
        spans = []
        for child in node.children:
            result = evaluate(child, doc)
            if not result.matched:
                return Evaluation(False)
            spans.extend(result.spans)
        return Evaluation(True, spans)
    matched = False
    spans = []
    for child in node.children:
        result = evaluate(child, doc)
        if result.matched:
            matched = True
            spans.extend(result.spans)
    return Evaluation(matched, spans)


def matched_terms(doc: Document, spans: Iterable[Span]) -> list[str]:
    """The distinct matched texts in reading order (title, summary, content), ignoring case."""
    unique = set(spans)
    # A span inside a longer matched span ("Bensouda" in "Fatou Bensouda") adds nothing.
    unique = {
        s
        for s in unique
        if not any(
            o != s and o.field == s.field and o.start <= s.start and s.end <= o.end for o in unique
        )
    }
    ordered = sorted(unique, key=lambda s: (FIELDS.index(s.field), s.start, s.end))
    seen: set[str] = set()
    terms: list[str] = []
    for span in ordered:
        text = doc.surface(span)
        key = " ".join(doc.words[span.field][span.start : span.end])
        if key not in seen:
            seen.add(key)
            terms.append(text)
    return terms


__all__ = [
    "AliasSet",
    "CNode",
    "Document",
    "Evaluation",
    "Leaf",
    "Span",
    "compile_node",
    "evaluate",
    "has_positive_term",
    "matched_terms",
]
