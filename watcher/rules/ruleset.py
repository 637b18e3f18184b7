"""A compiled set of rules: what the matcher runs for every new item."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import NamedTuple

from watcher.errors import QuerySyntaxError
from watcher.models import Item, Noise, RuleHit
from watcher.rules.compiled import AVAILABLE, CompiledIndex, Found
from watcher.rules.matcher import (
    Alias,
    CNode,
    Document,
    Span,
    compile_node,
    evaluate,
    has_positive_term,
    matched_terms,
    reading_order,
    snippet,
)
from watcher.rules.presearch import PresearchIndex
from watcher.rules.query import (
    TEXT_FIELDS,
    Term,
    parse_query,
    parse_spelling,
)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as written in a rules file."""

    id: str
    title: str
    query: str
    notify: tuple[str, ...] = ()
    enabled: bool = True
    lang: tuple[str, ...] = ()  # only items in these languages, when the item or feed says
    noise: Noise = field(default_factory=Noise)  # digest, hourly limit, quiet hours, urgency


@dataclass(frozen=True)
class Explanation:
    """Why a rule matched: each matched term with its field and word positions, and an excerpt
    with the matched words marked."""

    rule: RuleSpec
    spans: tuple[tuple[str, str, int, int], ...]  # (text, field, first word, last word + 1)
    snippet: str


class CompiledRule(NamedTuple):
    """A rule and its compiled query (a tuple: unpacked at once for every candidate)."""

    spec: RuleSpec
    node: CNode


# Objects made while the collector was paused, past which they are frozen when it resumes
# rather than walked: ~3,000 rules. Walking fewer costs the collector a few milliseconds.
FREEZE_FROM = 50_000


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cycle collector while rules compile (a ``with`` block or a decorator).

    Compiling allocates hundreds of thousands of small objects that live as long as the rule
    set, and each burst of allocation makes the collector walk all of them again: that was half
    the time of compiling 100,000 rules. Compiled rules hold no reference cycles, so nothing is
    left for the collector to find; it resumes (if it was running) when the block ends, and when
    the block made a great many objects they are frozen first (``settle_long_lived``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_count()[0] >= FREEZE_FROM:  # tracked objects made since the last collection
            settle_long_lived()
        if was_enabled:
            gc.enable()


def settle_long_lived() -> None:
    """Take everything alive now out of the cycle collector's walks (``gc.freeze``).

    100,000 rules are 1.7 million objects (and their rules file, while it loads, as many
    again), made while the collector was paused: left in its young generation, the first
    collection after would walk every one of them, with the interpreter lock held (seconds
    during which the event loop, and so polling, stops), then the next generation's, then
    every full collection again (0.8 s each). They hold no cycles, so never walking them loses
    nothing, and reference counting still frees them when a reload drops them. The cost: a
    reference cycle among objects alive now that becomes garbage later is kept until exit, a
    bounded few per large reload.
    """
    gc.freeze()


def _spellings(name: str, spellings: Iterable[str], what: str) -> tuple[Term, ...]:
    terms = []
    for spelling in spellings:
        try:
            terms.append(parse_spelling(spelling))
        except QuerySyntaxError as exc:
            raise QuerySyntaxError(f'alias "{name}", {what} {spelling!r}: {exc.message}') from exc
    return tuple(terms)


class AliasTable(dict[str, Alias]):
    """The compiled aliases of one load. Hashable by content, so that a compiled query can be
    reused across reloads for as long as the aliases it may use are unchanged."""

    def __hash__(self) -> int:  # type: ignore[override]
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = self.__dict__["_hash"] = hash(frozenset(self.items()))
        return cached


def compile_aliases(
    aliases: Mapping[str, Iterable[str]], exclude: Mapping[str, Iterable[str]] | None = None
) -> AliasTable:
    """Parse each alias spelling (and context word to exclude) as a phrase; raises
    ``QuerySyntaxError`` naming the alias."""
    exclude = exclude or {}
    return AliasTable(
        (
            name,
            Alias(
                _spellings(name, spellings, "spelling"),
                _spellings(name, exclude.get(name, ()), "exclude"),
            ),
        )
        for name, spellings in aliases.items()
    )


_last_table: list[AliasTable] = []


def same_table(table: AliasTable) -> AliasTable:
    """The table an earlier load made when it holds the same aliases: each query's cache entry
    is keyed by its table, and a key found is compared with the one looked up, which for two
    equal tables is every alias compared. With the same table object the comparison stops at
    its identity: a reload of 100,000 rules and 2,000 aliases took 51 s, the first load 6."""
    if _last_table and _last_table[0] == table:  # compared once per load, not once per rule
        return _last_table[0]
    _last_table[:] = [table]
    return table


@lru_cache(maxsize=250_000)
def _compile(query: str, aliases: AliasTable) -> CNode:
    """Compile one query. Cached: a reload recompiles only the queries that changed (or all of
    them when an alias changed); the cache holds the very nodes the live rule set uses."""
    node = compile_node(parse_query(query), aliases)
    if not has_positive_term(node):
        raise QuerySyntaxError(
            "the query matches only by what is absent (NOT ...); add a term the item must contain",
            1,
        )
    return node


def compile_rule(spec: RuleSpec, aliases: Mapping[str, Alias]) -> CompiledRule:
    """Parse and check one rule's query; every problem raises ``QuerySyntaxError``."""
    table = aliases if isinstance(aliases, AliasTable) else AliasTable(aliases)
    return CompiledRule(spec, _compile(spec.query, table))


def speaks(rule_langs: tuple[str, ...], language: str | None) -> bool:
    """Whether a rule limited to ``rule_langs`` applies to an item in ``language`` (a tag such
    as "es-VE"); an item whose language nobody declared is never filtered out."""
    if not rule_langs or not language:
        return True
    primary = language.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary in rule_langs


_Head = tuple[str, str, tuple[str, ...], Noise, tuple[str, ...]]
# Makes a RuleHit from a tuple without the Python-level ``__new__`` (one per hit).
_hit: Callable[[tuple[str, str, tuple[str, ...], tuple[str, ...], Noise]], RuleHit] = partial(
    tuple.__new__, RuleHit
)


class RuleSet:
    """The enabled rules, compiled once per load and shared read-only by every poll.

    Matching an item costs one presearch (one Aho-Corasick pass over its words) plus the
    evaluation of the few rules whose anchor words the item holds: not a pass over every rule.
    """

    def __init__(self, rules: Iterable[CompiledRule], compiled: bool | None = None) -> None:
        """``compiled``: whether to match with the C engine (``compiled.py``); by default,
        wherever it is built."""
        everything = list(rules)
        self.rules = [r for r in everything if r.spec.enabled]
        self.by_id = {r.spec.id: r for r in everything}
        self.compiled = AVAILABLE if compiled is None else compiled
        self._heads: list[_Head] = []  # see ``_make_heads``
        # built on first use, or by ``tune``
        self._index: PresearchIndex | CompiledIndex | None = None

    def tune(self, frequency: Mapping[str, float]) -> None:
        """Re-pick anchors knowing how common each word is in recent items (see
        ``presearch.document_frequency``): same matches, fewer candidates to rule out."""
        self._index = self._build_index(frequency)

    @property
    def index(self) -> PresearchIndex | CompiledIndex:
        """The presearch index; built here when nothing tuned it first (a daemon tunes it at
        start, so 100,000 rules are indexed once, not twice)."""
        return self.prepare()

    def prepare(self) -> PresearchIndex | CompiledIndex:
        """Build the presearch index now, where the caller chooses (a reload does it in a
        worker thread), rather than in the first poll that matches."""
        if self._index is None:
            self._index = self._build_index(None)
        return self._index

    def _build_index(self, frequency: Mapping[str, float] | None) -> PresearchIndex | CompiledIndex:
        with cycle_collection_paused():
            nodes = [r.node for r in self.rules]
            if self.compiled:
                self._make_heads()  # here, with the index: frozen with it (see the context)
                return CompiledIndex(nodes, frequency)
            return PresearchIndex(nodes, frequency)

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, item: Item, feed: Sequence[str] = ()) -> list[RuleHit]:
        """Every enabled rule the item matches, with the matched terms. ``feed`` is the feed's
        name and tags, for ``feed:`` terms."""
        if not self.rules:
            return []
        doc = Document(
            {"title": item.title, "summary": item.summary, "content": item.content},
            item.link,
            feed,
        )
        return self.match_document(doc, language=item.language)

    def _candidates(
        self, doc: Document, only: str | None, language: str | None
    ) -> list[CompiledRule]:
        """The rules whose anchors the item holds (and that apply to it), in rule order."""
        rules = self.rules
        index = self._index or self.prepare()  # (not the property: this runs for every item)
        found = [rules[i] for i in index.candidates(doc.everything)]
        if only is not None:
            found = [r for r in found if r.spec.id == only]
        return [r for r in found if not r.spec.lang or speaks(r.spec.lang, language)]

    def _evaluate(
        self, doc: Document, only: str | None, language: str | None
    ) -> list[tuple[RuleSpec, list[Span]]]:
        """Evaluate the candidate rules; those that match, with their spans."""
        found = []
        for spec, node in self._candidates(doc, only, language):
            result = evaluate(node, doc)
            if result.matched:
                found.append((spec, result.spans))
        return found

    def match_document(
        self, doc: Document, only: str | None = None, language: str | None = None
    ) -> list[RuleHit]:
        """The rules an item matches, with the matched terms; ``only`` limits it to one rule."""
        index = self._index or self.prepare()
        if type(index) is CompiledIndex:
            return self._hits(doc, index.match(doc.everything, *doc.cuts()), only, language)
        hits = []
        # Many people watch the same thing: rules with the same query share one compiled node
        # (``_compile`` is cached by query), and most rules of one exact word or phrase share
        # it with others. Each is worked out once per item (at 100,000 rules an item's 7.3
        # candidates are 4.4 distinct queries, and its 4.8 exact-term candidates 2 patterns).
        done: dict[object, tuple[str, ...] | None] = {}
        for spec, node in self._candidates(doc, only, language):
            if type(node) is Term and node.pattern:
                # One exact word or phrase (most rules): every occurrence is the same words, so
                # its term is its first occurrence in reading order, all that is looked for.
                key: object = (node.pattern, node.field, len(node.parts))
                if key in done:
                    terms = done[key]
                else:
                    first = doc.first(node.pattern, node.field, len(node.parts))
                    terms = done[key] = None if first is None else (doc.surface(first),)
            elif (key := id(node)) in done:  # the node lives as long as the rule set
                terms = done[key]
            else:
                result = evaluate(node, doc)
                terms = done[key] = matched_terms(doc, result.spans) if result.matched else None
            if terms is not None:
                hits.append(RuleHit(spec.id, spec.title, terms, spec.notify, spec.noise))
        return hits

    def _hits(
        self, doc: Document, found: Found, only: str | None, language: str | None
    ) -> list[RuleHit]:
        """Hits from the C engine's answer: the matched terms of each rule it matched (worked
        out once for rules that matched the same words), and the rules it left to Python
        (``link:``, nested NEAR) evaluated here."""
        heads = self._heads  # (made with the compiled index: ``_build_index``)
        matched, group_of, groups, terms_of = found
        hits = []
        for i, group in zip(matched, group_of, strict=True):
            rule_id, title, notify, noise, langs = heads[i]
            if (only is not None and rule_id != only) or (langs and not speaks(langs, language)):
                continue
            if group < 0:
                result = evaluate(self.rules[i].node, doc)
                if not result.matched:
                    continue
                terms = matched_terms(doc, result.spans)
            else:
                known = terms_of[group]
                if known is None:
                    spans = groups[group]
                    assert spans is not None  # (the engine gives one or the other)
                    known = terms_of[group] = matched_terms(doc, spans)
                terms = known
            hits.append(_hit((rule_id, title, terms, notify, noise)))
        return hits

    def _make_heads(self) -> list[_Head]:
        # what a hit copies from its rule, one tuple per rule: reading a rule's spec for
        # each hit costs a few memory reads at 100,000 rules, each likely a cache miss
        self._heads = [
            (s.id, s.title, s.notify, s.noise, s.lang) for s in (r.spec for r in self.rules)
        ]
        return self._heads

    def explain(
        self, doc: Document, only: str | None = None, language: str | None = None
    ) -> list[Explanation]:
        """Like ``match_document``, with each matched term's field and word positions."""
        explained = []
        for spec, spans in self._evaluate(doc, only, language):
            ordered = sorted(set(spans), key=reading_order)
            explained.append(
                Explanation(
                    spec,
                    tuple((doc.surface(s), s.field, s.start, s.end) for s in ordered),
                    " | ".join(
                        excerpt
                        for name in TEXT_FIELDS
                        if (excerpt := snippet(doc, [s for s in ordered if s.field == name]))
                    ),
                )
            )
        return explained
