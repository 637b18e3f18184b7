"""Presearch: find the few rules an item could match, without looking at the others.

Every rule that can match must contain at least one of a small set of *anchor* words (a query
with no positive term is refused at compile time). The index maps each anchor to the rules it
anchors; an item's candidates are the rules anchored by the words it holds, found with one
dictionary lookup per distinct word (plus one per prefix length in use, for ``venez*``). Only
those candidates are evaluated, so the cost per item follows the rules it could hit, not the
number of rules loaded: the design of Lucene Monitor and the Elasticsearch percolator, done on
words because watcher's queries are about words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watcher.rules.matcher import AliasSet, CAnd, CNear, CNode, CNot, COr
from watcher.rules.query import Term

# Words so common in English and Spanish news that anchoring a rule on them would make it a
# candidate for nearly every item; any other word of the rule is a better anchor.
_COMMON = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "de",
        "del",
        "el",
        "en",
        "es",
        "for",
        "from",
        "has",
        "he",
        "in",
        "is",
        "it",
        "la",
        "las",
        "los",
        "of",
        "on",
        "or",
        "que",
        "se",
        "su",
        "that",
        "the",
        "to",
        "un",
        "una",
        "was",
        "were",
        "will",
        "with",
        "y",
    }
)


@dataclass(frozen=True, slots=True)
class Anchor:
    word: str
    prefix: bool  # True: any word starting with ``word``


def _cost(anchors: frozenset[Anchor]) -> float:
    """How many items these anchors are expected to let through: lower is better."""
    total = 0.0
    for a in anchors:
        weight = 50.0 if a.word in _COMMON else 1.0 / max(1, len(a.word))
        total += weight * (3.0 if a.prefix else 1.0)
    return total


def _term_anchor(term: Term) -> frozenset[Anchor]:
    exact = [p.text for p in term.parts if p.kind == "word"]
    if exact:
        best = max(exact, key=lambda w: (w not in _COMMON, len(w)))
        return frozenset({Anchor(best, False)})
    prefixes = [p.text for p in term.parts if p.kind == "prefix"]
    return frozenset({Anchor(max(prefixes, key=len), True)})


def anchors(node: CNode) -> frozenset[Anchor] | None:
    """Words of which an item must hold at least one for ``node`` to match; None if no such set
    exists (a NOT, or an OR with a branch that has none)."""
    if isinstance(node, Term):
        return _term_anchor(node)
    if isinstance(node, AliasSet):
        found: frozenset[Anchor] = frozenset()
        for term in node.terms:
            found |= _term_anchor(term)
        return found
    if isinstance(node, CNear):
        options = [a for a in (anchors(node.left), anchors(node.right)) if a is not None]
        return min(options, key=_cost) if options else None
    if isinstance(node, CNot):
        return None
    if isinstance(node, CAnd):
        options = [a for a in (anchors(c) for c in node.children) if a is not None]
        return min(options, key=_cost) if options else None
    if isinstance(node, COr):
        union: frozenset[Anchor] = frozenset()
        for child in node.children:
            child_anchors = anchors(child)
            if child_anchors is None:
                return None
            union |= child_anchors
        return union
    return None


class PresearchIndex:
    """anchor word -> the positions (in the rule list) of the rules it anchors."""

    def __init__(self, nodes: Sequence[CNode]) -> None:
        self.exact: dict[str, list[int]] = {}
        self.prefix: dict[str, list[int]] = {}
        self.always: list[int] = []  # rules with no anchor set: evaluated for every item
        for i, node in enumerate(nodes):
            found = anchors(node)
            if not found:
                self.always.append(i)
                continue
            for a in found:
                (self.prefix if a.prefix else self.exact).setdefault(a.word, []).append(i)
        self.prefix_lengths = sorted({len(p) for p in self.prefix})

    def candidates(self, vocabulary: Iterable[str]) -> set[int]:
        """The rules that an item holding these (folded, distinct) words could match."""
        found: set[int] = set(self.always)
        exact = self.exact
        for word in vocabulary:
            hit = exact.get(word)
            if hit is not None:
                found.update(hit)
        if self.prefix:
            prefix = self.prefix
            lengths = self.prefix_lengths
            for word in vocabulary:
                for n in lengths:
                    if n > len(word):
                        break
                    hit = prefix.get(word[:n])
                    if hit is not None:
                        found.update(hit)
        return found


def required_words(node: CNode) -> frozenset[str]:
    """Exact words every match of ``node`` contains: a candidate whose item lacks any of them is
    dropped with one set comparison, before any evaluation ("Leopoldo López" needs both)."""
    if isinstance(node, Term):
        return frozenset(p.text for p in node.parts if p.kind == "word")
    if isinstance(node, AliasSet):
        sets = [required_words(t) for t in node.terms]
        return frozenset.intersection(*sets) if sets else frozenset()
    if isinstance(node, CNear):
        return required_words(node.left) | required_words(node.right)
    if isinstance(node, CAnd):
        found: frozenset[str] = frozenset()
        for child in node.children:
            found |= required_words(child)
        return found
    if isinstance(node, COr):
        return frozenset.intersection(*(required_words(c) for c in node.children))
    return frozenset()  # NOT, link:
