"""Component breakdown of one network step: latency, parameters and FLOPs of each top-level part
(backbone, box head, score head; or a MixViT-style corner head and score module), reproducing the
paper's latency-breakdown table on this machine.

How: one step is run with forward pre-hooks on the model's direct children, which record the
inputs each child receives; each child is then timed (and its FLOPs counted with torch's
``FlopCounterMode``) by replaying exactly those calls. A child that the step reaches without a
module call (e.g. a backbone method called directly) gets the remainder of the whole step,
marked ``derived``. Besides module calls, calls of a child's cached-path methods
(``CAPTURED_METHODS``, e.g. ``backbone.forward_search``) are recorded and replayed too."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

from ..devices import check_device, is_cuda
from ..errors import ConfigError
from ..threads import set_threads
from .model_latency import model_step, prepare_model, check_precision
from .timing import summarize_ms, time_interleaved

# Preferred display order; other children follow in definition order.
KNOWN_COMPONENTS = ("backbone", "box_head", "corner_head", "score_head", "score_module")
# Methods a per-frame step may call on a child directly (not through ``module(...)``).
CAPTURED_METHODS = ("forward_search", "forward_test")


@dataclass
class _Calls:
    module: Any
    calls: list[tuple[Callable[..., Any], tuple, dict]]

    def replay(self) -> None:
        for fn, args, kwargs in self.calls:
            fn(*args, **kwargs)


def count_params(module: Any) -> int:
    """Number of parameter elements (trainable or not) of ``module``."""
    return int(sum(p.numel() for p in module.parameters()))


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of one call of ``fn`` by torch's own counter (a multiply-add counts as 2)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        fn()
    return int(counter.get_total_flops())


def components(model: Any) -> list[tuple[str, Any]]:
    """The model's direct children that hold parameters, known parts first."""
    children = [(n, m) for n, m in model.named_children() if count_params(m) > 0]
    order = {name: i for i, name in enumerate(KNOWN_COMPONENTS)}
    return sorted(children, key=lambda nm: order.get(nm[0], len(order)))


def _capture(model: Any, step: Callable[[], Any]) -> dict[str, _Calls]:
    """Run ``step`` once, recording the (args, kwargs) of every call into each child."""
    import torch

    parts = components(model)
    captured: dict[str, _Calls] = {name: _Calls(mod, []) for name, mod in parts}
    handles = []
    patched: list[tuple[Any, str]] = []
    depth = [0]  # record only the outermost call of a child (a method may call forward)
    for name, mod in parts:
        def hook(module, args, kwargs, _name=name, _mod=mod):
            if depth[0] == 0:
                captured[_name].calls.append((_mod, args, dict(kwargs)))
        handles.append(mod.register_forward_pre_hook(hook, with_kwargs=True))
        for method in CAPTURED_METHODS:
            bound = getattr(mod, method, None)
            if callable(bound) and method not in vars(mod):
                def wrapper(*args, _bound=bound, _name=name, **kwargs):
                    if depth[0] == 0:
                        captured[_name].calls.append((_bound, args, dict(kwargs)))
                    depth[0] += 1
                    try:
                        return _bound(*args, **kwargs)
                    finally:
                        depth[0] -= 1
                setattr(mod, method, wrapper)
                patched.append((mod, method))
    try:
        with torch.inference_mode():
            step()
    finally:
        for h in handles:
            h.remove()
        for mod, method in patched:
            delattr(mod, method)
    return captured


def component_breakdown(model: Any, template_size: int, search_size: int, *,
                        batch: int = 1, device: str = "cpu", precision: str = "fp32",
                        threads: int | None = None, mode: str = "cached", warmup: int = 3,
                        iters: int = 12, rounds: int = 3) -> list[dict[str, Any]]:
    """Rows (component, params, gflops, gmacs, median_ms, p90_ms, share, how) and a final
    ``total`` row for the whole step (params of the whole model). Components and the whole
    step are timed in ``rounds`` interleaved rounds of ``iters / rounds`` calls each."""
    import torch

    check_device(device)
    check_precision(precision, device)
    if threads is not None and not is_cuda(device):
        set_threads(threads)
    net = prepare_model(model, device, precision)
    step = model_step(net, template_size, search_size, batch=batch, mode=mode, device=device,
                      precision=precision)
    captured = _capture(net, step)
    if not captured:
        raise ConfigError(f"{type(model).__name__} has no sub-modules with parameters to break down")
    # FLOPs are counted on a twin without autograd state (torch's counter tracks modules with
    # gradient hooks, which fail on parameters used under inference mode) and, where the model
    # can switch, with explicit attention: the counter has no formula for the fused CPU kernel.
    flop_net = copy.deepcopy(net)
    flop_net.requires_grad_(False)
    if getattr(flop_net, "attention", "eager") != "eager" and hasattr(flop_net, "set_attention"):
        flop_net.set_attention("eager")
    flop_step = model_step(flop_net, template_size, search_size, batch=batch, mode=mode,
                           device=device, precision=precision)
    flop_captured = _capture(flop_net, flop_step)

    def under_inference(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run():
            with torch.inference_mode():
                fn()
        return run

    # the whole step and every replayed component, timed in interleaved rounds
    timed = {"total": under_inference(step)}
    timed.update({name: under_inference(calls.replay) for name, calls in captured.items()
                  if calls.calls})
    samples = time_interleaved(timed, device=device, warmup=warmup, iters=iters, rounds=rounds)
    total_stats = summarize_ms(samples["total"])
    total_flops = count_flops(flop_step)
    rows: list[dict[str, Any]] = []
    measured_ms = measured_flops = 0.0
    derived: list[str] = []
    for name, calls in captured.items():
        row: dict[str, Any] = {"component": name, "params": count_params(calls.module),
                               "calls": len(calls.calls)}
        if calls.calls:
            stats = summarize_ms(samples[name])
            flops = count_flops(flop_captured[name].replay)
            row.update(median_ms=stats.median_ms, p90_ms=stats.p90_ms, flops=flops,
                       how="measured")
            measured_ms += stats.median_ms
            measured_flops += flops
        else:
            derived.append(name)
        rows.append(row)
    remainder_ms = max(0.0, total_stats.median_ms - measured_ms)
    remainder_flops = max(0, total_flops - int(measured_flops))
    for row in rows:
        if row["component"] in derived:
            # only one un-hooked part can sensibly take the remainder
            share = 1.0 / len(derived)
            row.update(median_ms=remainder_ms * share, p90_ms=None,
                       flops=int(remainder_flops * share), how="derived (step minus others)")
    rows.append({"component": "total", "params": count_params(net), "calls": 1,
                 "median_ms": total_stats.median_ms, "p90_ms": total_stats.p90_ms,
                 "flops": total_flops, "how": "measured"})
    for row in rows:
        row["gflops"] = row["flops"] / 1e9
        row["gmacs"] = row["flops"] / 2e9
        row["mparams"] = row["params"] / 1e6
        row["share"] = row["median_ms"] / total_stats.median_ms if total_stats.median_ms else None
    return rows
