"""Section 4: router and risk analysis in a batch (`--file`) and per call in-process.

Batch: one process judging ~1000 inputs (`skills route --file`, `risk --file --json`) against
the same command with one input (the process start floor); the marginal time per input is
(t_batch - t_one) / (n - 1). In-process: median and p95 of single calls after a warm-up.
Inputs: the incident texts of `training_data/incidents.json` and the commands of
`tests/data/risk/*.txt`, cycled to N lines.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, VENV_CLI, log, median, table, time_process


def _inputs(n: int) -> tuple[list[str], list[str]]:
    texts = [d["text"].replace("\n", " ") for d in
             json.loads((ROOT / "training_data" / "incidents.json").read_text())]
    workdir = "/tmp/sbx/work"
    commands = []
    for name in ("benign.txt", "dangerous.txt"):
        for line in (ROOT / "tests" / "data" / "risk" / name).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.replace("{W}", workdir))
    return ([texts[i % len(texts)] for i in range(n)],
            [commands[i % len(commands)] for i in range(n)])


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def run(quick: bool) -> dict[str, Any]:
    n = 300 if quick else 1000
    repeats = 2 if quick else 3
    texts, commands = _inputs(n)
    tmpdir = Path(tempfile.mkdtemp(prefix="sre-bench-batch-"))
    try:
        return _run(n, repeats, texts, commands, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _run(n: int, repeats: int, texts: list[str], commands: list[str],
         tmpdir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmpdir / "pyc")
    (tmpdir / "incidents.txt").write_text("\n".join(texts) + "\n")
    (tmpdir / "commands.txt").write_text("\n".join(commands) + "\n")
    out: dict[str, Any] = {"n": n, "repeats": repeats, "unique_texts": len(set(texts)),
                           "unique_commands": len(set(commands)),
                           "statistic": "best of N (process), median/p95 (calls)",
                           "batch": {}, "in_process": {}}
    cases = {
        "skills route": ([str(VENV_CLI), "skills", "route", "--json", texts[0]],
                         [str(VENV_CLI), "skills", "route", "--file",
                          str(tmpdir / "incidents.txt")]),
        "risk": ([str(VENV_CLI), "risk", "--json", commands[0]],
                 [str(VENV_CLI), "risk", "--json", "--file", str(tmpdir / "commands.txt")]),
    }
    for name, (one_argv, batch_argv) in cases.items():
        log(f"batch: {name}")
        one = min(time_process(one_argv, repeats, env))
        batch = min(time_process(batch_argv, repeats, env))
        out["batch"][name] = {"one_s": one, "batch_s": batch,
                              "per_input_ms": (batch - one) / (n - 1) * 1000,
                              "batch_over_one": batch / one}
    from sre_agent.safety import SecurityPolicy, assess_command
    from sre_agent.skills.catalogue import load_catalog
    from sre_agent.skills.router import route

    t = time.perf_counter()
    catalog = load_catalog()
    out["in_process"]["load_catalog_ms"] = (time.perf_counter() - t) * 1000
    policy = SecurityPolicy(max_risk="MEDIUM")
    calls = {
        "route(text, catalog)": lambda s: route(s, catalog),
        "assess_command + policy.decide": lambda s: policy.decide(assess_command(s, Path(
            "/tmp/sbx/work"))),
    }
    for (name, fn), inputs in zip(calls.items(), (texts, commands), strict=True):
        for s in inputs[:50]:
            fn(s)
        lat = []
        for s in inputs:
            t = time.perf_counter()
            fn(s)
            lat.append((time.perf_counter() - t) * 1000)
        out["in_process"][name] = {"median_ms": median(lat), "p95_ms": _p95(lat),
                                   "max_ms": max(lat), "per_s": 1000 / statistics.mean(lat)}
    return out


def markdown(r: dict[str, Any]) -> str:
    rows = [[f"`sre-agent {name} --file` ({r['n']} lines)", b["one_s"], b["batch_s"],
             b["per_input_ms"], b["batch_over_one"]] for name, b in r["batch"].items()]
    lines = [f"Best of {r['repeats']} processes, bytecode cache on. {r['unique_texts']} distinct "
             f"incident texts and {r['unique_commands']} distinct commands, cycled.",
             table(["batch", "one input (start floor, s)", "batch (s)", "per input (ms)",
                    "batch / one"], rows)]
    rows = [[name, v["median_ms"], v["p95_ms"], v["max_ms"], v["per_s"]]
            for name, v in r["in_process"].items() if isinstance(v, dict)]
    lines.append(f"\nIn-process, warm (catalogue loaded once in "
                 f"{r['in_process']['load_catalog_ms']:.1f} ms):")
    lines.append(table(["call", "median (ms)", "p95 (ms)", "max (ms)", "calls/s"], rows))
    return "\n".join(lines)
