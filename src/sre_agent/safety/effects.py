"""Effects that several rule modules judge the same way, beside the path effects on `Call`:
data sent to a host (exfiltration), processes killed by what they use, processes selected for a
later `kill`, destructive data-store statements.
"""

from __future__ import annotations

import re

from sre_agent.safety.call import Call
from sre_agent.safety.hosts import is_loopback
from sre_agent.safety.levels import Risk

_DESTRUCTIVE_SQL = re.compile(
    r"\bDROP\s+(DATABASE|SCHEMA|TABLE|KEYSPACE|USER|ROLE|INDEX|VIEW|COLLECTION|OWNED)\b|"
    r"\bTRUNCATE\b|\bDELETE\s+FROM\s+[\w.\"`]+\s*(;|$|\)|')|\bFLUSHALL\b|\bFLUSHDB\b|"
    r"dropDatabase|\.drop\s*\(|deleteMany\s*\(\s*\{\s*\}\s*\)|\.remove\s*\(\s*\{\s*\}\s*\)|"
    r"\bALTER\s+TABLE\s+\S+\s+DROP\b|\bUPDATE\s+[\w.\"`]+\s+SET\s+[^;]*?(;|$)(?<!WHERE)|"
    r"\bSHUTDOWN\b|\bDEBUG\s+(SEGFAULT|SLEEP)\b|\bCONFIG\s+SET\b|\bSLAVEOF\b|\bREPLICAOF\b|"
    r"\bMODULE\s+LOAD(EX)?\b",
    re.I)


def destructive(call: Call, text: str) -> bool:
    """`text` (statements for a data store) drops, empties or shuts it down: HIGH."""
    m = _DESTRUCTIVE_SQL.search(text)
    if m:
        call.add(Risk.HIGH, f"destructive data-store statement ({m.group(0).strip()[:40]})")
    return m is not None


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


__all__ = ["destructive", "kill_by_resource", "sends", "tag_process_selection"]
