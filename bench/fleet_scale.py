"""Section 9: the fleet at scale, with simulated LLM latency.

`sre-agent fanout --simulate --llm-latency-s 3` (every completion of the offline model takes
3 s, like a real LLM) at concurrency 1, 4, 16, 32 and 64, each level a fresh process with a
fresh SQLite queue and 2 x concurrency incidents drawn round-robin from the built-in scenarios
(concurrency 1 runs each scenario once), and one long level (10 x 32 incidents at concurrency
32) where the batch's last wave weighs less. Throughput is compared with the ideal:
concurrency x the rate of one incident at a time *for that level's own mix* (each incident's
scenario timed alone at concurrency 1). Two waves of incidents that differ in length cannot
keep every slot busy to the end, so each level also shows the best share any dispatcher in the
queue's order (severity, then arrival) could reach: its incidents laid onto the slots with
their alone times, no contention. Sampled from outside every second: memory of the process tree
(PSS), threads of the orchestrator, processes of the tree, open files, sandboxes in flight,
the machine's load; CPU from the children's rusage (the orchestrator and what it waited for).

    uv run python -m bench --fleet           # ~15 min (quick: levels 1, 4, 16, 32)
"""

from __future__ import annotations

import heapq
from typing import Any

from bench.common import log, table
from bench.fleet_probe import SCENARIOS, FanoutRun, mean

LEVELS = [1, 4, 16, 32, 64]
LONG = (32, 320)  # (concurrency, incidents): ten waves
LATENCY_S = 3.0
TARGET = 0.8  # of the ideal throughput


def _incidents(level: int) -> int:
    return len(SCENARIOS) if level == 1 else 2 * level


def schedule_bound_s(durations: list[float], slots: int) -> float:
    """The makespan of `durations`, dispatched in this order onto `slots` free slots, each to
    the first slot to free (what the fan-out does), with nothing slowing anything down."""
    free = [0.0] * slots
    heapq.heapify(free)
    for d in durations:
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free) if durations else 0.0


def run_level(level: int, incidents: int, label: str = "") -> dict[str, Any]:
    log(f"fleet: {incidents} incidents at concurrency {level}, {LATENCY_S:g}s per completion")
    probe = FanoutRun(["--incidents", str(incidents), "--concurrency", str(level),
                       "--simulate", "--llm-latency-s", str(LATENCY_S), "--sandbox", "ns",
                       "--scenarios", ",".join(SCENARIOS)], label=label or f"c{level}")
    try:
        out = probe.run(timeout_s=1800)
    finally:
        probe.cleanup()
    s = out["summary"]
    done = [i for i in out.pop("incidents") if i.get("state") == "done"]
    wall = s.get("wall_s") or out["process_wall_s"]
    base, peak = out["baseline"] or {}, out["peak"]
    if not base.get("pss_kb"):  # the sample at "accepted" came back empty: the last one
        samples = out["samples"]  # before the first sandbox is the same moment, near enough
        first = next((i for i, x in enumerate(samples) if x["sandboxes"] > 0), len(samples))
        before = [x for x in samples[:first] if x["pss_kb"]]
        base = before[-1] if before else {}
    busy = [x for x in out["samples"] if x["sandboxes"] > 0]
    out.update({
        "level": level, "label": label or str(level), "incidents": incidents,
        "done": len(done), "wall_s": wall,
        # the queue's order (when each started) and what each was, for the ideal and the bound
        "order": [(i["scenario"], i["duration_s"] or 0.0)
                  for i in sorted(done, key=lambda i: i.get("started_at") or 0.0)],
        "per_min": len(done) / wall * 60 if wall else 0.0,
        "run_s_mean": mean([i["duration_s"] or 0.0 for i in done]),
        "pss_base_mb": base.get("pss_kb", 0) / 1024, "pss_peak_mb": peak["pss_kb"] / 1024,
        "rss_peak_mb": peak["rss_kb"] / 1024,
        "threads_base": base.get("threads", 0), "threads_peak": peak["threads"],
        "procs_base": base.get("processes", 0), "procs_peak": peak["processes"],
        "fds_peak": peak["fds"], "in_flight_peak": s.get("peak_in_flight", 0),
        "load_mean": mean([x["load1"] for x in busy]),
        # CPU after the warm-up (the SDK import, before the first run, is not per incident)
        "cores_used": (out["cpu_s"] - base.get("self_cpu_s", 0.0)) / wall if wall else 0.0,
        "cpu_s_per_incident": (out["cpu_s"] - base.get("self_cpu_s", 0.0)) / max(1, len(done)),
        "self_cores": (out["self_cpu_s"] - base.get("self_cpu_s", 0.0)) / wall if wall else 0,
    })
    out["samples"] = out["samples"][::5]  # keep the JSON small
    return out


def run(quick: bool) -> dict[str, Any]:
    levels = LEVELS[:-1] if quick else LEVELS
    results = {str(level): run_level(level, _incidents(level)) for level in levels}
    if not quick:
        results["long"] = run_level(*LONG, label=f"{LONG[0]} ({LONG[1]} incidents)")
    alone = {scenario: d for scenario, d in results["1"]["order"]}  # each scenario alone
    for r in results.values():
        times = [alone.get(scenario, d) for scenario, d in r["order"]]
        mean_alone = sum(times) / len(times) if times else 0.0
        r["alone_s_mean"] = mean_alone
        r["ideal_per_min"] = r["level"] * 60 / mean_alone if mean_alone else 0.0
        r["efficiency"] = r["per_min"] / r["ideal_per_min"] if r["ideal_per_min"] else 0.0
        bound = schedule_bound_s(times, r["level"])
        r["bound_share"] = (len(times) / bound * 60 / r["ideal_per_min"]
                            if bound and r["ideal_per_min"] else 0.0)
    return {"latency_s": LATENCY_S, "scenarios": SCENARIOS, "levels": results,
            "saturation": saturation(results)}


def saturation(levels: dict[str, Any]) -> str:
    """Where throughput stops following concurrency, and what ran out there."""
    below = [r for k, r in levels.items()
             if k != "long" and r["level"] > 1 and r["efficiency"] < TARGET]
    if not below:
        top = max(levels.values(), key=lambda r: r["level"])
        return (f"no saturation up to concurrency {top['level']}: "
                f"{top['efficiency']:.0%} of ideal there")
    first = min(below, key=lambda r: r["level"])
    reasons = []
    cores = first["machine_busy_share"]
    if cores > 0.85:
        reasons.append(f"the machine's CPUs were {cores:.0%} busy (ours: "
                       f"{first['cores_used']:.2f} cores, {first['cpu_s_per_incident']:.1f} "
                       "CPU-s per incident; the rest: other load, load average "
                       f"{first['load_mean']:.1f})")
    if first["self_cores"] > 0.7:
        reasons.append(f"the orchestrator's Python threads used {first['self_cores']:.2f} of "
                       "one core: the GIL is near its limit (one process runs every "
                       "conversation)")
    if not reasons:
        reasons.append("each run took longer under load (mean run "
                       f"{first['run_s_mean']:.0f}s against {levels['1']['run_s_mean']:.0f}s "
                       "alone) without a resource at its limit in the samples")
    return (f"below {TARGET:.0%} of ideal from concurrency {first['level']} "
            f"({first['efficiency']:.0%}): " + "; ".join(reasons))


def markdown(r: dict[str, Any]) -> str:
    levels = r["levels"]
    lines = [
        f"`sre-agent fanout --simulate --llm-latency-s {r['latency_s']:g}` (each completion "
        f"of the offline model waits {r['latency_s']:g} s, as a real LLM would), one fresh "
        "process and SQLite queue per level, 2 x concurrency incidents round-robin over the "
        "built-in scenarios (each scenario once at concurrency 1; the long level: "
        f"{LONG[1]} at {LONG[0]}), `ns` sandboxes. Ideal = concurrency x the rate of one "
        "incident at a time for the level's own mix (each incident's scenario as timed alone "
        "at concurrency 1: mean alone below). Best in queue order = the share any dispatcher "
        "taking the incidents in the queue's order (severity, then arrival) could reach with "
        "nothing slowing anything down: with two waves of runs of 5-50 s, slots run idle at "
        "the end. Memory: PSS of the whole process tree (sandboxes "
        "included), sampled every second; CPU: rusage of the fan-out and what it waited for; "
        "load: the machine's 1-minute load average while runs were in flight (this machine is "
        "shared: other work ran too).",
        table(["concurrency", "done/accepted", "lost", "wall (s)", "incidents/min", "ideal/min",
               "of ideal", "best in queue order", "run (s, mean)", "alone (s, mean)",
               "CPU cores used", "CPU-s per incident",
               "orchestrator cores", "machine busy", "load avg"],
              [[v.get("label", v["level"]), f"{v['done']}/{v['incidents']}",
                v["summary"].get("lost"), v["wall_s"], v["per_min"], v["ideal_per_min"],
                f"{v['efficiency']:.0%}", f"{v.get('bound_share', 0):.0%}",
                v["run_s_mean"], v.get("alone_s_mean", 0.0), v["cores_used"],
                v["cpu_s_per_incident"], v["self_cores"],
                f"{v['machine_busy_share']:.0%}", v["load_mean"]]
               for v in levels.values()]),
        "\nResources at the peak of each level (per in-flight incident = (peak - before the "
        "first run) / peak in flight):",
        table(["concurrency", "peak in flight", "PSS before (MiB)", "PSS peak (MiB)",
               "PSS per in-flight (MiB)", "RSS peak (MiB)", "threads (orchestrator)",
               "threads per in-flight", "processes (tree)", "processes per in-flight",
               "open files (peak)"],
              [[v.get("label", v["level"]), v["in_flight_peak"], v["pss_base_mb"], v["pss_peak_mb"],
                (v["pss_peak_mb"] - v["pss_base_mb"]) / max(1, v["in_flight_peak"]),
                v["rss_peak_mb"], f"{v['threads_base']} -> {v['threads_peak']}",
                (v["threads_peak"] - v["threads_base"]) / max(1, v["in_flight_peak"]),
                f"{v['procs_base']} -> {v['procs_peak']}",
                (v["procs_peak"] - v["procs_base"]) / max(1, v["in_flight_peak"]),
                v["fds_peak"]] for v in levels.values()]),
        f"\n**Where it saturates:** {r['saturation']}.",
    ]
    return "\n".join(lines)


__all__ = ["LEVELS", "LONG", "markdown", "run", "run_level", "saturation", "schedule_bound_s"]
