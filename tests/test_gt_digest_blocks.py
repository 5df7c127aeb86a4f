"""The GT digest hashed in blocks of many sequences still sees every change of every value,
whichever block it falls in and whatever exact form (int16, int32, float64) the block takes."""

from __future__ import annotations

import numpy as np
import pytest

from mfv2bench.results import score_cache as sc


def _entries(n_seq: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_seq):
        n = int(rng.integers(2000, 3000))
        gt = np.floor(rng.uniform(0, 1000, (n, 4)))
        vis = rng.random(n) > 0.05
        out.append([f"s{k}", gt, vis, None, None])
    return out


def _digest(entries) -> str:
    return sc.gt_digest(tuple(e) for e in entries)


@pytest.mark.parametrize("seq", [0, 7, 23, 39])
@pytest.mark.parametrize("value", [0.5, -0.0, 40000.0, 3e9, np.nan, np.inf, 1.0])
def test_every_block_sees_a_changed_value(seq: int, value: float) -> None:
    entries = _entries()
    base = _digest(entries)
    gt = entries[seq][1].copy()
    row = len(gt) // 2
    if gt[row, 1] == value:
        gt[row, 1] += 1
    else:
        gt[row, 1] = value
    entries[seq][1] = gt
    assert _digest(entries) != base
    assert _digest(entries) == _digest(entries)  # deterministic


def test_minus_zero_differs_from_zero() -> None:
    entries = _entries(3)
    entries[1][1][:, 0] = 0.0
    zero = _digest(entries)
    entries[1][1][5, 0] = -0.0
    assert _digest(entries) != zero


def test_visibility_and_dtype_changes() -> None:
    entries = _entries(30)
    base = _digest(entries)
    entries[20][2] = entries[20][2].copy()
    entries[20][2][100] = ~entries[20][2][100]
    assert _digest(entries) != base
    entries = _entries(30)
    entries[20][2] = entries[20][2].astype(np.float64)  # a labelled float array is another input
    assert _digest(entries) != base
    entries = _entries(30)
    entries[3][4] = (640, 480)
    assert _digest(entries) != base
    entries = _entries(30)
    entries[4][0] = "renamed"
    assert _digest(entries) != base


def test_rows_moved_between_sequences_change_the_digest() -> None:
    entries = _entries(4)
    base = _digest(entries)
    a, b = entries[1][1], entries[2][1]
    entries[1][1], entries[2][1] = a[:-1], np.concatenate([a[-1:], b])
    entries[1][2], entries[2][2] = entries[1][2][:-1], np.concatenate(
        [entries[1][2][-1:], entries[2][2]])
    assert _digest(entries) != base
