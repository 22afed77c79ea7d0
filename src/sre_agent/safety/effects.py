"""Effects that several rule modules judge the same way, beside the path effects on `Call`:
data sent to a host (exfiltration), processes killed by what they use, processes selected for a
later `kill`.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call
from sre_agent.safety.hosts import is_loopback
from sre_agent.safety.levels import Risk


def sends(call: Call, host: str | None, what: str, *, from_stdin: bool = False) -> None:
    """`call` sends data to `host`: secrets anywhere or anything to a remote host is HIGH."""
    stdin_tags = call.stdin.tags if call.stdin and from_stdin else set()
    secret = "secret" in stdin_tags or "secret" in call.subtags
    if secret:
        call.add(Risk.HIGH, f"sends secrets (environment or credential data) to {host or '?'}")
    elif not is_loopback(host):
        call.add(Risk.HIGH, f"{what} to remote host {host or '(unknown)'} (exfiltration)")
    else:
        call.add(Risk.MEDIUM, f"{what} to the local service {host}")


def kill_by_resource(call: Call, operands: list[str]) -> None:
    """`fuser -k X`: every process using X dies; only a workspace path keeps it in the sandbox."""
    for operand in operands:
        ref = call.ref(operand)
        port = re.fullmatch(r"\d+/(tcp|udp)", operand)
        if "/" in operand and not port and call.judge.inside(ref):
            call.add(Risk.MEDIUM, f"kills processes using {call.show(ref)}")
        else:
            call.add(Risk.HIGH, f"kills every process using {operand} on the host")


def tag_process_selection(call: Call, operands: list[str]) -> None:
    """`pgrep x`, `pidof x`: the output names processes host-wide unless scoped to the
    workspace, so `kill $(pgrep x)` is judged by it."""
    ws = call.judge.workspace
    scoped = any(ws in operand for operand in operands)
    call.out.tags.add("procsel_scoped" if scoped else "procsel")


__all__ = ["kill_by_resource", "sends", "tag_process_selection"]
