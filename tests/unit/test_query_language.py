"""Table-driven tests of the rule query language, through the public rule-set API.

Every row builds a real rule with ``compile_rule`` and runs it with ``RuleSet`` against either a
plain-text ``Item`` (what feeds produce) or ``Document.from_html`` (markup still present), and
checks both whether it matched and which terms it reports.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from watcher.errors import QuerySyntaxError
from watcher.models import Item, RuleHit
from watcher.rules.matcher import Document
from watcher.rules.ruleset import RuleSet, RuleSpec, compile_aliases, compile_rule

ALIASES: dict[str, list[str]] = {
    "maduro": ["Nicolás Maduro", "Maduro Moros"],
    "icc": ["ICC", "International Criminal Court", "Corte Penal Internacional"],
    "khan": ["Karim A. A. Khan"],
    "venezuela": ["Venezuel*", "República Bolivariana"],
}

# Full-width letters as escapes (NFKC maps them to ASCII); ruff flags them as ambiguous.
FW_ICC = "\uff29\uff23\uff23"  # full-width I, C, C
FW_ICCPR = FW_ICC + "\uff30\uff32"  # ... then full-width P, R

# Sentinel: the rule must match, but the exact surface of the terms is not the point of the row.
MATCHED = object()


def _rules(query: str, aliases: Mapping[str, list[str]] | None = None) -> RuleSet:
    compiled = compile_aliases(ALIASES if aliases is None else aliases)
    return RuleSet([compile_rule(RuleSpec("r1", "Rule one", query, ("ops",)), compiled)])


def T(title: str = "", summary: str = "", content: str = "") -> tuple[str, dict[str, str]]:
    """A plain-text feed item, matched through ``RuleSet.match(Item)``."""
    return ("item", {"title": title, "summary": summary, "content": content})


def H(title: str = "", summary: str = "", content: str = "") -> tuple[str, dict[str, str]]:
    """Fields still holding markup, matched through ``Document.from_html``."""
    return ("html", {"title": title, "summary": summary, "content": content})


def _run(query: str, doc: tuple[str, dict[str, str]]) -> list[RuleHit]:
    kind, fields = doc
    rules = _rules(query)
    if kind == "item":
        item = Item(
            key="k1",
            article_key="https://example.org/a",
            title=fields["title"],
            link="https://example.org/a",
            summary=fields["summary"],
            content=fields["content"],
            published=None,
        )
        return rules.match(item)
    return rules.match_document(Document.from_html(**fields))


def _check(query: str, doc: tuple[str, dict[str, str]], expected: object) -> None:
    hits = _run(query, doc)
    if expected is None:
        assert hits == [], (
            f"{query!r} should not match, but reported {hits[0].terms if hits else ''}"
        )
        return
    assert len(hits) == 1, f"{query!r} should match {doc[1]}"
    hit = hits[0]
    assert (hit.rule_id, hit.rule_title, hit.notify) == ("r1", "Rule one", ("ops",))
    if expected is not MATCHED:
        assert hit.terms == expected


P = pytest.param

# --------------------------------------------------------------------------------------------
# Words: a word is a run of letters and digits; anything else separates words.
# --------------------------------------------------------------------------------------------
WORD_CASES = [
    P("maduro", T(title="Maduro speaks"), ("Maduro",), id="word-bare-match"),
    P("maduro", T(title="Guaidó speaks"), None, id="word-bare-absent"),
    P("ICC", T(content="The ICC said"), ("ICC",), id="word-icc"),
    P("ICC", T(content="Venezuela ratified the ICCPR"), None, id="word-icc-not-in-iccpr"),
    P("ICC", T(content="the ICC-CPI site"), ("ICC",), id="word-hyphen-separates"),
    P("ICC", T(content="the ICC's prosecutor"), ("ICC",), id="word-before-apostrophe"),
    P("court", T(title="The Court's ruling"), ("Court",), id="word-court-in-courts-apostrophe"),
    P("courts", T(title="The Court's ruling"), None, id="word-courts-not-court-s"),
    P("Court's", T(title="The Court's ruling"), ("Court's",), id="word-with-apostrophe-query"),
    P("Court's", T(title="the court s ruling"), ("court s",), id="word-apostrophe-is-separator"),
    P("Court's", T(title="The Courts ruling"), None, id="word-apostrophe-query-not-courts"),
    P("khan", T(content="Karim A. A. Khan"), ("Khan",), id="word-khan-after-initials"),
    P("khan", T(content="the Khanate"), None, id="word-khan-not-in-khanate"),
    P("maduro", T(content="tag_maduro_2024"), ("maduro",), id="word-underscore-separates"),
    P("1998", T(content="Rome Statute (1998)"), ("1998",), id="word-digits"),
    P("199", T(content="Rome Statute (1998)"), None, id="word-digits-not-inside-number"),
    P("covid", T(content="COVID19 measures"), None, id="word-letters-digits-one-word"),
    P("covid19", T(content="COVID19 measures"), ("COVID19",), id="word-letters-digits-match"),
]

# --------------------------------------------------------------------------------------------
# Phrases: words in sequence, whatever lies between them; * inside is exactly one word.
# --------------------------------------------------------------------------------------------
PHRASE_CASES = [
    P(
        '"criminal court"',
        T(content="International Criminal Court"),
        ("Criminal Court",),
        id="phrase-basic",
    ),
    P('"criminal court"', T(content="court criminal"), None, id="phrase-wrong-order"),
    P('"criminal court"', T(content="criminal appeals court"), None, id="phrase-word-between"),
    P(
        '"criminal court"',
        T(content="criminal -- court"),
        ("criminal -- court",),
        id="phrase-punctuation-between",
    ),
    P(
        '"criminal court"',
        T(content="Criminal\nCourt"),
        ("Criminal\nCourt",),
        id="phrase-line-break-plain",
    ),
    P(
        '"criminal court"',
        H(content="<b>Criminal</b>\nCourt"),
        ("Criminal Court",),
        id="phrase-markup-and-line-break",
    ),
    P(
        '"criminal court"',
        H(content="Criminal<br/>Court"),
        ("Criminal Court",),
        id="phrase-across-br",
    ),
    P(
        '"criminal court"',
        H(content="<p>Criminal</p><p>Court</p>"),
        ("Criminal Court",),
        id="phrase-across-paragraphs",
    ),
    P(
        '"a a khan"',
        T(content="Prosecutor Karim A. A. Khan said"),
        ("A. A. Khan",),
        id="phrase-initials",
    ),
    P('"A. A. Khan"', T(content="Karim A.A. Khan"), ("A.A. Khan",), id="phrase-initials-query"),
    P('"a a khan"', T(content="Karim A. Khan"), None, id="phrase-initials-one-missing"),
    P(
        '"court s ruling"',
        T(content="The Court's ruling"),
        ("Court's ruling",),
        id="phrase-apostrophe-word",
    ),
    P(
        '"maduro guaido"',
        T(title="Nicolás Maduro", summary="Guaidó answers"),
        None,
        id="phrase-not-title-to-summary",
    ),
    P(
        '"maduro guaido"',
        T(summary="talks with Maduro", content="Guaidó answers"),
        None,
        id="phrase-not-summary-to-content",
    ),
    P('"maduro guaido"', T(summary="Maduro, Guaidó"), ("Maduro, Guaidó",), id="phrase-in-summary"),
    P(
        '"president * maduro"',
        T(content="President Nicolás Maduro"),
        ("President Nicolás Maduro",),
        id="phrase-star-one-word",
    ),
    P('"president * maduro"', T(content="President Maduro"), None, id="phrase-star-not-zero"),
    P(
        '"president * maduro"',
        T(content="president of Venezuela Maduro"),
        None,
        id="phrase-star-not-two",
    ),
    P(
        '"crimes against human*"',
        T(content="crimes against humanity"),
        ("crimes against humanity",),
        id="phrase-ending-prefix",
    ),
    P(
        '"maduro or guaido"',
        T(content="Maduro or Guaidó?"),
        ("Maduro or Guaidó",),
        id="phrase-lowercase-operator-word-quoted",
    ),
    P(
        '"not guilty"',
        T(content="He pleaded not guilty"),
        ("not guilty",),
        id="phrase-lowercase-not-quoted",
    ),
]

# --------------------------------------------------------------------------------------------
# Prefixes: word* matches words starting with it, never from the middle of a word.
# --------------------------------------------------------------------------------------------
PREFIX_CASES = [
    P("venez*", T(content="the Venezuelan army"), ("Venezuelan",), id="prefix-match"),
    P("venez*", T(content="Venez"), ("Venez",), id="prefix-equal-to-word"),
    P("venez*", T(content="antivenezuelan slogans"), None, id="prefix-not-mid-word"),
    P("venez*", T(content="pro-Venezuelan groups"), ("Venezuelan",), id="prefix-after-hyphen"),
    P("venez*", T(content="Venecia"), None, id="prefix-must-cover-stem"),
    P("guaid*", T(content="Juan GUAIDÓ"), ("GUAIDÓ",), id="prefix-accent-insensitive"),
    P(
        "venez*",
        T(content="Venezuela, Venezuelans"),
        ("Venezuela", "Venezuelans"),
        id="prefix-reports-each-word",
    ),
]

# --------------------------------------------------------------------------------------------
# Case, accents and Unicode normalisation.
# --------------------------------------------------------------------------------------------
ACCENT_CASES = [
    P("maduro", T(title="MADURO"), ("MADURO",), id="case-upper-text"),
    P("MADURO", T(title="maduro"), ("maduro",), id="case-upper-query"),
    P("guaido", T(title="Juan Guaidó"), ("Guaidó",), id="accent-plain-query-accented-text"),
    P("Guaidó", T(title="Juan Guaido"), ("Guaido",), id="accent-accented-query-plain-text"),
    P("NICOLAS", T(title="Nicolás Maduro"), ("Nicolás",), id="accent-upper-query"),
    P("nicolás", T(title="NICOLAS MADURO"), ("NICOLAS",), id="accent-query-upper-text"),
    P('"nicolás maduro"', T(title="NICOLAS MADURO"), ("NICOLAS MADURO",), id="accent-phrase"),
    P("guaido", T(title="Guaido\u0301"), MATCHED, id="accent-decomposed-text"),
    P("Guaido\u0301", T(title="Guaido"), ("Guaido",), id="accent-decomposed-query"),
    P("guaido", T(title="Guaidón"), None, id="accent-still-whole-word"),
    P("strasse", T(title="Straße"), ("Straße",), id="case-sharp-s"),
    P("istanbul", T(title="İSTANBUL"), ("İSTANBUL",), id="case-dotted-capital-i"),
    P("ICC", T(title=FW_ICC + " opens inquiry"), MATCHED, id="nfkc-fullwidth-text"),
    P(FW_ICC, T(title="ICC opens inquiry"), ("ICC",), id="nfkc-fullwidth-query"),
    P("ICC", T(title=FW_ICCPR), None, id="nfkc-fullwidth-not-in-longer-word"),
    P("financial", T(title="ﬁnancial sanctions"), MATCHED, id="nfkc-ligature-text"),
    P("ﬁnancial", T(title="financial sanctions"), ("financial",), id="nfkc-ligature-query"),
    P("financial", T(title="ﬁnancially"), None, id="nfkc-ligature-not-in-longer-word"),
    P(
        "olusegun",
        T(title="Olúṣẹ́gun Ọbásanjọ́"),
        ("Olúṣẹ́gun",),
        id="accent-combining-mark-text",
    ),
    P(
        "Olúṣẹ́gun",
        T(title="Olusegun Obasanjo"),
        ("Olusegun",),
        id="accent-combining-mark-query",
    ),
    P(
        "रत",
        T(title="भारत"),
        None,
        id="combining-mark-not-inside-longer-word",
    ),
]

# --------------------------------------------------------------------------------------------
# HTML: tags stripped, entities decoded (Document.from_html).
# --------------------------------------------------------------------------------------------
HTML_CASES = [
    P("nicolas", H(title="Nicol&aacute;s Maduro"), ("Nicolás",), id="html-named-entity-accent"),
    P("guaido", H(title="Juan Guaid&#243;"), ("Guaidó",), id="html-numeric-entity"),
    P(
        '"maduro guaido"',
        H(title="Maduro &amp; Guaid&oacute;"),
        ("Maduro & Guaidó",),
        id="html-amp-between-phrase-words",
    ),
    P("amp", H(title="Maduro &amp; Guaidó"), None, id="html-entity-name-not-a-word"),
    P("aacute", H(title="Nicol&aacute;s"), None, id="html-entity-name-not-a-word-2"),
    P("b", H(content="<b>Maduro</b> speaks"), None, id="html-tag-name-not-a-word"),
    P("class", H(content='<span class="lead">Maduro</span>'), None, id="html-attribute-not-a-word"),
    P("lead", H(content='<span class="lead">Maduro</span>'), None, id="html-attr-value-not-a-word"),
    P("maduro", H(content='<span class="lead">Maduro</span>'), ("Maduro",), id="html-text-kept"),
    P("guaido", H(content="<b>Gua</b>idó"), ("Guaidó",), id="html-inline-tag-inside-word"),
    P("maduro", H(content="<p>Nicolás</p><p>Maduro</p>"), ("Maduro",), id="html-blocks-separate"),
    P('"criminal court"', H(content="Criminal&nbsp;Court"), ("Criminal Court",), id="html-nbsp"),
    P("alert", H(content="<script>alert(1)</script>Maduro"), None, id="html-script-dropped"),
    P("icc", H(title="<i>ICC</i>PR"), None, id="html-inline-tag-no-word-break"),
]

# --------------------------------------------------------------------------------------------
# Boolean operators and precedence: NEAR > NOT > AND (explicit or implicit) > OR.
# --------------------------------------------------------------------------------------------
BOOLEAN_CASES = [
    P(
        "maduro icc",
        T(title="Maduro", content="at the ICC"),
        ("Maduro", "ICC"),
        id="implicit-and-across-fields",
    ),
    P("maduro icc", T(title="Maduro alone"), None, id="implicit-and-needs-both"),
    P("maduro AND icc", T(summary="ICC and Maduro"), ("ICC", "Maduro"), id="and-explicit"),
    P("maduro AND icc", T(summary="ICC only"), None, id="and-explicit-needs-both"),
    P(
        "maduro OR guaido",
        T(title="Maduro and Guaidó meet"),
        ("Maduro", "Guaidó"),
        id="or-both-reported",
    ),
    P("maduro OR guaido", T(title="Guaidó speaks"), ("Guaidó",), id="or-one"),
    P("maduro OR guaido", T(title="Capriles speaks"), None, id="or-none"),
    P(
        "(maduro AND icc) OR (guaido AND venezuela)",
        T(title="Guaidó in Venezuela", content="Maduro and the ICC"),
        ("Guaidó", "Venezuela", "Maduro", "ICC"),
        id="or-terms-from-several-branches",
    ),
    P(
        "(maduro AND icc) OR guaido",
        T(title="Maduro and Guaidó"),
        ("Guaidó",),
        id="or-failed-branch-not-reported",
    ),
    P("maduro NOT guaido", T(title="Maduro speaks"), ("Maduro",), id="a-not-b-without-b"),
    P("maduro NOT guaido", T(title="Maduro and Guaidó"), None, id="a-not-b-with-b"),
    P("maduro AND NOT guaido", T(title="Maduro and Guaidó"), None, id="and-not-with-b"),
    P(
        "maduro NOT cricket",
        T(title="Maduro", content="cricket scores"),
        None,
        id="not-across-fields",
    ),
    P(
        "maduro NOT (guaido AND icc)",
        T(title="Maduro and Guaidó"),
        ("Maduro",),
        id="not-group-terms-never-reported",
    ),
    P("maduro NOT (guaido AND icc)", T(title="Maduro, Guaidó, ICC"), None, id="not-group-excludes"),
    P(
        "maduro NOT (icc NOT guaido)",
        T(title="Maduro, Guaidó, ICC"),
        ("Maduro",),
        id="double-negation-terms-not-reported",
    ),
    P(
        "(maduro OR guaido) icc",
        T(title="Guaidó", content="ICC"),
        ("Guaidó", "ICC"),
        id="parens-group-or-then-and",
    ),
    P("(maduro OR guaido) icc", T(title="Guaidó and Maduro"), None, id="parens-and-still-needed"),
    # AND binds tighter than OR: maduro OR (guaido AND icc)
    P("maduro OR guaido AND icc", T(title="Maduro"), ("Maduro",), id="prec-and-over-or-left"),
    P("maduro OR guaido AND icc", T(title="Guaidó"), None, id="prec-and-over-or-right-alone"),
    P(
        "maduro OR guaido AND icc",
        T(title="Guaidó at the ICC"),
        ("Guaidó", "ICC"),
        id="prec-and-over-or-right-both",
    ),
    # implicit AND also binds tighter than OR: (maduro AND guaido) OR icc
    P("maduro guaido OR icc", T(title="ICC"), ("ICC",), id="prec-implicit-and-over-or-right"),
    P("maduro guaido OR icc", T(title="Maduro"), None, id="prec-implicit-and-over-or-left"),
    # NOT binds tighter than AND: (NOT guaido) AND maduro
    P("NOT guaido AND maduro", T(title="Maduro"), ("Maduro",), id="prec-not-over-and-match"),
    P("NOT guaido AND maduro", T(title="Maduro and Guaidó"), None, id="prec-not-over-and-block"),
    P("NOT guaido maduro", T(title="Maduro"), ("Maduro",), id="prec-leading-not-implicit-and"),
    # NEAR binds tighter than NOT: maduro AND NOT (icc NEAR/1 court)
    P(
        "maduro NOT icc NEAR/1 court",
        T(title="Maduro; ICC appeals court"),
        None,
        id="prec-near-over-not-near-true",
    ),
    P(
        "maduro NOT icc NEAR/1 court",
        T(title="Maduro; the ICC may go to court"),
        ("Maduro",),
        id="prec-near-over-not-near-false",
    ),
    # NEAR binds tighter than OR / AND
    P(
        "guaido OR maduro NEAR/2 icc",
        T(title="Maduro will not face the ICC"),
        None,
        id="prec-near-over-or-far",
    ),
    P(
        "guaido OR maduro NEAR/2 icc",
        T(title="Maduro and the ICC"),
        ("Maduro", "ICC"),
        id="prec-near-over-or-close",
    ),
    P(
        "venezuela maduro NEAR/1 icc",
        T(title="Maduro, ICC", content="Venezuela"),
        ("Maduro", "ICC", "Venezuela"),
        id="prec-near-over-and-match",
    ),
    P(
        "venezuela maduro NEAR/1 icc",
        T(title="Maduro", content="Venezuela and the ICC"),
        None,
        id="prec-near-over-and-near-fails",
    ),
]

# --------------------------------------------------------------------------------------------
# NEAR/n: same field, at most n words between, either order.
# --------------------------------------------------------------------------------------------
NEAR_CASES = [
    P(
        "maduro NEAR/3 icc",
        T(content="Maduro said the tribunal ICC"),
        ("Maduro", "ICC"),
        id="near-n-exact-forward",
    ),
    P(
        "maduro NEAR/2 icc",
        T(content="Maduro said the tribunal ICC"),
        None,
        id="near-n-plus-one-forward",
    ),
    P(
        "maduro NEAR/3 icc",
        T(content="ICC said the tribunal Maduro"),
        ("ICC", "Maduro"),
        id="near-n-exact-reverse",
    ),
    P(
        "maduro NEAR/2 icc",
        T(content="ICC said the tribunal Maduro"),
        None,
        id="near-n-plus-one-reverse",
    ),
    P("maduro NEAR/0 icc", T(content="Maduro ICC"), ("Maduro", "ICC"), id="near-0-adjacent"),
    P("maduro NEAR/0 icc", T(content="ICC, Maduro"), ("ICC", "Maduro"), id="near-0-adjacent-rev"),
    P("maduro NEAR/0 icc", T(content="Maduro and ICC"), None, id="near-0-one-between"),
    P("maduro NEAR/5 icc", T(title="Maduro", summary="ICC"), None, id="near-not-across-fields"),
    P(
        "maduro NEAR/5 icc",
        T(title="Maduro", content="Maduro at the ICC"),
        ("Maduro", "ICC"),
        id="near-in-one-field-of-several",
    ),
    P(
        "maduro NEAR/2 icc",
        T(content="Maduro said a lot today before anyone asked about the ICC or Maduro ICC"),
        ("ICC", "Maduro"),
        id="near-any-pair-of-occurrences",
    ),
    P(
        '"nicolas maduro" NEAR/2 "criminal court"',
        T(content="Nicolás Maduro and the Criminal Court"),
        ("Nicolás Maduro", "Criminal Court"),
        id="near-phrases",
    ),
    P(
        '"nicolas maduro" NEAR/1 icc',
        T(content="Nicolás Maduro and the ICC"),
        None,
        id="near-phrase-gap-from-phrase-end",
    ),
    P(
        'icc NEAR/1 "nicolas maduro"',
        T(content="ICC on Nicolás Maduro"),
        ("ICC", "Nicolás Maduro"),
        id="near-gap-to-phrase-start",
    ),
    P("venez* NEAR/1 icc", T(content="Venezuela and ICC"), ("Venezuela", "ICC"), id="near-prefix"),
    P("venez* NEAR/1 icc", T(content="Venezuela is not an ICC"), None, id="near-prefix-far"),
    P(
        "@maduro NEAR/3 @icc",
        T(content="Maduro Moros faces the International Criminal Court"),
        ("Maduro Moros", "International Criminal Court"),
        id="near-aliases",
    ),
    P(
        "@maduro NEAR/1 @icc",
        T(content="Maduro Moros faces the International Criminal Court"),
        None,
        id="near-aliases-too-far",
    ),
    P(
        "title:maduro NEAR/2 title:icc",
        T(title="Maduro and ICC"),
        ("Maduro", "ICC"),
        id="near-scoped-title",
    ),
    P(
        "title:maduro NEAR/2 title:icc",
        T(content="Maduro and ICC"),
        None,
        id="near-scoped-title-text-in-content",
    ),
    P("maduro NEAR/10 icc", T(content="Maduro"), None, id="near-one-side-missing"),
    P(
        "(maduro OR guaido) NEAR/3 icc",
        T(content="Guaidó asked the ICC"),
        ("Guaidó", "ICC"),
        id="near-group-left",
    ),
    P(
        "icc NEAR/1 (maduro OR guaido)",
        T(content="ICC and Maduro"),
        ("ICC", "Maduro"),
        id="near-group-right",
    ),
    P(
        "icc NEAR/1 (maduro OR guaido)",
        T(content="ICC said that Maduro"),
        None,
        id="near-group-far",
    ),
    P(
        '"karim khan" NEAR/3 ("nicolas maduro" OR guaido)',
        T(content="Karim Khan met Nicolás Maduro"),
        ("Karim Khan", "Nicolás Maduro"),
        id="near-phrase-and-group",
    ),
    P("a NEAR/1 b NEAR/1 c", T(content="a x b x c"), ("a", "b", "c"), id="near-chained"),
    P("a NEAR/1 b NEAR/1 c", T(content="a x b x x c"), None, id="near-chained-far"),
    P("khan ONEAR/2 maduro", T(content="Khan met Maduro"), ("Khan", "Maduro"), id="onear-in-order"),
    P("khan ONEAR/2 maduro", T(content="Maduro met Khan"), None, id="onear-reversed"),
    P("khan NEAR/2 maduro", T(content="Maduro met Khan"), ("Maduro", "Khan"), id="near-reversed"),
]

# --------------------------------------------------------------------------------------------
# Field scopes on word, phrase, prefix, alias and group.
# --------------------------------------------------------------------------------------------
FIELD_CASES = [
    P("title:maduro", T(title="Maduro speaks"), ("Maduro",), id="field-title-word"),
    P(
        "title:maduro",
        T(summary="Maduro speaks", content="Maduro"),
        None,
        id="field-title-word-elsewhere",
    ),
    P("summary:maduro", T(summary="Maduro speaks"), ("Maduro",), id="field-summary-word"),
    P(
        "summary:maduro",
        T(title="Maduro", content="Maduro"),
        None,
        id="field-summary-word-elsewhere",
    ),
    P("content:maduro", T(content="Maduro speaks"), ("Maduro",), id="field-content-word"),
    P(
        "content:maduro",
        T(title="Maduro", summary="Maduro"),
        None,
        id="field-content-word-elsewhere",
    ),
    P("TITLE:maduro", T(title="Maduro"), ("Maduro",), id="field-name-case-insensitive"),
    P(
        'title:"criminal court"',
        T(title="Criminal Court rules"),
        ("Criminal Court",),
        id="field-phrase",
    ),
    P(
        'title:"criminal court"',
        T(content="Criminal Court rules"),
        None,
        id="field-phrase-elsewhere",
    ),
    P(
        "title:venez*",
        T(title="Venezuela", content="Venezuelans"),
        ("Venezuela",),
        id="field-prefix-reports-only-scoped-field",
    ),
    P("title:venez*", T(content="Venezuelans"), None, id="field-prefix-elsewhere"),
    P("title:@maduro", T(title="Nicolás Maduro"), ("Nicolás Maduro",), id="field-alias"),
    P("title:@maduro", T(summary="Nicolás Maduro"), None, id="field-alias-elsewhere"),
    P("title:(maduro OR guaido)", T(title="Guaidó"), ("Guaidó",), id="field-group"),
    P(
        "title:(maduro OR guaido)",
        T(title="Venezuela", content="Guaidó"),
        None,
        id="field-group-elsewhere",
    ),
    P(
        "title:(maduro icc)",
        T(title="Maduro at the ICC"),
        ("Maduro", "ICC"),
        id="field-group-and-same-field",
    ),
    P(
        "title:(maduro icc)",
        T(title="Maduro", content="ICC"),
        None,
        id="field-group-and-both-scoped",
    ),
    P(
        "title:(maduro NOT icc)",
        T(title="Maduro", content="ICC"),
        ("Maduro",),
        id="field-group-not-scoped",
    ),
    P(
        "title:maduro icc",
        T(title="Maduro", content="ICC"),
        ("Maduro", "ICC"),
        id="field-scope-applies-to-one-term",
    ),
    P(
        "title:maduro icc",
        T(content="Maduro at the ICC"),
        None,
        id="field-scope-one-term-elsewhere",
    ),
    P("maduro", T(summary="Maduro"), ("Maduro",), id="field-default-summary"),
    P("maduro", T(content="Maduro"), ("Maduro",), id="field-default-content"),
]

# --------------------------------------------------------------------------------------------
# @aliases: any spelling listed; each spelling is a phrase (a trailing * is a prefix).
# --------------------------------------------------------------------------------------------
ALIAS_CASES = [
    P("@maduro", T(content="NICOLAS MADURO spoke"), ("NICOLAS MADURO",), id="alias-spelling-1"),
    P("@maduro", T(content="Maduro Moros spoke"), ("Maduro Moros",), id="alias-spelling-2"),
    P("@maduro", T(content="Maduro spoke"), None, id="alias-spelling-is-a-phrase"),
    P("@maduro", T(title="Nicolás", summary="Maduro"), None, id="alias-not-across-fields"),
    P(
        "@icc",
        T(content="la Corte Penal Internacional"),
        ("Corte Penal Internacional",),
        id="alias-third-spelling",
    ),
    P("@icc", T(content="the ICCPR"), None, id="alias-word-not-inside-longer"),
    P("@khan", T(content="Karim A.A. Khan"), ("Karim A.A. Khan",), id="alias-with-initials"),
    P("@venezuela", T(content="Venezuelans protest"), ("Venezuelans",), id="alias-prefix"),
    P(
        "@venezuela",
        T(content="República Bolivariana"),
        ("República Bolivariana",),
        id="alias-second-of-prefix-alias",
    ),
    P("@icc NOT @maduro", T(content="ICC and Maduro Moros"), None, id="alias-under-not"),
    P("@icc NOT @maduro", T(content="ICC and Maduro"), ("ICC",), id="alias-under-not-absent"),
    P(
        "@icc OR @maduro",
        T(content="Nicolás Maduro and the ICC"),
        ("Nicolás Maduro", "ICC"),
        id="alias-or",
    ),
]

# --------------------------------------------------------------------------------------------
# Reported terms: surface text, deduplicated, reading order, no spans inside longer spans.
# --------------------------------------------------------------------------------------------
TERMS_CASES = [
    P(
        "maduro",
        T(title="Maduro", content="MADURO and maduro"),
        ("Maduro",),
        id="terms-dedup-case-insensitive",
    ),
    P("guaido", T(title="Guaido", content="Guaidó"), ("Guaido",), id="terms-dedup-accents"),
    P(
        "icc OR maduro",
        T(title="Maduro", content="ICC"),
        ("Maduro", "ICC"),
        id="terms-reading-order-title-first",
    ),
    P(
        "icc OR maduro",
        T(summary="ICC", content="Maduro"),
        ("ICC", "Maduro"),
        id="terms-reading-order-summary-before-content",
    ),
    P(
        '"fatou bensouda" OR bensouda',
        T(content="Fatou Bensouda said"),
        ("Fatou Bensouda",),
        id="terms-inner-span-not-repeated",
    ),
    P(
        'bensouda OR "fatou bensouda"',
        T(content="Fatou Bensouda said. Bensouda added"),
        ("Fatou Bensouda", "Bensouda"),
        id="terms-separate-occurrence-reported",
    ),
    P(
        'maduro "nicolas maduro"',
        T(content="Nicolás Maduro"),
        ("Nicolás Maduro",),
        id="terms-and-inner-span-not-repeated",
    ),
    P(
        'fatou OR "fatou bensouda"',
        T(content="Fatou Bensouda said"),
        ("Fatou Bensouda",),
        id="terms-shorter-span-starting-together-not-repeated",
    ),
    P(
        'fatou OR "fatou bensouda"',
        T(title="FATOU", summary="Fatou Bensouda said", content="fatou spoke"),
        ("FATOU", "Fatou Bensouda"),
        id="terms-starting-together-reading-order-across-fields",
    ),
    P("maduro NOT guaido", T(title="Maduro"), ("Maduro",), id="terms-not-excluded"),
]

ALL_CASES = (
    WORD_CASES
    + PHRASE_CASES
    + PREFIX_CASES
    + ACCENT_CASES
    + HTML_CASES
    + BOOLEAN_CASES
    + NEAR_CASES
    + FIELD_CASES
    + ALIAS_CASES
    + TERMS_CASES
)


@pytest.mark.parametrize(("query", "doc", "expected"), ALL_CASES)
def test_query_matches(query: str, doc: tuple[str, dict[str, str]], expected: object) -> None:
    _check(query, doc, expected)


# --------------------------------------------------------------------------------------------
# Syntax errors: (query, message fragments, 1-based column or None when not positional).
# --------------------------------------------------------------------------------------------
ERROR_CASES = [
    P('maduro "criminal court', ("unclosed quote",), 8, id="unclosed-quote"),
    P('"', ("unclosed quote",), 1, id="lone-quote"),
    P("(maduro OR guaido", ('unclosed "("',), 1, id="unclosed-paren"),
    P("icc (maduro OR (guaido)", ('unclosed "("',), 5, id="unclosed-outer-paren"),
    P("maduro)", ('unmatched ")"',), 7, id="stray-close-paren"),
    P("maduro OR guaido) icc", ('unmatched ")"',), 17, id="stray-close-paren-mid"),
    P("()", ('unexpected ")"',), 2, id="empty-parens"),
    P("author:maduro", ('unknown field "author:"', "title:"), 1, id="unknown-field"),
    P("icc headline:maduro", ('unknown field "headline:"',), 5, id="unknown-field-mid"),
    P("title:(summary:maduro)", ("can never match",), 8, id="conflicting-nested-fields"),
    P("maduro or guaido", ('lower-case "or"', "write OR", '"or" in quotes'), 8, id="lowercase-or"),
    P("maduro and icc", ('lower-case "and"', "write AND"), 8, id="lowercase-and"),
    P("maduro not guaido", ('lower-case "not"', "write NOT"), 8, id="lowercase-not"),
    P("maduro Or guaido", ('lower-case "Or"', "write OR"), 8, id="mixed-case-or"),
    P("", ("empty",), None, id="empty-query"),
    P("   ", ("empty",), None, id="blank-query"),
    P("maduro NOT", ("ends where a term was expected",), 11, id="not-at-end"),
    P("maduro OR", ("ends where a term was expected",), 10, id="or-at-end"),
    P("maduro AND", ("ends where a term was expected",), 11, id="and-at-end"),
    P("AND maduro", ("AND needs a term",), 1, id="and-at-start"),
    P("maduro OR OR icc", ("OR needs a term",), 11, id="double-or"),
    P("maduro NEAR icc", ("NEAR/n",), 8, id="near-without-n"),
    P("maduro NEAR/ icc", ("NEAR/n",), 8, id="near-slash-without-n"),
    P("maduro NEAR/x icc", ("NEAR/n",), 8, id="near-non-numeric"),
    P("NEAR/3 icc", ("needs a term on its left",), 1, id="near-at-start"),
    P("maduro NEAR/3", ("ends where a term was expected",), 14, id="near-at-end"),
    P("(maduro NOT guaido) NEAR/3 icc", ("NOT has no place",), 21, id="near-group-with-not"),
    P("icc NEAR/3 link:bbc.co.uk", ("link: has no place",), 5, id="near-link"),
    P("(title:a OR b) NEAR/3 c", ("mixes fields",), 16, id="near-group-mixed-fields"),
    P("maduro onear/3 icc", ("ambiguous", "ONEAR/3"), 8, id="onear-lower-case"),
    P("maduro ONEAR icc", ("ONEAR/n",), 8, id="onear-without-n"),
    P("link:(bbc)", ("link: takes a domain",), 1, id="link-group"),
    P("link:https://bbc.co.uk/news", ("takes a domain",), 1, id="link-url"),
    P("link:bbc.co.uk/news", ("not a domain",), 6, id="link-path"),
    P("title:maduro NEAR/3 icc", ("same field",), 14, id="near-different-scopes"),
    P("maduro *", ("lone *",), 8, id="lone-star"),
    P("*", ("lone *",), 1, id="lone-star-only"),
    P("*maduro", ("* may only end a word",), 1, id="leading-star"),
    P("ma*duro", ("* may only end a word",), 1, id="inner-star"),
    P('"* maduro"', ("cannot start or end with *",), 1, id="phrase-starts-with-star"),
    P('icc "president *"', ("cannot start or end with *",), 5, id="phrase-ends-with-star"),
    P('""', ("no letters or digits",), 1, id="empty-phrase"),
    P('icc "--"', ("no letters or digits",), 5, id="punctuation-phrase"),
    P("NOT cricket", ("only by what is absent",), None, id="pure-not"),
    P("NOT (cricket OR football)", ("only by what is absent",), None, id="pure-not-group"),
    P("NOT cricket NOT football", ("only by what is absent",), None, id="pure-not-chain"),
    P("NOT cricket OR NOT football", ("only by what is absent",), None, id="pure-not-or"),
    P("@nobody", ("unknown alias @nobody", "@maduro"), 1, id="unknown-alias"),
    P("icc AND title:@nobody", ("unknown alias @nobody",), 15, id="unknown-alias-scoped"),
    P("icc NOT @nobody", ("unknown alias @nobody",), 9, id="unknown-alias-under-not"),
]


@pytest.mark.parametrize(("query", "fragments", "column"), ERROR_CASES)
def test_query_syntax_errors(query: str, fragments: tuple[str, ...], column: int | None) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        _rules(query)
    err = info.value
    for fragment in fragments:
        assert fragment in err.message, f"{fragment!r} missing from {err.message!r}"
    if column is not None:
        assert err.column == column
        assert f"column {column}" in str(err)


# Positive counterparts of the error rows: each is one small step from an error and must compile.
ACCEPTED_QUERIES = [
    P('"maduro or guaido"', id="quoted-lowercase-or"),
    P("maduro OR guaido", id="uppercase-or"),
    P("cricket NOT football", id="not-with-positive-term"),
    P("NOT football cricket", id="leading-not-with-positive-term"),
    P("icc NEAR/3 maduro", id="near-with-n"),
    P('"president * maduro"', id="star-inside-phrase"),
    P("maduro*", id="trailing-star"),
    P("@maduro", id="known-alias"),
    P("title:(summary OR content)", id="field-names-as-words-in-group"),
    P("(maduro)", id="single-term-group"),
]


@pytest.mark.parametrize("query", ACCEPTED_QUERIES)
def test_query_accepted(query: str) -> None:
    assert len(_rules(query)) == 1


@pytest.mark.parametrize(
    ("spelling", "fragment"),
    [
        P("*", "alias \"bad\", spelling '*'", id="alias-lone-star"),
        P("* Maduro", "cannot start or end with *", id="alias-leading-star"),
        P("--", "no letters or digits", id="alias-no-words"),
    ],
)
def test_bad_alias_spelling_is_rejected(spelling: str, fragment: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        compile_aliases({"bad": [spelling]})
    assert fragment in info.value.message


def test_only_matching_rules_are_reported() -> None:
    aliases = compile_aliases(ALIASES)
    rules = RuleSet(
        [
            compile_rule(RuleSpec("icc", "ICC", "@icc", ("slack",)), aliases),
            compile_rule(RuleSpec("cricket", "Cricket", "cricket", ()), aliases),
            compile_rule(RuleSpec("maduro", "Maduro", "title:@maduro", ("mail",)), aliases),
            compile_rule(RuleSpec("off", "Off", "icc", (), enabled=False), aliases),
        ]
    )
    doc = Document.from_html(title="Nicol&aacute;s Maduro", content="<p>The <b>ICC</b> said</p>")
    hits = rules.match_document(doc)
    assert [(h.rule_id, h.terms, h.notify) for h in hits] == [
        ("icc", ("ICC",), ("slack",)),
        ("maduro", ("Nicolás Maduro",), ("mail",)),
    ]
