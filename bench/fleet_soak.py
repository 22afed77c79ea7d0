"""Section 10: soak, continuous Poisson intake for 20 minutes with simulated LLM latency.

`sre-agent fanout --continuous --duration-s 1200 --arrival-rate R` (3 s per completion of
the offline model) in one fresh process; every 10 s its memory (PSS of the process tree, RSS
of the orchestrator), open files, threads, processes and sandboxes in flight are sampled from
outside. Flat means: no growth over the steady part (from 3 minutes in to the end of intake),
by least-squares slope and by first-quarter against last-quarter means. None lost: every
admitted incident ended with a result, and the trace log holds one row per incident.

    uv run python -m bench --soak            # ~22 min (quick: 5 minutes)
"""

from __future__ import annotations

import json
from typing import Any

from bench.common import log, table
from bench.fleet_probe import SCENARIOS, FanoutRun, mean, slope_per_hour

DURATION_S = 1200.0
RATE_PER_S = 0.2  # 12 incidents a minute: about two thirds of what concurrency 16 can take
CONCURRENCY = 16
QUEUE_SIZE = 64
LATENCY_S = 3.0
STEADY_FROM_S = 180.0


def run(quick: bool) -> dict[str, Any]:
    duration = 300.0 if quick else DURATION_S
    log(f"soak: {duration:.0f}s of Poisson intake at {RATE_PER_S}/s, concurrency "
        f"{CONCURRENCY}, {LATENCY_S:g}s per completion")
    probe = FanoutRun(["--continuous", "--duration-s", str(duration), "--arrival-rate",
                       str(RATE_PER_S), "--concurrency", str(CONCURRENCY), "--queue-size",
                       str(QUEUE_SIZE), "--simulate", "--llm-latency-s", str(LATENCY_S),
                       "--sandbox", "ns", "--scenarios", ",".join(SCENARIOS),
                       "--procs", "1"],  # one process: its memory and files are the measure
                      every_s=10.0, label="soak")
    try:
        out = probe.run(timeout_s=duration + 900)
        rows = _rows_per_incident(probe)
    finally:
        probe.cleanup()
    incidents = out.pop("incidents")
    base = out["baseline"] or {}
    t_base = base.get("t", 0.0)
    steady = [s for s in out["samples"]
              if t_base + STEADY_FROM_S <= s["t"] <= t_base + duration]
    quarter = max(1, len(steady) // 4)
    trend = {}
    for key, scale in (("pss_kb", 1 / 1024), ("rss_kb", 1 / 1024), ("fds", 1),
                       ("threads", 1), ("processes", 1)):
        points = [(s["t"], s[key] * scale) for s in steady]
        trend[key] = {"slope_per_h": slope_per_hour(points),
                      "first_quarter": mean([v for _, v in points[:quarter]]),
                      "last_quarter": mean([v for _, v in points[-quarter:]]),
                      "max": max((v for _, v in points), default=float("nan"))}
    states: dict[str, int] = {}
    for inc in incidents:
        states[inc.get("state", "?")] = states.get(inc.get("state", "?"), 0) + 1
    out.update({"duration_s": duration, "rate_per_s": RATE_PER_S, "concurrency": CONCURRENCY,
                "queue_size": QUEUE_SIZE, "latency_s": LATENCY_S, "trend": trend,
                "states": states, "rows": rows,
                "one_row_each": rows.get("incidents") == states.get("done")
                and rows.get("max_per_incident") == 1,
                "load_mean": mean([x["load1"] for x in steady])})
    return out


def _rows_per_incident(probe: FanoutRun) -> dict[str, int]:
    counts: dict[str, int] = {}
    if probe.trace.is_file():
        for line in probe.trace.read_text().splitlines():
            key = json.loads(line).get("extra", {}).get("queue", {}).get("id", "?")
            counts[key] = counts.get(key, 0) + 1
    return {"rows": sum(counts.values()), "incidents": len(counts),
            "max_per_incident": max(counts.values(), default=0)}


def markdown(r: dict[str, Any]) -> str:
    s = r["summary"]
    t = r["trend"]
    flat = all(t[k]["slope_per_h"] * (r["duration_s"] / 3600) <=  # growth; a drop is fine
               max(0.1 * abs(t[k]["first_quarter"]), 2) for k in ("rss_kb", "fds"))
    lines = [
        f"`sre-agent fanout --continuous --duration-s {r['duration_s']:.0f} --arrival-rate "
        f"{r['rate_per_s']} --concurrency {r['concurrency']} --queue-size {r['queue_size']} "
        f"--simulate --llm-latency-s {r['latency_s']:g}`, sampled every 10 s; steady part "
        f"from {STEADY_FROM_S:.0f} s to the end of intake (load average there "
        f"{r['load_mean']:.1f}; the machine is shared).",
        table(["arrivals", "admitted", "shed (queue full)", "done", "lost", "not started",
               "correct", "incidents/min", "TTM p50 (s)", "trace rows", "one row each"],
              [[s.get("arrivals"), s.get("total"), s.get("shed"), r["states"].get("done", 0),
                s.get("lost"), s.get("not_started"), s.get("correct"),
                s.get("incidents_per_min"), s.get("ttm_p50_s"), r["rows"]["rows"],
                "yes" if r["one_row_each"] else "NO"]]),
        "\nOver the steady part (slope by least squares):",
        table(["measure", "first quarter", "last quarter", "max", "slope per hour"],
              [["PSS, process tree (MiB)", t["pss_kb"]["first_quarter"],
                t["pss_kb"]["last_quarter"], t["pss_kb"]["max"], t["pss_kb"]["slope_per_h"]],
               ["RSS, orchestrator tree (MiB)", t["rss_kb"]["first_quarter"],
                t["rss_kb"]["last_quarter"], t["rss_kb"]["max"], t["rss_kb"]["slope_per_h"]],
               ["open files, orchestrator", t["fds"]["first_quarter"],
                t["fds"]["last_quarter"], t["fds"]["max"], t["fds"]["slope_per_h"]],
               ["threads, orchestrator", t["threads"]["first_quarter"],
                t["threads"]["last_quarter"], t["threads"]["max"],
                t["threads"]["slope_per_h"]],
               ["processes, tree", t["processes"]["first_quarter"],
                t["processes"]["last_quarter"], t["processes"]["max"],
                t["processes"]["slope_per_h"]]]),
        f"\n**Verdict:** memory and open files {'flat' if flat else 'NOT flat'}; "
        f"{s.get('lost', '?')} lost; "
        f"{'one trace row per incident' if r['one_row_each'] else 'trace rows do not match'}.",
    ]
    return "\n".join(lines)


__all__ = ["markdown", "run"]
