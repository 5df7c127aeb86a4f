"""The report's failure analysis: frame selection (lowest IoU, lost after success, recovered),
IoU strips (absent frames shaded, names escaped), budgeted JPEG thumbnails in report colours,
the section in the page (lazy, closed details) and the report options."""

from __future__ import annotations

import base64
import re
import shutil

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from report_samples import write_store_results

from mfv2bench.cli import main
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.report import failures as fl
from mfv2bench.report import gallery
from mfv2bench.report.build import build_report, report_model
from mfv2bench.report.plots import style_for
from mfv2bench.workspace import load_workspace

EVIL = '<img src=x onerror="document.title=1">'


def _decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/jpeg;base64,")
    img = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def test_events_lowest_lost_recovered():
    iou = np.full(60, 0.8)
    iou[0] = np.nan
    iou[30:40] = 0.1
    iou[35] = 0.02
    iou[40:] = 0.7
    absent = np.zeros(60, bool)
    events = {ev.reason: f for f, ev in fl.tracker_events("a", iou, absent)}
    assert events == {"lowest": 35, "lost": 30, "recovered": 40}
    # absent frames are never selected and neither break nor extend a run
    absent[35] = True
    events = {ev.reason: f for f, ev in fl.tracker_events("a", iou, absent)}
    assert events["lowest"] != 35 and iou[events["lowest"]] == pytest.approx(0.1)
    # a tracker that never fails has no events; too short a success stretch is no "loss"
    assert fl.tracker_events("a", np.full(20, 0.9), np.zeros(20, bool)) == []
    short = np.r_[np.nan, np.full(3, 0.9), np.full(10, 0.1)]
    assert [ev.reason for _, ev in fl.tracker_events("a", short, np.zeros(14, bool))] == ["lowest"]


def test_select_frames_merges_and_caps():
    rng = np.random.default_rng(0)
    ious = {f"t{i}": np.clip(rng.uniform(0.3, 1.0, 200), 0, 1) for i in range(5)}
    for v in ious.values():
        v[0] = np.nan
    frames = fl.select_frames(ious, np.zeros(200, bool), max_frames=4)
    assert len(frames) == 4 and [f.index for f in frames] == sorted(f.index for f in frames)
    # lowest-IoU frames win places first (one per tracker, round robin in tracker order)
    lowest = {int(np.nanargmin(v)) for v in list(ious.values())[:4]}
    assert lowest <= {f.index for f in frames}
    # one frame where two trackers fail carries both reasons
    a = np.r_[np.nan, np.full(20, 0.9), 0.0, np.full(5, 0.9)]
    both = fl.select_frames({"a": a, "b": a.copy()}, np.zeros(len(a), bool))
    assert both[0].index == 21 and {e.tracker for e in both[0].events} == {"a", "b"}
    assert "frame 22" in both[0].caption


def test_strip_svg_shades_absent_escapes_names_and_bounds_points():
    n = 5000
    absent = np.zeros(n, bool)
    absent[100:300] = True
    ious = {EVIL: np.linspace(0, 1, n), "b": np.full(n, np.nan)}
    svg = str(fl.strip_svg(ious, absent, {EVIL: "#d62728", "b": "#1f77b4"}, marks=[10, 2000]))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<img" not in svg and "&lt;img" in svg
    assert svg.count("<rect") == 1 and "absent: frames 101-300" in svg
    points = re.findall(r'points="([^"]*)"', svg)
    assert len(points) == 1 and len(points[0].split()) <= fl.STRIP_POINTS  # the NaN row draws nothing
    assert ">11<" in svg and ">2001<" in svg  # 1-based marks
    assert len(svg) < 10_000
    # a flickering absence label on a long sequence: shading bounded, the strip within its budget
    flicker = np.arange(n) % 2 == 0
    svg = str(fl.strip_svg({"a": np.full(n, 0.4)}, flicker, {"a": "#d62728"}))
    assert svg.count("<rect") <= fl.STRIP_POINTS // 4
    assert len(svg) <= fl.STRIP_SHADING_BYTES + fl.STRIP_BYTES_PER_TRACKER
    assert fl.page_budget(280, ["a", "b"]) == 280 * fl.page_budget(1, ["a", "b"])


def test_colours_are_the_plots_colours():
    assert fl.tracker_colours(["x", "y", "z"]) == {t: style_for(i)["color"] for i, t in enumerate("xyz")}


def test_thumbnail_draws_boxes_in_colour_around_the_region():
    image = np.full((480, 640, 3), 90, np.uint8)
    thumb = gallery.thumbnail(image, [300, 200, 40, 30], [([100, 100, 50, 50], "#1f77b4")])
    assert max(thumb.shape[:2]) == gallery.THUMB_SIDE
    blue = np.array(gallery.hex_to_rgb("#1f77b4"))
    assert (np.abs(thumb.astype(int) - blue).sum(axis=2) < 40).sum() > 20  # the tracker's box
    assert (thumb == 255).all(axis=2).sum() > 20  # the GT, white
    # no valid box: the whole frame, scaled
    assert gallery.view_region(image.shape, [[0, 0, 0, 0], [np.nan] * 4]) == (0, 0, 640, 480)


@pytest.fixture
def synthetic_ws(workspace):
    ws = load_workspace(workspace)
    write_synthetic("lasot", ws.data_root("synthetic-lasot"), n_sequences=3, n_frames=(30, 40),
                    size=(160, 120), seed=1)
    split = load_split("synthetic-lasot", workspace=ws)
    write_store_results(ws.results_dir, "close", split, noise=2.0, seed=1)
    write_store_results(ws.results_dir, EVIL, split, noise=25.0, seed=2)
    return ws, split


def test_gallery_fits_its_budget_by_quality_size_then_frames(synthetic_ws):
    ws, split = synthetic_ws
    boxes = fl.tracker_boxes(split, ["close", EVIL], ws.results_dir, fl.get_protocol("mixformerv2"))
    seq = split.sequences[0]
    sf = fl.analyze_failures(split, ["close", EVIL], boxes, "mixformerv2", max_frames=6)[0]
    sf.frames = [fl.GalleryFrame(i, [fl.FrameEvent("close", "recovered", 0.5)], {}) for i in range(1, 7)]
    sf.frames[2].events = [fl.FrameEvent("close", "lowest", 0.0)]
    colours = fl.tracker_colours(["close", EVIL])
    gallery.draw_gallery(seq, sf, {t: boxes[t][seq.name] for t in boxes}, colours, budget=10**9)
    roomy = sf.gallery_bytes
    assert len(sf.frames) == 6 and all(max(f.width, f.height) == gallery.THUMB_SIDE for f in sf.frames)
    for f in sf.frames:
        assert _decode(f.uri).shape[:2] == (f.height, f.width)
    # a budget of about two thumbnails: lower quality and size first, then least important frames go
    sf.frames = [fl.GalleryFrame(i, [fl.FrameEvent("close", "recovered", 0.5)], {}) for i in range(1, 7)]
    sf.frames[2].events = [fl.FrameEvent("close", "lowest", 0.0)]
    budget = roomy // 4
    gallery.draw_gallery(seq, sf, {t: boxes[t][seq.name] for t in boxes}, colours, budget=budget)
    assert 0 < sf.gallery_bytes <= budget and 1 <= len(sf.frames) < 6
    assert 3 in [f.index for f in sf.frames]  # the lowest-IoU frame is kept
    assert sum(len(f.uri) for f in sf.frames) == sf.gallery_bytes


def test_report_page_has_strips_and_lazy_galleries(synthetic_ws):
    ws, split = synthetic_ws
    files = build_report(ws, "synthetic-lasot", ["close", EVIL], out=ws.reports_dir / "r", pdf=False)
    page = files.html.read_text()
    assert 'id="failures"' in page and page.count('<details class="failures"') == 3
    assert page.count('<svg class="iou-strip"') == 3
    imgs = re.findall(r'<img loading="lazy" decoding="async" src="(data:image/jpeg;base64,[^"]+)"', page)
    assert imgs, "no thumbnails"
    for uri in imgs:
        _decode(uri)
    assert "<img src=x" not in page  # the hostile tracker name stays text
    m = report_model(ws, "synthetic-lasot", ["close", EVIL])
    section = m.failures
    assert section is not None and section.colours == fl.tracker_colours(["close", EVIL])
    assert all(s.gallery_bytes <= section.budget_per_sequence for s in section.sequences)
    worst = [s.worst for s in section.sequences]
    assert worst == sorted(worst)
    assert set(fl.section_json(section)) == {s.name for s in split.sequences}
    # the far tracker fails somewhere: its events are in the gallery
    assert any(e.tracker == EVIL for s in section.sequences for f in s.frames for e in f.events)


def test_absent_frames_are_shaded_from_the_labels(synthetic_ws):
    ws, split = synthetic_ws
    seq = split.sequences[0]
    flags = np.zeros(seq.n_frames, int)
    flags[10:15] = 1  # LaSOT's full_occlusion.txt: one comma-separated row of 0/1
    (seq.frames[0].parent.parent / "full_occlusion.txt").write_text(",".join(map(str, flags)) + "\n")
    seq = load_split("synthetic-lasot", workspace=ws).by_name()[seq.name]
    assert fl.absent_mask(seq)[10:15].all()
    m = report_model(ws, "synthetic-lasot", ["close"], failures=True)
    strip = str(next(s.strip for s in m.failures.sequences if s.name == seq.name))
    assert strip.count("<rect") == 1 and "absent: frames 11-15" in strip
    shown = next(s for s in m.failures.sequences if s.name == seq.name).frames
    assert not any(10 <= f.index < 15 for f in shown)


def test_report_options_and_frames_missing(synthetic_ws):
    ws, split = synthetic_ws
    res = CliRunner().invoke(main, ["report", "--dataset", "synthetic-lasot", "--trackers", "close",
                                    "--no-failures", "--out", str(ws.reports_dir / "off")])
    assert res.exit_code == 0, res.output
    assert 'id="failures"' not in (ws.reports_dir / "off" / "index.html").read_text()
    # frames unreadable (empty files): strips, no thumbnails, and a note naming how many
    for seq in split.sequences:
        for frame in seq.frames:
            frame.write_bytes(b"")
    m = report_model(ws, "synthetic-lasot", ["close"])
    assert m.failures is not None and all(f.uri == "" for s in m.failures.sequences for f in s.frames)
    assert any("could not be read" in n for n in m.failures.notes)
    assert all("frames not readable" in s.note for s in m.failures.sequences if s.frames)


def test_frames_not_on_disk_default_off_asked_strips_only(synthetic_ws, monkeypatch):
    ws, _ = synthetic_ws
    monkeypatch.setattr(fl, "frames_readable", lambda split: False)
    assert report_model(ws, "synthetic-lasot", ["close"]).failures is None
    m = report_model(ws, "synthetic-lasot", ["close"], failures=True)
    assert m.failures is not None and all(f.uri == "" for s in m.failures.sequences for f in s.frames)
    assert any("not on disk" in n for n in m.failures.notes)
    assert all(str(s.strip).startswith("<svg") for s in m.failures.sequences)


def test_diverged_boxes_draw_without_error():
    """A tracker whose boxes grow without bound (1e308, overflowing x + w) or sit far away is
    drawn clipped or skipped, never an OverflowError (issue 11)."""
    import numpy as np

    from mfv2bench.report.gallery import draw_frame, thumbnail

    img = np.zeros((48, 64, 3), np.uint8)
    gt = [10, 10, 20, 20]
    for bad in ([1e308, 1e308, 1e308, 1e308], [1e12, -1e12, 5, 5], [5, 5, 1e300, 1e300],
                [float("inf"), 0, 1, 1]):
        out = thumbnail(img, gt, [(bad, "#ff0000")])
        assert out.ndim == 3 and out.size > 0
        assert draw_frame(img, gt, [("t", bad, "#ff0000")]).shape == img.shape
