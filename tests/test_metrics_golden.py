"""Every protocol reproduces its toolkit's golden per-sequence and overall numbers.

Golden data (tests/data/metrics/golden) are the official toolkits' own outputs on 26 edge-case
sequences; tolerances are those of DEFINITIONS.md (1e-12 for float64 toolkits, 1e-6 for the
float32 pytracking family)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from mfv2bench.metrics import (ProtocolRejection, SequenceInput, aggregate, get_protocol,
                               score_batch, sequence_scores)

GOLDEN = Path(__file__).parent / "data" / "metrics" / "golden"
TRACKERS = ("good", "mediocre", "failing")

# golden output file -> our protocol
GOLDEN_PROTOCOLS = {
    "mixformerv2_lasot": "mixformerv2",
    "mixformerv2_lasotext": "mixformerv2-lasotext",
    "mixformerv2_nolabels": "mixformerv2-nolabels",
    "pytracking_lasot": "pytracking",
    "pytracking_lasotext": "pytracking-lasotext",
    "pytracking_nolabels": "pytracking-nolabels",
    "lasot_matlab": "lasot-toolkit",
    "pysot_lasot": "pysot",
    "pysot_otb": "pysot-otb",
    "got10k_otb": "otb",
    "got10k_head_lasot": "got10k-lasot",
    "got10k_got10k_val": "got10k-val",
    "trackingnet_devkit": "trackingnet",
}


def _num(v):
    if isinstance(v, str):
        return float(v)
    if isinstance(v, list):
        return np.array([_num(x) for x in v], dtype=float)
    return v


def _load(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


@lru_cache(maxsize=None)
def suite() -> dict:
    meta = json.loads((GOLDEN / "inputs" / "suite.json").read_text())
    seqs = {}
    for s in meta["sequences"]:
        d = GOLDEN / "inputs" / "sequences" / s["name"]
        occ = np.loadtxt(d / "full_occlusion.txt", delimiter=",", ndmin=1)
        oov = np.loadtxt(d / "out_of_view.txt", delimiter=",", ndmin=1)
        seqs[s["name"]] = dict(
            gt=_load(d / "groundtruth.txt"),
            visible=(occ == 0) & (oov == 0),
            cover=np.loadtxt(d / "cover.label", ndmin=1),
            image_size=(s["width"], s["height"]),
            results={t: _load(GOLDEN / "inputs" / "results" / t / f"{s['name']}.txt")
                     for t in TRACKERS},
        )
    return seqs


def got10k_runs(tracker: str, seq: str) -> tuple[list[np.ndarray], np.ndarray | None]:
    d = GOLDEN / "inputs" / "results_got10k" / tracker / seq
    runs = [_load(f) for f in sorted(d.glob(f"{seq}_[0-9]*.txt"))]
    tf = d / f"{seq}_time.txt"
    return runs, (np.loadtxt(tf, delimiter=",") if tf.exists() else None)


@lru_cache(maxsize=None)
def golden(name: str) -> dict:
    return json.loads((GOLDEN / "outputs" / f"{name}.json").read_text())


def _tol(name: str) -> float:
    return 1e-6 if name.startswith(("pytracking", "mixformerv2")) else 1e-12


def _item(protocol: str, seq: str, tracker: str) -> SequenceInput:
    s = suite()[seq]
    if protocol == "got10k-val":
        runs, times = got10k_runs(tracker, seq)
    else:
        runs, times = [s["results"][tracker]], None
    return SequenceInput(seq, s["gt"], runs, visible=s["visible"], cover=s["cover"],
                         image_size=s["image_size"], times=times)


SCALARS = ("auc", "op50", "op75", "p20", "np20", "ao", "sr50", "sr75", "speed_fps", "coverage")
CURVES = ("success_curve", "precision_curve", "norm_precision_curve")


def _compare(ours, ref: dict, tol: float, protocol: str, where: str) -> None:
    p = get_protocol(protocol)
    for key in CURVES:
        if key in ref:
            got = getattr(ours, key)
            np.testing.assert_allclose(got, _num(ref[key]), rtol=0, atol=tol,
                                       err_msg=f"{where} {key}")
    expected = dict(ref)
    if p.norm_precision_score == "mean" and "np_auc" in ref:
        expected["norm_precision_score"] = ref["np_auc"]
    if p.success_score == "trapz":
        expected["auc"] = ref["success_auc_trapz"]
        expected["precision_score"] = ref["precision_auc_trapz"]
        expected["norm_precision_score"] = ref["norm_precision_auc_trapz"]
    for key in SCALARS + ("precision_score", "norm_precision_score"):
        if key not in expected or key == "speed_fps" and expected[key] == -1.0:
            continue
        want = _num(expected[key])
        got = getattr(ours, key)
        assert got is not None, f"{where} {key} not computed"
        if np.isnan(want):
            assert np.isnan(got), f"{where} {key}: {got} != nan"
        else:
            assert abs(got - want) <= tol, f"{where} {key}: {got!r} != {want!r}"


@pytest.mark.parametrize("golden_name", sorted(GOLDEN_PROTOCOLS))
def test_per_sequence_matches_golden(golden_name: str) -> None:
    protocol = GOLDEN_PROTOCOLS[golden_name]
    g = golden(golden_name)
    tol = _tol(golden_name)
    for seq, per_tracker in g["per_sequence"].items():
        for tracker, ref in per_tracker.items():
            item = _item(protocol, seq, tracker)
            where = f"{golden_name}/{seq}/{tracker}"
            if "error" in ref:
                with pytest.raises(ProtocolRejection):
                    score_batch([item], protocol)
                continue
            ours = sequence_scores(score_batch([item], protocol))[0]
            _compare(ours, ref, tol, protocol, where)


@pytest.mark.parametrize("golden_name", sorted(GOLDEN_PROTOCOLS))
@pytest.mark.parametrize("which", ["overall", "overall_common"])
def test_overall_matches_golden(golden_name: str, which: str) -> None:
    protocol = GOLDEN_PROTOCOLS[golden_name]
    g = golden(golden_name)
    part = g[which]
    for tracker, ref in part["trackers"].items():
        items = [_item(protocol, s, tracker) for s in suite() if s in part["sequences"]]
        batch = score_batch(items, protocol)
        times = [it.times for it in items] if protocol == "got10k-val" else None
        ours = aggregate(batch, protocol, times=times)
        _compare(ours, ref, _tol(golden_name), protocol, f"{golden_name}/{which}/{tracker}")
        if "sequences_dropped_all_zero" in ref:
            assert ours.dropped == ref["sequences_dropped_all_zero"]


def test_rejections_reported_with_skip_match_golden_exclusions() -> None:
    for golden_name, protocol in GOLDEN_PROTOCOLS.items():
        g = golden(golden_name)
        for tracker in TRACKERS:
            items = [_item(protocol, s, tracker) for s in suite()]
            batch = score_batch(items, protocol, on_reject="skip")
            expected = {s for s, per in g["per_sequence"].items() if "error" in per[tracker]}
            assert set(batch.rejected) == expected, (golden_name, tracker)
            assert set(batch.names) == set(suite()) - expected
