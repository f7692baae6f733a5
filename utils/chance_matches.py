"""Chance matches: windows that score as a motif in play where no instance of it was planted.

Such a window would make a label false (a negative that carries the positive motif by
chance) or a decoy informative, so it is removed where it is: the background bases of the
window are drawn again, and where a window has no background base (it lies inside planted
instances, or those dominate its score) the planted instances it touches are drawn again.
Only the rows that still match are scanned again, so cleaning converges in a few rounds
however many matches a sequence holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from utils import motifs as motiflib
from utils.engine_numpy import Chunk
from utils.rules import Rule

MAX_CLEAN_ROUNDS = 1000      # never reached in practice: resolve_rule refuses what could not converge
STUCK_ROUNDS = 3             # a row still matching after this many rounds has its touching instances redrawn


@dataclass
class CleanStats:
    """What cleaning did in one chunk (or summed over chunks)."""
    windows: np.ndarray                      # per real motif: matching windows found and removed
    instances_redrawn: np.ndarray            # per motif id (look-alikes included): instances drawn again
    rows_touched: int = 0
    background_counts: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))

    def __iadd__(self, other: "CleanStats") -> "CleanStats":
        self.windows = self.windows + other.windows
        self.instances_redrawn = self.instances_redrawn + other.instances_redrawn
        self.rows_touched += other.rows_touched
        self.background_counts = self.background_counts + other.background_counts
        return self

    @classmethod
    def empty(cls, rule: Rule) -> "CleanStats":
        return cls(np.zeros(len(rule.matches), dtype=np.int64), np.zeros(len(rule.motifs), dtype=np.int64))


def clean_chance_matches(rule: Rule, chunk: Chunk, bases: Callable[[int], np.ndarray],
                         sample: Callable[[int, int], np.ndarray]) -> CleanStats:
    """Remove every window scoring at or above a motif's threshold, except its planted instances.

    A window matching motif M (either strand) is left alone only when it is a planted instance
    of M, or overlaps one and scores below it (:func:`_kept_overlaps`: site calling then finds
    the instance, not the window). Every other match is removed: its background bases are drawn anew
    with ``bases(k)``; when it has none, or its row keeps matching, the planted instances it
    touches are drawn anew with ``sample(motif_id, k)`` (forward strand; put back on the
    instance's strand here). Both come from the engine's own generator.
    """
    codes = chunk.codes
    n, L = codes.shape
    lengths = rule.lengths
    stats = CleanStats.empty(rule)
    k_sites = len(chunk.site_seq)
    inst_id = np.zeros((n, L), dtype=np.int32)      # 1 + index of the planted instance, 0 = background
    site_rows = site_cols = np.zeros(0, dtype=np.int64)
    if k_sites:
        offs = np.arange(int(lengths.max()))[None, :]
        cols = chunk.site_start[:, None] + offs
        keep = offs < lengths[chunk.site_motif][:, None]
        site_rows = np.broadcast_to(chunk.site_seq[:, None], cols.shape)[keep]
        site_cols = cols[keep]
        inst_id[site_rows, site_cols] = np.broadcast_to(np.arange(1, k_sites + 1)[:, None], cols.shape)[keep]
    motif_of = np.concatenate([[-1], chunk.site_motif]).astype(np.int64)   # by inst_id: -1 = background
    los = [motiflib.log_odds(m, rule.background) for m in rule.motifs[:len(rule.matches)]]
    todo = np.arange(n)
    stuck = np.zeros(n, dtype=np.int64)
    touched = np.zeros(n, dtype=bool)
    for _ in range(MAX_CLEAN_ROUNDS):
        if todo.size == 0:
            break
        block = codes[todo]
        quads = motiflib.pack_quads(block) if L >= 4 and block.max(initial=0) < 4 else None
        resample = np.zeros((todo.size, L), dtype=bool)
        redraw = np.zeros(k_sites, dtype=bool)
        hit = np.zeros(todo.size, dtype=bool)
        for m, lo in enumerate(los):
            w = int(lengths[m])
            if L - w + 1 < 1:
                continue
            r, c = motiflib.find_matches(block, lo, rule.thresholds[m], quads)
            rr = todo[r]
            own = _kept_overlaps(codes, rr, c, m, lo, inst_id, motif_of, chunk.site_start)
            r, c, rr = r[~own], c[~own], rr[~own]
            if r.size == 0:
                continue
            stats.windows[m] += r.size
            hit[r] = True
            span = c[:, None] + np.arange(w)[None, :]
            inside = inst_id[rr[:, None], span]                    # (k, w) instance under each base
            free = inside == 0
            resample[np.broadcast_to(r[:, None], span.shape)[free], span[free]] = True
            # no background base to draw, or a row that keeps matching: draw its instances
            hard = ~free.any(axis=1) | (stuck[rr] >= STUCK_ROUNDS)
            ids = inside[hard]
            redraw[ids[ids > 0] - 1] = True
        if not hit.any():
            break
        rows_hit = todo[hit]
        touched[rows_hit] = True
        stuck[rows_hit] += 1
        pr, pc = np.divmod(np.flatnonzero(resample), L)     # np.nonzero's pairs, faster on 2-D
        codes[todo[pr], pc] = bases(pr.size)
        if redraw.any():
            _redraw_instances(rule, chunk, np.flatnonzero(redraw), sample, stats)
        todo = rows_hit
    else:
        raise RuntimeError(f"chance matches remained after {MAX_CLEAN_ROUNDS} rounds of cleaning")
    stats.rows_touched = int(touched.sum())
    planted = np.bincount(codes[site_rows, site_cols], minlength=5)[:4]
    stats.background_counts = (np.bincount(codes.ravel(), minlength=5)[:4] - planted).astype(np.int64)
    return stats


def _kept_overlaps(codes, rows, starts, m: int, lo, inst_id, motif_of, site_start) -> np.ndarray:
    """Which matching windows of motif ``m`` stay: the planted instances of ``m`` themselves, and
    windows overlapping one that score below it (or equal, to its right).

    Site calling keeps the best of overlapping windows of a motif (the leftmost of equals), so a
    window that beats the planted instance it overlaps would be called in the instance's place:
    such a window is a chance match like any other and is removed. Equal lengths: a window
    overlaps a planted ``m`` iff one of its ends lies in it, and it overlaps at most two.
    """
    w = lo.shape[0]
    keep = np.zeros(rows.size, dtype=bool)
    ends = [inst_id[rows, starts], inst_id[rows, starts + w - 1]]
    overlaps = [motif_of[e] == m for e in ends]
    over_any = overlaps[0] | overlaps[1]
    if not over_any.any():
        return keep
    score = np.zeros(rows.size)
    score[over_any] = np.maximum(*motiflib.strand_scores(codes, rows[over_any], starts[over_any], lo))
    beaten = np.zeros(rows.size, dtype=bool)
    for end, over in zip(ends, overlaps):
        idx = np.flatnonzero(over)
        own_start = site_start[end[idx] - 1]
        keep[idx[own_start == starts[idx]]] = True         # the instance itself
        planted = np.maximum(*motiflib.strand_scores(codes, rows[idx], own_start, lo))
        beaten[idx] |= (own_start != starts[idx]) & ((score[idx] > planted)
                                                      | ((score[idx] == planted) & (starts[idx] < own_start)))
    return keep | (over_any & ~beaten)


def _redraw_instances(rule: Rule, chunk: Chunk, sites: np.ndarray, sample, stats: CleanStats) -> None:
    """Draw new instances for the given planted sites (same motif, place and strand)."""
    lengths = rule.lengths
    for m in np.unique(chunk.site_motif[sites]):
        pick = sites[chunk.site_motif[sites] == m]
        inst = sample(int(m), pick.size)
        inst = np.where(chunk.site_strand[pick, None] == 1, motiflib.reverse_complement(inst), inst)
        cols = chunk.site_start[pick, None] + np.arange(lengths[m])[None, :]
        chunk.codes[chunk.site_seq[pick, None], cols] = inst
        stats.instances_redrawn[m] += pick.size
