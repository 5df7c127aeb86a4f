"""Training beyond the micro CPU runs: stage hashes pinned across hash-compatible recipe
extensions, bf16 autocast, checkpoint files as init / teacher, real-data (loader) splits,
full-size (Small) shapes and DDP (two gloo processes on the CPU)."""

from __future__ import annotations

from pathlib import Path

from mfv2bench.training.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]

# Stage hashes of the recipes the shipped and running micro runs were trained with. A finished
# stage is reused only while its hash is unchanged, so new recipe fields must leave these alone
# at their defaults (hash-compatible extension: a field whose default reproduces the old
# behaviour is hashed only when set).
PINNED = {
    "micro.toml": {"teacher": "89833f8f35", "sparse": "57bb4064a9", "prune": "57a491c489",
                   "score": "2a6f162653"},
    "micro-ablations.toml": {"teacher": "89833f8f35", "sparse": "57bb4064a9",
                             "prune": "57a491c489", "score": "2a6f162653",
                             "direct": "13759da74e", "drop": "832cf038b4",
                             "prune2_via4": "56495c7927", "prune2_direct": "1f2a1c4220",
                             "mlp256": "455cd8c0d2"},
}


def test_stage_hashes_of_the_micro_recipes_are_pinned():
    for name, want in PINNED.items():
        r = load_recipe(REPO / "recipes" / name)
        assert {s.name: r.stage_hash(s.name) for s in r.stages} == want, name
