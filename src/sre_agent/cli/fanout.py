"""`sre-agent fanout`: many incidents at once, each in its own sandbox."""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Optional

import typer

from sre_agent import paths
from sre_agent.agent import Confirmer, fixed_answer
from sre_agent.agent.latency import LlmLatency
from sre_agent.cli import _options as opt
from sre_agent.cli._output import console as safe_console
from sre_agent.cli._output import emit_json
from sre_agent.cli.dashboard import Dashboard, JsonScorecards, PlainProgress, render_summary
from sre_agent.errors import UsageError
from sre_agent.fleet import (
    Fanout,
    FanoutRequest,
    IncidentExecutor,
    LocalExecutor,
    choose_executors,
    open_queue,
    stored_request,
)
from sre_agent.fleet.procs import WorkerProcs, auto_procs, shares
from sre_agent.fleet.queue import QUEUE_URL_ENV

WORKER_KEY_ENV = "SRE_AGENT_WORKER_API_KEY"  # the same variable `sre-agent worker` reads

# Options of mutable types, declared once (ruff B008).
Scenarios = typer.Option(None, "--scenarios",
                         help="Comma-separated scenarios to draw from (default: all).")
Workers = typer.Option(None, "--workers",
                       help="Remote worker URLs (comma-separated) instead of this host.")
WorkersFile = typer.Option(None, "--workers-file", help="A file of worker URLs, one per line.")
TraceLog = typer.Option(None, "--trace-log", help="JSONL trace log to append to.")
LatencyDists = ("fixed", "uniform", "exponential", "lognormal")


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _workers(workers: list[str] | None, workers_file: Path | None) -> list[str]:
    urls = _split(workers)
    if workers_file is not None:
        try:
            lines = workers_file.read_text().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read --workers-file {workers_file}: {exc.strerror}") \
                from None
        urls += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return urls


def _confirmer(auto_confirm: bool) -> Confirmer:
    """Nobody watches one run of many: approve with --auto-confirm, else reject."""
    if auto_confirm:
        return fixed_answer(True, "--auto-confirm")
    return fixed_answer(False, "unattended fan-out run without --auto-confirm")


def command(
    incidents: Optional[int] = typer.Option(  # noqa: UP045 (typer needs Optional)
        None, "--incidents", min=1, help="How many incidents (batch mode)."),
    concurrency: Optional[int] = typer.Option(  # noqa: UP045
        None, "--concurrency", min=1, help="Incidents in flight at most (each in its sandbox). "
        "Default 4; with --resume: the stored one unless given."),
    scenarios: Optional[list[str]] = Scenarios,  # noqa: UP045 (typer needs Optional)
    draw: str = typer.Option("round-robin", "--draw",
                             help="round-robin over the scenarios, or random (seeded)."),
    seed: int = typer.Option(1, "--seed", help="Incident i gets seed+i; also seeds the "
                             "random draw and the arrivals."),
    simulate: bool = opt.Simulate,
    model: Optional[str] = opt.Model,  # noqa: UP045
    mode: str = opt.Mode,
    strategy_source: str = opt.Strategy,
    backend: str = opt.SandboxBackend,
    max_steps: int = opt.MaxSteps,
    timeout_s: float = opt.TimeoutS,
    consecutive: int = opt.VerifyConsecutive,
    attempts: int = opt.VerifyMaxAttempts,
    interval: float = opt.VerifyInterval,
    probe_timeout: float = opt.ProbeTimeout,
    max_security_risk: str = opt.MaxRisk,
    confirm_risk: Optional[str] = opt.ConfirmRisk,  # noqa: UP045
    auto_confirm: bool = opt.AutoConfirm,
    continuous: bool = typer.Option(False, "--continuous",
                                    help="Continuous intake: Poisson arrivals for --duration-s."),
    duration_s: Optional[float] = typer.Option(  # noqa: UP045
        None, "--duration-s", min=0.1, help="Continuous: how long incidents arrive."),
    arrival_rate: Optional[float] = typer.Option(  # noqa: UP045
        None, "--arrival-rate", min=0.0001, help="Continuous: mean incidents per second."),
    queue_size: Optional[int] = typer.Option(  # noqa: UP045
        None, "--queue-size", min=1, help="Continuous: incidents waiting at most "
        "(default 2 x concurrency); arrivals beyond it are shed."),
    scorecard_every: float = typer.Option(10.0, "--scorecard-every", min=0.0,
                                          help="Rolling scorecard period in seconds (0: off)."),
    stop_wait_s: float = typer.Option(60.0, "--stop-wait-s", min=0.0,
                                      help="On Ctrl-C: wait this long for cancelled runs "
                                      "to tear down and write their trace."),
    workers: Optional[list[str]] = Workers,  # noqa: UP045
    workers_file: Optional[Path] = WorkersFile,  # noqa: UP045
    worker_api_key: Optional[str] = typer.Option(  # noqa: UP045
        None, "--worker-api-key", envvar=WORKER_KEY_ENV, show_envvar=True,
        help="Session API key of the workers."),
    trace_log: Optional[Path] = TraceLog,  # noqa: UP045
    disable_trace_log: bool = typer.Option(False, "--disable-trace-log"),
    scenario_path: Optional[list[Path]] = opt.ScenarioPath,  # noqa: UP045
    json_out: bool = typer.Option(False, "--json", help="Print one JSON summary on stdout "
                                  "(rolling scorecards: JSON lines on stderr)."),
    queue: Optional[str] = typer.Option(  # noqa: UP045
        None, "--queue", envvar=QUEUE_URL_ENV, show_envvar=True,
        help="Durable queue URL: sqlite:///FILE (default: under artifacts/) or "
        "redis://[:PASSWORD@]HOST:PORT/DB. Every incident is stored there first."),
    resume: Optional[str] = typer.Option(  # noqa: UP045
        None, "--resume", help="Finish a fan-out whose orchestrator died (its id is printed "
        "at start); runs what it had accepted with its stored settings."),
    force_resume: bool = typer.Option(False, "--force-resume",
                                      help="Resume even if started on another host."),
    fanout_id: Optional[str] = typer.Option(  # noqa: UP045
        None, "--fanout-id", help="Id of the new fan-out (default: generated)."),
    no_local: bool = typer.Option(False, "--no-local", help="Run nothing here: only queue "
                                  "workers (`sre-agent worker --queue URL`) run incidents."),
    queue_workers: bool = typer.Option(
        False, "--queue-workers", help="Queue workers may run incidents too (an incident "
        "nobody here can run then waits for them instead of being lost)."),
    max_attempts: int = typer.Option(3, "--max-attempts", min=1,
                                     help="Runs of one incident at most (lost leases count)."),
    lease_s: Optional[float] = typer.Option(  # noqa: UP045
        None, "--lease-s", min=0.5, help="Lease of a claimed incident, renewed every third "
        "of it; a dead holder's incident is run again after it (default 30)."),
    procs: Optional[int] = typer.Option(  # noqa: UP045
        None, "--procs", min=1, help="Processes that run incidents on this host (this one and "
        "procs-1 queue workers on the same queue, the concurrency split between them; one "
        "process is bound to one core by Python's GIL). Default: one per core, at least 8 "
        "incidents each."),
    llm_latency_s: Optional[float] = typer.Option(  # noqa: UP045
        None, "--llm-latency-s", min=0.0, help="Simulate LLM latency for the offline model: "
        "seconds per completion (the mean of --llm-latency-dist)."),
    llm_latency_dist: str = typer.Option(
        "fixed", "--llm-latency-dist", help="fixed, uniform, exponential or lognormal."),
    llm_latency_spread: float = typer.Option(
        0.5, "--llm-latency-spread", min=0.0,
        help="uniform: +/- this fraction of the mean; lognormal: sigma."),
    llm_tokens_per_s: Optional[float] = typer.Option(  # noqa: UP045
        None, "--llm-tokens-per-s", min=0.001,
        help="Also wait completion tokens / this rate (simulated generation)."),
) -> None:
    """Run many incidents at once, each in its own sandbox, locally or on remote workers.

    Incidents are drawn from the scenario catalogue (round-robin or seeded random; incident i
    gets seed+i) and dispatched highest severity first (dependency_down, disk_full,
    corrupted_data_store high; healthy_noop low; the rest medium), FIFO within a severity.
    With --continuous, incidents arrive as a Poisson process for --duration-s; when the
    queue is full an arrival is shed (counted, never run). On a terminal a live dashboard
    shows every incident; otherwise one line per finished incident goes to stderr.

    Every incident is stored in a durable queue (--queue; SQLite under artifacts/ by
    default) before it runs, claimed under a lease that is renewed while it runs, and its
    result is recorded once. If this process dies, `--resume FANOUT_ID` finishes what it had
    accepted; `sre-agent worker --queue URL` processes on any machine may run incidents too
    (--queue-workers, or --no-local to run none here). --llm-latency-s makes the offline
    model answer like a real LLM (simulated latency, recorded in each trace row).

    Exit codes: 0 every incident got a result (fixed or not: see `correct` in the summary),
    1 an incident was lost (no executor left to run it), 2 bad input, 130 interrupted
    (Ctrl-C: in-flight runs are cancelled, torn down and traced, then the partial summary).
    """
    if draw not in ("round-robin", "random"):
        raise UsageError(f"--draw {draw!r} is not round-robin or random")
    if continuous and incidents:
        raise UsageError("--incidents and --continuous exclude each other",
                         "continuous intake runs for --duration-s")
    if resume and (incidents or continuous or fanout_id):
        raise UsageError("--resume finishes a stored fan-out with its own settings",
                         "drop --incidents/--continuous/--fanout-id")
    urls = _workers(workers, workers_file)
    if procs is not None and procs > 1 and (urls or no_local):
        raise UsageError("--procs splits this host's share of the work: not with --workers "
                         "or --no-local", "drop --procs")
    opt.use_scenario_paths(scenario_path)
    store = open_queue(queue, **({"lease_s": lease_s} if lease_s else {}),
                       max_attempts=max_attempts)
    if resume:
        request, _job = stored_request(store, resume, force=force_resume)
        continuous, incidents, duration_s = False, None, None
        if concurrency is not None:  # the resuming machine may take more, or fewer, at once
            request.concurrency = concurrency
    else:
        request = _new_request(locals(), _latency(llm_latency_s, llm_latency_dist,
                                                  llm_latency_spread, llm_tokens_per_s, seed))
    request.queue_workers = request.queue_workers or queue_workers or no_local
    request.check()
    executors: list[IncidentExecutor] = [] if no_local else \
        choose_executors(request, urls, worker_api_key)  # resolves sandbox `auto`
    # this host's processes and the share of the concurrency each runs (this one first)
    slots = [request.concurrency] if urls or no_local else \
        shares(request.concurrency, procs or auto_procs(request.concurrency))
    if len(slots) > 1:
        executors = [LocalExecutor(capacity=slots[0])]
        request.queue_workers = True

    console = safe_console(stderr=True)
    live = console.is_terminal and not json_out and not os.environ.get("CI")
    total = None if continuous else incidents
    view: Any
    if json_out:
        view = JsonScorecards()
    elif live:
        view = Dashboard(console, total=total, duration_s=duration_s)
    else:
        view = PlainProgress(console, total)
    if not json_out:
        where = ", ".join(urls) if urls else f"this host (sandbox {request.template.sandbox})"
        where = "queue workers only" if no_local else where
        policy = "offline runbook policy (no LLM)" if request.template.simulate else (
            request.template.model or "SRE_AGENT_MODEL, else the offline runbook policy")
        if request.template.llm_latency is not None:
            policy += f", simulated latency {request.template.llm_latency.mean_s:g}s " \
                      f"({request.template.llm_latency.dist})"
        where += f" ({len(slots)} processes)" if len(slots) > 1 else ""
        console.print(f"fan-out: {'continuous' if continuous else total or 'resumed'} "
                      f"incidents, concurrency {request.concurrency}, on {where}; model: "
                      f"{policy}; queue: {store.url}", highlight=False, soft_wrap=True)

    stop = threading.Event()
    previous = _install_stop_handlers(stop)
    helpers: WorkerProcs | None = None
    try:
        fan = Fanout(request, executors, on_event=view.handle, stop=stop,
                     confirmer=_confirmer(auto_confirm), queue=store,
                     job_id=resume or fanout_id, resume=bool(resume), auto_confirm=auto_confirm,
                     warm_up=lambda: helpers.wait_ready() if helpers is not None else None)
        if len(slots) > 1:
            helpers = WorkerProcs(store.url, fan.fanout_id, slots[1:], lease_s=lease_s,
                                  log_dir=paths.artifacts_dir() / "workers")
            helpers.start()
        with view if isinstance(view, Dashboard) else nullcontext():
            summary = fan.run()
    finally:
        if helpers is not None:
            helpers.stop()
        store.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if json_out:
        emit_json(summary.model_dump(mode="json"))
    else:
        render_summary(console, summary)
    if summary.interrupted:
        raise typer.Exit(130)
    raise typer.Exit(1 if summary.lost else 0)


DEFAULT_CONCURRENCY = 4


def _latency(mean_s: float | None, dist: str, spread: float, tokens_per_s: float | None,
             seed: int) -> LlmLatency | None:
    if mean_s is None:
        if tokens_per_s is not None:
            raise UsageError("--llm-tokens-per-s needs --llm-latency-s (0 for none)")
        return None
    if dist not in LatencyDists:
        raise UsageError(f"--llm-latency-dist {dist!r} is not one of {', '.join(LatencyDists)}")
    return LlmLatency(mean_s=mean_s, dist=dist, spread=spread,  # type: ignore[arg-type]
                      tokens_per_s=tokens_per_s, seed=seed)


def _new_request(flags: dict[str, Any], latency: LlmLatency | None) -> FanoutRequest:
    """The request of a new fan-out from the command's flags."""
    template = opt.run_request(
        mode=flags["mode"], strategy_source=flags["strategy_source"], model=flags["model"],
        simulate=flags["simulate"], consecutive=flags["consecutive"],
        attempts=flags["attempts"], interval=flags["interval"],
        probe_timeout=flags["probe_timeout"], max_security_risk=flags["max_security_risk"],
        confirm_risk=flags["confirm_risk"], trace_log=flags["trace_log"],
        disable_trace_log=flags["disable_trace_log"], scenario="*", sandbox=flags["backend"],
        max_steps=flags["max_steps"], timeout_s=flags["timeout_s"], llm_latency=latency)
    return FanoutRequest(
        incidents=flags["incidents"], concurrency=flags["concurrency"] or DEFAULT_CONCURRENCY,
        scenarios=_split(flags["scenarios"]),
        draw="random" if flags["draw"] == "random" else "round_robin", seed=flags["seed"],
        continuous=flags["continuous"], duration_s=flags["duration_s"],
        arrival_rate=flags["arrival_rate"], queue_size=flags["queue_size"],
        scorecard_every_s=flags["scorecard_every"], stop_wait_s=flags["stop_wait_s"],
        max_attempts=flags["max_attempts"], template=template)


def _install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    """First Ctrl-C (or SIGTERM): set `stop` (the fan-out cancels and drains); a second
    Ctrl-C aborts at once. Returns the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        name = "terminated" if signum == signal.SIGTERM else "interrupt"
        sys.stderr.write(f"\n{name}: stopping intake, cancelling runs in flight "
                         "(Ctrl-C again to abort at once)\n")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    return {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT,
                                                                    signal.SIGTERM)}
