"""Which earlier item is the same story: edited copies are found, look-alikes are kept apart,
and an item out of the window is forgotten."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from watcher.stories import (
    StoryIndex,
    from_bytes,
    shingles,
    story_text,
    title_words,
    to_bytes,
)

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)
WIRE, DAILY = 1, 2  # feed ids: indexed items come from the wire, copies are looked up from Daily


def _title(text: str) -> str:
    return text.partition("\n")[0]


# Wire copy, as one outlet carries it.
RELEASE = story_text(
    "Venezuela frees dozens of political prisoners after talks with opposition",
    "Venezuela's government released at least 40 political prisoners on Tuesday, rights groups "
    "said, days after President Nicolás Maduro's officials met opposition negotiators in "
    "Barbados. Those freed include students and two journalists detained during last year's "
    "protests in Caracas, according to the Foro Penal legal aid group.",
    "",
)
# The same story as another outlet edits it: a new headline verb, a few words changed.
RELEASE_EDITED = story_text(
    "Venezuela releases dozens of political prisoners after talks with opposition",
    "Venezuela's government freed at least 40 political prisoners on Tuesday, human rights "
    "groups said, days after President Nicolás Maduro's officials met opposition negotiators "
    "in Barbados. Those freed include students and two reporters detained during last year's "
    "protests in Caracas, according to the Foro Penal legal aid group.",
    "",
)
# Another Maduro story: the same names and places, a different story.
CURRENCY = story_text(
    "Maduro announces new currency controls as bolivar slides",
    "President Nicolás Maduro announced new controls on foreign currency on Tuesday as the "
    "bolivar lost a fifth of its value in a week. Officials in Caracas said banks must report "
    "every dollar sale to the central bank, and the opposition said the measures would deepen "
    "Venezuela's shortages of food and medicine.",
    "",
)
ICC = story_text(
    "ICC prosecutor says Venezuela inquiry into Maduro government will continue",
    "The International Criminal Court's prosecutor said on Tuesday the investigation into "
    "alleged crimes against humanity by President Nicolás Maduro's government would go on, "
    "rejecting Venezuela's request to defer to its own courts. Officials in Caracas called the "
    "decision political and said they would appeal to the court's judges in The Hague.",
    "",
)


def _edit(text: str, n: int, rng: random.Random) -> str:
    """``text`` with ``n`` words replaced, deleted or inserted."""
    words = text.split()
    filler = ["reportedly", "officials", "latest", "new", "also", "local", "week"]
    for _ in range(n):
        i = rng.randrange(len(words))
        kind = rng.choice(("replace", "delete", "insert"))
        if kind == "replace":
            words[i] = rng.choice(filler)
        elif kind == "delete":
            del words[i]
        else:
            words.insert(i, rng.choice(filler))
    return " ".join(words)


def test_an_edited_copy_is_found_and_joins_the_first_items_story() -> None:
    index = StoryIndex()
    first = index.sign(RELEASE)
    assert first is not None
    index.add(1, 1, T0, first, WIRE, _title(RELEASE))
    copy = index.sign(RELEASE_EDITED)
    match = index.find(copy, DAILY, _title(RELEASE_EDITED))
    assert match is not None and (match.key, match.story) == (1, 1)
    assert match.similarity >= 0.7
    # A copy of the copy belongs to the same story, whichever copy it is nearest to.
    index.add(2, match.story, T0, copy, DAILY, _title(RELEASE_EDITED))
    edited = _edit(RELEASE_EDITED, 3, random.Random(1))
    again = index.find(index.sign(edited), 3, _title(RELEASE))
    assert again is not None and again.story == 1


def test_copies_with_two_to_five_words_edited_are_found() -> None:
    index = StoryIndex()
    for key, text in enumerate((RELEASE, CURRENCY, ICC), start=1):
        index.add(key, key, T0, index.sign(text), WIRE, _title(text))
    rng = random.Random(5)
    found = 0
    trials = 0
    for key, text in enumerate((RELEASE, CURRENCY, ICC), start=1):
        for n in (2, 3, 4, 5):
            for _ in range(5):
                trials += 1
                match = index.find(index.sign(_edit(text, n, rng)), DAILY, _title(text))
                assert match is None or match.key == key  # never another story
                found += match is not None
    assert found >= 0.85 * trials, f"{found} of {trials} copies found"


def test_different_stories_sharing_names_are_kept_apart() -> None:
    index = StoryIndex()
    index.add(1, 1, T0, index.sign(RELEASE), WIRE, _title(RELEASE))
    index.add(2, 2, T0, index.sign(CURRENCY), WIRE, _title(CURRENCY))
    assert index.find(index.sign(ICC), DAILY, _title(ICC)) is None
    assert index.find(index.sign(CURRENCY), DAILY, _title(CURRENCY)).key == 2  # type: ignore[union-attr]
    # The same words in another order tell another story: who accuses whom matters.
    a = story_text(
        "Maduro accuses Guaidó of plotting with foreign mercenaries",
        "Nicolás Maduro on Monday accused Juan Guaidó of plotting a coup with foreign "
        "mercenaries, saying his government had proof of meetings held in Colombia.",
        "",
    )
    b = story_text(
        "Guaidó accuses Maduro of plotting with foreign mercenaries",
        "Juan Guaidó on Monday accused Nicolás Maduro of plotting with foreign mercenaries, "
        "saying his movement had proof of meetings held in Colombia.",
        "",
    )
    index.add(3, 3, T0, index.sign(a), WIRE, _title(a))
    match = index.find(index.sign(b), DAILY, _title(b))
    assert match is None or match.key != 3


def test_an_item_seen_before_the_window_is_not_a_match_and_is_forgotten() -> None:
    index = StoryIndex()
    index.add(1, 1, T0, index.sign(RELEASE), WIRE, _title(RELEASE))
    copy = index.sign(RELEASE_EDITED)
    edited = _title(RELEASE_EDITED)
    assert index.find(copy, DAILY, edited, since=T0) is not None
    assert index.find(copy, DAILY, edited, since=T0 + timedelta(seconds=1)) is None
    index.expire(T0 + timedelta(hours=24))
    assert len(index) == 0 and 1 not in index
    assert index.find(copy, DAILY, edited) is None
    index.add(1, 1, T0 + timedelta(hours=25), index.sign(RELEASE), WIRE, _title(RELEASE))  # back
    assert index.find(copy, DAILY, edited) is not None


def test_a_title_alone_is_too_short_to_group() -> None:
    index = StoryIndex()
    assert shingles("Maduro speaks in Caracas") == set()
    assert index.sign(story_text("Venezuela: Maduro speaks", "", "")) is None
    # The full text stands in for a missing summary.
    assert index.sign(story_text("x", "", RELEASE)) is not None


def test_a_stored_signature_reads_back_the_same() -> None:
    index = StoryIndex()
    signature = index.sign(RELEASE)
    data = to_bytes(signature)
    assert len(data) == 512
    back = from_bytes(data)
    assert back is not None and back.jaccard(signature) == 1.0
    index.add(1, 1, T0, back, WIRE, _title(RELEASE))
    assert index.find(index.sign(RELEASE_EDITED), DAILY, _title(RELEASE_EDITED)) is not None
    assert from_bytes(data[:-4]) is None  # another size: not a signature of this scheme


# A feed's footer, longer than its headlines: two of its stories overlap as much as copies do.
FOOTER = (
    "Read the full story on our site. Subscribe to our newsletter for the day's top business "
    "news, delivered to your inbox every morning. Follow us on social media for the latest "
    "updates, and download our app to get alerts on breaking stories as they happen."
)


def test_stories_of_one_feed_sharing_its_footer_are_not_copies() -> None:
    index = StoryIndex()
    recall = index.sign(story_text("Acme recalls cars", FOOTER, ""))
    resigns = index.sign(story_text("Globex CEO resigns", FOOTER, ""))
    assert recall.jaccard(resigns) >= 0.7  # the words alone would group them
    index.add(1, 1, T0, recall, DAILY, "Acme recalls cars")
    assert index.find(resigns, DAILY, "Globex CEO resigns") is None
    # Nor is an outlet's second item of one story a copy: a copy comes from another outlet.
    assert index.find(index.sign(RELEASE_EDITED), WIRE, _title(RELEASE_EDITED)) is None
    index.add(2, 2, T0, index.sign(RELEASE), WIRE, _title(RELEASE))
    assert index.find(index.sign(RELEASE_EDITED), WIRE, _title(RELEASE_EDITED)) is None
    assert index.find(index.sign(RELEASE_EDITED), DAILY, _title(RELEASE_EDITED)).key == 2  # type: ignore[union-attr]


def test_items_of_two_feeds_whose_headlines_share_no_word_are_not_copies() -> None:
    index = StoryIndex()
    index.add(
        1, 1, T0, index.sign(story_text("Acme recalls cars", FOOTER, "")), WIRE, "Acme recalls cars"
    )
    # An aggregator carrying the publisher's items, footer and all.
    ceo = index.sign(story_text("Globex CEO resigns", FOOTER, ""))
    assert index.find(ceo, DAILY, "Globex CEO resigns") is None
    # Words every headline has ("the", "in", "a") are not a word in common.
    week = "A look at the week in business"
    index.add(2, 2, T0, index.sign(story_text(week, FOOTER, "")), WIRE, week)
    assert index.find(ceo, DAILY, "Globex CEO resigns in the morning") is None
    its_copy = index.sign(story_text("Acme recalls 40,000 cars", FOOTER, ""))
    assert index.find(its_copy, DAILY, "ACME RECALLS 40,000 CARS").key == 1  # type: ignore[union-attr]


def test_headline_words_are_folded_and_leave_out_stop_words() -> None:
    assert title_words("The CEO of Globex resigns") == {"ceo", "globex", "resigns"}
    assert title_words("Él dimite: la crisis de Nicolás") == {"dimite", "crisis", "nicolas"}
    assert title_words("US and WHO warn") == {"us", "who", "warn"}  # names, not stop words
    assert title_words("The") == frozenset()  # nothing to compare: titles do not decide
    assert title_words("委内瑞拉释放政治犯") == frozenset()  # written without spaces: not compared
