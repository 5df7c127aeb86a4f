"""`mfv2bench report` from raw results on disk: analysis, manifests, speed, partial marking."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from report_samples import official_lasot_tree, write_store_results

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.report.build import report_model
from mfv2bench.speed.store import SpeedResult, save_speed_result
from mfv2bench.workspace import load_workspace


@pytest.fixture
def synthetic_ws(workspace):
    ws = load_workspace(workspace)
    write_synthetic("lasot", ws.data_root("synthetic-lasot"), n_sequences=3, n_frames=(12, 16), size=(96, 72), seed=1)
    split = load_split("synthetic-lasot", workspace=ws)
    write_store_results(ws.results_dir, "close", split, noise=1.0, seed=1,
                        manifest={"tracker": "close", "complete": True, "spec_hash": "abc"})
    write_store_results(ws.results_dir, "far", split, noise=20.0, seed=2)
    save_speed_result(SpeedResult(tracker="close", device="cpu", threads=1, batch=1, precision="fp32",
                                  weights="n/a (no network)", tracking={"fps": 123.0}), ws.results_dir)
    return ws, split


def test_model_from_analysis(synthetic_ws):
    ws, split = synthetic_ws
    m = report_model(ws, "synthetic-lasot", ["close", "far"])
    assert m.protocol == "mixformerv2" and len(m.protocol_hash) >= 6 and not m.partial
    assert m.overall_metrics[0] == "AUC"
    auc = m.overall.set_index("tracker")["AUC"]
    assert auc["close"] > auc["far"]
    row = m.overall.set_index("tracker").loc["close"]
    assert row["AUC_lo"] <= row["AUC"] <= row["AUC_hi"]
    assert {s.tracker for s in m.curves["success"]} == {"close", "far"}
    assert set(m.curves) == {"success", "precision", "norm_precision"}
    assert len(m.per_sequence) == 3 and {"AUC close", "AUC far", "frames"} <= set(m.per_sequence.columns)
    assert {"tracker A", "tracker B", "A - B", "p-value"} <= set(m.paired.columns)
    assert m.manifests["close"]["spec_hash"] == "abc" and "far" not in m.manifests
    assert m.speed_points["label"].tolist() == ["close"] and m.speed_points["fps"].tolist() == [123.0]
    assert m.leaderboard is None  # synthetic data is not compared with published LaSOT numbers


def test_report_cli_writes_html_and_pdf(synthetic_ws):
    ws, _ = synthetic_ws
    res = CliRunner().invoke(main, ["report", "--dataset", "synthetic-lasot", "--trackers", "close,far", "--pdf",
                                    "--out", str(ws.reports_dir / "mine")])
    assert res.exit_code == 0, res.output
    html = (ws.reports_dir / "mine" / "index.html").read_text()
    assert (ws.reports_dir / "mine" / "report.pdf").stat().st_size > 10_000
    assert "Success plots of OPE" in html and 'id="per-sequence-table"' in html
    assert 'id="protocol-definition"' in html and "overlap_thresholds" in html
    assert 'id="partial-banner"' not in html


def test_report_cli_errors_are_one_line(synthetic_ws):
    ws, split = synthetic_ws
    res = CliRunner().invoke(main, ["report", "--dataset", "synthetic-lasot", "--trackers", "close,nobody"])
    assert res.exit_code == 2 and res.output.startswith("error: ") and "Traceback" not in res.output
    bad = ws.results_dir / "close" / split.key / "run.json"
    bad.write_text("{not json")
    res = CliRunner().invoke(main, ["report", "--dataset", "synthetic-lasot", "--trackers", "close"])
    assert res.exit_code == 2 and "run.json:1" in res.output


def test_partial_split_and_published_comparison(workspace, tmp_path):
    ws = load_workspace(workspace)
    root = official_lasot_tree(tmp_path)
    split = load_split("lasot", root=root, allow_partial=True)
    write_store_results(ws.results_dir, "mfv2-b", split, noise=1.0)
    m = report_model(ws, "lasot", ["mfv2-b"], root=root)
    assert m.partial and "278 of 280" in m.partial_details[0]
    board = m.leaderboard.rows
    ours = board[board["ours"]].iloc[0]
    assert ours["paper_value"] == 70.6 and ours["delta"] == pytest.approx(ours["value"] - 70.6)
    assert (~board["ours"]).sum() > 50
    assert not m.attributes.empty  # LaSOT attributes from the shipped CSV
    res = CliRunner().invoke(main, ["report", "--dataset", "lasot", "--root", str(root), "--trackers", "mfv2-b"])
    assert res.exit_code == 0, res.output
    html = (ws.reports_dir / "lasot-test" / "index.html").read_text()
    assert 'id="partial-banner"' in html and 'id="leaderboard"' in html and "70.6" in html
    manifest = {"tracker": "mfv2-b", "complete": False}
    (ws.results_dir / "mfv2-b" / "lasot-test" / "run.json").write_text(json.dumps(manifest))
    assert any("manifest" in d for d in report_model(ws, "lasot", ["mfv2-b"], root=root).partial_details)


def test_missing_results_need_allow_partial_and_are_marked(synthetic_ws):
    ws, split = synthetic_ws
    gone = split.sequences[0].name
    (ws.results_dir / "far" / split.key / f"{gone}.txt").unlink()
    res = CliRunner().invoke(main, ["report", "--dataset", "synthetic-lasot", "--trackers", "close,far"])
    assert res.exit_code == 2 and "far" in res.output and gone in res.output
    m = report_model(ws, "synthetic-lasot", ["close", "far"], allow_partial=True)
    assert m.partial and any(d.startswith("far: no results for 1 of 3") for d in m.partial_details)
    assert len(m.per_sequence) == 2 and gone not in set(m.per_sequence["sequence"])
    res = CliRunner().invoke(main, ["report", "--dataset", "synthetic-lasot", "--trackers", "close,far",
                                    "--allow-partial"])
    assert res.exit_code == 0, res.output
    assert 'id="partial-banner"' in (ws.reports_dir / "synthetic-lasot-test" / "index.html").read_text()
