"""``mfv2bench results``: list the store, import others' published raw results into it."""

from __future__ import annotations

import json

import click

from ..datasets.registry import load_split, official_names
from ..errors import ConfigError
from ..metrics.protocols import SHORT_RULES, default_protocol, get_protocol
from ..results.importer import (BOX_FORMATS, DEFAULT_MAX_MEMBERS, FORMATS, SplitSequences,
                                 import_results)
from ..results import manifest as mf
from ..results.store import ResultsStore
from ..workspace import Workspace
from .analyze import not_empty
from .options import NAME, count, results_option, root_option


@click.group("results")
def command() -> None:
    """The results store: results/<tracker>/<dataset>-<split>/."""


@command.command("import")
@click.argument("path", type=click.Path(exists=True))
@click.option("--as", "as_name", type=NAME, required=True, help="Tracker name to store the results under.")
@click.option("--dataset", "-d", type=NAME, required=True, help="Data set, optionally with split.")
@click.option("--split", type=NAME, default=None, help="Split (default: the data set's).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Layout of the raw results.")
@click.option("--box-format", type=click.Choice(BOX_FORMATS), default="xywh", show_default=True,
              help="Rows of the raw results: x,y,w,h or corners x1,y1,x2,y2 (converted).")
@click.option("--force", is_flag=True, help="Replace results already stored under that name.")
@click.option("--allow-partial", is_flag=True,
              help="Import when some sequences have no result or a short one (those are listed).")
@click.option("--max-bytes", default="4GiB", show_default=True,
              help="Refuse an archive that would extract to more (e.g. 500MB, 8GiB, 1000000).")
@click.option("--max-members", type=count(1), default=DEFAULT_MAX_MEMBERS, show_default=True,
              help="Refuse an archive with more entries.")
@root_option
@results_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def import_command(ws: Workspace, path, as_name, dataset, split, fmt, box_format, force,
                   allow_partial, max_bytes, max_members, root, results_dir, as_json) -> None:
    """Import raw results at PATH (folder, zip or tar) as tracker --as on a split."""
    not_empty(results=results_dir, root=root)
    cap = parse_size(max_bytes, "--max-bytes")
    if not as_name.strip() or as_name != as_name.strip() or "/" in as_name or "\\" in as_name \
            or as_name in (".", ".."):
        raise ConfigError(f"--as {as_name!r}: a tracker name is one folder name (no slashes, "
                          "not empty, no surrounding spaces)")
    data = load_split(dataset, split=split, root=root, workspace=ws, allow_partial=True)
    official = official_names(data.dataset, data.split)
    shape = SplitSequences(dataset=data.dataset, split=data.split, key=data.key,
                           lengths={s.name: s.n_frames for s in data.sequences},
                           expected=data.expected, missing=tuple(data.missing),
                           official=tuple(official) if official is not None else None,
                           annotations={s.name: mf.annotation_fingerprint(s.gt, s.n_frames)
                                        for s in data.sequences},
                           gt={s.name: s.gt for s in data.sequences})
    res = import_results(path, as_name, shape, results_dir or ws.results_dir, fmt=fmt,
                         force=force, allow_partial=allow_partial, max_bytes=cap,
                         max_members=max_members, box_format=box_format)
    if as_json:
        click.echo(json.dumps({"tracker": res.tracker, "dataset": res.split_key,
                               "folder": str(res.folder), "sequences": len(res.sequences),
                               "missing": res.missing, "with_times": res.with_times,
                               "renamed": res.renamed, "outside_split": res.outside,
                               "not_on_disk": res.not_on_disk,
                               "short": {k: {"rows": r, "frames": n}
                                         for k, (r, n) in res.short.items()},
                               "warnings": res.warnings,
                               "coverage": mf.coverage(res.manifest),
                               "coverage_reasons": mf.coverage_reasons(res.manifest),
                               "runs": res.manifest.get("runs_imported", 1),
                               "source_run_ids": res.manifest.get("source_run_ids")}, indent=1))
        return
    click.echo(f"imported {len(res.sequences)} sequence(s) as {res.tracker} on {res.split_key} "
               f"-> {res.folder}" + (f" ({res.with_times} with times)" if res.with_times else ""))
    runs = res.manifest.get("runs_imported", 1)
    if runs > 1:  # run ids kept: run r in run_<r:03d>/, averaged by analyze
        click.echo(f"{runs} runs kept ({', '.join(res.manifest.get('source_run_ids') or [])}): "
                   "run 0 in the folder, the others in run_001/...; analyze averages them")
    for line in import_notes(res):
        click.echo(line)
    state = mf.coverage(res.manifest)
    if state != mf.FULL:
        click.echo(f"{str(state).upper()}: {'; '.join(mf.coverage_reasons(res.manifest))} (not "
                   "comparable with full-split or published results)")


def _few(names: list[str], n: int = 8) -> str:
    return ", ".join(names[:n]) + (f" ... (+{len(names) - n})" if len(names) > n else "")


def import_notes(res) -> list[str]:
    """The import summary beyond the count: renamings, files outside the split, results for
    sequences the data root lacks, short results (stored unpadded), box-format doubts."""
    lines = [f"renamed: {stem} -> {seq}" for stem, seq in sorted(res.renamed.items())]
    if res.outside:
        lines.append(f"{len(res.outside)} result file(s) match no sequence of {res.split_key} "
                     f"(not imported): {_few(res.outside)}")
    if res.not_on_disk:
        lines.append(f"{len(res.not_on_disk)} result(s) for sequences the data root lacks (not "
                     f"imported; add them under the data root): {_few(res.not_on_disk)}")
    if res.short:
        lines.append(f"{len(res.short)} result(s) shorter than the sequence, stored as released "
                     "(never padded; run.json import.short): "
                     + _few([f"{s} ({r} of {n} rows)" for s, (r, n) in res.short.items()]))
        lines.append(f"  each protocol's rule decides at scoring: {short_rule_line(res)}")
    lines.extend(f"WARNING: {w}" for w in res.warnings)
    return lines


def short_rule_line(res) -> str:
    """What the data set's default protocol does with a short result (its toolkit's rule),
    e.g. TrackingNet: failures; LaSOT (mixformerv2): refused, ``--skip-refused`` leaves it out."""
    dataset = str(res.manifest.get("dataset") or res.split_key)
    p = get_protocol(default_protocol(dataset))
    if p.pred_shorter == "reject":
        rule = ("refused at analysis, naming the file (analyze --skip-refused leaves those "
                "sequences out)")
    else:
        rule = SHORT_RULES[p.pred_shorter]
    return (f"{dataset} ({p.name} protocol, the default): {rule}; another --protocol applies "
            "its own toolkit's rule")


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3,
          "gb": 1000**3, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
          "t": 1000**4, "tb": 1000**4}


def parse_size(text: str, option: str) -> int:
    """``4GiB``, ``500MB``, ``1000000`` -> bytes (at least 1); anything else is one error line."""
    t = str(text).strip().lower().replace(" ", "")
    num = t.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = t[len(num):]
    try:
        value = float(num)
    except ValueError:
        value = float("nan")
    if unit not in _UNITS or not value == value or value < 1 or value == float("inf"):
        raise ConfigError(f"{option} {text!r}: expected a size such as 4GiB, 500MB or 1000000 "
                          f"(units: {', '.join(u for u in _UNITS if u)})")
    return int(value * _UNITS[unit])


@command.command("list")
@results_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_command(ws: Workspace, results_dir, as_json) -> None:
    """Every run folder: tracker, split, sequences, coverage (full/subset/partial), imported,
    timing."""
    not_empty(results=results_dir)
    rows = ResultsStore(results_dir or ws.results_dir).runs()  # coverage judged when written
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo("no results yet")
        return
    for r in rows:
        state = r["coverage"] or "unknown"  # no manifest: a raw tree, coverage not judged
        what = "imported" if r["imported"] else (r["timing"] or "")
        exp = f"/{r['expected']}" if r["expected"] else ""
        runs = f"  {r['runs']} runs" if r.get("runs", 1) > 1 else ""
        click.echo(f"{r['tracker']:<24} {r['split']:<30} {r['sequences']}{exp:<6} {state:<9} "
                   f"{what}{runs}")
