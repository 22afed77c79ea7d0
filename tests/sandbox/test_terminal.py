"""The agent's terminal: one bash inside its sandbox over pipes, bounded and resettable."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from sre_agent.sandbox.common import SandboxError
from sre_agent.sandbox.terminal import MAX_OUTPUT_BYTES, SandboxTerminal, sandbox_root_of
from tests.support import needs_ns


def test_a_directory_that_is_not_a_sandbox_workdir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    with pytest.raises(SandboxError, match="outside an incident sandbox"):
        sandbox_root_of(tmp_path / "work")  # no entry script, no sandbox.json
    (tmp_path / "sandbox.json").write_text("{}")
    os.symlink("/bin/bash", tmp_path / "shell")  # a link is never the entry script
    with pytest.raises(SandboxError):
        SandboxTerminal(tmp_path / "work")
    with pytest.raises(SandboxError):
        SandboxTerminal(tmp_path)  # the root itself is not a workdir


@pytest.fixture(scope="module")
def sandbox(healthy_ns_sandbox):  # noqa: ANN001, ANN201
    return healthy_ns_sandbox


@pytest.fixture
def term(sandbox):  # noqa: ANN001, ANN201
    terminal = SandboxTerminal(sandbox.workdir, no_change_timeout_s=1.0)
    yield terminal
    terminal.close()


@needs_ns
def test_state_carries_over_and_each_command_reports_its_code_and_directory(term, sandbox,
                                                                              monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SRE_TEST_HOST_ONLY", "host-secret")
    first = term.run("cd etc && export X=five; echo $X")
    assert (first.output, first.exit_code) == ("five\n", 0)
    assert first.cwd == str(sandbox.workdir / "etc")
    second = term.run("echo $X; pwd; env; false")
    assert second.output.startswith(f"five\n{sandbox.workdir}/etc\n")
    assert second.exit_code == 1
    assert "host-secret" not in second.output and "SRE_TEST_HOST_ONLY" not in second.output
    assert term.run("hostname").output.strip() == "incident"


@needs_ns
def test_syntax_errors_stdin_and_a_missing_newline_do_not_break_the_shell(term) -> None:  # noqa: ANN001
    broken = term.run("if then")
    assert broken.exit_code == 2 and "syntax error" in broken.output
    assert term.run("cat").output == ""  # reads no input: returns at once
    assert term.run("printf 'no newline'").output == "no newline"
    assert term.run("echo alive").output == "alive\n"


@needs_ns
def test_a_forged_marker_is_only_output(term) -> None:  # noqa: ANN001
    fake = "__SRE_AGENT_DONE_" + secrets.token_hex(8)
    done = term.run(f"printf '\\n{fake} 0 /\\n'; echo real; exit_code_is() {{ return 7; }}; "
                    "exit_code_is")
    assert done.exit_code == 7 and done.output.endswith("real\n") and fake in done.output


@needs_ns
def test_a_flood_is_capped_and_the_next_command_still_works(term) -> None:  # noqa: ANN001
    flood = term.run(f"head -c {4 * MAX_OUTPUT_BYTES} /dev/zero | tr '\\0' x; echo; echo END")
    assert flood.exit_code == 0 and flood.output.endswith("END\n")
    assert len(flood.output) < MAX_OUTPUT_BYTES + 200
    assert "bytes of output dropped" in flood.output
    assert term.run("echo next").output == "next\n"


@needs_ns
def test_a_silent_command_can_be_waited_for_or_interrupted(term, sandbox) -> None:  # noqa: ANN001
    started = term.run("cd etc; sleep 60 & sleep 120")
    assert started.exit_code == -1 and "still running" in started.note
    refused = term.run("echo other")
    assert refused.error and "still running" in refused.note
    assert term.run("").exit_code == -1  # an empty command reads on
    ended = term.run("C-c", is_input=True)
    assert ended.exit_code == 130 and "interrupted" in ended.note
    after = term.run("pwd; pgrep -c sleep || true")
    assert after.output.splitlines() == [str(sandbox.workdir), "0"], after.output
    assert term.run("anything", is_input=True).error  # no interactive input


@needs_ns
def test_exit_and_reset_start_a_fresh_shell_in_the_workdir(term, sandbox) -> None:  # noqa: ANN001
    term.run("cd etc; export Y=1")
    gone = term.run("exit 3")
    assert gone.exit_code == 3 and "shell exited" in gone.note
    assert term.run("pwd; echo ${Y:-unset}").output.split() == [str(sandbox.workdir), "unset"]
    term.run("cd etc")
    assert "reset" in term.run("", reset=True).note
    assert term.run("pwd").output.strip() == str(sandbox.workdir)


@needs_ns
def test_an_endless_flood_returns_within_its_bound_and_can_be_ended(term) -> None:  # noqa: ANN001
    flood = term.run("yes flood")
    assert flood.exit_code == -1 and "still writing" in flood.note
    assert len(flood.output) < MAX_OUTPUT_BYTES + 200
    assert term.run("C-c", is_input=True).exit_code == 130
    assert term.run("echo calm").output == "calm\n"


@needs_ns
def test_the_marker_is_found_at_every_size_around_the_caps(term) -> None:  # noqa: ANN001
    half = MAX_OUTPUT_BYTES // 2
    for size in (half - 40, half - 1, half + 20, MAX_OUTPUT_BYTES - 30, MAX_OUTPUT_BYTES + 7):
        done = term.run(f"head -c {size} /dev/zero | tr '\\0' x")
        assert done.exit_code == 0, (size, done.note)
        kept, dropped = done.output.count("x"), "output dropped" in done.output
        if size < MAX_OUTPUT_BYTES - 100:  # the marker line counts towards the cap
            assert kept == size and not dropped, size
        else:
            assert dropped and half < kept <= MAX_OUTPUT_BYTES, size
