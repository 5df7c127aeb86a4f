"""Names on the command line meet registry entries; roots come from the workspace; split lists
ship with the package; annotation readers name the bad line."""

from __future__ import annotations

import numpy as np
import pytest

from mfv2bench.datasets.annotations import read_boxes, read_flag_row, read_label_column
from mfv2bench.datasets.images import read_rgb
from mfv2bench.datasets.description import DATASETS
from mfv2bench.datasets.registry import (
    default_split,
    list_datasets,
    load_split,
    parse_dataset_arg,
)
from mfv2bench.datasets.splits import lasot_test_attributes, official_list
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.errors import ConfigError, InputError
from mfv2bench.workspace import load_workspace


@pytest.mark.parametrize(
    "text, expected",
    [
        ("lasot", ("lasot", None)),
        ("got10k-test", ("got10k", "test")),
        ("synthetic-lasot", ("synthetic-lasot", None)),
        ("synthetic-lasot-train", ("synthetic-lasot", "train")),
        ("trackingnet-train_3", ("trackingnet", "train_3")),
        ("TrackingNet-TEST", ("trackingnet", "test")),
        ("lasot_ext", ("lasot_ext", None)),
        ("lasot_extension-test", ("lasot_ext", "test")),
    ],
)
def test_parse_dataset_arg(text, expected):
    assert parse_dataset_arg(text) == expected


@pytest.mark.parametrize("text", ["vot2018", "lasot-val", "got10k-train_3", "trackingnet-train_12"])
def test_parse_dataset_arg_rejects(text):
    with pytest.raises(ConfigError):
        parse_dataset_arg(text)


def test_defaults_and_entries():
    assert default_split("lasot") == "test"
    assert default_split("got10k") == "val"
    assert default_split("trackingnet") == "test"
    assert default_split("synthetic-got10k") == "val"
    assert set(DATASETS) >= {"lasot", "lasot_ext", "got10k", "trackingnet", "synthetic-lasot",
                             "synthetic-got10k", "synthetic-trackingnet"}


def test_shipped_split_lists():
    test, train = official_list("lasot_test.txt"), official_list("lasot_train.txt")
    assert len(test) == 280 and len(train) == 1120 and not set(test) & set(train)
    assert len(official_list("lasot_extension.txt")) == 150
    assert len(official_list("got10k_val.txt")) == 180
    assert official_list("got10k_test.txt")[0] == "GOT-10k_Test_000001"
    assert len(official_list("trackingnet_test.txt")) == 511
    attrs = lasot_test_attributes()
    assert set(attrs) == set(test) and all(len(v) == 14 for v in attrs.values())
    assert sum(v["SV"] for v in attrs.values()) == 273  # count documented with the table


def test_root_from_workspace_config_and_env(workspace, monkeypatch, tmp_path):
    data = tmp_path / "elsewhere"
    write_synthetic("lasot", data, n_sequences=1, n_frames=3, size=(48, 48))
    (workspace / "mfv2bench.toml").write_text(f'[datasets]\nsynthetic-lasot = "{data}"\n')
    ws = load_workspace()
    split = load_split("synthetic-lasot", workspace=ws)
    assert split.root == data.resolve() and len(split) == 1
    rows = {r["name"]: r for r in list_datasets(ws)}
    assert rows["synthetic-lasot"]["found"] and rows["lasot"]["status"] == "missing"
    monkeypatch.setenv("MFV2BENCH_DATA_SYNTHETIC_LASOT", str(tmp_path / "none"))
    assert not {r["name"]: r for r in list_datasets(load_workspace())}["synthetic-lasot"]["found"]


def test_split_given_twice_must_agree(tmp_path):
    write_synthetic("got10k", tmp_path, n_sequences=1, n_frames=3, size=(48, 48),
                    splits=["val", "test"])
    assert load_split("synthetic-got10k-test", "test", root=tmp_path).split == "test"
    with pytest.raises(ConfigError):
        load_split("synthetic-got10k-test", "val", root=tmp_path)


# ---------------------------------------------------------------- annotation readers


def test_read_boxes_formats(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,2,3,4\n5.5,6,7,8\n\n")
    np.testing.assert_array_equal(read_boxes(p), [[1, 2, 3, 4], [5.5, 6, 7, 8]])
    p.write_text("1\t2\t3\t4\r\nNaN,NaN,NaN,NaN\r\n")
    out = read_boxes(p)
    assert out.shape == (2, 4) and np.isnan(out[1]).all()


@pytest.mark.parametrize(
    "text, line",
    [("1,2,3,4\n1,2,3\n", 2), ("1,2,3,4\n1,2,3,4,5\n1,2,3\n", 2), ("1,2,3,4\n\n1,2,3,4\n", 2),
     ("1,2,x,4\n", 1), ("1,2,3,4\n1,2\n3,4,5,6,7,8\n", 2)],
)
def test_read_boxes_names_bad_line(tmp_path, text, line):
    p = tmp_path / "gt.txt"
    p.write_text(text)
    with pytest.raises(InputError) as err:
        read_boxes(p)
    assert err.value.line == line and str(err.value).startswith(f"{p}:{line}:")


def test_read_boxes_empty_and_missing(tmp_path):
    (tmp_path / "e.txt").write_text("\n")
    with pytest.raises(InputError, match="empty"):
        read_boxes(tmp_path / "e.txt")
    with pytest.raises(InputError, match="not found"):
        read_boxes(tmp_path / "nope.txt")


def test_flag_and_label_readers(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("0,1,0,0\n")
    np.testing.assert_array_equal(read_flag_row(p, 4), [False, True, False, False])
    with pytest.raises(InputError, match="4 flags but 5 frames"):
        read_flag_row(p, 5)
    p.write_text("0,2,0\n")
    with pytest.raises(InputError, match="expected 0 or 1"):
        read_flag_row(p)
    q = tmp_path / "cover.label"
    q.write_text("8\n7\nx\n")
    with pytest.raises(InputError) as err:
        read_label_column(q)
    assert err.value.line == 3


def test_read_rgb_and_unreadable_image(tmp_path):
    import cv2

    img = np.zeros((4, 6, 3), np.uint8)
    img[..., 2] = 255  # red in BGR
    cv2.imwrite(str(tmp_path / "red.png"), img)
    rgb = read_rgb(tmp_path / "red.png")
    assert rgb.shape == (4, 6, 3) and rgb.dtype == np.uint8 and (rgb[..., 0] == 255).all()
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match="cannot read image") as err:
        read_rgb(tmp_path / "bad.jpg")
    assert err.value.path == tmp_path / "bad.jpg"
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        read_rgb(tmp_path / "empty.jpg")
    with pytest.raises(InputError, match="not found"):
        read_rgb(tmp_path / "missing.jpg")


@pytest.mark.parametrize(
    "text, expected",
    [("0,1,0\n", [0, 1, 0]), ("0\n1\n1\n", [0, 1, 1]), (" 0 , 1 ,0 \r\n", [0, 1, 0]),
     ("0,1\n0,1\n", [0, 1, 0, 1]), ("0.0,1.0\n", [0, 1])],
)
def test_flag_row_spellings(tmp_path, text, expected):
    p = tmp_path / "flags.txt"
    p.write_text(text)
    np.testing.assert_array_equal(read_flag_row(p), np.array(expected, dtype=bool))


@pytest.mark.parametrize("text", ["0,,1\n", "0,1,\n", "2,1\n", "0,1,x\n"])
def test_flag_row_rejects(tmp_path, text):
    p = tmp_path / "flags.txt"
    p.write_text(text)
    with pytest.raises(InputError):
        read_flag_row(p)


def test_long_gt_file_takes_the_same_values(tmp_path):
    rng = np.random.default_rng(1)
    boxes = np.round(rng.uniform(0, 900, (1500, 4)), 2)
    p = tmp_path / "gt.txt"
    p.write_text("".join(",".join(f"{v:.2f}" for v in row) + "\n" for row in boxes))
    np.testing.assert_array_equal(read_boxes(p), np.loadtxt(p, delimiter=","))
    lines = p.read_text().splitlines()
    lines[1200] = "1,2,,4"
    p.write_text("\n".join(lines))
    with pytest.raises(InputError) as err:
        read_boxes(p)
    assert err.value.line == 1201


def test_label_column_fast_and_checked(tmp_path):
    q = tmp_path / "cover.label"
    q.write_text("8\n7\n0\n\n")
    np.testing.assert_array_equal(read_label_column(q, 3), [8, 7, 0])
    q.write_text("8\n7.0\n")
    np.testing.assert_array_equal(read_label_column(q), [8, 7])
    for bad, line in (("8\nnan\n", 2), ("8\n1.5\n", 2), ("inf\n", 1), ("8 7\n", 1)):
        q.write_text(bad)
        with pytest.raises(InputError) as err:
            read_label_column(q)
        assert err.value.line == line
