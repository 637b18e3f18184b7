"""The cost of rendering alerts from the templates, per channel kind.

Prints a table; not a test. Usage: python bench/render.py [--alerts 5000]

Each kind renders N single alerts (a 600-character summary with two matched terms to
highlight, two other outlets) and N/50 digests of 50 articles. CPU seconds are the process's
own (time.process_time), so they hold up better than wall time on a busy machine.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from watcher.models import OtherSource, PendingAlert
from watcher.notify.render import KINDS, Style, render, render_batch


def alert(i: int) -> PendingAlert:
    summary = (
        f"Story {i}: the prosecutor of the International Criminal Court said on Tuesday that "
        "the investigation into Venezuela would continue <despite> objections & appeals. "
    ) * 4
    return PendingAlert(
        id=i,
        channel="c",
        attempts=0,
        title=f"ICC keeps Venezuela inquiry open ({i}) <!channel> *x*",
        link=f"https://news.example/story/{i}?utm_source=rss&x=1",
        feed_name="World Desk",
        published=datetime(2026, 11, 4, 10, 0, tzinfo=UTC),
        summary=summary,
        rules=(
            (
                "icc",
                "ICC investigation of Venezuela",
                ("International Criminal Court", "Venezuela"),
            ),
        ),
        also=(
            OtherSource("Wire", f"Copy {i}", f"https://wire.example/{i}", None),
            OtherSource("Mirror", f"Copy {i}", None, None),
        ),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=5_000)
    n = ap.parse_args().alerts
    alerts = [alert(i) for i in range(n)]
    head = ("kind", "alerts", "µs/alert", "CPU µs", "digests", "ms/digest of 50")
    print("{:<6} {:>7} {:>9} {:>7}   {:>7} {:>16}".format(*head))
    for kind in KINDS:
        style = Style(kind)
        render(alerts[0], style)  # load the templates before timing
        wall, cpu = time.perf_counter(), time.process_time()
        for a in alerts:
            render(a, style)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        digests = [alerts[i : i + 50] for i in range(0, n, 50)]
        dwall = time.perf_counter()
        for d in digests:
            render_batch(d, "digest", style)
        dwall = time.perf_counter() - dwall
        print(
            f"{kind:<6} {n:>7} {wall / n * 1e6:>9.1f} {cpu / n * 1e6:>7.1f}   {len(digests):>7} "
            f"{dwall / len(digests) * 1e3:>16.2f}"
        )


if __name__ == "__main__":
    main()
