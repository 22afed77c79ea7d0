"""`sre-agent worker`: run an OpenHands agent-server that `sre-agent fanout --worker` can use,
or (with --queue) pull incidents from a durable queue and run them here."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

import typer

from sre_agent.cli._output import note
from sre_agent.errors import UsageError
from sre_agent.fleet import QueueWorker, Worker, open_queue, worker_config
from sre_agent.fleet.attempt import Outcome
from sre_agent.fleet.queue import QUEUE_URL_ENV, Claim


def command(
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to bind (loopback unless --allow-remote)."),
    port: int | None = typer.Option(None, "--port",
                                    help="Port to bind (default: a free one)."),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="SRE_AGENT_WORKER_API_KEY", show_envvar=True,
        help="Session API key clients must send (generated and shown once if not given)."),
    workdir: str | None = typer.Option(
        None, "--workdir", help="The worker's state directory (default: under artifacts/)."),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="Allow binding a non-loopback address."),
    queue: Optional[str] = typer.Option(  # noqa: UP045 (typer needs Optional)
        None, "--queue", help=f"Pull incidents from this durable queue (sqlite:///FILE or "
        f"redis://...) and run them here, in this machine's sandboxes, instead of serving "
        f"an agent-server. {QUEUE_URL_ENV} is not read: name the queue."),
    slots: int = typer.Option(2, "--slots", min=1, help="--queue: incidents run at once."),
    jobs: Optional[str] = typer.Option(  # noqa: UP045
        None, "--jobs", help="--queue: only these jobs (comma-separated fan-out ids)."),
    name: Optional[str] = typer.Option(  # noqa: UP045
        None, "--name", help="--queue: this worker's name in results (default: host name)."),
    idle_exit_s: Optional[float] = typer.Option(  # noqa: UP045
        None, "--idle-exit-s", min=0.0, help="--queue: exit after this long with nothing "
        "to run (default: run until Ctrl-C or SIGTERM)."),
    lease_s: Optional[float] = typer.Option(  # noqa: UP045
        None, "--lease-s", min=0.5, help="--queue: lease of a claimed incident, renewed every "
        "third of it (default 30 s)."),
    parent_pid: Optional[int] = typer.Option(  # noqa: UP045
        None, "--parent-pid", min=1, help="--queue: stop (giving back what runs) when this "
        "process, our parent, is gone (set by `fanout --procs`)."),
    ready_fd: Optional[int] = typer.Option(  # noqa: UP045
        None, "--ready-fd", min=0, hidden=True, help="--queue: write one line to this "
        "inherited file descriptor once warmed up, then close it (set by `fanout --procs`)."),
) -> None:
    """Start a worker: an OpenHands agent-server whose terminals enter incident sandboxes
    (for `fanout --workers URL`), or, with --queue URL, a queue worker that claims incidents
    from the durable queue and runs them in this machine's own sandboxes.

    Runs until Ctrl-C or SIGTERM, then stops and tears down its sandboxes; a queue worker
    gives its unfinished incidents back to the queue for another worker.
    """
    if queue:
        _queue_worker(queue, slots=slots, jobs=jobs, name=name, idle_exit_s=idle_exit_s,
                      lease_s=lease_s, parent_pid=parent_pid, ready_fd=ready_fd)
        return
    config = worker_config(host, port, api_key, Path(workdir) if workdir else None,
                           allow_remote=allow_remote)
    worker = Worker(config)

    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    note(f"starting the agent-server on {config.url} (state: {config.workdir}) ...")
    t0 = time.perf_counter()
    exit_code = 0
    try:
        worker.start()
        if worker.reaped_at_start:
            note(f"tore down {len(worker.reaped_at_start)} sandbox(es) left by a previous run")
        note(f"worker ready in {time.perf_counter() - t0:.1f}s: {config.url}")
        if config.generated_key:  # shown once, on stderr only; never written anywhere
            note(f"session API key (pass it to fanout): {config.api_key}")
        note(f"use: sre-agent fanout --worker {config.url} ... ; Ctrl-C to stop")
        exit_code = worker.wait()
        note(f"the agent-server exited (code {exit_code}); see {worker.log_path}")
    except KeyboardInterrupt:
        note("stopping the worker ...")
    finally:
        reaped = worker.stop()
        if reaped:
            note(f"tore down {len(reaped)} sandbox(es): {', '.join(reaped)}")
    if exit_code:
        raise typer.Exit(1)


def _queue_worker(url: str, *, slots: int, jobs: str | None, name: str | None,
                  idle_exit_s: float | None, lease_s: float | None,
                  parent_pid: int | None = None, ready_fd: int | None = None) -> None:
    wanted = [j.strip() for j in (jobs or "").split(",") if j.strip()] or None
    if jobs is not None and wanted is None:
        raise UsageError("--jobs names no job", "give fan-out ids, comma-separated")
    store = open_queue(url, **({"lease_s": lease_s} if lease_s else {}))
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()
        sys.stderr.write("\nstopping: no new incidents; the ones running are given back\n")

    def on_result(claim: Claim, outcome: Outcome) -> None:
        row = outcome.row
        what = ("given back" if not outcome.accepted and stop.is_set() else
                "result refused (lease lost)" if not outcome.accepted else
                f"{row.status if row else 'error'}" + (f" ({outcome.error})" if outcome.error
                                                        else ""))
        note(f"{claim.id} attempt {claim.attempt} ({claim.payload.get('scenario')}): {what}")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    worker = QueueWorker(store, slots=slots, name=name, stop=stop, idle_exit_s=idle_exit_s,
                         jobs=wanted, on_result=on_result, parent_pid=parent_pid,
                         on_ready=None if ready_fd is None else lambda: _tell_ready(ready_fd))
    note(f"queue worker {worker.name}: {slots} slot(s) on {store.url}; Ctrl-C to stop")
    try:
        report = worker.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        store.close()
    note(f"queue worker {report.name}: claimed {report.claimed}, completed {report.completed}, "
         f"given back {report.released}, refused {report.lost_leases}, errors {report.errors}")


def _tell_ready(fd: int) -> None:
    """One line to the parent's pipe, then close it (a closed pipe without it: not ready)."""
    try:
        os.write(fd, b"ready\n")
        os.close(fd)
    except OSError:  # the parent stopped listening: nothing to tell
        pass
