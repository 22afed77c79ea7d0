"""The triage command on the whole catalogue: its wall time, and its answers against a full settle.

    uv run python -m bench.triage_cli wall [--only S,S] [--cli PATH] [--out NAME]
    uv run python -m bench.triage_cli running [--only S,S] [--out NAME]
    uv run python -m bench.triage_cli compare [--seeds 1,2,3] [--only S,S] [--out NAME]

`wall`: `sre-agent triage --scenario S --json` once per catalogue scenario, one at a time, each
in a fresh process as a user runs it (imports, sandbox start with the fault live, the look,
teardown); one row per scenario (scenario, wall_s, exit, look_s, start_s: the sandbox started
with its fault live, triage_s: plan, look, judge, decide, load1, the decision) in
bench/results/NAME.json (default triage_cli_all). `--cli` times another checkout's command
(e.g. a clone of the commit before a change: the "before" column), run from its directory.

`running`: triage of an incident that is already there, as on-call runs it: per scenario, a
kept sandbox is started (`sre-agent sandbox create --scenario S --json`, not timed: the
fault is live and every program settled, as a run's), then `sre-agent triage ID --json` is
timed in a fresh process (imports, the look, the answer), then the sandbox is destroyed. One
row per scenario in bench/results/NAME.json (default triage_cli_running).

`compare`: per scenario and seed, in this process, the triage command's decision (its sandbox
looked at as soon as the fault is live, programs given `SETTLE_WAIT_S` to settle) against a
run's (`triage_sandbox` on a sandbox started as a run's is: every program settled), same text
(the scenario's alert). Equal means the same outcome, skill, fitting skills, health, and top of
the ranking (skill and score); the evidence that differs without changing them is listed. Exit
1 on any difference. Written to bench/results/NAME.json (default triage_settle_compare).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, VENV_CLI, log, machine
from sre_agent.incidents import catalogue
from sre_agent.sandbox import create_sandbox
from sre_agent.triage import SETTLE_WAIT_S, Triage, triage_fresh, triage_sandbox

GOAL_S = 5.0


def _names(only: str | None) -> list[str]:
    names = [s.name for s in catalogue()]
    if not only:
        return names
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}")
    return wanted


def _decision(data: dict[str, Any]) -> dict[str, Any]:
    """What must not change: a trace record's decision, health and top of the ranking."""
    decision, report = data["decision"], data["report"]
    top = report["ranked"][0] if report["ranked"] else None
    return {"outcome": decision["outcome"], "skill": decision["skill"],
            "fitting": decision.get("fitting") or [], "healthy": report["healthy"],
            "top": None if top is None else [top["skill"], top["score"]]}


def wall(names: list[str], cli: Path, out: str) -> list[dict[str, Any]]:
    cwd = cli.parent.parent.parent if cli != VENV_CLI else ROOT  # <checkout>/.venv/bin/cli
    rows = []
    for name in names:
        load1 = os.getloadavg()[0]
        t = time.perf_counter()
        done = subprocess.run([str(cli), "triage", "--scenario", name, "--json"], cwd=cwd,
                              capture_output=True, text=True, timeout=180, check=False)
        wall_s = time.perf_counter() - t
        row: dict[str, Any] = {"scenario": name, "wall_s": round(wall_s, 2),
                               "exit": done.returncode, "look_s": None,
                               "load1": round(load1, 2)}
        if done.returncode == 0:
            data = json.loads(done.stdout)
            row["look_s"] = data["report"]["duration_s"]
            row["duration_s"] = data["duration_s"]
            row["start_s"], row["triage_s"] = data.get("start_s"), data.get("triage_s")
            row["decision"] = _decision(data)
        else:
            row["error"] = done.stderr.strip()[-300:]
        rows.append(row)
        log(f"{name}: {row['wall_s']:.2f} s (start {row.get('start_s')}, triage "
            f"{row.get('triage_s')}, load {row['load1']})")
        (RESULTS / f"{out}.json").write_text(json.dumps(rows, indent=1) + "\n")
    within = sum(r["exit"] == 0 and r["wall_s"] <= GOAL_S for r in rows)
    log(f"{within}/{len(rows)} within {GOAL_S:g} s; slowest "
        f"{max(rows, key=lambda r: r['wall_s'])['scenario']} "
        f"{max(r['wall_s'] for r in rows):.2f} s")
    split = [r for r in rows if r.get("triage_s") is not None]
    if split:
        log(f"the triage part (after the start): {sum(r['triage_s'] <= GOAL_S for r in split)}"
            f"/{len(split)} within {GOAL_S:g} s, slowest {max(r['triage_s'] for r in split):.2f}"
            " s")
    return rows


def running(names: list[str], out: str) -> list[dict[str, Any]]:
    cli = str(VENV_CLI)
    rows = []
    for name in names:
        made = subprocess.run([cli, "sandbox", "create", "--scenario", name, "--json"],
                              cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
        if made.returncode != 0:
            rows.append({"scenario": name, "exit": made.returncode, "wall_s": None,
                         "error": "sandbox create: " + made.stderr.strip()[-300:]})
            continue
        sandbox = json.loads(made.stdout)["id"]
        try:
            load1 = os.getloadavg()[0]
            t = time.perf_counter()
            done = subprocess.run([cli, "triage", sandbox, "--json"], cwd=ROOT,
                                  capture_output=True, text=True, timeout=180, check=False)
            wall_s = time.perf_counter() - t
        finally:
            subprocess.run([cli, "sandbox", "destroy", sandbox], cwd=ROOT,
                           capture_output=True, timeout=120, check=False)
        row: dict[str, Any] = {"scenario": name, "wall_s": round(wall_s, 2),
                               "exit": done.returncode, "load1": round(load1, 2)}
        if done.returncode == 0:
            data = json.loads(done.stdout)
            row["look_s"] = data["report"]["duration_s"]
            row["decision"] = _decision(data)
        else:
            row["error"] = done.stderr.strip()[-300:]
        rows.append(row)
        log(f"{name}: {wall_s:.2f} s (look {row.get('look_s')}, load {row['load1']})")
        (RESULTS / f"{out}.json").write_text(json.dumps(rows, indent=1) + "\n")
    timed = [r for r in rows if r["wall_s"] is not None]
    within = sum(r["exit"] == 0 and r["wall_s"] <= GOAL_S for r in rows)
    log(f"{within}/{len(rows)} within {GOAL_S:g} s; slowest "
        f"{max(timed, key=lambda r: r['wall_s'])['scenario']} "
        f"{max(r['wall_s'] for r in timed):.2f} s")
    return rows


def _evidence(found: Triage) -> set[tuple[str, str, str]]:
    return {(fit.skill, e.kind, e.check) for fit in found.report.ranked
            for e in [*fit.supports, *fit.against]}


def _one(name: str, seed: int, as_a_run: bool) -> tuple[Triage, float]:
    """The triage command's triage, or a run's (a fully settled sandbox, then the look)."""
    sandbox = create_sandbox(name, seed, "ns")
    t = time.perf_counter()
    try:
        if as_a_run:
            found = triage_sandbox(sandbox.start(), sandbox.incident.text)
        else:
            found = triage_fresh(sandbox, sandbox.incident.text)
    finally:
        sandbox.teardown()
    return found, time.perf_counter() - t


def compare(names: list[str], seeds: list[int], out: str) -> int:
    rows, differ = [], 0
    for seed in seeds:
        for name in names:
            quick, quick_s = _one(name, seed, as_a_run=False)
            full, full_s = _one(name, seed, as_a_run=True)
            a, b = _decision(quick.trace_record()), _decision(full.trace_record())
            only_quick = sorted(_evidence(quick) - _evidence(full))
            only_full = sorted(_evidence(full) - _evidence(quick))
            same = a == b
            differ += not same
            rows.append({"scenario": name, "seed": seed, "same": same, "bounded": a,
                         "full": b if not same else "same", "bounded_s": round(quick_s, 2),
                         "full_s": round(full_s, 2),
                         "evidence_only_bounded": only_quick, "evidence_only_full": only_full,
                         "load1": round(os.getloadavg()[0], 2)})
            log(f"{name} seed {seed}: {'same' if same else 'DIFFERENT'} "
                f"({a['outcome']} {a['skill']}; {quick_s:.1f} s vs {full_s:.1f} s)"
                + (f" evidence differs: +{only_quick} -{only_full}"
                   if only_quick or only_full else ""))
            (RESULTS / f"{out}.json").write_text(json.dumps(
                {"machine": machine(), "settle_wait_s": SETTLE_WAIT_S, "rows": rows},
                indent=1) + "\n")
    log(f"{len(rows) - differ}/{len(rows)} decisions equal")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.triage_cli",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["wall", "running", "compare"])
    parser.add_argument("--only", help="comma-separated scenarios (default: the catalogue)")
    parser.add_argument("--seeds", default="1", help="compare: comma-separated seeds")
    parser.add_argument("--cli", type=Path, default=VENV_CLI, help="wall: the sre-agent to time")
    parser.add_argument("--out", help="results name under bench/results/")
    args = parser.parse_args(argv)
    names = _names(args.only)
    if args.mode == "wall":
        rows = wall(names, args.cli.resolve() if args.cli != VENV_CLI else VENV_CLI,
                    args.out or "triage_cli_all")
        return 0 if all(r["exit"] == 0 for r in rows) else 1
    if args.mode == "running":
        rows = running(names, args.out or "triage_cli_running")
        return 0 if all(r["exit"] == 0 for r in rows) else 1
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"--seeds: comma-separated integers (got {args.seeds!r})") from None
    return compare(names, seeds, args.out or "triage_settle_compare")


if __name__ == "__main__":
    sys.exit(main())
