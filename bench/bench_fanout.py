"""Benchmark: `sre-agent fanout --simulate` throughput at several concurrency levels.

Each configuration runs the real CLI in a subprocess (the offline runbook policy through the
real OpenHands SDK, each incident in its own ns sandbox), with its own runtime directory and
trace log, and then checks that no process is left under that runtime directory. Reports wall
time (from the first dispatch; the SDK import is the separate `warm_up_s`), incidents per
minute, TTM p50/p95 and correctness (remediable fixed, decoy escalated, no-op untouched).

    uv run python bench/bench_fanout.py                       # 24@6, then 10 at C=1,2,4,8
    uv run python bench/bench_fanout.py --configs 8x1 8x4     # NxC pairs

Writes `bench/results/fanout.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sre_agent.sandbox.procs import processes_under

HERE = Path(__file__).resolve().parent
DEFAULT = ["24x6", "10x1", "10x2", "10x4", "10x8"]


def run_one(incidents: int, concurrency: int, sandbox: str) -> dict:
    runtime = Path(tempfile.mkdtemp(prefix="fo-", dir="/tmp"))
    trace = runtime.parent / f"{runtime.name}.jsonl"
    env = {**os.environ, "SRE_AGENT_RUNTIME_DIR": str(runtime)}
    cmd = ["sre-agent", "fanout", "--incidents", str(incidents), "--concurrency",
           str(concurrency), "--simulate", "--sandbox", sandbox, "--json",
           "--trace-log", str(trace), "--scorecard-every", "0"]
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    process_s = time.perf_counter() - t
    left = processes_under(runtime)
    summary = json.loads(done.stdout) if done.stdout.strip() else {}
    rows = sum(1 for _ in trace.open()) if trace.exists() else 0
    shutil.rmtree(runtime, ignore_errors=True)
    trace.unlink(missing_ok=True)
    keys = ("total", "fixed", "escalated", "nothing_to_fix", "not_fixed", "errors", "lost",
            "correct", "wall_s", "warm_up_s", "incidents_per_min", "ttm_p50_s", "ttm_p95_s",
            "peak_in_flight")
    return {"incidents": incidents, "concurrency": concurrency, "exit_code": done.returncode,
            "process_s": round(process_s, 2), "trace_rows": rows, "leftover_processes": left,
            **{k: summary.get(k) for k in keys},
            "wrong": [(i["scenario"], i["seed"], i["status"], i["error"] or i["reason"])
                      for i in summary.get("incidents", []) if not i["correct"]],
            "stderr_tail": done.stderr[-400:] if done.returncode else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=DEFAULT, help="NxC pairs")
    parser.add_argument("--sandbox", default="ns")
    args = parser.parse_args()
    results = []
    for config in args.configs:
        n, c = (int(x) for x in config.split("x"))
        r = run_one(n, c, args.sandbox)
        results.append(r)
        print(f"| {n:>3} | {c} | {r['wall_s']}s | {r['incidents_per_min']}/min | correct "
              f"{r['correct']}/{r['total']} | lost {r['lost']} | TTM p50 {r['ttm_p50_s']} p95 "
              f"{r['ttm_p95_s']} | leftovers {len(r['leftover_processes'])} | exit "
              f"{r['exit_code']} |", flush=True)
    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "platform": platform.platform()},
           "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "sandbox": args.sandbox,
           "results": results}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "fanout.json").write_text(json.dumps(out, indent=1) + "\n")
    ok = all(r["exit_code"] == 0 and r["correct"] == r["total"] and not r["leftover_processes"]
             for r in results)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
