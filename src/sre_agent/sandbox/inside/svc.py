"""`svc`: the supervisor's command-line client, used by people and the agent in the sandbox.

    svc status
    svc start|stop|restart [PROGRAM|all]     (default: the service's main program)
    svc logs [PROGRAM|supervisor] [-n N]      (default: the main program, 40 lines)

The workdir comes from `SVC_WORKDIR` (set by the `bin/svc` wrapper written into each sandbox).
Stdlib only; runs inside the sandbox. Called many times per incident (by the agent and by
triage), so it imports little: `_socket`, not `socket` (whose enums cost more than the
interpreter's own start, ~13 ms of CPU a call), no pathlib, json only for `logs`.
"""

from __future__ import annotations

import _socket
import os
import sys

USAGE = ("usage: svc status | svc start|stop|restart [PROGRAM|all] | "
         "svc logs [PROGRAM|supervisor] [-n N]")


def ask(workdir: str, line: str) -> str:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(60)
        try:
            sock.connect(os.path.join(workdir, "run", "supervisor.sock"))
        except OSError as exc:
            raise SystemExit(
                f"svc: supervisor not reachable ({exc.strerror}); is the sandbox up?") from None
        sock.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    finally:
        sock.close()
    return b"".join(chunks).decode(errors="replace").rstrip("\n")


def logs(workdir: str, args: list[str]) -> int:
    import json  # stdlib, only here: `status` and friends skip its start-up cost
    from collections import deque

    table = json.loads(ask(workdir, "programs"))
    paths = {**table["logs"], "supervisor": "var/log/supervisor.log"}
    name, count = table["default"], 40
    while args:
        if args[0] == "-n" and len(args) > 1 and args[1].isdigit():
            count, args = int(args[1]), args[2:]
        elif args[0] in paths:
            name, args = args[0], args[1:]
        else:
            sys.stderr.write(USAGE + f"\n(programs: {', '.join(table['logs'])})\n")
            return 2
    path = os.path.join(workdir, paths[name])
    if not os.path.exists(path):
        sys.stdout.write(f"(no log yet at {paths[name]})\n")
        return 0
    with open(path, errors="replace") as handle:
        for line in deque(handle, maxlen=count):
            sys.stdout.write(line)
    return 0


def main(argv: list[str]) -> int:
    workdir = os.environ.get("SVC_WORKDIR") or os.getcwd()
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE + "\n")
        return 0 if argv else 2
    verb, rest = argv[0], argv[1:]
    if verb == "logs":
        return logs(workdir, rest)
    if verb in ("status", "wait") and not rest:
        reply = ask(workdir, verb)
    elif verb in ("start", "stop", "restart") and len(rest) <= 1:
        reply = ask(workdir, f"{verb} {rest[0] if rest else ''}".strip())
    else:
        sys.stderr.write(USAGE + "\n")
        return 2
    sys.stdout.write(reply + "\n")
    return 1 if reply.startswith("error:") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
