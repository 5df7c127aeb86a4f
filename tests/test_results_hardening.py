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


# -- archives: duplicates refused, size and member caps, errors name archive:member:line ----------

import io  # noqa: E402
import tarfile  # noqa: E402
import warnings  # noqa: E402
import zipfile  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from mfv2bench.cli import main  # noqa: E402
from mfv2bench.datasets.registry import load_split  # noqa: E402
from mfv2bench.errors import ConfigError, InputError  # noqa: E402
from mfv2bench.results.importer import SplitSequences, extract_archive, import_results  # noqa: E402
from mfv2bench.submit import FORMATS, validate_submission  # noqa: E402
from mfv2bench.workspace import load_workspace  # noqa: E402
from runner_helpers import make_synthetic  # noqa: E402


def _shape(ws: Path) -> SplitSequences:
    data = load_split("synthetic-lasot", workspace=load_workspace(ws), allow_partial=True)
    return SplitSequences(data.dataset, data.split, data.key,
                          {s.name: s.n_frames for s in data.sequences}, data.expected,
                          tuple(data.missing))


def _good_lines(n: int) -> str:
    return "".join(f"{10 + i},20,30,40\n" for i in range(n))


def _zip(path: Path, members: list[tuple[str, str]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name" is what we build on purpose
        with zipfile.ZipFile(path, "w") as zf:
            for name, text in members:
                zf.writestr(name, text)
    return path


def test_zip_with_a_member_twice_is_refused_on_import(workspace, tmp_path):
    make_synthetic(workspace, "lasot", n_sequences=2, n_frames=5)
    shape = _shape(workspace)
    seqs = list(shape.lengths)
    z = _zip(tmp_path / "dup.zip", [(f"{s}.txt", _good_lines(5)) for s in seqs]
             + [(f"{seqs[0]}.txt", _good_lines(5).replace("10,", "99,"))])
    with pytest.raises(InputError, match=r"dup\.zip.*appears more than once"):
        import_results(z, "t", shape, workspace / "results")
    assert not (workspace / "results" / "t").exists()


def test_tar_with_a_member_twice_is_refused(tmp_path):
    t = tmp_path / "dup.tar"
    with tarfile.open(t, "w") as tf:
        for text in ("1,2,3,4\n", "5,6,7,8\n"):
            info = tarfile.TarInfo("a/s.txt")
            info.size = len(text)
            tf.addfile(info, io.BytesIO(text.encode()))
    with pytest.raises(InputError, match="appears more than once"):
        extract_archive(t, tmp_path / "out")


def test_results_zip_with_a_member_twice_is_refused_by_the_reader(tmp_path):
    z = _zip(tmp_path / "r.zip", [("s1.txt", "1,2,3,4\n"), ("s1.txt", "5,6,7,8\n")])
    with pytest.raises(InputError, match=r"r\.zip.*'s1\.txt' appears more than once"):
        read_results(z, ["s1"])


def test_submission_zip_with_a_member_twice_is_refused(tmp_path):
    z = _zip(tmp_path / "sub.zip", [("s1.txt", "1,2,3,4\n"), ("s1.txt", "1,2,3,4\n")])
    with pytest.raises(InputError, match="appears more than once"):
        validate_submission(z, {"s1": 1}, FORMATS["trackingnet"])


def test_submission_member_far_too_big_is_refused_unread(tmp_path):
    z = tmp_path / "big.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("s1.txt", "1,2,3,4\n" * 200_000)
    with pytest.raises(InputError, match=r"big\.zip!s1\.txt: 1,600,000 bytes for 2 frames"):
        validate_submission(z, {"s1": 2}, FORMATS["trackingnet"])


def test_archive_over_the_byte_cap_is_refused_naming_it(tmp_path):
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("s1.txt", "0" * 2_000_000)  # compresses to a few KB
    with pytest.raises(InputError, match=r"bomb\.zip: archive would extract to 2,000,000 bytes"):
        extract_archive(z, tmp_path / "out", max_bytes=1_000_000)
    assert not (tmp_path / "out" / "s1.txt").exists()


def test_archive_over_the_member_cap_is_refused(tmp_path):
    z = _zip(tmp_path / "many.zip", [(f"f{i}.txt", "") for i in range(30)])
    with pytest.raises(InputError, match=r"many\.zip: archive has more than 10 members"):
        extract_archive(z, tmp_path / "out", max_members=10)
    t = tmp_path / "many.tar"
    with tarfile.open(t, "w") as tf:
        for i in range(30):
            tf.addfile(tarfile.TarInfo(f"f{i}.txt"), io.BytesIO(b""))
    with pytest.raises(InputError, match="more than 10 members"):
        extract_archive(t, tmp_path / "out2", max_members=10)


@pytest.mark.parametrize("args, message", [
    (["--max-bytes", "lots"], "--max-bytes 'lots': expected a size"),
    (["--max-bytes", "0"], "--max-bytes '0': expected a size"),
    (["--max-bytes", "-5MB"], "expected a size"),
    (["--max-bytes", "nan"], "expected a size"),
    (["--max-members", "0"], "'--max-members': 0 is not >= 1"),
    (["--max-bytes", "1KB"], "archive would extract to"),
    (["--as", ""], "'--as': must not be empty"),
    (["--as", "../escape"], "a tracker name is one folder name"),
])
def test_import_cli_caps_and_names_are_checked(workspace, tmp_path, args, message):
    make_synthetic(workspace, "lasot", n_sequences=2, n_frames=5)
    seqs = list(_shape(workspace).lengths)
    z = _zip(tmp_path / "ok.zip", [(f"{s}.txt", _good_lines(5) * 10) for s in seqs])
    base = ["results", "import", str(z), "-d", "synthetic-lasot"]
    if "--as" not in args:
        base += ["--as", "t"]
    res = CliRunner().invoke(main, base + args)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_import_error_in_a_zip_member_names_archive_member_and_line(workspace, tmp_path):
    make_synthetic(workspace, "lasot", n_sequences=2, n_frames=5)
    shape = _shape(workspace)
    seqs = list(shape.lengths)
    bad = "1,2,3,4\n1,2,3,4\n1,2,x,4\n1,2,3,4\n1,2,3,4\n"
    z = _zip(tmp_path / "pub.zip", [(f"TransT/lasot/{seqs[0]}.txt", _good_lines(5)),
                                    (f"TransT/lasot/{seqs[1]}.txt", bad)])
    with pytest.raises(InputError) as err:
        import_results(z, "t", shape, workspace / "results")
    text = str(err.value)
    assert text.startswith(f"{z}:TransT/lasot/{seqs[1]}.txt:3: "), text
    assert "mfv2bench-import-" not in text
    short = _zip(tmp_path / "short.zip", [(f"{seqs[0]}.txt", _good_lines(5)),
                                          (f"{seqs[1]}.txt", _good_lines(3))])
    with pytest.raises(InputError) as err:
        import_results(short, "t", shape, workspace / "results")
    assert f"{short}:{seqs[1]}.txt:4: result has 3 rows" in str(err.value)


def test_results_zip_read_for_analysis_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_ARCHIVE_BYTES", 1000)
    z = tmp_path / "big.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("s1.txt", "1,2,3,4\n" * 500)
    with pytest.raises(InputError, match=r"big\.zip: zip holds 1 members, 4,000 bytes unpacked"):
        read_results(z, ["s1"])


@pytest.mark.parametrize("args", [
    ["results", "list", "--results", ""],
    ["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--results", " "],
    ["analyze", "--dataset", "synthetic-lasot", "--trackers", "a", "--root", ""],
    ["report", "--dataset", "synthetic-lasot", "--trackers", "a", "--out", ""],
    ["leaderboard", "--dataset", "lasot", "--out", ""],
    ["submit", "--dataset", "synthetic-got10k", "--tracker", "a", "--out", ""],
    ["results", "import", ".", "--as", "x", "-d", "synthetic-lasot", "--root", ""],
])
def test_empty_option_values_are_refused_not_read_as_default(workspace, args):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert "is empty (leave it out for the default)" in res.output
    assert len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["report", "--dataset", "synthetic-lasot", "--trackers", "a", "--title", ""],
     "'--title': must not be empty"),
    (["submit", "--dataset", "synthetic-got10k", "--tracker", ""], "'--tracker': must not be empty"),
    (["submit", "--dataset", " ", "--tracker", "a"], "'--dataset': must not be empty"),
    (["results", "import", ".", "--as", " ", "-d", "synthetic-lasot"], "'--as': must not be empty"),
])
def test_empty_names_are_refused_by_the_shared_option_type(workspace, args, message):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and message in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1


def test_short_result_with_a_blank_line_is_reported_at_that_line(tmp_path):
    """A blank line inside a result stands for a lost frame: the error names its own line."""
    from mfv2bench.errors import InputError
    from mfv2bench.results.readers import read_results

    (tmp_path / "seq.txt").write_text("1,2,3,4\n1,2,3,4\n\n1,2,3,4\n")
    with pytest.raises(InputError) as exc:
        read_results(tmp_path, {"seq": 4}, cache=False, times=False)
    assert exc.value.line == 3 and "empty line" in str(exc.value)
    (tmp_path / "seq.txt").write_text("1,2,3,4\n1,2,3,4\n1,2,3,4\n\n")
    with pytest.raises(InputError) as exc:
        read_results(tmp_path, {"seq": 4}, cache=False, times=False)
    assert exc.value.line == 4 and "never padded" in str(exc.value)
