"""Isolation for every user: per-user runtime directories, the holder design in whatever mode
this run has (root in CI; `nobody` when the `as_nobody` tests re-run this suite), and from a
root run, the sandbox suite and an offline incident as `nobody`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from sre_agent.doctor import run_doctor
from sre_agent.sandbox import SandboxError, create_sandbox, prune
from sre_agent.sandbox.common import runtime_root
from sre_agent.sandbox.guard import universal_wrapper
from tests.sandbox.unprivileged import Unprivileged
from tests.support import needs_ns

UID = os.geteuid()


# ---- the runtime directory: per user, private, a clear error when unusable ----------------
def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_runtime_dir_is_per_user_private_and_prefers_xdg(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.delenv("SRE_AGENT_RUNTIME_DIR")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    root = runtime_root()
    assert root == tmp_path / f"sre-agent-{UID}" / "sandboxes"
    assert _mode(root) == _mode(root.parent) == 0o700 and root.stat().st_uid == UID
    assert universal_wrapper().parent == root  # the shell guard lives there too
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    assert runtime_root() == xdg / "sre-agent" / "sandboxes"
    # another user's XDG_RUNTIME_DIR (kept through su/runuser) is not used
    other = tmp_path / "other"
    other.mkdir()
    if UID == 0:
        os.chown(other, 65534, 65534)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(other) if UID == 0 else "/")
    assert runtime_root() == tmp_path / f"sre-agent-{UID}" / "sandboxes"


def test_an_unusable_runtime_dir_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path, cli) -> None:  # noqa: ANN001
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SRE_AGENT_RUNTIME_DIR", str(blocker / "sandboxes"))
    with pytest.raises(SandboxError, match=f"runtime directory {blocker}/sandboxes cannot be "
                                           "created: Not a directory"):
        runtime_root()
    code, out, err = cli("run", "--scenario", "stale_lockfile", "--simulate", "--sandbox",
                         "local", "--disable-trace-log")
    assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"runtime directory {blocker}/sandboxes cannot be created" in err
    # the per-user directory in a shared /tmp: a planted link or a foreign owner is refused
    monkeypatch.delenv("SRE_AGENT_RUNTIME_DIR")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    planted = tmp_path / f"sre-agent-{UID}"
    planted.symlink_to(tmp_path)
    with pytest.raises(SandboxError, match=f"runtime directory {planted} is not a directory"):
        runtime_root()
    if UID == 0:
        planted.unlink()
        planted.mkdir(mode=0o700)
        os.chown(planted, 65534, 65534)
        with pytest.raises(SandboxError, match="belongs to uid 65534, not to you"):
            runtime_root()


# ---- the holder design, in this run's mode -------------------------------------------------
def _agent(workdir: Path, command: str) -> subprocess.CompletedProcess[str]:
    """What the agent's terminal does: the shell guard from a pane in the workdir."""
    return subprocess.run([str(universal_wrapper()), "-c", command], cwd=workdir, text=True,
                          capture_output=True, timeout=30, stdin=subprocess.DEVNULL)


@needs_ns
def test_agent_commands_cannot_write_outside_see_host_processes_or_reach_the_network(
        tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()  # the kernel would complete a handshake: no accept() needed
    outside = tmp_path / "written-from-inside"
    try:
        with create_sandbox("healthy_noop", 1, "ns") as sb:
            assert sb.describe()["mode"] == ("root" if UID == 0 else "rootless")
            targets = [outside, sb.root / "planted", Path("/usr/planted"), Path("/planted")]
            done = _agent(sb.workdir, "; ".join(f"touch {t}" for t in targets)
                          + "; echo x > ../planted; touch made-inside")
            assert not any(t.exists() for t in targets), done
            assert (sb.workdir / "made-inside").exists(), done  # the workdir is writable
            # host-wide kernel knobs: as root, uid 0 passes the sysctl permission check
            # without capabilities (core_pattern would run a host command); writing the same
            # value back is harmless if the sandbox failed to stop it
            ports = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
            knobs = _agent(sb.workdir, "test -w /proc/sys/kernel/core_pattern && echo CORE; "
                           "v=$(cat /proc/sys/fs/file-max); echo $v > /proc/sys/fs/file-max "
                           "&& echo FILEMAX; sysctl -w net.ipv4.ip_local_port_range='20000 "
                           "30000' >/dev/null 2>&1; true")
            assert "CORE" not in knobs.stdout and "FILEMAX" not in knobs.stdout, knobs
            # the sandbox's own network namespace's knobs stay its own (root may set them)
            assert Path("/proc/sys/net/ipv4/ip_local_port_range").read_text() == ports
            ps = _agent(sb.workdir, "ps -eo pid,args; cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
            assert "pytest" not in ps.stdout and len(ps.stdout.splitlines()) < 12, ps.stdout
            first = ps.stdout.splitlines()[1].split()
            assert first[0] == "1" and first[1].endswith("bwrap"), ps.stdout  # its own init
            # nothing of the harness is held inside: not the holder's lifeline pipe either
            fds = _agent(sb.workdir, "ls -l /proc/[0-9]*/fd/ 2>/dev/null").stdout
            if sb.holder is not None and sb.holder.lifeline is not None:
                assert f"pipe:[{os.fstat(sb.holder.lifeline).st_ino}]" not in fds, fds
            port = server.getsockname()[1]
            net = _agent(sb.workdir, f"ip -o link | wc -l; ip route; ip -6 route; curl -sS -m 2 "
                         f"http://127.0.0.1:{port}/ >/dev/null 2>&1; echo curl=$?; python3 -c "
                         "'import socket; socket.create_connection((\"192.0.2.1\", 80), 2)' "
                         "2>&1 | tail -1")
            lines = net.stdout.split("\n")
            assert lines[0] == "1", net.stdout  # only lo
            assert "default" not in net.stdout and "curl=7" in net.stdout, net.stdout
            assert "Network is unreachable" in net.stdout, net.stdout
    finally:
        server.close()
    assert sb.leftover_pids() == []


@needs_ns
def test_doctor_says_which_mode_runs_and_why() -> None:
    checks = {c.name: c for c in run_doctor().checks}
    ns = checks["sandbox ns"]
    assert ns.status == "ok" and f"mode {'root' if UID == 0 else 'rootless'}" in ns.detail
    assert "cgroup limits" in ns.detail  # enforced, or skipped with why
    assert checks["runtime dir"].status == "ok"
    if not os.environ.get("DOCKER_HOST"):
        assert checks["sandbox auto"].detail.startswith("runs use ns"), checks["sandbox auto"]


_OWNER = """
import json, os, sys, time
from sre_agent.sandbox import create_sandbox
# a worker's kept sandbox (no lifeline: it outlives this process), and an ordinary one
os.environ["SRE_AGENT_SANDBOX_OWNER"] = str(os.getpid())
kept = create_sandbox("healthy_noop", 1, "ns", keep=True).start()
del os.environ["SRE_AGENT_SANDBOX_OWNER"]
plain = create_sandbox("healthy_noop", 2, "ns").start()
print(json.dumps({"kept": [str(kept.root), kept.leftover_pids()],
                  "plain": [str(plain.root), plain.leftover_pids()]}), flush=True)
time.sleep(600)
"""


def _running(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            alive.append(pid)
    return alive


@needs_ns
def test_sandboxes_of_a_dead_harness_die_and_are_reaped() -> None:
    with subprocess.Popen([sys.executable, "-c", _OWNER], stdout=subprocess.PIPE, text=True,
                          env=os.environ.copy()) as owner:
        try:
            info = json.loads(owner.stdout.readline())  # type: ignore[union-attr]
        finally:
            owner.send_signal(signal.SIGKILL)  # no teardown, no atexit
            owner.wait(10)
    (kept_root, kept_pids), (plain_root, plain_pids) = info["kept"], info["plain"]
    deadline = time.monotonic() + 5
    while _running(plain_pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _running(plain_pids) == [], "the lifeline did not take the sandbox down"
    assert _running(kept_pids), "a kept sandbox outlives its harness (until reaped)"
    report = prune()
    assert {Path(kept_root).name, Path(plain_root).name} <= set(report.reaped), report
    assert _running(kept_pids) == [] and not Path(kept_root).exists()
    assert not Path(plain_root).exists()


# ---- from a root run: the same as `nobody` --------------------------------------------------
def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return lines[-1] if lines else output[-4000:]


@needs_ns
@pytest.mark.timeout(540)  # ~1 min on an idle 2-core machine; minutes when it is crowded
def test_as_nobody_the_sandbox_suite_and_an_offline_incident_pass(
        nobody: Unprivileged, monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract suite, the isolation assertions (this file's, and test_backends'), the
    shell guard, the reaper, with nothing skipped; and `sre-agent run` end to end, where root
    ran before. Both at once: each waits on sandboxes and the verifier more than it computes."""
    # Root ran here before (its runtime directory exists); nobody gets a directory of its own.
    shared_tmp = nobody.home / "tmp"
    shared_tmp.mkdir()
    shared_tmp.chmod(0o1777)
    monkeypatch.delenv("SRE_AGENT_RUNTIME_DIR")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    roots = runtime_root()
    trace = nobody.home / "trace.jsonl"
    suite = nobody.start([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                          "-m", "not docker", "-k", "not as_nobody",
                          "tests/sandbox/test_backends.py", "tests/sandbox/test_guard.py",
                          "tests/sandbox/test_rootless.py"])
    run = nobody.start([str(Path(sys.executable).parent / "sre-agent"), "run", "--scenario",
                        "stale_lockfile", "--simulate", "--trace-log", str(trace)],
                       env=nobody.env(TMPDIR=str(shared_tmp)))
    deadline = time.monotonic() + 500
    run_code, run_out = run.wait(deadline - time.monotonic())
    suite_code, suite_out = suite.wait(max(1.0, deadline - time.monotonic()))

    assert suite_code == 0, suite_out[-8000:]
    summary = _summary(suite_out)
    assert "passed" in summary and "skipped" not in summary, suite_out[-4000:]

    assert run_code == 0, run_out[-6000:]
    assert "sandbox ns: mode rootless" in " ".join(run_out.split()), run_out
    row = json.loads(trace.read_text().splitlines()[-1])
    assert row["sandbox_backend"] == "ns" and row["status"] == "fixed" and row["service_up"]
    mine = shared_tmp / f"sre-agent-{nobody.uid}"
    assert mine.stat().st_uid == nobody.uid and _mode(mine) == 0o700
    assert [p.name for p in (mine / "sandboxes").iterdir()] == ["sre-agent-shell"]
    assert roots.parent != mine and roots.stat().st_uid == 0 and _mode(roots) == 0o700


@needs_ns
def test_as_nobody_without_a_delegated_cgroup_limits_are_skipped_with_why(
        nobody: Unprivileged) -> None:
    probe = ("import json; from sre_agent.sandbox.limits import prepare_limits; "
             "from sre_agent.sandbox.ns import self_test; "
             "print(json.dumps([prepare_limits('probe').report(), self_test()]))")
    done = nobody.run([sys.executable, "-c", probe], delegate=False, timeout=60)
    assert done.returncode == 0, done.stderr
    limits, (usable, why) = json.loads(done.stdout)
    assert limits["enforced"] == {} and set(limits["skipped"]) == {"memory", "pids"}
    assert all(f"not writable by uid {nobody.uid}" in reason or "no cgroup" in reason
               for reason in limits["skipped"].values()), limits
    assert usable and "mode rootless" in why and "cgroup limits skipped" in why, why
