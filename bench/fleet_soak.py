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


def adjusted_trend(samples: list[dict[str, Any]], key: str, scale: float) -> dict[str, float]:
    """The measure with the in-flight incidents' share taken out: Poisson intake puts more or
    fewer sandboxes in flight at any moment, and each holds memory, files, threads and
    processes while it runs. Least squares of the measure on the sandboxes in flight gives the
    share per sandbox; the rest (what a leak would grow) is judged over time."""
    xs = [float(s["sandboxes"]) for s in samples]
    ys = [s[key] * scale for s in samples]
    if len(samples) < 3:
        return {"per_sandbox": float("nan"), "first_quarter": float("nan"),
                "last_quarter": float("nan"), "slope_per_h": float("nan")}
    mx, my = mean(xs), mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    per = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0
    rest = [(s["t"], y - per * x) for s, x, y in zip(samples, xs, ys, strict=True)]
    quarter = max(1, len(rest) // 4)
    return {"per_sandbox": per, "first_quarter": mean([v for _, v in rest[:quarter]]),
            "last_quarter": mean([v for _, v in rest[-quarter:]]),
            "slope_per_h": slope_per_hour(rest)}


def _rows_per_incident(probe: FanoutRun) -> dict[str, int]:
    counts: dict[str, int] = {}
    if probe.trace.is_file():
        for line in probe.trace.read_text().splitlines():
            key = json.loads(line).get("extra", {}).get("queue", {}).get("id", "?")
            counts[key] = counts.get(key, 0) + 1
    return {"rows": sum(counts.values()), "incidents": len(counts),
            "max_per_incident": max(counts.values(), default=0)}


def _flat(trend: dict[str, dict[str, float]], duration_s: float) -> bool:
    """No growth of memory or open files over the run beyond 10% (or 2); a drop is fine."""
    return all(trend[k]["slope_per_h"] * (duration_s / 3600) <=
               max(0.1 * abs(trend[k]["first_quarter"]), 2) for k in ("rss_kb", "fds"))


def markdown(r: dict[str, Any]) -> str:
    s = r["summary"]
    t = r["trend"]
    t_base = (r.get("baseline") or {}).get("t", 0.0)
    steady = [x for x in r.get("samples", [])
              if t_base + STEADY_FROM_S <= x["t"] <= t_base + r["duration_s"]]
    scales = {"pss_kb": 1 / 1024, "rss_kb": 1 / 1024, "fds": 1, "threads": 1, "processes": 1}
    adj = {k: adjusted_trend(steady, k, v) for k, v in scales.items()}
    flat, raw_flat = _flat(adj, r["duration_s"]), _flat(t, r["duration_s"])
    last = (r.get("samples") or [{}])[-1]
    names = {"pss_kb": "PSS, process tree (MiB)", "rss_kb": "RSS, orchestrator tree (MiB)",
             "fds": "open files, orchestrator", "threads": "threads, orchestrator",
             "processes": "processes, tree"}
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
        "\nThe same with the in-flight incidents' share taken out (least squares of each measure "
        "on the sandboxes in flight: Poisson intake has more or fewer in flight at any moment; "
        "what is left is what a leak would grow):",
        table(["measure", "per sandbox in flight", "rest, first quarter", "rest, last quarter",
               "rest, slope per hour"],
              [[names[k], adj[k]["per_sandbox"], adj[k]["first_quarter"],
                adj[k]["last_quarter"], adj[k]["slope_per_h"]] for k in names]),
        f"\nAfter intake ended and the fan-out drained: {last.get('sandboxes', '?')} sandboxes, "
        f"{last.get('fds', '?')} open files, {last.get('threads', '?')} threads, "
        f"{last.get('processes', '?')} processes, PSS {last.get('pss_kb', 0) / 1024:.0f} MiB.",
        f"\n**Verdict:** memory and open files {'flat' if flat else 'NOT flat'} once the "
        f"in-flight share is out ({'flat' if raw_flat else 'not flat'} raw); "
        f"{s.get('lost', '?')} lost; "
        f"{'one trace row per incident' if r['one_row_each'] else 'trace rows do not match'}.",
    ]
    return "\n".join(lines)


__all__ = ["markdown", "run"]
