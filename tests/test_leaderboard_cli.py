"""`mfv2bench leaderboard`: published and local rows together in every output format."""

from __future__ import annotations

import io

import pandas as pd
from click.testing import CliRunner
from report_samples import official_lasot_tree, write_store_results

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.speed.store import SpeedResult, save_speed_result


def test_local_and_published_rows_together(workspace, tmp_path):
    root = official_lasot_tree(tmp_path)
    split = load_split("lasot", root=root, allow_partial=True)
    results = workspace / "results"
    write_store_results(results, "mfv2-b", split, noise=1.0)
    write_store_results(results, "csrt", split, noise=25.0, seed=3)
    save_speed_result(SpeedResult(tracker="csrt", device="cpu", threads=1, batch=1, precision="fp32",
                                  weights="n/a (no network)", tracking={"fps": 80.0}), results)
    runner = CliRunner()
    res = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root), "--format", "csv",
                               "--speed", "cpu"])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(io.StringIO(res.output))
    ours = frame[frame["ours"]].set_index("tracker")
    assert set(ours.index) == {"mfv2-b", "csrt"}
    assert ours.loc["mfv2-b", "paper_value"] == 70.6
    assert ours.loc["csrt", "fps_cpu"] == 80.0
    assert (~frame["ours"]).sum() > 50
    assert frame[frame["comparable"]]["value"].is_monotonic_decreasing
    assert ours["source"].str.contains("PARTIAL").all()  # 2 of 280 sequences on disk
    # not the full official split: listed after the ranked rows, without a rank
    assert (ours["coverage"] == "partial").all() and not ours["comparable"].any()
    assert ours["rank"].isna().all() and frame["ours"].iloc[-2:].all()

    res = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root)])
    assert res.exit_code == 0
    assert "* mfv2-b" in res.output and "vs 70.6" in res.output and "Pareto front" in res.output
    assert "protocol mixformerv2" in res.output

    out = tmp_path / "board.html"
    res = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root), "--format", "html",
                               "--out", str(out)])
    assert res.exit_code == 0 and 'class="ours"' in out.read_text()
    res = runner.invoke(main, ["leaderboard", "--dataset", "lasot", "--root", str(root), "--format", "markdown",
                               "--trackers", "mfv2-b"])
    assert res.exit_code == 0 and "**\\* mfv2-b [PARTIAL]**" in res.output and "csrt" not in res.output


def test_without_local_data_published_only_with_note(workspace):
    res = CliRunner().invoke(main, ["leaderboard", "--dataset", "got10k", "--metric", "ao"])
    assert res.exit_code == 0, res.output
    assert "GOT-10k leaderboard by AO" in res.output and "no local rows" in res.output
    res = CliRunner().invoke(main, ["leaderboard", "--dataset", "mars"])
    assert res.exit_code == 2 and "no published results" in res.output
    res = CliRunner().invoke(main, ["leaderboard", "--dataset", "lasot", "--trackers", "x"])
    assert res.exit_code == 2 and res.output.startswith("error:")
