"""Rank published and local results together on one data set and metric.

Only results covering the whole official split (coverage ``full``) are ranked with published
rows; ours on a subset or a partial run are listed after the ranked rows, without a rank, with
``coverage`` and ``comparable`` columns saying why, off the Pareto front.

Local rows are ours (marked), with the reproduction delta where a local tracker reproduces a
published one (e.g. our ``mfv2-b`` against the paper's MixFormerV2-B), and every row says whether
it is on the speed-accuracy Pareto front of the chosen speed column (GPU or CPU FPS; published FPS
come from different hardware, which the ``hardware`` column keeps).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .published import (PAPER_COUNTERPARTS, check_metric, published_dataset_name,
                        published_metric_name)

BOARD_COLUMNS = ("rank", "tracker", "variant", "value", "ci_low", "ci_high", "fps_gpu", "fps_cpu",
                 "ours", "paper_value", "delta", "pareto", "hardware", "source", "year", "coverage",
                 "comparable")
FULL, SUBSET, PARTIAL = "full", "subset", "partial"  # results.manifest's coverage words


@dataclass
class LocalEntry:
    """One of our results on the board's data set: value in the table's unit (percent)."""

    tracker: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    fps_cpu: float | None = None
    fps_gpu: float | None = None
    hardware: str = ""
    source: str = "local results"
    partial: bool = False
    coverage: str = FULL  # full | subset | partial: only full is ranked with published rows
    coverage_reasons: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        """The coverage, ``partial`` where the older ``partial`` flag says so."""
        return PARTIAL if self.partial and self.coverage == FULL else self.coverage

    @property
    def comparable(self) -> bool:
        return self.state == FULL


@dataclass
class Leaderboard:
    """The ranked rows and what they rank (data set, metric, speed column used for the front)."""

    dataset: str
    metric: str
    speed: str
    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def pareto_front(self) -> pd.DataFrame:
        """Rows on the speed-accuracy front, fastest first."""
        front = self.rows[self.rows["pareto"]]
        return front.sort_values(f"fps_{self.speed}", ascending=False)


def pareto_mask(speed: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """True where no other point is at least as fast and as accurate and better in one of them.

    Points without a speed are never on the front.
    """
    speed = np.asarray(speed, dtype=float)
    accuracy = np.asarray(accuracy, dtype=float)
    ok = np.isfinite(speed) & np.isfinite(accuracy)
    mask = np.zeros(len(speed), dtype=bool)
    idx = np.flatnonzero(ok)
    for i in idx:
        others = idx[idx != i]
        dominated = np.any(
            (speed[others] >= speed[i]) & (accuracy[others] >= accuracy[i])
            & ((speed[others] > speed[i]) | (accuracy[others] > accuracy[i]))
        )
        mask[i] = not dominated
    return mask


def _opt(x: float | None) -> float:
    return math.nan if x is None else float(x)


def name_key(name: str) -> str:
    """Tracker names compared without case, spaces or punctuation (``OSTrack-384`` = ``ostrack_384``)."""
    return re.sub(r"[^0-9a-z]+", "", str(name).casefold())


def _row_keys(chosen: pd.DataFrame) -> dict[str, set[tuple[str, str]]]:
    """Normalised name -> the (tracker, variant) pairs it can mean: the variant (often
    ``OSTrack-384``), tracker + variant (``MixFormerV2`` + ``B``), and the tracker alone (one
    pair where it has a single variant on this data set and metric, else all of them)."""
    keys: dict[str, set[tuple[str, str]]] = {}
    variants: dict[str, set[str]] = {}
    for tracker, variant in zip(chosen["tracker"], chosen["variant"]):
        variants.setdefault(tracker, set()).add(variant)
        for k in {name_key(variant), name_key(f"{tracker}{variant}")}:
            if k:
                keys.setdefault(k, set()).add((tracker, variant))
    for tracker, vs in variants.items():  # several variants: ambiguous, said so
        keys.setdefault(name_key(tracker), set()).update((tracker, v) for v in vs)
    return keys


def published_counterpart(local: str, chosen: pd.DataFrame, mapping: dict[str, str] | None = None
                          ) -> tuple[tuple[str, str] | None, str]:
    """The published (tracker, variant) a local tracker reproduces, and how it was found:
    ``--published-as`` (``Tracker``, ``Variant``, ``Tracker Variant`` or ``Tracker:Variant``),
    the MixFormerV2 specs, else the normalised name. ``(None, why)`` when none or ambiguous."""
    keys = _row_keys(chosen)
    if mapping and local in mapping:
        want = mapping[local]
        if ":" in want:
            t, v = (name_key(x) for x in want.split(":", 1))
            pairs = {(a, b) for a, b in zip(chosen["tracker"], chosen["variant"])
                     if name_key(a) == t and name_key(b) == v}
        else:
            pairs = keys.get(name_key(want), set())
        if len(pairs) == 1:
            return next(iter(pairs)), f"--published-as {want}"
        if not pairs:
            return None, f"--published-as {want} matches no published row here"
        return None, (f"--published-as {want} is ambiguous here ("
                      + "; ".join(f"{a}:{b}" for a, b in sorted(pairs)) + "); use Tracker:Variant")
    paper = PAPER_COUNTERPARTS.get(local)
    if paper is not None:
        return paper, "spec"
    pairs = keys.get(name_key(local), set())
    if len(pairs) == 1:
        return next(iter(pairs)), "name"
    if len(pairs) > 1:
        return None, ("name matches several published rows ("
                      + "; ".join(f"{a}:{b}" for a, b in sorted(pairs))
                      + "); pick one with --published-as LOCAL=Tracker:Variant")
    return None, ""


def build_leaderboard(published: pd.DataFrame, dataset: str, metric: str = "auc",
                      local: list[LocalEntry] | None = None, speed: str = "gpu",
                      published_as: dict[str, str] | None = None) -> Leaderboard:
    """Published rows of ``dataset``/``metric`` and our rows, ranked by value (best first).
    Each local row gets the reproduction delta against the published row it reproduces
    (``published_counterpart``; ``published_as`` maps local names to published ones)."""
    if speed not in ("gpu", "cpu"):
        raise ConfigError(f"speed column must be 'gpu' or 'cpu', not {speed!r}")
    check_metric(metric, published)
    pub_dataset = published_dataset_name(dataset, published)
    pub_metric = published_metric_name(metric, pub_dataset)
    chosen = published[(published["dataset"] == pub_dataset) & (published["metric"] == pub_metric)]
    notes: list[str] = []
    if chosen.empty:
        available = sorted(published.loc[published["dataset"] == pub_dataset, "metric"].unique())
        notes.append(f"no published {pub_metric} on {pub_dataset}"
                     + (f" (published metrics there: {', '.join(available)})" if available else ""))

    records = []
    for row in chosen.itertuples(index=False):
        records.append({
            "tracker": row.tracker, "variant": row.variant, "value": row.value,
            "ci_low": math.nan, "ci_high": math.nan,
            "fps_gpu": row.fps_gpu, "fps_cpu": row.fps_cpu, "ours": False,
            "paper_value": math.nan, "delta": math.nan,
            "hardware": row.hardware, "source": row.source, "year": row.year,
            "coverage": "published", "comparable": True,
        })
    for entry in local or []:
        paper = math.nan
        counterpart, how = published_counterpart(entry.tracker, chosen, published_as)
        if counterpart is not None:
            match = chosen[(chosen["tracker"] == counterpart[0]) & (chosen["variant"] == counterpart[1])]
            if not match.empty:
                paper = float(match["value"].iloc[0])
                if how != "spec":
                    notes.append(f"{entry.tracker}: reproduction delta against published "
                                 f"{counterpart[0]} {counterpart[1]} ({paper:g}; matched by "
                                 f"{'name' if how == 'name' else how})")
        elif how:
            notes.append(f"{entry.tracker}: no reproduction delta: {how}")
        state = entry.state
        source = entry.source + ("" if entry.comparable
                                 else f" ({state.upper()}: not comparable, not ranked)")
        records.append({
            "tracker": entry.tracker, "variant": "ours", "value": float(entry.value),
            "ci_low": _opt(entry.ci_low), "ci_high": _opt(entry.ci_high),
            "fps_gpu": _opt(entry.fps_gpu), "fps_cpu": _opt(entry.fps_cpu), "ours": True,
            "paper_value": paper, "delta": float(entry.value) - paper if not math.isnan(paper) else math.nan,
            "hardware": entry.hardware, "source": source, "year": None,
            "coverage": state, "comparable": entry.comparable,
        })
        if not entry.comparable:
            why = "; ".join(entry.coverage_reasons) or (
                "results cover only part of the split" if state == PARTIAL
                else "not the full official split")
            notes.append(f"{entry.tracker}: {state.upper()} ({why}); not comparable, listed "
                         "after the ranked rows without a rank")

    unused = sorted(set(published_as or {}) - {e.tracker for e in local or []})
    if unused:
        notes.append(f"--published-as names no local row on this board: {', '.join(unused)}")
    rows = pd.DataFrame(records, columns=[c for c in BOARD_COLUMNS if c not in ("rank", "pareto")])
    if not rows.empty:
        rows["comparable"] = rows["comparable"].astype(bool)
        rows = rows.sort_values(["comparable", "value", "ours"], ascending=[False, False, False],
                                kind="stable")
        rows = rows.reset_index(drop=True)
        ranked = rows["comparable"].to_numpy(bool)
        rank = pd.Series(pd.NA, index=rows.index, dtype="Int64")
        rank[ranked] = rows.loc[ranked, "value"].rank(method="min", ascending=False).astype(int)
        rows.insert(0, "rank", rank)
        pareto = np.zeros(len(rows), dtype=bool)  # not comparable: never on (or shaping) the front
        pareto[ranked] = pareto_mask(rows.loc[ranked, f"fps_{speed}"].to_numpy(float),
                                     rows.loc[ranked, "value"].to_numpy(float))
        rows["pareto"] = pareto
    else:
        rows.insert(0, "rank", pd.Series(dtype="Int64"))
        rows["pareto"] = pd.Series(dtype=bool)
    rows = rows[list(BOARD_COLUMNS)]
    if rows[f"fps_{speed}"].notna().any():
        notes.append(f"Pareto front over {speed.upper()} FPS as published: papers measured on "
                     "different hardware (see 'hardware'), so the front is indicative only")
    return Leaderboard(dataset=pub_dataset, metric=pub_metric, speed=speed, rows=rows, notes=notes)
