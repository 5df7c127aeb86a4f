"""benchmarks/bench_lasot_projection.py: its options, its bf16 refusal and its table (the
measurement itself runs MixFormerV2-S through the runner for minutes: not a unit test)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lasot_projection.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_lasot_projection", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configs_sizes_and_native_bf16(bench):
    assert bench.parse_configs("1x2, 2x1,1") == [(1, 2), (2, 1), (1, 1)]
    assert bench.parse_size("1280x720") == (1280, 720)
    assert bench.native_bf16(["avx2", "avx512_bf16"]) and bench.native_bf16(["amx_bf16"])
    assert not bench.native_bf16(["avx2", "avx512f", "avx512_vnni"])
    assert bench.LASOT_TEST_FRAMES == 685_360


def test_table_keeps_the_best_round_and_ratios_against_exact_one_worker(bench):
    def row(runtime, workers, steady, wall=10.0):
        return {"runtime": runtime, "workers": workers, "threads_per_worker": 3 - workers,
                "frames": 400, "sequences": 4, "wall_s": wall, "fixed_s": 2.0,
                "fps_wall": 400 / wall, "fps_steady": steady, "fps_tracker_only": steady * 1.2,
                "projected_h": (2.0 + bench.LASOT_TEST_FRAMES / steady) / 3600,
                "projected_h_naive": 1.0, "load_before": 0.1, "load_after": 0.2}

    rows = bench.best_rows({("exact", 1, 2): [row("exact", 1, 20.0), row("exact", 1, 25.0)],
                            ("bf16", 2, 1): [row("bf16", 2, 50.0)],
                            ("bf16", 1, 2): [{"runtime": "bf16", "workers": 1,
                                              "threads_per_worker": 2, "note": "skipped: no bf16"}]})
    assert [r.get("fps_steady") for r in rows] == [25.0, 50.0, None]
    table = bench.format_table(rows).splitlines()
    assert "LaSOT h" in table[0]
    assert "1.00x" in table[1] and "2.00x" in table[2] and "skipped: no bf16" in table[3]
    assert f"{(2.0 + 685_360 / 25.0) / 3600:8.2f}" in table[1]
