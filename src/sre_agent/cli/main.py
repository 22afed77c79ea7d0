"""Root of the `sre-agent` CLI: wires the command groups and renders errors once.

Each command (group) lives in its own module under `sre_agent.cli` and exposes a Typer `app`
(a group) or `command` (a single command). Modules are imported only when their command runs,
so `sre-agent --help` and the fast commands never pay for the others.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from sre_agent.cli._output import terminal_text
from sre_agent.errors import SreAgentError
from sre_agent.safety import RedactingFilter, Redactor
from sre_agent.settings import load_dotenv_files

# Typer vendors click; reach its exception classes through typer's public ones.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")

# name -> (module, kind, one-line help shown by `sre-agent --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("sre_agent.cli.run", "command", "Repair one incident end to end (exit 0 = green)."),
    "fanout": ("sre_agent.cli.fanout", "command", "Many incidents at once, locally or on "
               "remote workers."),
    "verify": ("sre_agent.cli.verify", "command", "Ask the verifier gate about a sandbox."),
    "triage": ("sre_agent.cli.triage", "command", "Look at a system: which runbooks the "
               "evidence supports."),
    "scenarios": ("sre_agent.cli.scenarios", "group", "The scenario catalogue."),
    "skills": ("sre_agent.cli.skills", "group", "The skill catalogue and the incident router."),
    "risk": ("sre_agent.cli.risk", "command", "Judge a command's risk under the policy."),
    "scorecard": ("sre_agent.cli.scorecard", "command", "Score runs from the trace log."),
    "trace": ("sre_agent.cli.trace", "group", "Recent runs and one run's timeline."),
    "worker": ("sre_agent.cli.worker", "command", "Start a remote worker (agent-server)."),
    "sandbox": ("sre_agent.cli.sandbox", "group", "Kept sandboxes: create, verify, destroy "
                "(used by remote workers)."),
    "serve": ("sre_agent.cli.serve", "command", "The web UI (127.0.0.1:8008)."),
    "optimize": ("sre_agent.cli.optimize", "command", "Improve a skill from runs, behind a "
                 "regression gate."),
    "doctor": ("sre_agent.cli.doctor", "command", "Preflight: what this machine can do."),
}


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


class LazyGroup(TyperGroup):
    """Imports a command's module only when that command is invoked (or asked for --help)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module_name, kind, _help = COMMANDS[cmd_name]
        module = importlib.import_module(module_name)
        if kind == "group":
            group = typer.main.get_command(module.app)
            group.name = cmd_name
            return group
        single = typer.Typer(add_completion=False, rich_markup_mode=None)
        single.command(name=cmd_name, help=module.command.__doc__)(module.command)
        return typer.main.get_command(single)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="sre-agent", cls=LazyGroup, no_args_is_help=True, add_completion=False,
    pretty_exceptions_enable=False, rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Skills-first SRE agent: route an incident to a runbook, repair it in a sandbox with an
    OpenHands agent, prove it with an independent verifier, trace and score it."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Returns the process exit code."""

    load_dotenv_files()
    _log_to_stderr()
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="sre-agent", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 130
    except _UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare group: show its help
            sys.stdout.write(exc.format_message() + "\n")
            return 0
        where = exc.ctx.command_path if exc.ctx else "sre-agent"
        message = " ".join(exc.format_message().split())
        sys.stderr.write(terminal_text(f"error: {message} (see `{where} --help`)") + "\n")
        return 2
    except _ClickException as exc:
        sys.stderr.write(terminal_text(f"error: {' '.join(exc.format_message().split())}")
                         + "\n")
        return 2
    except SreAgentError as exc:
        sys.stderr.write(terminal_text(f"error: {exc.one_line()}", one_line=True) + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception:  # a bug: keep its traceback, but never a secret in it
        import traceback

        sys.stderr.write(terminal_text(Redactor.from_environment().redact(traceback.format_exc())))
        return 1
    return code if isinstance(code, int) else 0


def _terminal_formatter(fmt: str) -> Any:
    """A log formatter whose output shows control characters instead of sending them (a
    logged message may quote a command or an output of the agent's)."""
    import logging

    class TerminalFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return terminal_text(super().format(record))

    return TerminalFormatter(fmt)


def _log_to_stderr() -> None:
    """Warnings and errors of the core go to stderr, redacted (stdout carries results)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_terminal_formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    if not any(getattr(h, "sre_agent", False) for h in root.handlers):
        handler.sre_agent = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.WARNING:
            root.setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
