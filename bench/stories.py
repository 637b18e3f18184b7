"""Story grouping: speed of signing and indexing, recall on edited copies, false pairs.

Prints tables; not a test. Usage: python bench/stories.py [--items 5000] [--shingles 1 2 1,2]

Items are made of real news text, read in place from ../shared/corpus/news-text (articles about
Venezuela, Maduro, Guaidó, the ICC, and unrelated controls; nothing is copied): each item is an
article's title and one of its paragraphs, cut at 30 to 70 words, as a feed's title and summary.
Different items of one article, and articles on the same events, share names and phrases: the
look-alikes grouping must keep apart. A copy is an item with 2 to 5 words edited (a word
replaced by another word of the corpus, deleted, or a word inserted), as outlets edit a wire
story, under another link.

1. Speed: every item signed (``StoryIndex.sign``), looked up (``find``) and added (``add``), as
   the store does for each new item with a hit: items/s, and CPU seconds.
2. Recall: for each item, a copy with 2-5 words edited is looked up in the index of all items:
   found when ``find`` returns its original.
3. False pairs: each distinct item looked up in the index of all the others: any match is a
   false pair (two different stories grouped).
4. Rebuild: the index of all items rebuilt from their stored signatures, as after a restart.
5. The store: polls of 50 new items, every one with a hit routed to a channel (the worst case:
   only items with a hit are signed), committed by ``Store.record_poll`` into a fresh SQLite
   file with story grouping off and on: CPU seconds per item.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from watcher import stories
from watcher.models import FeedSpec, Item, RuleHit, StoryPolicy
from watcher.store import PollRecord, Store
from watcher.stories import StoryIndex, from_bytes, story_text, to_bytes
from watcher.text import html_to_text, words

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "news-text"
_WORD = re.compile(r"\S+")


def _articles() -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of every article in the corpus, markup stripped."""
    found: list[tuple[str, list[str]]] = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".json":
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            for a in data.get("articles", []) if isinstance(data, dict) else []:
                text = " ".join(str(a.get(k) or "") for k in ("description", "content"))
                found.append((str(a.get("title") or ""), [text]))
            continue
        if path.suffix in (".html", ".htm"):
            raw = html_to_text(raw)
        lines = [line.strip() for line in raw.splitlines()]
        title = next((line.lstrip("# ") for line in lines if line.startswith("#")), path.stem)
        paragraphs = [
            line
            for line in lines
            if len(line.split()) >= 20 and not line.startswith(("#", "---", "Published", "|"))
        ]
        found.append((title, paragraphs))
    return found


def items(rng: random.Random) -> list[str]:
    """Distinct items (title + a 30-70 word cut of one paragraph). The corpus holds some
    articles in several versions (an edited title, a paragraph added): an item sharing 60%
    of its words or more with an earlier one (exact Jaccard of word sets, not MinHash) is such
    a version, not another story, and is left out."""
    out: list[str] = []
    kept: list[set[str]] = []
    for title, paragraphs in _articles():
        for paragraph in paragraphs:
            cut = " ".join(paragraph.split()[: rng.randint(30, 70)])
            if len(cut.split()) < 20:
                continue
            text = story_text(title, cut, "")
            bag = set(words(text))
            if any(len(bag & other) >= 0.6 * len(bag | other) for other in kept):
                continue
            kept.append(bag)
            out.append(text)
    return out


def edit(text: str, vocabulary: list[str], rng: random.Random) -> str:
    """``text`` with 2 to 5 words replaced, deleted, or inserted (its title stays its first
    line: ``find`` compares titles)."""
    title, _, rest = text.partition("\n")
    tokens = [*_WORD.findall(title), "\n", *_WORD.findall(rest)]
    edits = rng.randint(2, 5)
    while edits:
        i = rng.randrange(len(tokens))
        kind = rng.choice(("replace", "delete", "insert"))
        if tokens[i] == "\n" and kind != "insert":
            continue
        edits -= 1
        if kind == "replace":
            tokens[i] = rng.choice(vocabulary)
        elif kind == "delete" and len(tokens) > 2:
            del tokens[i]
        else:
            tokens.insert(i, rng.choice(vocabulary))
    cut = tokens.index("\n")
    return " ".join(tokens[:cut]) + "\n" + " ".join(tokens[cut + 1 :])


def _title(text: str) -> str:
    return text.partition("\n")[0]


def run(texts: list[str], copies: list[str], shingle: tuple[int, ...]) -> dict[str, float]:
    stories.SHINGLES = shingle
    index = StoryIndex()
    now = datetime.now(UTC)
    start, cpu = time.perf_counter(), time.process_time()
    signed = []
    for key, text in enumerate(texts):
        signature = index.sign(text)
        signed.append(signature)
        if signature is None:
            continue
        # Each item from a feed of its own: a copy is only ever found in another feed.
        match = index.find(signature, key, _title(text))
        index.add(key, match.story if match else key, now, signature, key, _title(text))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    # A restart: the index rebuilt from the stored signatures, as the store reads them back.
    stored = [(key, to_bytes(sig)) for key, sig in enumerate(signed) if sig is not None]
    rebuild = time.perf_counter()
    again = StoryIndex()
    for key, data in stored:
        again.add(key, key, now, from_bytes(data), key, _title(texts[key]))
    rebuild = time.perf_counter() - rebuild
    # Recall: a copy's best match is its own original.
    found = total = 0
    for key, copy in enumerate(copies):
        if signed[key] is None:
            continue
        total += 1
        signature = index.sign(copy)
        match = index.find(signature, -1, _title(copy)) if signature is not None else None
        found += match is not None and match.key == key
    # False pairs: an item matching any other item (look-ups against everything but itself).
    false_pairs = 0
    for key, signature in enumerate(signed):
        if signature is None:
            continue
        others = {k for k in index._lsh.query(signature) if k != key}
        false_pairs += sum(
            1 for k in others if signature.jaccard(index._entries[k].signature) >= stories.THRESHOLD
        )
    return {
        "items": len(texts),
        "signed": total,
        "wall": wall,
        "cpu": cpu,
        "per_s": len(texts) / wall,
        "recall": found / total if total else 0.0,
        "false": false_pairs // 2,  # each pair is seen from both sides
        "rebuild": rebuild,
    }


def store_cost(texts: list[str], grouping: bool, per_poll: int = 50) -> tuple[float, float]:
    """(wall s, CPU s) to record ``texts`` as polls of ``per_poll`` items with a hit each."""
    policy = StoryPolicy() if grouping else None
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/w.db")
        store.migrate()
        # Polls from 8 feeds in turn: copies are looked for in the other feeds.
        specs = [FeedSpec(f"https://bench.example/{n}.xml", f"Bench {n}", 300.0) for n in range(8)]
        states = store.sync_feeds(specs)
        feed_ids = [states[spec.url].id for spec in specs]
        feed_id = feed_ids[0]
        now = datetime.now(UTC)
        hit = [RuleHit("r", "Rule", ("Maduro",), ("desk",))]
        recs = []
        for start in range(0, len(texts), per_poll):
            feed = feed_ids[start // per_poll % len(feed_ids)]
            rec = PollRecord(feed_id=feed, polled_at=now, next_poll=now, stories=policy)
            for i, text in enumerate(texts[start : start + per_poll], start):
                title, _, summary = text.partition("\n")
                link = f"https://bench.example/{i}"
                rec.items.append((Item(str(i), link, title, link, summary, "", None), hit))
            recs.append(rec)
        wall, cpu = time.perf_counter(), time.process_time()
        if grouping:
            store.record_poll(PollRecord(feed_id=feed_id, polled_at=now, next_poll=now))
            stories.StoryIndex()  # datasketch's import, paid once per process, not counted
        for rec in recs:
            store.record_poll(rec)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        store.close()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="items to index (repeated)")
    parser.add_argument(
        "--shingles",
        nargs="+",
        default=[",".join(map(str, stories.SHINGLES))],
        help="shingle sizes to compare, each a comma-separated set (e.g. 1 2 1,2)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"news text not found at {CORPUS}: this bench reads the shared corpus in place")
    rng = random.Random(args.seed)
    distinct = items(rng)
    vocabulary = sorted({w for t in distinct for w in t.split()})
    # Speed wants many items: the distinct ones, then each again lightly edited so it is a
    # new item (indexed as a copy of the first).
    texts = list(distinct)
    while len(texts) < args.items:
        texts.append(edit(distinct[len(texts) % len(distinct)], vocabulary, rng))
    texts = texts[: args.items]
    copies = [edit(t, vocabulary, rng) for t in distinct]
    print(
        f"{len(distinct)} distinct items from {CORPUS} ({len(_articles())} articles); "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"{'shingle':>7} | {'items':>6} | {'wall s':>7} | {'CPU s':>6} | {'items/s':>8} | "
        f"{'recall (2-5 edits)':>18} | {'false pairs':>11} | {'rebuild s':>9}"
    )
    for sizes in args.shingles:
        k = tuple(int(n) for n in sizes.split(","))
        speed = run(texts, [edit(t, vocabulary, rng) for t in texts], k)
        quality = run(distinct, copies, k)
        print(
            f"{sizes:>7} | {speed['items']:>6.0f} | {speed['wall']:>7.2f} | {speed['cpu']:>6.2f} | "
            f"{speed['per_s']:>8.0f} | "
            f"{quality['recall']:>17.1%} | {quality['false']:>5.0f} of {quality['signed']:.0f} | "
            f"{speed['rebuild']:>9.2f}"
        )
    stories.SHINGLES = tuple(int(n) for n in args.shingles[0].split(","))
    n = min(len(texts), 2000)
    print(f"\nThe store, {n} new items with a hit, polls of 50 (SQLite):")
    print(f"{'grouping':>8} | {'wall s':>7} | {'CPU s':>6} | {'CPU us/item':>11}")
    for grouping in (False, True):
        wall, cpu = store_cost(texts[:n], grouping)
        label = "on" if grouping else "off"
        print(f"{label:>8} | {wall:>7.2f} | {cpu:>6.2f} | {cpu / n * 1e6:>11.0f}")


if __name__ == "__main__":
    main()
