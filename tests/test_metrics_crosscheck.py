"""Cross-checks against the got10k package itself (not only stored numbers): its rect_iou,
center_error, ExperimentOTB.report() and ExperimentGOT10k(subset='val').report(); and the
golden toolkits' per-frame arrays."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from got10k.experiments.got10k import ExperimentGOT10k
from got10k.experiments.otb import ExperimentOTB
from got10k.utils.metrics import center_error, rect_iou

from mfv2bench.metrics import ProtocolRejection, SequenceInput, get_protocol, aggregate, frame_errors, score_batch, sequence_scores

GOLDEN = Path(__file__).parent / "data" / "metrics" / "golden"


def _random_track(rng: np.random.Generator, n: int, integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """A GT track and a jittery prediction; a few degenerate frames on both sides."""
    wh = rng.uniform(8, 120, size=2)
    xy = rng.uniform(0, 300, size=2)
    gt = np.empty((n, 4))
    gt[:, :2] = xy + np.cumsum(rng.normal(0, 2, size=(n, 2)), axis=0)
    gt[:, 2:] = wh * np.exp(np.cumsum(rng.normal(0, 0.01, size=(n, 2)), axis=0))
    pred = gt + rng.normal(0, 6, size=(n, 4))
    pred[rng.random(n) < 0.1] += rng.normal(0, 60, size=4)
    pred[rng.random(n) < 0.03, 2] = 0.0
    if integer:
        gt, pred = np.floor(gt), np.floor(pred)
    return gt, pred


def test_iou_and_center_error_match_got10k_functions() -> None:
    rng = np.random.default_rng(0)
    for integer in (False, True):
        gt, pred = _random_track(rng, 500, integer)
        fe = frame_errors(gt, pred, "otb")
        # our first frame is replaced by GT as ExperimentOTB does; compare the rest directly
        np.testing.assert_array_equal(fe.iou[1:], rect_iou(pred[1:].copy(), gt[1:].copy()))
        np.testing.assert_array_equal(fe.center_error[1:], center_error(pred[1:], gt[1:]))
        bound = (640, 480)
        fe_val = frame_errors(gt, pred, "got10k-val", cover=np.ones(len(gt)), image_size=bound)
        np.testing.assert_array_equal(
            fe_val.iou[1:], rect_iou(pred[1:].copy(), gt[1:].copy(), bound=bound))


class _FakeOTB(list):
    def __init__(self, annos: dict[str, np.ndarray]):
        super().__init__([(None, a) for a in annos.values()])
        self.seq_names = list(annos)


def test_experiment_otb_report_matches(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    annos, preds = {}, {}
    for i in range(6):
        gt, pred = _random_track(rng, int(rng.integers(20, 300)), integer=i % 2 == 0)
        annos[f"seq{i}"], preds[f"seq{i}"] = gt, pred
    exp = ExperimentOTB.__new__(ExperimentOTB)
    exp.dataset = _FakeOTB(annos)
    exp.result_dir = str(tmp_path / "results")
    exp.report_dir = str(tmp_path / "reports")
    exp.nbins_iou, exp.nbins_ce = 21, 51
    (tmp_path / "results" / "trk").mkdir(parents=True)
    for name, pred in preds.items():
        np.savetxt(tmp_path / "results" / "trk" / f"{name}.txt", pred, delimiter=",", fmt="%.17g")
    perf = exp.report(["trk"])["trk"]
    items = [SequenceInput(n, annos[n], [preds[n]]) for n in annos]
    batch = score_batch(items, "otb")
    for s in sequence_scores(batch):
        ref = perf["seq_wise"][s.name]
        np.testing.assert_allclose(s.success_curve, ref["success_curve"], rtol=0, atol=1e-15)
        np.testing.assert_allclose(s.precision_curve, ref["precision_curve"], rtol=0, atol=1e-15)
        assert s.auc == pytest.approx(ref["success_score"], abs=1e-15)
        assert s.p20 == pytest.approx(ref["precision_score"], abs=1e-15)
        assert s.op50 == pytest.approx(ref["success_rate"], abs=1e-15)
    overall = aggregate(batch, "otb")
    np.testing.assert_allclose(overall.success_curve, perf["overall"]["success_curve"], atol=1e-12)
    assert overall.auc == pytest.approx(perf["overall"]["success_score"], abs=1e-12)
    assert overall.p20 == pytest.approx(perf["overall"]["precision_score"], abs=1e-12)


class _FakeGOT10k:
    def __init__(self, annos: dict[str, np.ndarray], metas: dict[str, dict]):
        self.annos, self.metas = annos, metas
        self.seq_names = list(annos)
        self.return_meta = True

    def __getitem__(self, key):
        name = key if isinstance(key, str) else self.seq_names[key]
        return None, self.annos[name], self.metas[name]

    def __len__(self) -> int:
        return len(self.seq_names)

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def test_experiment_got10k_val_report_matches(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    annos, metas, runs, times = {}, {}, {}, {}
    for i in range(5):
        n = int(rng.integers(10, 200))
        gt, _ = _random_track(rng, n, integer=False)
        cover = rng.integers(0, 9, size=n)
        annos[f"v{i}"] = gt
        metas[f"v{i}"] = {"cover": cover, "resolution": "(480, 360)"}
        nrep = 3 if i % 2 else 1
        runs[f"v{i}"] = [_random_track(rng, n, False)[1] * 0 + gt + rng.normal(0, 8, (n, 4))
                         for _ in range(nrep)]
        times[f"v{i}"] = rng.uniform(0.005, 0.05, size=(n, nrep))
        d = tmp_path / "results" / "trk" / f"v{i}"
        d.mkdir(parents=True)
        for r, pred in enumerate(runs[f"v{i}"]):
            np.savetxt(d / f"v{i}_{r + 1:03d}.txt", pred, delimiter=",", fmt="%.17g")
        np.savetxt(d / f"v{i}_time.txt", times[f"v{i}"], delimiter=",", fmt="%.17g")
    exp = ExperimentGOT10k.__new__(ExperimentGOT10k)
    exp.dataset = _FakeGOT10k(annos, metas)
    exp.subset = "val"
    exp.result_dir = str(tmp_path / "results")
    exp.report_dir = str(tmp_path / "reports")
    exp.nbins_iou = 101
    exp.repetitions = 3
    perf = exp.report(["trk"])["trk"]
    items = [SequenceInput(n, annos[n], runs[n], cover=metas[n]["cover"],
                           image_size=(480, 360), times=times[n]) for n in annos]
    batch = score_batch(items, "got10k-val")
    for s in sequence_scores(batch):
        ref = perf["seq_wise"][s.name]
        assert s.ao == pytest.approx(ref["ao"], abs=1e-12)
        assert s.sr50 == pytest.approx(ref["sr"], abs=1e-12)
        assert s.speed_fps == pytest.approx(ref["speed_fps"], rel=1e-12)
    overall = aggregate(batch, "got10k-val", times=[times[n] for n in annos])
    assert overall.ao == pytest.approx(perf["overall"]["ao"], abs=1e-12)
    assert overall.sr50 == pytest.approx(perf["overall"]["sr"], abs=1e-12)
    assert overall.speed_fps == pytest.approx(perf["overall"]["speed_fps"], rel=1e-12)
    np.testing.assert_allclose(overall.success_curve, perf["overall"]["succ_curve"], atol=1e-12)


def _golden_seq(seq: str):
    d = GOLDEN / "inputs" / "sequences" / seq
    gt = np.loadtxt(d / "groundtruth.txt", delimiter=",", ndmin=2)
    occ = np.loadtxt(d / "full_occlusion.txt", delimiter=",", ndmin=1)
    oov = np.loadtxt(d / "out_of_view.txt", delimiter=",", ndmin=1)
    return gt, (occ == 0) & (oov == 0)


def _golden_pred(tracker: str, seq: str) -> np.ndarray:
    return np.loadtxt(GOLDEN / "inputs" / "results" / tracker / f"{seq}.txt", delimiter=",",
                      ndmin=2)


def _same(ours: np.ndarray, ref: np.ndarray, what: str) -> None:
    assert ours.shape == ref.shape, what
    special = ~np.isfinite(ref) | (ref == -1)
    np.testing.assert_array_equal(ours[special], ref[special], err_msg=what)
    np.testing.assert_allclose(ours[~special], ref[~special], rtol=1e-12, atol=0, err_msg=what)


@pytest.mark.parametrize("npz,protocol", [
    ("pytracking_lasot", "pytracking"),
    ("lasot_matlab", "lasot-toolkit"),
    ("got10k_head_metrics", "got10k-lasot"),
])
def test_per_frame_arrays_match_toolkits(npz: str, protocol: str) -> None:
    ref = np.load(GOLDEN / "outputs" / "per_frame" / f"{npz}.npz")
    keys = sorted({k.rsplit("/", 1)[0] for k in ref.files})
    assert keys
    for key in keys:
        seq, tracker = key.split("/")
        gt, visible = _golden_seq(seq)
        if len(gt) < get_protocol(protocol).min_frames:  # the report code crashes there
            with pytest.raises(ProtocolRejection):
                frame_errors(gt, _golden_pred(tracker, seq), protocol, visible=visible)
            continue
        fe = frame_errors(gt, _golden_pred(tracker, seq), protocol, visible=visible)
        keep = visible if protocol == "lasot-toolkit" else np.ones(len(gt), bool)
        _same(fe.iou[keep], ref[f"{key}/iou"], f"{key} iou")
        _same(fe.center_error[keep], ref[f"{key}/center_error"], f"{key} centre")
        _same(fe.norm_center_error[keep], ref[f"{key}/norm_center_error"], f"{key} norm")
