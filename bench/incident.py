"""Section 2: one offline incident end to end, broken down, against the scenario's floor.

Runs in a child process (`python -m bench.incident --child`) so that the first run is really
cold (the OpenHands SDK imported by it). Each run is `run_incident(RunRequest(scenario,
simulate=True, sandbox="ns"))`: the offline runbook policy through the real conversation.

The floor of a scenario is measured directly: start a sandbox, apply the known fix by hand
(the pack's known `fix`, run inside the sandbox), run the verifier with the same policy. Its
time-to-green is `first green probe - sandbox ready`, the same definition as `row.ttm_s`.
Harness overhead = warm ttm - floor ttm, same scenario and seed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, VENV_PY, log, median, table

FIXABLE = ["stale_lockfile", "bad_env_config", "readiness_probe_fail", "port_mismatch",
           "disk_full", "config_syntax_error", "dependency_down", "permission_denied",
           "slow_response"]
QUICK = ["stale_lockfile", "port_mismatch", "dependency_down"]


def _row_summary(row: Any, wall_s: float) -> dict[str, Any]:
    actions = [{"command": a.command or a.path or a.tool, "duration_s": a.duration_s or 0.0}
               for a in row.actions]
    action_s = sum(a["duration_s"] for a in actions)
    phases = dict(row.extra.get("phases", {}))
    agent_s = phases.get("agent_s", 0.0)
    restart_s = sum(a["duration_s"] for a in actions if "svc restart" in (a["command"] or ""))
    return {"scenario": row.scenario, "seed": row.seed, "status": row.status,
            "service_up": row.service_up, "ttm_s": row.ttm_s, "wall_s": wall_s,
            "duration_s": row.duration_s, "phases": phases, "steps": row.steps,
            "n_actions": len(actions), "action_s": round(action_s, 4),
            "restart_action_s": round(restart_s, 4),
            "agent_overhead_s": round(agent_s - action_s, 4),
            "per_step_overhead_s": round((agent_s - action_s) / max(1, len(actions)), 4),
            "probes": len(row.verdict.probes) if row.verdict else 0,
            "actions": actions}


def _floor(scenario: str, seed: int, policy: Any) -> dict[str, Any]:
    from sre_agent.incidents import fix_actions
    from sre_agent.sandbox import create_sandbox
    from sre_agent.sandbox.boot import apply

    sb = create_sandbox(scenario, seed, "ns")
    t = time.perf_counter()
    sb.start()
    start_s = time.perf_counter() - t
    try:
        t = time.perf_counter()
        for action in fix_actions(sb.incident):  # the pack's known fix, run inside
            apply(sb, action, sb.values(), "known fix")
        fix_s = time.perf_counter() - t
        t = time.perf_counter()
        verdict = sb.verify(policy)
        verify_s = time.perf_counter() - t
    finally:
        sb.teardown()
    ttm = (verdict.first_green_at - sb.timings.ready_at) if verdict.first_green_at else None
    return {"sandbox_start_s": start_s, "fix_s": fix_s, "verify_s": verify_s,
            "healthy": verdict.healthy, "ttm_s": ttm, "probes": len(verdict.probes)}


def child(quick: bool) -> dict[str, Any]:
    from sre_agent.runs import RunRequest, choose_strategy, run_incident

    scenarios = QUICK if quick else FIXABLE
    tmp = Path(tempfile.mkdtemp(prefix="sre-bench-inc-")) / "trace.jsonl"

    def one(scenario: str, seed: int) -> dict[str, Any]:
        t = time.perf_counter()
        row = run_incident(RunRequest(scenario=scenario, seed=seed, simulate=True,
                                      sandbox="ns", trace_log=tmp))
        return _row_summary(row, time.perf_counter() - t)

    t = time.perf_counter()
    choose_strategy(incident_text="stale lock file, service will not start", mode="optimized",
                    source="skills", skill_id=None)
    route_cold_s = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(20):
        choose_strategy(incident_text="stale lock file, service will not start",
                        mode="optimized", source="skills", skill_id=None)
    route_warm_s = (time.perf_counter() - t) / 20
    log("incident: cold run")
    cold = one("stale_lockfile", 1)
    warm_repeat = [one("stale_lockfile", 1) for _ in range(2 if quick else 3)]
    warm: dict[str, Any] = {}
    floors: dict[str, Any] = {}
    policy = RunRequest(scenario="stale_lockfile").verify
    for scenario in scenarios:
        log(f"incident: warm {scenario} + floor")
        warm[scenario] = one(scenario, 2) if scenario != "stale_lockfile" else one(scenario, 2)
        floors[scenario] = _floor(scenario, 2, policy)
    shutil.rmtree(tmp.parent, ignore_errors=True)
    return {"route_cold_s": route_cold_s, "route_warm_s": route_warm_s, "cold": cold,
            "warm_repeat": warm_repeat, "warm": warm, "floor": floors,
            "verify_policy": policy.model_dump()}


def run(quick: bool) -> dict[str, Any]:
    proc = subprocess.run([str(VENV_PY), "-m", "bench.incident", "--child"]
                          + (["--quick"] if quick else []), cwd=ROOT, text=True,
                          capture_output=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"incident child failed: {proc.stderr[-1500:]}")
    sys.stderr.write(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _slowest(w: dict[str, Any]) -> str:
    top = max(w["actions"], key=lambda a: a["duration_s"], default=None)
    if not top:
        return ""
    command = (top["command"] or "")[:60].replace("|", "\\|")
    return f"`{command}` {top['duration_s']:.2f}"


def markdown(r: dict[str, Any]) -> str:
    cold, reps = r["cold"], r["warm_repeat"]
    keys = ["sandbox_start_s", "sdk_import_s", "llm_setup_s", "conversation_setup_s", "agent_s",
            "verify_s", "teardown_s", "trace_write_s"]
    rows = [[k, cold["phases"].get(k, 0.0), median([w["phases"].get(k, 0.0) for w in reps])]
            for k in keys]
    rows.append(["  of agent_s: tool commands (sum of action durations)", cold["action_s"],
                 median([w["action_s"] for w in reps])])
    rows.append(["  of agent_s: conversation + LLM round-trips", cold["agent_overhead_s"],
                 median([w["agent_overhead_s"] for w in reps])])
    rows.append(["  of tool commands: `svc restart`", cold["restart_action_s"],
                 median([w["restart_action_s"] for w in reps])])
    rows.append(["routing (choose_strategy, in-process)", r["route_cold_s"], r["route_warm_s"]])
    rows.append(["**wall, whole run**", cold["wall_s"], median([w["wall_s"] for w in reps])])
    rows.append(["**time to green (ttm_s)**", cold["ttm_s"] or float("nan"),
                 median([w["ttm_s"] or float("nan") for w in reps])])
    out = [f"`stale_lockfile` seed 1, `--simulate` (runbook policy), `ns` sandbox, in one process: "
           f"cold = first run (imports the SDK), warm = median of {len(reps)} later runs. "
           f"Verifier policy as the runs use it: {r['verify_policy']}.",
           table(["phase (s)", "cold", "warm (median)"], rows)]
    steps = reps[0]["actions"]
    out.append("\nWarm per-step tool times (s): " + ", ".join(
        f"`{a['command'][:40]}` {a['duration_s']:.3f}" for a in steps if a["duration_s"]))
    rows = []
    for scenario, w in r["warm"].items():
        f = r["floor"][scenario]
        over = (w["ttm_s"] - f["ttm_s"]) if (w["ttm_s"] and f["ttm_s"]) else None
        rows.append([scenario, w["status"], w["n_actions"], w["ttm_s"] or float("nan"),
                     f["fix_s"], f["ttm_s"] or float("nan"),
                     over if over is not None else float("nan"),
                     "yes" if over is not None and over <= 1.0 else "NO",
                     w["phases"].get("agent_s", 0.0), w["agent_overhead_s"],
                     w["restart_action_s"], w["phases"].get("verify_s", 0.0), w["wall_s"],
                     _slowest(w)])
    out.append("\nPer scenario, warm, seed 2: harness time-to-green against the floor (the known "
               "fix applied by hand with one `sandbox.exec`, then the verifier with the same "
               "policy; ttm = first green probe - sandbox ready, for both). Goal: overhead <= 1 s.")
    out.append(table(["scenario", "status", "actions", "ttm", "floor: fix exec", "floor ttm",
                      "overhead", "goal", "agent_s", "of it conv+LLM", "svc restart",
                      "verify_s", "wall", "slowest tool command (s)"], rows))
    return "\n".join(out)


if __name__ == "__main__":
    if "--child" in sys.argv:
        result = child("--quick" in sys.argv)
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        print(markdown(run("--quick" in sys.argv)))
