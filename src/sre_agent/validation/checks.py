"""The validation of one scenario and seed, check by check (each named, each with why)."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from sre_agent.errors import SreAgentError
from sre_agent.incidents import VerifySettings, fix_actions, pack_of, scenario_spec, steady_state
from sre_agent.incidents.spec import HttpProvider
from sre_agent.incidents.truth import intact_path
from sre_agent.incidents.verifier import Verdict, http_exchange
from sre_agent.sandbox import Sandbox, create_sandbox
from sre_agent.sandbox.boot import apply
from sre_agent.validation.impostor import SCRIPT

CHECKS = ("healthy_before_fault", "red_after_fault", "red_if_nothing_done",
          "green_after_fix_sustained", "red_if_stopped", "red_if_impostor",
          "red_if_intact_destroyed", "teardown_clean")
SETTINGS = VerifySettings(consecutive_successes=2, max_attempts=5, interval_s=0.3,
                          probe_timeout_s=1.5, ground_truth_timeout_s=10.0)


class CheckResult(BaseModel):
    name: str
    passed: bool
    detail: str = ""
    skipped: bool = False  # not applicable to this scenario (never counts as a failure)


class ScenarioResult(BaseModel):
    scenario: str
    pack: str
    seed: int
    checks: list[CheckResult] = Field(default_factory=list)
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.passed or c.skipped for c in self.checks)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed and not c.skipped]


@dataclass
class _Run:
    result: ScenarioResult
    settings: VerifySettings
    recorded: dict[str, dict[str, list[object]]] = field(default_factory=dict)

    def add(self, name: str, passed: bool, detail: str = "", skipped: bool = False) -> None:
        self.result.checks.append(CheckResult(name=name, passed=passed, detail=detail[:400],
                                              skipped=skipped))

    def expect(self, name: str, verdict: Verdict, healthy: bool) -> bool:
        ok = verdict.healthy == healthy
        self.add(name, ok, verdict.reason if ok else
                 f"expected {'green' if healthy else 'red'}, the verifier said "
                 f"{'green' if verdict.healthy else 'red'}: {verdict.reason}")
        return ok


def _record(run: _Run, sandbox: Sandbox) -> None:
    """What the healthy service answers to each HTTP probe (the impostor replays it)."""
    pack, spec = pack_of(sandbox.incident)
    values = sandbox.values()
    for probe in steady_state(pack, spec).probes:
        provider = probe.provider
        if not isinstance(provider, HttpProvider) or provider.tls:
            continue
        port = sandbox.incident.ports[provider.port]
        try:
            status, body = http_exchange(sandbox, port, provider, 3.0)
        except OSError:
            continue
        rendered = values.render(provider.path)
        run.recorded.setdefault(str(port), {})[rendered] = [status,
                                                            body.decode(errors="replace")]


def _sh(sandbox: Sandbox, command: str, what: str) -> None:
    done = sandbox.exec(command, timeout=30)
    if done.exit_code != 0:
        raise SreAgentError(f"{what}: `{command}` exited {done.exit_code}: "
                            f"{' '.join(done.output.split())[:200]}")


def _impostor(run: _Run, sandbox: Sandbox) -> None:
    if not run.recorded:
        _pack, spec = pack_of(sandbox.incident)
        state = spec.steady_state or _pack.spec.service.steady_state
        if state.own_listener:
            run.add("red_if_impostor", True, "no plain HTTP probe to imitate; the verifier "
                    f"checks who listens on {', '.join(state.own_listener)}", skipped=True)
        else:
            run.add("red_if_impostor", False, "nothing ties health to the sandbox's own "
                    "processes: any process answering the probes would pass; add an HTTP "
                    "probe or `own_listener` ports to the steady state")
        return
    pid_file = sandbox.workdir / "var" / "tmp" / ".impostor.pid"
    spec = json.dumps({"pid_file": str(pid_file), "ports": run.recorded})
    _sh(sandbox, "svc stop all >/dev/null; mkdir -p var/tmp", "stopping the service")
    _sh(sandbox, f"nohup {shlex.quote(sandbox.python())} -c {shlex.quote(SCRIPT)} "
                 f"{shlex.quote(spec)} >/dev/null 2>&1 &", "starting the impostor")
    port = int(next(iter(run.recorded)))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            sandbox.connect(port, 0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    run.expect("red_if_impostor", sandbox.verify(run.settings), healthy=False)
    _sh(sandbox, f"kill $(cat {shlex.quote(str(pid_file))}) 2>/dev/null; rm -f "
                 f"{shlex.quote(str(pid_file))}; sleep 0.2", "stopping the impostor")


def _destroy_intact(run: _Run, sandbox: Sandbox) -> None:
    _pack, spec = pack_of(sandbox.incident)
    if not spec.intact:
        run.add("red_if_intact_destroyed", True, "nothing declared intact", skipped=True)
        return
    paths = [intact_path(item, sandbox.values()) for item in spec.intact]
    quoted = " ".join(shlex.quote(p) for p in paths)
    _sh(sandbox, f"for f in {quoted}; do chmod u+w \"$f\" 2>/dev/null; "
                 "printf 'destroyed\\n' > \"$f\"; done", "destroying what must stay intact")
    run.expect("red_if_intact_destroyed", sandbox.verify(run.settings), healthy=False)


def _healthy_before(run: _Run, scenario: str, seed: int, backend: str) -> None:
    sandbox = create_sandbox(scenario, seed, backend, inject=False)
    try:
        with sandbox:
            run.expect("healthy_before_fault", sandbox.verify(run.settings), healthy=True)
    except SreAgentError as exc:
        run.add("healthy_before_fault", False, f"the healthy service did not start: {exc}")


def _faulted(run: _Run, scenario: str, seed: int, backend: str) -> None:
    sandbox = create_sandbox(scenario, seed, backend)
    expected = sandbox.incident.expected_outcome
    with sandbox:
        state = steady_state(*pack_of(sandbox.incident))
        first = sandbox.verify(run.settings)
        if expected == "nothing_to_fix":  # no fault: green is the expected "after"
            run.expect("red_after_fault", first, healthy=True)
            run.add("red_if_nothing_done", True, "nothing to fix by design", skipped=True)
            run.add("green_after_fix_sustained", True, "nothing to fix by design",
                    skipped=True)
            green = first.healthy
        else:
            run.expect("red_after_fault", first, healthy=False)
            time.sleep(state.settle_s + 1.0)
            run.expect("red_if_nothing_done", sandbox.verify(run.settings), healthy=False)
            green = False
            if expected == "fixed":
                for action in fix_actions(sandbox.incident):
                    apply(sandbox, action, sandbox.values(), "known fix")
                green = run.expect("green_after_fix_sustained", sandbox.verify(run.settings),
                                   healthy=True)
            else:
                run.add("green_after_fix_sustained", True, "escalate: no fix by design",
                        skipped=True)
        if green:
            _record(run, sandbox)  # its own answers, its own instance id: a perfect copy
            _sh(sandbox, "svc stop all >/dev/null", "stopping the service")
            run.expect("red_if_stopped", sandbox.verify(run.settings), healthy=False)
            _impostor(run, sandbox)
            _sh(sandbox, "svc start all >/dev/null", "restarting the service")
        else:
            why = "the service is never green here, so stopping it proves nothing"
            run.add("red_if_stopped", True, why, skipped=True)
            run.add("red_if_impostor", True, why, skipped=True)
        _destroy_intact(run, sandbox)
    left = sandbox.leftover_pids()
    run.add("teardown_clean", not left and not sandbox.root.exists(),
            f"left: pids {left}" if left else ("directory left" if sandbox.root.exists()
                                               else "no process or directory left"))


def validate_scenario(scenario: str, seed: int, backend: str = "auto",
                      settings: VerifySettings = SETTINGS) -> ScenarioResult:
    """Every check for one scenario and seed (a failure in one never hides the others)."""
    pack, _spec = scenario_spec(scenario)
    run = _Run(ScenarioResult(scenario=scenario, pack=pack.name, seed=seed), settings)
    t0 = time.perf_counter()
    _healthy_before(run, scenario, seed, backend)
    try:
        _faulted(run, scenario, seed, backend)
    except SreAgentError as exc:
        done = {c.name for c in run.result.checks}
        for name in CHECKS:
            if name not in done and name != "healthy_before_fault":
                run.add(name, False, f"not reached: {exc.one_line()}")
    order = {name: i for i, name in enumerate(CHECKS)}
    run.result.checks.sort(key=lambda c: order.get(c.name, len(order)))
    run.result.duration_s = round(time.perf_counter() - t0, 2)
    return run.result
