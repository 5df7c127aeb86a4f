"""``mfv2bench results``: list the store, import others' published raw results into it."""

from __future__ import annotations

import json

import click

from ..datasets.registry import load_split
from ..results.importer import FORMATS, SplitSequences, import_results
from ..results.store import ResultsStore
from ..workspace import Workspace
from .options import results_option, root_option


@click.group("results")
def command() -> None:
    """The results store: results/<tracker>/<dataset>-<split>/."""


@command.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option("--as", "as_name", required=True, help="Tracker name to store the results under.")
@click.option("--dataset", "-d", required=True, help="Data set, optionally with split.")
@click.option("--split", default=None, help="Split (default: the data set's).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Layout of the raw results.")
@click.option("--force", is_flag=True, help="Replace results already stored under that name.")
@click.option("--allow-partial", is_flag=True, help="Import when some sequences have no result.")
@root_option
@results_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def import_command(ws: Workspace, path, as_name, dataset, split, fmt, force, allow_partial,
                   root, results_dir, as_json) -> None:
    """Import raw results at PATH (folder, zip or tar) as tracker --as on a split."""
    data = load_split(dataset, split=split, root=root, workspace=ws, allow_partial=True)
    shape = SplitSequences(dataset=data.dataset, split=data.split, key=data.key,
                           lengths={s.name: s.n_frames for s in data.sequences},
                           expected=data.expected, missing=tuple(data.missing))
    res = import_results(path, as_name, shape, results_dir or ws.results_dir, fmt=fmt,
                         force=force, allow_partial=allow_partial)
    if as_json:
        click.echo(json.dumps({"tracker": res.tracker, "dataset": res.split_key,
                               "folder": str(res.folder), "sequences": len(res.sequences),
                               "missing": res.missing, "with_times": res.with_times}, indent=1))
        return
    click.echo(f"imported {len(res.sequences)} sequence(s) as {res.tracker} on {res.split_key} "
               f"-> {res.folder}" + (f" ({res.with_times} with times)" if res.with_times else ""))
    if res.missing:
        click.echo(f"PARTIAL: {len(res.missing)} sequence(s) without results")


@command.command("list")
@results_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_command(ws: Workspace, results_dir, as_json) -> None:
    """Every run folder: tracker, split, sequences, complete/partial, imported, timing."""
    rows = ResultsStore(results_dir or ws.results_dir).runs()
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo("no results yet")
        return
    for r in rows:
        state = "complete" if r["complete"] else "partial"
        what = "imported" if r["imported"] else (r["timing"] or "")
        exp = f"/{r['expected']}" if r["expected"] else ""
        click.echo(f"{r['tracker']:<24} {r['split']:<30} {r['sequences']}{exp:<6} {state:<9} {what}")
