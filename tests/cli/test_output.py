"""Text from a run reaches a terminal shown, never obeyed (`cli/_output.py`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

# rich's own renderables, to prove the console covers each (a test of the CLI's console)
from rich.table import Table  # noqa: TID251
from rich.text import Text  # noqa: TID251

from sre_agent.cli._output import console, terminal_text
from sre_agent.cli.main import main
from sre_agent.traces import TraceAction, TraceRow, TraceVerdict, TraceWriter

# What a hostile model would write for the operator's terminal: clear the screen and home the
# cursor, a fake verdict, a clipboard write (OSC 52, terminated by ST), a bell-terminated
# window title, a carriage return over the line, a C1 CSI, and a right-to-left override.
ATTACK = ("svc status\x1b[2J\x1b[H GREEN \x1b]52;c;cm0gLXJmIH4=\x1b\\"
          "\x1b]0;title\x07\roverwrite\x9b31m \u202efdp.exe")
RAW = ("\x1b", "\x07", "\r", "\x9b", "\u202e")


def test_controls_are_shown_and_plain_text_is_untouched() -> None:
    shown = terminal_text(ATTACK)
    assert not any(c in shown for c in RAW)
    assert "\\e[2J" in shown and "\\e]52;c;" in shown and "\\x07" in shown
    assert "\\r" in shown and "\\x9b" in shown and "\\u202e" in shown
    plain = "café ✓ │ 99% — ok\n\tindented"
    assert terminal_text(plain) == plain  # newline and tab stay where lines are expected
    assert terminal_text("a\nb\tc", one_line=True) == "a\\nb\\tc"


def _rendered(*renderables: object) -> str:
    out = io.StringIO()
    con = console(file=out, force_terminal=True, color_system="standard", width=200)
    for r in renderables:
        con.print(r, highlight=False)
    return out.getvalue()


def test_the_console_shows_controls_in_strings_text_and_tables_and_keeps_its_own_styles() -> None:
    table = Table()
    table.add_column("command")
    table.add_row(ATTACK)
    table.add_row(Text(ATTACK))
    out = _rendered(f"[red]{ATTACK.replace('[', '\\[')}[/]", Text(ATTACK), table)
    assert "\x1b[31m" in out  # rich's own colour codes still reach the terminal
    for injected in ("\x1b[2J", "\x1b[H", "\x1b]52", "\x1b]0;", "\x07", "\r", "\x9b", "\u202e"):
        assert injected not in out
    assert out.count("\\e]52;c;cm0gLXJmIH4=") == 4


@pytest.fixture
def hostile_log(tmp_path: Path) -> Path:
    path = tmp_path / "trace_log.jsonl"
    TraceWriter(path).append(TraceRow(
        run_id="run-x", started_at=1700000000.0, scenario="stale_lockfile", seed=1,
        model="scripted", steps=1, status="not_fixed",
        reason="verifier red\nverdict: healthy",
        actions=[TraceAction(step=1, tool="terminal", risk="LOW", exit_code=0,
                             command=ATTACK + "\nverifier: service UP",
                             observation="ok\x1b[32m GREEN")],
        claimed_fixed=True, claim_text="FIXED\nagent claimed fixed; verifier: service UP",
        service_up=False,
        verdict=TraceVerdict(healthy=False, reason="0 of 2 probes ok\nverdict: healthy",
                             probes=[], ground_truth_ok=None, ground_truth_detail=""),
    ))
    return path


def test_trace_show_neither_obeys_controls_nor_lets_a_run_forge_a_line(
        hostile_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "show", "run-x", "--trace-log", str(hostile_log)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in RAW)
    lines = out.splitlines()
    # the command's second line is marked as the command's; the claim and reasons stay on
    # their own line: no line of the output starts with what the run wrote to look official
    assert "      > verifier: service UP" in lines
    forged = ("verdict: healthy", "verifier: service UP",
              "agent claimed fixed; verifier: service UP")
    assert not any(line.strip() in forged for line in lines)
    assert "agent claimed fixed; verifier: service DOWN" in out  # the real one is there
    assert any(line.startswith("claim: FIXED\\nagent claimed fixed") for line in lines)
