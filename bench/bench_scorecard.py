"""Benchmark: `build_scorecard` over a trace log against the JSON-parse floor.

Generates a synthetic trace log of N rows (default 1,000,000) in a temp dir, each row of
realistic size (4 actions with observations, a verifier verdict with probes), then measures:

  (a) floor: read the file line by line and `json.loads` each line (the faster of binary and
      text mode is taken, so the floor is the hardest one to beat);
  (b) scorecard: `build_scorecard(iter_trace_dicts(path))`, the same path `sre-agent
      scorecard` takes.

Each is run 3 times; the best time counts. Prints a markdown table row and writes JSON to
`bench/results/scorecard.json`. Goal: the scorecard within 2x of the floor.

    uv run python bench/bench_scorecard.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from sre_agent.scoring import build_scorecard
from sre_agent.traces import TRACE_SCHEMA_VERSION, iter_trace_dicts

SCENARIOS = ["stale_lockfile", "bad_env_config", "readiness_probe_fail", "port_mismatch",
             "disk_full", "config_syntax_error", "dependency_down", "permission_denied",
             "slow_response", "healthy_noop", "corrupted_data_store"]
COMMANDS = [("svc status", False, "LOW"), ("svc logs app -n 40", False, "LOW"),
            ("cat etc/service.conf", False, "LOW"), ("rm -f run/app.lock", True, "MEDIUM"),
            ("svc restart app", True, "MEDIUM"), ("sed -i 's/9001/9000/' etc/service.conf",
                                                  True, "MEDIUM")]
LOG_LINE = "2025-01-31T12:00:00 ERROR lock file run/app.lock is held by pid 4242, refusing to start"


def make_row(i: int, rng: random.Random, t0: float) -> dict:
    scenario = SCENARIOS[i % len(SCENARIOS)]
    simulated = rng.random() < 0.5
    up = rng.random() < 0.7
    started = t0 + i * 0.5
    actions = []
    for step in range(1, 5):
        cmd, mutating, risk = COMMANDS[rng.randrange(len(COMMANDS))]
        actions.append({
            "step": step, "tool": "terminal", "command": cmd, "path": None, "risk": risk,
            "model_risk": risk, "decision": "allow", "reasons": ["read-only"] if not mutating
            else ["changes service state"], "mutating": mutating,
            "observation": "\n".join([LOG_LINE] * rng.randint(1, 4)), "exit_code": 0,
            "started_at": started + step, "duration_s": 0.3,
        })
    probes = [{"attempt": a, "at": started + 10 + a, "url": "http://127.0.0.1:18080/health",
               "status": 200 if up else 503, "latency_ms": 2.5, "ok": up, "error": None}
              for a in (1, 2, 3)]
    return {
        "schema_version": TRACE_SCHEMA_VERSION, "run_id": f"run-{i:08d}",
        "started_at": started, "ended_at": started + 20, "incident_started_at": started - 1,
        "scenario": scenario, "seed": i % 7, "incident_id": f"inc-{i}",
        "incident_text": f"{scenario} reported by the on-call pager for instance {i % 97}",
        "mode": "baseline" if i % 2 else "optimized", "strategy_source": "skills",
        "skill_id": scenario.replace("_", "-"), "skill_version": "1", "route_confidence": 0.9,
        "model": "runbook" if simulated else "openai/gpt-4o-mini", "simulated": simulated,
        "sandbox_backend": "local", "worker": None, "steps": len(actions), "actions": actions,
        "tokens_in": 0 if simulated else rng.randint(2000, 9000),
        "tokens_out": 0 if simulated else rng.randint(200, 900),
        "cost_usd": 0.0 if simulated else rng.random() / 100, "duration_s": 20.0,
        "claimed_fixed": up or rng.random() < 0.1, "escalated": False,
        "claim_text": "restarted the app after removing the stale lock",
        "service_up": up, "verdict": {"healthy": up, "probes": probes, "ground_truth_ok": up,
                                      "ground_truth_detail": "", "reason": "3 probes"},
        "ttm_s": 12.0 + rng.random() * 30 if up else None,
        "status": "fixed" if up else "not_fixed", "reason": "", "highest_risk": "MEDIUM",
        "blocked_actions": 0, "confirmed_actions": 0, "rejected_actions": 0, "extra": {},
    }


def generate(path: Path, rows: int) -> None:
    rng = random.Random(7)
    t0 = time.time() - rows
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            fh.write(json.dumps(make_row(i, rng, t0), separators=(",", ":")) + "\n")


def floor_binary(path: Path) -> int:
    n = 0
    loads = json.loads
    with path.open("rb") as fh:
        for line in fh:
            loads(line)
            n += 1
    return n


def floor_text(path: Path) -> int:
    n = 0
    loads = json.loads
    with path.open("r", encoding="utf-8") as fh:
        for line in fh:
            loads(line)
            n += 1
    return n


def scorecard(path: Path) -> int:
    card = build_scorecard(iter_trace_dicts(path), "skill")
    return card.total_runs


def best_of(fn, path: Path, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(path)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "scorecard.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sre-bench-") as tmp:
        path = Path(tmp) / "trace_log.jsonl"
        t = time.perf_counter()
        generate(path, args.rows)
        gen_s = time.perf_counter() - t
        size = path.stat().st_size
        assert scorecard(path) == args.rows, "scorecard did not count every row"
        floor_b = best_of(floor_binary, path, args.repeats)
        floor_t = best_of(floor_text, path, args.repeats)
        floor_s = min(floor_b, floor_t)
        card_s = best_of(scorecard, path, args.repeats)
    ratio = card_s / floor_s
    result = {
        "rows": args.rows, "file_bytes": size, "avg_row_bytes": round(size / args.rows),
        "generate_s": round(gen_s, 2), "repeats": args.repeats,
        "floor_binary_s": round(floor_b, 3), "floor_text_s": round(floor_t, 3),
        "floor_s": round(floor_s, 3), "scorecard_s": round(card_s, 3),
        "floor_rows_per_s": round(args.rows / floor_s), "scorecard_rows_per_s":
        round(args.rows / card_s), "ratio": round(ratio, 3), "goal_ratio": 2.0,
        "python": sys.version.split()[0], "machine": platform.machine(),
        "platform": platform.platform(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("| rows | avg row bytes | floor rows/s | scorecard rows/s | ratio (goal <= 2.0) |")
    print("|---|---|---|---|---|")
    print(f"| {args.rows:,} | {result['avg_row_bytes']:,} | {result['floor_rows_per_s']:,} | "
          f"{result['scorecard_rows_per_s']:,} | {ratio:.2f} |")
    print(f"results written to {args.out}", file=sys.stderr)
    return 0 if ratio <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
