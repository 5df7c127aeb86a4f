"""Issue 11, metrics/report/leaderboard side: CSV cells that would run as spreadsheet formulas are
neutralised, option values are checked (one line, exit 2), table columns keep fixed decimals."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.leaderboard.board import build_leaderboard
from mfv2bench.leaderboard.published import COLUMNS, load_published
from mfv2bench.leaderboard.render import csv_safe_cell, to_csv
from mfv2bench.report.views import column_decimals, frame_view

HOSTILE = ["=HYPERLINK(\"http://x\",\"a\")", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]


def _published_csv(path, trackers: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i, name in enumerate(trackers):
            w.writerow([name, "=1+1" if i == 0 else "B", "LaSOT", "AUC", 60 - i, "%", "", "", "",
                        "-src" if i == 1 else "paper", 2023])
        w.writerow(["Negative", "B", "LaSOT", "AUC", -1.5, "%", "", "", "", "paper", 2023])


@pytest.mark.parametrize("cell", HOSTILE)
def test_csv_cell_that_starts_a_formula_is_quoted(cell):
    assert csv_safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-3.5", "+2", "MixFormerV2", "", "a=b", 41.0, -2.5, None])
def test_csv_numbers_and_plain_text_are_kept(cell):
    assert csv_safe_cell(cell) == cell


def test_leaderboard_csv_neutralises_text_and_keeps_numbers(tmp_path):
    path = tmp_path / "pub.csv"
    _published_csv(path, HOSTILE)
    board = build_leaderboard(load_published(path), "lasot", "auc")
    text = to_csv(board)
    rows = list(csv.DictReader(io.StringIO(text)))
    trackers = {r["tracker"] for r in rows}
    for cell in HOSTILE:
        assert "'" + cell.strip() in trackers  # the loader strips blanks
    for r in rows:
        for key, value in r.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (key, value)
            if value.startswith("-"):  # only numbers may start with a minus
                float(value)
    assert any(r["value"] == "-1.5" for r in rows)  # a negative number stays a number
    assert any(r["variant"] == "'=1+1" for r in rows) and any(r["source"] == "'-src" for r in rows)
    frame = pd.read_csv(io.StringIO(text))
    assert frame["value"].dtype.kind == "f" and frame["rank"].dtype.kind == "i"


def test_leaderboard_cli_csv_is_neutralised(workspace, tmp_path):
    path = tmp_path / "pub.csv"
    _published_csv(path, HOSTILE[:2])
    res = CliRunner().invoke(main, ["leaderboard", "--dataset", "lasot", "--format", "csv",
                                    "--published", str(path)])
    assert res.exit_code == 0, res.output
    assert "\n=" not in res.output and ",=" not in res.output and ",+" not in res.output
    assert "'=HYPERLINK" in res.output


@pytest.mark.parametrize("args, message", [
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--protocol", ""],
     "--protocol is empty; choose one of:"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--protocol", "bogus"],
     "unknown metric protocol 'bogus'; known:"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a,a"], "--trackers names a twice"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", " , "],
     "--trackers needs at least one name"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--sequences", ""],
     "--sequences needs at least one name"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--split", ""],
     "--split is empty"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--resamples", "10"],
     "--resamples must be in 100..100000"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--resamples", "99999999"],
     "--resamples must be in 100..100000"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--workers", "0"],
     "--workers must be in 1..256"),
    (["report", "--dataset", "synthetic-lasot", "--trackers", "a", "--protocol", ""],
     "--protocol is empty"),
    (["report", "--dataset", "synthetic-lasot", "--trackers", "a", "--protocol", "nope"],
     "unknown metric protocol 'nope'"),
    (["report", "--dataset", "synthetic-lasot", "--trackers", ","], "--trackers needs at least"),
    (["leaderboard", "--dataset", "lasot", "--metric", "bogus"],
     "unknown metric 'bogus'; choose from ao, auc"),
    (["leaderboard", "--dataset", "lasot", "--metric", ""], "unknown metric ''"),
    (["leaderboard", "--dataset", "lasot", "--protocol", ""], "--protocol is empty"),
    (["leaderboard", "--dataset", "lasot", "--protocol", "bogus"], "unknown metric protocol"),
    (["leaderboard", "--dataset", "lasot", "--trackers", ""], "--trackers needs at least one"),
    (["results", "import", ".", "--as", "x", "-d", "synthetic-lasot", "--split", " "],
     "--split is empty"),
])
def test_bad_option_values_are_one_line_exit_2(workspace, args, message):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert message in res.output, res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_library_refuses_an_empty_protocol_instead_of_the_default():
    from mfv2bench.datasets.base import DatasetSplit, Sequence
    from mfv2bench.errors import ConfigError
    from mfv2bench.metrics.analysis import analyze
    seq = Sequence("s", "lasot", "test", [], np.array([[1.0, 2, 3, 4]] * 3))
    split = DatasetSplit("lasot", "test", ".", [seq], expected=1)
    with pytest.raises(ConfigError, match="unknown metric protocol ''"):
        analyze(split, {"t": {"s": seq.gt}}, protocol="")


def test_html_columns_keep_a_fixed_number_of_decimals():
    frame = pd.DataFrame({"tracker": ["a", "b", "c"], "AUC": [41.0, 41.25, 7.0],
                          "p": [0.5, 0.0123, 1.0], "frames": np.array([10, 200, 3000])})
    view = frame_view(frame, "t")
    rows = view.text_rows()
    assert [r[1] for r in rows] == ["41.0", "41.2", "7.0"]
    assert len({len(r[2].split(".")[1]) for r in rows}) == 1  # same decimals down the column
    assert [r[3] for r in rows] == ["10", "200", "3000"]
    assert column_decimals([float("nan")]) == 1 and column_decimals([0.001, 0.002]) == 4
    assert not math.isnan(column_decimals([]))


# -- numpy floating-point warnings stay inside the engine -----------------------------------------

HUGE = np.array([[1e308, 1e308, 1e308, 1e308], [-1e308, 5, 1e308, 1e308],
                 [1e300, -1e300, 1e300, 1e300], [3e38, 3e38, 3e38, 3e38], [1, 2, 3, 4],
                 [2, 3, 4, 5]])


@pytest.mark.parametrize("protocol", sorted(__import__("mfv2bench.metrics.protocols",
                                                       fromlist=["PROTOCOLS"]).PROTOCOLS))
def test_hostile_boxes_raise_no_numpy_warning(protocol):
    import warnings
    from mfv2bench.datasets.base import DatasetSplit, Sequence
    from mfv2bench.errors import Mfv2benchError
    from mfv2bench.metrics.analysis import analyze
    gt = np.array([[10.0, 20, 30, 40]] * 6)
    seq = Sequence("s", "got10k", "val", [], gt, visible=np.ones(6, bool), cover=np.full(6, 8.0),
                   image_size=(640, 480))
    split = DatasetSplit("got10k", "val", ".", [seq], expected=1)
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            analyze(split, {"t": {"s": HUGE}, "u": {"s": gt}}, protocol=protocol,
                    on_reject="skip", n_resamples=200)
        except Mfv2benchError:
            pass  # a protocol that refuses such boxes says so; what matters: no warning
    assert np.geterr() == before  # local errstate, not a global setting


def test_analyze_cli_stderr_has_no_numpy_warning(workspace, tmp_path):
    from runner_helpers import make_synthetic
    from mfv2bench.datasets.registry import load_split
    from mfv2bench.workspace import load_workspace
    make_synthetic(workspace, "lasot", n_sequences=2, n_frames=6)
    split = load_split("synthetic-lasot", workspace=load_workspace(workspace))
    folder = workspace / "results" / "huge" / split.key
    folder.mkdir(parents=True)
    for s in split.sequences:
        (folder / f"{s.name}.txt").write_text(
            "".join(",".join(repr(float(v)) for v in HUGE[i % len(HUGE)]) + "\n"
                    for i in range(s.n_frames)))
    for protocol in ("lasot-toolkit", "otb", "pysot", "trackingnet"):
        res = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers",
                                        "huge", "--protocol", protocol, "--no-cache"])
        assert res.exit_code in (0, 2), res.output
        assert "RuntimeWarning" not in res.output and "overflow" not in res.output, res.output
