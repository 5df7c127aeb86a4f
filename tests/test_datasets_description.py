"""One description per data-set name, and the five places that used to parse names agree with it:
the registry, tracker specs' family, the default protocol, the submission format and the
published-name map."""

from __future__ import annotations

import pytest

from mfv2bench.datasets.description import (DATASETS, REFERENCE, DatasetDescription, describe,
                                            known_names, parse_name)
from mfv2bench.datasets.registry import default_split, get_info, parse_dataset_arg
from mfv2bench.errors import ConfigError
from mfv2bench.leaderboard.published import load_published, published_dataset_name
from mfv2bench.metrics.protocols import PROTOCOLS, default_protocol
from mfv2bench.submit.pack import FORMATS, format_for_dataset
from mfv2bench.trackers.specs import dataset_family

REAL = ("lasot", "lasot_ext", "got10k", "trackingnet", "otb100", "uav123", "nfs", "tnl2k")
SYNTHETIC = ("lasot", "got10k", "trackingnet", "otb100", "uav123", "nfs", "tnl2k", "custom")
ALL_LOADABLE = sorted(DATASETS)
ALL_DESCRIBED = sorted(DATASETS) + sorted(REFERENCE)


def test_registered_real_and_synthetic_sets():
    assert set(DATASETS) == set(REAL) | {"custom"} | {f"synthetic-{r}" for r in SYNTHETIC}
    for name in REAL:
        d = DATASETS[name]
        assert not d.synthetic and d.imitates is None and d.official is not None
        assert d.loadable and d.published_name is not None


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_imitates_its_real_set(name):
    real, synth = DATASETS[name], DATASETS[f"synthetic-{name}"]
    assert synth.synthetic and synth.imitates == name and synth.official is None
    assert synth.family == real.family == ("otb" if name == "otb100" else name)
    for attr in ("layout", "default_split", "default_protocol", "submission_format",
                 "first_frame_only"):
        assert getattr(synth, attr) == getattr(real, attr), attr
    # the real splits, plus the generator's own tuning split for LaSOT trees (never a test split)
    assert synth.splits == real.splits + (("val",) if name == "lasot" else ())
    assert synth.eval_splits == real.eval_splits
    assert synth.published_name is None  # synthetic numbers never meet published ones


@pytest.mark.parametrize("text, name, split", [
    ("lasot", "lasot", None),
    ("LaSOT", "lasot", None),
    ("lasot_ext", "lasot_ext", None),
    ("lasot_extension-test", "lasot_ext", "test"),
    ("got10k-val", "got10k", "val"),
    ("GOT-10k", "got10k", None),
    ("synthetic-lasot", "synthetic-lasot", None),
    ("synthetic-lasot-train", "synthetic-lasot", "train"),
    ("trackingnet-test", "trackingnet", "test"),
    ("trackingnet-train_3", "trackingnet", "train_3"),
    ("otb100", "otb100", None),
    ("uav", "uav123", None),
])
def test_describe_names_aliases_and_split_suffixes(text, name, split):
    d, s = parse_name(text)
    assert (d.name, s) == (name, split)
    assert describe(text) is d


def test_unknown_names_and_splits_list_what_is_known():
    with pytest.raises(ConfigError, match="unknown data set 'mars'") as exc:
        describe("mars")
    for name in known_names():
        assert name in str(exc.value)
    with pytest.raises(ConfigError, match=r"unknown split 'val' of lasot \(splits: test, train, all\)"):
        describe("lasot-val")
    with pytest.raises(ConfigError, match="unknown data set 'tc128'"):
        parse_dataset_arg("tc128")  # described, but no loader


def test_ground_truth_per_split():
    assert DATASETS["got10k"].ground_truth("test") == "first-frame"
    assert DATASETS["got10k"].ground_truth("val") == "full"
    assert DATASETS["synthetic-trackingnet"].ground_truth("test") == "first-frame"
    assert DATASETS["trackingnet"].ground_truth("train_0") == "full"
    assert DATASETS["lasot"].ground_truth("test") == "full"
    with pytest.raises(ConfigError, match="unknown split"):
        DATASETS["lasot"].ground_truth("val")


def test_description_checks_itself():
    with pytest.raises(ConfigError, match="default split"):
        DatasetDescription(name="x", family="x", description="", splits=("a",),
                           default_split="b", default_protocol="otb")


@pytest.mark.parametrize("name", ALL_DESCRIBED)
def test_every_description_names_a_real_protocol_and_format(name):
    d = describe(name)
    assert d.default_protocol in PROTOCOLS
    assert d.submission_format is None or d.submission_format in FORMATS
    assert d.default_split in d.splits


@pytest.mark.parametrize("name", ALL_LOADABLE)
def test_former_parsers_agree_with_the_description(name):
    d = DATASETS[name]
    published = load_published()
    texts = [name] + [f"{name}-{s}" for s in d.splits]
    for text in texts:
        # 1. registry
        assert parse_dataset_arg(text)[0] == d.name
        # 2. tracker specs
        assert dataset_family(text) == d.family
        # 3. metric protocols
        assert default_protocol(text) == d.default_protocol
        # 4. submission packer
        if d.submission_format is None:
            with pytest.raises(ConfigError, match="no submission format"):
                format_for_dataset(text)
        else:
            assert format_for_dataset(text).name == d.submission_format
    # 5. published names: the evaluation splits compare with the published rows, training
    # splits and synthetic sets have none
    assert get_info(name) is d and default_split(name) == d.default_split
    for split in d.splits:
        text = f"{name}-{split}"
        if d.published_name is not None and split in d.eval_splits:
            assert published_dataset_name(text, published) == d.published_name
            assert (published["dataset"] == d.published_name).any()
        else:
            with pytest.raises(ConfigError, match="no published results"):
                published_dataset_name(text, published)


def test_former_parsers_on_reference_and_unknown_names():
    published = load_published()
    assert default_protocol("otb100") == "mixformerv2-nolabels"
    assert default_protocol("uav123") == "mixformerv2-uav"
    assert default_protocol("nfs") == "mixformerv2-nolabels" and default_protocol("tc128") == "otb"
    assert default_protocol("something") == "mixformerv2-nolabels"
    assert published_dataset_name("uav123", published) == "UAV123"
    assert published_dataset_name("VOT2020", published) == "VOT2020"  # table lookup
    assert published_dataset_name("something") == "something"  # no table: unchanged
    for name in REFERENCE:
        assert dataset_family(name) == REFERENCE[name].family
        if REFERENCE[name].published_name:
            assert (published["dataset"] == REFERENCE[name].published_name).any()
        with pytest.raises(ConfigError, match="no submission format"):
            format_for_dataset(name)
    with pytest.raises(ConfigError, match="no submission format"):
        format_for_dataset("mars")
