"""The runner's part of a ``run.json`` manifest: what a resolved spec contributes (its checkpoint
digest). The manifest format (version, labels, accessors) is the results layer's
(``mfv2bench.results.manifest``); hardware, versions and git commit come from
``mfv2bench.provenance``."""

from __future__ import annotations

from typing import Any

from ..trackers.kinds import kind_of
from ..trackers.specs import ResolvedSpec


def checkpoint_of(spec: ResolvedSpec) -> dict[str, Any] | None:
    """The run manifest's ``checkpoint`` section: path and sha256 of the spec's weights, the
    random-weights flag and seed, or None for trackers without weights (its kind says which)."""
    return kind_of(spec).weights(spec, sha256=True).to_manifest()
