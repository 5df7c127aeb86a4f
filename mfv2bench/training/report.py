"""The training report of a run folder: loss and validation curves per stage as PNG
(``curves.png``) and the summary as Markdown (``report.md``), from ``log.jsonl`` and the
stages' sidecars."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

log = logging.getLogger(__name__)


def read_log(run_dir: Path) -> dict[str, list[dict]]:
    """Log entries per stage, in order (a resumed stage's repeated steps keep the last)."""
    stages: dict[str, dict[int, dict]] = {}
    path = Path(run_dir) / "log.jsonl"
    if not path.is_file():
        return {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        key = (e["step"], "val_iou" in e)
        stages.setdefault(e["stage"], {})[key] = e
    return {k: [v[s] for s in sorted(v)] for k, v in stages.items()}


def write_report(run_dir: str | Path) -> Path | None:
    """Write ``curves.png`` and ``report.md`` in ``run_dir``; returns the PNG path."""
    run_dir = Path(run_dir)
    per = read_log(run_dir)
    if not per:
        return None
    fig, axes = plt.subplots(2, len(per), figsize=(3.2 * len(per), 5.5), squeeze=False)
    for j, (name, entries) in enumerate(per.items()):
        tr = [e for e in entries if "loss" in e]
        va = [e for e in entries if "val_iou" in e]
        ax = axes[0][j]
        ax.plot([e["step"] for e in tr], [e["loss"] for e in tr], lw=1)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss" if j == 0 else "")
        ax.set_yscale("log")
        ax = axes[1][j]
        ax.plot([e["step"] for e in va], [e["val_iou"] for e in va], marker=".", lw=1)
        ax.set_xlabel("step")
        ax.set_ylabel("validation mean IoU" if j == 0 else "")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    png = run_dir / "curves.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)
    lines = ["# Training report", "", "| stage | method | steps | train s | samples/s | val IoU |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name in per:
        side = run_dir / name / "model.json"
        if side.is_file():
            m = json.loads(side.read_text())
            lines.append(f"| {name} | {m['method']} | {m['steps']} | {m['train_seconds']} | "
                         f"{m['samples_per_s']} | {m['val_iou']} |")
    lines += ["", "![curves](curves.png)", ""]
    (run_dir / "report.md").write_text("\n".join(lines))
    return png
