"""`mfv2bench show` (boxes drawn on a sequence, video or frames, each frame decoded once) and
`mfv2bench explain` (the prediction tokens' attention, the same on the cached and full paths,
asked of the tracker kind), and the attention figures in the report."""

from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from report_samples import write_store_results

from mfv2bench.app import show as show_mod
from mfv2bench.app.explain import explain
from mfv2bench.app.show import parse_frames, show
from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.errors import ConfigError
from mfv2bench.report.build import build_report
from mfv2bench.report.gallery import hex_to_rgb
from mfv2bench.report.failures import tracker_colours
from mfv2bench.trackers.kinds import get_kind, kind_of
from mfv2bench.trackers.mixformerv2 import model as model_module
from mfv2bench.trackers.mixformerv2.explain import attention_maps, record_attention
from mfv2bench.trackers.mixformerv2.model import build_model, init_random_weights
from mfv2bench.trackers.specs import SpecRegistry
from mfv2bench.workspace import load_workspace

TINY_SPEC = """kind = "mixformerv2"
description = "MixFormerV2-S cut to 2 blocks, narrow MLP, random weights (tests)"
[model]
variant = "small"
depth = 2
mlp_hidden = 32
random_weights = true
seed = 3
"""


def _inputs(cfg, seed=0):
    g = torch.Generator().manual_seed(seed)
    t, s = cfg["template_size"], cfg["search_size"]
    return (torch.randn(1, 3, t, t, generator=g), torch.randn(1, 3, t, t, generator=g),
            torch.randn(1, 3, s, s, generator=g))


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_cached_and_full_paths_give_the_same_maps(attention):
    cfg = {"embed_dim": 32, "num_heads": 2, "depth": 3, "mlp_ratio": 1.0, "template_size": 32,
           "search_size": 64, "attention": attention}
    model = init_random_weights(build_model(cfg), seed=1)
    t, o, s = _inputs(model.config)
    cached = attention_maps(model, t, o, s, cached=True)
    full = attention_maps(model, t, o, s, cached=False)
    a, b = cached.stacked(), full.stacked()
    n = 2 * model.config["num_template_tokens"] + model.config["num_search_tokens"] + 4
    assert a.shape == b.shape == (3, 1, 4, n)
    np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-6)
    assert len(cached.heads) == 3 and cached.heads[0].shape == (1, 2, 4, n)
    np.testing.assert_allclose(cached.edges.numpy(), full.edges.numpy(), atol=1e-6)
    assert cached.edges.shape == (1, 4, model.config["num_bins"])
    np.testing.assert_allclose(cached.edges.sum(-1).numpy(), 1.0, atol=1e-6)
    assert model_module.attend.__name__ == "attend"  # restored


def test_recorder_is_removed_after_an_error_and_changes_no_output():
    model = init_random_weights(build_model({"embed_dim": 32, "num_heads": 2, "depth": 1, "mlp_ratio": 1.0,
                                             "template_size": 32, "search_size": 64}), seed=2)
    t, o, s = _inputs(model.config)
    with torch.no_grad():
        plain = model(t, o, s)["pred_boxes"]
    with pytest.raises(RuntimeError):
        with record_attention(model):
            with torch.no_grad():
                recorded = model(t, o, s)["pred_boxes"]
            raise RuntimeError("boom")
    assert torch.equal(plain, recorded)
    assert model_module.attend.__name__ == "attend" and not model.box_head._forward_hooks


@pytest.fixture
def ws(workspace):
    ws = load_workspace(workspace)
    (ws.trackers_dir / "tiny.toml").write_text(TINY_SPEC)
    write_synthetic("lasot", ws.data_root("synthetic-lasot"), n_sequences=2, n_frames=(12, 14),
                    size=(96, 72), seed=4)
    split = load_split("synthetic-lasot", workspace=ws)
    write_store_results(ws.results_dir, "close", split, noise=1.0, seed=1)
    write_store_results(ws.results_dir, "far", split, noise=15.0, seed=2)
    write_store_results(ws.results_dir, "tiny", split, noise=3.0, seed=3)
    return ws, split


def test_kinds_say_whether_they_explain(ws):
    workspace, _ = ws
    reg = SpecRegistry(workspace.trackers_dir, workspace.root)
    spec = reg.resolve("tiny")
    assert kind_of(spec).capabilities(spec).explain
    reg.add("kcf", {"kind": "opencv", "params": {"algorithm": "kcf"}})
    opencv = get_kind("opencv")
    assert not opencv.capabilities(reg.resolve("kcf")).explain
    with pytest.raises(ConfigError, match="no attention"):
        opencv.explainer(reg.resolve("kcf"))


def test_explainer_cached_and_full_agree_on_a_sequence(ws):
    workspace, split = ws
    seq = split.sequences[0]
    spec = SpecRegistry(workspace.trackers_dir, workspace.root).resolve("tiny")
    frames = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in seq.frames]
    kind = kind_of(spec)
    out = {}
    for cached in (True, False):
        ex = kind.explainer(spec, cached=cached).explain(frames.__getitem__, seq.gt[0], 4)
        out[cached] = ex
        assert ex.meta["path"] == ("cached" if cached else "full")
    a, b = out[True], out[False]
    assert list(a.crops) == ["search", "template", "online template"]
    assert a.crops["search"].shape == (224, 224, 3) and a.maps["search"].shape == (2, 4, 14, 14)
    assert a.maps["template"].shape == (2, 4, 7, 7)
    for name in a.maps:
        np.testing.assert_allclose(a.maps[name], b.maps[name], atol=1e-6, rtol=0)
    total = sum(m.sum(axis=(-1, -2)) for m in a.maps.values())
    assert (total <= 1.0 + 1e-6).all() and (total > 0.5).all()  # the rest is on the tokens
    assert a.distributions.shape == (4, 96) and np.allclose(a.distributions.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a.distributions, b.distributions, atol=1e-6)
    # from a given previous box, nothing is tracked before the frame
    ex = kind.explainer(spec).explain(frames.__getitem__, seq.gt[0], 6, previous_box=seq.gt[5])
    assert ex.meta["state_from"] == "given box"


def test_explain_writes_figures_and_the_report_shows_them(ws):
    workspace, split = ws
    seq = split.sequences[0].name
    files = explain(workspace, "tiny", "synthetic-lasot", seq, 3, out=workspace.reports_dir / "ex", state="gt")
    names = [p.name for p in files.figures]
    assert names == ["attention_mean.png", "attention_layer01.png", "attention_layer02.png"]
    for p in files.figures:
        img = cv2.imread(str(p))
        assert img is not None and img.shape[0] > 300
    index = json.loads(files.index.read_text())
    assert index["frame"] == 3 and index["state"] == "gt" and index["meta"]["path"] == "cached"
    assert index["figures"][0]["main"] and not index["figures"][1]["main"]
    arrays = np.load(files.folder / "attention.npz")
    assert arrays["map_search"].shape == (2, 4, 14, 14) and arrays["distributions"].shape == (4, 96)
    report = build_report(workspace, "synthetic-lasot", ["close", "far"], out=workspace.reports_dir / "r",
                          pdf=False, attention=[files.folder])
    page = report.html.read_text()
    assert 'id="attention"' in page and "Per layer (2 figures)" in page
    assert len(re.findall(r'<figure class="attention"><img loading="lazy"', page)) == 3
    with pytest.raises(ConfigError, match="frame 1 initialises"):
        explain(workspace, "tiny", "synthetic-lasot", seq, 1)


def test_explain_cli_and_refusals(ws):
    workspace, split = ws
    seq = split.sequences[1].name
    out = workspace.reports_dir / "cli"
    res = CliRunner().invoke(main, ["explain", "--tracker", "tiny", "--dataset", "synthetic-lasot", "--sequence",
                                    seq, "--frame", "3", "--state", "result", "--full", "--no-layers",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "attention_mean.png").is_file() and not (out / "attention_layer01.png").exists()
    assert json.loads((out / "explain.json").read_text())["meta"]["path"] == "full"
    (workspace.trackers_dir / "kcf.toml").write_text('kind = "opencv"\n[params]\nalgorithm = "kcf"\n')
    res = CliRunner().invoke(main, ["explain", "--tracker", "kcf", "--dataset", "synthetic-lasot",
                                    "--sequence", seq, "--frame", "3"])
    assert res.exit_code == 2 and "no attention to explain" in res.output


def test_parse_frames():
    assert parse_frames(None, 10) == (0, 10)
    assert parse_frames("3:5", 10) == (2, 5)
    assert parse_frames(":4", 10) == (0, 4) and parse_frames("7:", 10) == (6, 10)
    assert parse_frames("4", 10) == (3, 4)
    for bad in ("0:3", "5:4", "3:11", "a:b", "1:2:3"):
        with pytest.raises(ConfigError):
            parse_frames(bad, 10)


def test_show_video_and_frames_decoded_once(ws, monkeypatch):
    workspace, split = ws
    seq = split.sequences[0]
    calls = []
    real = show_mod.read_rgb
    monkeypatch.setattr(show_mod, "read_rgb", lambda p: calls.append(p) or real(p))
    video = show(workspace, ["close", "far"], "synthetic-lasot", seq.name, workspace.reports_dir / "v.mp4")
    assert video.video and video.frames == seq.n_frames and len(calls) == seq.n_frames
    assert len(set(calls)) == len(calls)
    cap = cv2.VideoCapture(str(video.path))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    assert count == seq.n_frames
    assert not list(workspace.reports_dir.glob("*.part*"))
    # a folder of PNGs: the "far" tracker's box in its report colour, the GT white
    folder = show(workspace, ["close", "far"], "synthetic-lasot", seq.name, workspace.reports_dir / "frames",
                  frames="2:4", image_format="png")
    files = sorted(folder.path.iterdir())
    assert [f.name for f in files] == ["00000002.png", "00000003.png", "00000004.png"]
    img = cv2.cvtColor(cv2.imread(str(files[0])), cv2.COLOR_BGR2RGB)
    colour = np.array(hex_to_rgb(tracker_colours(["close", "far"])["far"]))
    assert (np.abs(img.astype(int) - colour).sum(axis=2) == 0).sum() > 10
    assert (img == 255).all(axis=2).sum() > 10


def test_show_cli(ws):
    workspace, split = ws
    seq = split.sequences[1].name
    res = CliRunner().invoke(main, ["show", "--tracker", "close", "--tracker", "tiny", "--dataset",
                                    "synthetic-lasot", "--sequence", seq, "--frames", "2:3", "--out",
                                    str(workspace.reports_dir / "s")])
    assert res.exit_code == 0, res.output
    assert "2 frames" in res.output and len(list((workspace.reports_dir / "s").glob("*.jpg"))) == 2
    res = CliRunner().invoke(main, ["show", "--tracker", "nobody", "--dataset", "synthetic-lasot", "--sequence",
                                    seq, "--out", str(workspace.reports_dir / "t.mp4")])
    assert res.exit_code == 2 and "nobody" in res.output
