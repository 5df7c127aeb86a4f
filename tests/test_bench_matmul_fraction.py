"""benchmarks/bench_matmul_fraction.py's machinery on a tiny network (no timing asserted): every
shape gets a rate per GEMM backend, every exact runtime a fraction and its difference from the
full path, all in one JSON."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_matmul_fraction.py"
TINY = '{"embed_dim": 64, "num_heads": 1, "depth": 2, "template_size": 32, "search_size": 64}'


@pytest.mark.slow  # ~3 s quiet: builds ~30 one-MatMul ONNX Runtime sessions and three engines
@pytest.mark.onnx
def test_fraction_benchmark_reports_every_runtime(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_matmul_fraction", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "frac.json"
    assert bench.main(["--variants", "small", "--overrides", TINY, "--runtimes", "eager,onednn",
                       "--rounds", "1", "--iters", "1", "--mm-iters", "1", "--threads", "1",
                       "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    (res,) = data["results"]
    rows = {r["runtime"]: r for r in res["rows"]}
    assert set(rows) == {"full-eager", "eager", "onednn"}  # the official path always added
    assert rows["full-eager"]["vs_official"] == pytest.approx(1.0)
    for r in rows.values():
        assert r["exact"] and r["fraction"] > 0
    assert {g["path"] for g in res["gemm"]} == {"cached", "full"}
    assert all({"aten", "onednn", "mlas"} <= set(g["gflops"]) for g in res["gemm"])
    assert res["gflop"]["cached"] < res["gflop"]["full"]  # FLOPs, not timings (noisy on a tiny net)
    assert all(v["median"] > 0 for v in res["ideal_ms"].values())
    assert data["threads"] == 1 and data["cpu"]
    printed = capsys.readouterr().out
    assert "fraction" in printed and "fastest exact cached runtime" in printed
