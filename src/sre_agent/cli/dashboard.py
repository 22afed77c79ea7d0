"""Rendering of a running fan-out: a live rich dashboard, or plain lines without a terminal.

Both take `FanoutEvent`s (from the dispatcher and the run threads) through `handle(event)`.
The live view keeps its own copy of every incident and redraws it a few times per second.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sre_agent.fleet import FanoutEvent, FanoutSummary, IncidentView

STATE_STYLE = {"queued": "dim", "starting": "cyan", "agent": "bold cyan",
               "verifying": "magenta", "done": "", "lost": "bold red", "not_started": "dim"}
RISK_STYLE = {"LOW": "green", "MEDIUM": "yellow", "HIGH": "red"}
STATUS_STYLE = {"fixed": "green", "nothing_to_fix": "green", "escalated": "yellow",
                "not_fixed": "red", "error": "red", "limit": "red", "cancelled": "dim"}


def _verdict(v: IncidentView) -> str:
    if v.state == "lost":
        return "[bold red]LOST[/]"
    if v.status is None:
        return "-"
    style = STATUS_STYLE.get(v.status, "")
    up = "green" if v.service_up else "red"
    mark = "" if v.correct is None else (" [green]ok[/]" if v.correct else " [red]wrong[/]")
    state = "up" if v.service_up else "down"
    return f"[{style or 'default'}]{v.status}[/] ([{up}]{state}[/]){mark}"


def _elapsed(v: IncidentView, now: float) -> str:
    if v.started_at is None:
        return f"{now - v.arrived_at:.0f}s q"
    return f"{(v.ended_at or now) - v.started_at:.1f}s"


class _Totals:
    def __init__(self) -> None:
        self.incidents: dict[int, IncidentView] = {}
        self.shed = self.requeued = 0
        self.dead: list[str] = []
        self.scorecard: list[dict[str, Any]] = []
        self.started: float | None = None  # wall clock of the first dispatch
        self.note = ""
        self.stopping = False

    def update(self, event: FanoutEvent) -> None:
        if event.kind == "warm_up":
            self.note = f"warming up {event.data['executor']} (importing the OpenHands SDK)..."
            return
        if event.kind == "accepted":
            self.note = accepted_line(event.data)
            return
        if self.started is None:
            self.started = time.time() - event.at_s
            self.note = ""
        if event.incident is not None:
            self.incidents[event.incident.index] = event.incident
        if event.kind == "shed":
            self.shed += 1
        elif event.kind == "requeued":
            self.requeued += 1
        elif event.kind == "worker_lost":
            self.dead.append(event.data["worker"])
        elif event.kind == "stopping":
            self.stopping = True
        elif event.kind == "scorecard":
            self.scorecard = event.data["scorecard"]
        elif event.kind == "finished":
            self.scorecard = event.data["summary"].scorecard

    def line(self) -> str:
        views = self.incidents.values()
        done = [v for v in views if v.state == "done"]
        count: dict[str, int] = {}
        for v in done:
            count[v.status or "error"] = count.get(v.status or "error", 0) + 1
        lost = sum(1 for v in views if v.state == "lost")
        running = sum(1 for v in views if v.state in ("starting", "agent", "verifying"))
        queued = sum(1 for v in views if v.state == "queued")
        wall = max(time.time() - (self.started or time.time()), 1e-6)
        parts = [f"running {running}", f"queued {queued}", f"done {len(done)}",
                 f"[green]fixed {count.get('fixed', 0)}[/]",
                 f"[green]nothing_to_fix {count.get('nothing_to_fix', 0)}[/]",
                 f"[yellow]escalated {count.get('escalated', 0)}[/]",
                 f"[red]not_fixed {count.get('not_fixed', 0)}[/]",
                 f"[red]errors {count.get('error', 0) + count.get('limit', 0)}[/]",
                 f"correct {sum(1 for v in done if v.correct)}/{len(done)}",
                 f"{len(done) / wall * 60:.1f}/min"]
        if lost:
            parts.append(f"[bold red]lost {lost}[/]")
        if self.shed:
            parts.append(f"shed {self.shed}")
        if self.requeued:
            parts.append(f"requeued {self.requeued}")
        if self.dead:
            parts.append(f"[red]dead workers: {', '.join(self.dead)}[/]")
        if self.stopping:
            parts.insert(0, "[bold yellow]STOPPING: runs cancelled, waiting for teardown[/]")
        return "  ".join(parts)


class Dashboard:
    """A rich `Live` view on stderr: incidents table, totals, batch progress, scorecard."""

    def __init__(self, console: Console, *, total: int | None, duration_s: float | None,
                 max_rows: int | None = None) -> None:
        self.console = console
        self.totals = _Totals()
        self.lock = threading.Lock()
        self.total = total
        self.duration_s = duration_s
        self.max_rows = max_rows or max(8, console.size.height - 14)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TimeElapsedColumn(), console=console)
        self.task = self.progress.add_task("incidents" if total else "intake",
                                           total=total or duration_s or 1)
        self.live = Live(console=console, get_renderable=self._render, refresh_per_second=4,
                         transient=False, redirect_stdout=False, redirect_stderr=False)

    def __enter__(self) -> Dashboard:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def handle(self, event: FanoutEvent) -> None:
        with self.lock:
            first = self.totals.started is None and event.kind != "warm_up"
            self.totals.update(event)
            if first:
                self.progress.reset(self.task)  # the elapsed time starts with the dispatch
            if self.total:
                done = sum(1 for v in self.totals.incidents.values()
                           if v.state in ("done", "lost", "not_started"))
                self.progress.update(self.task, completed=done)
            elif self.duration_s:
                self.progress.update(self.task, completed=min(event.at_s, self.duration_s))

    def _render(self) -> Any:
        with self.lock:
            now = time.time()
            views = list(self.totals.incidents.values())
            active = [v for v in views if v.state in ("starting", "agent", "verifying")]
            queued = [v for v in views if v.state == "queued"]
            finished = sorted((v for v in views if v.state in ("done", "lost")),
                              key=lambda v: v.ended_at or 0, reverse=True)
            room = max(self.max_rows - len(active), 3)
            shown = sorted(active, key=lambda v: v.index) + finished[:room]
            table = Table(expand=True, pad_edge=False, box=None, header_style="bold")
            for col in ("#", "scenario", "sev", "skill", "state", "worker", "steps", "risk",
                        "verifier", "elapsed"):
                table.add_column(col, no_wrap=True)
            for v in shown:
                risk = v.highest_risk or "-"
                table.add_row(str(v.index), v.scenario, v.severity, Text(v.skill or "-"),
                              Text(v.state, style=STATE_STYLE.get(v.state, "")),
                              Text(v.worker or "-"), str(v.steps),
                              Text(risk, style=RISK_STYLE.get(risk, "")), _verdict(v),
                              _elapsed(v, now))
            hidden = len(finished) - len(finished[:room])
            footer = f"{len(queued)} queued" + (f", {hidden} older finished not shown"
                                                if hidden else "")
            if self.totals.note:
                return Group(Text(self.totals.note, style="yellow"), self.progress)
            parts: list[Any] = [table, f"[dim]{footer}[/]", self.totals.line(), self.progress]
            if self.totals.scorecard:
                parts.append(_scorecard_panel(self.totals.scorecard))
            return Group(*parts)


def _scorecard_panel(card: list[dict[str, Any]]) -> Panel:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("scenario", "runs", "fixed", "success", "escalations", "ttm p50"):
        table.add_column(col)
    for g in card:
        ttm = "-" if g["ttm_p50_s"] is None else f"{g['ttm_p50_s']:.1f}s"
        table.add_row(g["scenario"], str(g["runs"]), str(g["fixed"]),
                      f"{g['success_rate']:.0%}", str(g["escalations"]), ttm)
    return Panel(table, title="rolling scorecard", expand=False)


class PlainProgress:
    """One line per finished incident (and per notable event) on stderr, for logs and pipes."""

    def __init__(self, console: Console, total: int | None) -> None:
        self.console = console
        self.total = total
        self.done = 0

    def _say(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    def handle(self, event: FanoutEvent) -> None:
        v = event.incident
        if event.kind == "done" and v is not None:
            self.done += 1
            of = f"/{self.total}" if self.total else ""
            extra = f" error: {v.error}" if v.error else ""
            verdict = "verifier green" if v.service_up else "verifier red"
            mark = "ok" if v.correct else ("-" if v.status == "cancelled" else "WRONG")
            self._say(f"[{self.done}{of}] {v.scenario} seed {v.seed} -> {v.status} ({verdict}, "
                      f"{mark}) {v.steps} steps {v.duration_s or 0:.1f}s on {v.worker} "
                      f"{v.run_id}{extra}")
        elif event.kind == "lost" and v is not None:
            self._say(f"LOST {v.scenario} seed {v.seed} {v.run_id}: {v.error}")
        elif event.kind == "requeued" and v is not None:
            self._say(f"requeued {v.scenario} seed {v.seed} (lost by {v.requeued_from[-1]})")
        elif event.kind == "worker_lost":
            self._say(f"worker lost: {event.data['worker']}: {event.data['reason']}")
        elif event.kind == "warm_up":
            self._say(f"warming up {event.data['executor']} (importing the OpenHands SDK)")
        elif event.kind == "accepted":
            self._say(accepted_line(event.data))
        elif event.kind == "stopping":
            self._say(f"stopping: cancelling {event.data['in_flight']} run(s), waiting for "
                      "their teardown and trace")
        elif event.kind == "scorecard" and event.data["scorecard"]:
            groups = ", ".join(f"{g['scenario']} {g['fixed']}/{g['runs']}"
                               for g in event.data["scorecard"])
            self._say(f"scorecard at {event.data['at_s']:.0f}s: {groups}")


def accepted_line(data: dict[str, Any]) -> str:
    what = "resumed" if data.get("resumed") else "accepted"
    return (f"fan-out {data['fanout_id']} {what}: {data['incidents']} incident(s) stored in "
            f"{data['queue']}; if this process dies: sre-agent fanout --resume "
            f"{data['fanout_id']}")


class JsonScorecards:
    """With --json: each rolling scorecard is one JSON line on stderr (stdout keeps the
    summary only)."""

    def handle(self, event: FanoutEvent) -> None:
        if event.kind in ("scorecard", "accepted"):
            sys.stderr.write(json.dumps({"event": event.kind, **event.data}) + "\n")
            sys.stderr.flush()


def render_summary(console: Console, s: FanoutSummary) -> None:
    """The human summary at the end of a fan-out."""
    head = "[bold yellow]INTERRUPTED[/] " if s.interrupted else ""
    console.print(f"{head}[bold]{s.fanout_id}[/]: {s.total} incidents in {s.wall_s:.1f}s "
                  f"({s.incidents_per_min:.1f}/min, concurrency {s.concurrency}, "
                  f"peak {s.peak_in_flight}; warm-up {s.warm_up_s:.1f}s before)")
    table = Table(box=None, pad_edge=False, header_style="bold")
    cols = {"scenario": "scenario", "total": "n", "fixed": "fixed", "nothing_to_fix": "noop",
            "escalated": "esc", "not_fixed": "not_fixed", "errors": "err", "limit": "limit",
            "cancelled": "cancel", "lost": "lost", "correct": "correct"}
    shown = [k for k in cols if k in ("scenario", "total", "correct")
             or any(c.get(k) for c in s.by_scenario.values())]  # drop all-zero columns
    for key in shown:
        table.add_column(cols[key], no_wrap=True)
    for name, c in s.by_scenario.items():
        table.add_row(name, *(str(c.get(col, 0)) for col in shown[1:]))
    console.print(table)
    if len(s.by_difficulty) > 1:
        kinds = ", ".join(f"{kind} {c.get('correct', 0)}/{c.get('total', 0)}"
                          for kind, c in s.by_difficulty.items())
        console.print(f"correct by difficulty: {kinds}")
    ttm = (f"TTM p50 {s.ttm_p50_s:.1f}s p95 {s.ttm_p95_s:.1f}s"
           if s.ttm_p50_s is not None and s.ttm_p95_s is not None else "TTM -")
    colour = "green" if s.correct == s.total else "yellow"
    console.print(f"[{colour}]correct {s.correct}/{s.total}[/]  fixed {s.fixed}  "
                  f"nothing_to_fix {s.nothing_to_fix}  escalated {s.escalated}  "
                  f"not_fixed {s.not_fixed}  errors {s.errors}  limit {s.limit}  "
                  f"cancelled {s.cancelled}  {ttm}")
    if s.lost or s.not_started or s.shed or s.requeued:
        console.print(f"[red]lost {s.lost}[/]  not_started {s.not_started}  shed {s.shed}  "
                      f"requeued {s.requeued} {s.requeued_by_worker or ''}")
    if len(s.by_worker) > 1 or s.requeued:
        for name, w in s.by_worker.items():
            state = "[red]dead[/]" if w.dead else "alive"
            console.print(f"  worker {escape(name)}: {state}, completed {w.completed}, "
                          f"lost runs {w.lost_runs}, peak {w.peak_in_flight}/{w.capacity}")
    if s.resumed or s.reclaimed:
        console.print(f"{'resumed; ' if s.resumed else ''}reclaimed {s.reclaimed} incident(s) "
                      "from holders that died")
    console.print(f"trace: {s.trace_log or 'disabled'}; queue: {s.queue or '-'}")
