"""Rule-level faithfulness on hand-built maps whose answers are known.

Each map is a signed value per position (put on the observed base); a site is supported when its
sum beats the 95th percentile of same-width sums over the site-free background of its sequence.
"""
from __future__ import annotations

import numpy as np
import pytest

from utils import planted
from utils.encoding import one_hot
from utils.faithfulness import faithfulness, site_sums
from utils.seqfiles import Site

L = 60


def seqs_and_maps(per_seq_values):
    """per_seq_values: list of {(start, end): value}: the map is value at every position of the stretch,
    0 on the other planted sites and a small deterministic ripple (|x| <= 0.01) in the background."""
    rng = np.random.default_rng(0)
    x = one_hot(["".join(rng.choice(list("ACGT"), L)) for _ in per_seq_values])
    maps = np.zeros((len(per_seq_values), L), dtype=np.float32)
    for i, stretches in enumerate(per_seq_values):
        maps[i] = 0.01 * np.sin(np.arange(L) * (i + 1))
        for a, b in ((5, 11), (30, 36), (45, 51)):
            maps[i, a:b] = 0.0
        for (a, b), v in stretches.items():
            maps[i, a:b] = v
    return x, maps[:, :, None] * x            # the value at the observed base, 0 at the other three


def rule(kind="presence", logic="any", pos=("A", "B"), **extra):
    return planted.RULE_KINDS[kind](motifs=tuple(pos) + ("D",), pos_motifs=tuple(pos), decoy_motifs=("D",),
                                    presence_logic=logic, min_dist=0, max_dist=20, **extra)


SITES = {"s0": [Site("s0", 5, 11, "A"), Site("s0", 30, 36, "B"), Site("s0", 45, 51, "D")],
         "s1": [Site("s1", 5, 11, "A"), Site("s1", 30, 36, "B"), Site("s1", 45, 51, "D")],
         "s2": [Site("s2", 5, 11, "A"), Site("s2", 30, 36, "B"), Site("s2", 45, 51, "D")],
         "s3": [Site("s3", 5, 11, "A"), Site("s3", 30, 36, "B"), Site("s3", 45, 51, "D")]}
IDS = ["s0", "s1", "s2", "s3"]
# s0: both motifs pushed up; s1: A only; s2: A up, B pushed down; s3: only the decoy
MAPS = [{(5, 11): 1.0, (30, 36): 0.5}, {(5, 11): 1.0}, {(5, 11): 1.0, (30, 36): -1.0}, {(45, 51): 1.0}]


def test_site_sums_and_their_background_null():
    x, a = seqs_and_maps([{(5, 11): 1.0}])
    sums, nulls = site_sums(a[0].sum(axis=-1), SITES["s0"])
    assert sums == [pytest.approx(6.0), 0.0, 0.0]
    assert all(0 < n < 0.07 for n in nulls)          # six positions of the ripple at most


@pytest.mark.parametrize("logic, k, expected", [("any", None, 0.75), ("all", None, 0.25), ("at_least", 2, 0.25),
                                                ("at_least", 1, 0.75)])
def test_presence_logics(logic, k, expected):
    x, a = seqs_and_maps(MAPS)
    extra = {"min_motifs": k} if k else {}
    got = faithfulness(rule(logic=logic, **extra), IDS, np.ones(4), SITES, "saliency", a, x)
    assert got["n"] == 4 and got["faithful_share"] == expected
    assert got["supported_share"] == 4 / 8               # A in s0-s2, B in s0, of 8 rule sites


def test_xor_counts_exactly_one_supported_motif():
    x, a = seqs_and_maps(MAPS)
    got = faithfulness(rule(logic="xor"), IDS, np.ones(4), SITES, "saliency", a, x)
    assert got["faithful_share"] == 0.5                   # s1 and s2 support A alone; s0 supports both


def test_pair_rules_need_both_partners_and_negatives_are_not_scored():
    x, a = seqs_and_maps(MAPS)
    for kind in ("order", "distance", "phasing"):
        got = faithfulness(rule(kind=kind), IDS, np.ones(4), SITES, "integrated_gradients", a, x)
        assert got["faithful_share"] == 0.25, kind
    got = faithfulness(rule(kind="order"), IDS, np.array([1, 0, 0, 0]), SITES, "saliency", a, x)
    assert (got["n"], got["faithful_share"]) == (1, 1.0)


def test_ism_is_read_mean_centred():
    # an ISM map is 0 at the observed base and negative at the others where the observed base matters
    x, a = seqs_and_maps(MAPS)
    ism = np.where(x > 0, 0.0, -a.sum(axis=-1, keepdims=True))     # -v at the three other bases
    got = faithfulness(rule(logic="all"), IDS, np.ones(4), SITES, "ism", ism, x)
    assert got["faithful_share"] == 0.25


def test_order_faithfulness_reads_the_swapped_map_against_the_models_call():
    """Order: the positives' two motifs are exchanged in place (gap kept, every site moved with its
    bases); a map that still credits both motifs after a swap the model calls negative states
    presence, not order, and is not faithful; one that drops them, or credits them where the
    model still calls the swap positive, is."""
    from utils.faithfulness import swapped_positives

    x, a = seqs_and_maps(MAPS)
    order = rule(kind="order")
    sw = swapped_positives(order, IDS, np.array([1, 1, 1, 0]), SITES, x)
    assert sw.rows == [0, 1, 2] and sw.ids == ["s0:swapped", "s1:swapped", "s2:swapped"]
    assert sw.sites["s0:swapped"] == [Site("s0:swapped", 30, 36, "A"), Site("s0:swapped", 5, 11, "B"),
                                      Site("s0:swapped", 45, 51, "D")]
    np.testing.assert_array_equal(sw.onehot[0, 5:11], x[0, 30:36])
    np.testing.assert_array_equal(sw.onehot[0, 30:36], x[0, 5:11])
    np.testing.assert_array_equal(sw.onehot[0, 11:30], x[0, 11:30])
    assert swapped_positives(rule(kind="distance"), IDS, np.ones(4), SITES, x) is None

    def swapped_maps(values):
        maps = np.zeros(sw.onehot.shape[:2], dtype=np.float32)
        for (s, e), v in values.items():
            maps[:, s:e] = v
        return maps[:, :, None] * sw.onehot

    both = swapped_maps({(5, 11): 1.0, (30, 36): 1.0})
    labels = np.array([1, 1, 1, 0])
    for calls, credited, expected, consistent in [([False] * 3, both, 0.0, 0.0),    # presence read as order
                                                  ([True] * 3, both, 1 / 3, 1.0),   # the model ignores order
                                                  ([False] * 3, swapped_maps({}), 1 / 3, 1.0)]:
        sw.calls = np.array(calls)
        got = faithfulness(order, IDS, labels, SITES, "saliency", a, x, sw, credited)
        assert (got["n"], got["n_swapped"]) == (3, 3)
        assert got["faithful_share"] == pytest.approx(expected)         # s0 is the one faithful original
        assert got["swap_consistent_share"] == pytest.approx(consistent)
    assert faithfulness(order, IDS, labels, SITES, "saliency", a, x)["faithful_share"] == pytest.approx(1 / 3)
