"""`mfv2bench analyze` end to end on a synthetic LaSOT tree and stored raw results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.metrics import get_protocol


@pytest.fixture
def tree(workspace: Path) -> tuple[Path, Path]:
    root = workspace / "datasets" / "synthetic-lasot"
    write_synthetic("lasot", root, n_sequences=4, n_frames=(20, 30), size=(64, 48), seed=1)
    split = load_split("synthetic-lasot", root=root)
    rng = np.random.default_rng(0)
    for t, noise in (("alpha", 1.0), ("beta", 6.0)):
        d = workspace / "results" / t / split.key
        d.mkdir(parents=True)
        for s in split.sequences:
            pred = s.gt + rng.normal(0, noise, s.gt.shape)
            pred[:, 2:] = np.maximum(pred[:, 2:], 1)
            (d / f"{s.name}.txt").write_text(
                "".join(",".join(repr(float(v)) for v in r) + "\n" for r in pred))
    return workspace, root


def test_analyze_prints_table_with_protocol_hash(tree) -> None:
    ws, root = tree
    r = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers",
                                  "alpha,beta", "--root", str(root), "--resamples", "200",
                                  "--attributes"])
    assert r.exit_code == 0, r.output
    h = get_protocol("mixformerv2").hash
    assert f"mixformerv2 [{h}]" in r.output
    assert "AUC [95% CI]" in r.output and "alpha - beta" in r.output
    table = r.output.split("\n\n")[0].splitlines()
    lines = {ln.split()[0]: ln for ln in table if ln.split()[0] in ("alpha", "beta")}
    auc_alpha = float(lines["alpha"].split()[2])
    auc_beta = float(lines["beta"].split()[2])
    assert auc_alpha > auc_beta


def test_analyze_json_has_every_curve(tree) -> None:
    ws, root = tree
    r = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers",
                                  "alpha,beta", "--root", str(root), "--protocol",
                                  "lasot-toolkit", "--json", "--resamples", "200"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["protocol"] == "lasot-toolkit"
    assert data["protocol_hash"] == get_protocol("lasot-toolkit").hash
    assert len(data["overall"]["alpha"]["success_curve"]) == 21
    assert len(data["sequence_curves"]["beta"]["norm_precision"]) == 4
    assert set(data["ci"]["alpha"]) == {"auc", "precision", "norm_precision"}


@pytest.mark.parametrize("args,message", [
    (["--trackers", "alpha,nobody"], "no results of tracker 'nobody'"),
    (["--trackers", "alpha", "--protocol", "bogus"], "unknown metric protocol"),
    (["--trackers", " , "], "'--trackers': ' , ' names nothing"),
])
def test_analyze_errors_are_one_line(tree, args: list[str], message: str) -> None:
    ws, root = tree
    r = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-lasot", "--root", str(root),
                                  *args])
    assert r.exit_code == 2
    assert r.output.strip().startswith("error:") and message in r.output


def test_analyze_bad_result_line_names_file_and_line(tree) -> None:
    ws, root = tree
    split = load_split("synthetic-lasot", root=root)
    f = ws / "results" / "beta" / split.key / f"{split.sequences[0].name}.txt"
    lines = f.read_text().splitlines()
    lines[4] = "1,2,three,4"
    f.write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers",
                                  "alpha,beta", "--root", str(root)])
    assert r.exit_code == 2
    assert f"{f}:5: unparsable" in r.output


def test_analyze_got10k_val_reports_ao_sr_and_fps(workspace: Path) -> None:
    root = workspace / "datasets" / "g"
    write_synthetic("got10k", root, n_sequences=3, n_frames=(20, 30), size=(64, 48), seed=2)
    split = load_split("synthetic-got10k", root=root)
    rng = np.random.default_rng(1)
    d = workspace / "results" / "a" / split.key
    d.mkdir(parents=True)
    for s in split.sequences:
        np.savetxt(d / f"{s.name}.txt", s.gt + rng.normal(0, 1, s.gt.shape), delimiter=",",
                   fmt="%.3f")
        (d / f"{s.name}_time.txt").write_text("0.02\n" * len(s.gt))
    r = CliRunner().invoke(main, ["analyze", "--dataset", "synthetic-got10k", "--trackers", "a",
                                  "--root", str(root), "--resamples", "200"])
    assert r.exit_code == 0, r.output
    assert f"got10k-val [{get_protocol('got10k-val').hash}]" in r.output
    assert "AO [95% CI]" in r.output and "SR0.75 [95% CI]" in r.output
    assert r.output.splitlines()[3].split()[-1] == "50.0"  # FPS = mean of 1/t
