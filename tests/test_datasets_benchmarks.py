"""OTB-100, UAV123, NfS (30 fps), TNL2K and the generic custom layout: each loads its synthetic
tree and a hand-made tree with every quirk (frame lists and annotations compared with what the
toolkits' tables define), wrong roots say which layout was expected, analyze gives the numbers
of pytracking's analysis definitions on hand-computable inputs, and the leaderboard ranks local
results against each benchmark's published rows.

Expected values come from pytracking's tables (``pytracking/evaluation/{otb,uav,nfs}dataset.py``
@7eb9e74: frame ranges, omitted frames, annotation files), the got10k toolkit's readers (NfS
release annotations: columns 1..4 are corners; 240 fps rows keep every 8th), OSTrack's TNL2K
reader and pytracking's ``calc_seq_err_robust`` (dataset 'uav' and others). Image files are
empty where only the loaders look at them (no image is read while indexing).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mfv2bench import app
from mfv2bench.app.leaderboard import leaderboard
from mfv2bench.cli import main
from mfv2bench.datasets.registry import list_datasets, load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.errors import InputError, MissingDataError
from mfv2bench.leaderboard.published import load_published
from mfv2bench.metrics import analysis as analysis_module
from mfv2bench.metrics.protocols import get_protocol
from mfv2bench.workspace import load_workspace

RNG = np.random.default_rng(12)


def _touch(folder: Path, names) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"")


def _boxes(n: int) -> np.ndarray:
    b = RNG.integers(1, 300, size=(n, 4)).astype(np.float64)
    b[:, 2:] += 5
    return b


def _text(boxes: np.ndarray, sep: str = ",") -> str:
    return "".join(sep.join("NaN" if np.isnan(v) else str(int(v)) for v in r) + "\n"
                   for r in boxes)


def _frames(seq) -> list[str]:
    return [p.name for p in seq.frames]


# ------------------------------------------------------------------------------- OTB-100


@pytest.fixture(scope="module")
def otb_root(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """Eleven OTB sequences with every quirk of the release, laid out as downloaded."""
    root = tmp_path_factory.mktemp("otb")
    gt: dict[str, np.ndarray] = {}

    def seq(folder, images, anno, boxes, sep=","):
        _touch(root / folder / "img", images)
        (root / folder / anno).write_text(_text(boxes, sep))

    gt["David"] = _boxes(471)  # images 0001..0770, annotated 0300..0770
    seq("David", [f"{k:04d}.jpg" for k in range(1, 771)], "groundtruth_rect.txt", gt["David"])
    gt["BlurCar1"] = _boxes(742)  # the folder starts at 0247; tabs, one line with spaces
    seq("BlurCar1", [f"{k:04d}.jpg" for k in range(247, 989)], "groundtruth_rect.txt",
        gt["BlurCar1"], "\t")
    lines = (root / "BlurCar1" / "groundtruth_rect.txt").read_text().splitlines(True)
    lines[495] = lines[495].replace("\t", " ")
    (root / "BlurCar1" / "groundtruth_rect.txt").write_text("".join(lines))
    gt["Diving"] = _boxes(215)  # 231 images, 215 annotated
    seq("Diving", [f"{k:04d}.jpg" for k in range(1, 232)], "groundtruth_rect.txt", gt["Diving"])
    gt["Tiger1"] = _boxes(354)  # the first 5 frames are omitted
    seq("Tiger1", [f"{k:04d}.jpg" for k in range(1, 355)], "groundtruth_rect.txt", gt["Tiger1"])
    for folder, n in (("Jogging", 307), ("Skating2", 473)):  # two targets in one folder
        _touch(root / folder / "img", [f"{k:04d}.jpg" for k in range(1, n + 1)])
        for t in (1, 2):
            gt[f"{folder}_{t}"] = _boxes(n)
            (root / folder / f"groundtruth_rect.{t}.txt").write_text(_text(gt[f"{folder}_{t}"]))
    gt["Human4_2"] = _boxes(667)  # the .1 file is empty, .2 annotates
    seq("Human4", [f"{k:04d}.jpg" for k in range(1, 668)], "groundtruth_rect.2.txt",
        gt["Human4_2"])
    (root / "Human4" / "groundtruth_rect.1.txt").write_text("")
    gt["Board"] = _boxes(698)  # 5-digit frame names, last box 0,0,0,0, whitespace separated
    gt["Board"][-1] = 0
    seq("Board", [f"{k:05d}.jpg" for k in range(1, 699)], "groundtruth_rect.txt", gt["Board"],
        " ")
    gt["KiteSurf"] = _boxes(84)  # img/*.jpg (pytracking HEAD's table says jpg/*.png: #186)
    seq("KiteSurf", [f"{k:04d}.jpg" for k in range(1, 85)], "groundtruth_rect.txt",
        gt["KiteSurf"])
    return root, gt


OTB_EXPECTED = {  # name: (folder, digits, first, last, annotation rows used)
    "David": ("David", 4, 300, 770, slice(None)),
    "BlurCar1": ("BlurCar1", 4, 247, 988, slice(None)),
    "Diving": ("Diving", 4, 1, 215, slice(None)),
    "Tiger1": ("Tiger1", 4, 6, 354, slice(5, None)),
    "Jogging_1": ("Jogging", 4, 1, 307, slice(None)),
    "Jogging_2": ("Jogging", 4, 1, 307, slice(None)),
    "Skating2_1": ("Skating2", 4, 1, 473, slice(None)),
    "Skating2_2": ("Skating2", 4, 1, 473, slice(None)),
    "Human4_2": ("Human4", 4, 1, 667, slice(None)),
    "Board": ("Board", 5, 1, 698, slice(None)),
    "KiteSurf": ("KiteSurf", 4, 1, 84, slice(None)),
}


def test_otb_release_quirks(otb_root):
    root, gt = otb_root
    split = load_split("otb100", root=root, sequences=list(OTB_EXPECTED))
    assert split.layout == "release" and split.source == "package:otb100.csv"
    for seq in split:
        folder, digits, first, last, rows = OTB_EXPECTED[seq.name]
        assert seq.frames[0].parent == root / folder / "img"
        assert _frames(seq) == [f"{k:0{digits}d}.jpg" for k in range(first, last + 1)], seq.name
        np.testing.assert_array_equal(seq.gt, gt[seq.name][rows])
        assert seq.visible is None and seq.meta["first_frame"] == first
    by = split.by_name()
    assert _frames(by["Jogging_1"]) == _frames(by["Jogging_2"])
    assert not np.array_equal(by["Jogging_1"].gt, by["Jogging_2"].gt)
    np.testing.assert_array_equal(by["Board"].gt[-1], [0, 0, 0, 0])
    # pytracking's otb_attributes.json: Basketball IV OCC DEF OPR BC; Walking's stray "" dropped
    assert {k for k, v in by["David"].attributes.items() if v} == {
        "IV", "SV", "OCC", "DEF", "MB", "IPR", "OPR"}
    assert len(by["Board"].attributes) == 11


def test_otb_counts_the_official_100(otb_root):
    root, _ = otb_root
    with pytest.raises(MissingDataError, match="89 of 100 sequences of otb100-test are missing"):
        load_split("otb100", root=root)
    split = load_split("otb100", root=root, allow_partial=True)
    assert split.expected == 100 and len(split) == 11 and split.partial
    assert "Basketball" in split.missing


def test_otb_pysot_index(tmp_path):
    """pysot's OTB100.json: names mapped to pytracking's, Jogging-1 read from Jogging/."""
    _touch(tmp_path / "Jogging" / "img", [f"{k:04d}.jpg" for k in range(1, 6)])
    _touch(tmp_path / "Basketball" / "img", [f"{k:04d}.jpg" for k in range(1, 4)])
    jog, bask = _boxes(5), _boxes(3)
    index = {
        "Jogging-1": {"video_dir": "Jogging-1", "init_rect": jog[0].tolist(),
                      "img_names": [f"Jogging-1/img/{k:04d}.jpg" for k in range(1, 6)],
                      "gt_rect": jog.tolist(), "attr": ["OCC"]},
        "Basketball": {"video_dir": "Basketball", "init_rect": bask[0].tolist(),
                       "img_names": [f"Basketball/img/{k:04d}.jpg" for k in range(1, 4)],
                       "gt_rect": bask.tolist(), "attr": []},
    }
    (tmp_path / "OTB100.json").write_text(json.dumps(index))
    split = load_split("otb100", root=tmp_path, allow_partial=True)
    assert split.layout == "pysot-json" and split.expected == 100
    by = split.by_name()
    assert sorted(by) == ["Basketball", "Jogging_1"]
    assert by["Jogging_1"].frames[0] == tmp_path / "Jogging" / "img" / "0001.jpg"
    np.testing.assert_array_equal(by["Jogging_1"].gt, jog)
    assert _frames(by["Basketball"]) == ["0001.jpg", "0002.jpg", "0003.jpg"]


def test_otb_root_one_level_too_high(otb_root, tmp_path):
    (tmp_path / "OTB100" / "Basketball" / "img").mkdir(parents=True)
    with pytest.raises(MissingDataError) as exc:
        load_split("otb100", root=tmp_path)
    msg = str(exc.value)
    assert "does not hold the OTB-100 layout: expected <root>/<Seq>/img/0001.jpg" in msg
    assert "found OTB100/" in msg and f"found at {tmp_path / 'OTB100'}: point the root" in msg


def test_otb_annotation_length_and_frame_errors(otb_root, tmp_path):
    root, gt = otb_root
    _touch(tmp_path / "David" / "img", [f"{k:04d}.jpg" for k in range(1, 700)])  # 0700.. missing
    (tmp_path / "David" / "groundtruth_rect.txt").write_text(_text(gt["David"]))
    with pytest.raises(InputError, match=r"0700.jpg\.\.0770.jpg|frames 0300.jpg..0770.jpg"):
        load_split("otb100", root=tmp_path, sequences=["David"])
    (tmp_path / "David" / "groundtruth_rect.txt").write_text(_text(gt["David"][:-1]))
    with pytest.raises(InputError, match=r"470 annotation lines, but the table annotates "
                                         r"frames 300..770 \(471 frames\)"):
        load_split("otb100", root=tmp_path, sequences=["David"])


# ------------------------------------------------------------------------------- UAV123


@pytest.fixture(scope="module")
def uav_root(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """bird1 cut into bird1_1..3 by frame range; NaN rows where the target is absent."""
    base = tmp_path_factory.mktemp("uav")
    root = base / "Dataset_UAV123" / "UAV123"
    _touch(root / "data_seq" / "UAV123" / "bird1", [f"{k:06d}.jpg" for k in range(1, 2438)])
    gt = {}
    for name, (a, b) in {"bird1_1": (1, 253), "bird1_2": (775, 1477),
                         "bird1_3": (1573, 2437)}.items():
        boxes = _boxes(b - a + 1)
        if name == "bird1_2":
            boxes[100:140] = np.nan
        gt[name] = boxes
        anno = root / "anno" / "UAV123"
        anno.mkdir(parents=True, exist_ok=True)
        (anno / f"{name}.txt").write_text(_text(boxes))
    return root, gt


def test_uav_sub_sequences_and_nan_rows(uav_root):
    root, gt = uav_root
    names = ["uav_bird1_1", "uav_bird1_2", "uav_bird1_3"]
    split = load_split("uav123", root=root, sequences=names)
    ranges = {"uav_bird1_1": (1, 253), "uav_bird1_2": (775, 1477), "uav_bird1_3": (1573, 2437)}
    for seq in split:
        a, b = ranges[seq.name]
        assert seq.frames[0].parent == root / "data_seq" / "UAV123" / "bird1"
        assert _frames(seq) == [f"{k:06d}.jpg" for k in range(a, b + 1)]
        np.testing.assert_array_equal(seq.gt, gt[seq.name[4:]])
    assert split.by_name()["uav_bird1_2"].meta["nan_rows"] == 40
    assert len(split.sequences[0].attributes) == 12  # pytracking's UAV123_attributes.json
    assert np.isnan(split.by_name()["uav_bird1_2"].gt[100:140]).all()
    full = load_split("uav123", root=root, allow_partial=True)
    assert full.expected == 123 and len(full) == 3


def test_uav_root_one_level_off(uav_root):
    root, _ = uav_root
    with pytest.raises(MissingDataError) as exc:
        load_split("uav123", root=root.parent)  # Dataset_UAV123: one level too high
    msg = str(exc.value)
    assert "does not hold the UAV123 layout: expected <root>/data_seq/UAV123/<folder>/000001.jpg" \
        in msg and "found UAV123/" in msg and f"found at {root}: point the root there" in msg
    with pytest.raises(MissingDataError, match=f"found at {root}: point"):
        load_split("uav123", root=root / "data_seq" / "UAV123")  # two levels too low


def test_datasets_list_names_a_wrong_layout(uav_root, workspace):
    root, _ = uav_root
    (workspace / "mfv2bench.toml").write_text(f"[datasets]\nuav123 = '{root.parent}'\n")
    rows = {r["name"]: r for r in list_datasets(load_workspace())}
    assert rows["uav123"]["status"] == "wrong layout" and rows["uav123"]["found"]
    assert rows["otb100"]["status"] == "missing"
    assert rows["uav123"]["default_protocol"] == "mixformerv2-uav"
    r = CliRunner().invoke(main, ["datasets", "list"])
    assert r.exit_code == 0 and "wrong layout" in r.output
    assert "uav123: " in r.output and "data_seq/UAV123" in r.output
    for name in ("otb100", "uav123", "nfs", "tnl2k", "custom"):
        assert name in r.output


# ------------------------------------------------------------------------------- NfS


def _voc(boxes: np.ndarray, repeat: int = 1) -> str:
    out = []
    for k, (x, y, w, h) in enumerate(boxes):
        for r in range(repeat):
            out.append(f'1 {int(x)} {int(y)} {int(x + w)} {int(y + h)} {k * repeat + r + 1} '
                       '0 0 0 "person"\n')
    return "".join(out)


@pytest.fixture(scope="module")
def nfs_boxes() -> dict[str, np.ndarray]:
    return {"Gymnastics": _boxes(368), "bee": _boxes(45)}


def test_nfs_release_layout(tmp_path, nfs_boxes):
    """Gymnastics has one image more than annotations; bee's file holds 240 fps rows."""
    g, b = nfs_boxes["Gymnastics"], nfs_boxes["bee"]
    _touch(tmp_path / "Gymnastics" / "30" / "Gymnastics", [f"{k:05d}.jpg" for k in range(1, 370)])
    (tmp_path / "Gymnastics" / "30" / "Gymnastics.txt").write_text(_voc(g))
    _touch(tmp_path / "bee" / "30" / "bee", [f"{k:05d}.jpg" for k in range(1, 46)])
    (tmp_path / "bee" / "30" / "bee.txt").write_text(_voc(b, repeat=8))
    split = load_split("nfs", root=tmp_path, sequences=["nfs_Gymnastics", "nfs_bee"])
    assert split.layout == "release"
    by = split.by_name()
    assert _frames(by["nfs_Gymnastics"]) == [f"{k:05d}.jpg" for k in range(1, 369)]
    np.testing.assert_array_equal(by["nfs_Gymnastics"].gt, g)
    np.testing.assert_array_equal(by["nfs_bee"].gt, b)
    assert by["nfs_bee"].frames[0] == tmp_path / "bee" / "30" / "bee" / "00001.jpg"
    r = CliRunner().invoke(main, ["datasets", "inspect", "nfs", "--root", str(tmp_path),
                                  "--sequences", "nfs_bee"])
    assert r.exit_code == 0 and "layout: release" in r.output


def test_nfs_pytracking_layout(tmp_path, nfs_boxes):
    g = nfs_boxes["Gymnastics"]
    _touch(tmp_path / "sequences" / "Gymnastics", [f"{k:05d}.jpg" for k in range(1, 369)])
    (tmp_path / "anno").mkdir()
    (tmp_path / "anno" / "nfs_Gymnastics.txt").write_text(_text(g, "\t"))
    split = load_split("nfs", root=tmp_path, allow_partial=True)
    assert split.layout == "pytracking" and split.expected == 100 and len(split) == 1
    seq = split.sequences[0]
    assert seq.name == "nfs_Gymnastics" and seq.frames[-1].name == "00368.jpg"
    np.testing.assert_array_equal(seq.gt, g)


def test_nfs_wrong_layout_names_both(tmp_path):
    (tmp_path / "Gymnastics" / "240" / "Gymnastics").mkdir(parents=True)
    with pytest.raises(MissingDataError, match=r"NfS \(30 fps\) layout: expected "
                                               r"<root>/<Seq>/30/<Seq>/00001.jpg .*pytracking"):
        load_split("nfs", root=tmp_path)


# ------------------------------------------------------------------------------- TNL2K


def test_tnl2k_official_list_png_jpg_and_language(tmp_path):
    a, b = "Assian_video_Z03_done", "BF5_Blade_video_01-Done"
    ga, gb = _boxes(12), _boxes(3)
    _touch(tmp_path / a / "imgs", [f"{k}.png" for k in range(1, 13)])  # unpadded: 1, 2, .. 12
    (tmp_path / a / "groundtruth.txt").write_text(_text(ga))
    (tmp_path / a / "language.txt").write_text("the man in the red coat\n")
    _touch(tmp_path / b / "imgs", [f"{k:05d}.jpg" for k in range(1, 4)])
    (tmp_path / b / "groundtruth.txt").write_text(_text(gb))
    split = load_split("tnl2k", root=tmp_path, allow_partial=True)
    assert split.expected == 700 and [s.name for s in split] == [a, b]
    sa, sb = split.sequences
    assert _frames(sa) == [f"{k}.png" for k in range(1, 13)]
    assert sa.frames[0].parent == tmp_path / a / "imgs"
    np.testing.assert_array_equal(sa.gt, ga)
    assert sa.meta["language"] == "the man in the red coat"
    assert _frames(sb) == ["00001.jpg", "00002.jpg", "00003.jpg"] and "language" not in sb.meta
    (tmp_path / b / "groundtruth.txt").write_text(_text(gb[:2]))
    with pytest.raises(InputError, match="2 annotation line"):
        load_split("tnl2k", root=tmp_path, sequences=[b])


# ------------------------------------------------------------------------------- custom


def test_custom_layout(tmp_path):
    g1, g2 = _boxes(4), _boxes(3)
    _touch(tmp_path / "walk" / "imgs", ["frame_2.jpg", "frame_10.jpg", "frame_1.jpg",
                                        "frame_3.jpg"])
    (tmp_path / "walk" / "groundtruth.txt").write_text(_text(g1, "\t"))
    (tmp_path / "walk" / "visible.txt").write_text("1,1,0,1\n")
    _touch(tmp_path / "car", ["0.png", "1.png", "2.png"])
    (tmp_path / "car" / "groundtruth.txt").write_text(_text(g2))
    (tmp_path / "notes").mkdir()
    split = load_split("custom", root=tmp_path)
    assert [s.name for s in split] == ["car", "walk"]
    car, walk = split.sequences
    assert _frames(car) == ["0.png", "1.png", "2.png"] and car.visible is None
    assert _frames(walk) == sorted(["frame_2.jpg", "frame_10.jpg", "frame_1.jpg", "frame_3.jpg"])
    np.testing.assert_array_equal(walk.visible, [True, True, False, True])
    np.testing.assert_array_equal(walk.gt, g1)
    (tmp_path / "list.txt").write_text("walk\n")
    assert [s.name for s in load_split("custom", root=tmp_path)] == ["walk"]
    with pytest.raises(MissingDataError, match="holds no sequence: expected <root>/<seq>/"):
        load_split("custom", root=tmp_path / "notes")


# ------------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize("fmt", ["otb100", "uav123", "nfs", "tnl2k", "custom"])
def test_synthetic_tree_loads_in_its_layout(fmt, tmp_path):
    names = write_synthetic(fmt, tmp_path / fmt, n_sequences=6, n_frames=(6, 9), size=(40, 32),
                            seed=4)
    split = load_split(f"synthetic-{fmt}", root=tmp_path / fmt)
    assert [s.name for s in split] == names and len(names) == 6
    for seq in split:
        assert seq.n_frames == len(seq.gt) and all(p.is_file() for p in seq.frames)
    if fmt == "otb100":
        by = split.by_name()
        assert {"Synth1_1", "Synth1_2"} <= set(by)  # two targets in one folder
        assert by["Synth2"].frames[0].name == "0005.jpg"  # folder starting at 0005
        assert by["Synth3"].frames[0].name == "0002.jpg"  # annotated range inside the folder
        assert by["Synth4"].frames[0].name == "00001.jpg"  # 5 digits
        assert by["Synth5"].frames[0].name == "0003.jpg"  # 2 frames omitted
        full = np.loadtxt(tmp_path / fmt / "Synth5" / "groundtruth_rect.txt", ndmin=2)
        np.testing.assert_array_equal(by["Synth5"].gt, full[2:])
    if fmt == "uav123":
        assert split.sequences[1].meta["folder"] == split.sequences[2].meta["folder"]
        assert split.sequences[2].meta["first_frame"] > 1


def test_synthetic_uav_writes_nan_rows(tmp_path):
    write_synthetic("uav123", tmp_path, n_sequences=2, n_frames=60, size=(48, 40), seed=0)
    split = load_split("synthetic-uav123", root=tmp_path)
    assert sum(s.meta["nan_rows"] for s in split) > 0


# ------------------------------------------------- analyze (pytracking definitions) + board

GOOD = [10.0, 10.0, 20.0, 20.0]
# Sequence A: frame 1 is replaced by GT; then exact, shifted by half a width (IoU 1/3, 10 px,
# normalized 0.5), far away (IoU 0, 100 px): IoU [1, 1, 1/3, 0].
A_GT = np.array([GOOD] * 4)
A_PRED = np.array([[50, 50, 5, 5], GOOD, [20, 10, 20, 20], [110, 10, 20, 20]], dtype=float)
# Sequence B: exact predictions; frame 3's GT is invalid (0,0,0,0, or NaN for UAV123), or, for
# the custom layout, valid but marked invisible.
B_PRED = np.array([GOOD] * 4)
# 21 thresholds 0, 0.05, .., 1 with '>': A is 0.75 up to 0.30, 0.5 from 0.35 to 0.95, 0 at 1.
AUC_A = (7 * 0.75 + 13 * 0.5) / 21
AUC_B = 20 * 0.75 / 21
EXPECTED = {  # data set: (protocol, invalid row of B, (AUC, P@20, NP@0.2) of B)
    "otb100": ("mixformerv2-nolabels", [0, 0, 0, 0], (AUC_B, 0.75, 1.0)),
    "nfs": ("mixformerv2-nolabels", [0, 0, 0, 0], (AUC_B, 0.75, 1.0)),
    "tnl2k": ("mixformerv2-nolabels", [0, 0, 0, 0], (AUC_B, 0.75, 1.0)),
    # pytracking 'uav': NaN rows accepted; invalid GT is a precision success too
    "uav123": ("mixformerv2-uav", [np.nan] * 4, (AUC_B, 1.0, 1.0)),
    # visibility labels: an invisible frame fails all three metrics
    "custom": ("mixformerv2", GOOD, (AUC_B, 0.75, 0.75)),
}


def _golden_root(name: str, root: Path) -> None:
    """Sequences A and B in the layout of ``name`` (root tables name them)."""
    b_gt = np.array([GOOD, GOOD, EXPECTED[name][1], GOOD])
    frames4 = [f"{k:04d}.jpg" for k in range(1, 5)]
    if name == "otb100":
        rows = []
        for s, gt in (("SeqA", A_GT), ("SeqB", b_gt)):
            _touch(root / s / "img", frames4)
            (root / s / "groundtruth_rect.txt").write_text(_text(gt, "\t"))
            rows.append(f"{s},{s},img,1,4,4,jpg,groundtruth_rect.txt,0,object,\n")
        (root / "sequences.csv").write_text(
            "name,folder,img_dir,start,end,digits,ext,anno,init_omit,object_class,aliases\n"
            + "".join(rows))
    elif name == "uav123":
        _touch(root / "data_seq" / "UAV123" / "pair", [f"{k:06d}.jpg" for k in range(1, 9)])
        (root / "anno" / "UAV123").mkdir(parents=True)
        (root / "anno" / "UAV123" / "pair_1.txt").write_text(_text(A_GT))
        (root / "anno" / "UAV123" / "pair_2.txt").write_text(_text(b_gt))
        (root / "sequences.csv").write_text("name,folder,start,end,anno\n"
                                            "SeqA,pair,1,4,pair_1\nSeqB,pair,5,8,pair_2\n")
    elif name == "nfs":
        for s, gt in (("SeqA", A_GT), ("SeqB", b_gt)):
            _touch(root / s / "30" / s, [f"{k:05d}.jpg" for k in range(1, 5)])
            (root / s / "30" / f"{s}.txt").write_text(_voc(gt))
        (root / "sequences.csv").write_text("name,folder,end\nSeqA,SeqA,4\nSeqB,SeqB,4\n")
    else:  # tnl2k and custom: one folder per sequence
        for s, gt in (("SeqA", A_GT), ("SeqB", b_gt)):
            _touch(root / s / "imgs", frames4)
            (root / s / "groundtruth.txt").write_text(_text(gt))
        if name == "custom":
            (root / "SeqB" / "visible.txt").write_text("1\n1\n0\n1\n")
        else:
            (root / "testing_set.txt").write_text("SeqA\nSeqB\n")


def _store(workspace: Path, key: str, tracker: str, preds: dict[str, np.ndarray]) -> None:
    folder = workspace / "results" / tracker / key
    folder.mkdir(parents=True)
    for seq, arr in preds.items():
        (folder / f"{seq}.txt").write_text("".join(",".join(map(repr, map(float, r))) + "\n"
                                                   for r in arr))


@pytest.mark.parametrize("name", list(EXPECTED))
def test_analyze_gives_the_pytracking_numbers(name, workspace):
    root = workspace / "datasets" / name
    _golden_root(name, root)
    split = load_split(name, root=root)
    assert [s.name for s in split] == ["SeqA", "SeqB"] and split.key == f"{name}-test"
    _store(workspace, split.key, "hand", {"SeqA": A_PRED, "SeqB": B_PRED})
    protocol, _, (auc_b, p_b, np_b) = EXPECTED[name]
    res = app.analyze(name, "hand", root=root, resamples=100)
    assert res.protocol == protocol and res.protocol_hash == get_protocol(protocol).hash
    assert res.score("hand", "auc") == pytest.approx((AUC_A + auc_b) / 2, rel=1e-6)
    assert res.score("hand", "precision") == pytest.approx((0.75 + p_b) / 2, rel=1e-6)
    assert res.score("hand", "norm_precision") == pytest.approx((0.5 + np_b) / 2, rel=1e-6)
    r = CliRunner().invoke(main, ["analyze", "--dataset", name, "--trackers", "hand", "--root",
                                  str(root), "--resamples", "100"])
    assert r.exit_code == 0, r.output
    assert f"{protocol} [{get_protocol(protocol).hash}]" in r.output


def test_uav_nan_rows_are_refused_by_the_non_uav_protocols(workspace):
    root = workspace / "datasets" / "uav123"
    _golden_root("uav123", root)
    _store(workspace, "uav123-test", "hand", {"SeqA": A_PRED, "SeqB": B_PRED})
    with pytest.raises(InputError, match="NaN"):
        app.analyze("uav123", "hand", protocol="mixformerv2-nolabels", root=root, resamples=100)


PUBLISHED = {"otb100": "OTB100", "uav123": "UAV123", "nfs": "NFS", "tnl2k": "TNL2K"}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_leaderboard_ranks_local_results_against_the_published_rows(name, workspace,
                                                                    monkeypatch):
    """Ranked among the published rows when the split is the official one; here the official
    list is made to be these two sequences (a full tree of the real benchmark would take
    hundreds of thousands of files)."""
    root = workspace / "datasets" / name
    _golden_root(name, root)
    _store(workspace, f"{name}-test", "hand", {"SeqA": A_PRED, "SeqB": B_PRED})
    monkeypatch.setattr(analysis_module, "official_names", lambda *a, **k: ["SeqA", "SeqB"])
    board = leaderboard(load_workspace(), name, metric="auc", root=root)
    table = load_published()
    published = table[(table["dataset"] == PUBLISHED[name]) & (table["metric"] == "AUC")]
    assert len(published) > 0 and board.dataset == PUBLISHED[name]
    rows = board.rows
    ours = rows[rows["ours"].astype(bool)]
    assert list(ours["tracker"]) == ["hand"] and len(rows) == len(published) + 1
    value = float(ours["value"].iloc[0])
    assert value == pytest.approx(100 * (AUC_A + EXPECTED[name][2][0]) / 2, rel=1e-5)
    assert int(ours["rank"].iloc[0]) == 1 + int((published["value"] > value).sum())
    assert any(EXPECTED[name][0] in n for n in board.notes)


def test_leaderboard_keeps_a_subset_of_the_official_split_unranked(workspace):
    """Two sequences are not OTB-100: the row is shown, marked, and not ranked."""
    root = workspace / "datasets" / "otb100"
    _golden_root("otb100", root)
    _store(workspace, "otb100-test", "hand", {"SeqA": A_PRED, "SeqB": B_PRED})
    board = leaderboard(load_workspace(), "otb100", metric="auc", root=root)
    ours = board.rows[board.rows["ours"].astype(bool)]
    assert list(ours["coverage"]) == ["subset"] and not bool(ours["comparable"].iloc[0])


def test_eval_and_report_on_a_synthetic_benchmark(workspace):
    """A tracker object through eval on synthetic UAV123 and NfS trees, then a report."""

    class Still:
        def initialize(self, image, box):
            self.box = list(box)

        def track(self, image):
            return self.box

    for fmt in ("uav123", "nfs"):
        root = workspace / "datasets" / f"synthetic-{fmt}"
        write_synthetic(fmt, root, n_sequences=2, n_frames=6, size=(40, 32), seed=2)
        ev = app.evaluate(Still(), f"synthetic-{fmt}", root=root)
        res = ev.analysis
        assert res is not None and res.protocol == EXPECTED[fmt][0]
        assert 0.0 < res.score("Still", "auc") <= 1.0
    files = app.report("synthetic-uav123", "Still", root=workspace / "datasets" /
                       "synthetic-uav123")
    assert Path(files.html).is_file()


def test_synth_refuses_a_real_benchmark_root(uav_root, otb_root):
    for root in (uav_root[0], otb_root[0]):
        with pytest.raises(InputError, match="refusing to write: the folder holds a data set"):
            write_synthetic("custom", root, n_sequences=1, n_frames=3, size=(40, 32), force=True)
