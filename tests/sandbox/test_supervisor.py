"""The in-sandbox supervisor's bounded settle: `start all MAX_WAIT_S` replies once every
program is settled or MAX_WAIT_S has passed, whichever comes first; without it, it waits until
every program is settled (a run's sandbox). A real supervisor process, real programs."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sre_agent.sandbox.boot import INSIDE_DIR


def _free_port() -> int:
    with socket.socket() as sock:  # bound, never listening: nothing accepts there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Supervisor:
    def __init__(self, workdir: Path, proc: subprocess.Popen[bytes]) -> None:
        self.workdir, self.proc = workdir, proc

    def ask(self, line: str, timeout: float = 30.0) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.workdir / "run" / "supervisor.sock"))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def states(self, reply: str) -> dict[str, str]:
        return {line.split()[0]: line.split()[1] for line in reply.splitlines()}


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    """`hang`: alive, never ready (its port never accepts) until its 4 s ready time-out, then
    RUNNING; `crash`: exits after 1 s, every time (a crash loop: FATAL after 3 exits, >= 3 s:
    a loaded machine cannot get there before a bounded start replies)."""
    config = {"programs": [
        {"name": "hang", "command": [sys.executable, "-c", "import time; time.sleep(120)"],
         "ready": {"port": _free_port(), "after_s": 0.0, "timeout_s": 4.0}},
        {"name": "crash", "command": [sys.executable, "-c",
                                       "import time; time.sleep(1); raise SystemExit(1)"],
         "ready": {"after_s": 0.0}},
    ]}
    sup = _start_supervisor(tmp_path, config["programs"])
    try:
        yield sup
    finally:
        sup.proc.terminate()
        sup.proc.wait(10)


def test_a_bounded_start_replies_with_programs_still_starting(supervisor: Supervisor) -> None:
    reply = supervisor.states(supervisor.ask("start all 0"))
    # The reply comes before either program could settle: the hang is within its 4 s start-up
    # wait, the crash loop far from its third exit.
    assert reply["hang"] == "STARTING"
    assert reply["crash"] in ("STARTING", "BACKOFF")
    # The programs go on as they would have: `wait` (unbounded) sees them settled.
    settled = supervisor.states(supervisor.ask("wait"))
    assert settled == {"hang": "RUNNING", "crash": "FATAL"}


def test_an_unbounded_start_waits_until_every_program_is_settled(
        supervisor: Supervisor) -> None:
    reply = supervisor.states(supervisor.ask("start all"))
    assert reply == {"hang": "RUNNING", "crash": "FATAL"}
    # a restart with a bound, once settled programs are running again
    again = supervisor.states(supervisor.ask("restart hang 0"))
    assert again["hang"] == "STARTING" and again["crash"] == "FATAL"


@pytest.mark.parametrize("bound", ["soon", "-1", "21", "1 2", "nan"])
def test_a_bad_bound_is_an_error_and_starts_nothing(supervisor: Supervisor,
                                                    bound: str) -> None:
    reply = supervisor.ask(f"start all {bound}")
    assert reply.startswith("error: MAX_WAIT_S must be one number of seconds, 0-20")
    assert set(supervisor.states(supervisor.ask("status")).values()) == {"STOPPED"}


def _start_supervisor(workdir: Path, programs: list[dict]) -> Supervisor:
    (workdir / "var" / "log").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, str(INSIDE_DIR / "supervisor.py"), str(workdir),
                             json.dumps({"programs": programs}), "--hold"],
                            start_new_session=True)
    sock = workdir / "run" / "supervisor.sock"
    deadline = time.monotonic() + 20
    while not sock.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "supervisor did not start"
        time.sleep(0.02)
    return Supervisor(workdir, proc)


# Alive, never accepting on its port, so STARTING until its ready time-out; it logs that it
# waits for its dependency only when told to.
_WAITER = ("import sys, time\n"
           "if sys.argv[1] == 'say':\n"
           "    print('2026-12-02 10:00:00 WARNING app[7]: waiting for cache at cache:6379',"
           " flush=True)\n"
           "time.sleep(120)\n")


def _waiter(say: bool, timeout_s: float) -> dict:
    return {"name": "app", "command": [sys.executable, "-c", _WAITER, "say" if say else "no"],
            "log": "var/log/app.log",
            "ready": {"port": _free_port(), "after_s": 0.0, "timeout_s": timeout_s,
                      "waiting": r"^.* WARNING app\[\d+\]: waiting for cache at "}}


def test_a_bounded_start_stops_waiting_for_a_program_that_says_it_waits(tmp_path: Path) -> None:
    # The ready time-out (15 s) is within the bound (20 s): had the reply waited for it, the
    # program would be RUNNING. It is STARTING: the reply came once the log said "waiting".
    sup = _start_supervisor(tmp_path, [_waiter(say=True, timeout_s=15.0)])
    try:
        assert sup.states(sup.ask("start all 20"))["app"] == "STARTING"
        assert "waiting for cache" in (tmp_path / "var/log/app.log").read_text()
    finally:
        sup.proc.terminate()
        sup.proc.wait(10)


def test_an_unbounded_start_still_waits_for_a_program_that_says_it_waits(
        tmp_path: Path) -> None:
    sup = _start_supervisor(tmp_path, [_waiter(say=True, timeout_s=3.0)])
    try:
        assert sup.states(sup.ask("start all"))["app"] == "RUNNING"  # after its time-out
    finally:
        sup.proc.terminate()
        sup.proc.wait(10)


def test_only_lines_since_the_start_count_as_waiting(tmp_path: Path) -> None:
    # An old line from an earlier start is in the log; this start never says it waits, so a
    # bounded start waits for its ready time-out (3 s, within the 20 s bound): RUNNING.
    (tmp_path / "var" / "log").mkdir(parents=True)
    (tmp_path / "var/log/app.log").write_text(
        "2026-12-01 09:00:00 WARNING app[3]: waiting for cache at cache:6379\n")
    sup = _start_supervisor(tmp_path, [_waiter(say=False, timeout_s=3.0)])
    try:
        assert sup.states(sup.ask("start all 20"))["app"] == "RUNNING"
    finally:
        sup.proc.terminate()
        sup.proc.wait(10)
