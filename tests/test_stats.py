"""utils.stats: the paired sign-flip test of the mean, Benjamini-Hochberg, attainable p-values."""
from __future__ import annotations

import numpy as np
import pytest

from utils import stats


def test_exact_sign_flip_pvalue_counts_sign_patterns():
    # patterns of (1, 2, 3) with |mean| >= 2: only +++ and --- -> 2/8
    assert stats.sign_flip_pvalue(np.array([1.0, 2.0, 3.0])) == pytest.approx(0.25)
    # (1, -1): every pattern has |mean| 0 or 1 >= 0 -> 1
    assert stats.sign_flip_pvalue(np.array([1.0, -1.0])) == 1.0


def test_paired_test_uses_the_mean_for_test_and_effect():
    d = np.arange(1, 31, dtype=float)
    mean, p, name = stats.paired_test(d, np.random.default_rng(0))
    assert mean == pytest.approx(15.5) and name == stats.TEST_MONTE_CARLO
    assert p == pytest.approx(1 / (1 + stats.SIGN_FLIPS))      # no random pattern reaches all-positive
    assert stats.paired_test(np.zeros(30)) == (0.0, 1.0, "none (all differences zero)")
    mean, p, name = stats.paired_test(np.array([0.5, 0.4, 0.6]))
    assert name == stats.TEST_EXACT and p == pytest.approx(0.25)
    row = stats.summarize_differences(d, d, np.random.default_rng(1))
    assert row["statistic"] == row["mean_delta_output"] == pytest.approx(15.5)
    assert row["test_used"] == stats.TEST_MONTE_CARLO and row["ci_low"] < 15.5 < row["ci_high"]


def test_min_attainable_p():
    assert stats.min_attainable_p(0) == 1.0
    assert stats.min_attainable_p(4) == pytest.approx(0.125)
    assert stats.min_attainable_p(5) == pytest.approx(0.0625)      # cannot reach 0.05: underpowered
    assert stats.min_attainable_p(6) == pytest.approx(0.03125)
    assert stats.min_attainable_p(500) == pytest.approx(1 / (1 + stats.SIGN_FLIPS))


def test_benjamini_hochberg_step_up():
    q = stats.benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan, 0.5]))
    np.testing.assert_allclose(q[[0, 1, 2, 4]], [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert np.isnan(q[3])


def test_stable_seed_is_fixed_across_runs():
    assert stats.stable_seed("ablate:CTCF_known1", "CTCF_known1") == 3886922285
