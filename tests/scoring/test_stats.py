"""The statistics against hand-computed and published values."""

from __future__ import annotations

from collections import Counter

import pytest

from sre_agent.scoring import newcombe_diff_interval, pass_hat_k, percentile, wilson_interval
from sre_agent.scoring.stats import PASS_K_MAX, counter_percentile


def test_interval_matches_published_examples() -> None:
    # Newcombe (1998), Stat Med 17:857, example (a) 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    d, low, high = newcombe_diff_interval(48, 80, 56, 70)
    assert (d, round(low, 4), round(high, 4)) == (pytest.approx(0.2), 0.0524, 0.3339)
    # Newcombe (1998), Stat Med 17:857 (single proportion), 81/263 Wilson: 0.2553 to 0.3662
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_pass_hat_k_and_percentile_helpers() -> None:
    # tasks (n=4, c=3) and (n=3, c=3): pass^3 = (C(3,3)/C(4,3) + 1) / 2 = (1/4 + 1) / 2
    assert pass_hat_k([(4, 3), (3, 3), (1, 1)]) == {1: pytest.approx((3 / 4 + 1) / 2),
                                                    2: pytest.approx((3 / 6 + 1) / 2),
                                                    3: pytest.approx(0.625)}
    assert pass_hat_k([(1, 1)]) == {1: None, 2: None, 3: None}
    # many trials: k stops at PASS_K_MAX = 8; C(15,8)/C(20,8) = 6435/125970 = 0.05108
    capped = pass_hat_k([(20, 15)])
    assert PASS_K_MAX == 8
    assert sorted(capped) == list(range(1, 9))
    assert capped[8] == pytest.approx(6435 / 125970)
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10  # rank ceil(9.5) = 10
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5
    assert percentile([], 50) is None


def test_counter_percentile_matches_percentile_of_the_expanded_sample() -> None:
    counts = Counter({2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 8: 3})
    expanded = sorted(counts.elements())
    for p in (1, 25, 50, 75, 95, 100):
        assert counter_percentile(counts, p) == percentile(expanded, p)
    assert counter_percentile(Counter(), 50) is None


def test_wilson_with_no_trials_is_the_whole_range() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
