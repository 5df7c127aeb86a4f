"""Issue 15: the guard's NaN-free path (per-sequence extremes instead of per-frame comparisons)
flags exactly what the per-sequence reference flags."""

from __future__ import annotations

import numpy as np

from mfv2bench.metrics.guard import check_outputs, check_sequence


def test_nan_free_batches_equal_the_per_sequence_reference() -> None:
    rng = np.random.default_rng(1)
    preds, sizes = {}, {}
    for i in range(240):
        n = int(rng.integers(1, 30))  # n == 1: nothing left once frame 1 is dropped
        p = rng.integers(-50, 400, (n, 4)).astype(float)
        kind = i % 6
        if kind == 1:
            p[:] = p[0]
        if kind == 2:
            p[:, 2:] = p[0, 2:]
        if kind == 3 and n > 2:
            p[2:] = p[2]  # identical after frame 2 only: frame 1 is not checked
            p[1, 0] += 1
        if kind == 4:
            p[rng.random(n) < 0.3, int(rng.integers(2, 4))] = 0
        if kind == 5:
            p[:, 2:] = p[0, 2:]
            p[rng.random(n) < 0.5, 1] += 1  # constant size, moving box
        preds[f"s{i}"] = p
        sizes[f"s{i}"] = (300, 200) if i % 2 else None
    assert not any(np.isnan(p).any() for p in preds.values())
    for subset in (preds, {k: v for k, v in preds.items() if int(k[1:]) % 6 == 0}):
        rep = check_outputs(subset, sizes)
        fired = set()
        for name, p in subset.items():
            ref = check_sequence(p, sizes[name])
            assert {f: v[name] for f, v in rep.flags.items() if name in v} == ref, name
            fired |= set(ref)
        if subset is preds:
            assert fired == {"all_identical", "constant_size", "non_positive_size",
                             "outside_image"}


def test_one_nan_anywhere_is_found() -> None:
    preds = {"a": np.array([[1.0, 2, 3, 4], [1, np.nan, 3, 4], [2, 2, 3, 4]]),
             "b": np.array([[5.0, 5, 5, 5], [6, 6, 6, 6], [7, 7, 7, 7]])}
    rep = check_outputs(preds)
    assert rep.flags["nan"] == {"a": 1} and rep.flags["constant_size"] == {}
