"""Issue 11, data-set side: nothing lost (synth never overwrites a root it did not write), no
path derived from a sequence name leaves the data root, and every bad input file is one
``InputError`` line naming the file (and line) instead of a traceback or a silent wrong value."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.images import read_rgb
from mfv2bench.datasets.listing import check_root, contained_path
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.splits import read_attributes_csv, read_list_file
from mfv2bench.datasets.synthetic import MARKER, ensure_synthetic, read_marker, write_synthetic
from mfv2bench.errors import ConfigError, InputError

SMALL = dict(n_frames=3, size=(48, 48))


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert "\n" not in text and text.startswith("error: ") and "Traceback" not in text, text
    for n in needles:
        assert n in text, text


# ================================================================== synth: nothing is lost

def test_synth_writes_a_marker_with_its_parameters(tmp_path):
    names = write_synthetic("got10k", tmp_path / "g", n_sequences=2, seed=3, **SMALL)
    marker = read_marker(tmp_path / "g")
    assert marker is not None and marker["format"] == "got10k" and marker["seed"] == 3
    assert marker["n_sequences"] == 2 and marker["size"] == [48, 48] and marker["names"] == names
    assert set(marker["entries"]) == {"val"} and "state" not in marker
    assert not [p for p in tmp_path.iterdir() if "mfv2bench-tmp" in p.name]


def test_synth_refuses_a_non_empty_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    before = _digest(out)
    with pytest.raises(InputError, match="did not write.*--force"):
        write_synthetic("lasot", out, **SMALL)
    assert _digest(out) == before
    # --force writes beside the foreign file and keeps it
    write_synthetic("lasot", out, force=True, **SMALL)
    assert (out / "thesis.tex").read_text() == "years of work"
    assert read_marker(out) is not None and len(load_split("synthetic-lasot", root=out)) == 6


def _real_lasot_with_lists(root: Path) -> None:
    write_synthetic("lasot", root, n_sequences=2, **SMALL)
    (root / MARKER).unlink()


def _real_lasot_without_lists(root: Path) -> None:
    _real_lasot_with_lists(root)
    for f in ("testing_set.txt", "training_set.txt", "attributes.csv"):
        (root / f).unlink()


def _real_got10k(root: Path) -> None:
    write_synthetic("got10k", root, n_sequences=1, **SMALL)
    (root / MARKER).unlink()


def _real_trackingnet(root: Path) -> None:
    write_synthetic("trackingnet", root, n_sequences=1, **SMALL)
    (root / MARKER).unlink()


def _real_got10k_train_without_list(root: Path) -> None:
    _real_got10k(root)
    (root / "val").rename(root / "train")
    (root / "train" / "list.txt").unlink()


@pytest.mark.parametrize("make", [_real_lasot_with_lists, _real_lasot_without_lists, _real_got10k,
                                  _real_trackingnet, _real_got10k_train_without_list])
@pytest.mark.parametrize("force", [False, True])
def test_synth_never_writes_into_a_real_data_set(tmp_path, make, force):
    root = tmp_path / "data"
    make(root)
    before = _digest(root)
    with pytest.raises(InputError, match="refused even with --force"):
        write_synthetic("lasot", root, force=force, **SMALL)
    assert _digest(root) == before


def test_synth_rewrites_its_own_root_without_stale_files(tmp_path):
    root = tmp_path / "syn"
    first = write_synthetic("lasot", root, n_sequences=4, n_frames=6, size=(48, 48), seed=0)
    (root / "notes.md").write_text("kept")  # a file the generator did not write is kept
    second = write_synthetic("lasot", root, n_sequences=1, n_frames=3, size=(48, 48), seed=1)
    split = load_split("synthetic-lasot", root=root)
    assert [s.name for s in split] == second and split.sequences[0].n_frames == 3
    assert (root / "testing_set.txt").read_text().split() == second
    gone = {n.split("-")[0] for n in first} - {n.split("-")[0] for n in second}
    assert gone and not any((root / c).exists() for c in gone)
    img = root / second[0].split("-")[0] / second[0] / "img"
    assert sorted(os.listdir(img)) == ["00000001.jpg", "00000002.jpg", "00000003.jpg"]
    assert (root / "notes.md").read_text() == "kept"
    assert read_marker(root)["names"] == second
    # same parameters, same bytes as a fresh root (the marker included)
    fresh = tmp_path / "fresh"
    write_synthetic("lasot", fresh, n_sequences=1, n_frames=3, size=(48, 48), seed=1)
    (root / "notes.md").unlink()
    assert _digest(root) == _digest(fresh)


def test_synth_refuses_its_own_root_when_files_were_added_to_it(tmp_path):
    root = tmp_path / "syn"
    names = write_synthetic("lasot", root, n_sequences=1, **SMALL)
    cls = names[0].split("-")[0]
    (root / cls / f"{cls}-99").mkdir()
    (root / cls / f"{cls}-99" / "groundtruth.txt").write_text("1,2,3,4\n")
    before = _digest(root)
    for force in (False, True):
        with pytest.raises(InputError, match="more than the .* mfv2bench wrote"):
            write_synthetic("lasot", root, force=force, **SMALL)
    assert _digest(root) == before


def test_synth_bad_targets_and_parameters_leave_nothing(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        write_synthetic("lasot", tmp_path / "file", **SMALL)
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    with pytest.raises(InputError, match="symbolic-link loop"):
        write_synthetic("lasot", tmp_path / "loop", **SMALL)
    with pytest.raises(ConfigError):
        write_synthetic("lasot", tmp_path / "new", n_frames=(5, 2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "loop"]


def test_synth_interrupted_install_is_still_recognised(tmp_path, monkeypatch):
    root = tmp_path / "syn"
    write_synthetic("got10k", root, n_sequences=1, **SMALL)
    import mfv2bench.datasets.synthetic as synthetic

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic.os, "rename", crash)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic("got10k", root, n_sequences=2, splits=["val", "test"], **SMALL)
    monkeypatch.undo()
    assert read_marker(root)["state"] == "installing"
    assert not [p for p in tmp_path.iterdir() if "mfv2bench-tmp" in p.name]
    names = write_synthetic("got10k", root, n_sequences=2, splits=["val", "test"], **SMALL)
    assert len(names) == 4 and "state" not in read_marker(root)


def test_ensure_synthetic_and_the_demo_root_keep_working(tmp_path):
    root = tmp_path / "datasets" / "synthetic" / "lasot"
    assert ensure_synthetic("lasot", root, n_sequences=2, **SMALL) is True
    assert ensure_synthetic("lasot", root, n_sequences=2, **SMALL) is False
    write_synthetic("lasot", root, n_sequences=3, **SMALL)  # its own root: rewritten
    assert len(load_split("synthetic-lasot", root=root)) == 3


def test_cli_synth_refusal_and_force(workspace):
    out = workspace / "notes"
    out.mkdir()
    (out / "a.txt").write_text("mine")
    args = ["datasets", "synth", "--format", "trackingnet", "--out", str(out), "--sequences", "1",
            "--frames", "3", "--size", "48x48"]
    _one_line_error(_cli(*args), "did not write", "--force", str(out))
    assert sorted(os.listdir(out)) == ["a.txt"]
    r = _cli(*args, "--force")
    assert r.exit_code == 0, r.output
    assert (out / "a.txt").read_text() == "mine" and (out / MARKER).is_file()
    assert _cli(*args).exit_code == 0  # now it is synth's own root
    real = workspace / "real"
    _real_got10k(real)
    _one_line_error(_cli(*args[:5], str(real), "--force"), "refused even with --force")


# ================================================================== no path leaves the root

def test_contained_path_unit():
    assert contained_path("/data", ("cat", "cat-1")) == "/data/cat/cat-1"
    for parts in [("..", "..-1"), (".", ".-1"), ("", "-1"), ("a/b", "x"), ("/etc", "x"),
                  ("~root", "x"), ("C:", "x"), ("a\\..", "x"), ("a\x00", "x")]:
        with pytest.raises(InputError, match="not a plain path inside the data root"):
            contained_path("/data", parts, "/data/list.txt", 3)


@pytest.mark.parametrize("bad", ["..-1", ".-1", "-1"])
def test_lasot_class_folder_cannot_leave_the_root(tmp_path, bad):
    root = tmp_path / "root"
    (name,) = write_synthetic("lasot", root, n_sequences=1, **SMALL)
    # a complete sequence where the bad name points (outside the root for '..-1')
    shutil.copytree(root / name.split("-")[0] / name, root / bad.split("-")[0] / bad)
    (root / "testing_set.txt").write_text("\n" + bad + "\n")
    with pytest.raises(InputError) as info:
        load_split("synthetic-lasot", root=root)
    assert str(info.value).startswith(f"{root / 'testing_set.txt'}:2: ")
    with pytest.raises(InputError, match="testing_set.txt:2"):
        load_split("synthetic-lasot", root=root, allow_partial=True)


@pytest.mark.parametrize("bad", ["../x", "/abs", "..", ".", "a\\b", "~user", "C:x", "a\x00b"])
def test_list_names_with_separators_or_dots_are_refused(tmp_path, bad):
    root = tmp_path / "g"
    write_synthetic("got10k", root, n_sequences=1, **SMALL)
    (root / "val" / "list.txt").write_text("GOT-10k_Val_000001\n" + bad + "\n")
    with pytest.raises(InputError, match=r"list\.txt:2: .*not a plain folder name"):
        load_split("synthetic-got10k", root=root)


def test_trackingnet_annotation_stems_cannot_escape(tmp_path):
    root = tmp_path / "t"
    write_synthetic("trackingnet", root, n_sequences=1, **SMALL)
    (root / "TEST" / "anno" / "..txt").write_text("1,2,3,4\n")
    with pytest.raises(InputError, match="not a plain folder name"):
        load_split("synthetic-trackingnet", root=root)


def test_attribute_table_names_are_checked(tmp_path):
    p = tmp_path / "attributes.csv"
    p.write_text("sequence,IV\ncat-1,0\n../x-1,1\n")
    with pytest.raises(InputError, match=r"attributes\.csv:3: "):
        read_attributes_csv(p)


def test_cli_loader_error_is_one_line(workspace):
    root = workspace / "syn"
    write_synthetic("lasot", root, n_sequences=1, **SMALL)
    (root / "testing_set.txt").write_text("..-1\n")
    _one_line_error(_cli("datasets", "inspect", "synthetic-lasot", "--root", str(root)),
                    "testing_set.txt:1:", "not a plain path inside the data root")


# ================================================================== one clear line, not a traceback

def test_data_root_symlink_loop(tmp_path):
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    with pytest.raises(InputError, match="symbolic-link loop"):
        load_split("synthetic-lasot", root=tmp_path / "loop")
    with pytest.raises(InputError, match="symbolic-link loop"):
        check_root(tmp_path / "loop")


@pytest.fixture
def got_seq(tmp_path):
    root = tmp_path / "g"
    write_synthetic("got10k", root, n_sequences=1, n_frames=4, size=(48, 48))
    return root, root / "val" / "GOT-10k_Val_000001"


@pytest.mark.parametrize("value", ["(1e999, 1080)", "(nan, 3)", "(inf, 3)", "(-1, 3)", "(0, 5)",
                                   "(1.5, 2)", "(True, 2)", "xyz", "(10**100, 2)", "(1,)",
                                   "(100001, 5)", "", "(1920, 1080, 3)"])
def test_got10k_bad_resolution(got_seq, value):
    root, seq = got_seq
    ini = seq / "meta_info.ini"
    text = ini.read_text()
    ini.write_text(text.replace("resolution: (48, 48)", f"resolution: {value}"))
    line = 1 + text.splitlines().index("resolution: (48, 48)")
    with pytest.raises(InputError) as info:
        load_split("synthetic-got10k", root=root)
    assert str(info.value).startswith(f"{ini}:{line}: resolution")


def test_got10k_good_resolution_spellings(got_seq):
    root, seq = got_seq
    ini = seq / "meta_info.ini"
    ini.write_text(ini.read_text().replace("resolution: (48, 48)", "resolution: ( 1920 ,1080 )"))
    assert load_split("synthetic-got10k", root=root).sequences[0].image_size == (1920, 1080)


@pytest.mark.parametrize("label,body,line", [
    ("absence", "0\n\n0\n0\n", 2), ("absence", "0\nx\n0\n0\n", 2), ("absence", "0\n-1\n0\n0\n", 2),
    ("absence", "0\n0\n2\n0\n", 3), ("absence", "0\n99999999999999999999999\n0\n0\n", 2),
    ("absence", "0\n1e30\n0\n0\n", 2), ("absence", "0\nnan\n0\n0\n", 2),
    ("cover", "8\n9\n8\n8\n", 2), ("cover", "8\n8\n8\n-1\n", 4), ("cover", "8\n\n8\n8\n", 2),
    ("cover", "8\n8\n1e999\n8\n", 3), ("cut_by_image", "0\n0\n0\n3\n", 4),
])
def test_got10k_bad_label_line(got_seq, label, body, line):
    root, seq = got_seq
    (seq / f"{label}.label").write_text(body)
    with pytest.raises(InputError) as info:
        load_split("synthetic-got10k", root=root)
    assert str(info.value).startswith(f"{seq / (label + '.label')}:{line}: ")


def test_got10k_label_count_names_the_file(got_seq):
    root, seq = got_seq
    (seq / "cover.label").write_text("8\n8\n")
    with pytest.raises(InputError, match="cover.label: 2 labels but 4 frames"):
        load_split("synthetic-got10k", root=root)


def _blank_in_middle(path: Path) -> None:
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n")


@pytest.mark.parametrize("fmt,split", [("lasot", "test"), ("got10k", "val"),
                                       ("trackingnet", "train_0")])
def test_blank_line_in_the_middle_of_an_annotation(tmp_path, fmt, split):
    write_synthetic(fmt, tmp_path, n_sequences=1, splits=[split], n_frames=4, size=(48, 48))
    gt = next(p for p in tmp_path.rglob("*.txt")
              if p.name == "groundtruth.txt" or p.parent.name == "anno")
    _blank_in_middle(gt)
    with pytest.raises(InputError) as info:
        load_split(f"synthetic-{fmt}-{split}", root=tmp_path)
    assert str(info.value).startswith(f"{gt}:2: ")


@pytest.fixture
def lasot_seq(tmp_path):
    names = write_synthetic("lasot", tmp_path, n_sequences=1, n_frames=4, size=(48, 48))
    return tmp_path, tmp_path / names[0].split("-")[0] / names[0]


@pytest.mark.parametrize("fname,body,needle", [
    ("full_occlusion.txt", "0,0,x,0\n", "full_occlusion.txt:1: flag #3"),
    ("out_of_view.txt", "0\n0\n2\n0\n", "out_of_view.txt:3: flag #3"),
    ("out_of_view.txt", "0,0,0\n", "out_of_view.txt: 3 flags but 4 frames"),
    ("full_occlusion.txt", b"\xff\xfe0,0\n", "full_occlusion.txt: flag file is not UTF-8"),
])
def test_lasot_visibility_files(lasot_seq, fname, body, needle):
    root, seq = lasot_seq
    p = seq / fname
    p.write_bytes(body) if isinstance(body, bytes) else p.write_text(body)
    with pytest.raises(InputError, match=needle.replace(".", r"\.").replace("#", "#")):
        load_split("synthetic-lasot", root=root)


def test_lasot_nlp_not_utf8_is_read_not_fatal(lasot_seq):
    root, seq = lasot_seq
    (seq / "nlp.txt").write_bytes(b"a \xff cat\n")
    assert "cat" in load_split("synthetic-lasot", root=root).sequences[0].meta["nlp"]


@pytest.mark.parametrize("body,needle", [
    (b"sequence,IV\ncat-1,0\ncat-1,1\n", r"attributes\.csv:3: sequence 'cat-1' has a second row"),
    (b"sequence,IV,IV\ncat-1,0,0\n", r"attributes\.csv:1: column\(s\) IV appear twice"),
    (b"sequence,IV\ncat-1,2\n", r"attributes\.csv:2: attribute IV is '2'"),
    (b"sequence,IV\ncat-1\n", r"attributes\.csv:2: 1 fields"),
    (b"sequence,IV\ncat-1,\x000\n", r"attributes\.csv:2: attribute IV is '\\x000'"),
    (b'sequence,IV\ncat-1,"' + b"0" * 200_000 + b'"\n',
     r"attributes\.csv:2: attribute table is not valid CSV"),
    (b"sequence,IV\n\xff-1,0\n", r"attributes\.csv: attribute table is not UTF-8"),
    (b"name,IV\n", r"attributes\.csv:1: attribute table must start"),
])
def test_attribute_table_errors(tmp_path, body, needle):
    p = tmp_path / "attributes.csv"
    p.write_bytes(body)
    with pytest.raises(InputError, match=needle):
        read_attributes_csv(p)


def test_lasot_root_attribute_table_error_through_the_loader(lasot_seq):
    root, _ = lasot_seq
    (root / "attributes.csv").write_bytes(b"sequence,IV\nx-1,0\nx-1,0\n")
    with pytest.raises(InputError, match=r"attributes\.csv:3: "):
        load_split("synthetic-lasot", root=root)


@pytest.mark.parametrize("body,needle", [
    (b"cat-1\n\xff\n", r"list\.txt: split list is not UTF-8"),
    (b"cat-1\n\ncat-1\n", r"list\.txt:3: sequence 'cat-1' listed twice"),
])
def test_list_file_errors(tmp_path, body, needle):
    p = tmp_path / "list.txt"
    p.write_bytes(body)
    with pytest.raises(InputError, match=needle):
        read_list_file(p)


def test_got10k_sequence_without_frames(got_seq):
    root, seq = got_seq
    shutil.rmtree(seq)
    seq.parent.joinpath(seq.name).mkdir()
    (seq / "groundtruth.txt").write_text("1,2,3,4\n")
    with pytest.raises(InputError, match="no .jpg frames"):
        load_split("synthetic-got10k", root=root)


def test_lasot_img_that_is_a_file(lasot_seq):
    root, seq = lasot_seq
    shutil.rmtree(seq / "img")
    (seq / "img").write_text("x")
    with pytest.raises(InputError, match="no img/ folder"):
        load_split("synthetic-lasot", root=root)


# ---------------------------------------------------------------- frames and images

def test_read_rgb_matches_opencv_and_accepts_padding(lasot_seq):
    root, _ = lasot_seq
    frame = load_split("synthetic-lasot", root=root).sequences[0].frames[0]
    want = cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(read_rgb(frame), want)
    padded = frame.parent / "padded.jpg"
    padded.write_bytes(frame.read_bytes() + b"\x00" * 100)
    np.testing.assert_array_equal(read_rgb(padded), want)


def _truncate(p: Path, dst: Path) -> Path:
    data = p.read_bytes()
    dst.write_bytes(data[: len(data) * 2 // 3])
    return dst


@pytest.mark.parametrize("case,needle", [
    ("missing", "image file not found"), ("empty", "empty file"),
    ("directory", "is a directory"), ("garbage", "not a decodable image"),
    ("truncated", "JPEG cut short"), ("fifo", "not a regular file"),
])
def test_read_rgb_bad_files_name_the_file(lasot_seq, case, needle):
    root, seq = lasot_seq
    frame = seq / "img" / "00000001.jpg"
    bad = seq / f"{case}.jpg"
    if case == "empty":
        bad.write_bytes(b"")
    elif case == "directory":
        bad.mkdir()
    elif case == "garbage":
        bad.write_bytes(b"\x89PNG not really")
    elif case == "truncated":
        _truncate(frame, bad)
    elif case == "fifo":
        os.mkfifo(bad)
    with pytest.raises(InputError) as info:
        read_rgb(bad)
    assert str(info.value).startswith(f"{bad}: ") and needle in str(info.value)


def test_missing_frame_during_a_run_names_the_file(lasot_seq):
    from mfv2bench.runner.sequence import FramePrefetcher

    root, seq = lasot_seq
    frames = load_split("synthetic-lasot", root=root).sequences[0].frames
    frames[2].unlink()
    with FramePrefetcher(frames) as it:
        with pytest.raises(InputError, match=f"{frames[2]}: image file not found"):
            list(it)


def test_marker_is_plain_json(tmp_path):
    write_synthetic("trackingnet", tmp_path / "t", n_sequences=1, **SMALL)
    data = json.loads((tmp_path / "t" / MARKER).read_text())
    assert data["written_by"] == "mfv2bench datasets synth" and data["format"] == "trackingnet"
