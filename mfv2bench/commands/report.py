"""``mfv2bench report``: self-contained HTML (and PDF) report from raw results on disk."""

from __future__ import annotations

from pathlib import Path

import click

from ..metrics.protocols import check_protocol_name
from ..report.build import build_report
from .analyze import not_empty
from .options import NAME, NAME_LIST, results_option, root_option


@click.command("report")
@click.option("--dataset", type=NAME, required=True, help="Data set (and split), e.g. lasot, got10k-val, synthetic-lasot.")
@click.option("--trackers", type=NAME_LIST, required=True, help="Comma-separated tracker names with results in the store.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Report folder (default reports/<dataset>-<split>).")
@click.option("--pdf/--no-pdf", default=False, show_default=True, help="Also write report.pdf.")
@click.option("--protocol", default=None, callback=lambda c, p, v: check_protocol_name(v),
              help="Metric protocol (default: the data set's).")
@root_option
@results_option
@click.option("--title", type=NAME, default=None, help="Report title.")
@click.option("--allow-partial", is_flag=True,
              help="Score on the sequences every tracker has when some results are missing "
                   "(the report is then marked partial).")
@click.option("--failures/--no-failures", default=None,
              help="Per-sequence IoU strips and galleries of the frames where trackers fail "
                   "(default: on when the data set's frames are on disk).")
@click.option("--attention", "attention", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="Output folder of `mfv2bench explain` whose figures the report shows (repeatable).")
@click.pass_obj
def command(workspace, dataset, trackers, out, pdf, protocol, root, results_dir, title, allow_partial,
            failures, attention):
    """Write a self-contained HTML (and PDF) report from raw results on disk.

    Success, precision and normalized precision plots, per-attribute AUC, speed-accuracy scatter,
    tables with confidence intervals and paired comparisons, sortable per-sequence tables, the
    metric protocol and its hash, the run manifests, and a banner when anything was partial."""
    not_empty(results=results_dir, root=root, out=out)
    names = trackers  # a list, checked by NAME_LIST
    files = build_report(workspace, dataset, names, out=Path(out) if out else None,
                         pdf=pdf, protocol=protocol, root=root, results_dir=results_dir,
                         title=title, allow_partial=allow_partial, failures=failures,
                         attention=[Path(a) for a in attention])
    click.echo(f"wrote {files.html}")
    if files.pdf:
        click.echo(f"wrote {files.pdf}")
