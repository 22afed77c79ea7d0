"""Sandbox contract, run against every backend usable here; isolation as each declares it."""

from __future__ import annotations

import os
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from sre_agent import paths
from sre_agent.errors import BackendUnavailable, UsageError
from sre_agent.sandbox import check_backend, create_sandbox, select_backend
from sre_agent.sandbox.common import ISOLATION_PROPERTIES
from tests.support import FAST, needs_ns

BACKENDS = [
    pytest.param("ns", marks=needs_ns),
    "local",
    pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.skipif(
        not os.environ.get("SRE_AGENT_TEST_DOCKER"),
        reason="needs a Docker engine: opt in with SRE_AGENT_TEST_DOCKER=1")]),
]


def test_ns_backend_is_usable_here_in_ci() -> None:
    # CI installs bubblewrap: the isolating backend must work there, never be skipped.
    ok, why = check_backend("ns")
    if os.environ.get("CI") == "true":
        assert ok, why
    elif not ok:
        pytest.skip(f"ns sandbox backend unusable here: {why} (install: apt-get install -y "
                    "bubblewrap)")


@pytest.mark.parametrize("backend", BACKENDS)
def test_contract_lifecycle(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-sandboxes-123456")
    sb = create_sandbox("healthy_noop", 1, backend)
    assert set(sb.enforces) <= set(ISOLATION_PROPERTIES)
    with sb:
        assert sb.alive()
        out = sb.exec("pwd; svc status; env").output
        assert str(sb.workdir) in out
        assert "app" in out and "RUNNING" in out
        assert "sk-test-not-for-sandboxes" not in out, "harness secrets leaked into the sandbox"
        assert sb.verify(FAST).healthy
        assert sb.leftover_pids()
    assert sb.leftover_pids() == []
    assert not sb.root.exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_keep_leaves_the_directory_but_teardown_still_ends_processes(backend: str) -> None:
    sb = create_sandbox("stale_lockfile", 2, backend, keep=True)
    sb.start()
    sb.teardown()
    assert sb.leftover_pids() == []
    assert (sb.workdir / "etc" / "service.conf").exists()
    import shutil

    from sre_agent.sandbox.limits import release_workdir

    release_workdir(sb.workdir)  # a kept workdir stays mounted (as root) until destroyed
    shutil.rmtree(sb.root)


def test_exec_timeout_is_reported_not_raised() -> None:
    with create_sandbox("healthy_noop", 1, "local") as sb:
        result = sb.exec("sleep 5", timeout=0.3)
        assert result.exit_code == 124 and "timed out" in result.output


@needs_ns
class TestNsIsolation:
    def test_cannot_write_outside_the_workdir(self) -> None:
        with create_sandbox("healthy_noop", 1, "ns") as sb:
            for path in ("/usr/sre-agent-escape", "/etc/sre-agent-escape"):
                result = sb.exec(f"touch {path}")
                assert result.exit_code != 0, f"wrote {path} from inside the sandbox"
                assert not os.path.exists(path)
            # /tmp inside is a private tmpfs: a write there never reaches the host.
            sb.exec(f"touch {sb.root}/escape /tmp/escape")
            assert not (sb.root / "escape").exists()
            assert sb.exec("touch var/tmp/inside").exit_code == 0
            assert (sb.workdir / "var" / "tmp" / "inside").exists()
            assert sb.exec("mount -o remount,rw /").exit_code != 0
            caps = sb.exec("grep CapEff /proc/self/status").output
            assert caps.split()[-1] == "0000000000000000"

    def test_the_working_directory_leads_nowhere_on_the_host(self) -> None:
        # nsenter must resolve the workdir inside the sandbox: a host-side cwd would make `..`
        # the host's directory (the control files, then the whole host, writable).
        with create_sandbox("healthy_noop", 1, "ns") as sb:
            out = sb.exec("touch ../escape; ls -a ..; cd -P ../..; pwd -P; ls -a").output
            assert not (sb.root / "escape").exists()
            assert "sandbox.json" not in out and "shell" not in out.split()
            assert sb.exec("cat ../shell ../sandbox.json").exit_code != 0

    def test_only_the_system_and_the_service_code_are_visible(self) -> None:
        with create_sandbox("healthy_noop", 1, "ns") as sb:
            for hidden in ("/home", "/srv", "/mnt", "/sys/fs/cgroup", str(paths.project_root()
                                                                            / ".agents"),
                           str(paths.project_root() / "pyproject.toml"), "/etc/ssh"):
                listing = sb.exec(f"ls -A {hidden} 2>/dev/null | head -3").output.strip()
                assert listing == "", f"{hidden} is visible inside: {listing}"
            assert sb.exec("cat /etc/shadow").exit_code != 0
            assert sb.exec("find /run/ /var/tmp/ -mindepth 1 | wc -l").output.strip() == "0"

    def test_memory_and_pid_limits_are_enforced_or_reported(self) -> None:
        with create_sandbox("healthy_noop", 1, "ns") as sb:
            limits = sb.describe()["limits"]
            assert set(limits["enforced"]) | set(limits["skipped"]) >= {"memory", "pids"}
            if "memory" not in limits["enforced"]:
                pytest.skip(f"memory limit not enforceable here: {limits['skipped']}")
            hog = sb.exec('python3 -c "x = bytearray(700 * 1024 * 1024)"; echo rc=$?')
            assert "rc=137" in hog.output, "a 700 MiB allocation must hit the 512 MiB limit"
            assert sb.verify(FAST).healthy, "only the hog died"
        assert not any(path.exists() for path in sb.limits.paths), "cgroups removed"

    def test_cannot_see_other_incidents_or_reach_the_network(self) -> None:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()  # the kernel would complete a handshake: no accept() needed
        host_port = server.getsockname()[1]
        try:
            with create_sandbox("healthy_noop", 1, "ns") as a, \
                    create_sandbox("port_mismatch", 2, "ns") as b:
                ps = a.exec("ps -eo pid,args").output
                assert str(b.workdir) not in ps and "port_mismatch" not in ps
                assert len(ps.strip().splitlines()) < 10
                assert a.exec(f"ls {b.workdir}").exit_code != 0
                reach = a.exec(f"curl -sS -m 2 http://127.0.0.1:{host_port}/").exit_code
                # 7: refused (its own loopback); a reached host server would time out (28)
                assert reach == 7, "sandbox reached a server on the host's loopback"
                out = a.exec("ip -o link show | wc -l; ip route").output
                assert out.split()[0] == "1" and "default" not in out
        finally:
            server.close()


@needs_ns
def test_eight_sandboxes_at_once_do_not_interfere() -> None:
    scenarios = ["stale_lockfile", "bad_env_config", "port_mismatch", "disk_full",
                 "dependency_down", "permission_denied", "healthy_noop", "readiness_probe_fail"]
    boxes = [create_sandbox(name, 7, "ns") for name in scenarios]
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda sb: sb.start(), boxes))
        verdicts = {sb.incident.scenario: sb.verify(FAST)
                    for sb in boxes}
        assert verdicts["healthy_noop"].healthy
        assert [n for n, v in verdicts.items() if v.healthy] == ["healthy_noop"]
        # A destructive command in one sandbox leaves the others untouched.
        boxes[0].exec("svc stop all; rm -rf etc var")
        assert boxes[6].verify(FAST).healthy
        assert all((sb.workdir / "etc").exists() for sb in boxes[1:])
    finally:
        for sb in boxes:
            sb.teardown()
    assert all(sb.leftover_pids() == [] for sb in boxes)


def test_backend_selection_says_why() -> None:
    choice = select_backend("auto")
    assert choice.name in ("ns", "local", "docker") and choice.reason
    with pytest.raises(UsageError, match="unknown sandbox backend 'vm'"):
        select_backend("vm")


@pytest.mark.skipif(bool(os.environ.get("SRE_AGENT_TEST_DOCKER")), reason="engine present")
def test_docker_without_engine_is_a_clear_error() -> None:
    with pytest.raises(BackendUnavailable, match="docker") as info:
        select_backend("docker")
    assert "--sandbox" in (info.value.hint or "")


@needs_ns
def test_entering_commands_carry_no_harness_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # nsenter and setpriv are visible inside while they start: the environment is emptied
    # before them, not only before the shell.
    monkeypatch.setenv("SRE_ENTRY_CANARY", "canary-value-123456")
    with create_sandbox("healthy_noop", 1, "ns") as sb:
        script = (sb.root / "shell").read_text().splitlines()[-1]
        assert script.startswith("/usr/bin/env -i ")
        scan = "for i in $(seq 200); do cat /proc/[0-9]*/environ 2>/dev/null; done | " \
               "grep -c canary-value; true"
        background = sb.exec(f"( {scan} ) > var/tmp/scan.out 2>&1 &")
        assert background.exit_code == 0
        for _ in range(10):
            assert sb.exec("true").exit_code == 0
        import subprocess

        for _ in range(10):
            subprocess.run([str(sb.root / "shell"), "-c", "true"], check=True,
                           stdin=subprocess.DEVNULL, capture_output=True)
        sb.exec("sleep 1")
        assert sb.exec("cat var/tmp/scan.out").output.strip() in ("0", "")
