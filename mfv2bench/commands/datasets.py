"""``mfv2bench datasets``: known data sets and their roots, sequences as JSON, synthetic trees."""

from __future__ import annotations

import json

import click

from ..datasets.inspect import split_records, summary_rows
from ..datasets.registry import get_info, list_datasets, load_split
from ..datasets.synthetic import FORMATS, write_synthetic
from ..errors import ConfigError
from ..workspace import Workspace


def _table(rows: list[dict], columns: list[str]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


@click.group("datasets")
def command() -> None:
    """Data sets: where they are, what a split holds, synthetic sequences in the real layouts."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def list_cmd(ws: Workspace, as_json: bool) -> None:
    """Known data sets, their roots (mfv2bench.toml [datasets] / MFV2BENCH_DATA_<NAME>) and
    whether each root is on disk and holds the expected layout."""
    rows = list_datasets(ws)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        r["splits"] = ",".join(r["splits"])
    click.echo(_table(rows, ["name", "status", "root", "default_split", "splits",
                             "default_protocol"]))
    for r in rows:
        if r["status"] == "wrong layout":
            click.echo(f"{r['name']}: {r['root']} does not hold the expected layout "
                       f"({r['expected']}); `mfv2bench datasets inspect {r['name']}` says more")


@command.command("inspect")
@click.argument("dataset")
@click.option("--root", type=click.Path(file_okay=False), default=None,
              help="Data root (default: the workspace's root for DATASET).")
@click.option("--split", default=None, help="Split (default: the data set's default).")
@click.option("--sequences", default=None, help="Only these sequences, comma-separated.")
@click.option("--allow-partial", is_flag=True, help="List the sequences present even if some "
              "of the split are missing.")
@click.option("--json", "as_json", is_flag=True,
              help='JSON list: {"name","n_frames","frames","gt","visible"} per sequence.')
@click.pass_obj
def inspect_cmd(ws: Workspace, dataset: str, root: str | None, split: str | None,
                sequences: str | None, allow_partial: bool, as_json: bool) -> None:
    """Index a split (no image is read) and show its sequences."""
    names = [s for s in sequences.split(",") if s.strip()] if sequences else None
    loaded = load_split(dataset, split, root=root, sequences=names, allow_partial=allow_partial,
                        workspace=ws)
    if as_json:
        click.echo(json.dumps(split_records(loaded)))
        return
    click.echo(f"{loaded.key}: {len(loaded)} of {loaded.expected} sequences under {loaded.root}"
               + (f" (PARTIAL: {len(loaded.missing)} missing)" if loaded.partial else ""))
    if loaded.layout or loaded.source:
        click.echo(f"layout: {loaded.layout or get_info(loaded.dataset).layout}; sequence list: "
                   f"{loaded.source}")
    click.echo(_table(summary_rows(loaded),
                      ["name", "n_frames", "gt_rows", "visible", "image_size", "attributes"]))


# Beside the default split, the server-scored test split with first-frame-only GT (and, for
# TrackingNet, a training chunk with full GT to score locally).
CLI_DEFAULT_SPLITS = {"lasot": "test", "got10k": "val,test", "trackingnet": "test,train_0",
                      "otb100": "test", "uav123": "test", "nfs": "test", "tnl2k": "test",
                      "custom": "test"}


def _frames_arg(text: str) -> int | tuple[int, int]:
    try:
        if "-" in text:
            lo, hi = text.split("-", 1)
            return int(lo), int(hi)
        return int(text)
    except ValueError:
        raise ConfigError(f"--frames {text!r}: give N or LO-HI") from None


def _size_arg(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError:
        raise ConfigError(f"--size {text!r}: give WIDTHxHEIGHT, e.g. 320x240") from None


@command.command("synth")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True,
              help="Layout to write.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output root (default: the workspace's synthetic-<format> root).")
@click.option("--sequences", "n_sequences", type=int, default=6, show_default=True,
              help="Sequences per split.")
@click.option("--frames", "frames", default="60-100", show_default=True,
              help="Frames per sequence: N or LO-HI (drawn per sequence).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", default="320x240", show_default=True, help="Frame size WxH.")
@click.option("--splits", default=None,
              help="Comma-separated splits (default lasot: test; got10k: val,test; "
                   "trackingnet: test,train_0; the others: test).")
@click.option("--force", is_flag=True,
              help="Write into a non-empty folder that synth did not write (same-named entries "
                   "are replaced, others kept). A folder holding a real data set is refused "
                   "even so.")
@click.pass_obj
def synth_cmd(ws: Workspace, fmt: str, out: str | None, n_sequences: int, frames: str,
              seed: int, size: str, splits: str | None, force: bool) -> None:
    """Write synthetic sequences in the real on-disk layout of FORMAT (seeded, exact GT).

    A folder synth wrote before (it holds .mfv2bench-synthetic.json) is rewritten whole."""
    root = out if out is not None else ws.data_root(get_info(f"synthetic-{fmt}").name)
    chosen = splits or CLI_DEFAULT_SPLITS[fmt]
    split_list = [s.strip() for s in chosen.split(",") if s.strip()]
    names = write_synthetic(fmt, root, n_sequences=n_sequences, n_frames=_frames_arg(frames),
                            size=_size_arg(size), seed=seed, splits=split_list, force=force)
    click.echo(f"wrote {len(names)} {fmt}-layout sequences under {root}")
