"""Issue 15: the pyarrow fast path of ``fastparse.parse_int_rows`` gives exactly what the strict
parser gives on everything plain, and on anything unusual (separators, NaN, blank lines, short
rows, signs, huge values, stray bytes) the batch falls back, so the strict parser decides and
names the file and line. Checked with pyarrow forced on small inputs and with pyarrow absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mfv2bench.errors import InputError
from mfv2bench.results import fastparse
from mfv2bench.results.boxtext import RESULTS, parse_boxes
from mfv2bench.results.readers import (parse_labels_text, parse_many, parse_many_labels,
                                       read_box_files)

pytestmark = pytest.mark.skipif(fastparse.pa_csv is None, reason="pyarrow not installed")

ODD_FILES = [
    b"1,2,3,4\r\n5,6,7,8\r\n",         # CRLF (plain: fast path after normalising)
    b"1,2,3,4\n5,6,7,8",               # no final line end
    b"007,010,3,4\n",                  # zero-padded positives
    b"2147483647,-2147483648,1,2\n",   # int32 limits (exact)
    b"2147483648,1,2,3\n",             # beyond int32: numpy path
    b"-2147483649,1,2,3\n",
    b"9007199254740993,1,2,3\n",       # beyond float64 exactness: strict parser
    b"1\t2\t3\t4\n",                   # tabs
    b"1,2\t3,4\n",                     # mixed separators
    b"1 2 3 4\n",                      # spaces
    b"1, 2, 3, 4\n",                   # comma and space
    b"1;2;3;4\n",                      # semicolons
    b"1.5,2,3,4\n",                    # decimal
    b"1.0,2.0,3.0,4.0\n",              # integer-valued decimals
    b"1e3,2,3,4\n",                    # exponent
    b"1,2,3,nan\n",                    # NaN
    b"1,2,3,NaN\n",
    b"inf,2,3,4\n",                    # infinity
    b"1,2,3,4\n\n5,6,7,8\n",           # blank line inside
    b"1,2,3,4\n\n",                    # blank line at the end
    b"\n",                             # only a line end
    b"",                               # empty file
    b"1,,2,3\n",                       # empty value
    b"1,2,3\n",                        # short row
    b"1,2,3,4\n5,6,7\n",               # short row after a good one
    b"1,2,3,4,5\n",                    # long row
    b"1,2\n3,4,5,6,7,8\n",             # right total, wrong per line
    b",1,2,3\n",                       # leading separator
    b"1,2,3,\n",                       # trailing separator
    b"-0,1,2,3\n",                     # signed zero (strict keeps -0.0)
    b"-05,1,2,3\n",                    # zero-padded negative
    b"-,1,2,3\n",                      # lone minus
    b"1-2,3,4,5\n",                    # minus inside a value
    b"+1,2,3,4\n",                     # explicit plus
    b"1,2,3,4\r5,6,7,8\r",             # bare CR line ends
    b"\xef\xbb\xbf1,2,3,4\n",          # UTF-8 byte-order mark
    b"\"1\",2,3,4\n",                  # quoted value
    b"1,2,3,4 \n",                     # trailing space
    b"1,2,3,x\n",                      # letter
    b"1,2,3,\xc3\xa9\n",               # non-ASCII
    b"1,2,3,4\x00\n",                  # NUL byte
]


@pytest.fixture(params=["arrow", "no-arrow"])
def path_kind(request, monkeypatch) -> str:
    """Force the pyarrow path even on tiny batches, or take pyarrow away."""
    if request.param == "arrow":
        monkeypatch.setattr(fastparse, "_ARROW_MIN_BYTES", 0)
    else:
        monkeypatch.setattr(fastparse, "pa_csv", None)
    return request.param


def _strict(data: bytes, name: str) -> np.ndarray:
    return parse_boxes(data.decode("utf-8", errors="replace"), Path(name), RESULTS)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values and dtype, equal signs of zero."""
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True) \
        and np.array_equal(np.signbit(a), np.signbit(b))


def _plain(rng: np.random.Generator, n_files: int, eol: str = "\n") -> list[bytes]:
    out = []
    for _ in range(n_files):
        rows = rng.integers(-3000, 100000, size=(int(rng.integers(1, 400)), 4))
        rows[rows == 0] = 1
        rows[rng.random(len(rows)) < 0.1, 2] = 0
        out.append("".join(",".join(map(str, r)) + eol for r in rows.tolist()).encode())
    return out


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_plain_batches_take_the_arrow_path_and_equal_the_strict_parser(eol, monkeypatch):
    calls = []
    real = fastparse.pa_csv.read_csv
    monkeypatch.setattr(fastparse.pa_csv, "read_csv", lambda *a, **k: calls.append(1) or
                        real(*a, **k))
    datas = _plain(np.random.default_rng(len(eol)), 40, eol) + [b""]
    assert sum(map(len, datas)) >= fastparse._ARROW_MIN_BYTES
    fast = fastparse._parse_arrow(datas, 4)
    assert fast is not None and calls
    paths = [Path(f"f{i}.txt") for i in range(len(datas))]
    for d, p, a, b in zip(datas, paths, fast, parse_many(datas, paths)):
        want = _strict(d, p.name)
        assert _same(a, want) and _same(b, want)


@pytest.mark.parametrize("odd", ODD_FILES, ids=[repr(o)[:32] for o in ODD_FILES])
def test_odd_file_in_a_plain_batch_equals_the_strict_parser(odd, path_kind):
    datas = _plain(np.random.default_rng(5), 3) + [odd]
    paths = [Path(f"f{i}.txt") for i in range(len(datas))]
    try:
        want = [_strict(d, p.name) for d, p in zip(datas, paths)]
    except InputError as exc:
        with pytest.raises(InputError) as got:
            parse_many(datas, paths)
        assert str(got.value) == str(exc)  # same message, file and line
        assert got.value.line == exc.line and "f3.txt" in str(got.value)
        return
    got = parse_many(datas, paths)
    for a, b in zip(got, want):
        # values equal; a signed zero read by the batched loadtxt fallback is +0.0 (== -0.0)
        assert a.dtype == np.float64 and np.array_equal(a, b, equal_nan=True)
    fast = fastparse.parse_int_rows(datas, 4)
    if fast is not None:  # whatever the fast paths accept is exactly the strict result
        for a, b in zip(fast, want):
            assert _same(a, b)


@pytest.mark.parametrize("odd", [o for o in ODD_FILES if o.rstrip(b"\n")
                                 and b"\r" not in o.rstrip(b"\r\n")],
                         ids=lambda o: repr(o)[:32])
def test_arrow_declines_whatever_is_not_plain(odd, monkeypatch):
    monkeypatch.setattr(fastparse, "_ARROW_MIN_BYTES", 0)
    plain = b"1,2,3,4\n"
    got = fastparse._parse_arrow([plain, odd], 4)
    if got is None:
        return
    # accepted: only comma-separated integers within int32, no signed zero, one row a line
    want = _strict(odd, "odd.txt")
    assert _same(got[1], want) and _same(got[0], _strict(plain, "p.txt"))
    assert odd.replace(b"\r\n", b"\n").rstrip(b"\n").count(b"\n") + 1 == len(want)


def test_labels_equal_the_strict_parser(path_kind):
    rng = np.random.default_rng(2)
    datas = ["".join(f"{v}\n" for v in rng.integers(0, 2, 3000)).encode() for _ in range(8)]
    datas += [b"0,0,1,1,0", b"1\r\n0\r\n", b"", b"3\n\n4\n", b"0.5\n1\n", b"-0\n1\n"]
    paths = [Path(f"l{i}.txt") for i in range(len(datas))]
    for d, got, p in zip(datas, parse_many_labels(datas, paths), paths):
        want = parse_labels_text(d.decode(), p)
        assert got.dtype == np.float64 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_folder_read_cold_and_from_cache_equals_strict(tmp_path: Path, path_kind) -> None:
    datas = _plain(np.random.default_rng(9), 6) + [b"1\t2\t3\t4\n", b"5,6,7,8\r\n"]
    files = []
    for i, d in enumerate(datas):
        files.append(tmp_path / f"s{i}.txt")
        files[-1].write_bytes(d)
    want = [_strict(d, f.name) for d, f in zip(datas, files)]
    for _ in range(2):  # parsed, then served by the parse cache
        for a, b in zip(read_box_files(files), want):
            assert _same(a, b)


def test_bad_file_in_a_folder_reports_its_line(tmp_path: Path, path_kind) -> None:
    datas = _plain(np.random.default_rng(4), 4)
    for i, d in enumerate(datas):
        (tmp_path / f"s{i}.txt").write_bytes(d)
    (tmp_path / "bad.txt").write_bytes(b"1,2,3,4\n5,6,7,8\n9,10,11\n")
    with pytest.raises(InputError) as info:
        read_box_files(sorted(tmp_path.glob("*.txt")))
    assert info.value.line == 3 and "bad.txt" in str(info.value)
