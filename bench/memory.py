"""Section 7 (and the sampler used by section 6): memory of a run and of a fan-out.

The sampler walks /proc every `interval` seconds and sums RSS and PSS (from smaps_rollup;
PSS splits shared pages, so the sum over processes is not inflated) over a process and all
its descendants (sandbox supervisors, services, shells). One run: a child process runs one
incident cold; reported with its own `ru_maxrss` (RUSAGE_SELF, and RUSAGE_CHILDREN which is
the largest single child, not a sum) next to the sampled tree peak.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from bench.common import ROOT, VENV_PY, log


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _mem_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


def tree_memory(root: int) -> dict[str, int]:
    kids = _children_map()
    stack, pids = [root], []
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(kids.get(pid, []))
    rss = pss = 0
    for pid in pids:
        r, p = _mem_kb(pid)
        rss, pss = rss + r, pss + p
    return {"processes": len(pids), "rss_kb": rss, "pss_kb": pss}


class TreeSampler:
    """Samples the memory of a process tree in a thread; keeps the peaks."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root, self.interval = root, interval
        self.peak = {"processes": 0, "rss_kb": 0, "pss_kb": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = tree_memory(self.root)
            for k, v in now.items():
                self.peak[k] = max(self.peak[k], v)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _child() -> dict[str, Any]:
    import tempfile

    from sre_agent.runs import RunRequest, run_incident

    trace = Path(tempfile.mkdtemp(prefix="sre-bench-mem-")) / "t.jsonl"
    row = run_incident(RunRequest(scenario="stale_lockfile", seed=1, simulate=True,
                                  sandbox="ns", trace_log=trace))
    shutil.rmtree(trace.parent, ignore_errors=True)
    return {"status": row.status,
            "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}


def run(quick: bool) -> dict[str, Any]:
    log("memory: one run (child process)")
    proc = subprocess.Popen([str(VENV_PY), "-m", "bench.memory", "--child"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeSampler(proc.pid) as sampler:
        stdout, stderr = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed: {stderr[-1500:]}")
    out = json.loads(stdout.strip().splitlines()[-1])
    out["tree_peak"] = sampler.peak
    return {"one_run": out}


def markdown(r: dict[str, Any]) -> str:
    from bench.common import table

    one = r["one_run"]
    peak = one["tree_peak"]
    return ("One incident (`stale_lockfile`, `--simulate`, `ns`) in a fresh process, SDK "
            "included. The fan-out at concurrency 8 is in the fan-out section's memory table.\n"
            + table(["measure", "MiB"], [
                ["ru_maxrss, the Python process (RUSAGE_SELF)", one["self_maxrss_kb"] / 1024],
                ["ru_maxrss, largest single child (RUSAGE_CHILDREN)",
                 one["children_maxrss_kb"] / 1024],
                [f"sampled peak, whole tree ({peak['processes']} processes), RSS sum",
                 peak["rss_kb"] / 1024],
                ["sampled peak, whole tree, PSS sum (shared pages split)",
                 peak["pss_kb"] / 1024]]))


if __name__ == "__main__" and "--child" in sys.argv:
    sys.stdout.write(json.dumps(_child()) + "\n")
