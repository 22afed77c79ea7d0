"""The sandbox's process supervisor: runs a pack's programs, restarts them, reports.

Usage: supervisor.py WORKDIR CONFIG_JSON [--hold]

Runs *inside* the sandbox (stdlib only; it never imports sre_agent). CONFIG_JSON is the
program table the harness rendered from the pack: for each program its command, environment,
env file (re-read at every start), log, how to tell it is up, and whether it starts stopped.
The table comes on the command line, so nothing inside the sandbox can change which commands
run (configs in the workdir stay editable: that is where faults and fixes live).

Control is a line protocol on `WORKDIR/run/supervisor.sock` (see svc.py): `status`, `wait`,
`start|stop|restart NAME|all [MAX_WAIT_S]`, `programs` (JSON: name -> log). A start replies
once every program is settled, at most MAX_WAIT_S later (default SETTLE_TIMEOUT_S; one still
in its start-up wait or crash loop then shows STARTING or BACKOFF). With an explicit MAX_WAIT_S
(the triage command's bounded start), a STARTING program whose log since its start matches its
`ready.waiting` pattern (it says it waits for a dependency) counts as settled: it stays
STARTING until something else changes. A program that exits 3 times
within 10 s goes FATAL (a crash loop) and stays down until it is started again. With `--hold`
nothing starts until the first `start all` (so the harness can prepare the workdir first).
"""

from __future__ import annotations

import json
import os
import signal
import socketserver
import sys
import threading
import time
from pathlib import Path

# Run as a script in isolated mode (-I: the script's directory is not on sys.path): its
# sibling module comes from here, the package directory the harness mounts read-only.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from program import Program  # noqa: E402

TICK_BUSY_S = 0.03  # supervisor loop period while a program starts or backs off
TICK_SETTLED_S = 0.1  # ... and once every program is settled
SETTLE_TIMEOUT_S = 20.0  # the longest a start/restart/wait reply waits for settling


class Supervisor:
    def __init__(self, workdir: Path, config: dict, hold: bool) -> None:
        self.workdir = workdir
        base_env = config.get("base_env") or {}
        self.programs: dict[str, Program] = {}
        for spec in config["programs"]:
            program = Program(workdir, {**spec, "base_env": base_env})
            self.programs[program.name] = program
        self.default = config.get("default") or next(iter(self.programs))
        self.held = hold
        self.lock = threading.RLock()
        self.running = True

    def loop(self) -> None:
        # Tick fast while a program changes state, slower once all are settled: dozens of
        # sandboxes at once each wake their supervisor, and a settled one has little to do.
        while self.running:
            with self.lock:
                if not self.held:
                    now = time.monotonic()
                    for program in self.programs.values():
                        program.tick(now)
                busy = not self.held and any(
                    p.state in ("STARTING", "BACKOFF") for p in self.programs.values())
            time.sleep(TICK_BUSY_S if busy else TICK_SETTLED_S)

    def settled(self, bounded: bool = False) -> bool:
        """Every program where it will stay until something changes; `bounded` (a start with
        an explicit MAX_WAIT_S) also counts one that says it waits for a dependency."""
        if self.held:
            return True
        return all(
            (p.state in ("RUNNING", "FATAL", "EXITED") or (bounded and p.waiting()))
            if p.desired else p.state == "STOPPED"
            for p in self.programs.values())

    def wait_settled(self, timeout: float = SETTLE_TIMEOUT_S, bounded: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.settled(bounded):
                    return
            time.sleep(0.03)

    def status(self) -> str:
        with self.lock:
            now = time.monotonic()
            width = max(4, *(len(name) for name in self.programs))
            return "\n".join(p.status_line(now, width) for p in self.programs.values())

    def control(self, verb: str, target: str, wait: float = SETTLE_TIMEOUT_S,
                bounded: bool = False) -> str:
        names = list(self.programs) if target == "all" else [target]
        if any(name not in self.programs for name in names):
            return (f"error: unknown program {target!r} (programs: "
                    f"{', '.join(self.programs)}, all)")
        with self.lock:
            if target == "all" and verb == "start" and self.held:
                self.held = False  # the first start after --hold: the declared programs
                names = [n for n, p in self.programs.items() if p.desired]
            for name in names:
                program = self.programs[name]
                if verb in ("stop", "restart"):
                    program.stop()
                if verb in ("start", "restart"):
                    program.desired = True
                    program.exits.clear()
                    program.next_start = 0.0
                    if program.proc is None and not self.held:
                        program.spawn()
        if verb != "stop":
            self.wait_settled(wait, bounded)
        return self.status()

    def shutdown(self) -> None:
        self.running = False
        with self.lock:
            for program in self.programs.values():
                program.stop()


def max_wait(words: list[str]) -> float | None:
    """A start/restart line's MAX_WAIT_S (default SETTLE_TIMEOUT_S); None if not 0..that."""
    if not words:
        return SETTLE_TIMEOUT_S
    if len(words) > 1:
        return None
    try:
        wait = float(words[0])
    except ValueError:
        return None
    return wait if 0.0 <= wait <= SETTLE_TIMEOUT_S else None  # (also refuses nan)


def serve(sup: Supervisor) -> None:
    sock_path = sup.workdir / "run" / "supervisor.sock"
    sock_path.parent.mkdir(parents=True, exist_ok=True)
    sock_path.unlink(missing_ok=True)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            words = self.rfile.readline(4096).decode(errors="replace").split()
            if not words:
                return
            verb, target = words[0], (words[1] if len(words) > 1 else "")
            if verb == "status":
                reply = sup.status()
            elif verb == "wait":
                sup.wait_settled()
                reply = sup.status()
            elif verb == "programs":
                reply = json.dumps({"default": sup.default, "logs": {
                    n: str(p.log_path.relative_to(sup.workdir))
                    for n, p in sup.programs.items()}})
            elif verb in ("start", "stop", "restart"):
                wait = max_wait(words[2:])
                reply = (sup.control(verb, target or sup.default, wait, bounded=len(words) > 2)
                         if wait is not None
                         else f"error: MAX_WAIT_S must be one number of seconds, 0-"
                              f"{SETTLE_TIMEOUT_S:g} (got {' '.join(words[2:])!r})")
            else:
                reply = f"error: unknown command {verb!r} (status, start, stop, restart)"
            self.wfile.write(reply.encode() + b"\n")

    server = socketserver.ThreadingUnixStreamServer(str(sock_path), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> int:
    if len(sys.argv) < 3:
        sys.stderr.write("usage: supervisor.py WORKDIR CONFIG_JSON [--hold]\n")
        return 2
    workdir = Path(sys.argv[1]).resolve()
    config = json.loads(sys.argv[2])
    sup = Supervisor(workdir, config, hold="--hold" in sys.argv[3:])

    def on_term(*_: object) -> None:
        sup.shutdown()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    serve(sup)
    sup.loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
