"""Simulated LLM latency for the offline model (`LlmLatency`): how long each completion of
the loopback model server (`model_server.ModelServer`) waits, so the offline agent takes, in
time, what a real LLM would. Labelled as simulated wherever it is recorded."""

from __future__ import annotations

import math
import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LlmLatency(BaseModel):
    """How long each simulated completion takes: a draw around `mean_s`, plus the generation
    time of its (estimated) completion tokens at `tokens_per_s`, capped at `max_s`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mean_s: float = Field(ge=0, le=600)
    dist: Literal["fixed", "uniform", "exponential", "lognormal"] = "fixed"
    spread: float = Field(0.5, ge=0, le=5)  # uniform: +/- this fraction; lognormal: sigma
    tokens_per_s: float | None = Field(None, gt=0)
    max_s: float | None = Field(None, gt=0)
    seed: int = 0

    def draw(self, rng: random.Random, completion_tokens: int = 0) -> float:
        mean, base = self.mean_s, self.mean_s
        if mean > 0 and self.dist == "uniform":
            base = rng.uniform(max(0.0, mean * (1 - self.spread)), mean * (1 + self.spread))
        elif mean > 0 and self.dist == "exponential":
            base = rng.expovariate(1 / mean)
        elif mean > 0 and self.dist == "lognormal":  # mu chosen so the mean is `mean_s`
            base = rng.lognormvariate(math.log(mean) - self.spread ** 2 / 2, self.spread)
        if self.tokens_per_s:
            base += completion_tokens / self.tokens_per_s
        return min(base, self.max_s) if self.max_s else base


__all__ = ["LlmLatency"]
