"""The runtime benchmark's machinery on a tiny network (no timing is asserted): every runtime
builds through the tracker's engines, outputs are compared with eager, ratios are reported."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_runtimes.py"
TINY = '{"embed_dim": 32, "num_heads": 2, "depth": 1, "template_size": 32, "search_size": 64}'


def _bench():
    spec = importlib.util.spec_from_file_location("bench_runtimes", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.onnx  # the onnxruntime row
def test_benchmark_compares_runtimes_with_eager(tmp_path, capsys):
    bench = _bench()
    out = tmp_path / "bench.json"
    assert bench.main(["--variants", "small", "--overrides", TINY, "--runtimes",
                       "eager,sdpa,onnxruntime", "--iters", "1", "--rounds", "1",
                       "--warmup", "0", "--threads", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    rows = {r["runtime"]: r for r in data["results"][0]["rows"]}
    assert set(rows) == {"eager", "sdpa", "onnxruntime"}
    assert rows["eager"]["vs_eager"] == pytest.approx(1.0)
    for r in rows.values():
        assert r["matches_eager"], r  # float32 runtimes agree with eager within 1e-4
        assert r["precision"] == "fp32" and r["n"] == 1
    assert data["manifest"]["weights"] == "random weights"
    printed = capsys.readouterr().out
    assert "best float32 runtime" in printed and "vs eager" in printed


def test_tolerances_by_precision():
    bench = _bench()
    assert bench.precision_of("compile-bf16") == "bf16" and bench.precision_of("sdpa") == "fp32"
    assert bench.matches("sdpa", {"box": 5e-5, "score": 0.0})
    assert not bench.matches("sdpa", {"box": 5e-4, "score": 0.0})
    assert bench.matches("sdpa-bf16", {"box": 5e-4, "score": 1e-3})
