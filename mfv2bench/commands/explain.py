"""``mfv2bench explain``: the attention of a tracker's prediction tokens on one frame."""

from __future__ import annotations

import click

from ..app.explain import STATES, explain
from ..workspace import Workspace
from .options import device_option, results_option, root_option


@click.command("explain")
@click.option("--tracker", required=True, help="Tracker spec (a kind that can explain, e.g. mfv2-s).")
@click.option("--dataset", required=True, help="Data set (and split), e.g. lasot, synthetic-lasot.")
@click.option("--sequence", required=True, help="Sequence name.")
@click.option("--frame", type=click.IntRange(2, None), required=True,
              help="Frame to explain, 1-based (frame 1 initialises the tracker).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default reports/explain/<tracker>-<sequence>-<frame>).")
@click.option("--state", type=click.Choice(STATES), default="run", show_default=True,
              help="Tracker state before the frame: run (track from frame 1), gt (previous GT box) "
                   "or result (the tracker's stored result).")
@click.option("--cached/--full", default=True, show_default=True,
              help="Template-cache path or the full joint forward (the maps are the same).")
@click.option("--layers/--no-layers", default=True, show_default=True,
              help="Also one figure per layer (besides the average).")
@device_option()
@root_option
@results_option
@click.pass_obj
def command(ws: Workspace, tracker, dataset, sequence, frame, out, state, cached, layers, device, root,
            results_dir):
    """Write PNGs of the attention of each prediction token over the search crop and both
    templates (averaged and per layer) with the predicted edge distributions; include them in
    a report with ``mfv2bench report --attention DIR``."""
    files = explain(ws, tracker, dataset, sequence, frame, out=out, state=state, cached=cached,
                    device=device, root=root, results_dir=results_dir, layers=layers)
    for path in files.figures:
        click.echo(f"wrote {path}")
    click.echo(f"wrote {files.index}")
