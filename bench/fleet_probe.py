"""Shared by the fleet benchmarks (sections 9 and 10): run `sre-agent fanout` in a fresh
process and watch it from outside (memory, CPU, threads, processes, open files, in-flight
sandboxes, the machine's load), without touching what it does.

Everything runs on loopback with ns sandboxes, in a private runtime and artifacts directory
per run; the queue is a SQLite file there. The process is started and stopped by pid.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, VENV_PY
from bench.memory import tree_memory

# The built-in pack's scenarios: the ones the offline runbook policy is written for.
SCENARIOS = ["stale_lockfile", "bad_env_config", "readiness_probe_fail", "port_mismatch",
             "disk_full", "config_syntax_error", "dependency_down", "permission_denied",
             "slow_response", "healthy_noop", "corrupted_data_store"]
HZ = os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> tuple[float, int]:
    """(CPU seconds of the process itself, its threads); (0, 0) when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ, int(fields[17])
    except (OSError, IndexError, ValueError):
        return 0.0, 0


def _fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def _sandboxes(runtime: Path) -> int:
    try:
        return sum(1 for p in runtime.iterdir() if (p / "work").is_dir())
    except OSError:
        return 0


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class FanoutRun:
    """One `sre-agent fanout ... --json` in a fresh process, sampled every `every_s`."""

    def __init__(self, args: list[str], *, every_s: float = 1.0, label: str = "") -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="sa-fl-", dir="/tmp"))  # short socket paths
        self.runtime = self.tmp / "rt"
        self.runtime.mkdir()
        self.queue = self.tmp / "queue.db"
        self.trace = self.tmp / "trace.jsonl"
        self.args = ["fanout", *args, "--queue", f"sqlite:///{self.queue}", "--trace-log",
                     str(self.trace), "--json", "--scorecard-every", "0"]
        self.every_s = every_s
        self.label = label
        self.samples: list[dict[str, Any]] = []
        self.baseline: dict[str, Any] | None = None
        self.summary: dict[str, Any] = {}
        self.stderr_tail: list[str] = []

    def run(self, timeout_s: float) -> dict[str, Any]:
        env = dict(os.environ, SRE_AGENT_RUNTIME_DIR=str(self.runtime),
                   SRE_AGENT_ARTIFACTS_DIR=str(self.tmp / "artifacts"), SRE_AGENT_NO_DOTENV="1")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy0, total0 = cpu_busy()
        t0 = time.monotonic()
        # The summary goes to a file, not a pipe: a 20-minute soak's JSON once sat unread in
        # a full pipe for 18 minutes (the process blocked in its final write) and was lost.
        out_path = self.tmp / "summary.json"
        out_file = out_path.open("w")
        proc = subprocess.Popen([str(VENV_PY), "-m", "sre_agent.cli.main", *self.args],
                                cwd=ROOT, env=env, stdout=out_file,
                                stderr=subprocess.PIPE, text=True)
        out_file.close()
        stop = threading.Event()
        self_cpu = [0.0]
        watcher = threading.Thread(target=self._watch, args=(proc.pid, t0, stop, self_cpu),
                                   daemon=True)
        watcher.start()
        reader = threading.Thread(target=self._read_stderr, args=(proc, proc.pid, t0),
                                  daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()  # by pid: ours
            proc.wait()
        wall = time.monotonic() - t0
        out = out_path.read_text()
        stop.set()
        watcher.join()
        reader.join(5)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1, total1 = cpu_busy()
        try:
            self.summary = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.summary = {"error": "no summary", "exit": proc.returncode,
                            "stderr": self.stderr_tail[-20:]}
        cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"label": self.label, "exit": proc.returncode, "process_wall_s": wall,
                "cpu_s": cpu_s, "self_cpu_s": self_cpu[0],
                "machine_busy_share": (busy1 - busy0) / max(1.0, total1 - total0),
                "baseline": self.baseline, "peak": self._peaks(), "samples": self.samples,
                "summary": {k: v for k, v in self.summary.items() if k != "incidents"},
                "incidents": self.summary.get("incidents", [])}

    def _read_stderr(self, proc: subprocess.Popen[str], pid: int, t0: float) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.stderr_tail = (self.stderr_tail + [line.rstrip()])[-50:]
            if self.baseline is None and '"event": "accepted"' in line:
                self.baseline = self._sample(pid, t0)  # after the SDK warm-up, before runs

    def _sample(self, pid: int, t0: float) -> dict[str, Any]:
        cpu, threads = _proc_stat(pid)
        mem = tree_memory(pid)
        return {"t": round(time.monotonic() - t0, 2), "pss_kb": mem["pss_kb"],
                "rss_kb": mem["rss_kb"], "processes": mem["processes"], "threads": threads,
                "fds": _fds(pid), "sandboxes": _sandboxes(self.runtime), "self_cpu_s": cpu,
                "load1": os.getloadavg()[0]}

    def _watch(self, pid: int, t0: float, stop: threading.Event, self_cpu: list[float]) -> None:
        while not stop.wait(self.every_s):
            sample = self._sample(pid, t0)
            if sample["threads"]:
                self.samples.append(sample)
                self_cpu[0] = sample["self_cpu_s"]

    def _peaks(self) -> dict[str, float]:
        keys = ("pss_kb", "rss_kb", "processes", "threads", "fds", "sandboxes")
        return {k: max((s[k] for s in self.samples), default=0) for k in keys}

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t seconds, value) in value per hour."""
    if len(points) < 3:
        return float("nan")
    mt, mv = mean([p[0] for p in points]), mean([p[1] for p in points])
    den = sum((t - mt) ** 2 for t, _ in points)
    return 3600 * sum((t - mt) * (v - mv) for t, v in points) / den if den else float("nan")


__all__ = ["HZ", "SCENARIOS", "FanoutRun", "cpu_busy", "mean", "slope_per_hour"]
