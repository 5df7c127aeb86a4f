"""A release with a short result file (issue 13): ``results import --allow-partial`` stores it as
released (never padded) and records it in run.json; each metric protocol's rule decides at
scoring (TrackingNet: failures; LaSOT's mixformerv2: refused, ``--skip-refused`` leaves it out);
``show`` draws the frames it has."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.app.show import short_notes, show
from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.results import manifest as mf
from mfv2bench.workspace import load_workspace
from runner_helpers import make_synthetic

N_FRAMES = 6
CUT = 2  # rows missing from the short file


@pytest.fixture
def release(workspace, tmp_path):
    """A LaSOT-style synthetic split and a release of its GT boxes, one file 2 rows short."""
    make_synthetic(workspace, "lasot", n_sequences=3, n_frames=N_FRAMES)
    split = load_split("synthetic-lasot", workspace=load_workspace(workspace))
    src = tmp_path / "release"
    src.mkdir()
    for s in split.sequences:
        rows = np.asarray(s.gt, dtype=np.float64)
        np.savetxt(src / f"{s.name}.txt", rows, delimiter=",", fmt="%.3f")
    short = split.sequences[1]
    rows = np.asarray(short.gt, dtype=np.float64)[:-CUT]
    np.savetxt(src / f"{short.name}.txt", rows, delimiter=",", fmt="%.3f")
    return workspace, split, src, short


def _import(src, *extra):
    return CliRunner().invoke(main, ["results", "import", str(src), "--as", "rel", "-d",
                                     "synthetic-lasot", *extra])


def test_without_allow_partial_the_short_file_is_refused(release):
    workspace, _, src, short = release
    res = _import(src)
    assert res.exit_code != 0
    assert short.name in res.output and "--allow-partial" in res.output
    assert f"result has {N_FRAMES - CUT} rows but sequence {short.name} has {N_FRAMES}" \
        in res.output
    assert not (workspace / "results" / "rel" / "synthetic-lasot-test").exists()


def test_allow_partial_stores_the_short_file_unpadded_and_notes_it(release):
    workspace, split, src, short = release
    res = _import(src, "--allow-partial")
    assert res.exit_code == 0, res.output
    assert "1 result(s) shorter than the sequence, stored as released (never padded" in res.output
    assert f"{short.name} ({N_FRAMES - CUT} of {N_FRAMES} rows)" in res.output
    # the data set's default protocol (mixformerv2, LaSOT) refuses it at analysis
    assert "(mixformerv2 protocol, the default): refused at analysis" in res.output
    assert "--skip-refused" in res.output
    folder = workspace / "results" / "rel" / "synthetic-lasot-test"
    stored = np.loadtxt(folder / f"{short.name}.txt", delimiter=",")
    assert stored.shape == (N_FRAMES - CUT, 4)  # unpadded
    assert np.allclose(stored, np.asarray(short.gt)[:-CUT], atol=1e-3)
    assert sorted(p.stem for p in folder.glob("*.txt")) == sorted(s.name for s in split.sequences)
    m = json.loads((folder / "run.json").read_text())
    assert m["import"]["short"] == {short.name: {"rows": N_FRAMES - CUT, "frames": N_FRAMES,
                                                 "stored": "unpadded"}}
    assert mf.short_sequences(m) == {short.name: (N_FRAMES - CUT, N_FRAMES)}
    assert mf.short_sequences({"format": 1}) == {}  # older manifests: none short
    assert m["sequences"]["missing"] == [] and mf.coverage(m) == mf.FULL
    listed = CliRunner().invoke(main, ["results", "list"])
    assert listed.exit_code == 0 and "rel" in listed.output


def test_analyze_applies_each_protocols_rule(release):
    _, split, src, short = release
    assert _import(src, "--allow-partial").exit_code == 0
    run = CliRunner().invoke
    tn = run(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers", "rel", "--protocol",
                    "trackingnet", "--json", "--no-cache"])
    assert tn.exit_code == 0, tn.output
    out = json.loads(tn.output[tn.output.index("{"):])
    # the boxes are the GT: every frame present has IoU 1 and passes every threshold; the 2
    # missing frames pass none (the devkit's NaN rows), so the short sequence's curves are flat
    # at 4/6 and the mean over the 3 sequences is (1 + 4/6 + 1) / 3
    expected = (1 + (N_FRAMES - CUT) / N_FRAMES + 1) / 3
    assert out["overall"]["rel"]["auc"] == pytest.approx(expected, abs=1e-6)
    notes = out["length_notes"]["rel"][short.name]
    assert any("2 row(s) short of 6 frames: the missing frames scored as failures" in n
               for n in notes)
    text = run(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers", "rel",
                      "--protocol", "trackingnet", "--no-cache"])
    assert f"note: rel: {short.name}: {short.name}.txt: 2 row(s) short" in text.output
    refused = run(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers", "rel",
                         "--protocol", "mixformerv2", "--no-cache"])
    assert refused.exit_code != 0 and f"{short.name}.txt" in refused.output
    assert "2 row(s) short" in refused.output
    skipped = run(main, ["analyze", "--dataset", "synthetic-lasot", "--trackers", "rel",
                         "--protocol", "mixformerv2", "--skip-refused", "--json", "--no-cache"])
    assert skipped.exit_code == 0, skipped.output
    sk = json.loads(skipped.output[skipped.output.index("{"):])
    assert sk["sequences"]["rel"] == [s.name for s in split.sequences if s.name != short.name]


def test_show_draws_a_short_result_and_says_which_frames_are_missing(release):
    workspace, _, src, short = release
    assert _import(src, "--allow-partial").exit_code == 0
    ws = load_workspace(workspace)
    files = show(ws, ["rel"], "synthetic-lasot", short.name, workspace / "reports" / "frames",
                 image_format="png")
    assert files.frames == N_FRAMES and len(list(files.path.glob("*.png"))) == N_FRAMES
    assert files.short == {"rel": (N_FRAMES - CUT, N_FRAMES)}
    assert short_notes(files) == [f"rel: result has {N_FRAMES - CUT} rows for {N_FRAMES} frames: "
                                  f"frames {N_FRAMES - CUT + 1}-{N_FRAMES} have no box (not drawn)"]
    res = CliRunner().invoke(main, ["show", "--tracker", "rel", "--dataset",
                                    "synthetic-lasot", "--sequence", short.name, "--out", str(workspace / "reports" / "v2"),
                                    "--image-format", "png"])
    assert res.exit_code == 0, res.output
    assert "note: rel: result has 4 rows for 6 frames: frames 5-6 have no box" in res.output
