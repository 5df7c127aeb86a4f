"""The ``run.json`` manifest format of a run folder: what produced the results (spec and its
hash, checkpoint digest, versions, git commit) and where and how (device, threads, workers,
hardware, times). A resumed run appends to ``runs``; the top level describes the folder as a
whole. Repeated runs (``eval --runs N``): each run folder has its own manifest whose ``run_id``
and ``seed`` (added in format 1 without a version bump: absent means run 0, seed unknown) say
which run it is and how its random generators were seeded. This module owns the format's constants and accessors; the store reads and writes the
file, the runner fills it (provenance from ``mfv2bench.provenance``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np

FORMAT_VERSION = 1
# how per-frame times were measured: next to other workers (never a tracker's speed) or alone
CONTENDED = "contended"
# run statuses
RUNNING = "running"
FINISHED = "finished"
INTERRUPTED = "interrupted"
SEQUENTIAL = "sequential"


def utc_now() -> str:
    """Now, as the manifest writes times (UTC, ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def checkpoint_section(manifest: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest's ``checkpoint`` section ({} when absent, None or not a mapping)."""
    ckpt = (manifest or {}).get("checkpoint")
    return ckpt if isinstance(ckpt, dict) else {}


def random_weights(manifest: dict[str, Any] | None) -> bool:
    """True when the run's network had random weights (a latency-only spec): such results carry
    no accuracy and are kept out of leaderboards and flagged in tables and reports."""
    return bool(checkpoint_section(manifest).get("random_weights"))


def identity(manifest: dict[str, Any]) -> tuple[Any, Any]:
    """What must match for results to be mixed with new ones: spec hash and checkpoint digest."""
    return manifest.get("spec_hash"), checkpoint_section(manifest).get("sha256")


def mark_interrupted(manifest: dict[str, Any], why: str) -> dict[str, Any]:
    """A copy of a manifest left "running" by an eval that is gone, marked interrupted: never
    complete, coverage partial, the reason added, its last run flagged."""
    out = dict(manifest)
    out["status"] = INTERRUPTED
    out["complete"], out["partial"] = False, True
    out["coverage"] = PARTIAL
    reasons = [r for r in coverage_reasons(manifest) if r not in ("running", "not complete")]
    out["subset"] = reasons + [f"interrupted: {why}"]
    runs = [dict(r) if isinstance(r, dict) else r for r in (manifest.get("runs") or [])]
    if runs and isinstance(runs[-1], dict) and not runs[-1].get("finished"):
        runs[-1]["interrupted"] = True
    out["runs"] = runs
    out["interrupted_note"] = why
    return out


def timing_label(workers: int, backend: str) -> str:
    """Per-frame times measured next to other workers share cores: never a tracker's speed."""
    return CONTENDED if workers > 1 or backend == "dask" else SEQUENTIAL


# -- repeated runs: run id and seed ----------------------------------------------------------------
RUN_ID_KEY = "run_id"
SEED_KEY = "seed"


def seed_fields(run_id: int, run_seed: int | None, base_seed: int | None, rule: str,
                seeded: list[str]) -> dict[str, Any]:
    """The run.json keys of a run's id and seeding: ``run_id`` and ``seed`` = {"run": the run's
    seed, "base": the eval's --seed, "per_sequence": how each sequence's seed derives from the
    run's, "generators": what was seeded}."""
    return {RUN_ID_KEY: int(run_id),
            SEED_KEY: {"run": run_seed, "base": base_seed, "per_sequence": rule,
                       "generators": list(seeded)}}


def run_id(manifest: dict[str, Any] | None) -> int:
    """The manifest's run id (0 for manifests written before repeated runs)."""
    value = (manifest or {}).get(RUN_ID_KEY) if isinstance(manifest, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def run_seed(manifest: dict[str, Any] | None) -> int | None:
    """The seed the run's sequences were derived from (None: not recorded, an older run or an
    import whose release says nothing)."""
    seed = (manifest or {}).get(SEED_KEY) if isinstance(manifest, dict) else None
    value = seed.get("run") if isinstance(seed, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- coverage: which part of the official split the folder's results cover -----------------------
FULL = "full"  # every sequence of the official split finished (the only rankable state)
SUBSET = "subset"  # restricted on purpose (--sequences, a root listing fewer sequences), all done
PARTIAL = "partial"  # sequences of the intended set not done (failed, interrupted, missing, stale)
COVERAGES = (FULL, SUBSET, PARTIAL)


def coverage(manifest: dict[str, Any] | None) -> str | None:
    """``"full"``, ``"subset"`` or ``"partial"`` (see the constants); None without a manifest.

    Manifests written before coverage was recorded: ``"full"`` when they say ``complete``
    (judged then against the root's own list), else ``"partial"``."""
    if not isinstance(manifest, dict):
        return None
    value = manifest.get("coverage")
    if value in COVERAGES:
        return value
    return FULL if manifest.get("complete") is True else PARTIAL


def coverage_fields(state: str, expected: int, done: int, reasons: list[str]) -> dict[str, Any]:
    """The run.json keys that record coverage (the old ``complete``/``partial`` included), for
    every writer of a manifest (eval, import)."""
    if state not in COVERAGES:
        raise ValueError(f"unknown coverage {state!r}")
    return {"complete": state == FULL, "partial": state != FULL, "coverage": state,
            "subset": list(reasons), "sequences_expected": int(expected),
            "sequences_done": int(done)}


def is_full(manifest: dict[str, Any] | None) -> bool:
    """True only for results covering the whole official split (rankable, shown unmarked)."""
    return coverage(manifest) == FULL


def coverage_reasons(manifest: dict[str, Any] | None) -> list[str]:
    """Why the results are not ``full``, as short human phrases ([] when full)."""
    if not isinstance(manifest, dict):
        return ["no run manifest"]
    reasons = manifest.get("subset")
    if isinstance(reasons, list):
        return [str(r) for r in reasons]
    if isinstance(reasons, str) and reasons:
        return [reasons]
    return [] if coverage(manifest) == FULL else ["not complete"]


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def sequences_expected(manifest: dict[str, Any] | None) -> int | None:
    """Sequences of the official split (older manifests: of the root's list)."""
    m = manifest if isinstance(manifest, dict) else {}
    value = _int_or_none(m.get("sequences_expected"))
    if value is None:
        value = _int_or_none((m.get("sequences") or {}).get("expected")
                             if isinstance(m.get("sequences"), dict) else None)
    return value


def sequences_done(manifest: dict[str, Any] | None) -> int | None:
    """Sequences of the official split with finished results in the folder."""
    m = manifest if isinstance(manifest, dict) else {}
    value = _int_or_none(m.get("sequences_done"))
    if value is None:
        value = _int_or_none((m.get("sequences") or {}).get("done")
                             if isinstance(m.get("sequences"), dict) else None)
    return value


# -- annotation fingerprints: results are tied to the ground truth they ran against ---------------
ANNOTATIONS_KEY = "annotations"


def annotation_fingerprint(gt: Any, n_frames: int) -> dict[str, Any]:
    """``{"frames": n, "gt": hex}``: the frame count and a fast hash (blake2b-128) of the GT
    array (float64, C order, with its shape). An edited ``groundtruth.txt`` or a frame added or
    removed changes it; whitespace or number spelling that parses the same does not."""
    arr = np.ascontiguousarray(np.asarray(gt, dtype=np.float64))
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(arr.shape).encode("ascii"))
    h.update(arr.tobytes())
    return {"frames": int(n_frames), "gt": h.hexdigest()}


def annotation_fingerprints(manifest: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The fingerprint recorded for each sequence when it ran ({} for older manifests)."""
    recorded = (manifest or {}).get(ANNOTATIONS_KEY) if isinstance(manifest, dict) else None
    if not isinstance(recorded, dict):
        return {}
    return {str(k): v for k, v in recorded.items() if isinstance(v, dict)}


def changed_annotations(manifest: dict[str, Any] | None,
                        current: Mapping[str, dict[str, Any]]) -> list[str]:
    """Names of ``current`` (name -> ``annotation_fingerprint``) whose recorded fingerprint
    differs: their stored boxes were produced against other ground truth. Sequences without a
    record (older manifests) are not listed."""
    recorded = annotation_fingerprints(manifest)
    return [name for name, fp in current.items()
            if name in recorded and (recorded[name].get("gt"), recorded[name].get("frames"))
            != (fp.get("gt"), fp.get("frames"))]


# -- short imported results: stored as released, scored by each protocol's rule -------------------
def short_fields(short: Mapping[str, tuple[int, int]]) -> dict[str, dict[str, Any]]:
    """``import.short``: sequence -> ``{"rows", "frames", "stored": "unpadded"}`` for results
    imported (``--allow-partial``) with fewer rows than frames; added in format 1 without a
    version bump (absent: none short)."""
    return {str(s): {"rows": int(r), "frames": int(n), "stored": "unpadded"}
            for s, (r, n) in short.items()}


def short_sequences(manifest: dict[str, Any] | None) -> dict[str, tuple[int, int]]:
    """Sequence -> (rows, frames) of the short results recorded at import ({} for runs, older
    manifests or none short)."""
    imp = (manifest or {}).get("import") if isinstance(manifest, dict) else None
    short = imp.get("short") if isinstance(imp, dict) else None
    if not isinstance(short, dict):
        return {}
    out = {}
    for s, v in short.items():
        if isinstance(v, dict) and _int_or_none(v.get("rows")) is not None \
                and _int_or_none(v.get("frames")) is not None:
            out[str(s)] = (int(v["rows"]), int(v["frames"]))
    return out
