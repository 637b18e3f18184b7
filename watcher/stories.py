"""Story grouping: which earlier item, if any, tells the same story as this one.

Outlets rewrite a wire story a little (a word changed here, a sentence cut there) and publish it
under their own links, so the canonical link cannot tell that two items are one story. Their
words can: an item is reduced to the set of its words and word pairs (``SHINGLES``, folded as
the rules fold them), and two items whose sets overlap by ``THRESHOLD`` (Jaccard) or more are
the same story. MinHash (``NUM_PERM`` permutations) estimates that overlap from a fixed-size
signature, and an LSH index finds the candidates without comparing an item with every other.
The permutations are built once and shared by every signature: building them per item costs
more than the signing itself.

Words in common are not enough: a feed's items can share a footer ("Read the full story on our
site. Subscribe to our newsletter ...") longer than their headlines, and then two of its stories
overlap as much as two copies do. So a copy must come from another feed (the issue's "the same
story from several outlets": one outlet does not carry a story twice), and its headline must
share a word with the earlier item's (stop words aside), which keeps an aggregator that carries
one publisher's items, footer and all, from grouping that publisher's different stories.

This module holds no database and no clock: the store feeds it what it stored (a signature, the
story it belongs to, when it was seen) and asks it for the nearest earlier copy.
"""

from __future__ import annotations

import re
import zlib
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.text import words

NUM_PERM = 128
THRESHOLD = 0.7  # estimated Jaccard overlap of word pairs from which two items are one story
SHINGLES = (1, 2)  # shingle sizes in words: single words and pairs (bench/stories.py: why)
MIN_WORDS = 15  # fewer words (a title alone) are too few to tell a copy from a look-alike
MAX_WORDS = 400  # words read from an item: a copy is recognised by its opening
SEED = 1
_SCHEME = "affine32"  # datasketch's hash scheme: values fit 32 bits, stored as 4 bytes each
SIGNATURE_BYTES = NUM_PERM * 4


def _hash(shingle: bytes) -> int:
    """A shingle's 32-bit hash (the permutations then spread it): CRC-32, in C, stable across
    processes (signatures are stored), ~15x cheaper than datasketch's SHA-1 default, and as
    good here (bench/stories.py measures the same recall and no false pairs with either)."""
    return zlib.crc32(shingle)


def story_text(title: str, summary: str, content: str) -> str:
    """What an item's story is recognised by: its title and its summary, or its full text when
    the feed gives no summary (one outlet's summary is the other's opening paragraph)."""
    return f"{title}\n{summary or content}"


# Words that tell nothing of a headline's story, in the languages of the feeds we know
# (folded: no case, no accents). Two headlines sharing only these share no word. Not here:
# words that are also names ("us" for US, "who" for WHO).
STOP_WORDS = frozenset(
    """
    a about after against all also an and are as at be been before but by can could did do
    does for from had has have he her his how i if in into is it its more new no not now of on
    or our out over says she so than that the their them then there they this to up was we
    were what when which will with would you your
    al como con de del el en es la las lo los mas no para por que se su sus un una y
    au aux avec ce dans des du elle est et il le les ne ou par pas pour qui sa ses sur une
    auf aus bei das dem den der des die ein eine einen im ist mit nach nicht sich und von
    zu zum zur
    ao com da das do dos em na nas no nos os um uma
    che di gli il nel per
    """.split()
)
# Scripts written without spaces between words: a "word" there is a whole run of text, so two
# headlines of one story need share none; their titles are not compared.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)


def title_words(title: str) -> frozenset[str]:
    """The words of a headline that can tell its story (folded, stop words left out); empty
    when it has none or is written in a script without spaces: then it is not compared."""
    if _UNSPACED.search(title):
        return frozenset()
    return frozenset(words(title)).difference(STOP_WORDS)


def shingles(text: str) -> set[bytes]:
    """The word pairs of a text's first ``MAX_WORDS`` words, folded (case, accents) as the
    rules fold them; empty when the text has fewer than ``MIN_WORDS`` words."""
    found = words(text)[:MAX_WORDS]
    if len(found) < MIN_WORDS:
        return set()
    return {
        " ".join(found[i : i + k]).encode() for k in SHINGLES for i in range(len(found) - k + 1)
    }


@dataclass(frozen=True)
class Match:
    """The indexed item most like the one asked about."""

    key: int  # the store's id of that item
    story: int  # the story it belongs to
    similarity: float  # estimated Jaccard overlap


@dataclass(frozen=True)
class _Entry:
    story: int
    seen_at: datetime
    signature: Any  # LeanMinHash
    feed: int  # the store's id of the item's feed
    title: frozenset[str]  # ``title_words`` of its headline


class StoryIndex:
    """Signatures of recent items, by the store's item id, with the story each belongs to.

    Not thread-safe: the store uses it under its own lock.
    """

    def __init__(self) -> None:
        from datasketch import MinHash, MinHashLSH

        self._template = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=_SCHEME, hashfunc=_hash)
        self._minhash = MinHash
        self._lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self._entries: dict[int, _Entry] = {}
        self._order: deque[tuple[datetime, int]] = deque()  # (seen_at, key), oldest first

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def sign(self, text: str) -> Any | None:
        """The signature of a text (``story_text``), or None when it is too short to group."""
        from datasketch import LeanMinHash

        found = shingles(text)
        if not found:
            return None
        m = self._minhash(
            num_perm=NUM_PERM,
            seed=SEED,
            permutations=self._template.permutations,
            scheme=_SCHEME,
            hashfunc=_hash,
        )
        m.update_batch(found)
        return LeanMinHash(m)

    def find(
        self, signature: Any, feed: int, title: str, since: datetime | None = None
    ) -> Match | None:
        """The indexed item most like ``signature`` (at least ``THRESHOLD``) seen at or after
        ``since``, from another feed than ``feed`` and with a headline sharing a word with
        ``title`` (when both have words to compare); ties go to the earliest. The LSH gives
        candidates; each is checked against its signature, so a pair the bands let through by
        chance is not taken."""
        best: Match | None = None
        heading = title_words(title)
        for key in self._lsh.query(signature):
            entry = self._entries[key]
            if entry.feed == feed or (since is not None and entry.seen_at < since):
                continue
            if heading and entry.title and heading.isdisjoint(entry.title):
                continue
            similarity = float(signature.jaccard(entry.signature))
            if similarity < THRESHOLD:
                continue
            if (
                best is None
                or similarity > best.similarity
                or (similarity == best.similarity and key < best.key)
            ):
                best = Match(key, entry.story, similarity)
        return best

    def add(
        self, key: int, story: int, seen_at: datetime, signature: Any, feed: int, title: str
    ) -> None:
        """Index an item of ``feed`` headed ``title`` (a key already indexed is left as it
        is)."""
        if key in self._entries:
            return
        self._entries[key] = _Entry(story, seen_at, signature, feed, title_words(title))
        self._lsh.insert(key, signature, check_duplication=False)
        self._order.append((seen_at, key))

    def expire(self, before: datetime) -> None:
        """Forget items seen before ``before``: they are out of the grouping window."""
        while self._order and self._order[0][0] < before:
            _, key = self._order.popleft()
            if self._entries.pop(key, None) is not None:
                self._lsh.remove(key)


def to_bytes(signature: Any) -> bytes:
    """A signature as stored: ``NUM_PERM`` little-endian 32-bit values."""
    import numpy as np

    return bytes(np.asarray(signature.hashvalues, dtype="<u4").tobytes())


def from_bytes(data: bytes) -> Any | None:
    """A stored signature, or None when it is not one of this scheme (another size)."""
    if len(data) != SIGNATURE_BYTES:
        return None
    import numpy as np
    from datasketch import LeanMinHash

    values = np.frombuffer(data, dtype="<u4").astype(np.uint64)
    return LeanMinHash(seed=SEED, hashvalues=values, scheme=_SCHEME)
