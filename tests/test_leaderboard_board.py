"""Leaderboard: the shipped published table, ranking with ours, reproduction delta, Pareto front,
and the four output formats."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from mfv2bench.app.leaderboard import render_board
from mfv2bench.errors import ConfigError, InputError
from mfv2bench.leaderboard.board import LocalEntry, build_leaderboard, pareto_mask
from mfv2bench.leaderboard.published import COLUMNS, load_published, published_csv_path
from mfv2bench.leaderboard.render import front_text, render


@pytest.fixture(scope="module")
def published():
    return load_published()


def test_shipped_table_is_package_data_and_complete(published):
    assert published_csv_path().name == "published.csv"
    assert len(published) > 300
    paper = published[(published.tracker == "MixFormerV2") & (published.variant == "B")
                      & (published.dataset == "LaSOT") & (published.metric == "AUC")]
    assert paper["value"].tolist() == [70.6]
    assert published["source"].str.len().min() > 0


def _csv(tmp_path, body: str):
    path = tmp_path / "p.csv"
    path.write_text(",".join(COLUMNS) + "\n" + body)
    return path


def test_bad_published_rows_name_file_and_line(tmp_path):
    ok = "T,v,LaSOT,AUC,50.0,%,10,,hw,src,2020\n"
    with pytest.raises(InputError, match=r"p\.csv:3: column 'value'"):
        load_published(_csv(tmp_path, ok + "T,v,LaSOT,AUC,fifty,%,,,,src,2020\n"))
    with pytest.raises(InputError, match=r"p\.csv:2: expected 11 columns"):
        load_published(_csv(tmp_path, "T,v,LaSOT,AUC,50\n"))
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(InputError, match=r"h\.csv:1: header"):
        load_published(tmp_path / "h.csv")


def test_ours_ranked_with_published_and_delta(published):
    board = build_leaderboard(published, "lasot", "auc",
                              [LocalEntry("mfv2-b", 69.9, 68.8, 71.0, fps_gpu=150.0),
                               LocalEntry("csrt", 31.2, fps_cpu=40.0), LocalEntry("mfv2-s-sdpa", 60.0),
                               LocalEntry("mfv2-b-depth4", 50.0)])
    rows = board.rows
    assert board.dataset == "LaSOT" and board.metric == "AUC"
    assert rows["value"].is_monotonic_decreasing
    ours = rows[rows["ours"]].set_index("tracker")
    assert set(ours.index) == {"mfv2-b", "csrt", "mfv2-s-sdpa", "mfv2-b-depth4"}
    assert ours.loc["mfv2-b", "paper_value"] == 70.6
    assert ours.loc["mfv2-s-sdpa", "paper_value"] == 60.6  # a runtime variant reproduces the paper
    assert math.isnan(ours.loc["mfv2-b-depth4", "paper_value"])  # an ablation does not
    assert ours.loc["mfv2-b", "delta"] == pytest.approx(69.9 - 70.6)
    assert math.isnan(ours.loc["csrt", "delta"])
    # rank = 1 + number of strictly better rows
    r = int(ours.loc["mfv2-b", "rank"])
    assert r == 1 + int((rows["value"] > 69.9).sum())
    published_rows = rows[~rows["ours"]]
    assert len(published_rows) == int(((published.dataset == "LaSOT") & (published.metric == "AUC")).sum())


def test_got10k_auc_means_ao_and_unknown_dataset(published):
    board = build_leaderboard(published, "got10k-test", "auc")
    assert board.metric == "AO" and board.dataset == "GOT-10k" and len(board.rows) > 10
    assert build_leaderboard(published, "uav123", "auc").dataset == "UAV123"
    with pytest.raises(ConfigError, match="no published results"):
        build_leaderboard(published, "nosuchset", "auc")


def test_pareto_mask_known_answer():
    fps = np.array([10, 20, 30, np.nan, 20, 5])
    acc = np.array([70, 60, 50, 99, 55, 70])
    # (10,70) beats (5,70); (20,60) beats (20,55); (30,50) fastest; nan never on the front
    assert pareto_mask(fps, acc).tolist() == [True, True, True, False, False, False]


def test_front_uses_chosen_speed_column(published):
    board = build_leaderboard(published, "lasot", "auc", [LocalEntry("fastest", 1.0, fps_gpu=1e6)], speed="gpu")
    front = board.pareto_front()
    assert front.iloc[0]["tracker"] == "fastest"
    assert front["value"].is_monotonic_increasing  # faster points on the front are less accurate
    assert "fastest" in front_text(board)
    cpu = build_leaderboard(published, "lasot", "auc", speed="cpu")
    assert cpu.rows.loc[cpu.rows["pareto"], "fps_cpu"].notna().all()


def test_formats_and_escaping(published):
    evil = "<script>alert(1)</script>|x"
    board = build_leaderboard(published, "lasot", "auc", [LocalEntry(evil, 50.0), LocalEntry("mfv2-b", 70.0)])
    text = render(board, "table")
    assert "* mfv2-b" in text and "MixFormerV2" in text and "-0.6 vs 70.6" in text
    frame = pd.read_csv(io.StringIO(render(board, "csv")))
    assert {"rank", "tracker", "ours", "delta", "pareto", "dataset", "metric"} <= set(frame.columns)
    assert len(frame) == len(board.rows) and frame["ours"].sum() == 2
    md = render(board, "markdown")
    assert "**\\* mfv2-b**" in md
    assert "\\|x" in md  # a pipe in a name does not break the table
    html = render_board(board, "html")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'class="ours"' in html and "sortable" in html
    assert 'id="plot-pareto"' in html and 'src="data:image/png;base64,' in html and "Pareto front (GPU FPS" in html
    with pytest.raises(ConfigError):
        render(board, "xml")
    with pytest.raises(ConfigError):
        render(board, "html")  # the page is drawn by the report layer (render_board)
    assert render_board(board, "table").endswith(front_text(board))
