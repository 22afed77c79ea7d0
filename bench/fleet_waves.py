"""Section 11: where a two-wave batch at concurrency 32 loses its time on this machine.

Section 9's `--incidents 64 --concurrency 32` level mixes scenarios of 5-51 s, so part of its
gap to the ideal is the batch's tail (slots idle at the end). Here every incident is the same
scenario, so the tail is gone and the ideal is exactly concurrency x the rate of that scenario
run alone: what is left is contention. Each latency (3 s per completion, then 6 s: the same CPU
work spread over twice the time) runs three incidents alone and then 64 at concurrency 32. Per
wave (the first 32 runs to start, the last 32), the mean of each phase from the trace rows;
the machine's CPU per incident after the fan-out's warm-up (/proc/stat); and, sampled from
outside every 0.25 s, the CPU of every process the run started, by what it is (the sampler
sees a process's CPU as of its last sample: the short-lived ones, a `curl` or a `bash` of a few
ms, are mostly missed and their share is in "not seen").

    uv run python -m bench --waves           # ~12 min
"""

from __future__ import annotations

import json
import os
import statistics
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import log, table
from bench.fleet_probe import HZ, FanoutRun, cpu_busy, mean

SCENARIO = "stale_lockfile"
LATENCIES = [3.0, 6.0]
CONCURRENCY, INCIDENTS = 32, 64
ALONE = 3  # incidents one at a time; the median is the alone time (the first one is cold)
PHASES = ["sandbox_start_s", "triage_s", "agent_s", "verify_s", "teardown_s"]
def _kind(cmdline: list[str]) -> str:
    """What a process is, from its command line: the script it runs (a supervisor's command
    line also holds its programs' command lines, in its JSON config), else its program."""
    if "sre_agent.cli.main" in cmdline or any(a.endswith("/sre-agent") for a in cmdline[:2]):
        return "orchestrator"
    script = next((a.rsplit("/", 1)[-1] for a in cmdline[1:4] if a.endswith(".py")), None)
    kinds = {"app.py": "target service (app.py)", "kv.py": "data store (kv.py)",
             "supervisor.py": "supervisor", "svc.py": "svc (supervisor client)",
             "holder.py": "namespace holder"}
    if script:
        return kinds.get(script, f"python {script}")
    name = cmdline[0].rsplit("/", 1)[-1] if cmdline and cmdline[0] else ""
    return name or "(no command line: a kernel thread, or gone before it was read)"


class ProcessCpu:
    """CPU seconds of every process that appears while running, by kind (last value seen)."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.every_s, self.seen = every_s, {}
        self.before = {key for key, _ in self._scan()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _scan(self) -> list[tuple[tuple[str, str], tuple[list[str], float]]]:
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                key = (pid, fields[19])  # pid + start time: a reused pid is another process
                cpu = (int(fields[11]) + int(fields[12])) / HZ
                cmd = [] if key in self.seen else (
                    Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                    .split("\0"))
            except (OSError, IndexError, ValueError):
                continue
            out.append((key, (cmd, cpu)))
        return out

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            for key, (cmd, cpu) in self._scan():
                if key in self.before:
                    continue
                if key in self.seen:
                    self.seen[key] = (self.seen[key][0], cpu)
                else:
                    self.seen[key] = (_kind(cmd), cpu)

    def __enter__(self) -> ProcessCpu:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def by_kind(self) -> dict[str, dict[str, float]]:
        cpu, count = Counter(), Counter()
        for kind, seconds in self.seen.values():
            cpu[kind] += seconds
            count[kind] += 1
        return {k: {"cpu_s": cpu[k], "processes": count[k]} for k in cpu}


def _rows(trace: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]
    except OSError:
        return []


def _waves(rows: list[dict[str, Any]], slots: int) -> dict[str, dict[str, float]]:
    rows = sorted(rows, key=lambda r: r.get("started_at") or 0.0)
    waves = {"first": rows[:slots], "second": rows[slots:]} if slots > 1 else {"alone": rows}
    out = {}
    for name, group in waves.items():
        phases = [(r.get("extra") or {}).get("phases") or {} for r in group]
        simulated = [((r.get("extra") or {}).get("simulated_latency") or {}).get("total_s", 0.0)
                     for r in group]
        out[name] = {"runs": len(group), "run_s": mean([r["duration_s"] or 0.0 for r in group]),
                     **{k: mean([p.get(k, 0.0) for p in phases]) for k in PHASES},
                     "model_wait_s": mean(simulated)}
    return out


def run_level(latency: float, incidents: int, concurrency: int) -> dict[str, Any]:
    log(f"waves: {incidents} x {SCENARIO} at concurrency {concurrency}, {latency:g}s per "
        "completion")
    probe = FanoutRun(["--incidents", str(incidents), "--concurrency", str(concurrency),
                       "--simulate", "--llm-latency-s", str(latency), "--sandbox", "ns",
                       "--scenarios", SCENARIO], label=f"c{concurrency}")
    sampler = ProcessCpu()
    try:
        with sampler:
            busy0 = cpu_busy()[0] / HZ  # busy: everything but idle and iowait
            out = probe.run(timeout_s=1800)
            busy1 = cpu_busy()[0] / HZ
        rows = _rows(probe.trace)
    finally:
        probe.cleanup()
    s = out["summary"]
    done = [i for i in out["incidents"] if i.get("state") == "done"]
    warm = s.get("warm_up_s") or 0.0
    wall = s.get("wall_s") or out["process_wall_s"]
    kinds = sampler.by_kind()
    seen = sum(v["cpu_s"] for v in kinds.values())
    return {
        "latency_s": latency, "concurrency": concurrency, "incidents": incidents,
        "done": len(done), "lost": s.get("lost"), "correct": s.get("correct"),
        "wall_s": wall, "warm_up_s": warm, "per_min": len(done) / wall * 60 if wall else 0.0,
        "waves": _waves(rows, concurrency),
        "alone_median_s": statistics.median([r["duration_s"] or 0.0 for r in rows] or [0.0]),
        # the whole machine while the process ran (warm-up included): the other work on a
        # shared machine is in it too, so it is an upper bound on what the run used
        "machine_cpu_s": busy1 - busy0, "kinds": kinds, "seen_cpu_s": seen,
    }


def run(quick: bool) -> dict[str, Any]:
    levels = []
    for latency in LATENCIES[:1] if quick else LATENCIES:
        alone = run_level(latency, ALONE, 1)
        batch = run_level(latency, INCIDENTS, CONCURRENCY)
        alone_s = alone["alone_median_s"]
        ideal = CONCURRENCY * 60 / alone_s if alone_s else 0.0
        batch.update(alone_s=alone_s, ideal_per_min=ideal,
                     efficiency=batch["per_min"] / ideal if ideal else 0.0)
        levels.append({"alone": alone, "batch": batch})
    return {"scenario": SCENARIO, "levels": levels}


def markdown(r: dict[str, Any]) -> str:
    levels = r["levels"]
    lines = [
        f"`sre-agent fanout --incidents {INCIDENTS} --concurrency {CONCURRENCY} --simulate "
        f"--llm-latency-s L --scenarios {r['scenario']}`, `ns` sandboxes, one fresh process and "
        "SQLite queue each; ideal = concurrency x 60 / the same scenario's run alone (the median "
        f"of {ALONE} incidents one at a time, same latency; the wave rows below: means). One "
        "scenario, so no tail: the gap is contention. 6 s per completion does the same CPU "
        "work over twice the time.",
        table(["latency (s)", "done/accepted", "lost", "wall (s)", "incidents/min",
               "ideal/min", "of ideal", "alone (s)", "machine CPU-s per incident"],
              [[lv["batch"]["latency_s"], f"{lv['batch']['done']}/{lv['batch']['incidents']}",
                lv["batch"]["lost"], lv["batch"]["wall_s"], lv["batch"]["per_min"],
                lv["batch"]["ideal_per_min"], f"{lv['batch']['efficiency']:.0%}",
                lv["batch"]["alone_s"],
                lv["batch"]["machine_cpu_s"] / max(1, lv["batch"]["done"])]
               for lv in levels]),
        "\nPer wave, mean seconds (the first wave's 32 runs start together; the model's "
        "simulated wait is in agent_s):",
        table(["latency (s)", "wave", "runs", "run", "sandbox start", "triage", "agent",
               "of it model wait", "verify", "teardown"],
              [[lv[k]["latency_s"], name, w["runs"], w["run_s"], w["sandbox_start_s"],
                w["triage_s"], w["agent_s"], w["model_wait_s"], w["verify_s"], w["teardown_s"]]
               for lv in levels for k in ("alone", "batch")
               for name, w in lv[k]["waves"].items()]),
    ]
    rows = []
    for lv in levels:
        b = lv["batch"]
        n = max(1, b["done"])
        for kind, v in sorted(b["kinds"].items(), key=lambda kv: -kv[1]["cpu_s"])[:8]:
            rows.append([b["latency_s"], kind, v["processes"] / n, v["cpu_s"] / n])
        rows.append([b["latency_s"], "not seen (short-lived processes, kernel, other work)",
                     "", max(0.0, b["machine_cpu_s"] - b["seen_cpu_s"]) / n])
    lines += ["\nCPU per incident of the batch by process kind (orchestrator: the two fan-out "
              "processes, warm-up included):",
              table(["latency (s)", "process kind", "processes per incident",
                     "CPU-s per incident"], rows)]
    return "\n".join(lines)


__all__ = ["markdown", "run", "run_level"]
