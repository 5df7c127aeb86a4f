"""The vectorized integer parser agrees exactly with the strict parser, and declines (returns
None, so the strict parser decides and reports file:line) on anything unusual; grouped scoring
of large batches is bit-identical to scoring them at once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mfv2bench.errors import InputError
from mfv2bench.metrics import engine
from mfv2bench.metrics.engine import SequenceInput, score_batch
from mfv2bench.metrics.protocols import PROTOCOLS
from mfv2bench.results.boxtext import RESULTS_KEEP_NAN, parse_boxes
from mfv2bench.results.fastparse import parse_int_rows
from mfv2bench.results.readers import parse_many


def _strict(data: bytes) -> np.ndarray:
    return parse_boxes(data.decode(), "f.txt", RESULTS_KEEP_NAN)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values and equal signs of zero (float() parsing keeps -0.0)."""
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True) \
        and np.array_equal(np.signbit(a), np.signbit(b))


def _write(rows: np.ndarray, delim: str, eol: str, trailing: bool) -> bytes:
    text = eol.join(delim.join(str(int(v)) for v in r) for r in rows)
    return (text + (eol if trailing else "")).encode()


@pytest.mark.parametrize("delim", [",", "\t"])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("trailing", [True, False])
def test_random_integer_files_agree_with_strict_parser(delim, eol, trailing):
    rng = np.random.default_rng(len(delim) + len(eol) + trailing)
    datas = []
    for _ in range(12):
        rows = rng.integers(-5000, 100000, size=(int(rng.integers(1, 60)), 4))
        rows[rows == 0] = 7  # "-0" is declined (checked below); plain 0 is common
        rows[rng.random(len(rows)) < 0.1, 2] = 0
        datas.append(_write(rows, delim, eol, trailing))
    fast = parse_int_rows(datas, 4)
    assert fast is not None
    for d, a in zip(datas, fast):
        assert _same(a, _strict(d))
    # and through the readers' entry point
    paths = [Path(f"f{i}.txt") for i in range(len(datas))]
    for d, a in zip(datas, parse_many(datas, paths)):
        assert _same(a, _strict(d))


def test_line_counts_split_per_file_and_empty_files():
    datas = [b"1,2,3,4\n5,6,7,8\n", b"", b"9,10,11,12", b"0,0,0,0\r\n"]
    out = parse_int_rows(datas, 4)
    assert out is not None
    assert [len(a) for a in out] == [2, 0, 1, 1]
    np.testing.assert_array_equal(out[2], [[9, 10, 11, 12]])
    assert parse_int_rows([b"", b""], 4)[0].shape == (0, 4)


def test_large_integers_near_float_exactness_limit():
    big = 2 ** 53 - 1
    ok = f"{big},1,2,3\n".encode()
    assert _same(parse_int_rows([ok], 4)[0], _strict(ok))
    for v in (2 ** 53, 10 ** 17, 10 ** 30):  # not exact in float64 / beyond int64: declined
        assert parse_int_rows([f"{v},1,2,3\n".encode()], 4) is None


@pytest.mark.parametrize("data", [
    b"1.5,2,3,4\n",            # decimal
    b"1,2,3,nan\n",            # NaN
    b"1e3,2,3,4\n",            # exponent
    b"1, 2, 3, 4\n",           # spaces
    b"1,2,3,4\n\n5,6,7,8\n",   # blank line
    b"1,,2,3,4\n",             # doubled separator
    b"1,2,3\n",                # too few values
    b"1,2,3,4,5\n",            # too many values
    b"1,2\n3,4,5,6,7,8\n",     # right total, wrong per line
    b",1,2,3\n",               # leading separator
    b"1,2,3,\n",               # trailing separator
    b"1,-,2,3\n",              # lone minus
    b"1,2-3,4,5\n",            # minus inside a value
    b"-0,1,2,3\n",             # negative zero (float() keeps the sign)
    b"-05,1,2,3\n",            # zero-padded negative
    b"1,2,3,4\r5,6,7,8\r",     # bare CR
    b"+1,2,3,4\n",             # explicit plus
    b"1;2;3;4\n",              # semicolons
])
def test_unusual_input_is_declined_and_strict_parser_decides(data):
    assert parse_int_rows([b"1,2,3,4\n", data], 4) is None
    paths = [Path("a.txt"), Path("b.txt")]
    try:
        expected = _strict(data)
    except InputError as exc:
        with pytest.raises(InputError) as got:
            parse_many([b"1,2,3,4\n", data], paths)
        assert str(exc).replace("f.txt", "b.txt") == str(got.value)
        return
    got_arrays = parse_many([b"1,2,3,4\n", data], paths, nan="keep")
    # equal values (the batched loadtxt fallback reads "-0" as 0.0, equal to -0.0)
    np.testing.assert_array_equal(got_arrays[1], expected)


def test_errors_name_file_and_line_after_fallback():
    with pytest.raises(InputError, match=r"b\.txt.*3|3.*b\.txt"):
        parse_many([b"1,2,3,4\n", b"1,2,3,4\n5,6,7,8\n9,10,11\n"],
                   [Path("a.txt"), Path("b.txt")])


def test_single_column_labels():
    out = parse_int_rows([b"0\n1\n1\n", b"1\r\n0"], 1)
    assert out is not None
    np.testing.assert_array_equal(out[0].ravel(), [0, 1, 1])
    np.testing.assert_array_equal(out[1].ravel(), [1, 0])
    assert parse_int_rows([b"0\n\n1\n"], 1) is None


def _items(rng: np.random.Generator) -> list[SequenceInput]:
    items = []
    for i in range(30):
        n = int(rng.integers(2, 300))
        gt = np.floor(rng.uniform(1, 300, (n, 4)))
        gt[rng.random(n) < 0.05] = 0
        pred = gt + np.round(rng.normal(0, 5, (n, 4)), 1)
        pred[rng.random(n) < 0.05, 2] = 0
        pred[:, 2:] = np.abs(pred[:, 2:])
        runs = [pred] if i % 3 else [pred, pred + 1, pred - 0.5]
        vis = rng.random(n) > 0.05
        items.append(SequenceInput(f"s{i}", gt, runs, visible=vis,
                                   cover=(vis * 8).astype(float), image_size=(640, 480),
                                   times=np.full(n, 0.01)))
    return items


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_grouped_scoring_is_bit_identical(name, monkeypatch):
    items = _items(np.random.default_rng(3))
    whole = score_batch(items, PROTOCOLS[name], on_reject="skip")
    monkeypatch.setattr(engine, "GROUP_FRAMES", 40)  # many groups of whole units
    grouped = score_batch(items, PROTOCOLS[name], on_reject="skip")
    assert len(whole) > 0
    for f in dataclasses.fields(whole):
        a, b = getattr(whole, f.name), getattr(grouped, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), f.name
        elif f.name != "protocol":
            assert a == b, f.name


def test_label_files_fast_path_agrees_with_strict_parser():
    from mfv2bench.results.readers import parse_labels_text, parse_many_labels
    datas = [b"0\n1\n1\n0\n", b"0,0,1,1,0", b"1\r\n0\r\n", b"", b"3\n\n4\n", b"0.5\n1\n"]
    paths = [Path(f"l{i}.txt") for i in range(len(datas))]
    for d, got, p in zip(datas, parse_many_labels(datas, paths), paths):
        want = parse_labels_text(d.decode(), p)
        assert got.dtype == np.float64 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    fast_only = datas[:4]
    for d, got, p in zip(fast_only, parse_many_labels(fast_only, paths), paths):
        np.testing.assert_array_equal(got, parse_labels_text(d.decode(), p))


@pytest.mark.parametrize("parts, dtype", [
    ([np.array([[1.0, -2, 3, 4]]), np.zeros((0, 4)), np.array([[30000.0, 0, 0, 1]])], np.int16),
    ([np.array([[1.0, 2, 3, 4]]), np.array([[70000.0, 0, 0, 1]])], np.int32),
    ([np.array([[1.5, 2, 3, 4]]), np.array([[7.0, 0, 0, 1]])], np.float64),
    ([np.array([[np.nan, 2, 3, 4]])], np.float64),
    ([np.array([[1e12, 2, 3, 4]])], np.float64),
    ([np.zeros((0, 4))], np.float64),
])
def test_cache_compaction_is_exact(parts, dtype):
    from mfv2bench.results.readers import _compact
    out = _compact(parts)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.astype(np.float64), np.concatenate(parts))
