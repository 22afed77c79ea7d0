"""`uv run python -m bench`: the benchmark suite; writes bench/results/*.json and BENCHMARKS.md.

    uv run python -m bench                 # everything (~15 min)
    uv run python -m bench --quick         # fewer repeats and incidents (~3-4 min)
    uv run python -m bench --startup --verifier   # only these sections
    uv run python -m bench --scorecard --scorecard-rows 1000000   # ~15 min on 2 CPUs alone
    uv run python -m bench --fleet --soak  # opt-in: the fleet sweep (~15 min), soak (~22 min)
    uv run python -m bench --waves         # opt-in: one scenario's two waves at c32 (~9 min)

Sections that are not run keep their last results (from bench/results/) in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from bench import (
    batch,
    fanout_scaling,
    fleet_scale,
    fleet_soak,
    fleet_waves,
    incident,
    memory,
    scorecard,
    startup,
    triage,
    verifier,
)
from bench.common import ROOT, log, machine, save

SECTIONS = {  # flag -> (results name, title, module)
    "startup": ("startup", "1. Start-up of the fast paths", startup),
    "incident": ("incident", "2. One offline incident end to end", incident),
    "verifier": ("verifier", "3. Verifier: agent finished -> verdict", verifier),
    "batch": ("batch", "4. Router and risk analysis throughput", batch),
    "scorecard": ("scorecard", "5. Scorecard against the JSON-parse floor", scorecard),
    "fanout": ("fanout_scaling", "6. Fan-out throughput and speed-up", fanout_scaling),
    "memory": ("memory", "7. Memory", memory),
    "triage": ("triage", "8. Triage: the look before a runbook", triage),
    "fleet": ("fleet_scale", "9. The fleet at scale: simulated LLM latency", fleet_scale),
    "soak": ("fleet_soak", "10. Soak: continuous intake for 20 minutes", fleet_soak),
    "waves": ("fleet_waves", "11. Where a two-wave batch at concurrency 32 loses its time",
              fleet_waves),
}
OPT_IN = {"fleet", "soak", "waves"}  # long (~15, ~22, ~9 min): only when asked for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats/incidents (~3 min)")
    for name in SECTIONS:
        parser.add_argument(f"--{name}", action="store_true", help=f"run the {name} section")
    parser.add_argument("--scorecard-rows", type=int, default=None,
                        help="rows of the synthetic trace log (default 300,000; quick 100,000)")
    parser.add_argument("--no-markdown", action="store_true", help="do not rewrite BENCHMARKS.md")
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite BENCHMARKS.md from bench/results/*.json")
    args = parser.parse_args(argv)
    if args.report_only:
        from bench.report import write_report

        log(f"wrote {write_report(SECTIONS).relative_to(ROOT)}")
        return 0
    chosen = [n for n in SECTIONS if getattr(args, n)] or [n for n in SECTIONS
                                                           if n not in OPT_IN]
    started = time.perf_counter()
    failed = []
    for name in chosen:
        key, title, module = SECTIONS[name]
        log(f"== {title}")
        t = time.perf_counter()
        try:
            if name == "scorecard":
                result = module.run(args.quick, args.scorecard_rows)
            else:
                result = module.run(args.quick)
        except Exception:  # noqa: BLE001 - one broken section must not hide the others
            failed.append(name)
            log(f"section {name} failed:\n{traceback.format_exc()}")
            continue
        result["_meta"] = {**machine(), "quick": args.quick, "section_s": time.perf_counter() - t,
                           "command": "uv run python -m bench" + (" --quick" if args.quick
                                                                  else "")}
        save(key, result)
        sys.stdout.write(f"\n## {title}\n\n{module.markdown(result)}\n")
        sys.stdout.flush()
    log(f"suite took {time.perf_counter() - started:.0f} s"
        + (f"; failed sections: {', '.join(failed)}" if failed else ""))
    if not args.no_markdown:
        from bench.report import write_report

        path = write_report(SECTIONS)
        log(f"wrote {path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
