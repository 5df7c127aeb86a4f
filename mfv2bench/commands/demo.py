"""``mfv2bench demo``: synthetic LaSOT-format data, baselines (+ MixFormerV2 with checkpoints), speed, report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..app.demo import DemoOptions, run_demo
from .options import JOBS, NAME_LIST


@click.command("demo")
@click.option("--sequences", type=click.IntRange(1, 200), default=6, show_default=True,
              help="Synthetic sequences to write (only when the data set is not there yet).")
@click.option("--frames", type=click.IntRange(5, 5000), default=None,
              help="Frames per synthetic sequence (default 60 to 100).")
@click.option("--trackers", type=NAME_LIST, default=None,
              help="Comma-separated tracker specs (default: csrt,kcf,mil,mfv2-micro,mfv2-b,mfv2-s).")
@click.option("--jobs", type=JOBS, default=1, show_default=True,
              help="Parallel workers for the runs.")
@click.option("--no-speed", is_flag=True, help="Skip the speed measurements.")
@click.option("--no-pdf", is_flag=True, help="Write the HTML report only.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Report folder (default reports/demo).")
@click.pass_obj
def command(workspace, sequences, frames, trackers, jobs, no_speed, no_pdf, out):
    """Run the whole pipeline on the embedded synthetic data set and write the report.

    Exit status 1 when a tracker failed (its run or its speed measure; the report of what
    finished is still written), 2 when nothing could run."""
    opts = DemoOptions(sequences=sequences, jobs=jobs, speed=not no_speed, pdf=not no_pdf,
                       trackers=trackers or None, out=Path(out) if out else None)
    if frames is not None:
        opts.frames = frames
        opts.speed_frames = min(opts.speed_frames, frames)
    result = run_demo(workspace, opts, log=click.echo)
    if result.metrics_text:
        click.echo("")
        click.echo(result.metrics_text)
    click.echo("")
    click.echo(f"ran: {', '.join(result.ran)}")
    for name, reason in result.skipped.items():
        click.echo(f"skipped {name}: {reason}")
    for name, reason in result.failed.items():
        click.echo(f"failed {name}: {reason}")
    for name, reason in result.speed_failed.items():
        click.echo(f"speed of {name} not measured: {reason}")
    click.echo(f"open {result.report_html}")
    if not result.ok:
        bad = sorted({*result.failed, *result.speed_failed})
        click.echo(f"error: {len(bad)} tracker(s) failed: {', '.join(bad)} (the report shows "
                   "the others)", err=True)
        sys.exit(1)

