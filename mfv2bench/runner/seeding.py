"""Seeding the random generators a tracker may draw from, per (run, sequence), so that a run of a
stochastic tracker can be reproduced exactly and repeated runs differ only by their seed.

Run ``r`` of an eval with ``--seed S`` has the run seed ``S + r``; each sequence gets its own
seed from it (``sequence_seed``), so a sequence's boxes do not depend on which worker ran it or
what ran before it in that process. Seeded before the tracker's ``initialize``: Python's
``random``, NumPy's global generator, torch (CPU and CUDA, when torch is loaded), OpenCV's
``cv::theRNG`` of the calling thread (``cv2.setRNGSeed``) and the C library's ``rand()``
(``srand``): OpenCV's MIL tracker draws its Haar features with ``rand()`` and copies
``theRNG()`` into its sampler, so without the last two two clean runs of MIL differ.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import random
import sys

import numpy as np

log = logging.getLogger(__name__)
SEED_MODULUS = 2 ** 31  # every generator above accepts a seed below it
SEQUENCE_SEED_RULE = "blake2b-64 of '<run seed>/<sequence name>' mod 2**31"
_LIBC: list = []


def run_seed(base_seed: int, run_id: int) -> int:
    """The seed of run ``run_id`` of an eval started with ``--seed base_seed``."""
    return int(base_seed) + int(run_id)


def sequence_seed(seed: int, sequence: str) -> int:
    """The seed of one sequence in a run (``SEQUENCE_SEED_RULE``): stable across processes,
    machines and Python versions (no ``hash()``)."""
    digest = hashlib.blake2b(f"{int(seed)}/{sequence}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % SEED_MODULUS


def _libc():
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None))
        except OSError:  # no C library to reach (never on Linux/macOS)
            _LIBC.append(None)
    return _LIBC[0]


def seed_everything(seed: int) -> list[str]:
    """Seed every generator this process has that a tracker may use; returns their names."""
    seed = int(seed) % SEED_MODULUS
    random.seed(seed)
    np.random.seed(seed)
    seeded = ["random", "numpy"]
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)  # CPU and every CUDA device
        seeded.append("torch")
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setRNGSeed(seed)
        seeded.append("cv2.setRNGSeed")
    libc = _libc()
    if libc is not None and hasattr(libc, "srand"):
        libc.srand(ctypes.c_uint(seed))
        seeded.append("libc srand")
    return seeded


SEEDED_GENERATORS = ["random", "numpy", "torch (when loaded)", "cv2.setRNGSeed (when loaded)",
                     "libc srand"]
