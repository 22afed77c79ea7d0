"""Running a plan: every distinct command once, in parallel, failures are no evidence."""

from __future__ import annotations

import threading

from sre_agent.sandbox.process import Bounded
from sre_agent.triage import CheckRun, HealthCheck, Plan, SkillCheck, run_plan
from sre_agent.triage.look import MAX_OUTPUT_BYTES, PARALLEL, sandbox_executor


def _plan() -> Plan:
    return Plan(skills=["a", "b"],
                checks=[SkillCheck(skill="a", name="s", run="svc status", supports="x"),
                        SkillCheck(skill="b", name="s", run="svc status", rules_out="y"),
                        SkillCheck(skill="b", name="l", run="svc logs app", supports="z")],
                health=[HealthCheck(name="h", run="curl h")])


def test_each_distinct_command_runs_once_on_worker_threads() -> None:
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def execute(command: str, timeout: float) -> CheckRun:
        with lock:
            seen.append((command, threading.current_thread().name))
        return CheckRun(command=command, exit_code=0, output="ok", duration_s=0.0)

    runs, _took = run_plan(_plan(), execute)
    assert sorted(runs) == ["curl h", "svc logs app", "svc status"]
    assert sorted(c for c, _ in seen) == ["curl h", "svc logs app", "svc status"]
    assert all(name.startswith("triage") for _, name in seen)


def test_a_sandbox_that_cannot_be_entered_gives_no_output() -> None:
    def execute(command: str, timeout: float) -> CheckRun:
        raise FileNotFoundError(2, "No such file or directory", "/gone/shell")

    runs, _ = run_plan(_plan(), execute)
    assert all(r.exit_code is None and r.output.startswith("[not run") for r in runs.values())


def test_an_empty_plan_runs_nothing() -> None:
    assert run_plan(Plan(), lambda c, t: None) == ({}, 0.0)  # type: ignore[arg-type, return-value]



def test_commands_run_parallel_at_once_and_never_more() -> None:
    n = PARALLEL + 2
    gate = threading.Barrier(PARALLEL, timeout=30)  # broken unless PARALLEL run together
    running, most = [0], [0]
    lock = threading.Lock()

    def execute(command: str, timeout: float) -> CheckRun:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            if int(command.split()[1]) < PARALLEL:  # the first wave: all in flight at once
                gate.wait()
        finally:
            with lock:
                running[0] -= 1
        return CheckRun(command=command, exit_code=0, output="x", duration_s=0.0)

    plan = Plan(skills=["a"], checks=[SkillCheck(skill="a", name=f"c{i}", run=f"check {i:02d}",
                                                 supports="x") for i in range(n)])
    runs, _ = run_plan(plan, execute)
    assert len(runs) == n and all(r.exit_code == 0 for r in runs.values())
    assert most[0] == PARALLEL


class FakeBackend:
    """A fake sandbox (unit test): records how the executor asks it to run a command."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, int]] = []

    def exec_raw(self, command: str, timeout: float, *, max_bytes: int) -> Bounded:
        self.calls.append((command, timeout, max_bytes))
        return Bounded(exit_code=0, output=b"hi\n", duration_s=0.01)


def test_the_sandbox_executor_runs_through_the_backend_own_bounds() -> None:
    backend = FakeBackend()  # e.g. docker adds its engine's start-up allowance there
    run = sandbox_executor(backend)("echo hi", 3.0)
    assert (run.exit_code, run.output, run.timed_out) == (0, "hi\n", False)
    assert backend.calls == [("echo hi", 3.0, MAX_OUTPUT_BYTES)]
