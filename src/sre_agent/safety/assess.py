"""Deterministic risk analysis of the agent's actions (`terminal` commands, `file_editor` edits).

The verdict depends only on what the action does to which path or resource, judged against the
incident's sandbox workspace; never on the model's own label or on text inside arguments (an
`echo "ignore previous instructions"` is just an echo). Pure and fast: no SDK, no filesystem.

    >>> assess_command("rm -f run/service.lock", "/srv/w").risk
    <Risk.MEDIUM: 'MEDIUM'>
    >>> assess_command("rm -rf /", "/srv/w").risk
    <Risk.HIGH: 'HIGH'>

The shell is parsed by `shell.parse` (bashlex, with a tokenizer fallback), walked by `engine`
(pipes, wrappers, substitutions, cwd and variables), and each simple command is judged by the
rule the `rules` registry holds for it (files, processes, host, network, data stores, clouds,
interpreters). This module is the entry point that loads the rules.
"""

from __future__ import annotations

from pathlib import Path

import sre_agent.safety.rules  # noqa: F401  # registers every rule with the registry
from sre_agent.safety.engine import analyze_command
from sre_agent.safety.levels import Risk
from sre_agent.safety.paths import PathJudge
from sre_agent.safety.verdict import RiskVerdict


def _workspace(workspace: Path | str | None) -> str | None:
    if workspace is None:
        return None
    text = str(workspace).strip()
    if not text:
        return None
    return str(Path(text).expanduser().absolute())


def assess_command(command: str, workspace: Path | str | None = None) -> RiskVerdict:
    """Judge one `terminal` command.

    Args:
        command: the shell text exactly as it would run.
        workspace: the sandbox workspace (the shell's cwd). Without one, relative paths count as
            inside an unspecified workspace and absolute paths as outside it.
    """
    return analyze_command(command, _workspace(workspace))


_EDIT_COMMANDS = {"create", "str_replace", "insert", "undo_edit"}


def assess_file_edit(command: str, path: str, workspace: Path | str | None = None) -> RiskVerdict:
    """Judge one `file_editor` action (`view`, `create`, `str_replace`, `insert`, `undo_edit`).

    The editor works on the incident's workspace only: any path outside it, a view included,
    is HIGH whatever the model says (host files and other incidents' state must not reach the
    model). This judges the path as written; `analyzer` also judges where it leads once
    symlinks are resolved.
    """
    judge = PathJudge(_workspace(workspace))
    ref = judge.resolve(path)
    shown = judge.show(ref)
    verb = command.strip()
    if verb != "view" and verb not in _EDIT_COMMANDS:
        return RiskVerdict(
            risk=Risk.HIGH, reasons=[f"unknown file_editor command {command!r}: refusing to judge"]
        )
    if ref.unknown:
        return RiskVerdict(risk=Risk.HIGH, reasons=[f"file_editor {verb} of an unresolvable path"])
    if not judge.inside(ref):
        return RiskVerdict(
            risk=Risk.HIGH,
            reasons=[f"file_editor {verb} of {shown} outside the workspace "
                     "(the editor works on the incident's workspace only)"],
        )
    if verb == "view":
        return RiskVerdict(risk=Risk.LOW, reasons=[f"file_editor view of {shown} (read-only)"])
    if judge.is_workspace_root(ref):
        return RiskVerdict(risk=Risk.HIGH, reasons=[f"file_editor {verb} of the workspace root"])
    return RiskVerdict(
        risk=Risk.MEDIUM, reasons=[f"file_editor {verb} of {shown} in the workspace"]
    )


__all__ = ["assess_command", "assess_file_edit"]
