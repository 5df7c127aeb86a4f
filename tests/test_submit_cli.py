"""`mfv2bench submit` end to end on synthetic GOT-10k / TrackingNet test splits."""

from __future__ import annotations

import json
import zipfile

import numpy as np
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic


def _write_store(results_dir, tracker, split, broken=None):
    folder = results_dir / tracker / split.key
    folder.mkdir(parents=True)
    for seq in split.sequences:
        n = seq.n_frames
        boxes = np.tile(seq.init_box, (n, 1)) + np.arange(n)[:, None] * 0.5
        (folder / f"{seq.name}.txt").write_text("".join(",".join(repr(float(v)) for v in b) + "\n" for b in boxes))
        (folder / f"{seq.name}_time.txt").write_text("0.01\n" * n)
    return folder


def _setup(workspace, fmt):
    root = workspace / "datasets" / "synthetic" / fmt
    write_synthetic(fmt, root, n_sequences=3, n_frames=(6, 9), size=(96, 72), seed=3, splits=("test",))
    split = load_split(f"synthetic-{fmt}-test", root=root)
    return split, _write_store(workspace / "results", "trk", split)


def test_submit_got10k_and_check(workspace):
    split, folder = _setup(workspace, "got10k")
    runner = CliRunner()
    res = runner.invoke(main, ["submit", "--tracker", "trk", "--dataset", "synthetic-got10k-test", "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["format"] == "got10k" and info["sequences"] == 3
    assert info["frames"] == sum(s.n_frames for s in split.sequences)
    zpath = workspace / "reports" / "submissions" / "trk_synthetic-got10k-test.zip"
    assert info["zip"] == str(zpath)
    with zipfile.ZipFile(zpath) as z:
        tops = {n.split("/")[0] for n in z.namelist()}
    assert tops == {s.name for s in split.sequences}
    res = runner.invoke(main, ["submit", "--dataset", "synthetic-got10k-test", "--check", str(zpath)])
    assert res.exit_code == 0 and "valid" in res.output
    assert len(list(folder.iterdir())) == 6  # raw results still all there


def test_submit_trackingnet_rejects_broken_folder_with_one_line(workspace):
    split, folder = _setup(workspace, "trackingnet")
    seq = split.sequences[1].name
    lines = (folder / f"{seq}.txt").read_text().splitlines()
    lines[2] = "1,2,nan,4"
    (folder / f"{seq}.txt").write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(main, ["submit", "--tracker", "trk", "--dataset", "synthetic-trackingnet-test"])
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and f"{seq}.txt:3" in res.output
    assert "Traceback" not in res.output
    assert not (workspace / "reports" / "submissions").exists() or not any(
        (workspace / "reports" / "submissions").iterdir())
    res = CliRunner().invoke(main, ["submit", "--tracker", "nobody", "--dataset", "synthetic-trackingnet-test"])
    assert res.exit_code == 2 and "no results folder" in res.output
    res = CliRunner().invoke(main, ["submit", "--tracker", "trk", "--dataset", "synthetic-lasot"])
    assert res.exit_code == 2 and "no submission format" in res.output
