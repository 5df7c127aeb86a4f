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
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--protocol", " "],
     "--protocol is empty; choose one of:"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--protocol", "bogus"],
     "unknown metric protocol 'bogus'; known:"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a,a"],
     "'--trackers': names a twice"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", " , "],
     "'--trackers': ' , ' names nothing"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--sequences", ""],
     "'--sequences': '' names nothing"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--split", ""],
     "'--split': must not be empty"),
    (["analyze", "--dataset", "", "--trackers", "a"], "'--dataset': must not be empty"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--resamples", "10"],
     "'--resamples': 10 is not in 100..100000"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--resamples", "99999999"],
     "'--resamples': 99999999 is not in 100..100000"),
    (["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--workers", "0"],
     "'--workers': 0 is not in 1..256"),
    (["report", "--dataset", "synthetic-lasot", "--trackers", "a", "--protocol", ""],
     "--protocol is empty"),
    (["report", "--dataset", "synthetic-lasot", "--trackers", "a", "--protocol", "nope"],
     "unknown metric protocol 'nope'"),
    (["report", "--dataset", "synthetic-lasot", "--trackers", ","],
     "'--trackers': ',' names nothing"),
    (["leaderboard", "--dataset", "lasot", "--metric", "bogus"],
     "unknown metric 'bogus'; choose from ao, auc"),
    (["leaderboard", "--dataset", "lasot", "--metric", ""], "'--metric': must not be empty"),
    (["leaderboard", "--dataset", "lasot", "--protocol", ""], "--protocol is empty"),
    (["leaderboard", "--dataset", "lasot", "--protocol", "bogus"], "unknown metric protocol"),
    (["leaderboard", "--dataset", "lasot", "--trackers", ""], "'--trackers': '' names nothing"),
    (["results", "import", ".", "--as", "x", "-d", "synthetic-lasot", "--split", " "],
     "'--split': must not be empty"),
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


# -- results on anything but the full official split: marked everywhere, never ranked -----------

import json  # noqa: E402

from mfv2bench.datasets.registry import load_split  # noqa: E402
from mfv2bench.metrics.analysis import analyze_store  # noqa: E402
from mfv2bench.results import manifest as mf  # noqa: E402
from mfv2bench.workspace import load_workspace  # noqa: E402
from report_samples import official_lasot_tree, write_store_results  # noqa: E402
from runner_helpers import make_synthetic  # noqa: E402


def _three_sequence_lasot(tmp_path):
    """A LaSOT root whose own list names 3 official sequences: loads as complete, is a subset."""
    root = official_lasot_tree(tmp_path, n_sequences=3)
    names = sorted(p.name for p in root.glob("*/*") if p.is_dir())
    (root / "testing_set.txt").write_text("\n".join(names) + "\n")
    split = load_split("lasot", root=root)
    assert not split.partial and split.expected == 3
    return root, split


def test_three_sequence_lasot_root_is_a_subset_everywhere(workspace, tmp_path):
    ws = load_workspace(workspace)
    root, split = _three_sequence_lasot(tmp_path)
    write_store_results(ws.results_dir, "mfv2-b", split, noise=0.5)
    a = analyze_store(split, ["mfv2-b"], ws.results_dir)
    assert a.coverage_of("mfv2-b") == "subset" and not a.comparable("mfv2-b")
    assert "3 of the 280 official sequences scored" in a.coverage_reasons["mfv2-b"]
    assert a.table().loc["mfv2-b", "coverage"] == "subset"
    runner = CliRunner()
    res = runner.invoke(main, ["analyze", "--dataset", "lasot", "--root", str(root),
                               "--trackers", "mfv2-b"])
    assert res.exit_code == 0, res.output
    assert "mfv2-b [SUBSET]" in res.output and "not comparable" in res.output
    res = runner.invoke(main, ["analyze", "--dataset", "lasot", "--root", str(root),
                               "--trackers", "mfv2-b", "--json"])
    data = json.loads(res.output)
    assert data["coverage"] == {"mfv2-b": "subset"} and data["comparable"] == {"mfv2-b": False}
    # leaderboard: not ranked among published rows, flagged, listed after them
    res = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root),
                               "--format", "csv"])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(io.StringIO(res.output))
    ours = frame[frame["ours"]].iloc[0]
    assert pd.isna(ours["rank"]) and ours["coverage"] == "subset" and not ours["comparable"]
    assert frame["ours"].iloc[-1] and not ours["pareto"]
    assert frame[frame["comparable"]]["rank"].min() == 1
    res = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root)])
    assert "* mfv2-b [SUBSET]" in res.output and "not comparable" in res.output
    # report: banner and a per-tracker mark
    res = runner.invoke(main, ["report", "--dataset", "lasot", "--root", str(root),
                               "--trackers", "mfv2-b"])
    assert res.exit_code == 0, res.output
    html = (ws.reports_dir / "lasot-test" / "index.html").read_text()
    assert 'id="partial-banner"' in html and "mfv2-b [SUBSET: not comparable]" in html
    assert "3 of the 280 official sequences scored" in html


def test_full_synthetic_split_stays_unmarked_and_sequences_subset_is_marked(workspace):
    ws = load_workspace(workspace)
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=6)
    split = load_split("synthetic-lasot", workspace=ws)
    write_store_results(ws.results_dir, "trk", split, noise=0.5)
    a = analyze_store(split, ["trk"], ws.results_dir)
    assert a.coverage_of("trk") == "full" and a.comparable("trk")
    res = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers", "trk"])
    assert res.exit_code == 0 and "[SUBSET]" not in res.output and "[PARTIAL]" not in res.output
    res = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers", "trk",
                                    "--sequences", split.sequences[0].name])
    assert res.exit_code == 0, res.output
    assert "trk [SUBSET]" in res.output and "--sequences: 1 sequence(s)" in res.output


@pytest.mark.parametrize("manifest, state", [
    ({"coverage": "partial", "subset": ["1 failed"], "complete": False}, "partial"),
    ({"coverage": "subset", "subset": ["--sequences: 2 of 3 sequences"], "complete": False},
     "subset"),
    ({"complete": False}, "partial"),  # a manifest written before coverage was recorded
    ({"coverage": "full", "complete": True}, "full"),
])
def test_run_manifest_coverage_lowers_the_analysis(workspace, manifest, state):
    ws = load_workspace(workspace)
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=6)
    split = load_split("synthetic-lasot", workspace=ws)
    write_store_results(ws.results_dir, "trk", split, noise=0.5, manifest=manifest)
    a = analyze_store(split, ["trk"], ws.results_dir)
    assert a.coverage_of("trk") == state
    if state != "full":
        assert any(r.startswith("run manifest: ") for r in a.coverage_reasons["trk"])


def test_changed_ground_truth_is_refused_naming_the_sequence(workspace):
    ws = load_workspace(workspace)
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=6)
    split = load_split("synthetic-lasot", workspace=ws)
    fps = {s.name: mf.annotation_fingerprint(s.gt, s.n_frames) for s in split.sequences}
    write_store_results(ws.results_dir, "trk", split, noise=0.5,
                        manifest={"coverage": "full", "complete": True, "annotations": fps})
    assert analyze_store(split, ["trk"], ws.results_dir).comparable("trk")  # unchanged: fine
    victim = split.sequences[1]
    gt_file = next(p for p in (workspace / "datasets").rglob("groundtruth.txt")
                   if p.parent.name == victim.name)
    lines = gt_file.read_text().splitlines()
    x, y, w, h = lines[2].split(",")
    lines[2] = ",".join([str(float(x) + 7), y, w, h])
    gt_file.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers", "trk"])
    assert res.exit_code == 2, res.output
    assert victim.name in res.output and "ground truth" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(main, ["report", "--dataset", "synthetic-lasot", "--trackers", "trk"])
    assert res.exit_code == 2 and victim.name in res.output


def test_import_of_a_subset_root_is_marked_in_its_manifest_and_results_list(workspace, tmp_path):
    ws = load_workspace(workspace)
    root, split = _three_sequence_lasot(tmp_path)
    src = tmp_path / "published"
    src.mkdir()
    for s in split.sequences:
        (src / f"{s.name}.txt").write_text("".join(",".join(str(v) for v in r) + "\n"
                                                    for r in s.gt))
    res = CliRunner().invoke(main, ["results", "import", str(src), "--as", "pub", "-d", "lasot",
                                    "--root", str(root)])
    assert res.exit_code == 0, res.output
    assert "SUBSET: root list names 3 of the 280 official sequences" in res.output
    m = json.loads((ws.results_dir / "pub" / "lasot-test" / "run.json").read_text())
    assert m["coverage"] == "subset" and m["complete"] is False
    assert set(m["annotations"]) == {s.name for s in split.sequences}
    res = CliRunner().invoke(main, ["results", "list"])
    assert "subset" in res.output


def test_subset_tracker_is_off_the_report_speed_front(workspace, tmp_path):
    from mfv2bench.report.build import report_model
    from mfv2bench.speed.store import SpeedResult, save_speed_result
    ws = load_workspace(workspace)
    root, split = _three_sequence_lasot(tmp_path)
    write_store_results(ws.results_dir, "mfv2-b", split, noise=0.5)
    save_speed_result(SpeedResult(tracker="mfv2-b", device="cpu", threads=1, batch=1,
                                  precision="fp32", weights="n/a", tracking={"fps": 5000.0}),
                      ws.results_dir)
    m = report_model(ws, "lasot", ["mfv2-b"], root=root)
    ours = m.speed_points[m.speed_points["ours"]]
    assert list(ours["label"]) == ["mfv2-b [SUBSET]"] and not ours["pareto"].any()
    assert m.coverage == {"mfv2-b": "subset"}
