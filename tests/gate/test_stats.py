"""The two-sample statistics of the baseline comparison, against published values."""

from __future__ import annotations

import numpy as np
import pytest

from warmer.gate.stats import mann_whitney, proportion_delta, wilson


def test_wilson_interval_matches_newcombe_1998() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553 .. 0.3662.
    low, high = wilson(81, 263)
    assert low == pytest.approx(0.2553, abs=5e-5) and high == pytest.approx(0.3662, abs=5e-5)


def test_difference_of_proportions_matches_newcombe_method_10() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, table II example (a):
    # 56/70 - 48/80 = 0.2000, method 10 interval 0.0524 .. 0.3339.
    d = proportion_delta(48, 80, 56, 70)
    assert d.delta == pytest.approx(0.2)
    assert d.low == pytest.approx(0.0524, abs=5e-5) and d.high == pytest.approx(0.3339, abs=5e-5)
    # Both at zero (an error rate of 0 on both sides): a finite interval around 0, p = 1.
    zero = proportion_delta(0, 500, 0, 500)
    assert zero.delta == 0 and zero.low < 0 < zero.high and zero.p_value == 1.0


def test_mann_whitney_matches_a_textbook_example() -> None:
    # Two samples without ties; U of the second is 3 of 25 pairs (it tends lower).
    a = [19, 22, 16, 29, 24]
    b = [20, 11, 17, 12, 10]
    test = mann_whitney(a, b)
    assert test.u == 3.0
    assert test.cliffs_delta == pytest.approx(2 * 3 / 25 - 1)
    # Normal approximation with continuity correction: z = (|3 - 12.5| - 0.5) / sqrt(22.917).
    assert test.p_value == pytest.approx(0.0601, abs=5e-4)


def test_mann_whitney_ties_and_identical_samples() -> None:
    same = mann_whitney([1.0, 1.0, 2.0, 3.0], [1.0, 1.0, 2.0, 3.0])
    assert same.cliffs_delta == 0.0 and same.p_value == 1.0
    constant = mann_whitney([5.0] * 10, [5.0] * 10)
    assert constant.p_value == 1.0 and constant.cliffs_delta == 0.0


def test_mann_whitney_is_calibrated_under_the_null() -> None:
    # Same distribution on both sides: p < 0.05 in about 5 % of 400 trials.
    rng = np.random.default_rng(3)
    rejected = sum(
        mann_whitney(rng.lognormal(0, 1, 300), rng.lognormal(0, 1, 300)).p_value < 0.05
        for _ in range(400)
    )
    assert 6 <= rejected <= 36  # 5 % of 400 is 20; binomial 99.9 % range
    shifted = mann_whitney(rng.lognormal(0, 1, 300), rng.lognormal(0.5, 1, 300))
    assert shifted.p_value < 1e-6 and shifted.cliffs_delta > 0.147


def test_window_sign_test_tells_a_stall_from_a_shift() -> None:
    from warmer.gate.stats import min_windows, window_sign_test

    rng = np.random.default_rng(5)
    at = np.linspace(0, 10, 1000, endpoint=False)  # 10 s, 100 values a second
    base = rng.lognormal(0, 0.3, 1000)
    stalled = rng.lognormal(0, 0.3, 1000)
    stalled[300:400] *= 20  # one side stalled for a second of the ten
    assert mann_whitney(base, stalled).p_value < 0.05  # U alone calls that significant
    test = window_sign_test(base, at, stalled, at, 1.0)
    assert test.windows == 10 and test.p_value > 0.05
    shifted = window_sign_test(base, at, rng.lognormal(0.3, 0.3, 1000), at, 1.0)
    assert shifted.slower == 10 and shifted.p_value == pytest.approx(2 / 1024)
    assert min_windows(0.05) == 6 and min_windows(0.01) == 8
