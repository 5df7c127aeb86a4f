"""Loaders on synthetic trees of the three real layouts, including each data set's quirks and
the bad-input errors (file and line named)."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from mfv2bench.datasets.frames import FrameList
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.splits import LASOT_ATTRIBUTES
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.errors import InputError, MissingDataError

DATA = Path(__file__).parent / "data" / "datasets"
SMALL = dict(n_sequences=4, n_frames=(8, 14), size=(96, 72), seed=3)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("trees")
    names = {}
    splits = {"lasot": None, "got10k": ["val", "test"], "trackingnet": ["test", "train_0"]}
    for fmt in ("lasot", "got10k", "trackingnet"):
        names[fmt] = write_synthetic(fmt, base / fmt, splits=splits[fmt], **SMALL)
    return base, names


def _copy(trees, fmt: str, tmp_path: Path) -> Path:
    base, _ = trees
    dst = tmp_path / fmt
    shutil.copytree(base / fmt, dst)
    return dst


# ---------------------------------------------------------------- LaSOT


def test_lasot_sequences_follow_layout(trees):
    base, names = trees
    split = load_split("synthetic-lasot", root=base / "lasot")
    assert split.key == "synthetic-lasot-test"
    assert [s.name for s in split] == names["lasot"]
    assert split.expected == len(names["lasot"]) and not split.partial
    for seq in split:
        cls = seq.name.split("-")[0]
        folder = base / "lasot" / cls / seq.name / "img"
        assert seq.frames[0] == folder / "00000001.jpg"
        assert list(seq.frames) == [folder / f"{i:08d}.jpg" for i in range(1, seq.n_frames + 1)]
        assert seq.gt.shape == (seq.n_frames, 4) and seq.gt.dtype == np.float64
        occ = np.loadtxt(folder.parent / "full_occlusion.txt", delimiter=",", ndmin=1)
        oov = np.loadtxt(folder.parent / "out_of_view.txt", delimiter=",", ndmin=1)
        np.testing.assert_array_equal(seq.visible, (occ == 0) & (oov == 0))
        assert seq.meta["class"] == cls and seq.meta["nlp"]
        assert set(seq.attributes) == set(LASOT_ATTRIBUTES)


def test_lasot_registry_name_with_root_list_and_all_split(trees):
    base, names = trees
    split = load_split("lasot", root=base / "lasot")
    assert split.key == "lasot-test" and len(split) == len(names["lasot"])
    every = load_split("synthetic-lasot-all", root=base / "lasot")
    assert every.split == "all" and len(every) == len(names["lasot"])  # train list is empty


def test_lasot_official_list_and_attribute_table(trees, tmp_path):
    """Without root list files the shipped official list is used; real test names get the 14
    attributes of the LaSOT toolkit table."""
    root = tmp_path / "lasot"
    first = load_split("synthetic-lasot", root=trees[0] / "lasot").sequences[0]
    src = trees[0] / "lasot" / first.name.split("-")[0] / first.name
    for real in ("airplane-1", "airplane-9"):
        dst = root / "airplane" / real
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst)
    with pytest.raises(MissingDataError, match=r"278 of 280 sequences of lasot-test are missing"):
        load_split("lasot", root=root)
    split = load_split("lasot", root=root, allow_partial=True)
    assert split.partial and split.expected == 280 and len(split.missing) == 278
    assert [s.name for s in split] == ["airplane-1", "airplane-9"]
    header, *rows = (DATA / "lasot_attributes_head.csv").read_text().splitlines()
    keys = header.split(",")[1:]
    for seq, row in zip(split, rows[:2]):
        name, *flags = row.split(",")
        assert seq.name == name
        assert seq.attributes == {k: int(v) for k, v in zip(keys, flags)}


def test_lasot_bad_gt_line_names_file_and_line(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    seq = load_split("synthetic-lasot", root=root).sequences[1]
    gt = root / seq.name.split("-")[0] / seq.name / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    lines[4] = "12,13,abc,4"
    gt.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        load_split("synthetic-lasot", root=root)
    assert err.value.path == gt and err.value.line == 5
    assert f"{gt}:5:" in str(err.value)


def test_lasot_frame_count_mismatch(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    seq = load_split("synthetic-lasot", root=root).sequences[0]
    img = root / seq.name.split("-")[0] / seq.name / "img"
    (img / f"{seq.n_frames:08d}.jpg").unlink()
    with pytest.raises(InputError, match=rf"{seq.n_frames} annotation line\(s\) but "
                                         rf"{seq.n_frames - 1} frame"):
        load_split("synthetic-lasot", root=root)


def test_missing_sequence_folders_counted_or_partial(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    names = trees[1]["lasot"]
    for name in names[:2]:
        shutil.rmtree(root / name.split("-")[0] / name)
    with pytest.raises(MissingDataError, match=rf"2 of {len(names)} sequences"):
        load_split("synthetic-lasot", root=root)
    split = load_split("synthetic-lasot", root=root, allow_partial=True)
    assert split.partial and split.missing == names[:2]
    assert [s.name for s in split] == names[2:]


def test_list_names_must_not_escape_root(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    for bad in ("../etc", "/abs/path", "a/b", ".."):
        (root / "testing_set.txt").write_text(f"{trees[1]['lasot'][0]}\n{bad}\n")
        with pytest.raises(InputError) as err:
            load_split("synthetic-lasot", root=root)
        assert err.value.line == 2 and err.value.path == root / "testing_set.txt"


def test_missing_root_is_clear(tmp_path):
    with pytest.raises(MissingDataError, match="root not found"):
        load_split("lasot", root=tmp_path / "nowhere")


def test_sequences_filter_and_unknown_name(trees):
    base, names = trees
    pick = [names["lasot"][2], names["lasot"][0]]
    split = load_split("synthetic-lasot", root=base / "lasot", sequences=pick)
    assert [s.name for s in split] == pick and split.expected == 2
    with pytest.raises(MissingDataError, match="not in synthetic-lasot-test"):
        load_split("synthetic-lasot", root=base / "lasot", sequences=["nosuch-1"])


# ---------------------------------------------------------------- GOT-10k


def test_got10k_val_labels_and_meta(trees):
    base, names = trees
    split = load_split("synthetic-got10k", root=base / "got10k")
    assert split.key == "synthetic-got10k-val"
    for seq in split:
        d = base / "got10k" / "val" / seq.name
        assert seq.frames[0] == d / "00000001.jpg"
        assert seq.gt.shape == (seq.n_frames, 4)
        absence = np.loadtxt(d / "absence.label", ndmin=1)
        cover = np.loadtxt(d / "cover.label", ndmin=1)
        np.testing.assert_array_equal(seq.cover, cover)
        np.testing.assert_array_equal(seq.visible, (absence == 0) & (cover > 0))
        assert seq.image_size == (96, 72)
        assert seq.meta["resolution"] == "(96, 72)" and "object_class" in seq.meta


def test_got10k_test_first_frame_only(trees):
    base, names = trees
    split = load_split("synthetic-got10k-test", root=base / "got10k")
    assert split.key == "synthetic-got10k-test"
    for seq in split:
        assert seq.gt.shape == (1, 4) and seq.n_frames > 1
        assert not seq.has_full_gt and seq.visible is None


def test_got10k_frames_sorted_numerically(trees, tmp_path):
    root = _copy(trees, "got10k", tmp_path)
    seq = load_split("synthetic-got10k", root=root).sequences[0]
    files = sorted(os.listdir(seq.frames.folder))
    assert [p.name for p in seq.frames] == [f for f in files if f.endswith(".jpg")]


def test_got10k_label_length_mismatch(trees, tmp_path):
    root = _copy(trees, "got10k", tmp_path)
    name = trees[1]["got10k"][0]
    label = root / "val" / name / "cover.label"
    label.write_text("".join(label.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(InputError, match="labels but") as err:
        load_split("synthetic-got10k", root=root)
    assert err.value.path == label


def test_got10k_real_meta_info_syntax():
    from mfv2bench.datasets.annotations import parse_resolution, read_meta_info

    meta = read_meta_info(DATA / "meta_info.ini")
    assert meta["object_class"] == "ctenophore" and meta["anno_fps"] == "10Hz"
    assert parse_resolution(meta["resolution"]) == (1920, 1080)


# ---------------------------------------------------------------- TrackingNet


def test_trackingnet_test_and_train_chunk(trees):
    base, names = trees
    test = load_split("synthetic-trackingnet", root=base / "trackingnet")
    assert test.key == "synthetic-trackingnet-test"
    assert [s.name for s in test] == sorted(s.name for s in test)
    assert any(s.name.startswith("-") for s in test)
    for seq in test:
        assert seq.gt.shape == (1, 4) and seq.meta["chunk"] == "TEST"
        assert seq.frames[0] == base / "trackingnet" / "TEST" / "frames" / seq.name / "0.jpg"
    train = load_split("synthetic-trackingnet-train_0", root=base / "trackingnet")
    assert train.key == "synthetic-trackingnet-train_0"
    assert all(s.gt.shape == (s.n_frames, 4) for s in train)
    whole = load_split("synthetic-trackingnet", "train", root=base / "trackingnet",
                       allow_partial=True)
    assert len(whole) == len(train) and len(whole.missing) == 11  # TRAIN_1..11 absent


def test_trackingnet_frames_sorted_numerically(trees):
    base, _ = trees
    train = load_split("synthetic-trackingnet-train_0", root=base / "trackingnet")
    seq = max(train, key=lambda s: s.n_frames)
    assert seq.n_frames > 10
    assert [p.name for p in seq.frames][:12] == [f"{i}.jpg" for i in range(12)]


def test_trackingnet_frame_gap_is_an_error(trees, tmp_path):
    root = _copy(trees, "trackingnet", tmp_path)
    name = sorted(os.listdir(root / "TRAIN_0" / "frames"))[0]
    os.rename(root / "TRAIN_0" / "frames" / name / "3.jpg",
              root / "TRAIN_0" / "frames" / name / "99.jpg")
    with pytest.raises(InputError, match="not numbered"):
        load_split("synthetic-trackingnet-train_0", root=root)


def test_trackingnet_official_test_list_counts_missing(trees, tmp_path):
    root = _copy(trees, "trackingnet", tmp_path)
    own = sorted(os.listdir(root / "TEST" / "frames"))[0]
    real = "YaXKZdSEwt4_0"  # first name of the official TEST list
    os.rename(root / "TEST" / "anno" / f"{own}.txt", root / "TEST" / "anno" / f"{real}.txt")
    os.rename(root / "TEST" / "frames" / own, root / "TEST" / "frames" / real)
    with pytest.raises(MissingDataError, match="510 of 511"):
        load_split("trackingnet", root=root)
    split = load_split("trackingnet", root=root, allow_partial=True)
    assert [s.name for s in split] == [real] and split.expected == 511


# ---------------------------------------------------------------- shared


def test_frame_list_behaves_as_list_and_pickles(trees):
    base, _ = trees
    seq = load_split("synthetic-lasot", root=base / "lasot").sequences[0]
    frames = seq.frames
    assert isinstance(frames, FrameList)
    as_list = list(frames)
    assert frames == as_list and frames[-1] == as_list[-1] and frames[1:3] == as_list[1:3]
    again = pickle.loads(pickle.dumps(seq))
    assert again.frames == frames and np.array_equal(again.gt, seq.gt)


def test_numbered_frame_list_matches_explicit_names(tmp_path):
    numbered = FrameList.numbered(tmp_path, "{:08d}.jpg", 1, 5)
    explicit = FrameList(tmp_path, [f"{i:08d}.jpg" for i in range(1, 6)])
    assert numbered == explicit and len(numbered) == 5
    assert numbered[0] == tmp_path / "00000001.jpg" and numbered[-1] == tmp_path / "00000005.jpg"
    assert numbered[1:4] == explicit[1:4] and numbered[::-2] == explicit[::-2]
    assert numbered.strings() == [str(p) for p in explicit]
    with pytest.raises(IndexError):
        numbered[5]
    assert pickle.loads(pickle.dumps(numbered)) == numbered


def test_lasot_stray_frame_name_is_named(trees, tmp_path):
    root = _copy(trees, "lasot", tmp_path)
    seq = load_split("synthetic-lasot", root=root).sequences[0]
    img = root / seq.name.split("-")[0] / seq.name / "img"
    os.rename(img / "00000002.jpg", img / "frame_2.jpg")
    with pytest.raises(InputError,
                       match=r"missing \['00000002.jpg'\], unexpected \['frame_2.jpg'\]") as err:
        load_split("synthetic-lasot", root=root)
    assert err.value.path == img
    os.rename(img / "frame_2.jpg", img / "00000002.jpg")
    (img / "Thumbs.db").write_bytes(b"")  # non-frame files beside the frames are ignored
    assert load_split("synthetic-lasot", root=root).sequences[0].n_frames == seq.n_frames


def test_got10k_unpadded_frames_sorted_by_number(trees, tmp_path):
    root = _copy(trees, "got10k", tmp_path)
    seq = load_split("synthetic-got10k", root=root).sequences[0]
    folder = seq.frames.folder
    for i in range(1, seq.n_frames + 1):
        os.rename(folder / f"{i:08d}.jpg", folder / f"{i}.jpg")
    again = load_split("synthetic-got10k", root=root).sequences[0]
    assert [p.name for p in again.frames] == [f"{i}.jpg" for i in range(1, seq.n_frames + 1)]


def test_got10k_readme_spelling_absense_label(trees, tmp_path):
    root = _copy(trees, "got10k", tmp_path)
    before = load_split("synthetic-got10k", root=root).sequences[0]
    d = root / "val" / before.name
    os.rename(d / "absence.label", d / "absense.label")
    after = load_split("synthetic-got10k", root=root).sequences[0]
    np.testing.assert_array_equal(after.meta["absence"], before.meta["absence"])
    np.testing.assert_array_equal(after.visible, before.visible)


def test_indexing_never_opens_or_stats_a_frame(trees, monkeypatch):
    """Only directory listings: no open(), os.open() or stat() of any .jpg while indexing."""
    import builtins
    import io

    touched: list[str] = []

    def guard(fn):
        def wrapped(path, *args, **kwargs):
            if str(path).endswith(".jpg"):
                touched.append(str(path))
            return fn(path, *args, **kwargs)
        return wrapped

    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(io, "open", guard(io.open))
    monkeypatch.setattr(os, "open", guard(os.open))
    monkeypatch.setattr(os, "stat", guard(os.stat))
    base, _ = trees
    total = 0
    for dataset, fmt in (("synthetic-lasot", "lasot"), ("synthetic-got10k", "got10k"),
                         ("synthetic-got10k-test", "got10k"),
                         ("synthetic-trackingnet", "trackingnet"),
                         ("synthetic-trackingnet-train_0", "trackingnet")):
        total += sum(s.n_frames for s in load_split(dataset, root=base / fmt))
    assert total > 0 and touched == []
