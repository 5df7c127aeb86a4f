"""``mfv2bench show``: a sequence with the GT and stored trackers' boxes drawn (video or frames)."""

from __future__ import annotations

import click

from ..app.show import IMAGE_FORMATS, short_notes, show
from ..workspace import Workspace
from .options import results_option, root_option


@click.command("show")
@click.option("--tracker", "trackers", multiple=True, required=True,
              help="Tracker with results on disk (repeat for several).")
@click.option("--dataset", required=True, help="Data set (and split), e.g. lasot, synthetic-lasot.")
@click.option("--sequence", required=True, help="Sequence name.")
@click.option("--frames", default=None, help="Frames a:b, 1-based and inclusive (default: all).")
@click.option("--out", required=True, type=click.Path(),
              help="FILE.mp4 (a video) or a folder (one image per frame).")
@click.option("--fps", type=click.FloatRange(1.0, 240.0), default=25.0, show_default=True,
              help="Frame rate of the video.")
@click.option("--image-format", type=click.Choice(IMAGE_FORMATS), default="jpg", show_default=True,
              help="Image files written into a folder.")
@click.option("--no-gt", is_flag=True, help="Do not draw the ground truth.")
@root_option
@results_option
@click.pass_obj
def command(ws: Workspace, trackers, dataset, sequence, frames, out, fps, image_format, no_gt, root,
            results_dir):
    """Draw the ground truth (white) and each tracker's stored boxes (in its report colour) on
    the frames of one sequence, as an MP4 video or a folder of images."""
    files = show(ws, list(dict.fromkeys(trackers)), dataset, sequence, out, frames=frames, root=root,
                 results_dir=results_dir, fps=fps, image_format=image_format, gt=not no_gt)
    click.echo(f"wrote {files.path} ({files.frames} frames)")
    for line in short_notes(files):
        click.echo(f"note: {line}")
