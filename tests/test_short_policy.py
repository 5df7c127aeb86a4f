"""Results shorter or longer than their sequence (issue 13): every protocol declares, as hashed
data, what its official toolkit does (refuse, pad with zero boxes, score the missing frames as
failures, or cut the ground truth to the result), the engine applies it per sequence, and the
analysis says per sequence which rule applied. Scores below are computed by hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from report_samples import write_store_results

from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.metrics import PROTOCOLS, ProtocolRejection, SequenceInput, get_protocol
from mfv2bench.metrics.analysis import analyze_store, run_values, sequence_input
from mfv2bench.metrics.engine import score_batch
from mfv2bench.metrics.scores import aggregate
from mfv2bench.metrics.text import analysis_text
from mfv2bench.report.build import report_model
from mfv2bench.results.readers import read_results
from mfv2bench.workspace import load_workspace

# (short rule, long rule) read from each toolkit's source (see protocols.py for file and line)
RULES = {
    "mixformerv2": ("reject", "truncate"),
    "mixformerv2-lasotext": ("pad-zeros", "truncate"),
    "mixformerv2-nolabels": ("pad-zeros", "truncate"),
    "mixformerv2-uav": ("pad-zeros", "truncate"),
    "pytracking": ("reject", "truncate"),
    "pytracking-lasotext": ("pad-zeros", "truncate"),
    "pytracking-nolabels": ("pad-zeros", "truncate"),
    "pytracking-uav": ("pad-zeros", "truncate"),
    "lasot-toolkit": ("reject", "truncate"),
    "pysot": ("reject", "reject"),
    "pysot-otb": ("reject", "reject"),
    "otb": ("reject", "reject"),
    "got10k-lasot": ("truncate-gt", "truncate"),
    "got10k-val": ("reject", "reject"),
    "trackingnet": ("fail", "truncate"),
}

GT = np.tile([10.0, 10.0, 20.0, 20.0], (5, 1))
SRC = Path("release/seqA.txt")


def _item(pred: np.ndarray, src: Path | None = SRC) -> SequenceInput:
    return SequenceInput("seqA", GT, [pred], visible=np.ones(5, bool), cover=np.full(5, 8),
                         image_size=(640, 480), sources=[src] if src else [])


def _overall(protocol: str, pred: np.ndarray):
    b = score_batch([_item(pred)], protocol)
    return b, aggregate(b, protocol)


def test_every_protocol_declares_its_toolkit_length_rules() -> None:
    assert {n: (p.pred_shorter, p.pred_longer) for n, p in PROTOCOLS.items()} == RULES
    # the rule is part of the hashed definition: changing it changes the label
    p = get_protocol("mixformerv2")
    assert "pred_shorter" not in p.declared()  # 'reject', the behaviour before the field existed
    assert get_protocol("trackingnet").declared()["pred_shorter"] == "fail"
    assert replace(p, pred_shorter="pad-zeros").hash != p.hash


@pytest.mark.parametrize("protocol", [n for n, r in RULES.items() if r[0] == "reject"])
def test_refusing_toolkits_name_the_file_and_rows_short(protocol: str) -> None:
    with pytest.raises(ProtocolRejection) as exc:
        score_batch([_item(GT[:3])], protocol)
    e = exc.value
    assert e.path == SRC and e.line == 4  # the first missing row
    assert f"protocol {protocol!r}" in str(e) and "3 rows for 5 frames: 2 row(s) short" in str(e)
    assert "shorter than the sequence" in str(e)
    skipped = score_batch([_item(GT[:3])], protocol, on_reject="skip")
    assert len(skipped) == 0 and "2 row(s) short" in skipped.rejected["seqA"]


@pytest.mark.parametrize("protocol", [n for n, r in RULES.items() if r[0] == "pad-zeros"])
def test_pytracking_outside_lasot_pads_zero_boxes(protocol: str) -> None:
    b, o = _overall(protocol, GT[:3])
    # 3 exact frames pass 20 of the 21 '>' thresholds (IoU 1 > 1.0 fails); the two zero boxes
    # have IoU 0 (they are NOT carried over from frame 3, as pytracking pads after its repair)
    assert o.auc == pytest.approx(3 / 5 * 20 / 21, abs=1e-6)
    # zero box centre (-0.5, -0.5) vs GT centre (19.5, 19.5): 20 * sqrt(2) = 28.3 px
    assert b.precision[0, 20] == pytest.approx(3 / 5) and b.precision[0, 29] == pytest.approx(1)
    assert b.precision[0, 28] == pytest.approx(3 / 5)
    # normalized: (20/20) * sqrt(2) = 1.41 > 0.5: fails
    assert o.norm_precision_score == pytest.approx(3 / 5)
    assert b.ao[0] == pytest.approx(3 / 5)  # IoU 1,1,1,0,0 over 5 valid frames
    note = b.length_notes["seqA"][0]
    assert note.startswith("seqA.txt: 2 row(s) short of 5 frames: the missing frames scored as "
                           "zero boxes") and f"({protocol} rule: pad-zeros)" in note


def test_trackingnet_scores_missing_frames_as_failures() -> None:
    b, o = _overall("trackingnet", GT[:3])
    # 3 of 5 frames at IoU 1 pass every '>=' threshold, the 2 missing ones none (NaN compares
    # False in the devkit), so every curve is flat at 0.6 and its trapezoid area is 0.6
    assert np.allclose(b.success[0], 0.6) and np.allclose(b.precision[0], 0.6)
    assert np.allclose(b.norm_precision[0], 0.6)
    assert o.auc == pytest.approx(0.6) and o.precision_score == pytest.approx(0.6)
    assert o.norm_precision_score == pytest.approx(0.6)
    assert b.coverage[0] == pytest.approx(0.6)  # the devkit's sanity check: 3 boxes submitted
    assert "scored as failures" in b.length_notes["seqA"][0]
    assert "(trackingnet rule: fail)" in b.length_notes["seqA"][0]


def test_trackingnet_frame_one_is_gt_even_without_rows() -> None:
    b, _ = _overall("trackingnet", np.zeros((0, 4)))
    assert np.allclose(b.success[0], 0.2)  # frame 1 is replaced by GT (metrics.py l. 71-74)


def test_fail_rule_on_a_protocol_with_average_overlap() -> None:
    p = replace(get_protocol("mixformerv2"), name="mixformerv2-fail", pred_shorter="fail")
    b = score_batch([_item(GT[:3])], p)
    assert b.ao[0] == pytest.approx(3 / 5)  # a missing frame is an overlap of 0, not skipped
    assert b.success[0, 0] == pytest.approx(3 / 5)  # and fails even the 0 threshold


def test_got10k_lasot_scores_the_frames_present() -> None:
    gt = GT.copy()
    gt[3:] = [300.0, 300.0, 5.0, 5.0]  # frames the short result lacks: never looked at
    b = score_batch([SequenceInput("seqA", gt, [GT[:3]], sources=[SRC])], "got10k-lasot")
    o = aggregate(b, "got10k-lasot")
    assert int(b.n_frames[0]) == 3
    assert o.auc == pytest.approx(20 / 21, abs=1e-6)  # IoU 1 - eps passes all but 1.0
    assert o.precision_score == 1.0 and o.norm_precision_score == 1.0
    assert "only the frames present scored" in b.length_notes["seqA"][0]
    with pytest.raises(ProtocolRejection, match="1-frame"):  # got10k crashes on 1 line
        score_batch([SequenceInput("seqA", gt, [GT[:1]])], "got10k-lasot")


@pytest.mark.parametrize("protocol", sorted(RULES))
def test_longer_results_truncated_or_refused(protocol: str) -> None:
    longer = np.vstack([GT, [[500.0, 500.0, 3.0, 3.0]] * 2])
    if RULES[protocol][1] == "reject":
        with pytest.raises(ProtocolRejection, match="7 rows for 5 frames") as exc:
            score_batch([_item(longer)], protocol)
        assert exc.value.path == SRC
        return
    b_long, o_long = _overall(protocol, longer)
    _, o_exact = _overall(protocol, GT)
    assert o_long.auc == o_exact.auc
    assert b_long.length_notes["seqA"] == [
        f"seqA.txt: 2 row(s) beyond the 5 frames ignored ({protocol} rule: truncate)"]
    assert score_batch([_item(GT)], protocol).length_notes == {}


def _split(n_frames: dict[str, int], dataset: str = "lasot") -> DatasetSplit:
    seqs = [Sequence(name=name, dataset=dataset, split="test",
                     frames=[Path(f"{i}.jpg") for i in range(n)], gt=np.tile(GT[0], (n, 1)),
                     visible=np.ones(n, bool), image_size=(640, 480))
            for name, n in n_frames.items()]
    return DatasetSplit(dataset, "test", Path("."), seqs, expected=len(seqs))


def _write(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text("".join(r + "\n" for r in rows))
    return path


def test_reader_keeps_short_files_and_finds_a_blank_line_inside(tmp_path: Path) -> None:
    row = "10,10,20,20"
    _write(tmp_path, "seqA", [row, "", row, row])
    with pytest.raises(Exception, match="blank line"):
        read_results(tmp_path, {"seqA": 5}, cache=False)
    raw = read_results(tmp_path, {"seqA": 5}, cache=False, short="keep")
    assert len(raw["seqA"].runs[0]) == 3 and raw["seqA"].gaps == [2]
    split = _split({"seqA": 5})
    item = sequence_input(split.sequences[0], raw["seqA"])
    with pytest.raises(ProtocolRejection) as exc:
        score_batch([item], "mixformerv2")
    assert exc.value.line == 2 and "the blank line 2 inside the file" in str(exc.value)
    b = score_batch([item], "trackingnet")
    assert "blank line 2" in b.length_notes["seqA"][0]


def test_analysis_reports_each_short_sequence_and_keeps_it_in_the_cache(tmp_path: Path) -> None:
    split = _split({"seqA": 5, "seqB": 4})
    folder = tmp_path / "results" / "rel" / split.key
    row = "10,10,20,20"
    _write(folder, "seqA", [row] * 3)
    _write(folder, "seqB", [row] * 4)
    with pytest.raises(ProtocolRejection, match=r"2 row\(s\) short") as exc:
        analyze_store(split, ["rel"], tmp_path / "results", protocol="mixformerv2",
                      n_resamples=100)
    assert exc.value.path == folder / "seqA.txt"
    skipped = analyze_store(split, ["rel"], tmp_path / "results", protocol="mixformerv2",
                            on_reject="skip", n_resamples=100)
    assert skipped.sequences["rel"] == ["seqB"] and "seqA" in skipped.rejected["rel"]
    for _ in range(2):  # scored, then read back from the score cache
        a = analyze_store(split, ["rel"], tmp_path / "results", protocol="trackingnet",
                          n_resamples=100)
        assert a.sequences["rel"] == ["seqA", "seqB"]
        assert a.score("rel", "auc") == pytest.approx((0.6 + 1.0) / 2)
        assert list(a.length_notes["rel"]) == ["seqA"]
        text = analysis_text(a)
        assert ("note: rel: seqA: seqA.txt: 2 row(s) short of 5 frames: the missing frames "
                "scored as failures") in text
        assert a.to_json()["length_notes"] == {"rel": {"seqA": a.length_notes["rel"]["seqA"]}}


def test_report_lists_short_sequences_in_its_notes(workspace: Path) -> None:
    ws = load_workspace(workspace)
    write_synthetic("lasot", ws.data_root("synthetic-lasot"), n_sequences=2, n_frames=(12, 14),
                    size=(96, 72), seed=1)
    split = load_split("synthetic-lasot", workspace=ws)
    write_store_results(ws.results_dir, "rel", split, noise=1.0, seed=1)
    seq = split.sequences[0].name
    path = ws.results_dir / "rel" / split.key / f"{seq}.txt"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-2]))
    m = report_model(ws, "synthetic-lasot", ["rel"], protocol="mixformerv2-nolabels")
    assert [n for n in m.notes if n.startswith("rel: ")] == [
        f"rel: {seq}: {seq}.txt: 2 row(s) short of {split.sequences[0].n_frames} frames: the "
        "missing frames scored as zero boxes (0,0,0,0) (mixformerv2-nolabels rule: pad-zeros)"]


def test_each_run_follows_the_rule_with_its_own_file() -> None:
    item = SequenceInput("seqA", GT, [GT, GT[:3]], sources=[Path("r0/seqA.txt"),
                                                            Path("r1/seqA.txt")], gaps=[None, 2])
    b = score_batch([item], "mixformerv2-nolabels")
    assert b.length_notes["seqA"] == [
        "seqA.txt: 2 row(s) short of 5 frames: the missing frames scored as zero boxes (0,0,0,0) "
        "(mixformerv2-nolabels rule: pad-zeros); the blank line 2 inside the file stands for a "
        "lost frame, so the rows after it are one frame early"]
    # runs averaged as pytracking merges them: (20/21 + 3/5 * 20/21) / 2
    assert aggregate(b, "mixformerv2-nolabels").auc == pytest.approx(0.8 * 20 / 21, abs=1e-6)
    per_run = run_values([item], get_protocol("mixformerv2-nolabels"))
    assert per_run[:, 0] == pytest.approx([20 / 21, 3 / 5 * 20 / 21], abs=1e-6)
    with pytest.raises(ProtocolRejection) as exc:
        score_batch([item], "mixformerv2")
    assert exc.value.path == Path("r1/seqA.txt") and exc.value.line == 2
