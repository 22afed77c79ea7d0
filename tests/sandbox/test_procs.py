"""Process lookups on the host (sre_agent.sandbox.procs): a process's children, from its
`children` file, the same as a pass over every process's parent."""

from __future__ import annotations

import subprocess
import sys

from sre_agent.sandbox.procs import children_of, descends_from, parent_of, pids_where

SLEEPER = [sys.executable, "-c", "import time; time.sleep(30)"]


def test_children_oldest_first_and_the_same_as_a_scan() -> None:
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        f"a = subprocess.Popen({SLEEPER!r}); time.sleep(0.2)\n"
        f"b = subprocess.Popen({SLEEPER!r})\n"
        "print(a.pid, b.pid, flush=True); time.sleep(30)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        first, second = (int(x) for x in parent.stdout.readline().split())  # type: ignore[union-attr]
        assert children_of(parent.pid) == [first, second]
        assert sorted(pids_where(lambda pid: parent_of(pid) == parent.pid)) == \
            sorted([first, second])
        assert descends_from(second, parent.pid) and not descends_from(parent.pid, second)
        assert children_of(first) == []
    finally:
        for pid in children_of(parent.pid):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        parent.kill()
        parent.wait()
        parent.stdout.close()  # type: ignore[union-attr]


def test_a_gone_process_has_no_children() -> None:
    with subprocess.Popen([sys.executable, "-c", "pass"]) as gone:
        gone.wait()
    assert children_of(gone.pid) == []
