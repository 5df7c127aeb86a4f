"""Speed JSON beside the raw results, eval-run timings marked contended, the speed-accuracy table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mfv2bench.errors import InputError
from mfv2bench.leaderboard.points import published_speed_points
from mfv2bench.provenance import hardware_manifest
from mfv2bench.speed.eval_timings import SEQUENTIAL, eval_timing_summary, run_conditions
from mfv2bench.speed.render import summary_text
from mfv2bench.speed.store import (CONTENDED, SpeedResult, load_speed_results, read_speed_result,
                                   save_speed_result)
from mfv2bench.speed.table import speed_accuracy_table


def _result(tracker="mfv2-s", device="cpu", threads=2, e2e=None, model=None, **kw):
    return SpeedResult(
        tracker=tracker, device=device, threads=threads, batch=1, precision="fp32",
        weights="random weights", runtime="eager",
        model_latency=None if model is None else {"fps": model, "median_ms": 1000 / model},
        tracking=None if e2e is None else {"fps": e2e, "frames": 10, "decode_s": 0.01},
        manifest=hardware_manifest(device if device == "cpu" else "cpu", threads), **kw)


def test_manifest_names_hardware_and_software():
    m = hardware_manifest("cpu", 2, precision="fp32", runtime="eager", weights="random weights")
    assert m["cpu"]["threads_used"] == 2 and m["cpu"]["model"]
    assert m["gpu"] is None and m["packages"]["torch"]
    assert m["runtime"] == "eager" and m["weights"] == "random weights"
    json.dumps(m)


def test_save_and_load_round_trip(tmp_path):
    r = _result(e2e=50.0, model=120.0)
    path = save_speed_result(r, tmp_path)
    assert path == tmp_path / "mfv2-s" / "speed" / "cpu-2t-b1-fp32.json"
    back = read_speed_result(path)
    assert back.to_dict() == json.loads(json.dumps(r.to_dict()))
    gpu = _result(device="cuda:0", threads=None, model=500.0)
    assert save_speed_result(gpu, tmp_path).name == "cuda0-autot-b1-fp32.json"
    contended = _result(tracker="mfv2-s", threads=1, e2e=5.0, conditions=CONTENDED)
    save_speed_result(contended, tmp_path)
    assert len(load_speed_results(tmp_path, "mfv2-s")) == 2
    assert len(load_speed_results(tmp_path, "mfv2-s", include_contended=True)) == 3
    assert {r.tracker for r in load_speed_results(tmp_path)} == {"mfv2-s"}
    assert load_speed_results(tmp_path, "absent") == []
    assert "e2e_fps" in summary_text(load_speed_results(tmp_path))


def test_broken_speed_file_names_file_and_line(tmp_path):
    bad = tmp_path / "t" / "speed" / "cpu-1t-b1-fp32.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"tracker": "t",\n "device": }\n')
    with pytest.raises(InputError) as err:
        load_speed_results(tmp_path, "t")
    assert err.value.line == 2 and str(bad) in str(err.value)
    bad.write_text('{"x": 1}')
    with pytest.raises(InputError, match="not a speed result"):
        read_speed_result(bad)


def _eval_run(folder, manifest, times):
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(manifest))
    for name, t in times.items():
        (folder / f"{name}_time.txt").write_text("\n".join(repr(x) for x in t) + "\n")


def test_eval_timings_exclude_frame_zero_and_are_labelled(tmp_path):
    run = tmp_path / "mfv2-s" / "lasot-test"
    _eval_run(run, {"workers": 4}, {"a": [1.0, 0.1, 0.1], "b": [2.0, 0.2]})
    s = eval_timing_summary(run)
    assert s["conditions"] == CONTENDED
    assert s["frames"] == 3
    assert s["fps"] == pytest.approx(3 / 0.4)
    assert run_conditions({"workers": 1}) == SEQUENTIAL
    assert run_conditions({"backend": "dask", "workers": 1}) == CONTENDED
    assert run_conditions({}) == CONTENDED  # unknown: never claim speed
    assert run_conditions({"timing": "sequential", "workers": 1}) == SEQUENTIAL
    assert run_conditions({"timing": "contended", "workers": 1}) == CONTENDED
    (run / "c_time.txt").write_text("0.1\nabc\n")
    with pytest.raises(InputError) as err:
        eval_timing_summary(run)
    assert err.value.line == 2


def test_speed_accuracy_table_ours_and_published():
    published = pd.DataFrame([
        {"tracker": "MixFormerV2", "variant": "B", "dataset": "LaSOT", "metric": "AUC",
         "value": 70.6, "unit": "%", "fps_gpu": 165.0, "fps_cpu": np.nan, "hardware": "GPU",
         "source": "paper", "year": 2023},
        {"tracker": "X", "variant": "", "dataset": "LaSOT", "metric": "AUC", "value": 60.0,
         "unit": "%", "fps_gpu": np.nan, "fps_cpu": np.nan, "hardware": "", "source": "p",
         "year": 2020},
        {"tracker": "Y", "variant": "", "dataset": "GOT-10k", "metric": "AO", "value": 60.0,
         "unit": "%", "fps_gpu": 30.0, "fps_cpu": np.nan, "hardware": "", "source": "p",
         "year": 2020},
    ])
    speed = {
        "mfv2-s": [_result(e2e=40.0, model=80.0), _result(threads=1, e2e=25.0),
                   _result(threads=2, e2e=999.0, conditions=CONTENDED)],
        "mfv2-b": [_result(tracker="mfv2-b", model=10.0)],
        "csrt": [_result(tracker="csrt", e2e=30.0)],
    }
    table = speed_accuracy_table(speed, {"mfv2-s": 65.0, "mfv2-b": 70.0, "nospeed": 1.0},
                                 "lasot", published_points=published_speed_points("lasot", published))
    ours = table[table["source"] == "ours"].set_index("tracker")
    assert list(ours.index) == ["mfv2-b", "mfv2-s"]
    assert ours.loc["mfv2-s", "fps_cpu"] == 40.0  # best isolated end-to-end, contended ignored
    assert ours.loc["mfv2-s", "fps_measure"] == "end-to-end"
    assert ours.loc["mfv2-b", "fps_measure"] == "model"
    assert pd.isna(ours.loc["mfv2-s", "fps_gpu"])
    pub = table[table["source"] == "published"]
    assert list(pub["tracker"]) == ["MixFormerV2"] and pub.iloc[0]["fps_gpu"] == 165.0


def test_scatter_points_split_cpu_and_gpu():
    from mfv2bench.speed.table import scatter_points

    table = speed_accuracy_table({"mfv2-s": [_result(e2e=40.0)]}, {"mfv2-s": 65.0}, "lasot")
    cpu = scatter_points(table, "cpu")
    assert list(cpu["label"]) == ["mfv2-s"] and cpu.iloc[0]["fps"] == 40.0 and cpu.iloc[0]["ours"]
    assert scatter_points(table, "gpu").empty


def test_eval_timings_listed_per_run_with_labels(tmp_path):
    from click.testing import CliRunner

    from mfv2bench.cli import main
    from mfv2bench.speed.eval_timings import eval_timings_of

    results = tmp_path / "results"
    _eval_run(results / "csrt" / "lasot-test", {"workers": 2}, {"a": [1.0, 0.1, 0.3]})
    _eval_run(results / "kcf" / "lasot-test", {"workers": 1}, {"a": [1.0, 0.5]})
    (results / "kcf" / "speed").mkdir()
    rows = eval_timings_of(results)
    assert [(r["tracker"], r["conditions"]) for r in rows] == [("csrt", CONTENDED),
                                                               ("kcf", SEQUENTIAL)]
    assert eval_timings_of(results, "kcf")[0]["fps"] == pytest.approx(2.0)
    (tmp_path / "mfv2bench.toml").write_text("[paths]\n")
    out = CliRunner().invoke(main, ["--workspace", str(tmp_path), "speed", "--eval-timings"])
    assert out.exit_code == 0, out.output
    assert "contended" in out.output and "not the tracker's speed" in out.output
