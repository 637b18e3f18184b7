"""A rule set compiled for the C engine (``_engine.c``): presearch and evaluation in C.

The Python engine (``presearch.py``, ``matcher.py``) spends most of an item's time, at 100,000
rules, on the objects around its C calls: sets of member numbers, dictionaries of anchors,
query nodes and spans scattered over hundreds of megabytes. This module turns the same rules
into a few flat arrays once per load; ``_engine.Engine`` then finds the item's words, picks the
candidates and evaluates them without making a Python object until it reports a match.

The answers are the Python engine's: the same requirement sets and anchors pick the candidates
(``presearch.rule_requirements``), and each query is evaluated with ``matcher.evaluate``'s
rules. Tests hold the two engines to the same hits. Queries the C engine does not evaluate
(``link:``, a NEAR inside a NEAR's operand) are handed back as candidates, and Python evaluates
them. Where the extension is not built (no C compiler at install), ``AVAILABLE`` is False and
watcher runs the Python engine, with the same results, slower.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterator, Mapping, Sequence

from watcher.rules.matcher import AliasSet, CAnd, CNear, CNode, CNot, COr, Span
from watcher.rules.presearch import rule_requirements
from watcher.rules.query import FIELDS, Term

try:
    from watcher.rules import _engine  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the Python engine does the work
    _engine = None

# WATCHER_ENGINE=python runs the Python engine even where the C one is built (to compare).
AVAILABLE = _engine is not None and os.environ.get("WATCHER_ENGINE", "") != "python"

_TEXT = 0b0111  # title, summary, content: where a term with no field looks
_KIND = {"word": 0, "prefix": 1, "any": 2}
Found = list[tuple[int, tuple[Span, ...] | None]]


def _mask(field: str | None) -> int:
    return _TEXT if field is None else 1 << FIELDS.index(field)


def _terms(node: CNode) -> Iterator[Term]:
    """Every term of a query, aliases' spellings and excluded words included."""
    if isinstance(node, Term):
        yield node
    elif isinstance(node, AliasSet):
        yield from node.terms
        yield from node.exclude
    elif isinstance(node, CAnd | COr):
        for child in node.children:
            yield from _terms(child)
    elif isinstance(node, CNot):
        yield from _terms(node.child)
    elif isinstance(node, CNear):
        yield from _terms(node.left)
        yield from _terms(node.right)


def _has_near(node: CNode) -> bool:
    if isinstance(node, CNear):
        return True
    if isinstance(node, CAnd | COr):
        return any(_has_near(c) for c in node.children)
    if isinstance(node, CNot):
        return _has_near(node.child)
    return False


class _Vocabulary:
    """The words, phrases of exact words and prefixes the rules look for, numbered as the C
    engine numbers its members: words first, then phrases, then prefixes."""

    def __init__(self, nodes: Sequence[CNode]) -> None:
        words: dict[str, int] = {}
        phrases: dict[tuple[int, ...], int] = {}
        stems: dict[str, int] = {}
        seen: set[int] = set()
        for node in nodes:
            for term in _terms(node):
                if id(term) in seen:
                    continue
                seen.add(id(term))
                for part in term.parts:
                    if part.kind == "word":
                        words.setdefault(part.text, len(words))
                    elif part.kind == "prefix":
                        stems.setdefault(part.text, len(stems))
                if term.pattern and len(term.parts) > 1:
                    key = tuple(words[p.text] for p in term.parts)
                    phrases.setdefault(key, len(phrases))
        self.words, self.phrases, self.stems = words, phrases, stems

    def member(self, term: Term) -> int:
        """The member an exact term is found as; -1 for a term with a prefix or ``*``."""
        if not term.pattern:
            return -1
        if len(term.parts) == 1:
            return self.words[term.parts[0].text]
        key = tuple(self.words[p.text] for p in term.parts)
        return len(self.words) + self.phrases[key]

    def requirement(self, member: str) -> int:
        """The member number of a requirement member ("word", "two words", "stem*")."""
        if member.endswith("*"):
            return len(self.words) + len(self.phrases) + self.stems[member[:-1]]
        if " " in member:
            key = tuple(self.words[w] for w in member.split(" "))
            return len(self.words) + self.phrases[key]
        return self.words[member]


class _Program:
    """Queries encoded for ``_engine.c``: each node is [opcode, size, ...]."""

    def __init__(self, vocabulary: _Vocabulary) -> None:
        self.code = array("i")
        self.vocabulary = vocabulary

    def add(self, node: CNode) -> int:
        """Encode a query; its offset, or -1 when Python is to evaluate it."""
        if not self._supported(node, inside_near=False):
            return -1
        at = len(self.code)
        self._node(node)
        return at

    def _supported(self, node: CNode, inside_near: bool) -> bool:
        if isinstance(node, Term | AliasSet):
            return True
        if isinstance(node, CAnd | COr):
            return all(self._supported(c, inside_near) for c in node.children)
        if isinstance(node, CNot):
            return self._supported(node.child, inside_near)
        if isinstance(node, CNear):  # a NEAR's operands are matched span by span in C
            return not inside_near and not _has_near(node.left) and not _has_near(node.right)
        return False  # link:

    def _node(self, node: CNode) -> None:
        code = self.code
        at = len(code)
        if isinstance(node, Term):
            self._term(node, _mask(node.field))
            return
        if isinstance(node, AliasSet):
            code.extend((_engine.OP_ALIAS, 0, _mask(node.field), len(node.terms)))
            code.append(len(node.exclude))
            for term in (*node.terms, *node.exclude):
                self._term(term, _TEXT)
        elif isinstance(node, CAnd | COr):
            op = _engine.OP_AND if isinstance(node, CAnd) else _engine.OP_OR
            code.extend((op, 0, len(node.children)))
            for child in node.children:
                self._node(child)
        elif isinstance(node, CNot):
            code.extend((_engine.OP_NOT, 0))
            self._node(node.child)
        else:
            assert isinstance(node, CNear)
            code.extend((_engine.OP_NEAR, 0, node.distance, int(node.ordered)))
            self._node(node.left)
            self._node(node.right)
        code[at + 1] = len(code) - at

    def _term(self, term: Term, mask: int) -> None:
        vocabulary = self.vocabulary
        parts = term.parts
        self.code.extend((_engine.OP_TERM, 5 + 2 * len(parts), mask, vocabulary.member(term)))
        self.code.append(len(parts))
        for part in parts:
            if part.kind == "word":
                number = vocabulary.words[part.text]
            elif part.kind == "prefix":
                number = vocabulary.stems[part.text]
            else:
                number = 0
            self.code.extend((_KIND[part.kind], number))


class CompiledIndex:
    """The C engine over a rule set's queries (``nodes``, in rule order)."""

    def __init__(
        self, nodes: Sequence[CNode], frequency: Mapping[str, float] | None = None
    ) -> None:
        if _engine is None:
            raise RuntimeError("watcher's C engine is not built (see README: install)")
        vocabulary = _Vocabulary(nodes)
        blob = bytearray()
        word_off, word_len = array("i"), array("i")
        for word in vocabulary.words:  # (dicts keep the order their numbers were given in)
            data = word.encode("utf-8", "surrogatepass")
            word_off.append(len(blob))
            word_len.append(len(data))
            blob += data
        phrase_first, phrase_off, phrase_len, phrase_words = (array("i") for _ in range(4))
        for key in vocabulary.phrases:
            phrase_first.append(key[0])
            phrase_off.append(len(phrase_words))
            phrase_len.append(len(key))
            phrase_words.extend(key)
        stem_off, stem_len = array("i"), array("i")
        for stem in vocabulary.stems:
            data = stem.encode("utf-8", "surrogatepass")
            stem_off.append(len(blob))
            stem_len.append(len(data))
            blob += data

        # requirement sets, each under its best anchor, as the Python index picks it
        reqs, _, cost = rule_requirements(nodes, frequency)
        set_anchor, set_rule, set_off, set_n, set_members = (array("i") for _ in range(5))
        always = array("i")
        for rule, sets in enumerate(reqs):
            if any(not s for s in sets):
                always.append(rule)
                continue
            for req in sets:
                anchor, *rest = sorted(req, key=cost)
                set_anchor.append(vocabulary.requirement(anchor))
                set_rule.append(rule)
                set_off.append(len(set_members))
                set_n.append(len(rest))
                set_members.extend(map(vocabulary.requirement, rest))

        program = _Program(vocabulary)
        rule_code, first_only = array("i"), array("i")
        for node in nodes:
            rule_code.append(program.add(node))
            first_only.append(int(type(node) is Term and bool(node.pattern)))
        self.python_rules = rule_code.count(-1)  # rules Python evaluates (link:, nested NEAR)
        # kept to pickle the index (to a parsing process): a few bytes per rule
        self._arrays: tuple[object, ...] = (
            bytes(blob),
            word_off,
            word_len,
            phrase_first,
            phrase_off,
            phrase_len,
            phrase_words,
            stem_off,
            stem_len,
            set_anchor,
            set_rule,
            set_off,
            set_n,
            set_members,
            always,
            program.code,
            rule_code,
            first_only,
        )
        self._engine = _engine.Engine(*self._arrays, FIELDS, Span)

    def __getstate__(self) -> object:
        return (self._arrays, self.python_rules)

    def __setstate__(self, state: tuple[tuple[object, ...], int]) -> None:
        """Rebuild the engine from its arrays (milliseconds), not from the rules."""
        if _engine is None:
            raise RuntimeError("watcher's C engine is not built in this process")
        self._arrays, self.python_rules = state
        self._engine = _engine.Engine(*self._arrays, FIELDS, Span)

    def match(self, everything: str) -> Found:
        """The rules an item matches, by position, with their spans (sorted, no repeats);
        with ``None`` instead, the candidates Python is to evaluate. Takes the item's words as
        ``Document.everything`` holds them."""
        try:
            found: Found = self._engine.match(everything)
        except UnicodeEncodeError:  # a lone surrogate (broken feeds): its bytes as they are
            found = self._engine.match(everything.encode("utf-8", "surrogatepass"))
        return found

    def candidates(self, everything: str) -> list[int]:
        """The rules, in order, whose requirements the item holds (as
        ``PresearchIndex.candidates``, with the same anchors)."""
        try:
            found: list[int] = self._engine.candidates(everything)
        except UnicodeEncodeError:
            found = self._engine.candidates(everything.encode("utf-8", "surrogatepass"))
        return found
