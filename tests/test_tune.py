"""``mfv2bench tune``: a test-time parameter chosen on a tuning split (the synthetic LaSOT ``val``
split, disjoint from test and train), by hand-checked AUCs; never on a test split, never editing
an existing spec."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.app import tune as tune_mod
from mfv2bench.app.tune import (check_tuning_split, choose_best, parse_values, split_param, tune,
                                variant_name)
from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import _sequence, write_synthetic
from mfv2bench.errors import ConfigError
from mfv2bench.results.store import ResultsStore
from mfv2bench.trackers.specs import SpecRegistry
from mfv2bench.workspace import load_workspace

REPO = Path(__file__).resolve().parents[1]


def test_values_params_and_names():
    assert parse_values("4.0, 4.5,5,") == [4.0, 4.5, 5]
    assert [type(v) for v in parse_values("4.0,5")] == [float, int]
    assert parse_values("true,false,fast") == [True, False, "fast"]
    with pytest.raises(ConfigError, match="twice"):
        parse_values("5,5.0")
    with pytest.raises(ConfigError, match="no value"):
        parse_values(" , ")
    assert split_param("search_factor") == ("params", "search_factor")
    assert split_param("model.mlp_hidden") == ("model", "mlp_hidden")
    with pytest.raises(ConfigError):
        split_param("dataset.x")
    assert variant_name("mfv2-s", "search_factor", 5.5) == "mfv2-s.tune-search_factor-5.5"
    assert choose_best([(4.0, 0.5), (5.0, float("nan")), (5.5, 0.6), (6.0, 0.6)]) == 2


def test_test_splits_are_refused():
    assert check_tuning_split("synthetic-lasot-val", None) == ("synthetic-lasot", "val")
    assert check_tuning_split("synthetic-lasot", "val") == ("synthetic-lasot", "val")
    assert check_tuning_split("lasot-train", None) == ("lasot", "train")
    for name in ("synthetic-lasot", "synthetic-lasot-test", "lasot", "got10k-val", "otb100"):
        with pytest.raises(ConfigError, match="results are reported on"):
            check_tuning_split(name, None)


def test_val_split_is_disjoint_from_test_and_train(tmp_path):
    """The generator's val stream differs from the test tree and from the train stream the
    training recipes draw from (same seed, same indices)."""
    root = tmp_path / "tree"
    write_synthetic("lasot", root, n_sequences=2, n_frames=5, splits=("test", "train", "val"))
    val = load_split("synthetic-lasot-val", root=root)
    test = load_split("synthetic-lasot-test", root=root)
    train = load_split("synthetic-lasot-train", root=root)
    assert len(val.sequences) == 2
    assert not {s.name for s in val.sequences} & {s.name for s in test.sequences + train.sequences}
    for i, v in enumerate(val.sequences):
        for other in (test.sequences[i], train.sequences[i]):
            assert not np.array_equal(v.gt, other.gt)
        # the stream training reads (data.synthetic_sequences: split index 1)
        assert not np.array_equal(v.gt, _sequence(0, 1, i, 5, (320, 240))[0].gt())
    assert np.array_equal(train.sequences[0].gt, _sequence(0, 1, 0, 5, (320, 240))[0].gt())


@pytest.fixture
def tune_ws(workspace):
    for name in ("_mfv2", "mfv2-micro"):
        shutil.copy(REPO / "trackers" / f"{name}.toml", workspace / "trackers" / f"{name}.toml")
    (workspace / "checkpoints").rmdir()
    os.symlink(REPO / "checkpoints", workspace / "checkpoints")
    write_synthetic("lasot", workspace / "val-tree", n_sequences=2, n_frames=8, splits=("val",))
    return workspace


class _FakeRun:
    def __init__(self, split):
        self.split = split
        self.ok = True
        self.finished_sequences = [s.name for s in split.sequences]

    def summary(self):
        return {"ran": len(self.split.sequences), "skipped": 0, "failed": []}


# search factor -> boxes: the GT moved right by this many widths (frame 1 is the GT anyway)
OFFSETS = {4.0: 0.5, 5.0: 0.0, 6.0: 3.0}


def _fake_eval(calls: list):
    def run_eval(tracker, dataset, split=None, workspace=None, results_dir=None, root=None,
                 registry=None, sequences=None, **_kw):
        spec = registry.resolve(tracker, dataset=dataset)
        value = spec.params["search_factor"]
        calls.append((tracker, value))
        data = load_split(dataset, split=split, root=root, workspace=workspace)
        store = ResultsStore(results_dir)
        for s in data.sequences:
            boxes = np.asarray(s.gt, dtype=float).copy()
            boxes[1:, 0] += OFFSETS[value] * boxes[1:, 2]
            store.write_sequence(tracker, data.key, s.name, boxes, [0.01] * len(boxes))
        return _FakeRun(data)
    return run_eval


def _hand_auc(split, offset: float) -> float:
    """The mixformerv2 protocol's AUC by hand: 21 thresholds 0, .05, .., 1 with 'IoU > t';
    frame 1 is the GT; invisible frames fail. Exact boxes (IoU 1) pass 20 thresholds, boxes
    half a width off (IoU 1/3) pass 7 (0 .. .30), boxes 3 widths off pass none."""
    passed = {0.0: 20, 0.5: 7, 3.0: 0}[offset]
    per_seq = []
    for s in split.sequences:
        vis = np.ones(s.n_frames, bool) if s.visible is None else np.asarray(s.visible, bool)
        k = np.where(vis, passed, 0).astype(float)
        k[0] = 20 if vis[0] else 0
        per_seq.append(k.mean() / 21)
    return float(np.mean(per_seq))


def test_tune_picks_the_best_value_by_hand_checked_aucs(tune_ws, monkeypatch):
    calls: list = []
    monkeypatch.setattr(tune_mod, "run_eval", _fake_eval(calls))
    ws = load_workspace(tune_ws)
    r = tune("mfv2-micro", "search_factor", [4.0, 5.0, 6.0], "synthetic-lasot-val", ws,
             root=tune_ws / "val-tree", write_spec="mfv2-micro-tuned")
    assert [c[1] for c in calls] == [4.0, 5.0, 6.0]
    assert calls[0][0] == "mfv2-micro.tune-search_factor-4.0"
    split = load_split("synthetic-lasot-val", root=tune_ws / "val-tree")
    for v in r.values:
        assert v.score == pytest.approx(_hand_auc(split, OFFSETS[v.value]), abs=1e-6)
        assert v.sequences == 2
    assert r.best.value == 5.0 and r.current == 5.0
    assert r.values[0].vs_best["diff"] == pytest.approx(r.values[0].score - r.best.score)
    assert r.best.vs_best is None
    text = r.text()
    assert "best: search_factor = 5.0" in text and "synthetic-lasot-val" in text
    # the chosen value went into a NEW spec that extends the tuned one
    path = tune_ws / "trackers" / "mfv2-micro-tuned.toml"
    assert r.written == path and 'extends = "mfv2-micro"' in path.read_text()
    spec = SpecRegistry(tune_ws / "trackers", tune_ws).resolve("mfv2-micro-tuned")
    assert spec.params["search_factor"] == 5.0
    before = path.read_text()
    with pytest.raises(ConfigError, match="never modifies an existing spec"):
        tune("mfv2-micro", "search_factor", [4.0], "synthetic-lasot-val", ws,
             root=tune_ws / "val-tree", write_spec="mfv2-micro-tuned")
    with pytest.raises(ConfigError, match="never modifies an existing spec"):
        tune("mfv2-micro", "search_factor", [4.0], "synthetic-lasot-val", ws,
             root=tune_ws / "val-tree", write_spec="mfv2-micro")
    assert path.read_text() == before
    assert len(calls) == 3  # both refusals came before any run


def test_bad_param_or_value_fails_before_any_run(tune_ws, monkeypatch):
    monkeypatch.setattr(tune_mod, "run_eval", lambda *a, **k: pytest.fail("ran"))
    ws = load_workspace(tune_ws)
    with pytest.raises(ConfigError, match="serch_factor"):
        tune("mfv2-micro", "serch_factor", [4.0], "synthetic-lasot-val", ws,
             root=tune_ws / "val-tree")
    with pytest.raises(ConfigError, match="crop factors must be positive"):
        tune("mfv2-micro", "search_factor", [-1.0], "synthetic-lasot-val", ws,
             root=tune_ws / "val-tree")
    with pytest.raises(ConfigError, match="results are reported on"):
        tune("mfv2-micro", "search_factor", [4.0], "synthetic-lasot", ws)


@pytest.mark.slow
def test_tune_command_runs_the_tracker(tune_ws):
    """The real runner on one tiny val sequence: two values scored, the best printed."""
    res = CliRunner().invoke(main, ["tune", "mfv2-micro", "--param", "search_factor",
                                    "--values", "4.5,5.0", "--dataset", "synthetic-lasot-val",
                                    "--root", str(tune_ws / "val-tree"),
                                    "--sequences", "yoyo-1"])
    assert res.exit_code == 0, res.output
    assert "best: search_factor = " in res.output
    assert (tune_ws / "results" / "mfv2-micro.tune-search_factor-4.5" /
            "synthetic-lasot-val" / "yoyo-1.txt").is_file()
