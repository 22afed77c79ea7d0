"""Experiment: does a learned linear text classifier help the router on text it has never seen?

    uv run python bench/router_linear.py               # LOSO, tuning splits
    uv run python bench/router_linear.py --rounds      # + the fresh rounds
    uv run python bench/router_linear.py --fresh dev10 # a new split, once

This experiment is how the classifier earned its place: the router now ships it
(`sre_agent.skills.linear`, the `fuse` family at (0.2, 0.75) weighted by the router's
confidence); scikit-learn is a dependency of the project (imported only to train).

The classifier: TF-IDF over word 1-2grams and char_wb 2-5grams (sublinear tf) of the text as
the router reads it (`alerts.routing_text`: an Alertmanager payload becomes prose), lower-cased,
and a LinearSVC (C=0.5, one-vs-rest) over the skills plus "none" (no runbook covers it), trained
on the router's examples less the evaluated split's texts (as `evaluate` leaves them out of the
voters). Its scores become pseudo-probabilities, softmax(3 x decision value). Three ways:

- (a) the router as it is (`route` with the split's texts out of the voters);
- (b) the classifier alone (argmax; "none" abstains; a resolved alert or empty text abstains);
- (c) combined, two families of two parameters each, the family and its parameters chosen
  nested (for each evaluated split, the best pooled (top-1 + abstention) / 2 on the others):
  `gate (tau, m)`: the classifier decides (a skill or "none") when the router abstained or its
  confidence is below tau and the classifier's top-two margin is at least m, else the router;
  `fuse (lam, mu)`: argmax over labels of P(label) + lam x [label is the router's decision],
  times mu when that decision is to abstain.

Two evaluations:

- LOSO over the tuning splits with today's router (each split routed with the others voting
  and training the classifier). The router's masks, signatures and synonyms were written from
  these splits' misses, so its figures here (~99%) are memory, not fresh-text accuracy.
- `--rounds`: the fresh rounds. Each of dev3 ... dev7 was first routed by the router as it was
  when the split arrived (the commit that added it to the examples, before any change made from
  its misses: `git archive` of that commit into a temporary directory, routed in a subprocess),
  with the splits that existed then voting; the classifier trains on the same older splits. This
  reproduces the fresh figures recorded in those commits (dev5 78.7% / 90.7%, dev6 90.1% /
  94.9%, dev7 89.2% / 93.4%) and is the fair comparison of a hand-tuned and a learned component
  on text neither has seen. Parameters are chosen by leave-one-round-out.

`--fresh SPLIT` routes one new tuning split (never a held-out one: refused) that is not among
the shipped examples, with today's router, the classifier trained on every shipped example and
the combination fixed in advance at `FRESH_PARAMS` (chosen on the rounds), and prints a/b/c.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# No sys.path insert of this checkout's src: the `--dump` subprocess must import the archived
# tree given by PYTHONPATH (before site-packages, where this checkout is installed editable).
from sre_agent.skills import load_catalog
from sre_agent.skills.alerts import routing_text
from sre_agent.skills.evaluate import load_rows
from sre_agent.skills.examples import shipped_examples
from sre_agent.skills.router import route

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "router"
# split -> the commit that added it to the router's examples, before any change from its misses
ROUNDS = {"dev3": "aca4d5c", "dev4": "a8e5119", "dev5": "701b032", "dev6": "6926528",
          "dev7": "8079996", "dev8": "917e991", "dev9": "ce19b4d"}
C = 0.5
TEMPERATURE = 3.0
HARD = ("empty incident text", "the alert is resolved", "no skills in catalogue")
TAUS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: whatever the router's confidence
MARGINS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.01)  # 1.01: never (the router alone)
LAMS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.01)
MUS = (0.0, 0.25, 0.5, 0.75, 1.0)
FRESH_PARAMS = ("fuse", (0.1, 1.0))  # the best on all five fresh rounds (in-sample there)


# --- dump: runs under whichever sre_agent is importable (today's, or an archived commit's) ---

def dump(out: Path, split_files: list[Path]) -> None:
    """Route each split with its own texts out of the voters; write per row what the router
    decided and how it read the text, and the example pool, as JSON."""
    catalog = load_catalog()
    ids = set(catalog.ids())
    pool = shipped_examples()
    res: dict = {"ids": sorted(ids), "splits": {},
                 "pool": [{"read": routing_text(e.text).text, "text": e.text,
                           "label": e.label(ids)} for e in pool]}
    for path in split_files:
        rows = load_rows(path)
        texts = {r.text for r in rows}
        voters = tuple(e for e in pool if e.text not in texts)
        dumped = []
        for r in rows:
            x = route(r.text, catalog, examples=voters)
            dumped.append({"text": r.text, "read": routing_text(r.text).text,
                           "target": r.target(ids), "accept": r.accept, "skill": x.skill,
                           "conf": x.confidence,
                           "hard": bool(x.abstained_reason
                                        and x.abstained_reason.startswith(HARD))})
        res["splits"][path.stem] = dumped
    out.write_text(json.dumps(res), encoding="utf-8")


def dump_at(commit: str, split: str, out: Path) -> dict:
    """`dump` of one split under the router of `commit` (archived into a temporary tree)."""
    with tempfile.TemporaryDirectory(prefix="router-linear-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = dict(os.environ, PYTHONPATH=str(Path(tmp) / "src"), SRE_AGENT_HOME=tmp)
        subprocess.run([sys.executable, __file__, "--dump", str(out), str(DATA / f"{split}.jsonl")],
                       env=env, check=True)
    return json.loads(out.read_text(encoding="utf-8"))


# --- the classifier -----------------------------------------------------------------------

class Linear:
    def __init__(self, docs: list[str], labels: list[str | None]) -> None:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        self._hstack = hstack
        self.word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                    token_pattern=r"(?u)\b\w[\w.-]*\w\b|\b\w\b")
        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                    min_df=2)
        x = [d.lower() for d in docs]
        features = hstack([self.word.fit_transform(x), self.char.fit_transform(x)]).tocsr()
        self.model = LinearSVC(C=C).fit(features, [label or "none" for label in labels])

    def proba(self, docs: list[str]) -> list[dict[str, float]]:
        import numpy as np

        x = [d.lower() for d in docs]
        features = self._hstack([self.word.transform(x), self.char.transform(x)]).tocsr()
        s = self.model.decision_function(features)
        e = np.exp(TEMPERATURE * (s - s.max(1, keepdims=True)))
        p = e / e.sum(1, keepdims=True)
        return [dict(zip(self.model.classes_, map(float, row), strict=True)) for row in p]


def classify(dumped: dict, split: str) -> list[dict[str, float]]:
    rows = dumped["splits"][split]
    texts = {r["text"] for r in rows}
    train = [d for d in dumped["pool"] if d["text"] not in texts]
    model = Linear([d["read"] for d in train], [d["label"] for d in train])
    return model.proba([r["read"] for r in rows])


# --- decisions and figures ------------------------------------------------------------------

def _top(p: dict[str, float]) -> tuple[str | None, float]:
    (c, pc), (_, p2) = sorted(p.items(), key=lambda kv: -kv[1])[:2]
    return (None if c == "none" else c), pc - p2


def alone(r: dict, p: dict[str, float]) -> str | None:
    return None if r["hard"] else _top(p)[0]


def gate(r: dict, p: dict[str, float], prm: tuple[float, float]) -> str | None:
    tau, m = prm
    if r["hard"]:
        return r["skill"]
    c, margin = _top(p)
    if (r["skill"] is None or r["conf"] < tau) and margin >= m:
        return c
    return r["skill"]


def fuse(r: dict, p: dict[str, float], prm: tuple[float, float]) -> str | None:
    lam, mu = prm
    if r["hard"]:
        return r["skill"]
    scores = dict(p)
    mine = r["skill"] or "none"
    scores[mine] = scores.get(mine, 0.0) + lam * (mu if r["skill"] is None else 1.0)
    c = max(scores, key=scores.__getitem__)
    return None if c == "none" else c


def wfuse(r: dict, p: dict[str, float], prm: tuple[float, float]) -> str | None:
    """As `fuse`, the router's decision weighted by its confidence: lam x confidence for a
    pick, lam x mu for an abstention."""
    lam, mu = prm
    if r["hard"]:
        return r["skill"]
    scores = dict(p)
    mine = r["skill"] or "none"
    scores[mine] = scores.get(mine, 0.0) + lam * (mu if r["skill"] is None else r["conf"])
    c = max(scores, key=scores.__getitem__)
    return None if c == "none" else c


FAMILIES = {"gate": (gate, list(itertools.product(TAUS, MARGINS))),
            "fuse": (fuse, list(itertools.product(LAMS, MUS))),
            "wfuse": (wfuse, list(itertools.product(LAMS, MUS)))}
Counts = tuple[int, int, int, int, int]  # in catalogue, right; outside, abstained; wrong picks


def counts(rows: list[dict], got: list[str | None]) -> Counts:
    n_in = right_in = n_out = right_out = wrong = 0
    for r, g in zip(rows, got, strict=True):
        ok = g == r["target"] or (r["target"] is not None and g in r["accept"])
        if r["target"] is None:
            n_out, right_out = n_out + 1, right_out + ok
        else:
            n_in, right_in = n_in + 1, right_in + ok
        wrong += (not ok) and g is not None
    return n_in, right_in, n_out, right_out, wrong


def add(a: Counts, b: Counts) -> Counts:
    return tuple(x + y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def objective(c: Counts) -> float:
    return (c[1] / max(c[0], 1) + c[3] / max(c[2], 1)) / 2


def fmt(c: Counts) -> str:
    return (f"{c[1]}/{c[0]} = {c[1] / max(c[0], 1):.3f}  {c[3]}/{c[2]} = "
            f"{c[3] / max(c[2], 1):.3f}  w{c[4]}")


def table(sets: dict[str, tuple[list[dict], list[dict[str, float]]]], title: str) -> str:
    """a/b/c per set and pooled; c's family and parameters chosen on the other sets."""
    memo: dict = {}

    def c_counts(name: str, fam: str, prm: tuple[float, float]) -> Counts:
        if (name, fam, prm) not in memo:
            fn = FAMILIES[fam][0]
            rows, probs = sets[name]
            got = [fn(r, p, prm) for r, p in zip(rows, probs, strict=True)]
            memo[name, fam, prm] = counts(rows, got)
        return memo[name, fam, prm]

    def pooled(names: list[str], fam: str, prm: tuple[float, float]) -> Counts:
        total: Counts = (0, 0, 0, 0, 0)
        for n in names:
            total = add(total, c_counts(n, fam, prm))
        return total

    choices = [(f, prm) for f, (_, grid) in FAMILIES.items() for prm in grid]
    lines = [f"== {title}: top-1 in catalogue, abstention outside, wrong picks",
             f"{'split':8} {'(a) router':34} {'(b) classifier':34} {'(c) combined':34} chosen"]
    tot = {k: (0, 0, 0, 0, 0) for k in "abc"}
    for name, (rows, probs) in sets.items():
        others = [n for n in sets if n != name]
        fam, prm = max(choices, key=lambda ch: objective(pooled(others, *ch)))
        a = counts(rows, [r["skill"] for r in rows])
        b = counts(rows, [alone(r, p) for r, p in zip(rows, probs, strict=True)])
        c = c_counts(name, fam, prm)
        tot = {"a": add(tot["a"], a), "b": add(tot["b"], b), "c": add(tot["c"], c)}
        lines.append(f"{name:8} {fmt(a):34} {fmt(b):34} {fmt(c):34} {fam} {prm}")
    lines.append(f"{'pooled':8} {fmt(tot['a']):34} {fmt(tot['b']):34} {fmt(tot['c']):34}")
    best = max(choices, key=lambda ch: objective(pooled(list(sets), *ch)))
    lines.append(f"best on all (in-sample, for reference): {best[0]} {best[1]} -> "
                 f"{fmt(pooled(list(sets), *best))}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", action="store_true", help="also the fresh rounds dev3..dev7")
    parser.add_argument("--fresh", metavar="SPLIT", help="route one new tuning split, a/b/c")
    parser.add_argument("--dump", nargs="+", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dump:
        dump(Path(args.dump[0]), [Path(p) for p in args.dump[1:]])
        return 0
    # imported here: `--dump` runs under an archived tree, whose evaluate may predate splits()
    from sre_agent.skills.evaluate import splits

    tuning = splits(DATA)[0]
    if args.fresh and (args.fresh not in tuning
                       or not (DATA / f"{args.fresh}.jsonl").is_file()):
        print(f"--fresh {args.fresh}: not a new tuning split of {DATA}", file=sys.stderr)
        return 2
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("scikit-learn is missing: uv run --with scikit-learn python bench/router_linear.py",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="router-linear-") as tmp:
        out = Path(tmp) / "today.json"
        if args.fresh:
            today = _dump_today(out, [DATA / f"{args.fresh}.jsonl"])
            rows = today["splits"][args.fresh]
            known = {d["text"] for d in today["pool"]} & {r["text"] for r in rows}
            if known:
                print(f"--fresh {args.fresh}: {len(known)} of its texts are shipped examples "
                      "(memory, not fresh text)", file=sys.stderr)
                return 2
            model = Linear([d["read"] for d in today["pool"]], [d["label"] for d in today["pool"]])
            probs = model.proba([r["read"] for r in rows])
            fam, prm = FRESH_PARAMS
            fn = FAMILIES[fam][0]
            print(f"{args.fresh}: (a) router {fmt(counts(rows, [r['skill'] for r in rows]))}")
            print(f"{args.fresh}: (b) classifier "
                  f"{fmt(counts(rows, [alone(r, p) for r, p in zip(rows, probs, strict=True)]))}")
            print(f"{args.fresh}: (c) {fam} {prm} "
                  f"{fmt(counts(rows, [fn(r, p, prm) for r, p in zip(rows, probs, strict=True)]))}")
            return 0
        start = time.process_time()
        today = _dump_today(out, [DATA / f"{s}.jsonl" for s in tuning])
        sets = {s: (today["splits"][s], classify(today, s)) for s in tuning}
        print(table(sets, "LOSO over the tuning splits, today's router"))
        print(f"({time.process_time() - start:.0f} s CPU)")
        if args.rounds:
            sets = {}
            for split, commit in ROUNDS.items():
                dumped = dump_at(commit, split, Path(tmp) / f"{split}.json")
                sets[split] = (dumped["splits"][split], classify(dumped, split))
            print(table(sets, "fresh rounds: each split first routed by the router of its day, "
                              "the classifier trained on the splits of that day"))
    return 0


def _dump_today(out: Path, files: list[Path]) -> dict:
    subprocess.run([sys.executable, __file__, "--dump", str(out), *map(str, files)], check=True)
    return json.loads(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    raise SystemExit(main())
