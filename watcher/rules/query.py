"""The rule query language: text -> syntax tree.

Grammar, loosest binding first::

    query   := or
    or      := and ("OR" and)*
    and     := unary (["AND"] unary | "NOT" unary)*   # side by side = AND; A NOT B = A AND NOT B
    unary   := "NOT" unary | near
    near    := scoped (("NEAR/n" | "ONEAR/n") scoped)*
    scoped  := [FIELD ":"] (word | word* | "phrase" | @alias | "(" or ")") | "link:" domain

Operators are upper case. A lower-case ``and``/``or``/``not`` is refused rather than read as a
word, because an analyst who types ``maduro or guaido`` means the operator, and silently
searching for the word "or" would lose every alert.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from watcher.errors import QuerySyntaxError
from watcher.text import WORD_RE, fold, normalize_text

TEXT_FIELDS = ("title", "summary", "content")  # searched by a term with no field
FIELDS = (*TEXT_FIELDS, "feed")  # feed: the feed's name and tags
SCOPES = (*FIELDS, "link")  # link: the domain of the item's link


@dataclass(frozen=True, slots=True)
class Part:
    """One word position of a term: an exact word, a word prefix (``venez*``), or any word."""

    kind: str  # "word" | "prefix" | "any"
    text: str = ""


@dataclass(frozen=True, slots=True)
class Term:
    """A word, prefix or phrase: a sequence of parts that must occur in adjacent words."""

    parts: tuple[Part, ...]
    field: str | None = None
    # " a b " for a term of exact words: found in a document's words joined by spaces with one
    # string search in C ("" when a part is a prefix or any word)
    pattern: str = dataclasses.field(default="", compare=False)


@lru_cache(maxsize=500_000)
def _term(parts: tuple[Part, ...], scope: str | None) -> Term:
    """One shared object per distinct term: 100,000 rules repeat the same words a lot."""
    exact = all(p.kind == "word" for p in parts)
    return Term(parts, scope, " " + " ".join(p.text for p in parts) + " " if exact else "")


@dataclass(frozen=True, slots=True)
class AliasRef:
    """``@name``: any of the spellings listed under ``aliases.name``."""

    name: str
    field: str | None = None
    column: int = 0


@dataclass(frozen=True, slots=True)
class LinkDomain:
    """``link:bbc.co.uk``: the item's link is on that domain or one of its subdomains."""

    domain: str


@dataclass(frozen=True, slots=True)
class Near:
    """``A NEAR/n B``: both in one field, at most ``n`` words between them, either order;
    ``ONEAR/n``: the same, with A before B. A and B are terms, aliases or groups."""

    left: Node
    right: Node
    distance: int
    ordered: bool = False


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Term | AliasRef | LinkDomain | Near | And | Or | Not

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<phrase>"[^"]*"?)
  | (?P<field>[A-Za-z]+:(?=\S))
  | (?P<near>O?NEAR/\d+\b)
  | (?P<alias>@[\w-]+)
  | (?P<word>[^\s()"]+)
    """,
    re.VERBOSE,
)


# Words that may be operators, misspelt operators or a field followed by a space.
_MAYBE_SPECIAL = re.compile(r"(?i:and|or|not|o?near(?:/.*)?)$|.*:$")


class _Tok(NamedTuple):  # a tuple: made in C, a thousand times per thousand rules
    kind: str
    text: str
    column: int


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN_RE.finditer(query):
        kind = m.lastgroup or "word"
        text = m.group()
        col = m.start() + 1
        if kind == "space":
            continue
        if kind == "phrase" and (len(text) < 2 or not text.endswith('"')):
            raise QuerySyntaxError('unclosed quote: add the closing "', col)
        if kind == "word" and not _MAYBE_SPECIAL.match(text):
            pass  # an ordinary word: the common case, checked with one regex
        elif kind == "word" and text in ("AND", "OR", "NOT"):
            kind = text
        elif kind == "word" and text.lower() in ("and", "or", "not"):
            raise QuerySyntaxError(
                f'lower-case "{text}" is ambiguous: write {text.upper()} for the operator, '
                f'or "{text}" in quotes to search for the word',
                col,
            )
        elif kind == "word" and (
            text in ("NEAR", "ONEAR") or text.upper().startswith(("NEAR/", "ONEAR/"))
        ):
            op = text.split("/", 1)[0].upper()
            if re.fullmatch(r"o?near/\d+", text, re.IGNORECASE):
                raise QuerySyntaxError(
                    f'"{text}" is ambiguous: write {text.upper()} for the operator, '
                    f'or "{text}" in quotes to search for the words',
                    col,
                )
            raise QuerySyntaxError(f'"{text}": write {op}/n, e.g. {op}/5', col)
        elif kind == "word" and text.endswith(":") and text[:-1].lower() in SCOPES:
            raise QuerySyntaxError(
                f'"{text}" is followed by a space: write {text}word, {text}"a phrase" or '
                f"{text}(group) with nothing in between",
                col,
            )
        toks.append(_Tok(kind, text, col))
    return toks


def _parts(text: str, column: int, in_phrase: bool) -> tuple[Part, ...]:
    """Turn the text of a word or phrase into parts, reading ``*`` as a prefix or any-word mark."""
    try:
        return _cached_parts(text, in_phrase)
    except QuerySyntaxError as exc:
        raise QuerySyntaxError(exc.message, column) from None


_fold_word = lru_cache(maxsize=500_000)(fold)  # names share their words: "Muñoz" is folded once


@lru_cache(maxsize=500_000)
def _part(kind: str, text: str) -> Part:
    """One shared object per distinct part, its text interned: rules repeat the same words."""
    return Part(kind, sys.intern(text))


@lru_cache(maxsize=500_000)
def _cached_parts(text: str, in_phrase: bool) -> tuple[Part, ...]:
    """``_parts`` without the column: the same words recur across thousands of rules, so each
    spelling is parsed once and its parts are shared (less time to compile, less memory)."""
    column = None
    parts: list[Part] = []
    for chunk in normalize_text(text).split():
        if chunk.isalnum() and (folded := _fold_word(chunk)).isalnum():
            parts.append(_part("word", folded))  # one plain word: most are, read with no regex
            continue
        if chunk == "*":
            if not in_phrase:
                raise QuerySyntaxError("a lone * matches nothing on its own", column)
            parts.append(Part("any"))
            continue
        prefix = chunk.endswith("*")
        stem_words = [fold(w) for w in WORD_RE.findall(chunk.rstrip("*"))]
        if "*" in chunk.rstrip("*"):
            raise QuerySyntaxError(f'"{chunk}": * may only end a word', column)
        if not stem_words:
            if prefix:
                raise QuerySyntaxError(
                    f'"{chunk}": a prefix needs letters or digits before *', column
                )
            continue  # pure punctuation, e.g. "-" in a phrase: words only are compared
        parts.extend(_part("word", w) for w in stem_words[:-1])
        parts.append(_part("prefix" if prefix else "word", stem_words[-1]))
    if not parts or all(p.kind == "any" for p in parts):
        raise QuerySyntaxError(f"{text!r} holds no letters or digits to match", column)
    if parts[0].kind == "any" or parts[-1].kind == "any":
        raise QuerySyntaxError("a phrase cannot start or end with *", column)
    return tuple(parts)


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = _lex(query)
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def end_column(self) -> int:
        return len(self.query) + 1

    def parse(self) -> Node:
        if not self.toks:
            raise QuerySyntaxError("the query is empty", 1)
        node = self.parse_or(None)
        tok = self.peek()
        if tok is not None:
            if tok.kind == "rparen":
                raise QuerySyntaxError('unmatched ")"', tok.column)
            raise QuerySyntaxError(f'unexpected "{tok.text}"', tok.column)
        return node

    def parse_or(self, field: str | None) -> Node:
        children = [self.parse_and(field)]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            children.append(self.parse_and(field))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, field: str | None) -> Node:
        children = [self.parse_unary(field)]
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "rparen"):
            if tok.kind == "AND":
                self.take()
                children.append(self.parse_unary(field))
            elif tok.kind == "NOT":
                self.take()
                children.append(Not(self.parse_unary(field)))
            else:
                children.append(self.parse_unary(field))
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self, field: str | None) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "NOT":
            self.take()
            return Not(self.parse_unary(field))
        return self.parse_near(field)

    def parse_near(self, field: str | None) -> Node:
        node = self.parse_scoped(field)
        while (tok := self.peek()) is not None and tok.kind == "near":
            self.take()
            op, n = tok.text.split("/", 1)
            right = self.parse_scoped(field)
            left_scope = self._near_operand(node, tok)
            right_scope = self._near_operand(right, tok)
            if left_scope != right_scope:
                raise QuerySyntaxError(
                    f"{tok.text} needs both sides in the same field "
                    f"({left_scope or 'any'} vs {right_scope or 'any'})",
                    tok.column,
                )
            node = Near(node, right, int(n), ordered=op == "ONEAR")
        return node

    @staticmethod
    def _near_operand(node: Node, tok: _Tok) -> str | None:
        """The one field an operand of NEAR is scoped to (None: any); refuse what has no place
        in the text (NOT, link:)."""
        if isinstance(node, Term | AliasRef):
            return node.field
        if isinstance(node, Near):
            return _Parser._near_operand(node.left, tok)
        if isinstance(node, And | Or):
            scopes = {_Parser._near_operand(c, tok) for c in node.children}
            if len(scopes) > 1:
                raise QuerySyntaxError(
                    f"{tok.text}: a group beside it mixes fields; give the group one field",
                    tok.column,
                )
            return scopes.pop()
        what = "NOT" if isinstance(node, Not) else "link:"
        raise QuerySyntaxError(
            f"{tok.text} joins words, phrases, @aliases and groups of them; {what} has no place "
            "in the text to be near to",
            tok.column,
        )

    def parse_scoped(self, field: str | None) -> Node:
        tok = self.peek()
        if tok is None:
            raise QuerySyntaxError("the query ends where a term was expected", self.end_column())
        if tok.kind == "field":
            self.take()
            name = tok.text[:-1].lower()
            if name not in SCOPES:
                raise QuerySyntaxError(
                    f'unknown field "{name}:" (fields: {", ".join(f + ":" for f in SCOPES)})',
                    tok.column,
                )
            if field is not None and field != name:
                raise QuerySyntaxError(f'"{name}:" inside "{field}:" can never match', tok.column)
            if name == "link":
                return self.parse_domain(tok)
            return self.parse_primary(name)
        return self.parse_primary(field)

    def parse_domain(self, field_tok: _Tok) -> LinkDomain:
        tok = self.peek()
        example = "write link:bbc.co.uk (a domain; its subdomains match too)"
        if tok is None or tok.kind != "word":
            raise QuerySyntaxError(f"link: takes a domain: {example}", field_tok.column)
        self.take()
        domain = tok.text.lower().strip(".")
        if domain.startswith(("http://", "https://")) or "/" in domain or "." not in domain:
            raise QuerySyntaxError(f"{tok.text!r} is not a domain: {example}", tok.column)
        return LinkDomain(domain.removeprefix("www."))

    def parse_primary(self, field: str | None) -> Node:
        tok = self.peek()
        if tok is None:
            raise QuerySyntaxError("the query ends where a term was expected", self.end_column())
        if tok.kind == "lparen":
            self.take()
            node = self.parse_or(field)
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise QuerySyntaxError('unclosed "(": add the closing ")"', tok.column)
            self.take()
            return node
        if tok.kind == "phrase":
            self.take()
            return _term(_parts(tok.text[1:-1], tok.column, in_phrase=True), field)
        if tok.kind == "alias":
            self.take()
            return AliasRef(tok.text[1:], field, tok.column)
        if tok.kind == "word":
            self.take()
            return _term(_parts(tok.text, tok.column, in_phrase=False), field)
        if tok.kind == "field":
            return self.parse_scoped(field)
        if tok.kind == "rparen":
            raise QuerySyntaxError('unexpected ")": a term was expected', tok.column)
        if tok.kind == "near":
            raise QuerySyntaxError(f"{tok.text} needs a term on its left", tok.column)
        raise QuerySyntaxError(f"{tok.text} needs a term after it", tok.column)


def parse_query(query: str) -> Node:
    """Parse a query, raising ``QuerySyntaxError`` with a column on the first problem."""
    return _Parser(query).parse()


def parse_spelling(spelling: str) -> Term:
    """Parse one alias spelling: its words form a phrase; a trailing ``*`` is a prefix."""
    return _term(_parts(spelling, 1, in_phrase=True), None)
