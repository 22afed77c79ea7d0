"""`sre-agent worker`: run an OpenHands agent-server that `sre-agent fanout --worker` can use."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import typer

from sre_agent.cli._output import note
from sre_agent.fleet import Worker, worker_config


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
) -> None:
    """Start a remote worker: an OpenHands agent-server whose terminals enter incident sandboxes.

    Runs until Ctrl-C or SIGTERM, then stops the server and tears down its sandboxes.
    """
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
