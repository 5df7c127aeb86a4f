"""How long indexing LaSOT takes: builds a 1,400-sequence LaSOT-shaped tree of empty frame files
(real names, real layout, real annotation files) and times ``load_split`` on test and train,
with got10k's ``LaSOT`` class on the same tree as the baseline.

Tree size. Real LaSOT has 3.52 M frames; creating that many empty files takes several minutes on
a small machine, so by default only the 280 test sequences get real-sized frame counts (drawn
uniformly from 1,000..3,896, mean ~2,450 as in the real test split: ~685 k files) and the 1,120
train sequences get ``--train-frames`` (default 300) each. The full-LaSOT figure is extrapolated
from the real-sized test split by frame count (its sequences have real lengths, so per-sequence
and per-frame costs are in real proportion). ``--full`` gives every sequence a real-sized count.

Baseline. got10k 0.1.3's ``LaSOT.__init__`` cannot run (two TypeErrors, see
tests/test_datasets_oracle.py), so the object is built without it, exactly as the second half of
``__init__`` sets it up; each sequence is then loaded with its ``__getitem__`` (glob + sort of
img/*.jpg, ``np.loadtxt`` of the GT) and ``return_meta=True`` (occlusion / out-of-view flags and
nlp, as ours reads them). Timings are warm-cache (the tree was just written), one process,
median of ``--repeat`` runs.

    .venv/bin/python benchmarks/bench_index.py [--dir /tmp/lasot_bench] [--keep] [--full]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mfv2bench.datasets.registry import load_split  # noqa: E402
from mfv2bench.datasets.splits import official_list  # noqa: E402



def _write_sequence(seq_dir: str, n: int, rng: np.random.Generator) -> None:
    img = os.path.join(seq_dir, "img")
    os.makedirs(img, exist_ok=True)
    for i in range(1, n + 1):
        os.close(os.open(os.path.join(img, f"{i:08d}.jpg"), os.O_CREAT | os.O_WRONLY, 0o644))
    xy = np.cumsum(rng.integers(-3, 4, (n, 2)), axis=0) + 300
    wh = np.clip(np.cumsum(rng.integers(-1, 2, (n, 2)), axis=0) + 80, 4, None)
    boxes = np.concatenate([xy, wh], axis=1)
    with open(os.path.join(seq_dir, "groundtruth.txt"), "w") as f:
        f.write("".join(f"{a},{b},{c},{d}\n" for a, b, c, d in boxes))
    occ = (rng.random(n) < 0.02).astype(int)
    oov = (rng.random(n) < 0.02).astype(int)
    with open(os.path.join(seq_dir, "full_occlusion.txt"), "w") as f:
        f.write(",".join(map(str, occ)) + "\n")
    with open(os.path.join(seq_dir, "out_of_view.txt"), "w") as f:
        f.write(",".join(map(str, oov)) + "\n")
    with open(os.path.join(seq_dir, "nlp.txt"), "w") as f:
        f.write("an object moving\n")


def build_tree(root: Path, train_frames: int, full: bool, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    counts = {}
    for split, names in (("test", official_list("lasot_test.txt")),
                         ("train", official_list("lasot_train.txt"))):
        for name in names:
            if split == "test" or full:
                n = int(rng.integers(1000, 3897))
            else:
                n = train_frames
            _write_sequence(os.path.join(root, name.split("-")[0], name), n, rng)
            counts[name] = n
    (root / "BENCH_TREE.json").write_text(json.dumps({"train_frames": train_frames,
                                                      "full": full, "counts": counts}))
    return counts


def _got10k_lasot(root: Path, subset: str):
    from got10k.datasets import lasot as g10_lasot

    obj = g10_lasot.LaSOT.__new__(g10_lasot.LaSOT)
    obj.root_dir, obj.subset, obj.return_meta = str(root), subset, True
    with open(os.path.join(os.path.dirname(g10_lasot.__file__), "lasot.json")) as f:
        obj.seq_names = json.load(f)[subset]
    obj.seq_dirs = [os.path.join(str(root), n[:n.rfind("-")], n, "img") for n in obj.seq_names]
    obj.anno_files = [os.path.join(os.path.dirname(d), "groundtruth.txt") for d in obj.seq_dirs]
    return obj


def time_ours(root: Path, split: str) -> tuple[float, int]:
    t = time.perf_counter()
    loaded = load_split("lasot", split, root=root)
    dt = time.perf_counter() - t
    return dt, sum(s.n_frames for s in loaded)


def time_got10k(root: Path, split: str) -> tuple[float, int]:
    t = time.perf_counter()
    ds = _got10k_lasot(root, split)
    frames = 0
    for i in range(len(ds)):
        img_files, _anno, _meta = ds[i]
        frames += len(img_files)
    return time.perf_counter() - t, frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=None, help="tree location (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the tree for the next run")
    ap.add_argument("--train-frames", type=int, default=300)
    ap.add_argument("--full", action="store_true", help="real-sized counts for all 1,400")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()

    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="lasot_bench_"))
    marker = root / "BENCH_TREE.json"
    reuse = marker.is_file() and json.loads(marker.read_text()).get("train_frames") == \
        args.train_frames and json.loads(marker.read_text()).get("full") == args.full
    try:
        if reuse:
            counts = json.loads(marker.read_text())["counts"]
            print(f"reusing tree at {root}")
        else:
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            t = time.perf_counter()
            counts = build_tree(root, args.train_frames, args.full)
            print(f"built {len(counts)} sequences, {sum(counts.values()):,} empty frame files "
                  f"in {time.perf_counter() - t:.1f} s at {root}")
        results = {}
        for split in ("test", "train"):
            ours = [time_ours(root, split) for _ in range(args.repeat)]
            med = statistics.median(d for d, _ in ours)
            frames = ours[0][1]
            line = (f"ours    lasot-{split:<5}: {len(official_list(f'lasot_{split}.txt')):>5} seqs "
                    f"{frames:>9,} frames  {med:6.2f} s  ({frames / med / 1e6:.2f} M frames/s)")
            results[split] = med
            if not args.no_baseline:
                base = [time_got10k(root, split) for _ in range(args.repeat)]
                bmed = statistics.median(d for d, _ in base)
                assert base[0][1] == frames, "baseline saw a different number of frames"
                line += f" | got10k LaSOT {bmed:6.2f} s  -> ours is {bmed / med:.1f}x faster"
            print(line)
        if not args.full:
            real_frames = 3_520_000
            test_frames = sum(counts[n] for n in official_list("lasot_test.txt"))
            print(f"full LaSOT (1,400 seqs, 3.52 M frames) estimated from the real-sized test "
                  f"split: {results['test'] * real_frames / test_frames:.2f} s")
        else:
            print(f"test+train: {results['test'] + results['train']:.2f} s")
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
