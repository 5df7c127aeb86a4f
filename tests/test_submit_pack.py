"""Submission packers: the zip layout each server expects, self-validation, clear rejections."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.errors import ConfigError, InputError, MissingDataError
from mfv2bench.submit import FORMATS, pack_submission, validate_submission


def make_split(dataset: str, lengths: dict[str, int], split: str = "test") -> DatasetSplit:
    seqs = [Sequence(name=n, dataset=dataset, split=split,
                     frames=[Path(f"/nowhere/{n}/{i}.jpg") for i in range(k)],
                     gt=np.array([[1.0, 2.0, 3.0, 4.0]]))
            for n, k in lengths.items()]
    return DatasetSplit(dataset=dataset, split=split, root=Path("/nowhere"), sequences=seqs,
                        expected=len(seqs))


def write_results(seq_dir: Path, lengths: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    seq_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in lengths.items():
        boxes = rng.uniform(0, 300, size=(n, 4))
        (seq_dir / f"{name}.txt").write_text("".join(",".join(repr(float(v)) for v in b) + "\n" for b in boxes))
        (seq_dir / f"{name}_time.txt").write_text("".join(f"{float(t)!r}\n" for t in rng.uniform(0.001, 0.05, n)))
        out[name] = boxes
    return out


GOT = {"GOT-10k_Test_000001": 7, "GOT-10k_Test_000002": 5, "GOT-10k_Test_000003": 9}
TN = {"-3TIfnTSM6c_2": 6, "a1qoB1eERn0_0": 4}


def test_got10k_zip_layout_and_roundtrip(tmp_path):
    seq_dir = tmp_path / "results" / "t" / "got10k-test"
    boxes = write_results(seq_dir, GOT)
    before = sorted(p.name for p in seq_dir.iterdir())
    report = pack_submission(make_split("got10k", GOT), seq_dir, tmp_path / "sub" / "t.zip", tracker="t")
    assert report.sequences == 3 and report.frames == sum(GOT.values()) and report.members == 6
    with zipfile.ZipFile(report.zip_path) as z:
        names = sorted(z.namelist())
        assert names == sorted([f"{s}/{s}_001.txt" for s in GOT] + [f"{s}/{s}_time.txt" for s in GOT])
        text = z.read("GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt").decode()
    rows = np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])
    np.testing.assert_allclose(rows, boxes["GOT-10k_Test_000002"], atol=5e-5)
    # raw results untouched, no temp file left behind
    assert sorted(p.name for p in seq_dir.iterdir()) == before
    assert [p.name for p in report.zip_path.parent.iterdir()] == ["t.zip"]


def test_trackingnet_zip_is_flat_and_comma_separated(tmp_path):
    seq_dir = tmp_path / "r" / "trackingnet-test"
    write_results(seq_dir, TN)
    report = pack_submission(make_split("trackingnet", TN), seq_dir, tmp_path / "tn.zip")
    with zipfile.ZipFile(report.zip_path) as z:
        assert sorted(z.namelist()) == sorted(f"{s}.txt" for s in TN)
        for s, n in TN.items():
            lines = z.read(f"{s}.txt").decode().splitlines()
            assert len(lines) == n and all(len(line.split(",")) == 4 for line in lines)


def test_synthetic_family_uses_the_real_format(tmp_path):
    seq_dir = tmp_path / "r"
    write_results(seq_dir, TN)
    report = pack_submission(make_split("synthetic-trackingnet", TN), seq_dir, tmp_path / "x.zip")
    assert report.format == "trackingnet"


@pytest.mark.parametrize("breakage, message", [
    (lambda d: (d / "GOT-10k_Test_000002.txt").unlink(), "1 of 3 sequences have no result"),
    (lambda d: (d / "GOT-10k_Test_000003.txt").write_text("1,2,3,4\n" * 8), "8 lines, but sequence"),
    (lambda d: (d / "GOT-10k_Test_000001.txt").write_text("1,2,3,4\n1,2,nan,4\n" + "1,2,3,4\n" * 5),
     "GOT-10k_Test_000001.txt:2"),
    (lambda d: (d / "GOT-10k_Test_000001.txt").write_text("1\t2\t3\t4\n" * 7), "separated by commas"),
    (lambda d: (d / "GOT-10k_Test_000001_time.txt").unlink(), "have no per-frame times (GOT-10k_Test_000001_time.txt)"),
    (lambda d: (d / "GOT-10k_Test_000001_time.txt").write_text("0.1\n" * 6), "6 lines"),
])
def test_broken_results_folder_is_rejected_clearly(tmp_path, breakage, message):
    seq_dir = tmp_path / "results" / "t" / "got10k-test"
    write_results(seq_dir, GOT)
    breakage(seq_dir)
    before = {p.name: p.read_bytes() for p in seq_dir.iterdir()}
    out = tmp_path / "sub" / "t.zip"
    with pytest.raises((InputError, MissingDataError)) as err:
        pack_submission(make_split("got10k", GOT), seq_dir, out)
    assert message in str(err.value)
    assert not out.exists() and not out.with_name("t.zip.tmp").exists()
    assert {p.name: p.read_bytes() for p in seq_dir.iterdir()} == before


def test_refuses_partial_split_and_zip_inside_raw_results(tmp_path):
    seq_dir = tmp_path / "r"
    write_results(seq_dir, TN)
    split = make_split("trackingnet", TN)
    with pytest.raises(ConfigError, match="outside the raw results"):
        pack_submission(split, seq_dir, seq_dir / "x.zip")
    split.missing = ["zzz"]
    split.expected = 3
    with pytest.raises(MissingDataError, match="whole split"):
        pack_submission(split, seq_dir, tmp_path / "x.zip")
    with pytest.raises(ConfigError, match="no submission format"):
        pack_submission(make_split("lasot", TN), seq_dir, tmp_path / "x.zip")


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return path


def test_validator_catches_foreign_zip_problems(tmp_path):
    fmt = FORMATS["trackingnet"]
    expected = {"a": 2, "b": 3}
    good = {"a.txt": "1,2,3,4\n5,6,7,8\n", "b.txt": "1,2,3,4\n" * 3}
    assert validate_submission(_zip(tmp_path / "ok.zip", good), expected, fmt).frames == 5
    mac = {**good, "__MACOSX/._a.txt": "junk", ".DS_Store": "junk"}
    assert validate_submission(_zip(tmp_path / "mac.zip", mac), expected, fmt).frames == 5
    with pytest.raises(InputError, match="1 of 2 sequences incomplete"):
        validate_submission(_zip(tmp_path / "m.zip", {"a.txt": good["a.txt"]}), expected, fmt)
    with pytest.raises(InputError, match="unexpected entries"):
        validate_submission(_zip(tmp_path / "s.zip", {**good, "tracker/a.txt": "x"}), expected, fmt)
    with pytest.raises(InputError, match=r"b\.txt:3"):
        validate_submission(_zip(tmp_path / "n.zip", {**good, "b.txt": "1,2,3,4\n1,2,3,4\n1,2,inf,4\n"}),
                            expected, fmt)
    with pytest.raises(InputError, match="expected 4 comma-separated"):
        validate_submission(_zip(tmp_path / "f.zip", {**good, "a.txt": "1,2,3\n1,2,3,4\n"}), expected, fmt)
    (tmp_path / "bad.zip").write_text("not a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        validate_submission(tmp_path / "bad.zip", expected, fmt)


def test_got10k_validator_accepts_repetitions_and_checks_them(tmp_path):
    fmt = FORMATS["got10k"]
    good = {"s/s_001.txt": "1,2,3,4\n" * 3, "s/s_time.txt": "0.1\n" * 3, "s/s_002.txt": "1,2,3,4\n" * 3}
    assert validate_submission(_zip(tmp_path / "ok.zip", good), {"s": 3}, fmt).frames == 3
    with pytest.raises(InputError, match=r"s_003\.txt.*2 lines"):
        validate_submission(_zip(tmp_path / "bad.zip", {**good, "s/s_003.txt": "1,2,3,4\n" * 2}), {"s": 3}, fmt)
    with pytest.raises(InputError, match=r"s_time\.txt:2: time must be"):
        validate_submission(_zip(tmp_path / "t.zip", {**good, "s/s_time.txt": "0.1\n-1\n0.1\n"}), {"s": 3}, fmt)
