"""``run_speed``: every measure for one tracker spec at one setting (device, threads, batch,
precision), with the manifest, saved as JSON beside the raw results.

A tracker with a network (its kind's capabilities say so, e.g. MixFormerV2) gets model latency,
optional breakdown and scaling tables, and end-to-end speed; a tracker without one (OpenCV) gets
end-to-end speed only. Without its checkpoint a network is built as its kind's latency-only twin
(random weights: latency does not depend on weight values) and the result says "random
weights"; accuracy never comes from such runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..datasets.registry import get_info, load_split, parse_dataset_arg
from ..datasets.synthetic import write_synthetic
from ..devices import check_device, is_cuda
from ..errors import ConfigError
from ..provenance import hardware_manifest
from ..threads import available_cores, set_threads
from ..trackers.kinds import kind_of
from ..trackers.specs import ResolvedSpec, SpecRegistry
from ..workspace import Workspace
from .auto_runtime import AUTO, choose_runtime
from .breakdown import component_breakdown
from .numeric import numeric_warnings_logged
from .model_latency import check_precision, measure_engine_latency, measure_model_latency
from .scaling import batch_scaling, thread_counts, thread_scaling
from .store import ISOLATED, SpeedResult, save_speed_result
from .tracking import measure_tracking_speed

logger = logging.getLogger(__name__)

RANDOM_WEIGHTS = "random weights"
CHECKPOINT = "checkpoint"
NO_NETWORK = "n/a (no network)"


@dataclass
class SpeedOptions:
    """What to measure and how long; defaults keep a full-size CPU run to about a minute."""

    warmup: int = 3
    iters: int = 20
    min_time_s: float = 0.0
    mode: str = "cached"
    breakdown: bool = False
    scaling: bool = False
    scaling_threads: list[int] | None = None
    scaling_batches: tuple[int, ...] = (1, 2, 4)
    tracking: bool = True
    dataset: str = "synthetic-lasot"
    split: str | None = None
    max_sequences: int | None = 3
    max_frames: int | None = 60
    warmup_frames: int = 5
    save: bool = True

    def __post_init__(self) -> None:
        """The same limits as the CLI options (commands/options.py), for API callers: a bad
        count is a ConfigError naming it, not a traceback deep in the timing loop."""
        limits = {"warmup": (self.warmup, 0), "iters": (self.iters, 1),
                  "warmup_frames": (self.warmup_frames, 0),
                  "max_sequences": (self.max_sequences, 1), "max_frames": (self.max_frames, 2)}
        for name, (value, lo) in limits.items():
            if value is None and name in ("max_sequences", "max_frames"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise ConfigError(f"speed option {name} must be an integer >= {lo}, not {value!r}")
        if self.mode not in ("cached", "full"):
            raise ConfigError(f"speed option mode must be 'cached' or 'full', not {self.mode!r}")
        if not isinstance(self.min_time_s, (int, float)) or not self.min_time_s >= 0:
            raise ConfigError(f"speed option min_time_s must be >= 0, not {self.min_time_s!r}")


def resolve_for_speed(registry: SpecRegistry, name: str) -> tuple[ResolvedSpec, str]:
    """The spec to time and its weights label: the kind's random-weights twin when the
    checkpoint is absent (or the spec asks for random weights), the checkpoint otherwise;
    trackers without a network (OpenCV) have no weights label."""
    spec = registry.resolve(name)
    kind = kind_of(spec)
    if not kind.capabilities(spec).has_network:
        return spec, NO_NETWORK
    weights = kind.weights(spec)
    if weights.random or not weights.present:
        return kind.random_weights_spec(spec), RANDOM_WEIGHTS
    return spec, CHECKPOINT


def network_of(tracker: Any) -> tuple[Any, int, int] | None:
    """(model, template_size, search_size) of a tracker with a network, else None."""
    model = getattr(tracker, "model", None) or getattr(tracker, "net", None)
    if model is None:
        return None
    sizes = []
    for key in ("template_size", "search_size"):
        value = None
        for holder in (tracker, getattr(tracker, "params", None), getattr(model, "config", None)):
            if holder is None:
                continue
            value = holder.get(key) if isinstance(holder, dict) else getattr(holder, key, None)
            if value is not None:
                break
        if value is None:
            raise ConfigError(f"cannot find {key} of {type(model).__name__}")
        sizes.append(int(value))
    return model, sizes[0], sizes[1]


def _engine_of(tracker: Any) -> Any | None:
    engine = getattr(tracker, "engine", None)
    if engine is not None and hasattr(engine, "set_templates") and hasattr(engine, "step"):
        return engine
    return None


def _sequences(workspace: Workspace, opts: SpeedOptions) -> list:
    name, _ = parse_dataset_arg(opts.dataset)
    info = get_info(name)
    root = workspace.data_root(info.name)
    if info.synthetic and not root.is_dir():
        write_synthetic(info.layout, root)
    split = load_split(opts.dataset, opts.split, workspace=workspace, allow_partial=True)
    seqs = list(split.sequences)
    if opts.max_sequences is not None:
        seqs = seqs[:opts.max_sequences]
    if not seqs:
        raise ConfigError(f"no sequences found in {split.key} under {split.root}")
    return seqs


def run_speed(tracker_name: str, workspace: Workspace, device: str = "cpu",
              threads: int | None = None, batch: int = 1, precision: str = "fp32",
              runtime: str | None = None, options: SpeedOptions | None = None) -> SpeedResult:
    """Measure ``tracker_name`` (a spec in the workspace) and save the result (see ``store``).

    ``threads`` defaults to every available core on the CPU; ``runtime`` overrides the spec's
    runtime (eager, sdpa, compile, onnxruntime, onednn, ...) where the tracker supports it;
    ``"auto"``: the fastest exact one here (``auto_runtime``: measured once, cached). NumPy overflow
    warnings of a diverging tracker are logged (``-v``), not spilled on stderr.
    """
    with numeric_warnings_logged(logger, f"speed of {tracker_name}"):
        return _run_speed(tracker_name, workspace, device, threads, batch, precision, runtime,
                          options or SpeedOptions())


def _run_speed(tracker_name: str, workspace: Workspace, device: str, threads: int | None,
               batch: int, precision: str, runtime: str | None, opts: SpeedOptions) -> SpeedResult:
    check_device(device)
    check_precision(precision, device)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"batch must be >= 1, not {batch}")
    cores = available_cores()
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or not 1 <= threads <= cores):
        # huge counts crash the OpenMP runtime (a segfault, not an error)
        raise ConfigError(f"threads must be in 1..{cores} (the usable cores here), not {threads!r}")
    n_threads = set_threads(threads if threads is not None else cores)
    registry = SpecRegistry(workspace.trackers_dir, workspace.root)
    spec, weights = resolve_for_speed(registry, tracker_name)
    kind = kind_of(spec)
    caps = kind.capabilities(spec)
    auto = None
    if runtime == AUTO:  # the fastest exact runtime here, measured once per machine key
        auto = choose_runtime(spec, workspace, device=device, threads=n_threads)
        runtime = auto.runtime
    # the runtime override and its thread count (ONNX Runtime intra-op threads), where the kind
    # has runtimes
    spec = kind.run_settings(spec, runtime=runtime, threads=n_threads)
    if not caps.has_network and (is_cuda(device) or batch != 1 or precision != "fp32"):
        raise ConfigError(f"{tracker_name} ({spec.kind}) has no network: it can be timed on "
                          "the CPU only, batch 1, fp32")
    run_mode = runtime or kind.runtime_of(spec)
    label = kind.precision_of(spec, precision)
    manifest = hardware_manifest(device, n_threads if not is_cuda(device) else None,
                                 precision=label, weights=weights)
    tracker = kind.build(spec, device=device)
    result = SpeedResult(tracker=tracker_name, device=device, threads=n_threads, batch=batch,
                         precision=label, weights=weights, runtime=run_mode,
                         spec=spec.to_dict(), conditions=ISOLATED)
    if auto is not None:
        result.notes.append(auto.describe())
    net = network_of(tracker) if weights != NO_NETWORK else None
    if net is not None:
        model, t_size, s_size = net
        cpu_threads = None if is_cuda(device) else n_threads
        engine = _engine_of(tracker)
        cached = bool(getattr(getattr(tracker, "params", None), "cached", opts.mode == "cached"))
        if engine is not None and batch == 1 and precision == "fp32" and \
                (opts.mode == "cached") == cached:
            # through the tracker's own engine: compiled / ONNX Runtime timed as they run
            lat = measure_engine_latency(engine, t_size, s_size, device=device,
                                         threads=cpu_threads, warmup=opts.warmup,
                                         iters=opts.iters, min_time_s=opts.min_time_s,
                                         runtime=run_mode or "eager", cached=cached)
        else:
            torch_runtime = getattr(model, "attention", None) or "eager"
            compiled = run_mode == "compile"
            if compiled:
                torch_runtime = f"compile ({torch_runtime} attention)"
            elif run_mode not in (None, "eager", "sdpa"):
                result.notes.append(f"model latency at batch {batch}, {precision} runs the "
                                    f"PyTorch model ({torch_runtime} attention), not {run_mode}")
            lat = measure_model_latency(model, t_size, s_size, batch=batch, device=device,
                                        precision=precision, threads=cpu_threads,
                                        mode=opts.mode, warmup=opts.warmup, iters=opts.iters,
                                        min_time_s=opts.min_time_s, runtime=torch_runtime,
                                        compile=compiled)
        result.model_latency = lat.to_dict()
        if getattr(model, "head_kind", None):
            result.model_latency["head"] = model.head_kind
        if opts.breakdown:
            result.breakdown = component_breakdown(
                model, t_size, s_size, batch=batch, device=device, precision=precision,
                threads=None if is_cuda(device) else n_threads, mode=opts.mode,
                warmup=opts.warmup, iters=max(3, opts.iters // 2))
        if opts.scaling:
            if not is_cuda(device):
                result.thread_scaling = thread_scaling(
                    model, t_size, s_size,
                    threads=opts.scaling_threads or thread_counts(available_cores()),
                    batch=batch, mode=opts.mode, precision=precision, warmup=opts.warmup,
                    iters=max(3, opts.iters // 2))
                set_threads(n_threads)
            result.batch_scaling = batch_scaling(
                model, t_size, s_size, batches=opts.scaling_batches, device=device,
                threads=None if is_cuda(device) else n_threads, mode=opts.mode,
                precision=precision, warmup=opts.warmup, iters=max(3, opts.iters // 2))
    if opts.tracking and batch == 1 and precision == "fp32":
        seqs = _sequences(workspace, opts)
        speed = measure_tracking_speed(tracker, seqs, max_frames=opts.max_frames,
                                       warmup_frames=opts.warmup_frames, device=device)
        result.tracking = {**speed.to_dict(), "dataset": opts.dataset}
    elif opts.tracking:
        result.notes.append("end-to-end speed is measured at batch 1 in the tracker's own "
                            "precision only")
    end = hardware_manifest(device, n_threads if not is_cuda(device) else None)
    if auto is not None:
        manifest["runtime_auto"] = auto.to_dict()
    manifest.update(runtime=run_mode, end_utc=end["time_utc"],
                    load_average_end=end["load_average"],
                    busy=bool(manifest.get("busy")) or bool(end.get("busy")))
    result.manifest = manifest
    if manifest["busy"]:
        result.notes.append("the machine was busy (load average above its cores) during this "
                            "run: timings are inflated; re-run on an idle machine")
    if opts.save:
        save_speed_result(result, workspace.results_dir)
    return result
