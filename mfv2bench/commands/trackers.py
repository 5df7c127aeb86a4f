"""``mfv2bench trackers``: the tracker specs of the workspace and their resolved parameters."""

from __future__ import annotations

import json

import click

from ..trackers.catalog import check_spec, describe_spec, spec_rows
from ..trackers.specs import SpecRegistry
from ..workspace import Workspace
from .options import NAME, trust_checkpoint_option


def _registry(ws: Workspace) -> SpecRegistry:
    return SpecRegistry(ws.trackers_dir, ws.root)


@click.group("trackers")
def command() -> None:
    """Tracker specs (TOML files in the workspace's trackers/ folder)."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Include base specs (names starting with '_').")
@click.pass_obj
def list_cmd(ws: Workspace, as_json: bool, show_all: bool) -> None:
    """Every spec: name, kind, parent spec, parameter hash, description. A spec with an error
    is listed with it (hash "INVALID"); the others stay usable and the exit status is 0."""
    rows = [r for r in spec_rows(_registry(ws)) if show_all or not r["base_spec"]]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    cols = ["name", "kind", "extends", "hash", "description"]
    cells = []
    for r in rows:
        row = [str(r[c] or "") for c in cols]
        row[3] = (r["hash"] or "")[:12] if r["error"] is None else "INVALID"
        if r["error"] is not None:
            row[4] = f"error: {r['error']}"
        elif r.get("trust_checkpoint_ignored"):
            row[4] += "  [spec asks trust_checkpoint: ignored]"
        cells.append(row)
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols[:-1])]
    click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths + [0])).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths + [0])).rstrip())
    bad = [r["name"] for r in rows if r["error"] is not None]
    if bad:
        click.echo(f"warning: {len(bad)} spec(s) with errors: {', '.join(bad)} "
                   "(mfv2bench trackers show NAME for the error)", err=True)


@command.command("show")
@click.argument("name", type=NAME)
@click.option("--dataset", type=NAME, default=None, help="Apply this data set's overrides (e.g. trackingnet).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show_cmd(ws: Workspace, name: str, dataset: str | None, as_json: bool) -> None:
    """One spec resolved (inheritance, data-set overrides), its hash and the effective
    configuration it hashes (every value the tracker uses, code defaults included)."""
    info = describe_spec(_registry(ws), name, dataset=dataset)
    if as_json:
        click.echo(json.dumps(info, indent=1, default=str))
        return
    click.echo(f"{info['name']}  ({info['kind']})  hash {info['hash']}")
    if info.get("description"):
        click.echo(f"  {info['description']}")
    click.echo(f"  file: {info['file']}")
    click.echo(f"  dataset: {info['dataset'] or '(none: defaults)'}")
    if "weights" in info:
        present = info.get("checkpoint_present")
        note = "" if present is None else ("  [present]" if present else "  [MISSING]")
        click.echo(f"  weights: {info['weights']}{note}")
    click.echo(f"  trust_checkpoint: {info['trust_checkpoint']}")
    sections = [("spec (as declared)", info["spec"]),
                ("effective config (hashed; defaults included)", info["config"])]
    for title, data in sections:
        click.echo(f"  {title}:")
        for line in _flatten(data):
            click.echo(f"    {line}")


@command.command("check")
@click.argument("name", type=NAME)
@click.option("--dataset", type=NAME, default=None, help="Apply this data set's overrides.")
@trust_checkpoint_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def check_cmd(ws: Workspace, name: str, dataset: str | None, trust_checkpoint: bool,
              as_json: bool) -> None:
    """Build the tracker: load its checkpoint with the strict key check, before a long run."""
    info = check_spec(_registry(ws), name, dataset=dataset, trust_checkpoint=trust_checkpoint)
    if as_json:
        click.echo(json.dumps(info, indent=1))
        return
    bad = info.get("non_finite_tensors") or []
    click.echo(f"{name}: {'ok' if not bad else 'loaded, with WARNINGS'} ({info['kind']}, "
               f"hash {info['hash']})")
    for key in ("weights", "checkpoint_sha256", "parameters", "state_dict_keys",
                "trust_checkpoint_in_spec"):
        if key in info:
            click.echo(f"  {key}: {info[key]}")
    if bad:
        shown = ", ".join(bad[:10]) + (f" ... ({len(bad)} in all)" if len(bad) > 10 else "")
        click.echo(f"warning: {len(bad)} tensor(s) hold NaN or Inf (every output will be NaN): "
                   f"{shown}", err=True)


def _flatten(data: dict, prefix: str = "") -> list[str]:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines += _flatten(value, f"{prefix}{key}.")
        else:
            lines.append(f"{prefix}{key} = {json.dumps(value)}")
    return lines
