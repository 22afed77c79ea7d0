"""A whole look in one entry: framing, forged markers, caps, time-outs, the fallback."""

from __future__ import annotations

import pytest

from sre_agent.triage import batch
from sre_agent.triage.look import MAX_OUTPUT_BYTES, run_plan, sandbox_executor, shell_executor
from sre_agent.triage.model import HealthCheck, Plan
from tests.support import needs_ns

NONCE = "0123456789abcdef"


def _record(index: int, state: str, body: bytes, nonce: str = NONCE) -> bytes:
    return f"{nonce} {index} {state} {len(body)}\n".encode() + body


def test_records_parse_into_runs_and_the_code_comes_from_the_last_line() -> None:
    forged = b"x\n" + NONCE.encode() + b" rc 0 1 2\nmore\n"  # a command printing a marker
    out = (_record(0, "done", b"up\n\n" + NONCE.encode() + b" rc 3 10.0 10.5\n")
           + _record(1, "done", forged + b"\n" + NONCE.encode() + b" rc 9 1.0 1.25\n")
           + _record(2, "timeout", b"partial")
           + _record(3, "cut", b"y\n" * 10))
    runs = batch.parse(out, ["a", "b", "c", "d", "e"], NONCE, timeout=3.0)
    assert runs is not None
    assert (runs["a"].exit_code, runs["a"].output, runs["a"].duration_s) == (3, "up\n", 0.5)
    assert runs["b"].exit_code == 9 and runs["b"].output == forged.decode()
    assert runs["c"].timed_out and runs["c"].exit_code is None
    assert runs["d"].exit_code is None and runs["d"].output.endswith("[output truncated]")
    assert runs["e"].exit_code is None and runs["e"].output.startswith("[not run")


def test_a_record_with_another_nonce_or_a_short_body_ends_the_parse() -> None:
    assert batch.parse(_record(0, "done", b"x", nonce="f" * 16), ["a"], NONCE,
                       timeout=3.0) is None
    assert batch.parse(_record(0, "done", b"abc")[:-1], ["a"], NONCE, timeout=3.0) is None
    assert batch.parse(b"", ["a"], NONCE, timeout=3.0) is None  # the batch could not run


def test_the_nonce_must_be_hex_and_commands_are_quoted() -> None:
    with pytest.raises(ValueError):
        batch.script(["true"], "$(reboot)", timeout=1.0, cap=10, parallel=2)
    text = batch.script(["echo 'a b'; echo $HOME", "x"], NONCE, timeout=1.0, cap=10,
                        parallel=1)
    assert "cmds=('echo '\"'\"'a b'\"'\"'; echo $HOME' x)" in text
    assert "if (( running >= 1 ))" in text


COMMANDS = [
    "echo one; exit 3",
    "sleep 20; echo never",
    "yes",
    "printf 'a\\nb'; false",
    "echo to-stderr >&2",
    "(sleep 30 &); echo background",
    "printf '\\n%s rc 0 1 2\\n' forged",
    "cd /; pwd",
    "exit 7",
    "head -c 3 /dev/zero | tr '\\0' z",
]


@pytest.fixture(scope="module")
def sandbox(healthy_ns_sandbox):  # noqa: ANN001, ANN201
    return healthy_ns_sandbox


@needs_ns
@pytest.mark.parametrize("entry", ["sandbox", "shell"])
def test_one_entry_runs_every_command_bounded_and_leaves_nothing_running(sandbox,  # noqa: ANN001
                                                                         entry: str) -> None:
    execute = (sandbox_executor(sandbox) if entry == "sandbox"
               else shell_executor(sandbox.root))
    before = set(sandbox.leftover_pids())
    runs = execute.many(COMMANDS, 1.5)
    assert runs is not None and list(runs) == COMMANDS
    assert (runs[COMMANDS[0]].exit_code, runs[COMMANDS[0]].output) == (3, "one\n")
    assert runs[COMMANDS[1]].timed_out and "never" not in runs[COMMANDS[1]].output
    flood = runs[COMMANDS[2]]
    assert flood.exit_code is None and flood.output.endswith("[output truncated]")
    assert len(flood.output) <= MAX_OUTPUT_BYTES + 32
    assert (runs[COMMANDS[3]].exit_code, runs[COMMANDS[3]].output) == (1, "a\nb")
    assert runs[COMMANDS[4]].output == "to-stderr\n"
    held = runs[COMMANDS[5]]  # a child kept its output open: killed at the deadline
    assert held.timed_out and held.output == "background\n\n[timed out]"
    assert runs[COMMANDS[6]].exit_code == 0 and "forged" in runs[COMMANDS[6]].output
    assert runs[COMMANDS[7]].output == "/\n"  # each command in its own subshell
    assert runs[COMMANDS[8]].exit_code == 7
    assert runs[COMMANDS[9]].output == "zzz"
    assert set(sandbox.leftover_pids()) == before  # sleepers and the flood were killed


@needs_ns
def test_a_sandbox_without_a_writable_tmp_falls_back_to_one_entry_per_command(
        sandbox) -> None:  # noqa: ANN001
    execute = sandbox_executor(sandbox)
    assert sandbox.exec("chmod 0555 /tmp").exit_code == 0
    try:
        assert execute.many(["echo hi"], 1.0) is None
        plan = Plan(skills=[], health=[HealthCheck(name="h", run="echo hi")])
        runs, _ = run_plan(plan, execute)
        assert runs["echo hi"].output == "hi\n" and runs["echo hi"].exit_code == 0
    finally:
        sandbox.exec("chmod 1777 /tmp")
