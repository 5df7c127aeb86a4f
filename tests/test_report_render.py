"""HTML and PDF reports from a ReportModel: self-contained, escaped, every section, page by page."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from report_samples import EVIL_SEQUENCE, EVIL_TRACKER, sample_model

from mfv2bench.report.render import write_report


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict]]:
    c = _Collector()
    c.feed(html)
    return c.tags


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = write_report(sample_model(partial=True), out, pdf=True)
    return files


def test_html_is_self_contained(report):
    html = report.html.read_text(encoding="utf-8")
    tags = _tags(html)
    imgs = [a for t, a in tags if t == "img"]
    assert len(imgs) == 5  # success, precision, norm. precision, attributes, speed-accuracy
    assert all(a["src"].startswith("data:image/png;base64,") for a in imgs)
    for tag, attrs in tags:
        assert tag not in ("link", "iframe", "object", "embed")
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http:", "https:", "//")), (tag, value)
    assert sum(1 for t, a in tags if t == "script") == 1 and all("src" not in a for t, a in tags if t == "script")


def test_html_has_every_section_and_escapes_names(report):
    html = report.html.read_text(encoding="utf-8")
    ids = {a.get("id") for _, a in _tags(html)}
    for section in ("overall", "plots", "paired", "attributes", "speed", "leaderboard", "per-sequence",
                    "manifests", "partial-banner", "protocol-hash", "plot-success", "plot-precision",
                    "plot-norm-precision", "plot-attributes", "plot-speed-accuracy", "per-sequence-table"):
        assert section in ids, section
    assert "0123abcd" in html and "mixformerv2" in html
    assert EVIL_TRACKER not in html and EVIL_SEQUENCE not in html
    assert "&lt;img src=x onerror=&#34;document.title=1&#34;&gt;" in html
    assert "seq&lt;/td&gt;&lt;script&gt;window.injected=1&lt;/script&gt;" in html
    assert "50.0 [45.0, 55.0]" in html  # value with its CI
    table = html.split('id="per-sequence-table"')[1].split("</table>")[0]
    assert table.count("<tr") == 1 + 50 * 2 and "sortable" in html.split('id="per-sequence-table"')[0][-80:]


def test_no_partial_banner_when_complete(tmp_path):
    files = write_report(sample_model(partial=False, n_sequences=3), tmp_path, pdf=False)
    html = files.html.read_text()
    assert 'id="partial-banner"' not in html and files.pdf is None
    assert not list(tmp_path.glob(".tmp-*"))


pdf_tools = pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
                               reason="poppler-utils (pdftotext, pdftoppm) not installed")


def _page_text(pdf, page: int) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def _page_ink(pdf, page: int, tmp_path) -> float:
    """Fraction of non-white pixels on a page rendered at low resolution."""
    import matplotlib.image as mpimg

    stem = tmp_path / f"p{page}"
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], check=True)
    pixels = mpimg.imread(str(stem) + ".png")[..., :3]
    return float((pixels.mean(axis=2) < 0.9).mean())


@pdf_tools
def test_pdf_page_by_page(report, tmp_path):
    info = subprocess.run(["pdfinfo", str(report.pdf)], capture_output=True, text=True, check=True).stdout
    n_pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    texts = [_page_text(report.pdf, k) for k in range(1, n_pages + 1)]
    first = texts[0]
    assert "Sample report" in first and "PARTIAL RESULTS" in first and "0123abcd" in first
    assert "AUC [95% CI]" in first and "50.0 [45.0, 55.0]" in first
    expected_in_order = ["Success plots of OPE", "Precision plots of OPE", "Normalized precision plots",
                         "AUC per attribute", "Speed vs accuracy", "Paired comparisons",
                         "against published results", "Per-sequence results", "Run manifests"]
    pos = 0
    for title in expected_in_order:
        hits = [k for k in range(pos, n_pages) if title in texts[k]]
        assert hits, f"no page with {title!r} after page {pos + 1}"
        pos = hits[0]
    per_seq_pages = [k for k, t in enumerate(texts) if "Per-sequence results" in t]
    assert len(per_seq_pages) == 3  # 100 rows at 42 a page
    plot_pages = [k + 1 for k, t in enumerate(texts) if "plots of OPE" in t or "Speed vs accuracy" in t]
    for page in plot_pages:
        assert _page_ink(report.pdf, page, tmp_path) > 0.01, f"page {page} looks blank"
