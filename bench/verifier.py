"""Section 3: the verifier gate, from "agent finished" to verdict, green and red.

One sandbox per case (started once, probed several times; median of the repeats):
green = `healthy_noop` (nothing wrong), red/refused = `stale_lockfile` unfixed (nothing
listens), red/slow = `slow_response` unfixed (every probe runs into its timeout). Policies:
the default `VerifySettings()` (what `run` and `RunRequest` use) and shorter intervals as a
what-if. Also checks that the first probe goes out at once (no initial interval).
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import log, median, table

CASES = {"green": "healthy_noop", "red (refused)": "stale_lockfile",
         "red (slow, probe timeouts)": "slow_response"}


def run(quick: bool) -> dict[str, Any]:
    from sre_agent.incidents.verifier import VerifySettings
    from sre_agent.sandbox import create_sandbox

    repeats = 1 if quick else 3
    policies = {"default": VerifySettings(), "interval 0.5 s": VerifySettings(interval_s=0.5),
                "interval 0.25 s": VerifySettings(interval_s=0.25)}
    out: dict[str, Any] = {"repeats": repeats, "policies": {k: p.model_dump()
                                                          for k, p in policies.items()},
                           "cases": {}}
    for case, scenario in CASES.items():
        log(f"verifier: {case}")
        sb = create_sandbox(scenario, 1, "ns")
        sb.start()
        try:
            res: dict[str, Any] = {}
            for pname, policy in policies.items():
                if quick and pname == "interval 0.25 s":
                    continue
                times, first_delays, probes, healthy = [], [], [], None
                for _ in range(repeats):
                    t_wall = time.time()
                    t = time.perf_counter()
                    verdict = sb.verify(policy)
                    times.append(time.perf_counter() - t)
                    first_delays.append(verdict.probes[0].at - t_wall)
                    probes.append(len(verdict.probes))
                    healthy = verdict.healthy
                res[pname] = {"verdict_s": median(times), "healthy": healthy,
                              "probes": median(probes),
                              "first_probe_delay_s": median(first_delays),
                              "probe_latency_ms": verdict.probes[0].latency_ms}
            out["cases"][case] = res
        finally:
            sb.teardown()
    return out


def markdown(r: dict[str, Any]) -> str:
    rows = []
    for case, res in r["cases"].items():
        for pname, v in res.items():
            rows.append([case, pname, "green" if v["healthy"] else "red", v["probes"],
                         v["verdict_s"], v["first_probe_delay_s"] * 1000, v["probe_latency_ms"]])
    pol = r["policies"]["default"]
    return (f"Median of {r['repeats']} verdicts per row; the default policy is "
            f"{pol['consecutive_successes']} consecutive healthy probes, at most "
            f"{pol['max_attempts']} attempts, {pol['interval_s']} s apart, "
            f"{pol['probe_timeout_s']} s probe timeout.\n"
            + table(["service", "policy", "verdict", "probes", "time to verdict (s)",
                     "first probe after (ms)", "first probe latency (ms)"], rows))
