"""Presearch: find the few rules an item could match, without looking at the others.

Every rule is reduced to *requirements*: sets of words, phrases of exact words, and word
prefixes (written ``stem*``), of which an item must hold all the members of at least one set
for the rule to be able to match (``("Grace Ortega" OR "Leopoldo López") AND Caracas`` needs
{"grace ortega", caracas} or {"leopoldo lopez", caracas}). From each set one *anchor* is
indexed: the member fewest other rules use (names, not context words like "caracas"). An
item's candidates are the rules anchored by what it holds, found with one Aho-Corasick pass
over its words (which finds phrases and prefixes too); a candidate is then kept only if one of
its sets is wholly present (a set comparison), and only those are evaluated. So the cost per
item follows the rules it could hit, not the number loaded: the design of Lucene Monitor and
the Elasticsearch percolator, done on words because watcher's queries are about words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import compress, product
from operator import itemgetter, not_

import ahocorasick

from watcher.rules.matcher import AliasSet, CAnd, CNear, CNode, COr
from watcher.rules.query import Term
from watcher.text import words

Requirement = frozenset[str]  # words, and prefixes written "stem*"
MAX_SETS = 16  # past this many alternative sets a rule's requirements are simplified (soundly)
_NOTHING: tuple[Requirement, ...] = (frozenset(),)

# Words so common in English and Spanish news that a rule anchored on them would be a candidate
# for nearly every item; any other member of the set is a better anchor.
_COMMON = frozenset(
    """a al an and are as at be but by con de del el en es for from has have he his in is it
    its la las le les lo los no of on or para por que se she su sus that the their this to un
    una was were will with y mr ms dr said says dijo""".split()
)


def _term(term: Term, cache: dict[int, tuple[Term, Requirement]]) -> Requirement:
    """The words (and ``stem*``) of a term. Terms are shared objects, so one index build
    works each out once (``cache``: by identity, the term kept beside its set)."""
    known = cache.get(id(term))
    if known is not None and known[0] is term:
        return known[1]
    if term.pattern and len(term.parts) > 1:
        # a phrase of exact words is one member, "karim khan", found as " karim khan " as the
        # matcher finds it: an item holding "Karim" and "Khan" apart is no candidate
        found = frozenset((term.pattern[1:-1],))
    else:
        found = frozenset(
            p.text if p.kind == "word" else p.text + "*" for p in term.parts if p.kind != "any"
        )
    cache[id(term)] = (term, found)
    return found


def _all_of(options: Sequence[tuple[Requirement, ...]]) -> tuple[Requirement, ...]:
    """Requirements of an AND: one set from each child, united; simplified when too many."""
    constrained = [o for o in options if o != _NOTHING]
    if not constrained:
        return _NOTHING
    combos = 1
    for o in constrained:
        combos *= len(o)
    if combos <= MAX_SETS:
        return tuple(frozenset().union(*sets) for sets in product(*constrained))
    return min(constrained, key=len)  # one child's sets alone are still required: still sound


def requirements(
    node: CNode, cache: dict[int, tuple[Term, Requirement]] | None = None
) -> tuple[Requirement, ...]:
    """Sets of words, one of which an item must hold wholly for ``node`` to match."""
    cache = {} if cache is None else cache
    if isinstance(node, Term):
        return (_term(node, cache),)
    if isinstance(node, AliasSet):
        return tuple(_term(t, cache) for t in node.terms)
    if isinstance(node, CAnd):
        return _all_of([requirements(c, cache) for c in node.children])
    if isinstance(node, CNear):
        return _all_of([requirements(node.left, cache), requirements(node.right, cache)])
    if isinstance(node, COr):
        sets: list[Requirement] = []
        for child in node.children:
            found = requirements(child, cache)
            if found == _NOTHING:
                return _NOTHING
            sets.extend(found)
        if len(sets) > MAX_SETS:  # what every branch needs is still needed
            return (frozenset.intersection(*sets),)
        return tuple(sets)
    return _NOTHING  # NOT, link:: nothing to look for


Cost = tuple[bool, int, int, int]


def rule_requirements(
    nodes: Sequence[CNode], frequency: Mapping[str, float] | None
) -> tuple[list[set[Requirement]], Counter[str], Callable[[str], Cost]]:
    """Each rule's requirement sets, how many sets use each member, and the cost of a member
    as an anchor (lower is better): shared by this index and the C engine's (compiled.py)."""
    terms: dict[int, tuple[Term, Requirement]] = {}
    by_node: dict[int, set[Requirement]] = {}  # rules with the same query share its node
    reqs = []
    for node in nodes:
        sets = by_node.get(id(node))
        if sets is None:
            sets = by_node[id(node)] = set(requirements(node, terms))  # each set on its own
        reqs.append(sets)
    uses = Counter(member for sets in reqs for s in sets for member in s)
    known = frequency or {}

    def cost(member: str) -> Cost:
        """Lower is a better anchor: not a stop word, rare in recent items (when known),
        used by few rules, exact rather than a prefix, long."""
        prefix = member.endswith("*")
        word = member.rstrip("*")
        seen = int(known.get(word, 0.0) * 100)  # percent of recent items holding it
        return (word in _COMMON, seen, uses[member] * (4 if prefix else 1), -len(member))

    return reqs, uses, cost


class PresearchIndex:
    """Two anchors per requirement set -> the rules (by position) it belongs to.

    The first anchor is the set's member fewest rules use, the second the next one: in
    ``"Grace Ortega" AND (oil OR gas)`` the name, then the word, so a rule becomes a candidate
    only when both are present. A phrase is one member: "grace" and "ortega" are each common
    in the news, "grace ortega" together is rare.
    """

    def __init__(
        self, nodes: Sequence[CNode], frequency: Mapping[str, float] | None = None
    ) -> None:
        reqs, uses, cost = rule_requirements(nodes, frequency)
        # Members are numbered: what an item holds is then a set of small ints, gathered from
        # the automaton in C, and every later test is a set operation on them.
        number = {member: n for n, member in enumerate(sorted(uses))}
        rank = {number[m]: cost(m) for m in uses}  # each member's cost, worked out once
        # A set of one member is wholly present when its member is: its rules are candidates
        # at once. A set of two is when both its anchors are; a longer set has the rest of
        # its members checked (a set comparison) for the rule it belongs to.
        single: dict[int, list[int]] = {}  # the one member -> rules
        pairs: dict[int, dict[int, tuple[list[int], list[tuple[frozenset[int], int]]]]] = {}
        self.always: list[int] = []  # rules with nothing to look for: tried on every item
        for i, sets in enumerate(reqs):
            if any(not s for s in sets):
                self.always.append(i)
                continue
            for req in sets:
                ids = frozenset(map(number.__getitem__, req))
                if len(ids) == 1:
                    single.setdefault(next(iter(ids)), []).append(i)
                    continue
                first, second, *rest = sorted(ids, key=rank.__getitem__)
                whole, partial = pairs.setdefault(first, {}).setdefault(second, ([], []))
                if rest:
                    partial.append((ids, i))
                else:
                    whole.append(i)
        self._single = single
        self._pairs = pairs
        self._single_firsts = frozenset(single)
        self._pair_firsts = frozenset(pairs)
        self._seconds = {first: frozenset(seconds) for first, seconds in pairs.items()}
        # All of it in one Aho-Corasick automaton, run once over the item's words as
        # ``Document.everything`` holds them (one space between words, one at each end): a
        # word is found as " word ", a prefix as " stem". One pass in C finds every member
        # the item holds, prefixes included. (Intersecting the item's words with the rules'
        # words, and an automaton for the prefixes alone, cost as many instructions: every
        # word of the item has to be hashed first.)
        self._automaton = ahocorasick.Automaton()
        for member, n in number.items():
            self._automaton.add_word(_pattern(member), n)
        self._automaton.make_automaton()
        self._members = len(number)

    def candidates(self, everything: str) -> list[int]:
        """The rules, in order, that an item could match, given its words separated by single
        spaces with a space at each end (``Document.everything``)."""
        # members, in C (an automaton with no words, when every rule is tried on every item,
        # cannot be run at all)
        present = set(map(_VALUE, self._automaton.iter(everything))) if self._members else set()
        kept: set[int] = set(self.always)
        # every loop over what the item holds runs in C (map, filter, compress): Python runs
        # only for the anchor pairs the item holds both of, a few
        kept.update(*map(self._single.__getitem__, present & self._single_firsts))
        # a set, walked twice below in the same order (it does not change in between)
        firsts = present & self._pair_firsts
        seconds = self._seconds
        apart = map(present.isdisjoint, map(seconds.__getitem__, firsts))  # no set made
        unsure: list[tuple[frozenset[int], int]] = []
        pairs = self._pairs
        for first in compress(firsts, map(not_, apart)):
            by_second = pairs[first]
            for second in present.intersection(seconds[first]):
                whole, partial = by_second[second]
                kept.update(whole)
                unsure.extend(partial)
        for members, i in unsure:
            if members <= present:
                kept.add(i)
        return sorted(kept)


_VALUE = itemgetter(1)  # an automaton match is (end, value)


def _pattern(member: str) -> str:
    """How a requirement member is found in ``Document.everything``."""
    return " " + member[:-1] if member[-1] == "*" else " " + member + " "


def document_frequency(texts: Iterable[str]) -> dict[str, float]:
    """The share of ``texts`` holding each word: which words are common in *this* news stream,
    so that anchors avoid them (a word few rules use may still be in every other story)."""
    counts: Counter[str] = Counter()
    n = 0
    for text in texts:
        counts.update(set(words(text)))
        n += 1
    return {w: c / n for w, c in counts.items()} if n else {}
