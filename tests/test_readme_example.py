"""The README's "Use from Python" example runs as written, in a fresh temp workspace."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    """The first ```python block of the README's "Use from Python" section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Use from Python\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README 'Use from Python' has no python code block"
    return match.group(1)


def test_readme_example_runs(workspace, monkeypatch):
    shutil.copy(REPO / "trackers" / "kcf.toml", workspace / "trackers" / "kcf.toml")
    monkeypatch.chdir(workspace)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(readme_example(), "README.md", "exec"), {"__name__": "readme_example"})
    printed = out.getvalue()
    assert "kcf" in printed and "stay-put" in printed and "AUC" in printed
    assert (workspace / "results" / "stay-put" / "synthetic-lasot-test" / "run.json").is_file()
    html = workspace / "reports" / "synthetic-lasot-test" / "index.html"
    assert html.is_file() and f"report: {html}" in printed
