"""Issue 11, results side: caches keyed on content, archives refused or capped, CSV cells
neutralised, options validated, and no numbers served from stale or mismatched files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from mfv2bench.datasets.base import DatasetSplit, Sequence
from mfv2bench.metrics.analysis import analyze_store
from mfv2bench.results import readers
from mfv2bench.results.readers import (CACHE_NAME, LABEL_CACHE_NAME, read_box_files,
                                       read_label_files, read_results)

GT = np.array([[10.0, 20, 30, 40], [11, 21, 31, 41], [12, 22, 32, 42], [13, 23, 33, 43]])


def _rows(path: Path, rows: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(f"{int(v)}" for v in r) + "\n" for r in rows))
    return path


def _same_size_and_mtime_edit(path: Path, rows: np.ndarray) -> None:
    """Rewrite ``path`` with other boxes of the same text length and put its mtime back."""
    st = os.stat(path)
    _rows(path, rows)
    assert os.stat(path).st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# -- caches keyed on content ----------------------------------------------------------------------

def test_parse_cache_sees_an_edit_that_keeps_size_and_mtime(tmp_path: Path) -> None:
    f = _rows(tmp_path / "a.txt", GT)
    np.testing.assert_array_equal(read_box_files([f])[0], GT)
    _same_size_and_mtime_edit(f, GT + 1)
    np.testing.assert_array_equal(read_box_files([f])[0], GT + 1)


def test_settled_files_are_not_rehashed_and_a_later_edit_still_shows(tmp_path: Path,
                                                                    monkeypatch) -> None:
    monkeypatch.setattr(readers, "RACY_NS", 0)  # treat files as settled at once
    f = _rows(tmp_path / "a.txt", GT)
    time.sleep(0.05)  # past the coarse clock tick of the write
    read_box_files([f])
    with monkeypatch.context() as m:  # proven unchanged by its stat record: not even hashed
        m.setattr(readers, "content_digest", lambda b: pytest.fail("hashed a settled file"))
        np.testing.assert_array_equal(read_box_files([f])[0], GT)
    time.sleep(0.05)
    _same_size_and_mtime_edit(f, GT + 2)  # ctime moves: the record no longer proves anything
    np.testing.assert_array_equal(read_box_files([f])[0], GT + 2)


def test_same_bytes_with_new_times_reuse_the_parsed_array(tmp_path: Path, monkeypatch) -> None:
    f = _rows(tmp_path / "a.txt", GT)
    read_box_files([f])
    os.utime(f, ns=(1, 10**18))
    os.chmod(f, 0o600)
    monkeypatch.setattr(readers, "parse_many", lambda *a, **k: pytest.fail("parsed again"))
    np.testing.assert_array_equal(read_box_files([f])[0], GT)


def test_label_cache_sees_an_edit_that_keeps_size_and_mtime(tmp_path: Path) -> None:
    f = tmp_path / "absent.txt"
    f.write_text("0\n0\n1\n0\n")
    np.testing.assert_array_equal(read_label_files([f])[0], [0, 0, 1, 0])
    st = os.stat(f)
    f.write_text("1\n0\n0\n0\n")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    np.testing.assert_array_equal(read_label_files([f])[0], [1, 0, 0, 0])
    assert (tmp_path / LABEL_CACHE_NAME).is_file()


def test_old_size_mtime_cache_is_not_trusted(tmp_path: Path) -> None:
    """A cache written by the size+mtime scheme (version 1) is rebuilt, not read."""
    f = _rows(tmp_path / "a.txt", GT)
    read_box_files([f])
    import io
    import json
    st = os.stat(f)
    index = {"version": 1, "files": {"a.txt": {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                               "offset": 0, "rows": 4}}}
    buf = io.BytesIO()
    np.savez(buf, data=np.zeros((4, 4)), index=np.frombuffer(json.dumps(index).encode(),
                                                            dtype=np.uint8))
    (tmp_path / CACHE_NAME).write_bytes(buf.getvalue())
    np.testing.assert_array_equal(read_box_files([f])[0], GT)


def _split(names: list[str], dataset: str = "lasot", split: str = "test") -> DatasetSplit:
    seqs = [Sequence(name=n, dataset=dataset, split=split, frames=[], gt=GT.copy(),
                     visible=np.ones(4, dtype=bool), cover=np.full(4, 8.0),
                     image_size=(640, 480)) for n in names]
    return DatasetSplit(dataset, split, Path("."), seqs, expected=len(seqs))


def test_score_cache_sees_an_edit_that_keeps_size_and_mtime(tmp_path: Path) -> None:
    res = tmp_path / "results"
    folder = res / "trk" / "lasot-test"
    f = _rows(folder / "s1.txt", GT)
    split = _split(["s1"])
    first = analyze_store(split, ["trk"], res, "mixformerv2", pairwise=False)
    assert first.score("trk", "auc") == pytest.approx(1.0, abs=0.06)
    assert list(folder.glob(".mfv2bench-scores-*"))
    far = GT.copy()
    far[:, :2] += 50  # same digit counts: 10..13 -> 60..63, 20..23 -> 70..73
    _same_size_and_mtime_edit(f, far)
    second = analyze_store(split, ["trk"], res, "mixformerv2", pairwise=False)
    assert second.score("trk", "auc") < first.score("trk", "auc") - 0.5


def test_score_cache_sees_a_time_file_edit(tmp_path: Path) -> None:
    res = tmp_path / "results"
    folder = res / "trk" / "got10k-val"
    _rows(folder / "s1.txt", GT)
    t = folder / "s1_time.txt"
    t.write_text("0.5\n0.5\n0.5\n0.5\n")
    split = _split(["s1"], "got10k", "val")
    a = analyze_store(split, ["trk"], res, "got10k-val", pairwise=False)
    st = os.stat(t)
    t.write_text("0.1\n0.1\n0.1\n0.1\n")
    os.utime(t, ns=(st.st_atime_ns, st.st_mtime_ns))
    b = analyze_store(split, ["trk"], res, "got10k-val", pairwise=False)
    assert a.overall["trk"].speed_fps == pytest.approx(2.0)
    assert b.overall["trk"].speed_fps == pytest.approx(10.0)


def test_zip_results_signature_follows_content(tmp_path: Path) -> None:
    import zipfile
    z = tmp_path / "r.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("s1.txt", "1,2,3,4\n")
    sig1 = readers.locate_results(z, ["s1"]).signature()
    st = os.stat(z)
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("s1.txt", "1,2,3,5\n")
    os.utime(z, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert readers.locate_results(z, ["s1"]).signature() != sig1
    np.testing.assert_array_equal(read_results(z, ["s1"])["s1"].boxes, [[1, 2, 3, 5]])
