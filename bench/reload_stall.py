"""Does loading 100,000 rules stall polling? Prints the event loop's worst lag; not a test.

    python bench/reload_stall.py [--rules 100000] [--after 20] [--no-freeze]

The daemon compiles a changed rules file in a worker thread (``Daemon.reload``: ``load``, then
``tune_rules``) while its event loop goes on fetching. A ticker on the loop sleeps 5 ms at a
time and records how late it wakes, during the load and for ``--after`` seconds after it, while
the loop keeps allocating as polling does (parsed items kept for a while, then dropped), so
that the cycle collector runs as it would in the daemon. ``--no-freeze`` skips the freeze that
ends a large compile (``ruleset.settle_long_lived``), to show what it spares.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import match  # the bench's generated world: the same rules as bench/match.py

from watcher.app import load, open_store, tune_rules
from watcher.rules import ruleset


def write_rules(root: Path, count: int) -> Path:
    """A config with ``count`` rules of bench/match.py's kinds (and its aliases)."""
    _, _, specs, aliases = match.build(1, count)
    lines = ["aliases:"]
    for name, spellings in aliases.items():
        lines.append(f"  {name}: {json.dumps(spellings, ensure_ascii=False)}")
    lines.append("rules:")
    for spec in specs:
        query = json.dumps(spec.query, ensure_ascii=False)  # a YAML double-quoted scalar
        lines += [f"  - id: {spec.id}", f"    title: {spec.id}", f"    query: {query}"]
    (root / "rules").mkdir()
    (root / "rules" / "main.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = root / "watcher.yaml"
    config.write_text(
        f"database: sqlite:///{root / 'watcher.db'}\nfeeds: []\nchannels: {{}}\nrules: rules/\n",
        encoding="utf-8",
    )
    return config


async def measure(config: Path, after: float) -> tuple[float, float, float, float, float]:
    """Seconds the load took, the worst lag during it, the worst lag after it, how long the
    collector's walks took in all after it, and how long one full collection takes then."""
    store = open_store(load(config))  # migrate once, outside the timing
    lags: list[float] = []
    kept: deque[list[dict[str, object]]] = deque(maxlen=200)  # ~a round's worth of items
    stop = False

    async def ticker() -> None:
        n = 0
        while not stop:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)
            # what a poll leaves behind for a while: a feed's parsed items
            kept.append([{"title": f"item {n} {i}", "n": i, "tags": [i]} for i in range(50)])
            n += 1

    def reload() -> None:
        settings = load(config)
        tune_rules(settings, store)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    await asyncio.to_thread(reload)
    took = time.perf_counter() - started
    during = max(lags)
    lags.clear()
    collecting = [0.0]
    began = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            collecting[0] += time.perf_counter() - began[0]

    gc.callbacks.append(timed)
    await asyncio.sleep(after)
    gc.callbacks.remove(timed)
    stop = True
    await task
    # the full collection that comes whenever enough objects have survived: the interpreter
    # lock is held throughout, so this is how long the loop stops each time
    started = time.perf_counter()
    gc.collect()
    full = time.perf_counter() - started
    store.close()
    return took, during, max(lags), collecting[0], full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--after", type=float, default=20.0, help="seconds to watch after")
    parser.add_argument("--no-freeze", action="store_true", help="skip the freeze")
    args = parser.parse_args()
    if args.no_freeze:
        ruleset.settle_long_lived = lambda: None
    with tempfile.TemporaryDirectory() as tmp:
        config = write_rules(Path(tmp), args.rules)
        took, during, worst, collecting, full = asyncio.run(measure(config, args.after))
    freeze = "without" if args.no_freeze else "with"
    print(f"{args.rules:,} rules loaded and tuned in a worker thread in {took:.1f} s", end="")
    print(f" ({freeze} the freeze)")
    print(
        f"event loop's worst lag: {during * 1000:.0f} ms during the load,"
        f" {worst * 1000:.0f} ms in the {args.after:.0f} s after it"
    )
    print(
        f"cycle collections in the {args.after:.0f} s after it: {collecting * 1000:.0f} ms in all"
    )
    print(f"one full collection then (the loop stopped throughout): {full * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
