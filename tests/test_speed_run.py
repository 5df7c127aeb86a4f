"""run_speed end to end on a small MixFormerV2 spec (random weights, one block) over synthetic
LaSOT-layout frames: every measure, the manifest, the saved JSON and the CLI table."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.speed.run import RANDOM_WEIGHTS, SpeedOptions, run_speed
from mfv2bench.speed.store import load_speed_results
from mfv2bench.workspace import load_workspace

SPEC = """kind = "mixformerv2"
description = "small test network"
[model]
variant = "small"
depth = 1
mlp_hidden = 16
checkpoint = "checkpoints/absent.pth.tar"
[params]
search_factor = 4.4
"""


@pytest.fixture
def ws(workspace):
    (workspace / "trackers" / "tiny.toml").write_text(SPEC)
    write_synthetic("lasot", workspace / "datasets" / "synthetic" / "lasot", n_sequences=2,
                    n_frames=(6, 6), size=(96, 72))
    return load_workspace(workspace)


def test_run_speed_measures_everything_and_saves(ws):
    opts = SpeedOptions(warmup=1, iters=2, breakdown=True, scaling=True, scaling_threads=[1],
                        scaling_batches=(1, 2), max_frames=4, warmup_frames=1)
    res = run_speed("tiny", ws, threads=1, options=opts)
    assert res.weights == RANDOM_WEIGHTS  # checkpoint absent: latency-only random weights
    assert res.model_latency["measure"].startswith("model latency")
    assert res.model_latency["template_size"] == 112 and res.model_latency["search_size"] == 224
    assert res.model_latency["runtime"] == "eager" and res.model_latency["n"] == 2
    assert res.tracking["frames"] == 2 * 3  # 4 frames read per sequence, frame 0 not timed
    assert res.tracking["dataset"] == "synthetic-lasot"
    assert [r["component"] for r in res.breakdown] == ["backbone", "box_head", "score_head",
                                                       "total"]
    assert [r["threads"] for r in res.thread_scaling] == [1]
    assert [r["batch"] for r in res.batch_scaling] == [1, 2]
    assert res.manifest["cpu"]["threads_used"] == 1 and res.manifest["weights"] == RANDOM_WEIGHTS
    saved = load_speed_results(ws.results_dir, "tiny")
    assert len(saved) == 1 and saved[0].to_dict() == json.loads(json.dumps(res.to_dict()))
    path = ws.results_dir / "tiny" / "speed" / "cpu-1t-b1-fp32.json"
    assert path.is_file()


def test_batch_and_bf16_use_the_model_and_skip_end_to_end(ws):
    opts = SpeedOptions(warmup=0, iters=1, max_frames=3, warmup_frames=0)
    res = run_speed("tiny", ws, threads=1, batch=2, options=opts)
    assert res.model_latency["batch"] == 2 and res.tracking is None
    assert any("batch 1" in n for n in res.notes)


def test_cli_table_for_two_settings(ws):
    runner = CliRunner()
    out = runner.invoke(main, ["speed", "--tracker", "tiny", "--threads", "1", "--iters", "2",
                               "--warmup", "0", "--frames", "3", "--sequences", "1"])
    assert out.exit_code == 0, out.output
    assert "tiny" in out.output and "random weights" in out.output
    assert "frame 0 excluded" in out.output
    out = runner.invoke(main, ["speed", "--tracker", "tiny", "--threads", "1", "--iters", "1",
                               "--warmup", "0", "--no-tracking", "--json"])
    data = json.loads(out.output)
    assert data[0]["tracking"] is None and data[0]["model_latency"]["n"] == 1


def test_speed_accuracy_table_from_store(ws):
    from mfv2bench.datasets.registry import load_split
    from mfv2bench.app.speed_accuracy import speed_accuracy_from_store

    run_speed("tiny", ws, threads=1, options=SpeedOptions(warmup=0, iters=1, max_frames=3,
                                                          warmup_frames=0))
    split = load_split("synthetic-lasot", workspace=ws)
    folder = ws.results_dir / "tiny" / split.key
    folder.mkdir(parents=True)
    for seq in split.sequences:  # perfect boxes: AUC of the success curve is ~100%
        lines = [",".join(repr(float(v)) for v in box) for box in seq.gt]
        (folder / f"{seq.name}.txt").write_text("\n".join(lines) + "\n")
    table = speed_accuracy_from_store(ws, "synthetic-lasot")
    assert list(table["tracker"]) == ["tiny"]
    row = table.iloc[0]
    assert row["auc"] > 90 and row["fps_cpu"] > 0 and row["source"] == "ours"
    assert row["fps_measure"] == "end-to-end" and row["weights"] == RANDOM_WEIGHTS
    out = CliRunner().invoke(main, ["speed", "--accuracy-table", "synthetic-lasot"])
    assert out.exit_code == 0, out.output
    assert "tiny" in out.output and "fps_cpu" in out.output

