"""Tracking metrics under named protocols that reproduce the official toolkits.

Notebook API::

    from mfv2bench.metrics import evaluate, aggregate
    s = evaluate(gt, pred, protocol="mixformerv2", visible=visible)
    overall = aggregate([s, ...], protocol="mixformerv2")
"""

from mfv2bench.metrics.engine import (BatchScores, FrameErrors, ProtocolRejection, SequenceInput,
                                      frame_errors, score_batch)
from mfv2bench.metrics.protocols import (PROTOCOLS, MetricProtocol, default_protocol,
                                         get_protocol)
from mfv2bench.metrics.scores import (OverallScores, SequenceScores, aggregate, evaluate,
                                      sequence_scores)

__all__ = [
    "BatchScores", "FrameErrors", "MetricProtocol", "OverallScores", "PROTOCOLS",
    "ProtocolRejection", "SequenceInput", "SequenceScores", "aggregate", "default_protocol",
    "evaluate", "frame_errors", "get_protocol", "score_batch", "sequence_scores",
]
