"""Activity targets: the kinds of sequence the design balances, and labels from planted instances.

An activity label is the sum over a sequence's planted instances of their motif's effect, plus
the interaction when the rule's arrangement holds (:meth:`utils.planted.PlantedRule.arrangement`),
plus Gaussian noise; :func:`noise_free` computes the first two terms from the planted sites alone
(the rows of motif_sites.bed), so a label with ``noise_sd`` 0 follows from that file exactly.

The design (:func:`kind_names`): every kind of sequence appears equally often, so each term can
be learned and measured. A presence rule's kinds are the subsets of its positive motifs (each
present or not; a present motif carries 1 to max_copies copies); a pair rule's are neither
motif, A only, B only, both in the arrangement and both outside it.
"""
from __future__ import annotations

import numpy as np

from utils.planted import Order, PairRule, PlantedRule

# a pair rule's kinds, by id: which of A and B are real (the other slot holds a look-alike)
NEITHER, A_ONLY, B_ONLY, INSIDE, OUTSIDE = range(5)
PAIR_HAS_A = (A_ONLY, INSIDE, OUTSIDE)
PAIR_HAS_B = (B_ONLY, INSIDE, OUTSIDE)


def kind_names(rule: PlantedRule) -> list[str]:
    """The kinds of sequence an activity design balances, in id order."""
    if isinstance(rule, PairRule):
        a, b = rule.pair
        return ["neither", f"{a} only", f"{b} only", "both, arrangement holds", "both, arrangement fails"]
    pos = rule.pos_motifs
    return ["+".join(m for j, m in enumerate(pos) if k >> j & 1) or "none" for k in range(2 ** len(pos))]


def design_definition(rule: PlantedRule) -> str:
    """The design in words, for metadata.json."""
    if isinstance(rule, PairRule):
        a, b = rule.pair
        how = ("A before B; B before A when it fails" if isinstance(rule, Order)
               else "the gap inside the window, either order; outside it (30% within 5 bp of an edge) "
                    "when it fails")
        return (f"five kinds, equally many (counts differ by at most 1): neither motif, {a} only, {b} only, "
                f"both with the arrangement holding ({how}), both with it failing; a missing motif's "
                f"slot in the pair holds its look-alike, so every sequence carries the A-gap-B block; "
                f"sequences with fewer than both draw the order at random and, for distance, the gap "
                f"inside or outside the window half of the time each")
    return (f"{2 ** len(rule.pos_motifs)} kinds, equally many (counts differ by at most 1): every subset "
            f"of the positive motifs {', '.join(rule.pos_motifs)} present; a present motif carries 1 "
            f"to max_copies copies, each count equally often")


def _present(n: int, rows: np.ndarray, motifs: np.ndarray, name: str) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[rows[motifs == name]] = True
    return out


def arrangement_holds(rule: PlantedRule, n: int, rows, starts, ends, motifs) -> np.ndarray:
    """(n,) bool: does each sequence's planted arrangement hold (the interaction applies)?

    Sites are given as arrays (row, start, end, motif name), 0-based, end exclusive. A pair
    rule's A and B are planted at most once each; presence rules without an arrangement
    (presence any, one positive motif) never hold.
    """
    rows, starts, ends, motifs = (np.asarray(v) for v in (rows, starts, ends, motifs))
    if rule.arrangement() is None:
        return np.zeros(n, dtype=bool)
    if not isinstance(rule, PairRule):
        return np.all([_present(n, rows, motifs, m) for m in rule.pos_motifs], axis=0)
    where = {}
    for m in rule.pair:
        s, e = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
        sel = motifs == m
        s[rows[sel]], e[rows[sel]] = starts[sel], ends[sel]
        where[m] = s, e
    (a_s, a_e), (b_s, b_e) = where[rule.pair[0]], where[rule.pair[1]]
    both = (a_s >= 0) & (b_s >= 0)
    if isinstance(rule, Order):
        return both & (a_s < b_s)
    gap = np.where(a_s < b_s, b_s - a_e, a_s - b_e)
    return both & (gap >= rule.min_dist) & (gap <= rule.max_dist)


def noise_free(rule: PlantedRule, n: int, rows, starts, ends, motifs) -> np.ndarray:
    """(n,) float64: each sequence's activity without noise, from its planted sites alone:
    the sum of its instances' effects plus the interaction where the arrangement holds."""
    act = rule.activity
    rows, motifs = np.asarray(rows, dtype=np.int64), np.asarray(motifs)
    names, inverse = np.unique(motifs, return_inverse=True)
    effect = np.array([act.effect(str(m)) for m in names], dtype=np.float64)
    values = np.bincount(rows, weights=effect[inverse].reshape(-1) if len(rows) else None, minlength=n)
    values = values.astype(np.float64)
    return values + act.interaction * arrangement_holds(rule, n, rows, starts, ends, motifs)


def rounded(values: np.ndarray) -> np.ndarray:
    """Labels as labels.tsv holds them: rounded to 6 decimals, no negative zero."""
    return np.round(np.asarray(values, dtype=np.float64), 6) + 0.0
