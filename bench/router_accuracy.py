"""Router accuracy on the labelled incident sets, and the cost of routing one text.

    uv run python bench/router_accuracy.py             # tuning splits (train, dev*) + latency
    uv run python bench/router_accuracy.py --misses    # also every miss of the tuning splits
    uv run python bench/router_accuracy.py --heldout   # also the held-out splits (reporting)

Accuracy: top-1 over in-catalogue texts, correct abstention over out-of-catalogue texts and
wrong picks, for the splits in `tests/data/router/` against the loaded catalogue
(`sre_agent.skills.evaluate`). The held-out splits (`heldout` ... `heldout5`) are
only routed when asked for, and their misses are never printed: they are for reporting, not tuning
(tests/data/router/README.md). A split is evaluated without its own texts among the
router's example voters (`evaluate`), so the tuning splits measure the others' help.

Latency: CPU time (`time.process_time`, robust to a loaded machine) per text, once the index
is built, against a floor measured in the same run on the same texts: a plain regex
tokenisation (lower-case and split on non-alphanumerics) and a dict lookup per word. Also the
one-off cost of building the index and the slowest single text.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sre_agent.skills import load_catalog  # noqa: E402
from sre_agent.skills.evaluate import evaluate, load_rows  # noqa: E402
from sre_agent.skills.indexcache import _CACHE as _INDEX_CACHE  # noqa: E402
from sre_agent.skills.router import route  # noqa: E402

DATA = ROOT / "tests" / "data" / "router"
TUNING = ("train", "dev", "dev2", "dev3", "dev4", "dev5")
HELD_OUT = ("heldout", "heldout2", "heldout3", "heldout4", "heldout5")
_FLOOR_RE = re.compile(r"[a-z0-9]+")


def _per_text(fn, texts: list[str], repeats: int) -> float:
    """Best-of-3 CPU seconds per text of `fn` over `texts` repeated `repeats` times."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeats):
            for text in texts:
                fn(text)
        best = min(best, (time.process_time() - start) / (repeats * len(texts)))
    return best


def _slowest(fn, texts: list[str]) -> tuple[float, str]:
    """The slowest single text (best of 5 runs each), CPU seconds."""
    worst, which = 0.0, ""
    for text in texts:
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            fn(text)
            best = min(best, time.process_time() - start)
        if best > worst:
            worst, which = best, text
    return worst, which


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every train and dev miss")
    parser.add_argument("--heldout", action="store_true",
                        help="also route the held-out splits (figures only, never misses)")
    parser.add_argument("--repeats", type=int, default=5, help="latency repeats (default 5)")
    args = parser.parse_args(argv)

    catalog = load_catalog()
    print(f"catalogue: {len(catalog.skills)} skills")
    texts: list[str] = []
    splits = TUNING + (HELD_OUT if args.heldout else ())
    for split in splits:
        path = DATA / f"{split}.jsonl"
        if not path.is_file():
            print(f"{split:8} missing: {path}")
            continue
        rows = load_rows(path)
        texts += [r.text for r in rows]
        result = evaluate(rows, catalog)
        print(f"{split:8} {len(rows):4} texts: {result.summary()}")
        if split in TUNING and args.misses:
            print(result.details())

    _INDEX_CACHE.clear()
    start = time.process_time()
    route(texts[0], catalog)
    build = time.process_time() - start  # the lexical index and the examples' index
    vocab = {w: i for i, w in enumerate(sorted({w for t in texts
                                                 for w in _FLOOR_RE.findall(t.lower())}))}

    def floor(text: str) -> int:
        return sum(vocab.get(w, 0) for w in _FLOOR_RE.findall(text.lower()))

    route_s = _per_text(lambda t: route(t, catalog), texts, args.repeats)
    floor_s = _per_text(floor, texts, args.repeats)
    worst, which = _slowest(lambda t: route(t, catalog), texts)
    print(f"index build (once per catalogue): {build * 1e3:.1f} ms CPU")
    print(f"route one text ({len(texts)} texts): {route_s * 1e6:.1f} us CPU mean; floor "
          f"(regex split + dict lookup per word): {floor_s * 1e6:.2f} us; "
          f"ratio {route_s / floor_s:.0f}x")
    print(f"slowest text: {worst * 1e6:.0f} us CPU ({len(which)} chars)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
