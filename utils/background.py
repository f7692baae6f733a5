"""The one background sampler: independent bases from a base distribution.

The generator (:mod:`utils.engine_numpy`: every sequence's background, fresh bases for
cleaning), the in-silico experiments (:mod:`utils.perturb`: background stretches) and the
references of the attribution methods (:func:`utils.attribution.background_sequences`) all
draw through :func:`sample_background`, so "a background base" means one thing everywhere.
"""
from __future__ import annotations

import numpy as np


def sample_background(n: int, length: int, background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent bases from the background distribution -> uint8 (n, L) codes over ACGT.

    ``background``: (4,) probabilities of A, C, G, T (validated by the caller). One float32
    uniform per base is compared with the float32 cumulative distribution. Every seeded data
    set is made of these exact draws: changing the method changes every generated file.
    """
    cdf = np.cumsum(background)[:3]
    u = rng.random((n, length), dtype=np.float32)
    codes = (u >= np.float32(cdf[0])).astype(np.uint8)
    codes += u >= np.float32(cdf[1])
    codes += u >= np.float32(cdf[2])
    return codes
