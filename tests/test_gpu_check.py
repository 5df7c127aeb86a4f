"""benchmarks/gpu_check.py: its CPU dry run goes through every section and writes the JSON the
GPU run will write; a failing or overrunning section is a row, never the loss of the others."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # worker processes for the eval section and dynamo tracing: ~10 s
@pytest.mark.compile
def test_dry_run_covers_every_section(gpu_check, tmp_path, capsys):
    out = tmp_path / "gpu_check.json"
    # generous limits: a loaded CI machine must not turn this into a test of the time guards
    assert gpu_check.main(["--dry-run", "--out", str(out), "--workdir", str(tmp_path / "ws"),
                           "--budget", "3000", "--section-cap", "600"]) == 0
    report = json.loads(out.read_text())
    sections = report["sections"]
    assert list(sections) == list(gpu_check.SECTIONS)
    assert report["dry_run"] is True and report["device"] == "cpu"
    for name in ("env", "parity", "latency", "memory", "eval", "compile"):
        assert sections[name]["status"] == "ok", (name, sections[name])
        assert sections[name]["rows"], name
    assert sections["cuda_graphs"]["status"] == "skipped"

    parity = {r["check"]: r for r in sections["parity"]["rows"]}
    assert {f"{v} {c}" for v in ("small", "base") for c in (
        "fp32 (TF32 off)", "fp16 autocast", "bf16 autocast",
        "fp32 full recompute (TF32 off)")} <= set(parity)
    # the same fp32 engine on the same device is bit-identical; reduced precision within bounds
    assert parity["small fp32 (TF32 off)"]["box_diff"] == 0.0
    assert parity["base fp32 full recompute (TF32 off)"]["box_diff"] < 1e-5
    assert 0 < parity["small bf16 autocast"]["box_diff"] <= gpu_check.TOLERANCE["reduced"]["box"]

    latency = sections["latency"]["rows"]
    assert len(latency) == 2 * 5  # 2 variants x (fp32, fp32-sdpa, fp16, bf16, full recompute)
    assert all(r["median_ms"] > 0 and r["n"] == 3 for r in latency)
    assert [r["vs_fp32_eager"] for r in latency if r["check"] == "small fp32 eager"] == [1.0]
    assert sections["latency"]["timing"] == "perf_counter (CPU)"
    assert all(r["peak_mb"] is None and r["status"] == "n/a" for r in sections["memory"]["rows"])

    evals = {r["check"]: r for r in sections["eval"]["rows"]}
    micro = evals["eval mfv2-micro on cpu"]
    assert micro["frames"] == 2 * 6 and micro["auc"] is not None and not micro["random_weights"]
    assert evals["eval mfv2-micro cpu vs cpu boxes"]["mean_iou"] == 1.0

    compiled = sections["compile"]["rows"]
    assert [r["check"] for r in compiled] == ["small fp32 compiled", "small bf16 compiled"]
    assert all(r["backend"] == "eager (dry run)" and r["box_diff"] == 0.0 for r in compiled)

    printed = capsys.readouterr().out
    assert "section" in printed and "CPU dry run" in printed and "small bf16 compiled" in printed


def test_a_failing_section_is_a_row_and_the_others_run(gpu_check, tmp_path, monkeypatch):
    def broken(ctx, args, budget):
        raise RuntimeError("no such kernel")

    monkeypatch.setitem(gpu_check.SECTION_FUNCS, "parity", broken)
    out = tmp_path / "r.json"
    assert gpu_check.main(["--dry-run", "--out", str(out), "--sections", "env,parity,latency",
                           "--variants", "small", "--precisions", "fp32"]) == 0
    sections = json.loads(out.read_text())["sections"]
    assert list(sections) == ["env", "parity", "latency"]
    assert sections["parity"]["status"] == "failed"
    assert "RuntimeError: no such kernel" in sections["parity"]["error"]
    assert sections["env"]["status"] == sections["latency"]["status"] == "ok"
    assert [r["check"] for r in sections["latency"]["rows"]] == [
        "small fp32 eager", "small fp32-sdpa eager", "small fp32 full recompute eager"]


def test_an_overrunning_section_is_stopped_and_keeps_its_rows(gpu_check, monkeypatch):
    def slow(ctx, args, budget):
        ctx["rows"].append({"check": "first", "status": "ok"})
        time.sleep(5)
        return {"rows": ctx["rows"]}

    monkeypatch.setitem(gpu_check.SECTION_FUNCS, "env", slow)
    args = gpu_check.parse_args(["--dry-run"])
    args.caps["env"], args.grace = 0.2, 0.1
    t0 = time.perf_counter()
    out = gpu_check.run_section("env", {"models": {}}, args, gpu_check.Budget(10))
    assert time.perf_counter() - t0 < 4.5  # stopped before the 5 s sleep ended (slack for load)
    assert out["status"] == "failed" and "SectionTimeout" in out["error"]
    assert [r["check"] for r in out["rows"]] == ["first", "env"]


def test_a_section_is_skipped_when_the_overall_budget_is_spent(gpu_check):
    args = gpu_check.parse_args(["--dry-run"])
    out = gpu_check.run_section("parity", {"models": {}}, args, gpu_check.Budget(0))
    assert out["status"] == "skipped" and out["rows"][0]["status"] == "skipped"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: the real check would run")
def test_without_a_gpu_it_says_so_and_points_to_the_dry_run(gpu_check, tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path / "x.json")]) == 2
    assert "--dry-run" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
