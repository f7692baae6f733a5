"""Labels are drawn chunk by chunk with the exact class count, so memory is flat in --num_seqs."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from utils.io import InputError
from utils.rules import MAX_NUM_SEQS, SimulationConfig, draw_labels_by_chunk, resolve_rule


@pytest.mark.parametrize("n,fraction,chunk", [(1, 0.5, 4), (7, 0.3, 3), (50_001, 0.3, 20_000), (10, 0.9, 10)])
def test_chunked_labels_hold_exactly_the_requested_positives(n, fraction, chunk):
    parts = list(draw_labels_by_chunk(n, fraction, np.random.default_rng(1), chunk))
    assert [len(p) for p in parts] == [min(chunk, n - s) for s in range(0, n, chunk)]
    assert int(sum(p.sum() for p in parts)) == int(round(n * fraction))


def test_a_billion_labels_start_at_once():
    first = next(draw_labels_by_chunk(MAX_NUM_SEQS - 1, 0.5, np.random.default_rng(0), 20_000))
    assert len(first) == 20_000 and 9_700 < first.sum() < 10_300
    with pytest.raises(InputError, match="below 1,000,000,000"):
        resolve_rule(SimulationConfig(num_seqs=MAX_NUM_SEQS))
