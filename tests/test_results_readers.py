"""Raw-result readers: every layout, file:line errors, never padding, and the parse cache."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mfv2bench.errors import InputError, MissingDataError
from mfv2bench.results.readers import (CACHE_NAME, locate_results, parse_box_file,
                                       read_box_files, read_label_files, read_results,
                                       read_store, read_times)

BOXES = np.array([[10, 20, 30, 40], [11, 21, 31, 41], [12.5, 22.25, 32, 42], [-3, 0, 5, 6]])


def _write(path: Path, rows: np.ndarray, sep: str = ",", fmt: str = "%r") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(sep.join(fmt % float(v) for v in r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("sep", [",", "\t", " "])
def test_pytracking_style_files_any_separator(tmp_path: Path, sep: str) -> None:
    _write(tmp_path / "seqA.txt", BOXES, sep)
    _write(tmp_path / "seqB.txt", np.trunc(BOXES), sep, fmt="%d")
    (tmp_path / "seqA_time.txt").write_text("0.01\n0.02\n0.03\n0.04\n")
    res = read_results(tmp_path, {"seqA": 4, "seqB": 4})
    np.testing.assert_array_equal(res["seqA"].boxes, BOXES)
    np.testing.assert_array_equal(res["seqB"].boxes, np.trunc(BOXES))
    np.testing.assert_allclose(res["seqA"].times, [0.01, 0.02, 0.03, 0.04])
    assert res["seqB"].times is None


def test_full_precision_floats_read_exactly(tmp_path: Path) -> None:
    rows = np.random.default_rng(0).uniform(-100, 1000, (50, 4))
    _write(tmp_path / "s.txt", rows)
    np.testing.assert_array_equal(read_results(tmp_path, ["s"])["s"].boxes, rows)


@pytest.mark.parametrize("text,line,match", [
    ("1,2,3,4\n1,2,3\n", 2, "expected 4 values"),
    ("1,2,3,4\n1,2,x,4\n", 2, "unparsable"),
    ("1,2,3,4\n5,6,7,8\nnan,nan,nan,nan\n", 3, "NaN"),
    ("1,2,3,4,5\n", 1, "expected 4 values"),
])
def test_bad_lines_name_file_and_line(tmp_path: Path, text: str, line: int, match: str) -> None:
    (tmp_path / "good.txt").write_text("1,2,3,4\n" * 3)
    (tmp_path / "bad.txt").write_text(text)
    with pytest.raises(InputError, match=match) as info:
        read_results(tmp_path, ["good", "bad"])
    assert info.value.path == tmp_path / "bad.txt" and info.value.line == line
    assert f"bad.txt:{line}:" in str(info.value)


def test_nan_kept_when_the_protocol_handles_it(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("1,2,3,4\nnan,nan,nan,nan\n5,6,7,8\n")
    arr = read_results(tmp_path, ["s"], nan="keep")["s"].boxes
    assert np.isnan(arr[1]).all() and arr[2, 3] == 8


def test_short_result_is_an_error_never_padded(tmp_path: Path) -> None:
    _write(tmp_path / "s.txt", BOXES[:3])
    with pytest.raises(InputError, match="never padded") as info:
        read_results(tmp_path, {"s": 4})
    assert info.value.line == 4
    assert len(read_results(tmp_path, {"s": 2})["s"].boxes) == 3  # longer: protocol decides


def test_missing_sequences_listed(tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", BOXES)
    with pytest.raises(MissingDataError, match="2 of 3 sequences have no result.*b, c"):
        read_results(tmp_path, ["a", "b", "c"])
    with pytest.raises(MissingDataError):
        read_results(tmp_path / "nope", ["a"])


def test_got10k_layout_with_runs_and_time_columns(tmp_path: Path) -> None:
    for r in (1, 2, 3):
        _write(tmp_path / "GOT-10k_Val_000001" / f"GOT-10k_Val_000001_{r:03d}.txt", BOXES + r,
               fmt="%.3f")
    (tmp_path / "GOT-10k_Val_000001" / "GOT-10k_Val_000001_time.txt").write_text(
        "0.1,0.2,0.3\n" * 4)
    res = read_results(tmp_path, {"GOT-10k_Val_000001": 4})["GOT-10k_Val_000001"]
    assert len(res.runs) == 3
    np.testing.assert_allclose(res.runs[2], BOXES + 3)
    assert res.times.shape == (4, 3)


def test_submission_zips(tmp_path: Path) -> None:
    tn = tmp_path / "tn.zip"
    with zipfile.ZipFile(tn, "w") as z:
        z.writestr("-3TIfnTSM6c_2.txt", "0.43,102.17,245.73,176.10\n1,2,3,4\n")
        z.writestr("__MACOSX/._-3TIfnTSM6c_2.txt", "junk")
    res = read_results(tn, {"-3TIfnTSM6c_2": 2})
    np.testing.assert_allclose(res["-3TIfnTSM6c_2"].boxes[0], [0.43, 102.17, 245.73, 176.10])
    got = tmp_path / "got.zip"
    with zipfile.ZipFile(got, "w") as z:
        z.writestr("GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt", "1,2,3,4\n5,6,7,8\n")
        z.writestr("GOT-10k_Test_000001/GOT-10k_Test_000001_time.txt", "0.1\n0.2\n")
    r = read_results(got, ["GOT-10k_Test_000001"])["GOT-10k_Test_000001"]
    np.testing.assert_array_equal(r.boxes, [[1, 2, 3, 4], [5, 6, 7, 8]])
    np.testing.assert_allclose(r.times, [0.1, 0.2])
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("s.txt", "1,2,3,4\n1,2\n")
    with pytest.raises(InputError, match=r"bad\.zip!s\.txt:2"):
        read_results(bad, ["s"])


def test_store_layout(tmp_path: Path) -> None:
    _write(tmp_path / "mfv2-b" / "lasot-test" / "airplane-1.txt", BOXES)
    res = read_store(tmp_path, "mfv2-b", "lasot-test", {"airplane-1": 4})
    np.testing.assert_array_equal(res["airplane-1"].boxes, BOXES)
    with pytest.raises(MissingDataError, match="mfv2bench eval"):
        read_store(tmp_path, "other", "lasot-test", ["airplane-1"])


def test_parse_cache_is_used_and_invalidated(tmp_path: Path, monkeypatch) -> None:
    from mfv2bench.results import readers
    a = _write(tmp_path / "a.txt", np.trunc(BOXES), fmt="%d")
    b = _write(tmp_path / "b.txt", BOXES)
    first = read_box_files([a, b])
    assert (tmp_path / CACHE_NAME).is_file()
    # the cache answers without parsing the text again (same bytes: same digest)
    with monkeypatch.context() as m:
        m.setattr(readers, "parse_many", lambda *a, **k: pytest.fail("parsed again"))
        again = read_box_files([a, b])
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    # a real change invalidates that file's entry, even when size and mtime are kept
    st = os.stat(a)
    _write(a, np.trunc(BOXES) + 1, fmt="%d")
    assert os.stat(a).st_size == st.st_size
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    np.testing.assert_array_equal(read_box_files([a, b])[0], np.trunc(BOXES) + 1)
    # a damaged cache is rebuilt, not trusted
    (tmp_path / CACHE_NAME).write_bytes(b"garbage")
    np.testing.assert_array_equal(read_box_files([a, b])[1], BOXES)
    # without cache nothing is written
    (tmp_path / CACHE_NAME).unlink()
    read_box_files([a, b], cache=False)
    assert not (tmp_path / CACHE_NAME).exists()


def test_cached_nan_still_reports_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("1,2,3,4\nnan,1,2,3\n")
    read_box_files([tmp_path / "s.txt"], nan="keep")
    with pytest.raises(InputError) as info:
        read_box_files([tmp_path / "s.txt"], nan="error")
    assert info.value.line == 2


def test_label_files_and_times(tmp_path: Path) -> None:
    (tmp_path / "full_occlusion.txt").write_text("0,0,1,1,0")
    (tmp_path / "absent.txt").write_text("0\n1\n0\n")
    occ, absent = read_label_files([tmp_path / "full_occlusion.txt", tmp_path / "absent.txt"])
    np.testing.assert_array_equal(occ, [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(absent, [0, 1, 0])
    (tmp_path / "bad.label").write_text("0\n1\nx\n")
    with pytest.raises(InputError, match="unparsable label") as info:
        read_label_files([tmp_path / "bad.label"])
    assert info.value.line == 3
    (tmp_path / "t.txt").write_text("0.5\nabc\n")
    with pytest.raises(InputError) as info:
        read_times(tmp_path / "t.txt")
    assert info.value.line == 2
    assert read_times(tmp_path / "none.txt") is None


def test_single_file_parser_and_locate(tmp_path: Path) -> None:
    _write(tmp_path / "x.txt", BOXES, "\t")
    np.testing.assert_array_equal(parse_box_file(tmp_path / "x.txt"), BOXES)
    with pytest.raises(MissingDataError):
        parse_box_file(tmp_path / "y.txt")
    files = locate_results(tmp_path, ["x"])
    assert files.run_paths("x") == [tmp_path / "x.txt"]
    assert files.signature()[0][0] == "x.txt"
