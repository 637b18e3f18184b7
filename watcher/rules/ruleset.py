"""A compiled set of rules: what the matcher runs for every new item."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from watcher.errors import QuerySyntaxError
from watcher.models import Item, RuleHit
from watcher.rules.matcher import (
    CNode,
    Document,
    compile_node,
    evaluate,
    has_positive_term,
    matched_terms,
)
from watcher.rules.query import (
    AliasRef,
    And,
    Near,
    Node,
    Not,
    Or,
    Term,
    parse_query,
    parse_spelling,
)


@dataclass(frozen=True)
class RuleSpec:
    """A rule as written in a rules file."""

    id: str
    title: str
    query: str
    notify: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    node: CNode


def _alias_names(node: Node) -> Iterable[AliasRef]:
    if isinstance(node, AliasRef):
        yield node
    elif isinstance(node, Near):
        yield from _alias_names(node.left)
        yield from _alias_names(node.right)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _alias_names(child)
    elif isinstance(node, Not):
        yield from _alias_names(node.child)


def compile_aliases(aliases: Mapping[str, Iterable[str]]) -> dict[str, tuple[Term, ...]]:
    """Parse each alias spelling as a phrase; raises ``QuerySyntaxError`` naming the alias."""
    compiled: dict[str, tuple[Term, ...]] = {}
    for name, spellings in aliases.items():
        terms = []
        for spelling in spellings:
            try:
                terms.append(parse_spelling(spelling))
            except QuerySyntaxError as exc:
                raise QuerySyntaxError(
                    f'alias "{name}", spelling {spelling!r}: {exc.message}'
                ) from exc
        compiled[name] = tuple(terms)
    return compiled


def compile_rule(spec: RuleSpec, aliases: Mapping[str, tuple[Term, ...]]) -> CompiledRule:
    """Parse and check one rule's query; every problem raises ``QuerySyntaxError``."""
    tree = parse_query(spec.query)
    for ref in _alias_names(tree):
        if ref.name not in aliases:
            known = ", ".join("@" + n for n in sorted(aliases)) or "none are defined"
            raise QuerySyntaxError(f"unknown alias @{ref.name} (known: {known})", ref.column)
    node = compile_node(tree, aliases)
    if not has_positive_term(node):
        raise QuerySyntaxError(
            "the query matches only by what is absent (NOT ...); add a term the item must contain",
            1,
        )
    return CompiledRule(spec, node)


class RuleSet:
    """The enabled rules, compiled once per load and shared read-only by every poll."""

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        everything = list(rules)
        self.rules = [r for r in everything if r.spec.enabled]
        self.by_id = {r.spec.id: r for r in everything}

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, item: Item) -> list[RuleHit]:
        """Every enabled rule the item matches, with the matched terms."""
        if not self.rules:
            return []
        doc = Document({"title": item.title, "summary": item.summary, "content": item.content})
        return self.match_document(doc)

    def match_document(self, doc: Document, only: str | None = None) -> list[RuleHit]:
        hits = []
        for rule in self.rules:
            if only is not None and rule.spec.id != only:
                continue
            result = evaluate(rule.node, doc)
            if result.matched:
                spec = rule.spec
                terms = tuple(matched_terms(doc, result.spans))
                hits.append(RuleHit(spec.id, spec.title, terms, spec.notify))
        return hits
