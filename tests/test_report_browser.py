"""The HTML report as a reader sees it: headless Chromium loads it with no console errors, no
network, every image decoded, injected names inert, and the per-sequence table sorts on click."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from report_samples import sample_model

from mfv2bench.report.render import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.slow]  # conftest skips without chromium

# Appended to a copy of the report: after load, record what a reader would see into the DOM.
PROBE = """
<script>
window.addEventListener("load", function () {
  var b = document.body;
  var imgs = Array.prototype.slice.call(document.images);
  b.setAttribute("data-images", imgs.length);
  b.setAttribute("data-images-ok", imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length);
  b.setAttribute("data-injected", String(window.injected === 1 || document.title === "1"));
  var table = document.getElementById("per-sequence-table");
  var th = table.tHead.rows[0].cells[2];
  th.click(); th.click();  // AUC descending
  var col = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[2].textContent; });
  b.setAttribute("data-sorted", col.join("|"));
  b.setAttribute("data-probe", "done");
});
</script>
"""


def _chromium(url: str, profile, *extra: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
           *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    files = write_report(sample_model(partial=True), out / "report", pdf=False)
    probe = out / "report" / "probe.html"
    probe.write_text(files.html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    plain = _chromium(files.html.as_uri(), out / "profile1", "--dump-dom")
    probed = _chromium(probe.as_uri(), out / "profile2", "--dump-dom")
    return plain, probed


def test_no_console_errors_and_no_network(rendered):
    plain, _ = rendered
    assert plain.returncode == 0, plain.stderr[-2000:]
    console = [line for line in plain.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    assert "net::ERR" not in plain.stderr


def test_reader_sees_plots_tables_and_banner(rendered):
    plain, probed = rendered
    dom = plain.stdout
    for marker in ('id="partial-banner"', 'id="plot-success"', 'id="plot-precision"', 'id="plot-norm-precision"',
                   'id="plot-attributes"', 'id="plot-speed-accuracy"', 'id="overall-table"', 'id="paired-table"',
                   'id="per-sequence-table"', 'id="protocol-hash"', "Run manifests"):
        assert marker in dom, marker
    body = re.search(r"<body([^>]*)>", probed.stdout).group(1)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    assert attrs.get("probe") == "done", probed.stderr[-2000:]
    assert attrs["images"] == "5" and attrs["images-ok"] == "5"
    assert attrs["injected"] == "false"
    values = [float(v) for v in attrs["sorted"].split("|")]
    assert values == sorted(values, reverse=True) and len(values) == 100
