"""Tracking metrics under named protocols that reproduce the official toolkits.

Notebook API::

    from mfv2bench.metrics import evaluate, aggregate, analyze_store
    s = evaluate(gt, pred, protocol="mixformerv2", visible=visible)   # one sequence
    overall = aggregate([s, ...], protocol="mixformerv2")              # its reduction
    a = analyze_store(split, ["mfv2-b", "mfv2-s"], "results")          # CIs, tests, guard
    print(a.label); a.table(); a.to_json()

Protocols (``PROTOCOLS``; each prints as ``name [hash]``): ``mixformerv2`` (LaSOT default, the
paper's numbers), ``mixformerv2-lasotext`` / ``-nolabels``, ``pytracking`` (+ ``-lasotext`` /
``-nolabels``), ``lasot-toolkit`` (official MATLAB), ``pysot`` / ``pysot-otb``, ``otb`` (got10k
ExperimentOTB), ``got10k-lasot`` (got10k HEAD ExperimentLaSOT), ``got10k-val`` and
``trackingnet`` (the server's devkit). CLI: ``mfv2bench analyze --dataset D --trackers A,B
[--protocol P] [--results DIR] [--root R] [--json]``.
"""

from typing import Any

from mfv2bench.metrics.engine import (BatchScores, FrameErrors, ProtocolRejection, SequenceInput,
                                      frame_errors, score_batch)
from mfv2bench.metrics.protocols import (PROTOCOLS, MetricProtocol, default_protocol,
                                         get_protocol)
from mfv2bench.metrics.scores import (OverallScores, SequenceScores, aggregate, evaluate,
                                      sequence_scores)

_LAZY = {"Analysis": "analysis", "analyze": "analysis", "analyze_store": "analysis",
         "read_results": "readers", "paired_test": "stats", "bootstrap_ci": "stats"}


def __getattr__(name: str) -> Any:
    """The analysis layer (pandas, data sets) is imported only when asked for."""
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"mfv2bench.metrics.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'mfv2bench.metrics' has no attribute {name!r}")


__all__ = [
    "Analysis", "BatchScores", "FrameErrors", "MetricProtocol", "OverallScores", "PROTOCOLS",
    "ProtocolRejection", "SequenceInput", "SequenceScores", "aggregate", "analyze",
    "analyze_store", "bootstrap_ci", "default_protocol", "evaluate", "frame_errors",
    "get_protocol", "paired_test", "read_results", "score_batch", "sequence_scores",
]
