"""Bootstrap CIs and the paired test on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mfv2bench.metrics.stats import (bootstrap_ci, paired_test, resample_counts,
                                     sign_flip_p_value, sign_flip_p_values)


def test_constant_values_give_a_degenerate_interval() -> None:
    assert bootstrap_ci(np.full(40, 0.7)) == (pytest.approx(0.7), pytest.approx(0.7))


def test_bernoulli_half_matches_binomial_quantiles() -> None:
    # mean of 100 draws from {0,1} with p = 0.5: Binomial(100, 0.5)/100, 95% interval [0.40, 0.60]
    lo, hi = bootstrap_ci(np.array([0.0, 1.0] * 50), n_resamples=20000)
    assert lo == pytest.approx(0.40, abs=0.011)
    assert hi == pytest.approx(0.60, abs=0.011)


def test_normal_theory_interval_for_large_samples() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(0.6, 0.1, 400)
    lo, hi = bootstrap_ci(v, n_resamples=20000)
    half = 1.96 * v.std(ddof=1) / np.sqrt(len(v))
    assert lo == pytest.approx(v.mean() - half, abs=0.1 * half)
    assert hi == pytest.approx(v.mean() + half, abs=0.1 * half)


def test_weights_and_seeds() -> None:
    rng = np.random.default_rng(2)
    v = rng.uniform(size=60)
    # equal weights: the same means
    assert bootstrap_ci(v, np.full(60, 3.0)) == pytest.approx(bootstrap_ci(v), abs=1e-14)
    w = np.ones(60)
    w[:10] = 0  # zero-weight sequences cannot move the result
    v2 = v.copy()
    v2[:10] = 100.0
    lo, hi = bootstrap_ci(v2, w)
    assert hi < 1.0
    assert bootstrap_ci(v, seed=5) == bootstrap_ci(v, seed=5)
    assert bootstrap_ci(v, seed=5) != bootstrap_ci(v, seed=6)
    counts = resample_counts(60, 100, 5)
    assert counts.shape == (100, 60) and (counts.sum(axis=1) == 60).all()


@pytest.mark.parametrize("diffs,expected", [
    ([1.0, 2.0, 3.0], 2 / 8),          # only all-plus and all-minus reach |sum| = 6
    ([1.0] * 5, 2 / 32),
    ([0.1, 0.2, 0.3, 0.4], 2 / 16),
    ([1.0, -1.0], 1.0),                # observed sum 0
    ([0.0, 0.0, 0.0], 1.0),
    ([3.0, 1.0, 1.0, 1.0], 2 / 16),    # |sum| = 6 only for all-plus and all-minus
])
def test_sign_flip_exact_enumeration(diffs: list[float], expected: float) -> None:
    d = np.array(diffs)
    # brute-force reference
    import itertools
    obs = abs(d.sum())
    ref = np.mean([abs((np.array(s) * d).sum()) >= obs - 1e-12
                   for s in itertools.product((1, -1), repeat=len(d))])
    assert sign_flip_p_value(d) == pytest.approx(ref)
    assert sign_flip_p_value(d) == pytest.approx(expected)


def test_sign_flip_monte_carlo_for_many_sequences() -> None:
    p_strong = sign_flip_p_value(np.full(30, 0.01))
    assert p_strong == pytest.approx(1 / 10001)
    assert sign_flip_p_value(np.array([1.0, -1.0] * 15)) == 1.0
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, 40)
    ps = sign_flip_p_values(np.column_stack([noise, noise + 5]))
    assert ps[0] > 0.05 and ps[1] < 0.001


def test_paired_test_known_answers() -> None:
    rng = np.random.default_rng(4)
    a = rng.uniform(0.4, 0.8, 50)
    same = paired_test("A", "B", "auc", a, a)
    assert same.diff == 0 and (same.ci_low, same.ci_high) == (0, 0) and same.p_value == 1.0
    shifted = paired_test("A", "B", "auc", a + 0.02, a)
    assert shifted.diff == pytest.approx(0.02)
    assert shifted.ci_low == pytest.approx(0.02) and shifted.ci_high == pytest.approx(0.02)
    assert shifted.p_value < 1e-3
    # a 0.5-point mean difference buried in 10-point per-sequence noise is not significant
    b = a + rng.normal(0.005, 0.10, 50)
    t = paired_test("A", "B", "auc", b, a)
    assert t.p_value > 0.05 and t.ci_low < 0 < t.ci_high
    assert t.score_a == pytest.approx(b.mean()) and t.score_b == pytest.approx(a.mean())
    with pytest.raises(ValueError):
        paired_test("A", "B", "auc", a, a[:-1])
