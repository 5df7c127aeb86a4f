"""The one box-text parser and formatter (results.boxtext) and the one atomic write."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mfv2bench.errors import InputError
from mfv2bench.results import atomic
from mfv2bench.results.atomic import atomic_write
from mfv2bench.results.boxtext import (GROUND_TRUTH, RESULTS, RESULTS_KEEP_NAN, SUBMISSION,
                                       BoxSyntax, format_boxes, format_column, parse_boxes)

BOXES = np.array([[1.0, 2.0, 3.0, 4.0], [0.1 + 0.2, 1e-17, 123456.789012345678, -0.5],
                  [-3.0, 0.0, 5.25, 6.125]])


@pytest.mark.parametrize("syntax", [RESULTS, RESULTS_KEEP_NAN, GROUND_TRUTH, SUBMISSION])
def test_full_precision_round_trip_under_every_syntax(syntax):
    text = format_boxes(BOXES)
    assert text.splitlines()[0] == "1.0,2.0,3.0,4.0"
    back = parse_boxes(text, "f.txt", syntax)
    assert back.dtype == np.float64 and np.array_equal(back, BOXES)  # bit-exact


def test_fixed_decimals_and_integers():
    assert format_boxes(BOXES[:1], decimals=4) == "1.0000,2.0000,3.0000,4.0000\n"
    assert format_boxes([[12.0, 0.0, 7.0, 9.0]], decimals=0) == "12,0,7,9\n"
    back = parse_boxes(format_boxes(BOXES, decimals=4), "f.txt", SUBMISSION)
    assert np.allclose(back, BOXES, atol=5e-5)
    assert format_boxes(np.zeros((0, 4))) == "" and parse_boxes("", "f.txt").shape == (0, 4)
    assert format_column([0.5, 1 / 3]) == f"0.5\n{1 / 3!r}\n"


@pytest.mark.parametrize("text", ["1,2,3,4", "1\t2\t3\t4", "1 2 3 4", "1;2;3;4", "1, 2 ,3,\t4",
                                  "1,,2,3,4", " 1  2\t 3 ;4 "])
def test_results_syntax_accepts_any_run_of_separators(text):
    assert parse_boxes(text + "\n", "f.txt", RESULTS).tolist() == [[1, 2, 3, 4]]


@pytest.mark.parametrize("text, ok", [("1,2,3,4", True), ("1\t2\t3\t4", True), ("1 2 3 4", True),
                                      ("1 , 2 , 3 , 4", True), ("1;2;3;4", False),
                                      ("1,,2,3", False), ("1,2,3,4,", False)])
def test_ground_truth_syntax_commas_or_blanks(text, ok):
    if ok:
        assert parse_boxes(text, "gt.txt", GROUND_TRUTH).tolist() == [[1, 2, 3, 4]]
    else:
        with pytest.raises(InputError) as err:
            parse_boxes(text, "gt.txt", GROUND_TRUTH)
        assert str(err.value).startswith("gt.txt:1:")


@pytest.mark.parametrize("text", ["1\t2\t3\t4", "1;2;3;4", "1 2 3 4"])
def test_submission_syntax_commas_only(text):
    with pytest.raises(InputError, match="separated by commas") as err:
        parse_boxes("1,2,3,4\n" + text + "\n", "z.zip!s.txt", SUBMISSION)
    assert err.value.line == 2 and "z.zip!s.txt:2:" in str(err.value)
    assert parse_boxes("1, 2,3 ,4\n", "s.txt", SUBMISSION).tolist() == [[1, 2, 3, 4]]


def test_blank_lines_skipped_or_only_at_the_end():
    text = "1,2,3,4\n\n5,6,7,8\n\n\n"
    assert len(parse_boxes(text, "r.txt", RESULTS)) == 2
    for syntax in (GROUND_TRUTH, SUBMISSION):
        assert len(parse_boxes("1,2,3,4\n5,6,7,8\n\n  \n", "f.txt", syntax)) == 2
        with pytest.raises(InputError, match="empty line") as err:
            parse_boxes(text, "f.txt", syntax)
        assert err.value.line == 2


@pytest.mark.parametrize("text, line, match", [
    ("1,2,3,4\n1,2,3\n", 2, "expected 4 values"),
    ("1,2,3,4\n1,2,x,4\n", 2, "unparsable"),
    ("1,2,3,4\n5,6,7,8\nnan,nan,nan,nan\n", 3, "NaN"),
    ("1,2,3,4,5\n", 1, "expected 4 values"),
])
def test_errors_name_file_and_line(text, line, match):
    with pytest.raises(InputError, match=match) as err:
        parse_boxes(text, "bad.txt", RESULTS)
    assert err.value.line == line and str(err.value).startswith(f"bad.txt:{line}:")


def test_refused_values_per_policy():
    text = "1,2,3,4\nnan,2,3,4\n1,inf,3,4\n"
    kept = parse_boxes(text, "f.txt", RESULTS_KEEP_NAN)
    assert np.isnan(kept[1, 0]) and np.isinf(kept[2, 1])
    assert np.isnan(parse_boxes(text, "gt.txt", GROUND_TRUTH)[1]).any()
    with pytest.raises(InputError, match="cannot score NaN") as err:
        parse_boxes(text, "f.txt", RESULTS)
    assert err.value.line == 2
    assert np.isinf(parse_boxes("1,inf,3,4\n", "f.txt", RESULTS)[0, 1])  # only NaN is refused
    with pytest.raises(InputError, match=r"y is inf \(NaN or infinite values are not accepted"):
        parse_boxes("1,2,3,4\n1,inf,3,4\n", "s.txt", SUBMISSION)
    with pytest.raises(InputError, match="expected 4 comma-separated values"):
        parse_boxes("1,2,3\n", "s.txt", SUBMISSION)


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="separators"):
        BoxSyntax(separators="pipe")  # type: ignore[arg-type]


def test_atomic_write_text_and_bytes(tmp_path):
    p = tmp_path / "a.txt"
    assert atomic_write(p, "héllo\n") == p and p.read_bytes() == "héllo\n".encode("utf-8")
    atomic_write(p, b"\x00\x01", fsync=False, mode=0o644)
    assert p.read_bytes() == b"\x00\x01" and p.stat().st_mode & 0o777 == 0o644
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_write_leaves_no_temp_file_and_the_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "run.json"
    p.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write(p, "new\n")
    monkeypatch.undo()
    with pytest.raises(TypeError):
        atomic_write(p, 12345)  # type: ignore[arg-type]  # fails while writing
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["run.json"]
