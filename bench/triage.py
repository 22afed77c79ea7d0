"""Section: triage, a read-only look before a runbook is chosen.

Per scenario of the catalogue (seed 1; quick: the built-in pack only):
- `sre-agent triage --scenario S --json` as a user runs it (fresh process: imports, sandbox
  start with the fault live, the look, teardown), best of 2 after a warm-up. Goal: <= 5 s.
- in one process: sandbox start (the floor: what any run pays before it can do anything), the
  look (every check, in parallel), teardown; the look as a ratio of the floor.
- the decision for a vague alert ("service unhealthy") against the scenario's expected skill.

The command once per scenario on the whole catalogue (bench/results/triage_cli_all.json) and
its decisions against a fully settled sandbox: `python -m bench.triage_cli` (wall, compare).
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from bench.common import ROOT, VENV_CLI, log, table

GOAL_S = 5.0
VAGUE = "service unhealthy"


def _cli_wall(scenario: str, repeats: int) -> tuple[float, dict[str, Any]]:
    best, data = float("inf"), {}
    for i in range(repeats + 1):
        t = time.perf_counter()
        done = subprocess.run([str(VENV_CLI), "triage", "--scenario", scenario, "--json"],
                              capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
        elapsed = time.perf_counter() - t
        if done.returncode != 0:
            raise RuntimeError(f"triage {scenario} exited {done.returncode}: {done.stderr[-300:]}")
        if i:
            best = min(best, elapsed)
            data = json.loads(done.stdout)
    return best, data


def run(quick: bool) -> dict[str, Any]:
    from sre_agent.incidents import catalogue
    from sre_agent.sandbox import create_sandbox
    from sre_agent.triage import triage_sandbox

    scenarios = [s for s in catalogue() if not quick or s.pack == "builtin"]
    rows = []
    for scenario in scenarios:
        log(f"triage: {scenario.name}")
        cli_s, data = _cli_wall(scenario.name, 1 if quick else 2)
        sandbox = create_sandbox(scenario.name, 1, "ns")
        t = time.perf_counter()
        sandbox.start()
        start_s = time.perf_counter() - t
        try:
            t = time.perf_counter()
            found = triage_sandbox(sandbox, VAGUE)
            look_s = time.perf_counter() - t
        finally:
            t = time.perf_counter()
            sandbox.teardown()
            teardown_s = time.perf_counter() - t
        decision = found.decision
        expected = {"nothing_to_fix": "nothing_to_fix", "escalate": "escalate"}.get(
            scenario.expected_outcome)
        right = (decision.outcome == expected) if expected else (
            decision.skill in scenario.skill_ids)
        rows.append({"scenario": scenario.name, "pack": scenario.pack, "cli_s": cli_s,
                     "cli_decision": data.get("decision", {}).get("skill"),
                     "start_s": start_s, "look_s": look_s, "teardown_s": teardown_s,
                     "commands": found.report.commands_run,
                     "vague_decision": decision.skill or decision.outcome,
                     "expected": scenario.skill_ids or [scenario.expected_outcome],
                     "right": right})
    return {"goal_s": GOAL_S, "vague_text": VAGUE, "rows": rows}


def markdown(r: dict[str, Any]) -> str:
    rows = r["rows"]
    lines = [
        "`sre-agent triage --scenario S --json` in a fresh process (imports, sandbox start with "
        "the fault live, every check, teardown), best of the repeats after a warm-up; and in "
        "one process, the look alone against the floor of starting that sandbox (measured in "
        f"the same run). Goal: the command answers within {r['goal_s']:g} s. The decision "
        f"column routes the vague alert \"{r['vague_text']}\" with the evidence.",
        table(["scenario", "CLI wall s", "goal", "sandbox start s (floor)", "look s",
               "look / floor", "commands", "vague alert ->", "right"],
              [[x["scenario"], x["cli_s"], "yes" if x["cli_s"] <= r["goal_s"] else "NO",
                x["start_s"], x["look_s"], f"{x['look_s'] / x['start_s']:.2f}x",
                x["commands"], x["vague_decision"], "yes" if x["right"] else "NO"]
               for x in rows]),
    ]
    if rows:
        worst = max(rows, key=lambda x: x["cli_s"])
        lines.append(f"\nSlowest CLI answer: {worst['scenario']} {worst['cli_s']:.2f} s; "
                     f"{sum(x['cli_s'] <= r['goal_s'] for x in rows)}/{len(rows)} within the "
                     f"goal; vague alert resolved right in {sum(x['right'] for x in rows)}/"
                     f"{len(rows)}.")
    return "\n\n".join(lines)
