"""Uncertainty of benchmark scores: per-sequence bootstrap CIs and a paired test.

A benchmark score is a (weighted) mean over sequences, ``sum(w_i * v_i) / sum(w_i)``: weights
are 1 for the unweighted protocols, frame counts for GOT-10k's pooled AO/SR, and 0 for the
sequences the LaSOT MATLAB toolkit drops. Sequences are the sampling unit (frames within a
sequence are strongly correlated), so both procedures resample or permute whole sequences.

- ``bootstrap_ci``: percentile bootstrap over sequences (seeded, reproducible).
- ``paired_test``: two trackers on the same sequences. The p-value comes from a paired
  sign-flip permutation test on the per-sequence differences (exact enumeration for up to 16
  sequences, Monte Carlo otherwise, with the +1 correction); the CI of the difference from a
  paired percentile bootstrap (the same resampled sequences for both trackers).
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from dataclasses import dataclass

import numpy as np

from mfv2bench.metrics.engine import QUIET

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20240611


def weighted_mean(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    v = np.asarray(values, dtype=np.float64)
    if weights is None:
        return float(v.mean())
    w = np.asarray(weights, dtype=np.float64)
    return float((w * v).sum() / w.sum())


@lru_cache(maxsize=8)
def resample_counts(n_sequences: int, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int = DEFAULT_SEED) -> np.ndarray:
    """(B, S) how often each sequence is drawn in each bootstrap resample (rows sum to S).
    One matrix serves every metric and tracker, so their CIs use the same resamples.
    (Cached: treat the returned array as read-only.)"""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_sequences, size=(n_resamples, n_sequences))
    rows = np.repeat(np.arange(n_resamples), n_sequences)
    flat = np.bincount(rows * n_sequences + idx.ravel(), minlength=n_resamples * n_sequences)
    return flat.reshape(n_resamples, n_sequences).astype(np.float64)


@QUIET
def bootstrap_means(values: np.ndarray, weights: np.ndarray | None,
                    counts: np.ndarray) -> np.ndarray:
    """(B, K) weighted means of the columns of ``values`` (S, K) under each resample."""
    v = np.asarray(values, dtype=np.float64)
    if weights is None:
        return (counts @ v) / len(v)  # every resample draws exactly S sequences
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64).reshape(len(v), -1), v.shape)
    if (w == 1.0).all():
        return (counts @ v) / len(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts @ (w * v)) / (counts @ w)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """Lower and upper percentile bounds per column, NaN resamples ignored."""
    alpha = (1.0 - level) / 2.0
    q = np.nanquantile if np.isnan(samples).any() else np.quantile
    with np.errstate(invalid="ignore"):
        lo, hi = q(samples, [alpha, 1.0 - alpha], axis=0)
    return lo, hi


@QUIET
def bootstrap_ci(values: np.ndarray, weights: np.ndarray | None = None, level: float = 0.95,
                 n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
                 ) -> tuple[float, float]:
    """Percentile bootstrap CI of the (weighted) mean of per-sequence values."""
    v = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    if len(v) == 0:
        return float("nan"), float("nan")
    counts = resample_counts(len(v), n_resamples, seed)
    lo, hi = percentile_interval(bootstrap_means(v, weights, counts), level)
    return float(lo[0]), float(hi[0])


@dataclass
class PairedTest:
    """A vs B on the same sequences: ``diff`` = score(A) - score(B)."""

    a: str
    b: str
    metric: str
    n_sequences: int
    score_a: float
    score_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str = "sign-flip permutation (p); paired percentile bootstrap (CI)"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@QUIET
def sign_flip_p_values(diffs: np.ndarray, weights: np.ndarray | None = None,
                       n_permutations: int = 10000, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Two-sided p-values of H0 'per-sequence differences are symmetric around 0', one per
    column of ``diffs`` (S, M); sequences with weight 0 do not take part."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.ndim == 1:
        d = d[:, None]
    w = np.ones(len(d)) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = w > 0
    d, w = d[keep], w[keep]
    s = len(d)
    if s == 0:
        return np.full(d.shape[1], np.nan)
    wd = w[:, None] * d
    observed = np.abs(wd.sum(axis=0))
    tol = 1e-12 * np.maximum(1.0, np.abs(wd).sum(axis=0))
    return _p_values(wd, observed, tol, sign_matrix(s, n_permutations, seed))


def _p_values(wd: np.ndarray, observed: np.ndarray, tol: np.ndarray, signs: np.ndarray
              ) -> np.ndarray:
    """Share of sign patterns whose |statistic| reaches the observed one. The exact
    enumeration is done in float64; Monte Carlo draws use a float32 product (their p-value is
    an estimate anyway) with a tie tolerance above float32 rounding."""
    s = len(wd)
    if s <= EXACT_UP_TO:
        hits = np.sum(np.abs(signs @ wd) >= observed - tol, axis=0)
        p = hits / len(signs)
    else:
        tol32 = 1e-5 * np.abs(wd).sum(axis=0)
        stats = np.abs(signs.astype(np.float32) @ wd.astype(np.float32))
        hits = np.sum(stats >= (observed - tol32).astype(np.float32), axis=0)
        p = (hits + 1) / (len(signs) + 1)
    return np.where(observed == 0, 1.0, p)


EXACT_UP_TO = 16


@lru_cache(maxsize=8)
def sign_matrix(n_sequences: int, n_permutations: int = 10000, seed: int = DEFAULT_SEED
                ) -> np.ndarray:
    """All 2^S sign patterns for S <= 16, else ``n_permutations`` random ones (seeded)."""
    if n_sequences <= EXACT_UP_TO:
        return np.array(list(itertools.product((1.0, -1.0), repeat=n_sequences)))
    rng = np.random.default_rng(seed)
    signs = rng.integers(0, 2, size=(n_permutations, n_sequences)).astype(np.float32)
    signs *= 2.0
    signs -= 1.0
    return signs


def sign_flip_p_value(diffs: np.ndarray, weights: np.ndarray | None = None,
                      n_permutations: int = 10000, seed: int = DEFAULT_SEED) -> float:
    """Two-sided sign-flip permutation p-value for one set of per-sequence differences."""
    return float(sign_flip_p_values(np.asarray(diffs, float).reshape(-1, 1), weights,
                                    n_permutations, seed)[0])


@QUIET
def paired_test(a: str, b: str, metric: str, values_a: np.ndarray, values_b: np.ndarray,
                weights: np.ndarray | None = None, level: float = 0.95,
                n_resamples: int = DEFAULT_RESAMPLES, n_permutations: int = 10000,
                seed: int = DEFAULT_SEED) -> PairedTest:
    """Is score(A) - score(B) a real difference? Same sequences, same order, for both."""
    va = np.asarray(values_a, dtype=np.float64)
    vb = np.asarray(values_b, dtype=np.float64)
    if va.shape != vb.shape:
        raise ValueError("paired test needs the same sequences for both trackers")
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    d = va - vb
    lo, hi = bootstrap_ci(d, w, level=level, n_resamples=n_resamples, seed=seed)
    return PairedTest(a=a, b=b, metric=metric, n_sequences=len(d),
                      score_a=weighted_mean(va, w), score_b=weighted_mean(vb, w),
                      diff=weighted_mean(d, w), ci_low=lo, ci_high=hi,
                      p_value=sign_flip_p_value(d, w, n_permutations=n_permutations, seed=seed))
