"""Labels are drawn chunk by chunk with the exact class count, so memory is flat in --num_seqs."""
from __future__ import annotations

import numpy as np
import pytest

from utils.io import InputError
from utils.rules import MAX_NUM_SEQS, SimulationConfig, draw_labels_by_chunk, resolve_rule


@pytest.mark.parametrize("n,fraction,chunk", [(1, 0.5, 4), (7, 0.3, 3), (50_001, 0.3, 20_000), (10, 0.9, 10)])
def test_chunked_labels_hold_exactly_the_requested_positives(n, fraction, chunk):
    parts = list(draw_labels_by_chunk(n, fraction, np.random.default_rng(1), chunk))
    assert [len(p) for p in parts] == [min(chunk, n - s) for s in range(0, n, chunk)]
    assert int(sum(p.sum() for p in parts)) == int(round(n * fraction))


def test_chunked_labels_are_the_seeded_draw():
    """Golden draws of the current code (seed 1): the positives' places, not only their count."""
    parts = list(draw_labels_by_chunk(7, 0.3, np.random.default_rng(1), 3))
    assert [p.tolist() for p in parts] == [[0, 0, 0], [0, 0, 1], [1]]
    parts = list(draw_labels_by_chunk(10, 0.9, np.random.default_rng(1), 10))
    assert [p.tolist() for p in parts] == [[1, 1, 1, 0, 1, 1, 1, 1, 1, 1]]
    parts = list(draw_labels_by_chunk(50_001, 0.3, np.random.default_rng(1), 20_000))
    assert [int(p.sum()) for p in parts] == [6076, 5920, 3004]          # 15,000 in all
    assert [np.flatnonzero(p)[:8].tolist() for p in parts] == [
        [3, 18, 20, 22, 26, 28, 31, 32], [1, 13, 15, 16, 18, 21, 23, 27], [4, 11, 13, 17, 19, 21, 34, 35]]


def test_a_billion_labels_start_at_once():
    first = next(draw_labels_by_chunk(MAX_NUM_SEQS - 1, 0.5, np.random.default_rng(0), 20_000))
    assert len(first) == 20_000 and first.dtype == np.int8
    assert int(first.sum()) == 10_044                                   # golden, seed 0
    assert np.flatnonzero(first)[:10].tolist() == [1, 5, 8, 11, 12, 14, 15, 17, 21, 22]
    with pytest.raises(InputError, match="below 1,000,000,000"):
        resolve_rule(SimulationConfig(num_seqs=MAX_NUM_SEQS))
