"""``mfv2bench submit``: the zip the GOT-10k / TrackingNet servers expect, validated before use."""

from __future__ import annotations

import json

import click

from ..submit.workflow import check_zip, manifest_path, submit
from .analyze import not_empty
from .options import NAME, results_option, root_option


@click.command("submit")
@click.option("--tracker", type=NAME, help="Tracker whose raw results are packed (results/<tracker>/...).")
@click.option("--dataset", type=NAME, required=True, help="got10k-test or trackingnet-test (synthetic-* too).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Zip to write (default reports/submissions/<tracker>_<dataset>-<split>.zip).")
@root_option
@results_option
@click.option("--check", "check", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Only validate this existing zip against the split.")
@click.option("--no-times", "no_times", is_flag=True,
              help="Pack results that have no per-frame times: accepted where the server never "
                   "reads times (TrackingNet); refused for GOT-10k, whose zip needs them (the "
                   "error states the rule). The manifest records what was packed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def command(workspace, tracker, dataset, out, root, results_dir, check, no_times, as_json):
    """Pack raw results for an evaluation server, re-read the zip and validate it.

    Raw results are only read, never moved or deleted. A manifest of the zip
    (<zip name>.manifest.json) is written beside it."""
    not_empty(results=results_dir, root=root, out=out, check=check)
    if check:
        report = check_zip(workspace, check, dataset, root=root, no_times=no_times)
    else:
        if not tracker:
            raise click.UsageError("--tracker is required (or --check ZIP)")
        report = submit(workspace, tracker, dataset, out=out, root=root, results_dir=results_dir,
                        no_times=no_times)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1))
        return
    verb = "checked" if check else "packed"
    click.echo(f"{verb} {report.zip_path}")
    click.echo(f"  format: {report.format} ({report.server})")
    click.echo(f"  {report.sequences} sequences, {report.frames} frames, {report.members} files; "
               f"sha256 {report.sha256[:16]}")
    click.echo(f"  per-frame times: {report.times}")
    if not check:
        click.echo(f"  manifest: {manifest_path(report.zip_path)}")
    for note in report.notes:
        click.echo(f"  note: {note}")
    click.echo("valid: ready to upload" if not report.notes else "valid")
