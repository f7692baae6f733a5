"""Chance matches: background windows that score like a planted instance of a motif in play.

Such a window would make a label false (a negative that carries the positive motif by
chance), so it is redrawn until none is left.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from utils import motifs as motiflib
from utils.engine_numpy import Chunk
from utils.io import InputError
from utils.rules import Rule

MAX_CLEAN_ROUNDS = 500
STUCK_ROUNDS = 5             # redraw the planted instances too after this many failed rounds


def _redraw_instances(rule: Rule, chunk: Chunk, rows: np.ndarray, sample) -> None:
    """Draw new instances for every planted site in ``rows`` (same motif, same place)."""
    sel = np.isin(chunk.site_seq, rows)
    for m in np.unique(chunk.site_motif[sel]):
        pick = sel & (chunk.site_motif == m)
        inst = sample(int(m), int(pick.sum()))
        cols = chunk.site_start[pick, None] + np.arange(rule.lengths[m])[None, :]
        chunk.codes[chunk.site_seq[pick, None], cols] = inst


def clean_chance_matches(rule: Rule, chunk: Chunk, redraw: Callable[[int], np.ndarray],
                         sample: Callable[[int, int], np.ndarray]) -> int:
    """Redraw background (outside planted sites) wherever a motif in play matches by chance.

    A window counts as a chance match of motif M when it scores at or above M's threshold
    on either strand, does not lie inside one planted instance, and does not overlap a
    planted instance of M itself. ``redraw(k)`` gives k fresh backgrounds and
    ``sample(motif_id, k)`` k fresh instances, each from the engine's own generator.
    Returns how many sequences needed a redraw.
    """
    codes = chunk.codes
    n, L = codes.shape
    lengths = rule.lengths
    inst_id = np.zeros((n, L), dtype=np.int32)      # 1 + index of the planted instance, 0 = background
    motif_at = np.full((n, L), -1, dtype=np.int32)  # motif id planted at each base
    if len(chunk.site_seq):
        offs = np.arange(int(lengths.max()))[None, :]
        cols = chunk.site_start[:, None] + offs
        keep = offs < lengths[chunk.site_motif][:, None]
        rows = np.broadcast_to(chunk.site_seq[:, None], cols.shape)[keep]
        inst_id[rows, cols[keep]] = np.broadcast_to(
            np.arange(1, len(chunk.site_seq) + 1)[:, None], cols.shape)[keep]
        motif_at[rows, cols[keep]] = np.broadcast_to(chunk.site_motif[:, None], cols.shape)[keep]
    planted = inst_id > 0
    is_filler = np.isin(chunk.site_motif, list(rule.fillers.values())) if len(chunk.site_seq) \
        else np.zeros(1, dtype=bool)
    los = [motiflib.log_odds(m, rule.background) for m in rule.motifs]
    todo = np.arange(n)
    ever = np.zeros(n, dtype=bool)
    stuck = np.zeros(n, dtype=np.int64)
    for _ in range(MAX_CLEAN_ROUNDS):
        bad = np.zeros(todo.size, dtype=bool)
        block = codes[todo]
        quads = motiflib.pack_quads(block) if L >= 4 else None
        for m, (motif, lo) in enumerate(zip(rule.motifs, los)):
            w = motif.length
            if L - w + 1 < 1 or not np.isfinite(rule.thresholds[m]):
                continue
            r, c = motiflib.find_matches(block, lo, rule.thresholds[m], quads)
            rr = todo[r]
            first, last = inst_id[rr, c], inst_id[rr, c + w - 1]
            # inside another planted motif: a resemblance (warned about), not a chance match;
            # inside a look-alike it is a label error, fixed by drawing the look-alike anew
            inside = (first > 0) & (first == last) & ~is_filler[np.maximum(first - 1, 0)]
            # equal lengths: a window overlaps a planted M iff one of its ends lies in it
            overlaps_same = (motif_at[rr, c] == m) | (motif_at[rr, c + w - 1] == m)
            bad[r[~inside & ~overlaps_same]] = True
        todo = todo[bad]
        if todo.size == 0:
            return int(ever.sum())
        ever[todo] = True
        fresh = redraw(todo.size)
        codes[todo] = np.where(planted[todo], codes[todo], fresh)
        stuck[todo] += 1
        # a planted instance plus a base or two of background can itself look like
        # another motif; after a few failed redraws, draw those instances anew as well
        again = todo[stuck[todo] % STUCK_ROUNDS == 0]
        if again.size:
            _redraw_instances(rule, chunk, again, sample)
    raise InputError(f"background kept matching the motifs by chance after {MAX_CLEAN_ROUNDS} "
                     f"redraws; use longer or more specific motifs, or another --background_dist")
