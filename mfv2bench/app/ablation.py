"""``mfv2bench ablations TABLE``: the paper-style ablation table of trained specs, from one
definition (``ablation_table.py``), with a verdict per claim.

Flow: each row's spec is evaluated on the split (the runner; sequences already complete are
skipped, a changed spec or checkpoint is refused as by ``eval``), scored under the data set's
protocol with per-sequence bootstrap CIs and paired tests (``metrics.analysis``), measured
(model latency on the CPU with 1 thread, all rows timed in interleaved rounds so a change of
machine load hits them alike; parameters; FLOPs by torch's counter) and described by its
checkpoint's JSON sidecar (training stage, steps, time, validation IoU). The result is written
as ``ablations.md``, ``index.html`` and ``ablations.json`` under
``reports/ablations/<table name>/``.

    from mfv2bench import app
    from mfv2bench.app.ablation import run_ablations
    result = run_ablations("recipes/micro-ablations-table.toml", app.workspace())
    print(result.markdown)
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..datasets.registry import load_split
from ..errors import ConfigError, Mfv2benchError
from ..metrics.analysis import METRIC_LABELS, Analysis, analyze_store
from ..metrics.stats import PairedTest
from ..provenance import cpu_model, hardware_manifest, load_average
from ..results.atomic import atomic_write
from ..runner.evaluate import run_eval
from ..speed.breakdown import count_flops, count_params
from ..speed.model_latency import model_step, prepare_model
from ..speed.run import network_of
from ..speed.timing import summarize_ms, time_interleaved
from ..threads import set_threads
from ..trackers.kinds import kind_of
from ..trackers.specs import ResolvedSpec, SpecRegistry
from ..workspace import Workspace
from .ablation_render import render_html, render_markdown
from .ablation_table import (TableDefinition, Verdict, judge, load_table, not_evaluated,
                             oriented)

logger = logging.getLogger(__name__)

DEFAULT_DATASET = "synthetic-lasot"
# sidecar fields shown in the table (the training cost of each row)
SIDECAR_FIELDS = ("stage", "method", "recipe", "recipe_hash", "steps", "train_seconds",
                  "pipeline_train_seconds", "val_iou", "parameters", "command", "note")


@dataclass
class LatencyOptions:
    """Model-latency measurement of the rows (CPU, ``threads`` threads, interleaved rounds)."""

    enabled: bool = True
    threads: int = 1
    warmup: int = 3
    iters: int = 60
    rounds: int = 6


@dataclass
class AblationResult:
    """Everything one ablation table run found; ``to_json`` is what the renderers read."""

    table: TableDefinition
    data: dict[str, Any]
    markdown: str = ""
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        return self.data["claims"]

    def to_json(self) -> dict[str, Any]:
        return self.data


def default_out(workspace: Workspace, table: TableDefinition) -> Path:
    """``reports/ablations/<table name>/`` of the workspace."""
    return workspace.reports_dir / "ablations" / table.name


def read_table(path: str | Path, workspace: Workspace,
               allow_unknown: bool = False) -> TableDefinition:
    """The table definition at ``path``, its specs checked against the workspace's trackers."""
    registry = SpecRegistry(workspace.trackers_dir, workspace.root)
    return load_table(path, registry.names(), allow_unknown=allow_unknown)


def run_ablations(table: str | Path | TableDefinition, workspace: Workspace, *,
                  dataset: str | None = None, split: str | None = None,
                  root: str | Path | None = None, results_dir: str | Path | None = None,
                  workers: int = 1, out: str | Path | None = None,
                  latency: LatencyOptions | None = None, progress: bool = False,
                  rerun: list[str] | None = None, skip_missing: bool = False,
                  log: Callable[[str], None] = lambda _msg: None) -> AblationResult:
    """Evaluate (resumably), score, measure and judge every row and claim of ``table``; write
    the markdown, HTML and JSON under ``out`` (default ``reports/ablations/<name>/``).
    ``rerun``: rows whose stored results are discarded and run again (e.g. after a checkpoint
    was re-exported: the runner refuses to mix results of another checkpoint).
    ``skip_missing``: rows whose spec or checkpoint is not there yet are left out (listed, and
    their claims marked "not evaluated") instead of refusing the table; never the reference."""
    full = table if isinstance(table, TableDefinition) else read_table(
        table, workspace, allow_unknown=skip_missing)
    if workers < 1:
        raise ConfigError("workers must be at least 1")
    registry = SpecRegistry(workspace.trackers_dir, workspace.root)
    name = dataset or full.dataset or DEFAULT_DATASET
    data = load_split(name, split=split, root=root, workspace=workspace)
    unavailable = _unavailable(full, registry, data.dataset) if skip_missing else {}
    if full.reference in unavailable:
        raise ConfigError(f"{full.path}: the reference row {full.reference} is not available: "
                          f"{unavailable[full.reference]}")
    for spec, why in unavailable.items():
        log(f"  leaving out {spec}: {why}")
    tdef = full.without(set(unavailable))
    specs = {s: registry.resolve(s, dataset=data.dataset) for s in tdef.specs}
    _check_weights(tdef, specs)
    stray = [s for s in rerun or [] if s not in specs]
    if stray:
        raise ConfigError(f"rerun: {', '.join(stray)} not a row of {tdef.path} (rows: "
                          f"{', '.join(specs)})")
    res_dir = Path(results_dir) if results_dir is not None else workspace.results_dir
    runs = _evaluate(tdef, name, split, root, res_dir, workspace, workers, progress,
                     set(rerun or []), log)
    log(f"scoring {len(tdef.rows)} rows on {data.key} ...")
    analysis = analyze_store(data, tdef.specs, res_dir, workers=min(workers, 2))
    lat = latency or LatencyOptions()
    costs = measure_costs(specs, lat, log) if lat.enabled else {}
    body = assemble(tdef, analysis, specs, costs, lat)
    if unavailable:
        body["unavailable"] = [{"spec": r.spec, "label": r.label, "ablates": r.ablates,
                                "why": unavailable[r.spec]} for r in full.rows
                               if r.spec in unavailable]
        order = [c.name for c in full.claims]
        skipped = [not_evaluated(c, full.alpha, "; ".join(
            f"{x} not available ({unavailable[x]})" for x in (c.a, c.b) if x in unavailable))
            for c in full.claims if c.a in unavailable or c.b in unavailable]
        body["claims"] = sorted(body["claims"] + [v.to_dict() for v in skipped],
                                key=lambda c: order.index(c["claim"]))
    body["data"].update(root=str(data.root), results=str(res_dir))
    body["eval"] = runs
    result = AblationResult(table=tdef, data=body)
    result.markdown = render_markdown(body)
    folder = Path(out) if out is not None else default_out(workspace, tdef)
    result.files = write_outputs(folder, body, result.markdown)
    log(f"wrote {', '.join(str(p) for p in result.files.values())}")
    return result


def _unavailable(tdef: TableDefinition, registry: SpecRegistry,
                 dataset: str) -> dict[str, str]:
    """Rows that cannot be evaluated here, with why: no spec file, or no checkpoint."""
    out: dict[str, str] = {}
    known = set(registry.names())
    for row in tdef.rows:
        if row.spec not in known:
            out[row.spec] = f"no tracker spec trackers/{row.spec}.toml"
            continue
        spec = registry.resolve(row.spec, dataset=dataset)
        why = kind_of(spec).missing_weights(spec)
        if why is not None:
            out[row.spec] = why
    return out


def _check_weights(tdef: TableDefinition, specs: dict[str, ResolvedSpec]) -> None:
    """Every row's checkpoint is present (else one error listing them all, before any run)."""
    missing = {}
    for name, spec in specs.items():
        why = kind_of(spec).missing_weights(spec)
        if why is None and kind_of(spec).weights(spec).random:
            why = "random weights (a latency-only spec): accuracy would be meaningless"
        if why is not None:
            missing[name] = why
    if missing:
        raise ConfigError(f"{tdef.path}: row(s) that cannot be evaluated: "
                          + "; ".join(f"{k}: {v}" for k, v in missing.items()))


def _evaluate(tdef: TableDefinition, dataset: str, split: str | None, root: str | Path | None,
              res_dir: Path, workspace: Workspace, workers: int, progress: bool,
              rerun: set[str], log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Run every row on the split (complete sequences skipped; a changed spec refused unless
    the row is in ``rerun``)."""
    runs: dict[str, dict[str, Any]] = {}
    for row in tdef.rows:
        run = run_eval(row.spec, dataset, split=split, workspace=workspace, jobs=workers,
                       root=root, results_dir=res_dir, progress=progress,
                       force=row.spec in rerun)
        summary = run.summary()
        runs[row.spec] = {"ran": summary["ran"], "already_complete": summary["skipped"],
                          "failed": list(summary["failed"])}
        log(f"  {row.spec}: ran {summary['ran']}, already complete {summary['skipped']}")
        if not run.ok or len(run.finished_sequences) < len(run.split.sequences):
            raise Mfv2benchError(
                f"{row.spec} on {run.split_key}: {len(summary['failed'])} sequence(s) failed or "
                f"the run is incomplete (see {run.errors_log}); the finished sequences are kept: "
                "run the same command again to resume")
    return runs


def _flop_model(net: Any) -> Any:
    """A twin of ``net`` that torch's FLOP counter can walk (no autograd state; explicit
    attention where the model can switch: the counter has no formula for the fused kernel)."""
    twin = copy.deepcopy(net)
    twin.requires_grad_(False)
    if getattr(twin, "attention", "eager") != "eager" and hasattr(twin, "set_attention"):
        twin.set_attention("eager")
    return twin


def measure_costs(specs: dict[str, ResolvedSpec], options: LatencyOptions,
                  log: Callable[[str], None] = lambda _msg: None) -> dict[str, dict[str, Any]]:
    """Per spec: parameters, FLOPs of one per-frame network step and its model latency (CPU,
    ``options.threads`` threads, every network timed in the same interleaved rounds). Trackers
    without a network get None for all three."""
    import torch

    previous = torch.get_num_threads()
    used = set_threads(options.threads)
    steps: dict[str, Callable[[], Any]] = {}
    out: dict[str, dict[str, Any]] = {}
    try:
        for name, spec in specs.items():
            tracker = kind_of(spec).build(spec, device="cpu")
            net = network_of(tracker)
            if net is None:
                out[name] = {"params": None, "flops": None, "latency": None}
                continue
            model, t_size, s_size = net
            cached = bool(getattr(getattr(tracker, "params", None), "cached", True))
            mode = "cached" if cached else "full"
            timed = prepare_model(model, "cpu", "fp32")
            steps[name] = model_step(timed, t_size, s_size, mode=mode)
            flop_step = model_step(_flop_model(timed), t_size, s_size, mode=mode)
            out[name] = {"params": count_params(model), "flops": count_flops(flop_step),
                         "mode": mode, "template_size": t_size, "search_size": s_size}
        if steps:
            log(f"timing {len(steps)} networks (CPU, {used} thread(s), "
                f"{options.rounds} interleaved rounds) ...")
            load_start = load_average()
            samples = time_interleaved(steps, warmup=options.warmup, iters=options.iters,
                                       rounds=options.rounds)
            load_end = load_average()
            for name, ms in samples.items():
                stats = summarize_ms(ms)
                out[name]["latency"] = {"median_ms": stats.median_ms, "p90_ms": stats.p90_ms,
                                        "fps": stats.fps, "samples": len(ms),
                                        "load_average": [load_start, load_end]}
    finally:
        set_threads(previous)
    return out


def read_sidecar(spec: ResolvedSpec) -> dict[str, Any] | None:
    """The training record beside a spec's checkpoint (``<checkpoint>.json``), or None."""
    weights = kind_of(spec).weights(spec)
    if weights.path is None:
        return None
    path = weights.path.with_suffix(".json")
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("%s: training sidecar not readable: %s", path, exc)
        return None
    if not isinstance(record, dict):
        return None
    out = {k: record.get(k) for k in SIDECAR_FIELDS if k in record}
    out["file"] = str(path)
    out["training_seconds"] = record.get("pipeline_train_seconds", record.get("train_seconds"))
    return out


def _test_between(analysis: Analysis, a: str, b: str, metric: str) -> PairedTest | None:
    for t in analysis.pairwise:
        if t.metric == metric and {t.a, t.b} == {a, b}:
            return oriented(t, a, b)
    return None


def _settings(spec: ResolvedSpec) -> dict[str, Any]:
    """The test-time settings and network shape worth showing beside a row (from the effective
    configuration: what the spec runs with, code defaults included)."""
    cfg = spec.effective_config
    params, model = cfg.get("params", {}), cfg.get("model", {})
    out = {k: params[k] for k in ("search_factor", "update_interval") if k in params}
    out.update({k: model[k] for k in ("depth", "mlp_hidden_dim", "head") if k in model})
    return out


def assemble(tdef: TableDefinition, analysis: Analysis, specs: dict[str, ResolvedSpec],
             costs: dict[str, dict[str, Any]], latency: LatencyOptions) -> dict[str, Any]:
    """The JSON-ready table: rows (scores, CIs, paired tests against the reference, costs,
    training record), claims with verdicts, and how everything was measured."""
    ref = tdef.reference
    metrics = [m for m in analysis.metrics if m in ("auc", "precision", "norm_precision")]
    ref_cost = costs.get(ref) or {}
    ref_ms = (ref_cost.get("latency") or {}).get("median_ms")
    rows = []
    for row in tdef.rows:
        spec = specs[row.spec]
        scores = {m: analysis.score(row.spec, m) for m in metrics}
        ci = {m: list(analysis.ci[row.spec][m]) for m in metrics}
        vs_ref = {}
        if row.spec != ref:
            for m in metrics:
                t = _test_between(analysis, row.spec, ref, m)
                if t is not None:
                    vs_ref[m] = {"diff": t.diff, "ci": [t.ci_low, t.ci_high], "p": t.p_value,
                                 "sequences": t.n_sequences}
        cost = costs.get(row.spec) or {}
        lat = cost.get("latency") or {}
        rows.append({
            "spec": row.spec, "label": row.label, "ablates": row.ablates,
            "reference": row.spec == ref, "spec_hash": spec.hash,
            "sequences": len(analysis.sequences[row.spec]),
            "coverage": analysis.coverage_of(row.spec),
            "scores": scores, "ci": ci, "vs_reference": vs_ref,
            "params": cost.get("params"), "flops": cost.get("flops"),
            "latency_ms": lat.get("median_ms"), "latency_p90_ms": lat.get("p90_ms"),
            "latency_ratio": (lat["median_ms"] / ref_ms) if lat.get("median_ms") and ref_ms
            else None,
            "training": read_sidecar(spec), "settings": _settings(spec),
        })
    verdicts: list[Verdict] = []
    for claim in tdef.claims:
        test = _test_between(analysis, claim.a, claim.b, claim.metric)
        if test is None:
            raise Mfv2benchError(f"{tdef.path}: claim {claim.name!r}: no paired test of "
                                 f"{claim.a} and {claim.b} on {claim.metric}")
        v = judge(claim, test, tdef.alpha)
        v.notes = _confounds(specs[claim.a], specs[claim.b])
        verdicts.append(v)
    hw = hardware_manifest("cpu", latency.threads)
    return {
        "name": tdef.name, "title": tdef.title, "description": tdef.description,
        "note": tdef.note, "definition": str(tdef.path),
        "data": {"dataset": analysis.dataset, "split": analysis.split,
                 "key": f"{analysis.dataset}-{analysis.split}",
                 "sequences": len(analysis.sequences[ref]),
                 "protocol": analysis.protocol, "protocol_hash": analysis.protocol_hash,
                 "bootstrap": analysis.bootstrap},
        "reference": ref, "alpha": tdef.alpha, "metrics": metrics,
        "metric_labels": {m: METRIC_LABELS[m] for m in metrics},
        "rows": rows, "claims": [v.to_dict() for v in verdicts],
        "latency": {"measured": latency.enabled and bool(costs), "device": "cpu",
                    "threads": latency.threads, "iters": latency.iters,
                    "rounds": latency.rounds, "warmup": latency.warmup,
                    "what": "model latency: the network alone on synthetic inputs (cached "
                            "template path), every row timed in the same interleaved rounds",
                    "cpu": cpu_model(), "load_average": hw.get("load_average"),
                    "busy": hw.get("busy"), "flops": "torch FlopCounterMode (a multiply-add "
                                                     "counts as 2), one per-frame step"},
    }


def _confounds(a: ResolvedSpec, b: ResolvedSpec) -> list[str]:
    """Test-time settings in which the two compared specs differ (beyond their weights): a
    claim about training should not ride on a different search factor or online update."""
    if a.kind != b.kind:
        return [f"different tracker kinds: {a.kind} ({a.name}) vs {b.kind} ({b.name})"]
    sa, sb = a.effective_config.get("params", {}), b.effective_config.get("params", {})
    return [f"test-time {k} differs: {sa.get(k)!r} ({a.name}) vs {sb.get(k)!r} ({b.name})"
            for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k)]


def write_outputs(folder: Path, body: dict[str, Any], markdown: str) -> dict[str, Path]:
    """``ablations.md``, ``index.html`` and ``ablations.json`` in ``folder`` (atomic writes)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Mfv2benchError(f"cannot create {folder}: {exc.strerror or exc}") from None
    files = {"markdown": folder / "ablations.md", "html": folder / "index.html",
             "json": folder / "ablations.json"}
    atomic_write(files["markdown"], markdown)
    atomic_write(files["html"], render_html(body))
    atomic_write(files["json"], json.dumps(_clean(body), indent=1) + "\n")
    return files


def _clean(obj: Any) -> Any:
    """JSON-ready: NaN/inf as null."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    return obj
