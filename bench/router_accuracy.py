"""Router accuracy on the labelled incident sets, and the cost of routing one text.

    uv run python bench/router_accuracy.py             # tuning splits (train, dev*) + latency
    uv run python bench/router_accuracy.py --misses    # also every miss of the tuning splits
    uv run python bench/router_accuracy.py --heldout   # also the held-out splits (reporting)
    uv run python bench/router_accuracy.py --grid      # leave-one-split-out parameter grid

Accuracy: top-1 over in-catalogue texts, correct abstention over out-of-catalogue texts and
wrong picks, for the splits in `tests/data/router/` against the loaded catalogue
(`sre_agent.skills.evaluate`). The held-out splits (`heldout` ... `heldout5`) are
only routed when asked for, and their misses are never printed: they are for reporting, not tuning
(tests/data/router/README.md). A split is evaluated without its own texts among the
router's example voters (`evaluate`), so the tuning splits measure the others' help.

Grid (`--grid`, tuning splits only): each split evaluated with the other tuning splits voting,
over a grid of the vote's parameters and the notice factor (the router's decision recomputed
from cached features; the current values must reproduce `evaluate`, checked), and nested: the
point best on all splits but one, scored on that one. How the parameters are chosen
(tests/data/router/README.md).

Latency: CPU time (`time.process_time`, robust to a loaded machine) per text, once the index
is built, against a floor measured in the same run on the same texts: a plain regex
tokenisation (lower-case and split on non-alphanumerics) and a dict lookup per word. Also the
one-off cost of building the index and the slowest single text.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sre_agent.skills import load_catalog  # noqa: E402
from sre_agent.skills import router as _router  # noqa: E402
from sre_agent.skills.alerts import routing_text  # noqa: E402
from sre_agent.skills.evaluate import evaluate, load_rows, splits  # noqa: E402
from sre_agent.skills.examples import (  # noqa: E402
    AGREE_SHARE,
    NEIGHBOURS,
    NONE_MARGIN,
    NONE_WEIGHT,
    ExampleIndex,
    shipped_examples,
)
from sre_agent.skills.indexcache import _CACHE as _INDEX_CACHE  # noqa: E402
from sre_agent.skills.masks import not_an_incident  # noqa: E402
from sre_agent.skills.router import route  # noqa: E402

DATA = ROOT / "tests" / "data" / "router"
TUNING, HELD_OUT = splits(DATA)
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


# The grid: threshold, neighbours, "none" weight, "none" margin, agreement share, notice factor.
GRID = ((0.30, 0.33, 0.35, 0.38, 0.40), (6, 8, 10, 12, 15), (1.25, 1.5, 1.75), (-0.2, -0.1, 0.0),
        (0.6, 0.7, 0.8, 0.9, 1.01), (0.3, 0.35, 0.4, 0.5))
Params = tuple[float, int, float, float, float, float]


def _features(catalog, splits: dict[str, list]) -> dict[str, list[dict]]:
    """Per text of each split, what the router's decision depends on, with the split's own
    texts out of the voters: the lexical candidates, the confidence before the notice factor,
    the notice flag and the vote's shares for each k of the grid."""
    ids = set(catalog.ids())
    lexical = _router._index_for(catalog)
    pool = shipped_examples()
    reads = {e.text: _router._Query.read(routing_text(e.text).text).terms() for e in pool}
    out: dict[str, list[dict]] = {}
    for split, rows in splits.items():
        texts = {r.text for r in rows}
        voters = [e for e in pool if e.text not in texts]
        index = ExampleIndex([reads[e.text] for e in voters], [e.label(ids) for e in voters],
                             [e.text for e in voters])
        feats = []
        for row in rows:
            read = routing_text(row.text)
            f: dict = {"target": row.target(ids), "accept": row.accept, "cands": []}
            query = _router._Query.read(read.text) if not read.resolved else None
            cands = lexical.score(query) if query else []
            if cands:
                runner = cands[1].score if len(cands) > 1 else 0.0
                conf = _router.confidence(cands[0].score, runner)
                if not cands[0].triggers:
                    conf *= _router.NO_TRIGGER_FACTOR
                terms = query.terms()
                f.update(cands=[c.skill for c in cands], conf=conf,
                         notice=not_an_incident(read.text), known=cands[0].skill in index.known,
                         votes={k: index.vote(terms, k).shares for k in GRID[1]})
            feats.append(f)
        out[split] = feats
    return out


def _decide(f: dict, p: Params) -> str | None:
    """The router's decision (route + _second_opinion) for one text under parameters p."""
    threshold, k, none_weight, none_margin, agree, notice_factor = p
    cands = f["cands"]
    if not cands:
        return None
    conf = round(f["conf"] * (notice_factor if f["notice"] else 1.0), 4)
    if conf < threshold:
        return None
    pick = cands[0]
    if not f["known"]:
        return pick
    shares = f["votes"][k]
    label, share = shares[0] if shares else (None, 0.0)
    if label and label != pick and share >= agree and label in cands:
        pick = label
    return None if none_weight * dict(shares).get(None, 0.0) - conf > none_margin else pick


def _figures(feats: dict[str, list[dict]], p: Params) -> dict[str, tuple[float, float]]:
    out = {}
    for split, fs in feats.items():
        counts = [0, 0, 0, 0]  # in catalogue, right; outside, abstained
        for f in fs:
            got, target = _decide(f, p), f["target"]
            right = got == target or (target is not None and got in f["accept"])
            counts[0 if target is not None else 2] += 1
            counts[1 if target is not None else 3] += right
        out[split] = (counts[1] / max(counts[0], 1), counts[3] / max(counts[2], 1))
    return out


def grid_report(catalog, splits: dict[str, list]) -> str:
    """Every split evaluated with the others voting, over the grid; the objective is the mean
    over splits of (top-1 + abstention) / 2. Also nested: the point best on all splits but one,
    scored on that one. The current values must reproduce `evaluate` (checked)."""
    feats = _features(catalog, splits)
    current: Params = (_router.DEFAULT_THRESHOLD, NEIGHBOURS, NONE_WEIGHT, NONE_MARGIN,
                       AGREE_SHARE, _router.NOT_AN_INCIDENT_FACTOR)
    if current[1] not in GRID[1]:
        raise SystemExit(f"NEIGHBOURS={NEIGHBOURS} is not in the grid")
    table = {p: _figures(feats, p) for p in itertools.product(*GRID)}
    table[current] = _figures(feats, current)
    for split, rows in splits.items():
        result = evaluate(rows, catalog)
        if (result.top1, result.abstention) != table[current][split]:
            raise SystemExit(f"the grid's decision drifted from the router's on {split}")

    def objective(figs: dict[str, tuple[float, float]], leave: str = "") -> float:
        kept = [(a + b) / 2 for s, (a, b) in figs.items() if s != leave]
        return sum(kept) / len(kept)

    def line(p: Params) -> str:
        figs = table[p]
        return (f"{p}: objective {objective(figs):.4f}  " +
                "  ".join(f"{s} {a:.3f}/{b:.3f}" for s, (a, b) in figs.items()))

    ranked = sorted(table, key=lambda p: -objective(table[p]))
    lines = [f"current {line(current)}", "best of the grid:"] + [line(p) for p in ranked[:5]]
    lines.append("nested: the point best on the other splits, scored on each")
    for split in splits:
        best = max(ranked, key=lambda p: objective(table[p], split))
        a, b = table[best][split]
        ca, cb = table[current][split]
        lines.append(f"  {split}: {best} -> {a:.3f}/{b:.3f}; current -> {ca:.3f}/{cb:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every train and dev miss")
    parser.add_argument("--heldout", action="store_true",
                        help="also route the held-out splits (figures only, never misses)")
    parser.add_argument("--repeats", type=int, default=5, help="latency repeats (default 5)")
    parser.add_argument("--grid", action="store_true",
                        help="only the leave-one-split-out grid over the vote's parameters")
    args = parser.parse_args(argv)

    catalog = load_catalog()
    if args.grid:  # tuning splits only: held-out splits never choose a parameter
        print(grid_report(catalog, {s: load_rows(DATA / f"{s}.jsonl") for s in TUNING}))
        return 0
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
