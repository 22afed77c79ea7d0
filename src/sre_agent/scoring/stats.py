"""The statistics behind a scorecard: percentiles, pass^k, Wilson and Newcombe intervals.

- Percentiles use the nearest-rank method: the value at rank ceil(p * n) of the sorted sample,
  always an observed value.
- pass^k (tau-bench): a task with n >= 2 trials and c passes contributes C(c, k) / C(n, k);
  pass^k is the mean over those tasks, for k = 1 .. min(n) (at most `PASS_K_MAX`).
- A difference of two proportions gets Newcombe's hybrid score interval (method 10, built from
  Wilson intervals): deterministic, no resampling.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

PASS_K_MAX = 8  # pass^k is reported up to k = 8 even when tasks have more trials
Z_95 = 1.959963984540054


def percentile(sorted_values: list[Any], p: float) -> Any:
    """Nearest-rank percentile of an ascending list (`p` in 0..100); None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def counter_percentile(counts: Counter[int], p: float) -> int | None:
    """Nearest-rank percentile of a sample given as value -> count; None when empty."""
    total = sum(counts.values())
    if not total:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None  # unreachable


def _comb_ratio(c: int, n: int, k: int) -> float:
    """C(c, k) / C(n, k) as a running product: no big integers for large n."""
    ratio = 1.0
    for i in range(k):
        if c - i <= 0:
            return 0.0
        ratio *= (c - i) / (n - i)
    return ratio


def pass_hat_k(tasks: Iterable[tuple[int, int]]) -> dict[int, float | None]:
    """pass^k over tasks given as (n trials, c passes); only tasks with n >= 2 count.

    Keys run 1 .. max(3, min(min n, PASS_K_MAX)); values beyond min n are None.
    """
    usable = [(n, c) for n, c in tasks if n >= 2]
    top = min(min((n for n, _ in usable), default=0), PASS_K_MAX)
    out: dict[int, float | None] = {}
    for k in range(1, max(3, top) + 1):
        if k > top:
            out[k] = None
        else:
            out[k] = sum(_comb_ratio(c, n, k) for n, c in usable) / len(usable)
    return out


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_diff_interval(s_a: int, n_a: int, s_b: int, n_b: int) -> tuple[float, float, float]:
    """(p_b - p_a, low, high): Newcombe's hybrid score interval for a difference of proportions."""
    p_a, p_b = s_a / n_a, s_b / n_b
    l_a, u_a = wilson_interval(s_a, n_a)
    l_b, u_b = wilson_interval(s_b, n_b)
    d = p_b - p_a
    low = d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2)
    high = d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2)
    return (d, max(-1.0, low), min(1.0, high))
