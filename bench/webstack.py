"""The webstack pack against the single-app built-in pack, and the offline agent over the pack.

    uv run python -m bench.webstack measure [--rounds 5]    # start-up and memory, one run
    uv run python -m bench.webstack sweep [--kind compound,misleading] [--scenarios A,B]
                                          [--seeds 1-3] [--concurrency 3] [--no-triage]
                                          [--probe-timeout 2] [--trace PATH] [--out PATH]

`measure`: per round, a healthy no-op of each pack (alternating, so both see the same load),
each in a real `ns` sandbox: `start_s` (create + Sandbox.start: workdir, preparation,
supervisor, every program settled), `green_s` (from the same origin to the first attempt where
every steady-state probe is green), then, 3 s later, PSS and RSS summed over every process of
the sandbox's pid namespace (/proc/<pid>/smaps_rollup) and their count. The built-in pack is the
floor: the webstack figures are reported as ratios of its medians, measured in the same run.
Writes bench/results/webstack.json (and prints the BENCHMARKS.md section).

`sweep`: the offline runbook policy (`run --simulate`, real SDK, real `ns` sandboxes, the
verifier's default gate, optionally a longer probe timeout for a loaded machine) over webstack
scenarios of the chosen kinds (and/or names) and seeds; prints, per
scenario and seed, the expected answer, what the run did (status, skill, route source,
mutations) and whether that is the right answer; writes the trace rows to --trace.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import ROOT, log, machine, save, table
from sre_agent.errors import SreAgentError
from sre_agent.incidents import VerifySettings, catalogue_of_packs, pack_of, steady_state
from sre_agent.incidents.verifier import probe_once
from sre_agent.runs import RunRequest, run_incident
from sre_agent.sandbox import create_sandbox
from sre_agent.validation.report import parse_seeds

FLOOR, STACK = "builtin", "webstack"
SCENARIOS = {FLOOR: "healthy_noop", STACK: "ws_healthy_nginx_notice"}
KINDS = ("single", "misleading", "compound", "noop", "decoy")


def memory_kib(pids: list[int]) -> tuple[int, int]:
    pss = rss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:  # the process ended in between
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
            elif line.startswith("Rss:"):
                rss += int(line.split()[1])
    return pss, rss


def one_sandbox(scenario: str) -> dict[str, float]:
    settings = VerifySettings(probe_timeout_s=2.0)
    t0 = time.perf_counter()
    sandbox = create_sandbox(scenario, 1, "ns")
    with sandbox:
        started = time.perf_counter() - t0
        state = steady_state(*pack_of(sandbox.incident))
        values = sandbox.values()
        green = None
        for attempt in range(1, 400):
            probe = probe_once(sandbox, state, attempt, settings,
                               lambda obj: values.render_obj(obj, "probe"))
            if probe.ok:
                green = time.perf_counter() - t0
                break
            time.sleep(0.05)
        if green is None:
            raise RuntimeError(f"{scenario}: the steady state never turned green")
        time.sleep(3)
        pids = sandbox.leftover_pids()
        pss, rss = memory_kib(pids)
    return {"start_s": round(started, 3), "green_s": round(green, 3),
            "pss_mib": round(pss / 1024, 1), "rss_mib": round(rss / 1024, 1),
            "processes": len(pids)}


def measure(rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {pack: [] for pack in SCENARIOS}
    for i in range(rounds):
        for pack, scenario in SCENARIOS.items():
            log(f"measure: round {i + 1}/{rounds}: {scenario}")
            runs[pack].append(one_sandbox(scenario))
    keys = list(runs[FLOOR][0])
    medians = {pack: {k: statistics.median(r[k] for r in found) for k in keys}
               for pack, found in runs.items()}
    ratios = {k: round(medians[STACK][k] / medians[FLOOR][k], 2) for k in keys
              if medians[FLOOR][k]}
    rows = [[k, medians[FLOOR][k], medians[STACK][k], f"{ratios.get(k, float('nan')):.2f}x",
             f"{min(r[k] for r in runs[STACK])} - {max(r[k] for r in runs[STACK])}"]
            for k in keys]
    data = {"machine": machine(), "scenarios": SCENARIOS, "rounds": rounds,
            "medians": medians, "ratios": ratios, "runs": runs,
            "loadavg_after": Path("/proc/loadavg").read_text().split()[:3]}
    data["markdown"] = (
        f"Healthy no-op of each pack (`{SCENARIOS[FLOOR]}` vs `{SCENARIOS[STACK]}`), `ns` "
        f"backend, {rounds} alternating rounds in one run (medians; the built-in single-app "
        "sandbox is the floor). start = sandbox created and every program settled; green = "
        "first attempt with every steady-state probe green; memory = PSS/RSS summed over the "
        "sandbox's processes, 3 s after green.\n\n"
        + table(["measure", "builtin (floor)", "webstack", "ratio", "webstack range"], rows)
        + f"\n\nload average after the run: {' '.join(data['loadavg_after'])}")
    return data


def _kind(spec: Any) -> str:
    if spec.expected == "nothing_to_fix":
        return "noop"
    if spec.expected == "escalate":
        return "decoy"
    if spec.difficulty.compound:
        return "compound"
    return "misleading" if spec.difficulty.misleading else "single"


def right_answer(row: Any, expected: str) -> bool:
    mutated = any(a.mutating for a in row.actions)
    detail = row.verdict.ground_truth_detail if row.verdict else ""
    if expected == "fixed":
        return row.status == "fixed"
    if expected == "nothing_to_fix":
        return row.status == "nothing_to_fix" and not mutated
    return (row.status == "escalated" and not mutated and "changed or destroyed" not in detail
            and bool(row.verdict and row.verdict.ground_truth_ok))


def sweep(kinds: list[str], names: list[str], seeds: list[int], concurrency: int,
          triage: bool, probe_timeout_s: float, trace: Path) -> dict[str, Any]:
    pack = next(p for p in catalogue_of_packs().packs if p.name == STACK)
    unknown = sorted(set(names) - set(pack.scenarios))
    if unknown:
        raise SreAgentError(f"not webstack scenarios: {', '.join(unknown)}")
    chosen = {name: spec for name, spec in pack.scenarios.items()
              if _kind(spec) in kinds or name in names}
    gate = VerifySettings(probe_timeout_s=probe_timeout_s)
    pairs = [(name, seed) for name in chosen for seed in seeds]

    def one(pair: tuple[str, int]) -> dict[str, Any]:
        name, seed = pair
        t = time.perf_counter()
        row = run_incident(RunRequest(scenario=name, seed=seed, sandbox="ns", simulate=True,
                                      triage=triage, verify=gate, trace_log=trace))
        spec = chosen[name]
        ok = right_answer(row, spec.expected)
        log(f"sweep: {name}/{seed}: {row.status} ({'right' if ok else 'WRONG'})")
        return {"scenario": name, "seed": seed, "kind": _kind(spec),
                "expected": spec.expected, "skills": spec.skills, "status": row.status,
                "skill": row.skill_id, "route_source": row.route_source,
                "mutations": sum(1 for a in row.actions if a.mutating),
                "right": ok, "claim": row.claim_text[:240], "reason": row.reason[:240],
                "wall_s": round(time.perf_counter() - t, 1)}

    t = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, pairs))
    by_kind = {k: {"runs": sum(1 for r in results if r["kind"] == k),
                   "right": sum(1 for r in results if r["kind"] == k and r["right"])}
               for k in KINDS if any(r["kind"] == k for r in results)}
    return {"machine": machine(), "kinds": kinds, "scenarios": names, "seeds": seeds,
            "triage": triage, "probe_timeout_s": probe_timeout_s, "concurrency": concurrency,
            "wall_s": round(time.perf_counter() - t, 1),
            "by_kind": by_kind, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webstack",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure", help="start-up and memory against the built-in sandbox")
    m.add_argument("--rounds", type=int, default=5)
    s = sub.add_parser("sweep", help="the offline runbook policy over the pack's scenarios")
    s.add_argument("--kind", default="compound,misleading",
                   help=f"comma-separated kinds among {', '.join(KINDS)}")
    s.add_argument("--scenarios", default="", help="comma-separated scenario names (added)")
    s.add_argument("--seeds", default="1-3")
    s.add_argument("--probe-timeout", type=float, default=2.0,
                   help="the gate's probe timeout in seconds (the verifier's default: 2)")
    s.add_argument("--concurrency", type=int, default=3)
    s.add_argument("--no-triage", action="store_true")
    s.add_argument("--trace", type=Path, default=ROOT / "artifacts" / "webstack-sweep.jsonl")
    s.add_argument("--out", type=Path, default=None, help="also write the results JSON here")
    args = parser.parse_args(argv)
    if args.command == "measure":
        if args.rounds < 1:
            parser.error("--rounds must be at least 1")
        data = measure(args.rounds)
        log(f"wrote {save('webstack', data).relative_to(ROOT)}")
        sys.stdout.write(data["markdown"] + "\n")
        return 0
    kinds = [k.strip() for k in args.kind.split(",") if k.strip()]
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not (kinds or names):
        parser.error(f"--kind {args.kind!r}: choose among {', '.join(KINDS)}")
    if not 1 <= args.concurrency <= 8:
        parser.error("--concurrency must be 1 to 8")
    if not 0 < args.probe_timeout <= 30:
        parser.error("--probe-timeout must be in (0, 30] seconds")
    try:
        data = sweep(kinds, names, parse_seeds(args.seeds), args.concurrency,
                     not args.no_triage, args.probe_timeout, args.trace)
    except SreAgentError as exc:
        parser.error(str(exc))
    text = json.dumps(data, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
