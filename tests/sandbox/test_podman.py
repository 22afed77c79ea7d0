"""The docker backend against a REAL engine API (opt-in: SRE_AGENT_TEST_DOCKER=1).

With no DOCKER_HOST, the session fixture (`conftest.docker_engine`) starts podman's
Docker-compatible API service on a socket this test owns (runc, lowered ulimits, no bridge,
storage in a temp dir, the image imported from a tarball built on this machine: never a
pull) and checks at the end that the host is unchanged. The contract suite runs against it
from test_backends.py (`[docker]`); here: isolation as a container gives it, and one offline
incident end to end per scenario class.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from sre_agent.incidents import catalogue
from sre_agent.runs import RunRequest, run_incident
from sre_agent.sandbox import create_sandbox
from sre_agent.sandbox.editor import SandboxEditor
from sre_agent.sandbox.guard import universal_wrapper
from sre_agent.sandbox.terminal import SandboxTerminal
from sre_agent.traces import read_traces
from tests.support import FAST

pytestmark = [pytest.mark.docker, pytest.mark.skipif(
    not os.environ.get("SRE_AGENT_TEST_DOCKER"),
    reason="needs a Docker engine: opt in with SRE_AGENT_TEST_DOCKER=1 (see docs/sandboxes.md)")]

STATUS = {"fixed": "fixed", "nothing_to_fix": "nothing_to_fix", "escalate": "escalated"}


def _classes() -> dict[str, str]:
    """One scenario per class: each expected outcome (fixed, nothing_to_fix, escalate) and a
    compound fault of the built-in pack, and every other pack's whole stack (its own servers,
    /etc/hosts and tmpfs mounts) started and verified by its healthy scenario."""
    found: dict[str, str] = {}
    for scenario in catalogue():
        if scenario.pack == "builtin":
            found.setdefault(scenario.expected_outcome, scenario.name)
            if scenario.difficulty.get("compound") and scenario.remediable:
                found.setdefault("compound", scenario.name)
        elif scenario.expected_outcome == "nothing_to_fix":
            found.setdefault(f"pack {scenario.pack}", scenario.name)
    return found


CLASSES = _classes()


def test_a_container_keeps_the_host_and_the_network_out(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()  # the kernel would complete a handshake: no accept() needed
    outside = tmp_path / "written-from-inside"
    try:
        with create_sandbox("healthy_noop", 1, "docker") as sb:
            done = sb.exec(f"touch {outside} {sb.root}/planted /usr/planted; echo x > ../x; "
                           "touch made-inside; ps -eo pid,args | wc -l; ip -o link | wc -l; "
                           f"curl -sS -m 2 http://127.0.0.1:{server.getsockname()[1]}/ "
                           ">/dev/null 2>&1; echo curl=$?; grep CapEff /proc/self/status")
            assert not outside.exists() and not (sb.root / "planted").exists(), done.output
            assert not (sb.root / "x").exists() and (sb.workdir / "made-inside").exists()
            assert "Read-only file system" in done.output, done.output  # / is read-only
            assert "curl=7" in done.output and done.output.split()[-1] == "0" * 16
            assert sb.verify(FAST).healthy
    finally:
        server.close()
    assert sb.leftover_pids() == []


def test_the_agents_terminal_and_editor_enter_the_container() -> None:
    with create_sandbox("healthy_noop", 1, "docker") as sb:
        # the shell guard from the workdir (any SDK terminal), then the agent's own terminal
        done = subprocess.run([str(universal_wrapper()), "-c", "hostname; pwd; ls .."],
                              cwd=sb.workdir, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[:2] == ["incident", str(sb.workdir)]
        assert "sandbox.json" not in done.stdout  # the control files are not mounted
        terminal = SandboxTerminal(sb.workdir)
        try:
            seen = terminal.run("cd etc; hostname; pwd")
            assert seen.output.split() == ["incident", str(sb.workdir / "etc")], seen
            assert seen.exit_code == 0 and terminal.run("pwd").cwd == str(sb.workdir / "etc")
        finally:
            terminal.close()
        editor = SandboxEditor(sb.root)
        conf = str(sb.workdir / "etc" / "service.conf")
        edited = editor.run("str_replace", conf, old_str="response_delay_ms = 0",
                            new_str="response_delay_ms = 5")
        assert edited["ok"] and "response_delay_ms = 5" in Path(conf).read_text(), edited
        assert editor.run("undo_edit", conf)["ok"]
        sb.exec("ln -s /etc etc-link")
        out = editor.run("create", str(sb.workdir / "etc-link" / "planted"), file_text="x")
        assert not out["ok"] and "outside the incident workspace" in out["error"], out


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_an_offline_incident_per_scenario_class(kind: str, tmp_path: Path) -> None:
    scenario = CLASSES[kind]
    expected = next(s.expected_outcome for s in catalogue() if s.name == scenario)
    row = run_incident(RunRequest(scenario=scenario, seed=1, sandbox="docker", simulate=True,
                                  verify=FAST, trace_log=tmp_path / "trace.jsonl"))
    assert row.sandbox_backend == "docker"
    assert row.status == STATUS[expected], f"{kind} ({scenario}): {row.reason}\n{row.claim_text}"
    assert [r.run_id for r in read_traces(tmp_path / "trace.jsonl")] == [row.run_id]
