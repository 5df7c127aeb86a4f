"""The training package (``mfv2bench train``): recipes, pairs, each stage's loss, resume, the CLI
smoke run, and the shipped micro checkpoint. CI never trains for real: a few steps at most."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from mfv2bench.cli import main
from mfv2bench.datasets.synthetic import _sequence
from mfv2bench.errors import ConfigError
from mfv2bench.trackers.mixformerv2.checkpoint import load_checkpoint, load_into
from mfv2bench.trackers.mixformerv2.model import MixFormerV2
from mfv2bench.trackers.specs import SpecRegistry, build_tracker
from mfv2bench.training import data as tdata
from mfv2bench.training.losses import (corner_marginals, cosine_gamma, edge_targets, giou_loss,
                                       train_forward)
from mfv2bench.training.loop import run_stage
from mfv2bench.training.pipeline import export_stage, load_trained, save_trained
from mfv2bench.training.recipe import DataConfig, StageConfig, load_recipe, recipe_from_dict
from mfv2bench.training.stages import Stage, spread_layers

REPO = Path(__file__).resolve().parents[1]
MICRO = REPO / "checkpoints" / "micro" / "mfv2-micro.pth"


def _body(**stage_over) -> dict:
    return {"name": "t", "data": {"sequences": 2, "val_sequences": 1, "frames": [20, 30],
                                  "pairs": 16, "val_pairs": 8},
            "stage": [{"name": "teacher", "method": "teacher", "depth": 1, "steps": 2, "batch": 4,
                       **stage_over}]}


# -- recipes -------------------------------------------------------------------------------------

def test_shipped_recipes_load_and_hash():
    # *-table.toml beside them are ablation table definitions (mfv2bench ablations), not recipes
    for path in sorted(p for p in (REPO / "recipes").glob("*.toml") if not p.name.endswith("-table.toml")):
        r = load_recipe(path)
        assert len(r.hash) == 10 and r.stages


def test_recipe_hash_covers_defaults_not_spelling():
    a = recipe_from_dict(_body())
    b = recipe_from_dict(_body(w_giou=StageConfig.w_giou, lr=StageConfig.lr))  # defaults spelt out
    assert a.hash == b.hash
    c = recipe_from_dict(_body(lr=1e-3))
    assert c.hash != a.hash
    assert a.effective()["stages"][0]["w_giou"] == StageConfig.w_giou  # defaults are in it


@pytest.mark.parametrize("over, message", [
    ({"method": "nope"}, "method must be one of"),
    ({"steps": 0}, "set a budget"),
    ({"colour": 1}, "unknown key"),
    ({"method": "sparse"}, "needs a teacher"),
    ({"method": "prune", "teacher": "teacher"}, "set init"),
    ({"method": "direct", "init": "missing"}, "no earlier stage"),
    ({"depth": -1}, "depth"),
])
def test_recipe_errors_name_the_problem(over, message):
    with pytest.raises(ConfigError, match=message):
        recipe_from_dict(_body(**over))


def test_recipe_refuses_test_splits_and_bad_data():
    with pytest.raises(ConfigError, match="never trained on"):
        DataConfig(source="dataset", dataset="lasot", split="test")
    with pytest.raises(ConfigError, match="source"):
        DataConfig(source="web")
    with pytest.raises(ConfigError, match="unknown top-level"):
        recipe_from_dict({**_body(), "extra": 1})


# -- data ----------------------------------------------------------------------------------------

def test_synthetic_pairs_come_from_the_train_split_only():
    cfg = DataConfig(sequences=1, val_sequences=1, frames=(20, 24))
    seq = next(tdata.synthetic_sequences(cfg, 0, 1))
    train_track, _ = _sequence(cfg.seed, tdata.SYNTHETIC_TRAIN_SPLIT, 0, cfg.frames, cfg.image_size)
    test_track, _ = _sequence(cfg.seed, 0, 0, cfg.frames, cfg.image_size)
    assert np.array_equal(seq.gt, train_track.gt())
    assert not np.array_equal(seq.gt[: len(test_track.boxes)], test_track.gt()[: len(seq.gt)])


def test_pairs_boxes_lie_in_the_crop_and_resume_batches_repeat():
    cfg = DataConfig(sequences=2, val_sequences=1, frames=(20, 24), pairs=12, val_pairs=4)
    train, val = tdata.build_pairs(cfg, 64, 128, seed=3)
    assert train.search.shape == (12, 3, 128, 128) and train.template.dtype == torch.uint8
    ok = train.present > 0
    b = train.boxes[ok]
    assert ((b >= 0) & (b <= 1)).all() and (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
    again, _ = tdata.build_pairs(cfg, 64, 128, seed=3)
    assert torch.equal(again.search, train.search)  # deterministic in the seed
    assert torch.equal(tdata.batch_indices(12, 5, 7, 1), tdata.batch_indices(12, 5, 7, 1))
    neg, _ = tdata.build_pairs(dataclasses.replace(cfg, pairs=40), 64, 128, seed=3,
                               negative_fraction=0.5)
    assert 0 < int((neg.present == 0).sum()) < 40


def _hidden_seq() -> "tdata.SeqData":
    """20 frames of 320x240; the target is visible in 0-9, hidden behind an occluder in 10-14
    (annotated box kept), out of view in 15-19 (annotation zeros)."""
    frames = [np.full((240, 320, 3), 10 + 10 * t, np.uint8) for t in range(20)]
    gt = np.tile(np.array([100.0, 80.0, 40.0, 30.0]), (20, 1))
    gt[10:15, 0] = 120.0
    gt[15:] = 0.0
    vis = np.ones(20)
    vis[10:] = 0.0
    return tdata.SeqData("hidden", frames, gt, vis)


def test_hidden_pairs_hold_the_annotated_or_last_box():
    cfg = DataConfig(sequences=1, val_sequences=1, frames=(20, 24), pairs=200, val_pairs=4,
                     center_jitter=0.0, scale_jitter=0.0, max_gap=100)
    seq = _hidden_seq()
    plain = tdata.make_pairs([seq], 200, 1, cfg, 64, 128, seed=5)
    mixed = tdata.make_pairs([seq], 200, 1, cfg, 64, 128, seed=5, hidden_fraction=0.5)
    # without jitter the search crop is centred on the held box: same relative box for all
    # pairs (visible frames, occluded frames with their annotation, out-of-view frames with the
    # last annotated box); hidden frames show up only when asked for
    assert torch.allclose(mixed.boxes, mixed.boxes[:1].expand_as(mixed.boxes), atol=1e-6)
    assert bool((mixed.present > 0).all())
    assert torch.equal(plain.search, tdata.make_pairs([seq], 200, 1, cfg, 64, 128, seed=5,
                                                      hidden_fraction=0.0).search)
    # the template/online crops and the non-hidden search crops draw the same random stream
    assert torch.equal(plain.template, mixed.template)
    assert not torch.equal(plain.search, mixed.search)
    assert tdata._held_box(seq, 12)[0] == 120.0 and tdata._held_box(seq, 17)[0] == 120.0
    with pytest.raises(ConfigError, match="hidden_fraction"):
        StageConfig(name="s", method="score", init="x", steps=1, hidden_fraction=0.2)


# -- losses and stages ---------------------------------------------------------------------------

def test_loss_pieces():
    gt = torch.tensor([[0.2, 0.3, 0.6, 0.7]])
    assert float(giou_loss(gt, gt)) == pytest.approx(0.0, abs=1e-6)
    t = edge_targets(gt, 32)
    assert torch.allclose(t.sum(-1), torch.ones(1, 4))
    pos = (t * torch.arange(32.0)).sum(-1) / 32
    assert torch.allclose(pos, torch.tensor([[0.2, 0.6, 0.3, 0.7]]), atol=1e-6)
    assert cosine_gamma(0.0, 0.5) == 1.0 and cosine_gamma(0.25, 0.5) == pytest.approx(0.5)
    assert cosine_gamma(0.6, 0.5) == 0.0
    feat = 8
    tl = torch.full((1, feat * feat), -20.0)
    tl[0, 2 * feat + 5] = 20.0  # row 2 (y), column 5 (x)
    m = corner_marginals(tl, tl.clone(), feat, 32)
    assert torch.allclose(m.sum(-1), torch.ones(1, 4), atol=1e-5)
    centre = (m * torch.arange(32.0)).sum(-1) / 32
    assert centre[0, 0] == pytest.approx(5.5 / 8, abs=0.01) and centre[0, 2] == pytest.approx(2.5 / 8, abs=0.01)
    assert spread_layers(8, 4) == [0, 2, 5, 7]


@pytest.fixture(scope="module")
def tiny_pairs():
    cfg = DataConfig(sequences=2, val_sequences=1, frames=(20, 24), pairs=16, val_pairs=8)
    return tdata.build_pairs(cfg, 64, 128, seed=0), tdata.build_pairs(cfg, 64, 128, seed=1,
                                                                      negative_fraction=0.3)


def _steps(stage: Stage, pairs, n: int = 2) -> list[float]:
    norm = tdata.Normalize()
    opt = torch.optim.AdamW(stage.parameters(), lr=1e-3)
    b = pairs.take(torch.arange(4))
    losses = []
    for _ in range(n):
        loss, parts = stage.loss(norm(b.template), norm(b.online), norm(b.search), b.boxes, b.present)
        assert torch.isfinite(loss) and parts
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_every_stage_trains_a_few_steps_and_hands_on(tiny_pairs):
    (train, _), (score_pairs, _) = tiny_pairs
    cfg = lambda **kw: StageConfig(steps=2, batch=4, **kw)  # noqa: E731
    teacher = Stage(cfg(name="teacher", method="teacher", depth=2, mlp_hidden=64), None, None, 0)
    losses = _steps(teacher, train, 6)
    assert losses[-1] < losses[0]  # one batch: the loss goes down
    t_out = teacher.final()
    assert t_out[0]["head"] == "corner"
    direct = Stage(cfg(name="direct", method="direct", depth=2, mlp_hidden=64), None, None, 0)
    _steps(direct, train)
    sparse = Stage(cfg(name="sparse", method="sparse", depth=2, mlp_hidden=64, init="teacher",
                       teacher="teacher"), t_out, t_out, 0)
    # the backbone is the teacher's
    assert torch.equal(sparse.student.backbone.blocks[0].attn.qkv.weight,
                       teacher.student.backbone.blocks[0].attn.qkv.weight)
    assert "kl" in sparse.loss(*_norm3(train), train.boxes[:4], train.present[:4])[1]
    _steps(sparse, train)
    s_out = sparse.final()
    prune = Stage(cfg(name="prune", method="prune", depth=1, init="sparse", teacher="sparse"),
                  s_out, s_out, 0)
    assert prune.removed == [1] and prune.keep == [0]
    assert prune.set_progress(0.0)["gamma"] == 1.0
    parts = prune.loss(*_norm3(train), train.boxes[:4], train.present[:4])[1]
    assert {"kl", "feat", "l1", "giou"} <= set(parts)
    assert parts["feat"] == pytest.approx(0.0, abs=1e-9) and parts["kl"] == pytest.approx(0.0, abs=1e-6)
    _steps(prune, train)
    prune.set_progress(1.0)  # gamma 0: removing the layer changes nothing
    p_cfg, p_sd = prune.final()
    pruned = MixFormerV2(p_cfg)
    pruned.load_state_dict(p_sd, strict=True)
    x = _norm3(train)
    prune.student.eval()
    with torch.no_grad():
        a = train_forward(prune.student, *x)["boxes"]
        b = train_forward(pruned.eval(), *x)["boxes"]
    assert p_cfg["depth"] == 1 and torch.allclose(a, b, atol=1e-5)
    mlp = Stage(cfg(name="mlp", method="mlp", mlp_hidden=16, init="prune", teacher="prune"),
                (p_cfg, p_sd), (p_cfg, p_sd), 0)
    fc1 = mlp.student.backbone.blocks[0].mlp.fc1.weight
    assert fc1.shape[0] == 16 and torch.equal(fc1, p_sd["backbone.blocks.0.mlp.fc1.weight"][:16])
    _steps(mlp, train)
    m_out = mlp.final()
    score = Stage(cfg(name="score", method="score", init="mlp"), m_out, None, 0)
    before = {k: v.clone() for k, v in score.student.state_dict().items()}
    _steps(score, score_pairs)
    after = score.student.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("score_head.") for k in changed)  # frozen tracker


def _norm3(pairs):
    n = tdata.Normalize()
    b = pairs.take(torch.arange(4))
    return n(b.template), n(b.online), n(b.search)


def test_resume_after_a_kill_gives_the_same_state(tiny_pairs, tmp_path, monkeypatch):
    (train, val), _ = tiny_pairs
    scfg = StageConfig(name="direct", method="direct", depth=1, mlp_hidden=32, steps=4, batch=4,
                       val_every=2, checkpoint_seconds=0.0, warmup_steps=1)
    full = Stage(scfg, None, None, 0)
    run_stage(full, train, val, tmp_path / "a", seed=5, progress_bar=False)

    killed = Stage(scfg, None, None, 0)
    calls = {"n": 0}
    real = killed.loss

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as a kill after step 2 was checkpointed
        return real(*a, **k)

    monkeypatch.setattr(killed, "loss", dying)
    with pytest.raises(KeyboardInterrupt):
        run_stage(killed, train, val, tmp_path / "b", seed=5, progress_bar=False)
    resumed = Stage(scfg, None, None, 0)
    res = run_stage(resumed, train, val, tmp_path / "b", seed=5, progress_bar=False)
    assert res.steps == 4
    for k, v in full.student.state_dict().items():
        assert torch.allclose(v, resumed.student.state_dict()[k], atol=1e-6), k
    # a state written for another configuration (stage hash) is set aside, not resumed
    other = Stage(scfg, None, None, 0)
    res = run_stage(other, train, val, tmp_path / "b", seed=5, progress_bar=False, key="changed")
    assert res.steps == 4 and (tmp_path / "b" / "state.stale.pt").is_file()


def test_checkpoint_layout_loads_with_the_safe_loader(tmp_path):
    model = MixFormerV2(StageConfig(name="x", method="direct", depth=1, steps=1).model_config())
    path = tmp_path / "m.pth"
    save_trained(path, model.config, model.state_dict(), {"stage": "x"})
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"net"}
    cfg, sd, meta = load_trained(path)
    assert meta["stage"] == "x" and cfg["depth"] == 1
    load_into(MixFormerV2(cfg), load_checkpoint(path))


def test_fp16_export_halves_the_floats_and_loads_back(tmp_path):
    model = MixFormerV2(StageConfig(name="x", method="direct", depth=1, steps=1).model_config())
    save_trained(tmp_path / "run" / "x" / "model.pth", model.config, model.state_dict(),
                 {"stage": "x"})
    export_stage(tmp_path / "run", "x", tmp_path / "w.pth", fp16=True)
    raw = torch.load(tmp_path / "w.pth", weights_only=True)["net"]
    assert {v.dtype for v in raw.values() if v.is_floating_point()} == {torch.float16}
    cfg, sd, meta = load_trained(tmp_path / "w.pth")
    assert meta["stored_dtype"].startswith("float16") and meta["stage"] == "x"
    again = MixFormerV2(cfg)
    load_into(again, sd)
    ref = model.state_dict()["backbone.blocks.0.mlp.fc1.weight"]
    assert torch.allclose(again.state_dict()["backbone.blocks.0.mlp.fc1.weight"], ref, atol=1e-3)


@pytest.mark.slow
def test_train_cli_smoke(tmp_path):
    run = tmp_path / "run"
    res = CliRunner().invoke(main, ["--workspace", str(tmp_path), "train", str(REPO / "recipes" / "tiny.toml"),
                                    "--out", str(run), "--export", f"score={tmp_path / 'w.pth'}"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out["stages"]) == {"teacher", "sparse", "prune", "mlp", "score"}
    assert (run / "curves.png").stat().st_size > 0 and (run / "log.jsonl").is_file()
    side = json.loads((tmp_path / "w.json").read_text())
    assert side["recipe_hash"] == out["recipe_hash"] and "val_iou" in side and side["command"]
    again = CliRunner().invoke(main, ["--workspace", str(tmp_path), "train",
                                      str(REPO / "recipes" / "tiny.toml"), "--out", str(run)])
    assert again.exit_code == 0 and json.loads(again.output)["wall_seconds"] < out["wall_seconds"] + 5


# -- the shipped weights -------------------------------------------------------------------------

def test_shipped_micro_checkpoint_loads_strictly_and_tracks():
    side = json.loads(MICRO.with_suffix(".json").read_text())
    assert side["recipe_hash"] and side["stage"] == "score" and "synthetic" in side["note"]
    assert MICRO.stat().st_size < 8e6
    sd = torch.load(MICRO, map_location="cpu", weights_only=True)["net"]
    spec = SpecRegistry(REPO / "trackers", workspace_root=REPO).resolve("mfv2-micro")
    tracker = build_tracker(spec)
    load_into(MixFormerV2(tracker.model.config), sd)  # strict
    track, frames = _sequence(0, 0, 0, (10, 10), (320, 240))
    rgb = [np.ascontiguousarray(f[:, :, ::-1]) for f in frames]
    gt = track.gt()
    tracker.initialize(rgb[0], gt[0])
    for f in rgb[1:4]:
        out = tracker.track(f)
        assert np.isfinite(out.box).all() and 0.0 <= out.score <= 1.0
