"""Section 5: scorecard throughput against the JSON-parse floor (runs bench_scorecard.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.common import RESULTS, ROOT, VENV_PY, log, table


def run(quick: bool, rows: int | None = None) -> dict[str, Any]:
    rows = rows or (100_000 if quick else 300_000)
    repeats = 1 if quick else 2
    out = RESULTS / "scorecard.json"
    log(f"scorecard: {rows:,} rows, best of {repeats}")
    proc = subprocess.run([str(VENV_PY), str(ROOT / "bench" / "bench_scorecard.py"),
                           "--rows", str(rows), "--repeats", str(repeats), "--out", str(out)],
                          cwd=ROOT, text=True, capture_output=True, timeout=1200)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"bench_scorecard failed: {proc.stderr[-1500:]}")
    sys.stderr.write(proc.stderr)
    return json.loads(out.read_text())


def markdown(r: dict[str, Any]) -> str:
    return (f"`bench/bench_scorecard.py`: a synthetic trace log of {r['rows']:,} rows "
            f"({r['file_bytes'] / 2**20:,.0f} MiB), best of {r['repeats']}. Floor = read + "
            f"`json.loads` per line (faster of binary/text mode). Goal: ratio <= 2.\n"
            + table(["rows", "avg row bytes", "floor (s)", "scorecard (s)", "floor rows/s",
                     "scorecard rows/s", "ratio"],
                    [[r["rows"], r["avg_row_bytes"], r["floor_s"], r["scorecard_s"],
                      r["floor_rows_per_s"], r["scorecard_rows_per_s"], r["ratio"]]]))
