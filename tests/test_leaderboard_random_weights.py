"""Results from a random-weight (latency-only) spec never become accuracy rows."""

from __future__ import annotations

import numpy as np

from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.leaderboard.local import local_scores
from mfv2bench.results.store import ResultsStore
from mfv2bench.workspace import load_workspace


def test_random_weight_runs_are_kept_off_the_board(workspace):
    root = workspace / "datasets" / "synthetic" / "lasot"
    write_synthetic("lasot", root, n_sequences=2, n_frames=12, seed=3)
    ws = load_workspace(workspace)
    split = load_split("synthetic-lasot", workspace=ws)
    store = ResultsStore(ws.results_dir)
    for tracker, random in (("real", False), ("rand", True)):
        for seq in split.sequences:
            store.write_sequence(tracker, split.key, seq.name, np.asarray(seq.gt, float),
                                 np.full(seq.n_frames, 0.01))
        checkpoint = {"random_weights": True, "seed": 0} if random else {"sha256": "0" * 64}
        store.write_manifest(tracker, split.key, {"tracker": tracker, "checkpoint": checkpoint,
                                                  "complete": True})
    assert store.random_weights("rand", split.key) and not store.random_weights("real", split.key)
    scores = local_scores(ws, "synthetic-lasot")
    assert [e.tracker for e in scores.entries] == ["real"]
    assert any("rand" in n and "random weights" in n for n in scores.notes)
