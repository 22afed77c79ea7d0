"""A whole look in one entry into the sandbox: one bash runs every command of the plan.

Entering the sandbox costs three or four programs (nsenter, setpriv, env, bash) before a
check's own command runs; a look has about a dozen checks and an incident takes three looks,
so at concurrency 32 the entries alone were ~10% of the machine. Here one bash (entered once)
runs the commands `parallel` at a time (the next starts when one ends), each in its own
subshell and process group; a reader of its own caps its output (stdout and stderr) and
bounds it in time from its start, and keeps it in a private temporary directory until all are
done; a command past its time or its cap is killed with its whole group. The records come
back framed by a random nonce and their byte length, so nothing a command prints can forge
another record or its own exit code (the code is read from the last line of its record,
written after the command ended).

When the batch itself cannot run (no writable /tmp in the sandbox, e.g. a full or locked
one), `parse` returns None and the caller runs the commands one entry each.
"""

from __future__ import annotations

import re
import shlex

from sre_agent.triage.model import CheckRun

FAILED = 97  # the batch's own exit code when it could not set itself up
_RECORD = re.compile(rb"([0-9a-f]{16}) (\d+) (done|timeout|cut) (\d+)\n")

_SCRIPT = r"""
exec 2>/dev/null
export LC_ALL=C
n=%(nonce)s; cap=%(cap)d; t=%(timeout)s
cmds=(%(commands)s)
d=$(mktemp -d) || exit %(failed)d
trap 'rm -rf -- "$d"' EXIT
set -m
job() {
  { s=$EPOCHREALTIME; ( eval "${cmds[$1]}" ) </dev/null 2>&1
    printf '\n%%s rc %%d %%s %%s\n' "$n" "$?" "$s" "$EPOCHREALTIME"; } | {
    got=; st=done
    IFS= read -r -N "$cap" -t "$t" got; r=$?
    if (( r > 128 )); then st=timeout; elif (( r == 0 && ${#got} >= cap )); then st=cut; fi
    printf '%%s %%d\n%%s' "$st" "${#got}" "$got" >"$d/$1"
    [[ $st == done ]] || kill -KILL 0
  }
}
running=0
for i in "${!cmds[@]}"; do
  if (( running >= %(parallel)d )); then wait -n; running=$(( running - 1 )); fi
  job "$i" &
  running=$(( running + 1 ))
done
wait
for i in "${!cmds[@]}"; do
  [[ -f $d/$i ]] || continue
  IFS= read -r -d '' rec <"$d/$i"
  printf '%%s %%d %%s' "$n" "$i" "$rec"
done
"""


def script(commands: list[str], nonce: str, *, timeout: float, cap: int, parallel: int) -> str:
    """The bash program that runs `commands` (see the module docstring)."""
    if not re.fullmatch(r"[0-9a-f]{16}", nonce):
        raise ValueError("the nonce is 16 lowercase hex digits")
    return _SCRIPT % {
        "nonce": nonce, "cap": cap, "timeout": f"{timeout:.3f}",
        "commands": " ".join(shlex.quote(c) for c in commands), "failed": FAILED,
        "parallel": parallel,
    }


def budget(commands: list[str], *, timeout: float, parallel: int) -> float:
    """How long the whole batch may take: `parallel` at a time all using their whole time, and
    a margin to enter and leave."""
    rounds = -(-len(commands) // parallel)
    return rounds * timeout + 2.0


def output_bound(commands: list[str], *, cap: int) -> int:
    """The most output the batch can print (every record at its cap, with its header)."""
    return len(commands) * (cap + 64) + 1024


def parse(output: bytes, commands: list[str], nonce: str,
          *, timeout: float) -> dict[str, CheckRun] | None:
    """The runs of a batch's output; None when the batch did not run (caller: one by one).
    A command without a complete record (the batch was cut short) did not run."""
    runs: dict[str, CheckRun] = {}
    at = 0
    key = nonce.encode()
    while True:
        head = _RECORD.match(output, at)
        if head is None or head.group(1) != key:
            break
        index, state, size = int(head.group(2)), head.group(3).decode(), int(head.group(4))
        body = output[head.end():head.end() + size]
        if len(body) < size or index >= len(commands):
            break
        at = head.end() + size
        runs[commands[index]] = _run(commands[index], state, body, key, timeout)
    if not runs:
        return None
    for command in commands:
        runs.setdefault(command, CheckRun(command=command, exit_code=None,
                                          output="[not run: the look was cut short]",
                                          duration_s=0.0))
    return runs


def _run(command: str, state: str, body: bytes, nonce: bytes, timeout: float) -> CheckRun:
    if state == "done":
        text, sep, trailer = body.rpartition(b"\n" + nonce + b" rc ")
        fields = trailer.split()
        if sep and len(fields) == 3:
            try:
                code = int(fields[0])
                took = max(0.0, float(fields[2]) - float(fields[1]))
            except ValueError:
                pass
            else:
                return CheckRun(command=command, exit_code=code, output=_text(text),
                                duration_s=round(took, 4))
        return CheckRun(command=command, exit_code=None, output=_text(body), duration_s=0.0)
    if state == "cut":
        return CheckRun(command=command, exit_code=None,
                        output=_text(body) + "\n[output truncated]", duration_s=0.0)
    text, sep, _trailer = body.rpartition(b"\n" + nonce + b" rc ")  # ended, output held open
    return CheckRun(command=command, exit_code=None,
                    output=_text(text if sep else body) + "\n[timed out]",
                    duration_s=timeout, timed_out=True)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


__all__ = ["FAILED", "budget", "output_bound", "parse", "script"]
