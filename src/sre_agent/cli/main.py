"""Root of the `sre-agent` CLI: wires the command groups and renders errors once.

Each command group lives in its own module under `sre_agent.cli` and exposes a Typer `app`
(a group) or `command` (a single command). Keep imports here light: `--help` must be fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

from sre_agent.errors import SreAgentError

# Typer vendors click; reach its exception classes through typer's public ones.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")

# (module, name shown to users, kind): "group" modules expose `app`, "command" modules `command`.
_COMMANDS: list[tuple[str, str, str]] = [
    ("sre_agent.cli.scenarios", "scenarios", "group"),
    ("sre_agent.cli.skills", "skills", "group"),
    ("sre_agent.cli.run", "run", "command"),
    ("sre_agent.cli.verify", "verify", "command"),
    ("sre_agent.cli.risk", "risk", "command"),
    ("sre_agent.cli.scorecard", "scorecard", "command"),
    ("sre_agent.cli.trace", "trace", "group"),
    ("sre_agent.cli.fanout", "fanout", "command"),
    ("sre_agent.cli.worker", "worker", "command"),
    ("sre_agent.cli.serve", "serve", "command"),
    ("sre_agent.cli.optimize", "optimize", "command"),
    ("sre_agent.cli.doctor", "doctor", "command"),
]


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="sre-agent",
        help="Skills-first SRE agent: route an incident to a runbook, repair it in a sandbox "
        "with an OpenHands agent, prove it with an independent verifier, trace and score it.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    for module_name, name, kind in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # command group not built yet
            raise
        if kind == "group":
            app.add_typer(module.app, name=name)
        else:
            app.command(name=name, help=module.command.__doc__)(module.command)
    return app


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Returns the process exit code."""
    from sre_agent.settings import load_dotenv_files

    load_dotenv_files()
    app = build_app()
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
        sys.stderr.write(f"error: {message} (see `{where} --help`)\n")
        return 2
    except _ClickException as exc:
        sys.stderr.write(f"error: {' '.join(exc.format_message().split())}\n")
        return 2
    except SreAgentError as exc:
        sys.stderr.write(f"error: {exc.one_line()}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
