"""``mfv2bench trackers``: the tracker specs of the workspace and their resolved parameters."""

from __future__ import annotations

import json

import click

from ..trackers.catalog import check_spec, describe_spec, spec_rows
from ..trackers.specs import SpecRegistry
from ..workspace import Workspace
from .options import trust_checkpoint_option


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
    """Every spec: name, kind, parent spec, parameter hash, description."""
    rows = [r for r in spec_rows(_registry(ws)) if show_all or not r["base_spec"]]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    cols = ["name", "kind", "extends", "hash", "description"]
    cells = [[str(r[c] or "") if c != "hash" else r[c][:12] for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


@command.command("show")
@click.argument("name")
@click.option("--dataset", default=None, help="Apply this data set's overrides (e.g. trackingnet).")
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
    sections = [("spec (as declared)", info["spec"]),
                ("effective config (hashed; defaults included)", info["config"])]
    for title, data in sections:
        click.echo(f"  {title}:")
        for line in _flatten(data):
            click.echo(f"    {line}")


@command.command("check")
@click.argument("name")
@click.option("--dataset", default=None, help="Apply this data set's overrides.")
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
    click.echo(f"{name}: ok ({info['kind']}, hash {info['hash']})")
    for key in ("weights", "checkpoint_sha256", "parameters", "state_dict_keys"):
        if key in info:
            click.echo(f"  {key}: {info[key]}")


def _flatten(data: dict, prefix: str = "") -> list[str]:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines += _flatten(value, f"{prefix}{key}.")
        else:
            lines.append(f"{prefix}{key} = {json.dumps(value)}")
    return lines
