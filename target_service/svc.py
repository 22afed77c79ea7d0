"""`svc`: the supervisor's command-line client, used by people and the agent in the sandbox.

    svc status
    svc start|stop|restart [app|kv|all]
    svc logs [app|kv|supervisor] [-n N]

The workdir comes from `SVC_WORKDIR` (set by the `bin/svc` wrapper written into each sandbox).
"""

from __future__ import annotations

import os
import socket
import sys
from collections import deque
from pathlib import Path

USAGE = ("usage: svc status | svc start|stop|restart [app|kv|all] | "
         "svc logs [app|kv|supervisor] [-n N]")
LOGS = {"app": "service.log", "kv": "kv.log", "supervisor": "supervisor.log"}


def ask(workdir: Path, line: str) -> str:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    try:
        sock.connect(str(workdir / "run" / "supervisor.sock"))
    except OSError as exc:
        raise SystemExit(
            f"svc: supervisor not reachable ({exc.strerror}); is the sandbox up?") from None
    with sock:
        sock.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace").rstrip("\n")


def logs(workdir: Path, args: list[str]) -> int:
    name, count = "app", 40
    while args:
        if args[0] == "-n" and len(args) > 1 and args[1].isdigit():
            count, args = int(args[1]), args[2:]
        elif args[0] in LOGS:
            name, args = args[0], args[1:]
        else:
            sys.stderr.write(USAGE + "\n")
            return 2
    path = workdir / "var" / "log" / LOGS[name]
    if not path.exists():
        sys.stdout.write(f"(no log yet at var/log/{LOGS[name]})\n")
        return 0
    with path.open(errors="replace") as handle:
        for line in deque(handle, maxlen=count):
            sys.stdout.write(line)
    return 0


def main(argv: list[str]) -> int:
    workdir = Path(os.environ.get("SVC_WORKDIR") or os.getcwd())
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE + "\n")
        return 0 if argv else 2
    verb, rest = argv[0], argv[1:]
    if verb == "logs":
        return logs(workdir, rest)
    if verb in ("status", "wait") and not rest:
        reply = ask(workdir, verb)
    elif verb in ("start", "stop", "restart") and len(rest) <= 1:
        reply = ask(workdir, f"{verb} {rest[0] if rest else 'app'}")
    else:
        sys.stderr.write(USAGE + "\n")
        return 2
    sys.stdout.write(reply + "\n")
    return 1 if reply.startswith("error:") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
