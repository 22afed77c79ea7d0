"""What to fan out: `FanoutRequest`, the flags of `sre-agent fanout` as a checked model."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sre_agent.errors import UsageError
from sre_agent.fleet.intake import Draw, check_scenarios
from sre_agent.runs import RunRequest
from sre_agent.traces import check_trace_log


class FanoutRequest(BaseModel):
    """What to fan out; mirrors the flags of `sre-agent fanout`."""

    incidents: int | None = Field(None, ge=1)  # batch size; continuous intake ignores it
    concurrency: int = Field(2, ge=1)  # incidents in flight at most, over all executors
    scenarios: list[str] = Field(default_factory=list)  # empty: the whole catalogue
    draw: Draw = "round_robin"
    seed: int = 1  # incident i gets seed + i
    continuous: bool = False
    duration_s: float | None = None  # continuous: how long arrivals come in
    arrival_rate: float | None = None  # continuous: mean arrivals per second (Poisson)
    queue_size: int | None = Field(None, ge=1)  # continuous: waiting incidents at most (2*C)
    scorecard_every_s: float = Field(10.0, ge=0)  # rolling scorecard period; 0: off
    stop_wait_s: float = Field(60.0, ge=0)  # after stop: wait this long for runs in flight
    max_attempts: int = Field(3, ge=1)  # runs of one incident at most (lost leases count)
    queue_workers: bool = False  # `sre-agent worker --queue` processes may run incidents too:
    #                              an incident nobody here can run waits for them (not lost)
    template: RunRequest = Field(default_factory=lambda: RunRequest(scenario="*"))
    """Per-incident run settings; scenario, seed and run_id are set for each incident."""

    def check(self) -> None:
        """Raise UsageError for an impossible combination."""
        self.scenarios = check_scenarios(self.scenarios)
        if self.template.trace_log is not None:
            check_trace_log(self.template.trace_log)
        if self.continuous:
            if not self.duration_s or self.duration_s <= 0:
                raise UsageError("--continuous needs --duration-s > 0")
            if not self.arrival_rate or self.arrival_rate <= 0:
                raise UsageError("--continuous needs --arrival-rate > 0 (incidents per second)")
        elif not self.incidents:
            raise UsageError("give --incidents N (or --continuous)")
        if self.template.llm_latency is not None and self.template.model:
            raise UsageError("--llm-latency-s simulates the offline model's latency",
                             "drop --model (or use --simulate)")

    @property
    def max_queued(self) -> int:
        return self.queue_size or 2 * self.concurrency


__all__ = ["FanoutRequest"]
