"""Reduced precision judged by accuracy (app.precision, benchmarks/bench_precision_accuracy.py):
deltas against fp32 read the right way round, an AUC drop beyond 0.5 points is labelled, speed-ups
are over the official computation, refused bf16 is a row; a tiny dry run of the benchmark."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from mfv2bench import devices
from mfv2bench.app.precision import (OFFICIAL, REFERENCE, PrecisionReport, PrecisionRow,
                                     deltas_against, fill_accuracy, fill_speed, labels_for,
                                     oriented, table_text)
from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.devices import ALLOW_EMULATED_BF16_ENV, CpuFeatures
from mfv2bench.metrics.analysis import analyze
from mfv2bench.metrics.stats import PairedTest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks" / "bench_precision_accuracy.py"


def test(a: str, b: str, diff: float, p: float = 0.01, metric: str = "auc") -> PairedTest:
    return PairedTest(a=a, b=b, metric=metric, n_sequences=30, score_a=0.6 + diff,
                      score_b=0.6, diff=diff, ci_low=diff - 0.002, ci_high=diff + 0.002,
                      p_value=p)


test.__test__ = False  # a helper, not a test


def row(name: str, precision: str, auc_diff: float | None, p: float = 0.01) -> PrecisionRow:
    r = PrecisionRow(name, name, precision)
    if auc_diff is not None:
        r.deltas["auc"] = {"diff": auc_diff, "ci_low": auc_diff - 0.2, "ci_high": auc_diff + 0.2,
                           "p": p, "sequences": 30}
    return r


def test_deltas_read_candidate_minus_reference_whichever_order_was_stored():
    tests = [test("int8", REFERENCE, -0.007), test(REFERENCE, "bf16", 0.003),
             test("int8", "bf16", -0.01)]  # a pair without the reference is ignored
    d = deltas_against(tests, REFERENCE)
    assert set(d) == {"int8", "bf16"}
    assert d["int8"]["auc"].diff == pytest.approx(-0.007)
    flipped = d["bf16"]["auc"]
    assert flipped.a == "bf16" and flipped.b == REFERENCE and flipped.diff == pytest.approx(-0.003)
    assert (flipped.ci_low, flipped.ci_high) == pytest.approx((-0.005, -0.001))
    assert oriented(flipped, "bf16") is flipped


def test_auc_drop_beyond_half_a_point_is_labelled():
    assert labels_for(row("a", "int8", -0.6)) == ["AUC DROP > 0.5 pt (significant, p=0.01)",
                                                   "reduced precision"]
    assert "not significant" in labels_for(row("a", "int8", -0.9, p=0.3))[0]
    for diff in (-0.5, -0.4, 0.0, +2.0, None):  # exactly 0.5 is not "more than 0.5"
        assert not any("DROP" in x for x in labels_for(row("a", "bf16", diff)))
    assert labels_for(row("a", "fp32", -0.1)) == []
    assert "emulated bf16 (forced)" in labels_for(row("a", "bf16", 0.0), native_bf16=False)
    assert "DROP" in labels_for(row("a", "int8", -0.3), limit=0.25)[0]


def test_speedups_are_over_the_official_path_of_the_same_run():
    rows = [PrecisionRow(OFFICIAL, "", "fp32"), PrecisionRow(REFERENCE, "", "fp32"),
            PrecisionRow("int8", "", "int8"), PrecisionRow("bf16", "", "bf16", status="refused")]
    fill_speed(rows, {OFFICIAL: 8.0, REFERENCE: 4.0, "int8": 1.0}, {OFFICIAL: 10.0, "int8": 4.0})
    assert rows[0].step_speedup == pytest.approx(1.0) and rows[1].step_speedup == 2.0
    assert rows[2].step_speedup == 8.0 and rows[2].track_speedup == 2.5
    assert rows[1].track_speedup is None and rows[3].step_ms is None


def _split(n_seq: int = 6, n: int = 40) -> tuple[DatasetSplit, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    seqs, gts = [], {}
    for i in range(n_seq):
        xy = 50 + np.cumsum(rng.normal(0, 2, (n, 2)), axis=0)
        gt = np.column_stack([xy, np.full(n, 40.0), np.full(n, 30.0)])
        name = f"seq-{i}"
        seqs.append(Sequence(name, "synthetic-lasot", "test",
                             [Path(f"{k:08d}.jpg") for k in range(n)], gt,
                             visible=np.ones(n, bool), image_size=(320, 240)))
        gts[name] = gt
    return DatasetSplit("synthetic-lasot", "test", Path("."), seqs, n_seq), gts


def test_accuracy_rows_from_a_real_analysis_label_the_degraded_runtime():
    """Scores come from the project's scoring (analyze): a runtime whose boxes are shifted by a
    quarter of the width loses far more than 0.5 AUC points and is labelled; an identical one is
    not, its delta is 0 with p = 1."""
    split, gts = _split()
    shifted = {k: v + np.array([10.0, 0, 0, 0]) for k, v in gts.items()}
    ref = {k: v + np.array([1.0, 0, 0, 0]) for k, v in gts.items()}
    analysis = analyze(split, {"int8": shifted, OFFICIAL: dict(ref), REFERENCE: ref})
    rows = [PrecisionRow(OFFICIAL, "", "fp32"), PrecisionRow(REFERENCE, "", "fp32"),
            PrecisionRow("int8", "", "int8"),
            PrecisionRow("bf16", "", "bf16", status="refused", reason="no native bf16")]
    fill_accuracy(rows, analysis, REFERENCE)
    off, ref_row, q, bf = rows
    assert off.deltas["auc"]["diff"] == pytest.approx(0.0) and off.deltas["auc"]["p"] == 1.0
    assert off.labels == [] and not ref_row.deltas and ref_row.scores["auc"] > 50
    assert q.deltas["auc"]["diff"] < -5 and q.deltas["auc"]["ci_high"] < 0
    assert q.scores["auc"] == pytest.approx(ref_row.scores["auc"] + q.deltas["auc"]["diff"])
    assert q.labels[0].startswith("AUC DROP > 0.5 pt (significant")
    assert set(q.deltas) == {"auc", "precision", "norm_precision"} and not bf.scores
    report = PrecisionReport("t", "synthetic-lasot-test", analysis.label, list(gts), 240, 1,
                             REFERENCE, rows, {})
    text = table_text(report)
    assert "AUC DROP" in text and "REFUSED: no native bf16" in text and "(reference)" in text
    json.dumps(report.to_dict())


def _bench():
    spec = importlib.util.spec_from_file_location("bench_precision_accuracy", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_dry_run_two_short_sequences(tmp_path, monkeypatch, capsys):
    """The whole benchmark on 2 synthetic sequences of 6 frames with the shipped micro weights,
    on a CPU made to look like one without native bf16: bf16 is a REFUSED row (never run
    silently), the exact runtimes agree with fp32 exactly, and the JSON has every row."""
    monkeypatch.delenv(ALLOW_EMULATED_BF16_ENV, raising=False)
    monkeypatch.setattr(devices, "cpu_features",
                        lambda: CpuFeatures(model="Old CPU", flags=frozenset({"avx2"}), source="x"))
    out = tmp_path / "p.json"
    runtimes = "official,fp32,bf16" + (",int8" if importlib.util.find_spec("onnxruntime") else "")
    code = _bench().main(["--sequences", "2", "--frames", "6", "--root", str(tmp_path / "data"),
                          "--runtimes", runtimes, "--latency-iters", "3", "--json", str(out),
                          "--workspace", str(REPO), "--quiet"])
    assert code == 0
    data = json.loads(out.read_text())
    rows = {r["name"]: r for r in data["rows"]}
    assert rows["bf16"]["status"] == "refused" and "Old CPU" in rows["bf16"]["reason"]
    assert rows[OFFICIAL]["deltas"]["auc"]["diff"] == pytest.approx(0.0, abs=1e-9)
    assert rows[OFFICIAL]["step_speedup"] == pytest.approx(1.0)
    assert rows[REFERENCE]["step_ms"] > 0 and rows[REFERENCE]["scores"]["auc"] > 0
    if "int8" in rows:
        assert rows["int8"]["status"] == "ok" and "reduced precision" in rows["int8"]["labels"]
    assert len(data["sequences"]) == 2 and data["threads"] == 1
    printed = capsys.readouterr().out
    assert "Old CPU" in printed and "REFUSED" in printed and "threads 1" in printed


def test_cli_refuses_an_unknown_runtime_in_one_line():
    from click.testing import CliRunner

    from mfv2bench.cli import main

    res = CliRunner().invoke(main, ["--workspace", str(REPO), "precision", "--runtimes",
                                    "fp32,fp8"])
    assert res.exit_code == 2 and "unknown runtime variant(s) ['fp8']" in res.output
    res = CliRunner().invoke(main, ["precision", "-h"])
    assert res.exit_code == 0 and "0.5 points" in res.output
