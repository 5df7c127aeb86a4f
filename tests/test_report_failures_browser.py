"""The failure galleries and attention figures as a reader sees them: headless Chromium opens
the report with no console errors, every image (thumbnails, attention figures, plots) decodes once
the galleries are opened, and a page of 280 synthetic sequences stays under its stated size."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
from report_samples import write_store_results

from mfv2bench.app.explain import explain
from mfv2bench.datasets.registry import load_split
from mfv2bench.datasets.synthetic import write_synthetic
from mfv2bench.report.build import build_report
from mfv2bench.report.failures import page_budget
from mfv2bench.report.gallery import SEQUENCE_BUDGET
from mfv2bench.workspace import load_workspace

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.slow]  # conftest skips without chromium

N_SEQUENCES = 280
# the stated size of a 280-sequence report with 2 trackers: the failure section's budget
# (report.failures.page_budget) plus the rest of the page
PAGE_LIMIT = page_budget(N_SEQUENCES, ["close", "far"]) + 1_000_000

TINY_SPEC = """kind = "mixformerv2"
[model]
variant = "small"
depth = 1
mlp_hidden = 32
random_weights = true
"""

# After load: open every gallery, load every image eagerly, wait until each is complete (loaded
# or failed), then write what a reader would see into the DOM.
PROBE = """
<script>
window.addEventListener("load", function () {
  var b = document.body;
  Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  var imgs = Array.prototype.slice.call(document.images);
  b.setAttribute("data-lazy", document.querySelectorAll('#failure-sequences img[loading="lazy"]').length);
  imgs.forEach(function (i) { i.loading = "eager"; });
  var tries = 0;
  function record() {
    var done = imgs.filter(function (i) { return i.complete; }).length;
    if (done < imgs.length && ++tries < 100) { setTimeout(record, 50); return; }
    b.setAttribute("data-images", imgs.length);
    b.setAttribute("data-images-ok", imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length);
    b.setAttribute("data-strips", document.querySelectorAll("svg.iou-strip").length);
    b.setAttribute("data-probe", "done");
  }
  record();
});
</script>
"""


def _chromium(url: str, profile, *extra: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
           *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def _attrs(dom: str) -> dict[str, str]:
    body = re.search(r"<body([^>]*)>", dom).group(1)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("gallery")
    (root / "mfv2bench.toml").write_text("[paths]\n")
    ws = load_workspace(root)
    ws.trackers_dir.mkdir(parents=True, exist_ok=True)
    (ws.trackers_dir / "tiny.toml").write_text(TINY_SPEC)
    write_synthetic("lasot", ws.data_root("synthetic-lasot"), n_sequences=3, n_frames=(20, 24),
                    size=(128, 96), seed=6)
    split = load_split("synthetic-lasot", workspace=ws)
    write_store_results(ws.results_dir, "close", split, noise=2.0, seed=1)
    write_store_results(ws.results_dir, "far", split, noise=20.0, seed=2)
    ex = explain(ws, "tiny", "synthetic-lasot", split.sequences[0].name, 4, out=root / "explain")
    files = build_report(ws, "synthetic-lasot", ["close", "far"], out=root / "report", pdf=False,
                         attention=[ex.folder])
    return root, files.html


def test_gallery_and_attention_open_without_errors_and_every_image_decodes(small_report):
    root, html = small_report
    plain = _chromium(html.as_uri(), root / "profile1", "--dump-dom")
    assert plain.returncode == 0, plain.stderr[-2000:]
    console = [line for line in plain.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    assert "net::ERR" not in plain.stderr
    for marker in ('id="failures"', 'id="attention"', 'class="iou-strip"'):
        assert marker in plain.stdout, marker
    probe = html.parent / "probe.html"
    probe.write_text(html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    probed = _chromium(probe.as_uri(), root / "profile2", "--dump-dom")
    attrs = _attrs(probed.stdout)
    assert attrs.get("probe") == "done", probed.stderr[-2000:]
    page = html.read_text()
    n_thumbs = len(re.findall(r'<img loading="lazy" decoding="async" src="data:image/jpeg', page))
    assert n_thumbs > 3  # thumbnails (lazy) and the attention figures (lazy)
    assert int(attrs["images"]) >= n_thumbs and attrs["images-ok"] == attrs["images"]
    assert int(attrs["lazy"]) > 0 and attrs["strips"] == "3"


def test_280_sequence_gallery_stays_under_its_stated_size(tmp_path):
    root = tmp_path
    (root / "mfv2bench.toml").write_text("[paths]\n")
    ws = load_workspace(root)
    write_synthetic("lasot", ws.data_root("synthetic-lasot"), n_sequences=N_SEQUENCES, n_frames=(20, 30),
                    size=(128, 96), seed=5)
    split = load_split("synthetic-lasot", workspace=ws)
    assert len(split) == N_SEQUENCES
    write_store_results(ws.results_dir, "close", split, noise=2.0, seed=1)
    write_store_results(ws.results_dir, "far", split, noise=15.0, seed=2)
    files = build_report(ws, "synthetic-lasot", ["close", "far"], out=root / "report", pdf=False)
    page = files.html.read_text()
    size = len(page.encode())
    start = page.index('<h2 id="failures">')
    section = page[start:page.index("<h2 ", start + 10)]
    assert section.count('<details class="failures"') == N_SEQUENCES
    assert len(section.encode()) <= page_budget(N_SEQUENCES, ["close", "far"])
    assert size <= PAGE_LIMIT, f"{size} bytes > {PAGE_LIMIT}"
    per_sequence = [len("".join(m)) for m in
                    (re.findall(r'src="(data:image/jpeg;base64,[^"]+)"', d)
                     for d in section.split('<details class="failures"')[1:])]
    assert max(per_sequence) <= SEQUENCE_BUDGET
    # opens without console errors; closed galleries, lazy thumbnails
    started = time.monotonic()
    plain = _chromium(files.html.as_uri(), root / "profile", "--dump-dom")
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert [line for line in plain.stderr.splitlines() if ":CONSOLE" in line] == []
    assert time.monotonic() - started < 120
    print(f"280-sequence report: {size} bytes, failure section {len(section.encode())} bytes "
          f"({len(section.encode()) / N_SEQUENCES:.0f} per sequence), largest gallery {max(per_sequence)}")
