"""Section 6: fan-out throughput and speed-up over concurrency 1, where the time goes, memory.

A child process runs `run_fanout` with `LocalExecutor`s (the in-process path of `sre-agent
fanout --simulate`) at concurrency 1, 2, 4, 8 in turn, the same incident list at each level
(round-robin over the catalogue, seeds fixed), after one warm-up run that imports the SDK.
From the trace rows of each level: the mean of every phase per incident (sandbox start, agent,
verification, ...). The process tree's memory is sampled during each level (`bench.memory`).
`bench/bench_fanout.py` (the CLI-level benchmark, one subprocess per level) is called for
concurrency 1 and 8 as a cross-check, in the full run only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import bench_fanout
from bench.common import ROOT, VENV_PY, log, table
from bench.memory import TreeSampler, tree_memory
from sre_agent.fleet import FanoutRequest, LocalExecutor, run_fanout
from sre_agent.runs import RunRequest, run_incident
from sre_agent.traces import iter_trace_dicts

LEVELS = [1, 2, 4, 8]
PHASES = ["sandbox_start_s", "llm_setup_s", "conversation_setup_s", "agent_s", "verify_s",
          "teardown_s", "trace_write_s"]


def _child(incidents: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="sre-bench-fo-"))
    t = time.perf_counter()
    run_incident(RunRequest(scenario="healthy_noop", simulate=True, sandbox="ns",
                            trace_log=None))
    warm_up_s = time.perf_counter() - t
    out: dict[str, Any] = {"incidents": incidents, "warm_up_s": warm_up_s, "levels": {}}
    for level in LEVELS:
        log(f"fanout: {incidents} incidents at concurrency {level}")
        trace = tmp / f"c{level}.jsonl"
        template = RunRequest(scenario="*", simulate=True, sandbox="ns", trace_log=trace)
        req = FanoutRequest(incidents=incidents, concurrency=level, template=template,
                            scorecard_every_s=0, seed=1)
        before = tree_memory(os.getpid())
        with TreeSampler(os.getpid()) as sampler:
            t = time.perf_counter()
            summary = run_fanout(req, [LocalExecutor(capacity=level)])
            wall = time.perf_counter() - t
        rows = list(iter_trace_dicts(trace))
        phases = {k: sum(r["extra"]["phases"].get(k, 0.0) for r in rows) / max(1, len(rows))
                  for k in PHASES}
        action_s = [sum(a.get("duration_s") or 0.0 for a in r["actions"]) for r in rows]
        out["levels"][level] = {
            "wall_s": wall, "summary_wall_s": summary.wall_s, "rows": len(rows),
            "fixed": summary.fixed, "correct": summary.correct, "errors": summary.errors,
            "incidents_per_min": len(rows) / wall * 60, "peak_in_flight": summary.peak_in_flight,
            "ttm_p50_s": summary.ttm_p50_s, "ttm_p95_s": summary.ttm_p95_s,
            "run_s_mean": sum(r["duration_s"] or 0.0 for r in rows) / max(1, len(rows)),
            "phases_mean_s": phases, "action_s_mean": sum(action_s) / max(1, len(action_s)),
            "mem_before": before, "mem_peak": sampler.peak,
        }
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def _cli_crosscheck(incidents: int) -> dict[str, Any]:
    os.environ["PATH"] = f"{VENV_PY.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    results = {}
    for level in (1, 8):
        log(f"fanout: CLI cross-check (bench/bench_fanout.py) {incidents}x{level}")
        try:
            results[level] = bench_fanout.run_one(incidents, level, "ns")
        except Exception as exc:  # a failed cross-check is reported, not fatal
            results[level] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def run(quick: bool) -> dict[str, Any]:
    incidents = 4 if quick else 8
    proc = subprocess.run([str(VENV_PY), "-m", "bench.fanout_scaling", "--child",
                           str(incidents)], cwd=ROOT, text=True, capture_output=True,
                          timeout=1200)
    sys.stderr.write(proc.stderr[-3000:] if proc.returncode else "")
    if proc.returncode != 0:
        raise RuntimeError(f"fanout child failed: {proc.stderr[-1500:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["cli_crosscheck"] = None if quick else _cli_crosscheck(incidents)
    return out


def markdown(r: dict[str, Any]) -> str:
    levels = r["levels"]
    base = levels["1"]["wall_s"]
    rows = []
    for level, v in levels.items():
        p = v["phases_mean_s"]
        rows.append([level, f"{v['correct']}/{v['rows']}", v["wall_s"], base / v["wall_s"],
                     v["incidents_per_min"], v["run_s_mean"], p["sandbox_start_s"],
                     p["agent_s"], v["action_s_mean"], p["verify_s"],
                     v["ttm_p50_s"] or float("nan")])
    lines = [f"{r['incidents']} simulated incidents per level (round-robin over the catalogue, "
             f"same seeds), `LocalExecutor`, one process; SDK imported once before "
             f"({r['warm_up_s']:.1f} s warm-up run, not counted). One run per level (time-boxed).",
             table(["concurrency", "correct", "wall (s)", "speed-up vs 1", "incidents/min",
                    "run (s, mean)", "sandbox start", "agent", "of it tool cmds", "verify",
                    "ttm p50"], rows)]
    rows = []
    for level, v in levels.items():
        peak, before = v["mem_peak"], v["mem_before"]
        rows.append([level, peak["processes"], peak["rss_kb"] / 1024, peak["pss_kb"] / 1024,
                     before["pss_kb"] / 1024,
                     (peak["pss_kb"] - before["pss_kb"]) / 1024 / int(level)])
    lines.append("\nMemory of the fan-out process tree during each level (sampled every 0.2 s):")
    lines.append(table(["concurrency", "processes (peak)", "RSS sum (MiB)", "PSS sum (MiB)",
                        "PSS before (MiB)", "added PSS per incident in flight (MiB)"], rows))
    cc = r.get("cli_crosscheck")
    if cc:
        parts = []
        for level, v in cc.items():
            if "error" in v:
                parts.append(f"C={level}: {v['error']}")
            else:
                parts.append(f"C={level}: {v.get('correct')}/{v.get('total')} correct, wall "
                             f"{v.get('wall_s')} s (+{v.get('warm_up_s')} s SDK warm-up), "
                             f"{v.get('incidents_per_min')} incidents/min, leftover processes "
                             f"{len(v.get('leftover_processes') or [])}, exit {v.get('exit_code')}")
        lines.append("\nCLI cross-check, `bench/bench_fanout.py` (`sre-agent fanout` in a "
                     "subprocess): " + "; ".join(parts))
    return "\n".join(lines)


if __name__ == "__main__" and "--child" in sys.argv:
    sys.stdout.write(json.dumps(_child(int(sys.argv[-1])), default=str) + "\n")
