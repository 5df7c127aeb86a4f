"""Analysis: overall scores equal the golden toolkits', CIs, paired tests, attributes, guard,
partial flag, JSON with every curve, and the store path with its caches."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.errors import InputError, MissingDataError
from mfv2bench.metrics import ProtocolRejection, get_protocol
from mfv2bench.metrics.analysis import analyze, analyze_store
from mfv2bench.metrics.score_cache import cache_path
from mfv2bench.metrics.text import analysis_text
from test_metrics_golden import TRACKERS, golden, suite


def _split(names: list[str] | None = None, missing: list[str] | None = None) -> DatasetSplit:
    seqs = []
    for name, s in suite().items():
        if names is not None and name not in names:
            continue
        attrs = {"IV": int(name[1:3]) % 2, "POC": int(name[1:3]) % 3 == 0, "FM": 0}
        seqs.append(Sequence(name=name, dataset="lasot", split="test",
                             frames=[Path(f"{i}.jpg") for i in range(len(s["gt"]))],
                             gt=s["gt"], visible=s["visible"], cover=s["cover"],
                             attributes=attrs, image_size=s["image_size"]))
    return DatasetSplit("lasot", "test", Path("."), seqs, expected=len(seqs) + len(missing or []),
                        missing=list(missing or []))


def _results(names=None) -> dict[str, dict[str, np.ndarray]]:
    return {t: {n: s["results"][t] for n, s in suite().items() if names is None or n in names}
            for t in TRACKERS}


COMMON = golden("lasot_matlab")["overall_common"]["sequences"]


@pytest.mark.parametrize("protocol,gold", [("lasot-toolkit", "lasot_matlab"),
                                           ("mixformerv2", "mixformerv2_lasot"),
                                           ("trackingnet", "trackingnet_devkit")])
def test_overall_scores_and_cis(protocol: str, gold: str) -> None:
    a = analyze(_split(COMMON), _results(COMMON), protocol, n_resamples=500)
    assert a.protocol == protocol and a.protocol_hash == get_protocol(protocol).hash
    ref = golden(gold)["overall_common"]["trackers"]
    key = "success_auc_trapz" if protocol == "trackingnet" else "auc"
    for t in TRACKERS:
        assert a.score(t, "auc") == pytest.approx(ref[t][key], abs=1e-6)
        for m in a.metrics:
            lo, hi = a.ci[t][m]
            assert lo <= a.score(t, m) + 1e-6 and a.score(t, m) - 1e-6 <= hi
    table = a.table()
    assert list(table.index) == list(TRACKERS)
    assert {"AUC", "AUC CI low", "AUC CI high", "P", "NP", "sequences", "flags"} <= set(table)
    assert table.loc["good", "AUC"] == pytest.approx(100 * a.score("good", "auc"))


def test_identical_sequences_give_degenerate_ci_and_null_pairwise() -> None:
    names = ["s04_basic"]
    gt = suite()["s04_basic"]["gt"]
    seqs = [Sequence(name=f"copy{i}", dataset="lasot", split="test", frames=[None] * len(gt),
                     gt=gt) for i in range(8)]
    split = DatasetSplit("lasot", "test", Path("."), seqs, expected=8)
    pred = suite()[names[0]]["results"]["mediocre"]
    res = {"A": {s.name: pred for s in seqs}, "B": {s.name: pred for s in seqs}}
    a = analyze(split, res, "mixformerv2", n_resamples=200)
    lo, hi = a.ci["A"]["auc"]
    assert lo == pytest.approx(a.score("A", "auc"), abs=1e-6) and hi == pytest.approx(lo)
    (t_auc, *_rest) = a.pairwise
    assert t_auc.diff == 0 and t_auc.p_value == 1.0 and (t_auc.ci_low, t_auc.ci_high) == (0, 0)


def test_pairwise_clear_difference_and_attribute_table() -> None:
    a = analyze(_split(COMMON), _results(COMMON), "mixformerv2", n_resamples=500)
    assert [(t.a, t.b) for t in a.pairwise[::3]] == [("good", "mediocre"), ("good", "failing"),
                                                     ("mediocre", "failing")]
    gm = [t for t in a.pairwise if t.b == "mediocre" and t.metric == "auc"][0]
    assert gm.diff == pytest.approx(a.score("good", "auc") - a.score("mediocre", "auc"),
                                    abs=1e-6)
    assert gm.p_value < 0.001 and gm.ci_low > 0
    att = a.attributes
    assert set(att["attribute"]) == {"IV", "POC", "FM"}
    iv = [n for n in COMMON if int(n[1:3]) % 2]
    sub = analyze(_split(iv), _results(iv), "mixformerv2", n_resamples=100)
    row = att[(att.attribute == "IV") & (att.tracker == "good")].iloc[0]
    assert row["n_sequences"] == len(iv)
    assert row["auc"] == pytest.approx(sub.score("good", "auc"), abs=1e-6)
    assert att[(att.attribute == "FM")]["n_sequences"].tolist() == [0, 0, 0]
    assert att[(att.attribute == "FM")]["auc"].isna().all()


def test_guard_partial_flag_json_and_text() -> None:
    a = analyze(_split(COMMON, missing=["gone-1"]), _results(COMMON), "lasot-toolkit",
                n_resamples=100)
    assert a.partial and a.missing == ["gone-1"]
    assert a.degenerate["failing"].sequences("constant_size") == ["s14_threshold_ties",
                                                                    "s17_first_frames_absent"]
    assert "s08_pred_zero_wh" in a.degenerate["good"].sequences("non_positive_size")
    data = json.loads(json.dumps(a.to_json()))
    assert data["protocol_hash"] == a.protocol_hash and data["partial"] is True
    assert len(data["overall"]["good"]["success_curve"]) == 21
    assert len(data["overall"]["good"]["norm_precision_curve"]) == 51
    assert len(data["sequence_curves"]["good"]["precision"]) == len(COMMON)
    assert len(data["per_sequence"]) == 3 * len(COMMON)
    assert data["pairwise"][0]["method"].startswith("sign-flip")
    text = analysis_text(a, attributes=True)
    assert f"lasot-toolkit [{a.protocol_hash}]" in text and "PARTIAL" in text
    assert "constant size" in text and "attributes (AUC)" in text


def test_refusals_raise_or_are_listed() -> None:
    with pytest.raises(ProtocolRejection, match="tracker 'good'.*--skip-refused"):
        analyze(_split(), _results(), "mixformerv2")
    a = analyze(_split(), _results(), "mixformerv2", on_reject="skip", n_resamples=100)
    assert set(a.rejected["failing"]) == {"s00_len1", "s07_nan_gt", "s09_pred_negative_wh",
                                          "s10_pred_nan"}
    # pairs are tested on the sequences both trackers have
    gf = [t for t in a.pairwise if (t.a, t.b) == ("good", "failing")][0]
    assert gf.n_sequences == len(a.sequences["failing"])


def test_missing_results_are_an_error() -> None:
    res = _results(COMMON)
    del res["good"][COMMON[0]]
    with pytest.raises(InputError, match="no results for 1 of"):
        analyze(_split(COMMON), res, "mixformerv2")


def _write_store(root: Path, names: list[str]) -> None:
    for t in TRACKERS:
        d = root / t / "lasot-test"
        d.mkdir(parents=True, exist_ok=True)
        for n in names:
            rows = suite()[n]["results"][t]
            (d / f"{n}.txt").write_text("".join(",".join(repr(float(v)) for v in r) + "\n"
                                                for r in rows))


def test_store_with_caches_and_workers(tmp_path: Path) -> None:
    _write_store(tmp_path, COMMON)
    split = _split(COMMON)
    first = analyze_store(split, list(TRACKERS), tmp_path, "lasot-toolkit", n_resamples=100)
    ref = golden("lasot_matlab")["overall_common"]["trackers"]
    for t in TRACKERS:
        assert first.score(t, "auc") == pytest.approx(ref[t]["auc"], abs=1e-12)
    cache = cache_path(tmp_path / "good" / "lasot-test", get_protocol("lasot-toolkit"))
    assert cache.is_file()
    again = analyze_store(split, list(TRACKERS), tmp_path, "lasot-toolkit", n_resamples=100)
    assert again.score("good", "auc") == first.score("good", "auc")
    assert again.degenerate["failing"].summary() == first.degenerate["failing"].summary()
    # change one result file: the cache must not be trusted
    f = tmp_path / "good" / "lasot-test" / f"{COMMON[0]}.txt"
    rows = suite()[COMMON[0]]["results"]["failing"]
    f.write_text("".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows))
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    changed = analyze_store(split, list(TRACKERS), tmp_path, "lasot-toolkit", n_resamples=100)
    assert changed.score("good", "auc") < first.score("good", "auc")
    # a changed GT changes the key too
    split.sequences[1].gt = split.sequences[1].gt + 1
    moved = analyze_store(split, ["good"], tmp_path, "lasot-toolkit", n_resamples=100)
    assert moved.score("good", "auc") != changed.score("good", "auc")
    # two worker processes give the same numbers as one
    split = _split(COMMON)
    one = analyze_store(split, list(TRACKERS), tmp_path, "mixformerv2", cache=False,
                        n_resamples=100)
    two = analyze_store(split, list(TRACKERS), tmp_path, "mixformerv2", cache=False,
                        workers=2, n_resamples=100)
    for t in TRACKERS:
        np.testing.assert_array_equal(one.sequence_curves[t]["success"],
                                      two.sequence_curves[t]["success"])
    with pytest.raises(MissingDataError, match="no results of tracker 'nobody'"):
        analyze_store(split, ["nobody"], tmp_path, "mixformerv2")


def test_store_falls_back_to_raw_layouts(tmp_path: Path) -> None:
    names = COMMON[:4]
    for t in TRACKERS:  # pytracking/OSTrack layout: <tracker>/<seq>.txt, tab, no split folder
        d = tmp_path / t
        d.mkdir()
        for n in names:
            np.savetxt(d / f"{n}.txt", suite()[n]["results"][t], delimiter="\t", fmt="%.3f")
    a = analyze_store(_split(names), list(TRACKERS), tmp_path, "lasot-toolkit", n_resamples=100)
    assert a.sequences["good"] == names


def test_vectorized_guard_equals_per_sequence_reference() -> None:
    from mfv2bench.metrics.guard import check_outputs, check_sequence
    rng = np.random.default_rng(0)
    preds, sizes = {}, {}
    for i in range(200):
        n = int(rng.integers(1, 30))
        p = rng.integers(-50, 400, (n, 4)).astype(float)
        kind = i % 7
        if kind == 1:
            p[:] = p[0]
        if kind == 2:
            p[:, 2:] = p[0, 2:]
        if kind == 3:
            p[rng.random(n) < 0.3] = np.nan
        if kind == 4:
            p[rng.random(n) < 0.3, 2] = 0
        if kind == 5 and n > 1:
            p[1:] = p[1]
            p[rng.random(n) < 0.3] = np.nan
        if kind == 6:
            p[rng.random(n) < 0.3, int(rng.integers(0, 4))] = np.nan  # partly NaN rows
            p[rng.random(n) < 0.3, 3] = -1
        preds[f"s{i}"] = p
        sizes[f"s{i}"] = (300, 200) if i % 2 else None
    rep = check_outputs(preds, sizes)
    fired = set()
    for name, p in preds.items():
        ref = check_sequence(p, sizes[name])
        assert {f: v[name] for f, v in rep.flags.items() if name in v} == ref, name
        fired |= set(ref)
    assert fired == {"all_identical", "constant_size", "nan", "non_positive_size",
                     "outside_image"}
    one = check_sequence(np.array([[0, 0, 5, 5], [1, 1, 5, 5], [1, 1, 5, 5], [1, 1, 5, 5]]))
    assert one == {"all_identical": 3}


def test_first_frame_only_gt_is_refused_for_scoring() -> None:
    s = suite()["s04_basic"]
    seq = Sequence(name="t1", dataset="got10k", split="test",
                   frames=[Path(f"{i}.jpg") for i in range(len(s["gt"]))], gt=s["gt"][:1])
    split = DatasetSplit("got10k", "test", Path("."), [seq], expected=1)
    with pytest.raises(InputError, match="evaluation server"):
        analyze(split, {"a": {"t1": s["results"]["good"]}}, "got10k-val")
