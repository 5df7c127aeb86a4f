"""The parse cache stores parsed boxes in the smallest exact dtype: cast part by part, any value
that does not survive the cast (out of range, NaN, inf, fraction) moves the whole to a wider
dtype, and the values read back are always the ones parsed."""

from __future__ import annotations

import numpy as np
import pytest

from mfv2bench.results.readers import _compact


def _parts(seed: int = 0, n: int = 30, hi: float = 1000) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.floor(rng.uniform(-hi, hi, (int(rng.integers(0, 50)), 4))) for _ in range(n)]


@pytest.mark.parametrize("value,dtype", [(None, np.int16), (40000.0, np.int32),
                                         (-40000.0, np.int32), (3e9, np.float64),
                                         (0.5, np.float64), (np.nan, np.float64),
                                         (np.inf, np.float64), (-np.inf, np.float64)])
@pytest.mark.parametrize("where", [0, 14, 29])
def test_dtype_follows_the_values(value, dtype, where: int) -> None:
    parts = _parts()
    parts[where] = np.vstack([parts[where], np.zeros((1, 4))])
    if value is not None:
        parts[where][-1, 2] = value
    out = _compact(parts)
    assert out.dtype == dtype
    ref = np.concatenate(parts)
    np.testing.assert_array_equal(out.astype(np.float64), ref)


def test_labels_and_empty() -> None:
    labels = [np.array([0.0, 1, 1, 0]), np.zeros(0), np.array([1.0])]
    out = _compact(labels)
    assert out.dtype == np.int16 and out.tolist() == [0, 1, 1, 0, 1]
    assert _compact([]).dtype == np.float64
    assert _compact([np.zeros((0, 4))]).dtype == np.float64


def test_tab_files_read_in_a_thread_equal_the_main_thread(tmp_path) -> None:
    """fastparse's numpy path (tabs) is skipped off the main thread (its warning filter is
    process-wide); the exact parsers give the same arrays."""
    import threading

    from mfv2bench.results.readers import read_box_files
    rng = np.random.default_rng(3)
    paths = []
    for k in range(5):
        rows = np.floor(rng.uniform(0, 500, (300, 4))).astype(int)
        p = tmp_path / f"s{k}.txt"
        p.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
        paths.append(p)
    main = read_box_files(paths, cache=False)
    out: list = []
    t = threading.Thread(target=lambda: out.append(read_box_files(paths, cache=False)))
    t.start()
    t.join()
    for a, b in zip(main, out[0]):
        np.testing.assert_array_equal(a, b)
        assert b.dtype == np.float64
