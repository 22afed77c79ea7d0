"""`sre-agent triage`: bad input is one line and exit 2; a real look at a real sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from sre_agent.sandbox import create_sandbox
from tests.support import needs_ns

Cli = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize("args, message", [
    ([], "give exactly one of --sandbox or --scenario"),
    (["--scenario", "nope"], "unknown scenario 'nope'"),
    (["no-such-sandbox"], "no kept sandbox"),
    (["--scenario", "disk_full", "--sandbox", "vm"], "unknown sandbox backend 'vm'"),
])
def test_bad_input_is_one_line_exit_2(cli: Cli, args: list[str], message: str) -> None:
    code, _out, err = cli("triage", *args)
    assert code == 2, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@needs_ns
def test_json_ranks_the_real_cause_and_shows_the_evidence(cli: Cli) -> None:
    code, out, err = cli("triage", "--scenario", "kv_down_behind_latency_alert", "--seed", "2",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["scenario"] == "kv_down_behind_latency_alert" and data["seed"] == 2
    decision = data["decision"]
    assert decision["skill"] == "dependency-down" and decision["source"] == "evidence"
    assert decision["overruled"] == (data["text"]["skill"] not in (None, "dependency-down"))
    top = data["report"]["ranked"][0]
    assert top["skill"] == "dependency-down"
    assert any("kv" in e["excerpt"] for e in top["supports"])
    assert data["report"]["healthy"] is False and data["checks"] > 5
    # the time splits into building the incident and triaging it
    assert data["start_s"] > 0 and data["triage_s"] > 0
    assert data["start_s"] + data["triage_s"] <= data["duration_s"]


@needs_ns
def test_a_kept_sandbox_is_triaged_in_place_and_left_running(cli: Cli) -> None:
    sandbox = create_sandbox("healthy_noop", 1, "ns", keep=True)
    sandbox.start()
    try:
        code, out, err = cli("triage", sandbox.id, "--text", "")
        assert code == 0, err
        assert "health: green" in out and "nothing fits" in out
        assert "decision: nothing_to_fix [source evidence]" in out
        code, out, err = cli("triage", sandbox.id, "--text", "", "--json")
        data = json.loads(out)
        assert code == 0 and data["start_s"] is None and 0 < data["triage_s"] <= data["duration_s"]
        assert sandbox.alive()
    finally:
        sandbox.keep = False  # kept for the test only: destroy it (processes, mount, dir)
        sandbox.teardown()


@needs_ns
def test_the_worker_side_command_returns_a_triage_the_orchestrator_can_rebuild() -> None:
    import subprocess
    import sys

    from sre_agent.triage import Triage

    sandbox = create_sandbox("port_mismatch", 3, "ns", keep=True)
    sandbox.start()
    try:
        done = subprocess.run([sys.executable, "-m", "sre_agent.cli.sandbox", "triage",
                               sandbox.id, "--text", "service unhealthy", "--json"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        found = Triage.from_data(json.loads(done.stdout.splitlines()[-1]))
        assert found.decision.skill == "port-mismatch" and found.plan.checks
        assert found.routed is not None and found.routed.skill is None
    finally:
        sandbox.keep = False  # kept for the test only: destroy it (processes, mount, dir)
        sandbox.teardown()
