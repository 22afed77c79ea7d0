"""Section 1: start-up of the fast CLI paths against the bare interpreter floor.

Each command is run N times (after one warm-up) as a fresh process; the median and the best
are reported, each next to `python -c pass` measured in the same run, in two settings:
as this environment is (bytecode writing may be off, so every import compiles from source)
and with a private bytecode cache (`PYTHONPYCACHEPREFIX`, what a normal install gets after
its first run). A child process also checks that no OpenHands/litellm module was imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from bench.common import ROOT, VENV_CLI, VENV_PY, log, median, time_process

INCIDENT = "the service refuses to start: a stale lock file is held by a dead pid"
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "skills route": ["skills", "route", INCIDENT],
    "risk": ["risk", "rm -rf /var/lib/app"],
    "scorecard --help": ["scorecard", "--help"],
}
SDK_PREFIXES = ("openhands", "litellm")

_CHECK = """
import io, json, sys, contextlib
from sre_agent.cli.main import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = main(sys.argv[1:])
mods = sorted(m for m in sys.modules if m.split('.')[0] in {prefixes!r})
heavy = sorted(m for m in ('yaml', 'bashlex', 'rich.console', 'pydantic') if m in sys.modules)
sys.stderr.write('BENCH ' + json.dumps({{'code': code, 'sdk': mods[:5], 'n_sdk': len(mods),
                                        'loaded': heavy, 'n_modules': len(sys.modules)}}) + chr(10))
"""


def _sdk_check(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    code = _CHECK.format(prefixes=set(SDK_PREFIXES))
    proc = subprocess.run([str(VENV_PY), "-c", code, *args], env=env, text=True,
                          capture_output=True, timeout=120, cwd=ROOT)
    for line in proc.stderr.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError(f"sdk check failed for {args}: {proc.stderr[-400:]}")


def _top_imports(args: list[str], env: dict[str, str], n: int = 6) -> list[tuple[str, float]]:
    """The slowest top-level imports (cumulative ms) of one command, from -X importtime."""
    proc = subprocess.run([str(VENV_PY), "-X", "importtime", str(VENV_CLI), *args], env=env,
                          text=True, capture_output=True, timeout=120, cwd=ROOT)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = line.split("|")
        if name.startswith("  ") and not name.startswith("   "):  # one space + name: top level
            pass
        stripped = name.rstrip()
        depth = len(stripped) - len(stripped.lstrip())
        if depth <= 3 and cum.strip().isdigit():
            rows.append((stripped.strip(), int(cum) / 1000))
    rows.sort(key=lambda r: -r[1])
    return rows[:n]


def run(quick: bool) -> dict[str, Any]:
    repeats = 3 if quick else 7
    base_env = dict(os.environ)
    pyc_dir = tempfile.mkdtemp(prefix="sre-bench-pyc-")
    pyc_env = {k: v for k, v in base_env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    pyc_env["PYTHONPYCACHEPREFIX"] = pyc_dir
    settings = {"as-is": base_env, "bytecode cache": pyc_env}
    out: dict[str, Any] = {"repeats": repeats, "statistic": "median and best of N wall times",
                           "env_bytecode_off": bool(base_env.get("PYTHONDONTWRITEBYTECODE")),
                           "settings": {}}
    try:
        for label, env in settings.items():
            log(f"startup: {label}")
            floor = time_process([str(VENV_PY), "-c", "pass"], repeats, env)
            res: dict[str, Any] = {"floor": {"median_s": median(floor), "best_s": min(floor)},
                                   "commands": {}}
            for name, args in COMMANDS.items():
                times = time_process([str(VENV_CLI), *args], repeats, env)
                res["commands"][name] = {
                    "median_s": median(times), "best_s": min(times),
                    "over_floor_median_s": median(times) - median(floor),
                    "over_floor_best_s": min(times) - min(floor),
                    "goal_met": median(times) - median(floor) <= 0.3,
                }
            out["settings"][label] = res
        uv = shutil.which("uv")
        if uv:
            log("startup: via uv run")
            floor = time_process([uv, "run", "--frozen", "python", "-c", "pass"], repeats, base_env)
            helps = time_process([uv, "run", "--frozen", "sre-agent", "--help"], repeats, base_env)
            route = time_process([uv, "run", "--frozen", "sre-agent", *COMMANDS["skills route"]],
                                 repeats, base_env)
            out["uv_run"] = {"floor_median_s": median(floor), "help_median_s": median(helps),
                             "route_median_s": median(route)}
        out["sdk_check"] = {name: _sdk_check(args, pyc_env) for name, args in COMMANDS.items()}
        out["top_imports"] = {name: _top_imports(COMMANDS[name], pyc_env)
                              for name in ("skills route", "risk")}
    finally:
        shutil.rmtree(pyc_dir, ignore_errors=True)
    return out


def markdown(r: dict[str, Any]) -> str:
    from bench.common import table

    lines = [f"Fresh processes, {r['repeats']} runs each after one warm-up; median (best) wall "
             "seconds. Floor = `.venv/bin/python -c pass` in the same run. Goal: median within "
             "0.3 s of the floor; no OpenHands/litellm module imported."]
    rows = []
    for label, res in r["settings"].items():
        f = res["floor"]
        rows.append([label, "python -c pass (floor)", f"{f['median_s']:.3f} ({f['best_s']:.3f})",
                     "", ""])
        for name, c in res["commands"].items():
            sdk = r["sdk_check"][name]["n_sdk"]
            rows.append([label, f"sre-agent {name}", f"{c['median_s']:.3f} ({c['best_s']:.3f})",
                         f"+{c['over_floor_median_s']:.3f}",
                         ("yes" if c["goal_met"] else "NO") + f", SDK modules: {sdk}"])
    lines.append(table(["setting", "command", "median (best) s", "over floor",
                        "goal met"], rows))
    if "uv_run" in r:
        u = r["uv_run"]
        lines.append(f"\nVia `uv run` (as-is, for reference): `python -c pass` "
                     f"{u['floor_median_s']:.3f} s, `sre-agent --help` {u['help_median_s']:.3f} s, "
                     f"`skills route` {u['route_median_s']:.3f} s (medians).")
    for name, tops in r["top_imports"].items():
        shown = ", ".join(f"{m} {ms:.0f} ms" for m, ms in tops)
        lines.append(f"\nSlowest imports of `{name}` (bytecode cache, cumulative): {shown}.")
    return "\n".join(lines)


if __name__ == "__main__":
    import pprint

    pprint.pprint(run(quick="--quick" in sys.argv))
