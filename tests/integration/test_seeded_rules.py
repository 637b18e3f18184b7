"""The shipped ICC-Venezuela rules (config/rules/icc-venezuela.yaml) against real publishers' text.

The corpus beside the checkout (``../shared/corpus``) is read in place, never copied: news-text
articles (markdown, JSON, CSV, TXT, HTML) and real feed snapshots. Each case names a file and an
article in it, and the exact set of rule ids an analyst following the ICC's Venezuela
investigation would want to fire (an empty set: the item must stay quiet). Relevant means: about
the ICC's Venezuela situations or its actors acting in them, or crimes-against-humanity
accountability for Venezuela. A case the shipped rules get wrong keeps its correct expectation and
is marked ``xfail(strict=True, reason="RULES: ...")``, so fixing the rules turns it into a failure
that asks for the mark to go.

Article selectors: ``None`` for a file holding one article; otherwise a substring of the
article's link (news JSON/CSV/TXT) or of the item's key (feeds). A selector must pick at least
one article, and every article it picks must meet the expectation (the headline lists repeat
some headlines). Two sweeps then check that every other article and feed item stays quiet.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from watcher.app import load
from watcher.models import Item
from watcher.parser import parse_feed
from watcher.rules.matcher import Document
from watcher.rules.ruleset import RuleSet

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
if not CORPUS.is_dir():
    pytest.skip(
        f"publishers' corpus not found at {CORPUS} (it sits beside the checkout; read in place)",
        allow_module_level=True,
    )
NEWS = CORPUS / "news-text"
FEEDS = CORPUS / "real-feeds"
CONFIG = REPO / "config" / "watcher.yaml"

ICC = "icc-venezuela"
ACTORS = "icc-venezuela-actors"
CAH = "venezuela-crimes-against-humanity"
QUIET: frozenset[str] = frozenset()
COURT_AND_CAH = frozenset({ICC, CAH})

Fields = dict[str, str]


# -- reading the corpus -------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)
# A markdown link or image keeps its text; its target (and a kramdown {: ...} suffix) goes, as a
# feed's HTML would keep a link's URL in an attribute the matcher never reads.
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)(?:\{[^}]*\})?")
_TXT_ENTRY = re.compile(r"^\d+\. (.*)\n\s+Link: (\S+)", re.M)


def _fix_mojibake(text: str) -> str:
    """The headline lists hold UTF-8 decoded as cp1252 once too often ("RepÃºblica")."""
    try:
        return text.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return text


def _markdown(path: Path) -> list[tuple[str, Fields]]:
    text = path.read_text(encoding="utf-8")
    meta: dict[str, Any] = {}
    m = _FRONT_MATTER.match(text)
    if m:
        meta = yaml.safe_load(m.group(1)) or {}
        text = text[m.end() :]
    title = str(meta.get("title") or "")
    if not title:
        heading = re.match(r"\s*#\s+(.+)\n", text)
        if heading:
            title, text = heading.group(1), text[heading.end() :]
    summary = str(meta.get("description") or "")
    return [("", {"title": title, "summary": summary, "content": _MD_LINK.sub(r"\1", text)})]


@cache
def news_articles(rel: str) -> list[tuple[str, Fields]]:
    """The articles of one news-text file as (link or "", fields), split the way each format is."""
    path = NEWS / rel
    if path.suffix in (".md", ".markdown"):
        return _markdown(path)
    if path.name == "article.json":  # one Sri Lankan press article
        data = json.loads(path.read_text(encoding="utf-8"))
        body = "\n\n".join(data["body_paragraphs"])
        return [("", {"title": data["title"], "summary": "", "content": body})]
    if path.suffix == ".json":  # a NewsAPI dump: one article per entry
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            (
                a["url"],
                {
                    "title": a.get("title") or "",
                    "summary": a.get("description") or "",
                    "content": a.get("content") or "",
                },
            )
            for a in data["articles"]
        ]
    if path.suffix == ".csv":  # headlines: one per row
        rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
        return [(r["link"], {"title": _fix_mojibake(r["titulo"])}) for r in rows]
    if path.suffix == ".txt":  # the same headlines as a numbered list
        text = path.read_text(encoding="utf-8")
        return [(m[2], {"title": _fix_mojibake(m[1])}) for m in _TXT_ENTRY.finditer(text)]
    if path.suffix == ".html":  # a whole web page
        html = path.read_text(encoding="utf-8", errors="replace")
        title = re.search(r"<title>(.*?)</title>", html, re.S | re.I)
        return [("", {"title": title.group(1) if title else "", "content": html})]
    raise AssertionError(f"no reader for news-text file {rel}")


def news_files() -> Iterator[str]:
    for path in sorted(NEWS.rglob("*")):
        if path.is_file():
            yield path.relative_to(NEWS).as_posix()


@cache
def feed_items(rel: str) -> list[Item]:
    path = FEEDS / rel
    return parse_feed(path.read_bytes(), path.as_uri()).items


def feed_files() -> Iterator[str]:
    for path in sorted(FEEDS.rglob("*")):
        if path.is_file():  # whatever the extension: parse_feed judges what is a feed
            yield path.relative_to(FEEDS).as_posix()


def pick(keys: list[str], select: str | None, where: str) -> list[int]:
    """Indexes of the articles a selector picks; a selector that picks nothing is a broken case."""
    if select is None:
        assert len(keys) == 1, f"{where}: holds {len(keys)} articles; give a selector"
        return [0]
    picked = [i for i, key in enumerate(keys) if select in key]
    assert picked, f"{where}: no article matches selector {select!r}"
    return picked


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The rules exactly as the app loads them from the shipped config."""
    return load(CONFIG).rules


def _describe(hits: list[Any]) -> str:
    return "; ".join(f"{h.rule_id} {list(h.terms)}" for h in hits) or "no hit"


# -- the cases ----------------------------------------------------------------------------------


def _rules_xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"RULES: {reason}")


NEWS_CASES = [
    # -- relevant: the ICC's Venezuela situations, or its probe of Maduro
    pytest.param(
        # Election preview: ICC probe of Maduro shapes amnesty talks for a handover.
        "MmdrzaCo+Latest/2024/07/23/what-to-expect-in-venezuelas-presidential-election-as-"
        "strongman-maduro-faces-his-biggest-test-yet.md",
        None,
        COURT_AND_CAH,
        id="cnn-election-preview-icc-probe",
    ),
    pytest.param(
        # Result story: the ICC investigation is why losing power endangers Maduro.
        "MmdrzaCo+Latest/2024/07/30/both-venezuela-strongman-nicolas-maduro_and-opposition-"
        "claim-election-win-as-us-voices-serious-concerns.md",
        None,
        COURT_AND_CAH,
        id="cnn-both-claim-win-icc-probe",
    ),
    pytest.param(
        # Protest story (later version): restates the ICC crimes-against-humanity probe of Maduro.
        "MmdrzaCo+Latest/2024/07/31/protests-erupt-in-venezuela-as-questions-grow-over-"
        "strongman-maduros-victory.md",
        None,
        COURT_AND_CAH,
        id="cnn-protests-0731-icc-probe",
    ),
    pytest.param(
        # Explainer: lists the pending ICC investigation among Maduro's legal exposure.
        "MmdrzaCo+Latest/2024/08/01/venezuela-is-wracked-with-protests-and-election-"
        "uncertainty-here-s-what-to-know.md",
        None,
        COURT_AND_CAH,
        id="cnn-explainer-icc-probe",
    ),
    pytest.param(
        # Op-ed on the US seizure of Maduro: weighs ICC jurisdiction and warrant status.
        "nuuuwan+news_long_lk/data/articles/arrest-without-authority.0339b9d3/article.json",
        None,
        COURT_AND_CAH,
        id="ft-lk-maduro-arrest-and-icc",
    ),
    pytest.param(
        # ABA explainer of the Venezuela I situation itself: the case this rule set is for.
        "theNewDynamic+aba-icc/_situations/venezuela-i.md",
        None,
        COURT_AND_CAH,
        id="aba-venezuela-i",
    ),
    pytest.param(
        # Venezuela II: Caracas' own ICC referral, which the OTP weighed against Venezuela I.
        "theNewDynamic+aba-icc/_situations/venezuela-ii.md",
        None,
        COURT_AND_CAH,
        id="aba-venezuela-ii",
    ),
    pytest.param(
        # The closed 2002 ICC examination of Venezuela; also summarises Venezuela I and II.
        "theNewDynamic+aba-icc/_situations/venezuela.md",
        None,
        COURT_AND_CAH,
        id="aba-venezuela-2002-examination",
    ),
    # -- noise the shipped rules raise
    pytest.param(
        # US campaign against the ICC over Israel; Venezuela appears only as US policy, and
        # Karim Khan is named for sanctions, not for acting in the Venezuela case.
        "nuuuwan+news_long_lk/data/articles/trump-s-war-on-icc-let-t.22ab9679/article.json",
        None,
        QUIET,
        id="dailymirror-trump-war-on-icc",
        marks=_rules_xfail(
            "all three rules fire on an ICC-vs-US/Israel op-ed because the court, Karim Khan and "
            "crimes against humanity co-occur with Venezuela/Maduro paragraphs apart (13+ words "
            "at best); needs NEAR instead of item-wide AND"
        ),
    ),
    # -- look-alikes: the ICC (or its prosecutors) about other countries
    pytest.param(
        # Netanyahu warrant request; Karim Khan acts on Gaza, nothing on Venezuela.
        "MmdrzaCo+Latest/2024/07/29/uk-drops-plan-to-challenge-icc-arrest-warrant-request-for-"
        "netanyahu.md",
        None,
        QUIET,
        id="cnn-uk-netanyahu-warrant",
    ),
    pytest.param(
        # Netanyahu's Congress speech attacking the ICC over Gaza.
        "MmdrzaCo+Latest/2024/07/24/netanyahu-decries-critics-of-war-in-gaza-as-irans-useful-"
        "idiots-in-speech-to-congress.md",
        None,
        QUIET,
        id="cnn-netanyahu-speech",
    ),
    pytest.param(
        # Fact check of the same speech; ICC only about Gaza starvation claims.
        "MmdrzaCo+Latest/2024/07/27/fact-checking-israeli-prime-minister-benjamin-netanyahus-"
        "address-to-congress.md",
        None,
        QUIET,
        id="cnn-netanyahu-fact-check",
    ),
    pytest.param(
        # Democrats boycott Netanyahu; an ICC call and a Rep. Khanna, not Karim Khan.
        "MmdrzaCo+Latest/2024/07/25/progressive-house-democrats-plan-counter-programming-to-"
        "netanyahu-visit.md",
        None,
        QUIET,
        id="cnn-netanyahu-boycott-khanna",
    ),
    pytest.param(
        # Haniyeh profile; ICC named only for Qatar's non-membership.
        "MmdrzaCo+Latest/2024/07/31/who-was-ismail-haniyeh-the-hamas-political-leader-killed-"
        "in-tehran.md",
        None,
        QUIET,
        id="cnn-haniyeh",
    ),
    pytest.param(
        # Russia convicts Gessen; ICC and a crime against humanity concern Ukraine.
        "MmdrzaCo+Latest/2024/07/17/american_journalist_masha_gessen_convicted_in_absentia_by_"
        "russia_for_criticizing_its_military.md",
        None,
        QUIET,
        id="cnn-gessen-russia-icc",
    ),
    pytest.param(
        # Op-ed on Karim Khan's Israel warrant requests; no Venezuela.
        "nuuuwan+news_long_lk/data/articles/icc-arrest-warrants-on-i.785be478/article.json",
        None,
        QUIET,
        id="dailymirror-icc-israel-warrants",
    ),
    pytest.param(
        # Gaza talks; Khan and crimes against humanity concern Israel only.
        "nuuuwan+news_long_lk/data/articles/israel-reportedly-agrees.6068cf6f/article.json",
        None,
        QUIET,
        id="dailymirror-israel-talks",
    ),
    pytest.param(
        # Essay on genocide law (ICJ, ICC, Darfur, Yugoslavia); no Venezuela.
        "nuuuwan+news_long_lk/data/articles/genocide-incitement-to-g.eaefe01d/article.json",
        None,
        QUIET,
        id="ft-lk-genocide-essay",
    ),
    pytest.param(
        # Sri Lankan lawyer on war-crimes exposure; Hague tribunal, not Venezuela.
        "nuuuwan+news_long_lk/data/articles/if-war-crimes-aren-t-in.1ec052b8/article.json",
        None,
        QUIET,
        id="dailymirror-sri-lanka-war-crimes",
    ),
    pytest.param(
        # Another Khan: Imran Khan's ouster beside Venezuelan oil, no court at all.
        "nuuuwan+news_long_lk/data/articles/the-pattern-nobody-is-ta.60366a33/article.json",
        None,
        QUIET,
        id="ft-lk-imran-khan-and-venezuelan-oil",
    ),
    pytest.param(
        # Another criminal court: an Argentine domestic court on a Buenos Aires arson.
        "werniq+Go-Gator/data/nbc-news@597a2e1b72.json",
        "suspected-arson-attack-argentina",
        QUIET,
        id="nbc-argentine-criminal-court",
    ),
    pytest.param(
        # Spanish CPI/Corte Penal Internacional story, but about Calderón and Mexico.
        "ljzac+ljzac.github.io/_posts/2011/12/05/0423-revisara-cpi-en-un-mes-denuncia-contra-"
        "calderon.markdown",
        None,
        QUIET,
        id="jornada-mexico-cpi-calderon",
    ),
    pytest.param(
        # Bensouda briefs Congress in 2014; no Venezuela link.
        "theNewDynamic+aba-icc/_events/international-criminal-court-prosecutor-briefing-at-us-"
        "congress.md",
        None,
        QUIET,
        id="aba-bensouda-congress-briefing",
    ),
    pytest.param(
        # OTP structure page naming Bensouda; no situation discussed.
        "theNewDynamic+aba-icc/_structure-of-the-icc/office-of-the-prosecutor.md",
        None,
        QUIET,
        id="aba-office-of-the-prosecutor",
    ),
    pytest.param(
        # Country stub: metadata only, its text is the bare country name.
        "theNewDynamic+aba-icc/_countries/venezuela.md",
        None,
        QUIET,
        id="aba-venezuela-country-stub",
    ),
    # -- look-alikes: Venezuela stories without the ICC
    pytest.param(
        # Earlier version of the protest story, before the ICC sentence was added.
        "MmdrzaCo+Latest/2024/07/29/protest-erupts-in-venezuela-as-questions-grow-over-"
        "strongman-maduros-victory.md",
        None,
        QUIET,
        id="cnn-protests-0729-no-icc",
    ),
    pytest.param(
        # Post-election anger; no court or accountability angle.
        "MmdrzaCo+Latest/2024/07/29/anger-rises-in-venezuela-as-questions-grow-over-strongman-"
        "maduros-victory.md",
        None,
        QUIET,
        id="cnn-anger-rises",
    ),
    pytest.param(
        # Result announcement with US concerns; ICC not mentioned.
        "MmdrzaCo+Latest/2024/07/29/venezuela-strongman-nicolas-maduro_reelected-election-"
        "authorities-say-as-us-voices-serious-concerns.md",
        None,
        QUIET,
        id="cnn-maduro-reelected",
    ),
    pytest.param(
        # Polling-day story on the opposition challenge.
        "MmdrzaCo+Latest/2024/07/28/venezuelans-vote-in-crucial_election-as-opposition-"
        "challenges-maduro.md",
        None,
        QUIET,
        id="cnn-polling-day",
    ),
    pytest.param(
        # NGO count of campaign detentions; human-rights news without ICC or accountability.
        "MmdrzaCo+Latest/2024/07/18/over_70_arbitrary_detentions_reported_days_into_campaigning_"
        "for_venezuela_election__ngo_says.md",
        None,
        QUIET,
        id="cnn-campaign-detentions",
    ),
    pytest.param(
        # Maduro threatens a new revolution; domestic politics only.
        "MmdrzaCo+Latest/2024/08/01/maduro-warns-he-ll-call-for-a-new-revolution-if-forced-by-"
        "north-american-imperialism.md",
        None,
        QUIET,
        id="cnn-maduro-revolution-warning",
    ),
    pytest.param(
        # Portuguese Guaidó interview on threats and sanctions; no ICC.
        "cynaramaira+jamildorep/_posts/2019-02-28-sigo-recebendo-ameacas-diz-guaido.md",
        None,
        QUIET,
        id="estadao-guaido-pt",
    ),
    pytest.param(
        # Sri Lankan column on the US strike on Venezuela; no ICC.
        "nuuuwan+news_long_lk/data/articles/us-attacks-venezuela-pro.327a0bf2/article.json",
        None,
        QUIET,
        id="ft-lk-us-attacks-venezuela",
    ),
    pytest.param(
        # Spanish headline: Foro Penal is the NGO counting prisoners, not the court.
        "Angyeligena+news-feeds/data/venezuela_news.csv",
        "foro-penal-contabiliza",
        QUIET,
        id="talcual-csv-foro-penal",
    ),
    pytest.param(
        # Spanish headline (listed twice): UN mission experts resign; no ICC angle.
        "Angyeligena+news-feeds/data/venezuela_news.txt",
        "dos-expertos-de-la-mision-onu",
        QUIET,
        id="talcual-txt-un-mission",
    ),
]

FEED_CASES = [
    # -- another ICC, or CPI that is not the court
    pytest.param(
        # International Chamber of Commerce chief on prices.
        "gesab001+headlines/smh@1a9871358a.xml",
        "p55ksa",
        QUIET,
        id="smh-chamber-of-commerce-icc",
    ),
    pytest.param(
        # Cricket's ICC and shirt sponsors.
        "gesab001+headlines/smh@50b5ec594f.xml",
        "p551bd",
        QUIET,
        id="smh-cricket-icc",
    ),
    pytest.param(
        # Cricket's ICC Test rankings.
        "gsidhu+Pretty_Parser/theguardian_football@da48fc90a2.xml",
        "england-pakistan-icc-rankings",
        QUIET,
        id="guardian-cricket-rankings",
    ),
    pytest.param(
        # CPI = Communist Party of India.
        "gsidhu+Pretty_Parser/thehindu@da48fc90a2.xml",
        "lone-cpi-mla",
        QUIET,
        id="hindu-cpi-party-mla",
    ),
    pytest.param(
        # CPI = Communist Party of India, again.
        "gsidhu+Pretty_Parser/thehindu@da48fc90a2.xml",
        "cpi-asks-ravindra-naik",
        QUIET,
        id="hindu-cpi-party-resign",
    ),
    pytest.param(
        # CPI = a Brazilian congressional inquiry (Portuguese).
        "tujmon+noticias-xml/elpais.xml",
        "oposicao-quer-cpi",
        QUIET,
        id="elpais-brasil-cpi-inquiry",
    ),
    # -- the ICC about other countries
    pytest.param(
        # ICC and US boat strikes in Latin America; item names no Venezuelan link.
        "havannaa+cloudphone-rss-reader/feeds/aljazeera@153424890c.xml",
        "1786563214",
        QUIET,
        id="aljazeera-icc-boat-strikes",
    ),
    pytest.param(
        # US sanctions Bensouda over Afghanistan.
        "gesab001+headlines/bbc@38f536f2b5.xml",
        "54003527",
        QUIET,
        id="bbc-bensouda-sanctions",
    ),
    pytest.param(
        # US sanctions Bensouda over Afghanistan.
        "gesab001+headlines/gmanews@38f536f2b5.xml",
        "754034",
        QUIET,
        id="gma-bensouda-sanctions",
    ),
    pytest.param(
        # US sanctions Bensouda over Afghanistan.
        "gesab001+headlines/philstar@dabfdce5c1.xml",
        "us-sanctions-icc-chief-prosecutor-bensouda",
        QUIET,
        id="philstar-bensouda-sanctions",
    ),
    pytest.param(
        # ICC sanctions debate on Afghanistan, presented by an Imran Khan.
        "gesab001+headlines/aljazeeraenglish@eed283597f.xml",
        "w5vsw3iFSak",
        QUIET,
        id="aljazeera-inside-story-icc",
    ),
    pytest.param(
        # ICC rejects US sanctions over Afghanistan.
        "gesab001+headlines/aljazeeraenglish@eed283597f.xml",
        "kij8hlcd8gg",
        QUIET,
        id="aljazeera-icc-rejects-sanctions",
    ),
    pytest.param(
        # US sanctions threat over Afghanistan; spelled I.C.C.
        "gesab001+headlines/nytimes@c3af587545.xml",
        "international-criminal-court-troops-trump",
        QUIET,
        id="nyt-icc-afghanistan",
    ),
    pytest.param(
        # ICC and the Philippine drug war (Tagalog).
        "gesab001+headlines/abscbnnews@f1a6531ff2.xml",
        "zMP8zaQgxj0",
        QUIET,
        id="abscbn-philippines-icc",
    ),
    pytest.param(
        # ICC and the Philippine drug war.
        "gesab001+headlines/gmanews@b95dce25c1.xml",
        "803624",
        QUIET,
        id="gma-philippines-icc",
    ),
    pytest.param(
        # ICC and Xinjiang.
        "gesab001+headlines/cnn@c18888d452.xml",
        "china-xinjiang-icc",
        QUIET,
        id="cnn-xinjiang-icc",
    ),
    pytest.param(
        # Crimes against humanity, but a Syrian verdict on al-Assad.
        "havannaa+cloudphone-rss-reader/feeds/nyt@0c04482fe9.xml",
        "syria-bashar-al-assad",
        QUIET,
        id="nyt-syria-assad",
    ),
    pytest.param(
        # Chinese-language item: Karim Khan on Israel warrants.
        "nanayashiki24+Rss-Translation/rss/aljazeera@0266f92227.xml",
        "t.me//33678",
        QUIET,
        id="aljazeera-zh-karim-khan-israel",
    ),
    # -- other people named Khan
    pytest.param(
        # London mayor Sadiq Khan on knife crime.
        "gesab001+headlines/dailymail@626f4e9439.xml",
        "Sadiq-Khan",
        QUIET,
        id="dailymail-sadiq-khan",
    ),
    pytest.param(
        # Imran Khan in Pakistani politics.
        "havannaa+cloudphone-rss-reader/feeds/indiatoday@0c04482fe9.xml",
        "imran-khan",
        QUIET,
        id="indiatoday-imran-khan",
    ),
    # -- Venezuela stories without the ICC
    pytest.param(
        # UN investigators on Venezuela's judiciary; item has no ICC or crimes against humanity.
        "gesab001+headlines/gmanews@b95dce25c1.xml",
        "803615",
        QUIET,
        id="gma-un-investigators-venezuela",
    ),
    pytest.param(
        # NGO report on forced disappearances; no ICC.
        "gesab001+headlines/cnn@5ee5a6957f.xml",
        "venezuela-maduro-detentions",
        QUIET,
        id="cnn-forced-disappearances",
    ),
    pytest.param(
        # Calls for a probe into a prisoner's death; a domestic probe, not the ICC.
        "gesab001+headlines/aljazeeraenglish.xml",
        "f7DqL6LrfSY",
        QUIET,
        id="aljazeera-baduel-death",
    ),
    pytest.param(
        # Chinese-language Maduro vs the US naval buildup.
        "nanayashiki24+Rss-Translation/rss/foxnews@91024fa319.xml",
        "maduro-claims-us-seeks-regime-change",
        QUIET,
        id="fox-zh-maduro-buildup",
    ),
    pytest.param(
        # Spanish headline: Foro Penal (NGO) counts political prisoners.
        "Angyeligena+news-feeds/data/venezuela@52fbb8dcda.xml",
        "foro-penal-contabiliza",
        QUIET,
        id="talcual-feed-foro-penal",
    ),
    pytest.param(
        # Spanish headline on prisoner releases under repression; no ICC.
        "Angyeligena+news-feeds/data/venezuela@cef8213bdb.xml",
        "puerta-giratoria",
        QUIET,
        id="talcual-feed-prisoner-releases",
    ),
]


def _keys(params: list[Any]) -> set[tuple[str, str | None]]:
    return {(p.values[0], p.values[1]) for p in params}


NEWS_TABLE = _keys(NEWS_CASES)
FEED_TABLE = _keys(FEED_CASES)


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("rel", "select", "expected"), NEWS_CASES)
def test_news_article(
    rules: RuleSet, rel: str, select: str | None, expected: frozenset[str]
) -> None:
    articles = news_articles(rel)
    for i in pick([key for key, _ in articles], select, rel):
        key, fields = articles[i]
        hits = rules.match_document(Document.from_html(**fields))
        got = {h.rule_id for h in hits}
        assert got == expected, f"{rel} {key}: {_describe(hits)}"


@pytest.mark.parametrize(("rel", "select", "expected"), FEED_CASES)
def test_feed_item(rules: RuleSet, rel: str, select: str, expected: frozenset[str]) -> None:
    items = feed_items(rel)
    for i in pick([item.key for item in items], select, rel):
        hits = rules.match(items[i])
        got = {h.rule_id for h in hits}
        assert got == expected, f"{rel} {items[i].key}: {_describe(hits)}"


def test_every_other_news_article_stays_quiet(rules: RuleSet) -> None:
    covered = set()
    for rel, select in NEWS_TABLE:
        keys = [key for key, _ in news_articles(rel)]
        covered.update((rel, keys[i]) for i in pick(keys, select, rel))
    noisy = []
    scanned = 0
    for rel in news_files():
        for key, fields in news_articles(rel):
            scanned += 1
            if (rel, key) in covered:
                continue
            hits = rules.match_document(Document.from_html(**fields))
            if hits:
                noisy.append(f"{rel} {key}: {_describe(hits)}")
    assert scanned > len(covered)
    assert noisy == [], "hits outside the table; read them and add cases:\n" + "\n".join(noisy)


def test_every_other_feed_item_stays_quiet(rules: RuleSet) -> None:
    covered = set()
    for rel, select in FEED_TABLE:
        keys = [item.key for item in feed_items(rel)]
        covered.update((rel, keys[i]) for i in pick(keys, select, rel))
    noisy = []
    scanned = 0
    for rel in feed_files():
        for item in feed_items(rel):
            scanned += 1
            if (rel, item.key) in covered:
                continue
            hits = rules.match(item)
            if hits:
                noisy.append(f"{rel} {item.key}: {_describe(hits)}")
    assert scanned > len(covered)
    assert noisy == [], "hits outside the table; read them and add cases:\n" + "\n".join(noisy)


def test_expectations_name_shipped_rules(rules: RuleSet) -> None:
    shipped = {rule.spec.id for rule in rules.rules}
    assert {ICC, ACTORS, CAH} <= shipped
    for param in NEWS_CASES + FEED_CASES:
        assert param.values[2] <= shipped, param.id
