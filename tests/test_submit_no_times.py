"""`submit` with results lacking per-frame times (issue 13): the refusal names the files, says how
to make the times and states the server rule; `--no-times` packs the layout without time files,
re-read and checked, and the manifest beside the zip records the omission."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.errors import InputError, MissingDataError
from mfv2bench.submit.lines import parse_box_lines
from mfv2bench.submit.pack import FORMATS, pack_submission, validate_submission

GOT = {"GOT-10k_Test_000001": 7, "GOT-10k_Test_000002": 5}
TN = {"-3TIfnTSM6c_2": 6}


def _split(dataset: str, lengths: dict[str, int]) -> DatasetSplit:
    seqs = [Sequence(name=n, dataset=dataset, split="test",
                     frames=[Path(f"/nowhere/{n}/{i}.jpg") for i in range(k)],
                     gt=np.array([[1.0, 2.0, 3.0, 4.0]])) for n, k in lengths.items()]
    return DatasetSplit(dataset=dataset, split="test", root=Path("/nowhere"), sequences=seqs,
                        expected=len(seqs))


def _boxes_only(seq_dir: Path, lengths: dict[str, int]) -> dict[str, np.ndarray]:
    seq_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in lengths.items():
        boxes = np.arange(n * 4, dtype=float).reshape(n, 4) + 0.25
        (seq_dir / f"{name}.txt").write_text("".join(",".join(repr(float(v)) for v in b) + "\n"
                                                     for b in boxes))
        out[name] = boxes
    return out


def test_missing_times_refused_naming_files_with_the_hint_and_rule(tmp_path: Path) -> None:
    seq_dir = tmp_path / "results" / "t" / "got10k-test"
    _boxes_only(seq_dir, GOT)
    (seq_dir / "GOT-10k_Test_000002_time.txt").write_text("0.01\n" * 5)
    out = tmp_path / "sub" / "t.zip"
    with pytest.raises(MissingDataError) as err:
        pack_submission(_split("got10k", GOT), seq_dir, out)
    msg = str(err.value)
    assert "1 of 2 sequences have no per-frame times (GOT-10k_Test_000001_time.txt)" in msg
    assert "re-running `mfv2bench eval`" in msg and "--no-times" in msg
    assert "Server rule: GOT-10k:" in msg and "speed -1" in msg
    assert not out.exists() and (not out.parent.exists() or not any(out.parent.iterdir()))


def test_no_times_packs_boxes_only_and_the_zip_reads_back(tmp_path: Path) -> None:
    seq_dir = tmp_path / "results" / "t" / "got10k-test"
    boxes = _boxes_only(seq_dir, GOT)
    out = tmp_path / "sub" / "t.zip"
    report = pack_submission(_split("got10k", GOT), seq_dir, out, tracker="t", no_times=True)
    assert report.times == "omitted" and report.members == 2
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == sorted(f"{s}/{s}_001.txt" for s in GOT)
        for s in GOT:
            back = parse_box_lines(z.read(f"{s}/{s}_001.txt").decode(), s)
            assert np.allclose(back, boxes[s], atol=5e-5)
    # the strict check wants the time files; the --no-times check accepts their absence
    with pytest.raises(InputError, match="incomplete"):
        validate_submission(out, GOT, FORMATS["got10k"])
    again = validate_submission(out, GOT, FORMATS["got10k"].without_times())
    assert again.times == "omitted" and again.sha256 == report.sha256


def test_trackingnet_never_needs_times(tmp_path: Path) -> None:
    seq_dir = tmp_path / "r" / "t" / "trackingnet-test"
    _boxes_only(seq_dir, TN)
    report = pack_submission(_split("trackingnet", TN), seq_dir, tmp_path / "tn.zip")
    assert report.times == "not submitted"
    with zipfile.ZipFile(tmp_path / "tn.zip") as z:
        assert z.namelist() == ["-3TIfnTSM6c_2.txt"]


def test_cli_no_times_writes_manifest_recording_the_omission(workspace: Path) -> None:
    root = workspace / "datasets" / "synthetic" / "got10k"
    write_synthetic("got10k", root, n_sequences=2, n_frames=(6, 8), size=(96, 72), seed=3,
                    splits=("test",))
    split = load_split("synthetic-got10k-test", root=root)
    _boxes_only(workspace / "results" / "trk" / split.key,
                {s.name: s.n_frames for s in split.sequences})
    runner = CliRunner()
    args = ["submit", "--tracker", "trk", "--dataset", "synthetic-got10k-test"]
    res = runner.invoke(main, args)
    assert res.exit_code == 2 and res.output.startswith("error: ")
    assert "have no per-frame times" in res.output and "--no-times" in res.output
    res = runner.invoke(main, args + ["--no-times"])
    assert res.exit_code == 0, res.output
    assert "per-frame times: omitted" in res.output and "valid: ready" not in res.output
    zpath = workspace / "reports" / "submissions" / f"trk_{split.key}.zip"
    manifest = json.loads(zpath.with_name(zpath.stem + ".manifest.json").read_text())
    assert manifest["times"] == "omitted" and manifest["times_omitted"] is True
    assert manifest["times_rule"].startswith("GOT-10k:") and manifest["zip"] == str(zpath)
    assert any("times omitted" in n for n in manifest["notes"])
    res = runner.invoke(main, ["submit", "--dataset", "synthetic-got10k-test", "--check",
                               str(zpath)])
    assert res.exit_code == 2 and "incomplete" in res.output
    res = runner.invoke(main, ["submit", "--dataset", "synthetic-got10k-test", "--check",
                               str(zpath), "--no-times"])
    assert res.exit_code == 0 and "per-frame times: omitted" in res.output
