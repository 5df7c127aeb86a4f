"""`submit` with results lacking per-frame times (issue 13): the refusal names the files, says how
to make them and states the server rule. GOT-10k needs the time files (the got10k toolkit's
scorer fails without them), so `--no-times` is refused there with that rule and nothing made up;
TrackingNet never takes times, so its zip (boxes only) is packed, re-read and checked, and the
manifest beside the zip records that no times were submitted."""

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
from mfv2bench.errors import ConfigError, InputError, MissingDataError
from mfv2bench.submit.lines import parse_box_lines
from mfv2bench.submit.pack import FORMATS, pack_submission, validate_submission

GOT = {"GOT-10k_Test_000001": 7, "GOT-10k_Test_000002": 5}
TN = {"-3TIfnTSM6c_2": 6, "a1qoB1eERn0_0": 4}


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


def _nothing_written(out: Path) -> bool:
    return not out.exists() and (not out.parent.exists() or not any(out.parent.iterdir()))


def test_missing_times_refused_naming_files_with_the_hint_and_rule(tmp_path: Path) -> None:
    seq_dir = tmp_path / "results" / "t" / "got10k-test"
    _boxes_only(seq_dir, GOT)
    (seq_dir / "GOT-10k_Test_000002_time.txt").write_text("0.01\n" * 5)
    out = tmp_path / "sub" / "t.zip"
    with pytest.raises(MissingDataError) as err:
        pack_submission(_split("got10k", GOT), seq_dir, out)
    msg = str(err.value)
    assert "1 of 2 sequences have no per-frame times (GOT-10k_Test_000001_time.txt)" in msg
    assert "re-running `mfv2bench eval`" in msg
    assert "Server rule: GOT-10k: every sequence folder holds <seq>_time.txt" in msg
    assert "got10k.py l. 153-166" in msg
    assert _nothing_written(out)


def test_no_times_refused_for_got10k_with_the_rule(tmp_path: Path) -> None:
    seq_dir = tmp_path / "results" / "t" / "got10k-test"
    _boxes_only(seq_dir, GOT)
    out = tmp_path / "sub" / "t.zip"
    with pytest.raises(ConfigError) as err:
        pack_submission(_split("got10k", GOT), seq_dir, out, no_times=True)
    assert "cannot leave out the per-frame times, and none are made up" in str(err.value)
    assert "Rule: GOT-10k:" in str(err.value) and _nothing_written(out)


def test_trackingnet_packs_boxes_only_with_or_without_times(tmp_path: Path) -> None:
    seq_dir = tmp_path / "r" / "t" / "trackingnet-test"
    boxes = _boxes_only(seq_dir, TN)
    for no_times in (False, True):
        out = tmp_path / f"tn{int(no_times)}.zip"
        report = pack_submission(_split("trackingnet", TN), seq_dir, out, no_times=no_times)
        assert report.times == "not submitted" and report.members == 2
        with zipfile.ZipFile(out) as z:
            assert sorted(z.namelist()) == sorted(f"{s}.txt" for s in TN)
            for s in TN:
                back = parse_box_lines(z.read(f"{s}.txt").decode(), s)
                assert np.allclose(back, boxes[s], atol=5e-5)
        assert validate_submission(out, TN, FORMATS["trackingnet"]).sha256 == report.sha256


def test_a_got10k_zip_without_times_is_refused_with_the_rule(tmp_path: Path) -> None:
    out = tmp_path / "theirs.zip"
    with zipfile.ZipFile(out, "w") as z:
        for s, n in GOT.items():
            z.writestr(f"{s}/{s}_001.txt", "1,2,3,4\n" * n)
    with pytest.raises(InputError, match=r"incomplete in the zip .*_time.txt.*rule: GOT-10k"):
        validate_submission(out, GOT, FORMATS["got10k"])


def test_cli_refusal_hint_and_manifest(workspace: Path) -> None:
    root = workspace / "datasets" / "synthetic" / "got10k"
    write_synthetic("got10k", root, n_sequences=2, n_frames=(6, 8), size=(96, 72), seed=3,
                    splits=("test",))
    split = load_split("synthetic-got10k-test", root=root)
    folder = workspace / "results" / "trk" / split.key
    _boxes_only(folder, {s.name: s.n_frames for s in split.sequences})
    runner = CliRunner()
    args = ["submit", "--tracker", "trk", "--dataset", "synthetic-got10k-test"]
    res = runner.invoke(main, args)
    assert res.exit_code == 2 and res.output.startswith("error: ")
    assert "have no per-frame times" in res.output and "re-running `mfv2bench eval`" in res.output
    res = runner.invoke(main, args + ["--no-times"])
    assert res.exit_code == 2 and "none are made up" in res.output
    for s in split.sequences:  # what eval records: one time per frame
        (folder / f"{s.name}_time.txt").write_text("0.02\n" * s.n_frames)
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "per-frame times: included" in res.output
    zpath = workspace / "reports" / "submissions" / f"trk_{split.key}.zip"
    manifest = json.loads(zpath.with_name(zpath.stem + ".manifest.json").read_text())
    assert manifest["times"] == "included" and manifest["times_omitted"] is False
    assert manifest["times_rule"].startswith("GOT-10k:") and manifest["zip"] == str(zpath)
    assert manifest["sequences"] == 2 and manifest["sha256"]
