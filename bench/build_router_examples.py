"""Build the router's shipped examples (`src/sre_agent/skills/data/examples.jsonl`) from the
tuning splits of `tests/data/router/` (train, dev, dev2 ... dev7): text, expected, fallback.
Held-out splits never go in (tests/skills/test_examples.py checks both).

    uv run python bench/build_router_examples.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("train", "dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7")
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


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(rows())} examples from {', '.join(SPLITS)}")
