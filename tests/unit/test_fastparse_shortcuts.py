"""The fast path's shortcuts, each held to the code it skips (hypothesis).

``fastparse`` builds stored items straight from the XML instead of building feedparser-shaped
entries for ``parser._item``; on the way it skips HTML-to-text for text that holds nothing for
it to do, the C1 search for printable text, and feedparser's date parser for the common RFC 822
and ISO 8601 forms. A changed text would match rules differently; a changed time would show
(and sort) an article wrongly.
"""

from __future__ import annotations

import contextlib
import re
import sys
from datetime import datetime

import pytest
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watcher import fastparse
from watcher.parser import _published, _text
from watcher.text import html_to_text

_C1 = re.compile("[\x80-\x9f]")


def _fp_reference(value: str) -> str:
    """``fastparse._fp`` as it was written first: feedparser's ``pop`` on a text value."""
    value = value.strip()
    if value.isascii():
        return value
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    if _C1.search(value) is None:
        return value
    return value.translate(_cp1252)


# Text as feeds hold it: words, accents, mojibake (UTF-8 read as Latin-1), C1 controls that
# feedparser maps through cp1252, every kind of whitespace, markup and entities.
_PIECES = st.sampled_from(
    [
        "a",
        "Maduro",
        "é",
        "Guaidó",
        "\u2019",  # right single quotation mark
        "—",
        "中文",
        "Ã©",
        "Ã",
        "\x80",
        "\x93",
        "\x9d",
        " ",
        "  ",
        "\n",
        "\t",
        "\r",
        "\xa0",
        "\x85",
        "\u2003",
        "\u3000",
        "\x1f",
        "<",
        ">",
        "&",
        "<b>",
        "</b>",
        "<p>x</p>",
        "&amp;",
        "&eacute;",
        "&#233;",
        "&nbsp;",
        "<script>x</script>",
        "\u00ad",
        "\ufeff",
    ]
)
TEXT = st.lists(_PIECES, max_size=12).map("".join) | st.text(max_size=30)


def test_every_whitespace_character_but_the_space_is_not_printable() -> None:
    # stored_text's shortcut rests on it: a printable text's only whitespace is the space.
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace() and char != " ":
            assert not char.isprintable(), hex(code)


@given(TEXT)
@example("Maduro  Guaidó")
@example(" petróleo ")
@example("Ã© \x93x\x94")
@example("\x93Maduro\x94 \x80 \x9d \x81 \x93 \u2019")
def test_fp_is_feedparsers_value(raw: str) -> None:
    assert fastparse._fp(raw) == _fp_reference(raw)


@given(TEXT, st.sampled_from([None, "text/plain", "text/html", "application/xhtml+xml"]))
@example("Karim Khan investigación", "text/plain")
@example("¿Qué pasó? «Maduro»", None)
@example("Ã© Ã±", None)
@example("a\xa0b", None)
@example("Bogotá  Caracas", None)
@example("a &amp; b", "text/plain")
@example("<b>x</b>", None)
def test_stored_text_is_what_the_parser_stores_for_the_value(raw: str, kind: str | None) -> None:
    # What parser._item stored for a text element: _text of feedparser's value, whatever
    # type feedparser guessed for it (the fast path no longer tracks the guess).
    detail = {"type": kind} if kind else None
    expected = _text(_fp_reference(raw), detail)
    assert fastparse.stored_text(raw) == expected
    assert expected == html_to_text(_fp_reference(raw))


def _reference_date(value: str) -> datetime | str | None:
    parsed = _parse_date(value)
    if parsed is None:
        return "refused" if value else None
    return _published({"published_parsed": parsed})


def _fast_date(value: str) -> datetime | str | None:
    try:
        return fastparse._date(value)
    except fastparse.Refused:
        return "refused"


_DAY_NAMES = st.sampled_from(["", "Mon, ", "Thu, ", "Sun, ", "Xyz, ", "thu, ", "Thu,"])
_MONTH_NAMES = st.sampled_from(["Jan", "Feb", "Nov", "Dec", "nov", "NOV", "Foo", "Sept", "May"])
_ZONES = st.sampled_from(
    ["+0000", "+0200", "-0530", "+1400", "-0099", "+02:00", "GMT", "UTC", "UT", "Z", "EST", "z"]
)
_ISO_ZONES = st.sampled_from(["Z", "+01:00", "-05:30", "+0130", "-00:30", "+14:00", "", "z"])


@st.composite
def _rfc822(draw: st.DrawFn) -> str:
    day = draw(st.integers(1, 28) | st.integers(0, 32))
    width = draw(st.sampled_from(["", "02"]))
    year = draw(st.integers(1890, 3010) | st.integers(0, 99))
    hms = [draw(st.integers(0, 23) | st.integers(0, 61)) for _ in range(3)]
    time_ = ":".join(f"{n:02d}" for n in hms)
    return f"{draw(_DAY_NAMES)}{day:{width}d} {draw(_MONTH_NAMES)} {year} {time_} {draw(_ZONES)}"


@st.composite
def _iso(draw: st.DrawFn) -> str:
    year = draw(st.integers(1890, 3010))
    month = draw(st.integers(1, 12) | st.integers(0, 13))
    day = draw(st.integers(1, 28) | st.integers(0, 32))
    hms = [draw(st.integers(0, 23) | st.integers(0, 61)) for _ in range(3)]
    fraction = draw(st.sampled_from(["", ".1", ".123", ".999999999", ".9999999999"]))
    sep = draw(st.sampled_from(["T", "t", " "]))
    clock = ":".join(f"{n:02d}" for n in hms)
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{clock}{fraction}{draw(_ISO_ZONES)}"


@settings(max_examples=500)
@given(_rfc822() | _iso() | st.text(max_size=12))
@example("Thu, 04 Nov 2021 12:00:00 +0200")
@example("4 Nov 2021 12:00:00 GMT")
@example("Sat, 29 Feb 2020 23:59:59 -0000")
@example("Sun, 29 Feb 2021 10:00:00 +0000")
@example("2026-11-02T11:00:00.123+01:00")
@example("2026-11-02T10:00:00Z")
@example("1900-01-01T00:00:00+14:00")
@example("2999-12-31T23:59:59-14:00")
@example("")
def test_common_dates_are_read_as_feedparser_reads_them(value: str) -> None:
    assert _fast_date(value) == _reference_date(value)


@pytest.mark.parametrize(
    "value",
    ["Thu, 04 Nov 2021 12:00:00 +0200", "2026-11-02T11:00:00+01:00", "04 Nov 2021 10:00:00 GMT"],
)
def test_the_common_forms_do_not_reach_feedparsers_date_parser(value: str) -> None:
    assert fastparse._RFC822.match(value) or fastparse._ISO.match(value)
    found = fastparse._RFC822.match(value) or fastparse._ISO.match(value)
    assert found is not None and fastparse._common_date(found) is not None


@st.composite
def _common_forms(draw: st.DrawFn) -> str:
    """Dates of the forms read without feedparser, with fields in range (mostly)."""
    year, month, day = (
        draw(st.integers(1900, 2999)),
        draw(st.integers(1, 12)),
        draw(st.integers(1, 31)),
    )
    clock = ":".join(f"{draw(st.integers(0, 23 if i == 0 else 59)):02d}" for i in range(3))
    if draw(st.booleans()):
        name = draw(st.sampled_from(["", "Mon, ", "Sat, "]))
        month_name = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()[month - 1]
        zone = draw(st.sampled_from(["+0000", "+0530", "-1200", "+1400", "-0099", "GMT", "UT"]))
        return f"{name}{day} {month_name} {year} {clock} {zone}"
    fraction = draw(st.sampled_from(["", ".5", ".999999999"]))
    zone = draw(st.sampled_from(["Z", "+01:00", "-05:30", "-00:30", "+14:00", "+99:99"]))
    return f"{year:04d}-{month:02d}-{day:02d}T{clock}{fraction}{zone}"


@settings(max_examples=500)
@given(_common_forms())
def test_dates_of_the_common_forms_are_read_as_feedparser_reads_them(value: str) -> None:
    assert _fast_date(value) == _reference_date(value)
