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
from collections.abc import Mapping, Sequence

from watcher.rules.matcher import AliasSet, CAnd, CNear, CNode, CNot, COr, Span
from watcher.rules.presearch import rule_requirements
from watcher.rules.query import FIELDS, Term

try:
    from watcher.rules import _engine  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the Python engine does the work
    _engine = None

# WATCHER_ENGINE=python runs the Python engine even where the C one is built (to compare).
AVAILABLE = _engine is not None and os.environ.get("WATCHER_ENGINE", "") != "python"

_PHRASE_BASE: int = _engine.PHRASE_BASE if _engine is not None else 0
_STEM_BASE: int = _engine.STEM_BASE if _engine is not None else 0
_TEXT = 0b0111  # title, summary, content: where a term with no field looks
_WORD, _PREFIX, _ANY = 0, 1, 2  # a term's parts, as _engine.c's PART_* reads them
# (the rules an item matches; for each, the index of what it matched in the two lists after,
# or -1 when Python is to evaluate it; per index, the spans or None; the terms or None): see
# ``CompiledIndex.match``
Found = tuple[list[int], list[int], list[tuple[Span, ...] | None], list[tuple[str, ...] | None]]


def _mask(field: str | None) -> int:
    return _TEXT if field is None else 1 << FIELDS.index(field)


class _Program:
    """Queries encoded for ``_engine.c`` (each node [opcode, size, ...]), and the words,
    phrases of exact words and prefixes they look for, numbered as they are met: words from
    0, phrases from ``PHRASE_BASE``, prefixes from ``STEM_BASE`` (the engine lays them end to
    end once it knows how many there are of each)."""

    def __init__(self) -> None:
        self.code = array("i")
        self.words: dict[str, int] = {}
        self.phrases: dict[tuple[int, ...], int] = {}  # word numbers -> phrase number
        self.stems: dict[str, int] = {}
        self._queries: dict[int, int] = {}  # a query's node -> its offset: rules share nodes
        self._terms: dict[tuple[int, int], array[int]] = {}  # (term, mask) -> its encoding
        self._members: dict[str, int] = {}

    def add(self, node: CNode) -> int:
        """Encode a query; its offset, or -1 when Python is to evaluate it. The node must
        live until the program is done (its id names it)."""
        at = self._queries.get(id(node))
        if at is None:
            at = len(self.code)
            if not self._node(node, False):
                del self.code[at:]
                at = -1
            self._queries[id(node)] = at
        return at

    def word(self, text: str) -> int:
        return self.words.setdefault(text, len(self.words))

    def stem(self, text: str) -> int:
        return self.stems.setdefault(text, len(self.stems))

    def phrase(self, words: Sequence[int]) -> int:
        """The number of a phrase of exact words, given its words' numbers."""
        return _PHRASE_BASE + self.phrases.setdefault(tuple(words), len(self.phrases))

    def member(self, member: str) -> int:
        """The number of a requirement member ("word", "two words", "stem*")."""
        number = self._members.get(member)
        if number is None:
            if member.endswith("*"):
                number = _STEM_BASE + self.stem(member[:-1])
            elif " " in member:
                number = self.phrase([self.word(w) for w in member.split(" ")])
            else:
                number = self.word(member)
            self._members[member] = number
        return number

    def _node(self, node: CNode, in_near: bool) -> bool:
        """Append a node's encoding; False when the C engine does not evaluate it: ``link:``,
        and a NEAR inside a NEAR's operand (whose operands it matches span by span)."""
        code = self.code
        at = len(code)
        kind = type(node)  # (compiled nodes are never subclassed)
        if kind is Term:
            assert isinstance(node, Term)
            self._term(node, _mask(node.field))
            return True
        if kind is AliasSet:
            assert isinstance(node, AliasSet)
            code.extend((_engine.OP_ALIAS, 0, _mask(node.field), len(node.terms)))
            code.append(len(node.exclude))
            for term in (*node.terms, *node.exclude):
                self._term(term, _TEXT)
        elif kind is CAnd or kind is COr:
            assert isinstance(node, CAnd | COr)
            code.extend((_engine.OP_AND if kind is CAnd else _engine.OP_OR, 0, len(node.children)))
            for child in node.children:
                if not self._node(child, in_near):
                    return False
        elif kind is CNot:
            assert isinstance(node, CNot)
            code.extend((_engine.OP_NOT, 0))
            if not self._node(node.child, in_near):
                return False
        elif kind is CNear and not in_near:
            assert isinstance(node, CNear)
            code.extend((_engine.OP_NEAR, 0, node.distance, int(node.ordered)))
            if not (self._node(node.left, True) and self._node(node.right, True)):
                return False
        else:
            return False
        code[at + 1] = len(code) - at
        return True

    def _term(self, term: Term, mask: int) -> None:
        key = (id(term), mask)
        known = self._terms.get(key)
        if known is None:
            parts = term.parts
            encoded: list[int] = []  # (kind, number) per part
            for part in parts:
                if part.kind == "word":
                    encoded += (_WORD, self.word(part.text))
                elif part.kind == "prefix":
                    encoded += (_PREFIX, self.stem(part.text))
                else:
                    encoded += (_ANY, 0)
            if not term.pattern:  # a prefix or ``*``: found from its first part
                member = -1
            elif len(parts) == 1:
                member = encoded[1]
            else:  # a phrase of exact words: its words' numbers are every other entry
                member = self.phrase(encoded[1::2])
            known = array("i", (_engine.OP_TERM, 5 + 2 * len(parts), mask, member, len(parts)))
            known.extend(encoded)
            self._terms[key] = known
        self.code.extend(known)


class CompiledIndex:
    """The C engine over a rule set's queries (``nodes``, in rule order)."""

    def __init__(
        self, nodes: Sequence[CNode], frequency: Mapping[str, float] | None = None
    ) -> None:
        if _engine is None:
            raise RuntimeError("watcher's C engine is not built (see README: install)")
        program = _Program()
        rule_code, first_only = array("i"), array("i")
        for node in nodes:
            rule_code.append(program.add(node))
            first_only.append(int(type(node) is Term and bool(node.pattern)))

        # requirement sets, each under its best anchor, as the Python index picks it
        reqs, uses, cost = rule_requirements(nodes, frequency)
        rank = {member: cost(member) for member in uses}  # worked out once per member
        set_anchor, set_rule, set_off, set_n, set_members = (array("i") for _ in range(5))
        always = array("i")
        member = program.member
        for rule, sets in enumerate(reqs):
            if any(not s for s in sets):
                always.append(rule)
                continue
            for req in sets:
                anchor, *rest = sorted(req, key=rank.__getitem__)
                set_anchor.append(member(anchor))
                set_rule.append(rule)
                set_off.append(len(set_members))
                set_n.append(len(rest))
                set_members.extend(map(member, rest))

        blob = bytearray()
        word_off, word_len = array("i"), array("i")
        for word in program.words:  # (dicts keep the order their numbers were given in)
            data = word.encode("utf-8", "surrogatepass")
            word_off.append(len(blob))
            word_len.append(len(data))
            blob += data
        phrase_first, phrase_off, phrase_len, phrase_words = (array("i") for _ in range(4))
        for key in program.phrases:
            phrase_first.append(key[0])
            phrase_off.append(len(phrase_words))
            phrase_len.append(len(key))
            phrase_words.extend(key)
        stem_off, stem_len = array("i"), array("i")
        for stem in program.stems:
            data = stem.encode("utf-8", "surrogatepass")
            stem_off.append(len(blob))
            stem_len.append(len(data))
            blob += data
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

    def match(
        self,
        everything: str,
        texts: tuple[str, ...] | None = None,
        spaced: tuple[str | None, ...] | None = None,
    ) -> Found:
        """The rules an item matches, by position, in order; for each, the index of what it
        matched, where rules that matched the same words share one: its terms when the engine
        could cut them (from fields given in ``spaced``, and the feed's name), else its spans
        (sorted, no repeats); -1 for a candidate Python is to evaluate. Takes the
        item's words as ``Document.everything`` holds them, and ``Document.cuts()``."""
        if texts is None or spaced is None:
            texts = spaced = ()
        try:
            found: Found = self._engine.match(everything, texts, spaced)
        except UnicodeEncodeError:  # a lone surrogate (broken feeds): its bytes as they are
            everything_bytes = everything.encode("utf-8", "surrogatepass")
            found = self._engine.match(everything_bytes, texts, spaced)
        return found

    def candidates(self, everything: str) -> list[int]:
        """The rules, in order, whose requirements the item holds (as
        ``PresearchIndex.candidates``, with the same anchors)."""
        try:
            found: list[int] = self._engine.candidates(everything)
        except UnicodeEncodeError:
            found = self._engine.candidates(everything.encode("utf-8", "surrogatepass"))
        return found
