"""Build the router's shipped examples (`src/sre_agent/skills/data/examples.jsonl`) from the
tuning splits of `tests/data/router/` (train, dev, dev2 ... dev8): text, expected, fallback,
and the learned classifier trained on them under the whole catalogue's labels
(`src/sre_agent/skills/data/linear.npz`, `sre_agent.skills.linear`). Held-out splits never go
in (tests/skills/test_examples.py checks both, and that the classifier is current).

    uv run python bench/build_router_examples.py
"""

from __future__ import annotations

import json
from pathlib import Path

from sre_agent.skills import load_catalog
from sre_agent.skills.alerts import routing_text
from sre_agent.skills.evaluate import splits
from sre_agent.skills.examples import load_examples
from sre_agent.skills.linear import MODEL_FILE, train

ROOT = Path(__file__).resolve().parents[1]
SPLITS = splits(ROOT / "tests" / "data" / "router")[0]
OUT = ROOT / "src" / "sre_agent" / "skills" / "data" / "examples.jsonl"


def rows() -> list[dict[str, object]]:
    out = []
    for split in SPLITS:
        path = ROOT / "tests" / "data" / "router" / f"{split}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                item = {"text": row["text"], "expected": row["expected"]}
                if row.get("fallback"):
                    item["fallback"] = row["fallback"]
                out.append(item)
    return out


def render() -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows())


def build_classifier() -> str:
    """Train the classifier on the shipped examples (as `route` reads them, labelled against
    the whole catalogue) and write it next to them."""
    ids = set(load_catalog().ids())
    examples = load_examples(OUT)
    model = train([routing_text(e.text).text for e in examples], [e.label(ids) for e in examples])
    model.save(MODEL_FILE)
    return (f"{MODEL_FILE.relative_to(ROOT)}: {len(model.classes)} classes, "
            f"{model.weights.shape[0]} features, {MODEL_FILE.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(rows())} examples from {', '.join(SPLITS)}")
    print(build_classifier())
