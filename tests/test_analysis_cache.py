"""The finished-analysis cache: a cached analysis equals the uncached one exactly (types, dtypes,
NaN), and any change of a result file, the GT, the split or an option recomputes it."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mfv2bench.metrics import analysis as analysis_mod
from mfv2bench.metrics.analysis import Analysis, analyze_store
from mfv2bench.metrics.analysis_cache import ANALYSIS_PREFIX, KEEP_FILES, decode, encode
from mfv2bench.metrics.guard import DegenerateReport
from mfv2bench.metrics.scores import OverallScores
from mfv2bench.metrics.stats import PairedTest
from test_metrics_analysis import COMMON, _split, _write_store
from test_metrics_golden import TRACKERS

CLASSES = (Analysis, OverallScores, PairedTest, DegenerateReport)


def same(a: Any, b: Any, where: str = "") -> None:
    """Exact equality of two analyses (or parts): types, dtypes, NaN where NaN."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, (float, np.floating)) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _caches(root: Path) -> list[Path]:
    return sorted(root.glob(f"{ANALYSIS_PREFIX}*"))


def _no_recompute(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the analysis was recomputed")
    monkeypatch.setattr(analysis_mod, "analysis_from_scores", boom)


def test_cached_analysis_equals_uncached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_store(tmp_path, COMMON)
    split = _split(COMMON)
    protocols = ("lasot-toolkit", "mixformerv2", "got10k-lasot")
    uncached = {}
    for protocol in protocols:
        fresh = analyze_store(split, list(TRACKERS), tmp_path, protocol, n_resamples=200)
        uncached[protocol] = analyze_store(split, list(TRACKERS), tmp_path, protocol,
                                           cache=False, n_resamples=200)
        same(fresh, uncached[protocol])
    assert len(_caches(tmp_path)) == 3
    hits = {}
    with monkeypatch.context() as m:
        _no_recompute(m)  # served from the cache: nothing is recomputed
        for protocol in protocols:
            hits[protocol] = analyze_store(split, list(TRACKERS), tmp_path, protocol,
                                           n_resamples=200)
    for protocol in protocols:
        same(hits[protocol], uncached[protocol])
        assert hits[protocol].to_json() == uncached[protocol].to_json()
        pd.testing.assert_frame_equal(hits[protocol].table(), uncached[protocol].table())
        pd.testing.assert_frame_equal(hits[protocol].pairwise_table(),
                                      uncached[protocol].pairwise_table())


def test_every_input_invalidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_store(tmp_path, COMMON)
    trackers = list(TRACKERS)

    def check(split, tracker_list=trackers, **kw) -> Analysis:
        """Cached result equals the uncached one for these inputs."""
        got = analyze_store(split, tracker_list, tmp_path, "lasot-toolkit", **kw)
        ref = analyze_store(split, tracker_list, tmp_path, "lasot-toolkit", cache=False, **kw)
        same(got, ref)
        return got

    base = check(_split(COMMON), n_resamples=100)
    with monkeypatch.context() as m:  # unchanged: served from the cache
        _no_recompute(m)
        analyze_store(_split(COMMON), trackers, tmp_path, "lasot-toolkit", n_resamples=100)
    # options
    for kw in ({"n_resamples": 150}, {"n_resamples": 100, "seed": 3},
               {"n_resamples": 100, "level": 0.9}, {"n_resamples": 100, "pairwise": False}):
        a = check(_split(COMMON), **kw)
        assert a.bootstrap != base.bootstrap or a.pairwise != base.pairwise
    # tracker order and subset
    check(_split(COMMON), trackers[::-1], n_resamples=100)
    check(_split(COMMON), trackers[:2], n_resamples=100)
    # attributes and split identity
    split = _split(COMMON)
    split.sequences[0].attributes = {"IV": 1, "POC": 1, "FM": 1}
    a = check(split, n_resamples=100)
    assert not a.attributes.equals(base.attributes)
    check(_split(COMMON[1:], missing=[COMMON[0]]), n_resamples=100)
    # GT
    split = _split(COMMON)
    split.sequences[2].gt = split.sequences[2].gt + 1
    a = check(split, n_resamples=100)
    assert a.score("good", "auc") != base.score("good", "auc")
    split = _split(COMMON)
    split.sequences[2].visible = ~split.sequences[2].visible
    check(split, n_resamples=100)
    # a result file: new bytes, same size, mtime put back
    f = tmp_path / "mediocre" / "lasot-test" / f"{COMMON[3]}.txt"
    st = f.stat()
    lines = f.read_text().splitlines(keepends=True)
    row = next(i for i in range(5, len(lines)) if lines[i][0].isdigit())
    lines[row] = str((int(lines[row][0]) + 5) % 10) + lines[row][1:]  # x moves far
    edited = "".join(lines)
    assert len(edited) == st.st_size
    f.write_text(edited)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    a = check(_split(COMMON), n_resamples=100)
    assert a.score("mediocre", "auc") != base.score("mediocre", "auc")
    # a time file appearing
    (tmp_path / "good" / "lasot-test" / f"{COMMON[0]}_time.txt").write_text("0.01\n" * 3)
    check(_split(COMMON), n_resamples=100)


def test_coverage_and_manifests_are_applied_after_loading(tmp_path: Path) -> None:
    _write_store(tmp_path, COMMON)
    first = analyze_store(_split(COMMON), ["good"], tmp_path, "lasot-toolkit", n_resamples=50)
    hit = analyze_store(_split(COMMON), ["good"], tmp_path, "lasot-toolkit", n_resamples=50)
    assert hit.coverage == first.coverage and hit.coverage_reasons == first.coverage_reasons
    hit.mark_coverage("good", "partial", ["edited by a caller"])
    again = analyze_store(_split(COMMON), ["good"], tmp_path, "lasot-toolkit", n_resamples=50)
    assert again.coverage == first.coverage  # a caller's change never reaches the cache


def test_damaged_or_foreign_cache_is_recomputed(tmp_path: Path) -> None:
    _write_store(tmp_path, COMMON)
    ref = analyze_store(_split(COMMON), list(TRACKERS), tmp_path, "mixformerv2",
                        n_resamples=50)
    (path,) = _caches(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    same(analyze_store(_split(COMMON), list(TRACKERS), tmp_path, "mixformerv2",
                       n_resamples=50), ref)


def test_unwritable_results_folder_keeps_no_cache(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    _write_store(tmp_path, COMMON)
    os.chmod(tmp_path, 0o555)
    try:
        analyze_store(_split(COMMON), ["good"], tmp_path, "mixformerv2", n_resamples=50)
    finally:
        os.chmod(tmp_path, 0o755)
    assert not _caches(tmp_path)


def test_old_caches_are_pruned(tmp_path: Path) -> None:
    _write_store(tmp_path, COMMON)
    names = list(TRACKERS)
    combos = [[a] for a in names] + [[a, b] for a in names for b in names if a != b] + [names]
    for combo in combos[:KEEP_FILES + 2]:
        analyze_store(_split(COMMON), combo, tmp_path, "mixformerv2", n_resamples=20)
    assert len(_caches(tmp_path)) == KEEP_FILES


def test_codec_is_exact_and_refuses_unknown_types() -> None:
    df = pd.DataFrame({"name": ["a", "b"], "v": np.array([1.5, np.nan], np.float32),
                       "n": np.array([3, 4]), "o": [None, 0.1]})
    empty = pd.DataFrame([], columns=["attribute", "tracker", "auc"])
    value = {"t": (1, 2.5, float("nan"), float("inf")), "s": np.float64(0.1),
             "i": np.int64(7), "b": np.bool_(True), "df": df, "empty": empty,
             "e": pd.DataFrame(), 3: [np.arange(6, dtype=np.int16).reshape(2, 3)],
             "objarr": np.array(["x", None], dtype=object),
             "p": PairedTest("a", "b", "auc", 3, 0.5, 0.25, 0.25, 0.1, 0.4, float("nan"))}
    parts: list[bytes] = []
    tree = encode(value, parts, CLASSES)
    back = decode(tree, np.frombuffer(b"".join(parts), np.uint8), CLASSES)
    same(back, value)
    with pytest.raises(TypeError):
        encode({"x": object()}, [], CLASSES)
    with pytest.raises(TypeError):
        encode(pd.DataFrame({"a": [1]}, index=["r"]), [], CLASSES)


def test_scores_keyed_while_reading_match_the_upfront_key(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold analysis hashes the files while reading them; the key it stores is the one a
    later analysis computes up front, so the score caches are hits."""
    _write_store(tmp_path, COMMON)
    ref = analyze_store(_split(COMMON), list(TRACKERS), tmp_path, "mixformerv2", n_resamples=50)
    for c in _caches(tmp_path):
        c.unlink()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("scored again")
    monkeypatch.setattr(analysis_mod, "score_tracker", fail)
    same(analyze_store(_split(COMMON), list(TRACKERS), tmp_path, "mixformerv2",
                       n_resamples=50), ref)


def test_file_changed_after_reading_is_not_cached_under_its_new_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key names the bytes that were scored: an edit landing between reading and keying
    gives a miss next time, never the old scores for the new bytes."""
    _write_store(tmp_path, COMMON)
    f = tmp_path / "good" / "lasot-test" / f"{COMMON[2]}.txt"
    other = (tmp_path / "failing" / "lasot-test" / f"{COMMON[2]}.txt").read_bytes()
    real = analysis_mod.read_results

    def read_then_edit(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        if f.read_bytes() != other:
            f.write_bytes(other)
        return out
    with monkeypatch.context() as m:
        m.setattr(analysis_mod, "read_results", read_then_edit)
        analyze_store(_split(COMMON), ["good"], tmp_path, "mixformerv2", n_resamples=50)
    got = analyze_store(_split(COMMON), ["good"], tmp_path, "mixformerv2", n_resamples=50)
    same(got, analyze_store(_split(COMMON), ["good"], tmp_path, "mixformerv2", cache=False,
                            n_resamples=50))


def test_other_metrics_code_recomputes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mfv2bench.metrics import analysis_cache
    digest = analysis_cache.code_digest()
    assert len(digest) == 16 and digest == analysis_cache.code_digest()
    _write_store(tmp_path, COMMON)
    analyze_store(_split(COMMON), ["good"], tmp_path, "mixformerv2", n_resamples=50)
    monkeypatch.setattr(analysis_cache, "code_digest", lambda: "edited")
    calls = []
    real = analysis_mod.analysis_from_scores
    monkeypatch.setattr(analysis_mod, "analysis_from_scores",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    analyze_store(_split(COMMON), ["good"], tmp_path, "mixformerv2", n_resamples=50)
    assert calls == [1]


def test_trackers_scored_in_threads_equal_one_after_the_other(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a thread budget (``threads.set_threads``) the trackers are read and scored in a
    thread pool: the analysis is the same."""
    _write_store(tmp_path, COMMON)
    one = analyze_store(_split(COMMON), list(TRACKERS), tmp_path, "mixformerv2", cache=False,
                        n_resamples=50)
    monkeypatch.setattr(analysis_mod, "thread_budget", lambda: 2)
    threaded = analyze_store(_split(COMMON), list(TRACKERS), tmp_path, "mixformerv2",
                             n_resamples=50)  # cold, with caches written from the threads
    same(threaded, one)
    same(analyze_store(_split(COMMON), list(TRACKERS), tmp_path, "mixformerv2",
                       n_resamples=50), one)
