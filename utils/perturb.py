"""In-silico experiments on a black-box model: ablate, insert, swap, re-space, flip, copy number, move; their statistics.

Every experiment takes real test sequences (one-hot ``(N, L, 4)``), builds all of its
perturbed copies at once (``num_perturbs`` draws per sequence), sends them through
``predictor.predict`` in large batches and returns, per sequence, the change in the
model's probability and in its loss against the true label, averaged over the draws.
Only ``predict`` is ever called, so any model kind works.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np

from utils import motifs as motiflib
from utils.background import sample_background
from utils.hypotheses import ABLATE, CONTROL, COPIES, DISTANCE, FLIP, FLIP_SITES, INSERT, MOVE, SWAP, Hypothesis
from utils.io import InputError
from utils.seqfiles import Site
from utils.planted import PlantedRule, SpacingRule, orientation_of
from utils.stats import curve_band, stable_seed, summarize_differences

EPS = 1e-7
_EYE = np.eye(4, dtype=np.float32)


# ============================================================================ basics
def bce(prob: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Binary cross-entropy per sequence (natural log), probabilities clipped to [1e-7, 1-1e-7]."""
    p = np.clip(np.asarray(prob, dtype=np.float64), EPS, 1 - EPS)
    y = np.asarray(label, dtype=np.float64)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def background_onehot(n: int, background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """n bases drawn from the background distribution -> float32 (n, 4)."""
    return _EYE[sample_background(1, n, np.asarray(background, dtype=np.float64), rng)[0]]


def fill_background(x: np.ndarray, rows: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                    background: np.ndarray, rng: np.random.Generator) -> None:
    """Overwrite stretches x[rows[k], starts[k]:starts[k]+lengths[k]] with background bases."""
    rows, starts, lengths = (np.asarray(v, dtype=np.int64) for v in (rows, starts, lengths))
    total = int(lengths.sum())
    if total == 0:
        return
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    x[np.repeat(rows, lengths), np.repeat(starts, lengths) + offsets] = background_onehot(total, background, rng)


@dataclass
class Outcome:
    """Per-sequence result of one experiment."""
    hypothesis: Hypothesis
    indices: np.ndarray          # which of the input sequences were tested
    delta_output: np.ndarray     # (n,) mean change in the output over the draws (probability or value)
    delta_loss: np.ndarray       # (n,) mean change in loss over the draws
    num_perturbs: int

    @property
    def name(self) -> str:
        return self.hypothesis.name

    @property
    def motifs(self) -> str:
        return self.hypothesis.motif_text


def output_loss(out: np.ndarray, target: np.ndarray, output_kind: str) -> np.ndarray:
    """The loss of each output against its target: binary cross-entropy for a probability (a
    logit output is predicted as one), squared error for a value; NaN where the target is."""
    if output_kind == "value":
        return (np.asarray(out, dtype=np.float64) - np.asarray(target, dtype=np.float64)) ** 2
    return bce(out, target)


def _measure(predictor, target: np.ndarray, base: np.ndarray, perturbed: np.ndarray,
             num_perturbs: int) -> tuple[np.ndarray, np.ndarray]:
    """Predict all perturbed copies (laid out sequence-major) and average per sequence: the
    change in output and in loss against ``target`` (the labels, or the activities)."""
    kind = getattr(predictor, "output_kind", "probability")
    out = np.asarray(predictor.predict(perturbed), dtype=np.float64).reshape(len(base), num_perturbs)
    d_out = (out - base[:, None]).mean(axis=1)
    d_loss = (output_loss(out, target[:, None], kind) - output_loss(base, target, kind)[:, None]).mean(axis=1)
    return d_out, d_loss


def _target(y: np.ndarray, target: np.ndarray | None) -> np.ndarray:
    """What the loss compares outputs with: ``target`` when given (a value model's activities, or
    NaN without labels), else the class labels ``y``."""
    return np.asarray(y if target is None else target, dtype=np.float64)


def _sites_of(sites: list[list[Site]], motif: str) -> list[list[Site]]:
    return [[s for s in seq_sites if s.motif == motif] for seq_sites in sites]


class FreeSpace:
    """Where a stretch of a given width overlaps no planted site, for every sequence at once."""

    def __init__(self, sites: list[list[Site]], length: int):
        busy = np.zeros((len(sites), length), dtype=np.int32)
        for k, seq_sites in enumerate(sites):
            for s in seq_sites:
                busy[k, s.start:s.end] = 1
        self.length = length
        self.cumsum = np.concatenate([np.zeros((len(sites), 1), dtype=np.int32),
                                      np.cumsum(busy, axis=1)], axis=1)

    def valid(self, rows: np.ndarray, width: int) -> np.ndarray:
        """(len(rows), L - width + 1) bool: the starts whose stretch is free."""
        cs = self.cumsum[np.asarray(rows, dtype=np.int64)]
        return cs[:, width:] == cs[:, :self.length - width + 1]

    def draw(self, rows: np.ndarray, width: int, k: int, rng: np.random.Generator) -> np.ndarray:
        """k free starts per row, uniformly among that row's free starts -> (len(rows) * k,)."""
        valid = np.repeat(self.valid(rows, width), k, axis=0)
        count = valid.sum(axis=1)
        pick = np.minimum((rng.random(len(valid)) * count).astype(np.int64), np.maximum(count - 1, 0))
        return np.argmax(np.cumsum(valid, axis=1) > pick[:, None], axis=1)


# ============================================================================ experiments
def ablate(predictor, x, y, base_prob, sites, motif, num_perturbs, background, rng,
           max_seqs: int | None = None, label: int | None = None, target: np.ndarray | None = None) -> Outcome:
    """Resample every planted instance of ``motif`` from the background, in sequences carrying it
    (only those of class ``label`` when given)."""
    per_seq = _sites_of(sites, motif)
    idx = _choose([i for i, s in enumerate(per_seq) if s and (label is None or y[i] == label)], max_seqs, rng)
    copies = np.repeat(x[idx], num_perturbs, axis=0)
    rows, starts, lengths = [], [], []
    for k, i in enumerate(idx):
        for s in per_seq[i]:
            rows += list(range(k * num_perturbs, (k + 1) * num_perturbs))
            starts += [s.start] * num_perturbs
            lengths += [s.end - s.start] * num_perturbs
    fill_background(copies, rows, starts, lengths, background, rng)
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], copies, num_perturbs)
    return Outcome(Hypothesis(ABLATE, (motif,), label), idx, d_prob, d_loss, num_perturbs)


def ablate_background(predictor, x, y, base_prob, sites, motif, width, num_perturbs, background, rng,
                      max_seqs: int | None = None, free: FreeSpace | None = None,
                      target: np.ndarray | None = None) -> Outcome:
    """Control: resample a random background stretch as long as ``motif``, in sequences carrying it."""
    free = free or FreeSpace(sites, x.shape[1])
    carriers = np.array([i for i, s in enumerate(_sites_of(sites, motif)) if s], dtype=np.int64)
    room = free.valid(carriers, width).any(axis=1) if len(carriers) else np.zeros(0, dtype=bool)
    idx = _choose(list(carriers[room]), max_seqs, rng)
    copies = np.repeat(x[idx], num_perturbs, axis=0)
    starts = free.draw(idx, width, num_perturbs, rng) if len(idx) else np.zeros(0, dtype=np.int64)
    fill_background(copies, np.arange(len(copies)), starts, np.full(len(copies), width), background, rng)
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], copies, num_perturbs)
    return Outcome(Hypothesis(CONTROL, (motif,), width=width), idx, d_prob, d_loss, num_perturbs)


def insert(predictor, x, y, base_prob, sites, motif: motiflib.Motif, num_perturbs, rng,
           max_seqs: int | None = None, sampling: str = "pwm", free: FreeSpace | None = None,
           target: np.ndarray | None = None, draw=None) -> Outcome:
    """Plant ``motif`` at a random free position in sequences lacking it.

    Instances are drawn the way the data planted them (``draw``, :func:`utils.motifs.instance_drawer`:
    PWM draws that reach the motif's match threshold, or its consensus); without ``draw``,
    unconditioned PWM draws (or the consensus).
    """
    free = free or FreeSpace(sites, x.shape[1])
    lacking = [i for i, s in enumerate(_sites_of(sites, motif.name)) if not s]
    idx, copies = _plant_at_free(x, lacking, motif, num_perturbs, rng, max_seqs, sampling, free, draw)
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], copies, num_perturbs)
    return Outcome(Hypothesis(INSERT, (motif.name,)), idx, d_prob, d_loss, num_perturbs)


def _plant_at_free(x, candidates, motif: motiflib.Motif, num_perturbs, rng, max_seqs, sampling,
                   free: FreeSpace, draw=None) -> tuple[np.ndarray, np.ndarray]:
    """Of the ``candidates`` with a free stretch for ``motif``, at most ``max_seqs``; each copied
    ``num_perturbs`` times with one instance planted at a random free place -> (indices (n,),
    perturbed copies (n * num_perturbs, L, 4), sequence-major). Instances come from ``draw(motif, k,
    rng)`` (:func:`utils.motifs.instance_drawer`) when given, else PWM draws (or the consensus)."""
    cand = np.asarray(candidates, dtype=np.int64)
    room = free.valid(cand, motif.length).any(axis=1) if len(cand) else np.zeros(0, dtype=bool)
    idx = _choose(list(cand[room]), max_seqs, rng)
    copies = np.repeat(x[idx], num_perturbs, axis=0)
    if len(idx):
        starts = free.draw(idx, motif.length, num_perturbs, rng)
        inst = draw(motif, len(starts), rng, copies, starts) if draw is not None else \
            motiflib.sample_instances(motif, len(starts), rng, sampling)
        motiflib.write_at(copies, starts, inst)
    return idx, copies


# ============================================================================ copy number
def remove_one_copy(predictor, x, y, base_prob, sites, motif: str, copies: int, num_perturbs, background, rng,
                    max_seqs: int | None = None, target: np.ndarray | None = None) -> Outcome:
    """In the positives carrying exactly ``copies`` instances of ``motif`` (a copies rule's threshold),
    resample one of them from the background: a different copy, drawn at random, in each draw."""
    per_seq = _sites_of(sites, motif)
    idx = _choose([i for i, s in enumerate(per_seq) if len(s) == copies and y[i] == 1], max_seqs, rng)
    work = np.repeat(x[idx], num_perturbs, axis=0)
    if len(idx):
        pick = np.minimum((rng.random(len(work)) * copies).astype(np.int64), copies - 1)
        chosen = [per_seq[idx[r // num_perturbs]][pick[r]] for r in range(len(work))]
        fill_background(work, np.arange(len(work)), [s.start for s in chosen], [s.end - s.start for s in chosen],
                        background, rng)
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], work, num_perturbs)
    return Outcome(Hypothesis(COPIES, (motif,), 1), idx, d_prob, d_loss, num_perturbs)


def add_one_copy(predictor, x, y, base_prob, sites, motif: motiflib.Motif, copies: int, num_perturbs, rng,
                 max_seqs: int | None = None, sampling: str = "pwm", free: FreeSpace | None = None,
                 target: np.ndarray | None = None, draw=None) -> Outcome:
    """In the negatives carrying exactly ``copies`` instances of ``motif`` (one fewer than a copies
    rule's threshold), plant one more at a random free place (:func:`insert`'s placement), drawn by
    ``draw`` (:func:`utils.motifs.instance_drawer`: as the data planted them) when given."""
    free = free or FreeSpace(sites, x.shape[1])
    per_seq = _sites_of(sites, motif.name)
    cand = [i for i, s in enumerate(per_seq) if len(s) == copies and y[i] == 0]
    idx, work = _plant_at_free(x, cand, motif, num_perturbs, rng, max_seqs, sampling, free, draw)
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], work, num_perturbs)
    return Outcome(Hypothesis(COPIES, (motif.name,), 0), idx, d_prob, d_loss, num_perturbs)


def dose_response(predictor, x, sites, motif: motiflib.Motif, lookalike: str | None, max_count: int,
                  num_perturbs: int, rng, max_seqs: int | None = None, sampling: str = "pwm",
                  quiet: bool = True, draw=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's output as the number of copies of ``motif`` is set to 0, 1, ..., ``max_count``.

    Test sequences (both classes) carrying exactly ``max_count`` slots - instances of the motif and
    of its ``lookalike`` (a copies rule's design gives every sequence that many) - are copied
    ``num_perturbs`` times; in each draw every slot gets a fresh instance of the motif (drawn as the
    data drew them) and a fresh look-alike (a shuffled one), and the slots are ranked at random: at
    count c the first c slots hold the motif and the others the look-alike. So each sequence keeps its
    background and its number of motif-shaped sites at every count, and one draw's instances serve
    every count (common random numbers): the curve's steps are the count's alone. ``draw(motif, k,
    rng)`` (:func:`utils.motifs.instance_drawer`) draws the instances as the data planted them (PWM
    draws reaching the match threshold); without it, unconditioned PWM draws (or the consensus).
    Returns (counts (C,), sequence indices (n,), mean output (n, C)).
    """
    names = (motif.name, lookalike)
    slots = [[s for s in seq_sites if s.motif in names] for seq_sites in sites]
    w = motif.length
    idx = _choose([i for i, s in enumerate(slots) if len(s) == max_count and all(t.end - t.start == w for t in s)],
                  max_seqs, rng)
    counts = np.arange(max_count + 1)
    n, k = len(idx), max_count
    if n == 0 or k == 0:
        return counts, idx, np.full((n, len(counts)), np.nan)
    rows_total = n * num_perturbs
    work, starts = _slot_copies(x, slots, idx, num_perturbs)
    draw = draw or (lambda m, size, g: motiflib.sample_instances(m, size, g, sampling))
    real = draw(motif, rows_total * k, rng).reshape(rows_total, k, w)
    fake = motiflib.shuffle_instances(draw(motif, rows_total * k, rng), rng).reshape(rows_total, k, w)
    rank = np.argsort(rng.random((rows_total, k)), axis=1).argsort(axis=1)     # each slot's place in a random order
    return counts, idx, _dose_curve(predictor, work, starts, real, fake, rank, counts, n, num_perturbs, quiet)


# ============================================================================ a code's slots
def code_slots(sites: list[list[Site]], counted: tuple[str, ...], fillers: tuple[str, ...], width: int,
               length: int) -> list[list[Site] | None]:
    """A code rule's slots per sequence: its planted instances of the positive motifs (``counted``) and of their
    look-alikes (``fillers``), by start; None where one of them has no room for a slot of ``width`` bp (the
    stretch from its start runs past the end or overlaps another site). The generator gives each such a slot;
    decoys are not slots."""
    names = set(counted) | set(fillers)
    out = []
    for seq_sites in sites:
        slots = sorted((s for s in seq_sites if s.motif in names), key=lambda s: s.start)
        ok = all(s.start + width <= length and all(t is s or t.end <= s.start or t.start >= s.start + width
                                                   for t in seq_sites) for s in slots)
        out.append(slots if ok else None)
    return out


def slot_fills(motifs: list[motiflib.Motif], n: int, width: int, background, rng, draw, both_strands: bool,
               bases: np.ndarray | None = None, shuffled: bool = False) -> np.ndarray:
    """n slots of ``width`` bp, each holding at its start an instance of one of ``motifs`` (chosen uniformly,
    drawn by ``draw(motif, k, rng)``, reverse-complemented with probability 1/2 when ``both_strands``), the
    rest background (``bases`` (n, width) when given, so two fills can share it) -> uint8 codes (n, width).
    With ``shuffled`` each instance's bases are shuffled (a look-alike), and a slot that then reaches the match
    threshold of one of ``motifs`` anywhere is shuffled again, as the generator redraws such look-alikes."""
    out = sample_background(n, width, np.asarray(background, dtype=np.float64), rng) if bases is None \
        else np.array(bases, dtype=np.uint8)
    which = np.minimum((rng.random(n) * len(motifs)).astype(np.int64), len(motifs) - 1)
    flip = rng.random(n) < 0.5 if both_strands else np.zeros(n, dtype=bool)
    for j, m in enumerate(motifs):
        rows = np.flatnonzero(which == j)
        if rows.size:
            inst = draw(m, rows.size, rng)
            inst = np.where(flip[rows, None], motiflib.reverse_complement(inst), inst)
            out[rows, :m.length] = motiflib.shuffle_instances(inst, rng) if shuffled else inst
    if shuffled:
        bg = np.asarray(background, dtype=np.float64)
        scores = [(motiflib.log_odds(m, bg), motiflib.match_threshold(m, bg).score) for m in motifs]
        for _ in range(100):
            bad = np.zeros(n, dtype=bool)
            for lo, t in scores:
                bad |= (motiflib.scan(out, lo) >= t - 1e-6).any(axis=1)
            if not bad.any():
                break
            for j, m in enumerate(motifs):
                rows = np.flatnonzero(bad & (which == j))
                if rows.size:
                    out[rows, :m.length] = motiflib.shuffle_instances(out[rows, :m.length], rng)
    return out


def code_change(predictor, x, y, base_prob, slots, counted: list[motiflib.Motif], k: int, label: int, width: int,
                num_perturbs, background, rng, draw, both_strands: bool = True, max_seqs: int | None = None,
                target: np.ndarray | None = None) -> Outcome:
    """A code rule's copies test, the copies experiment on the positive motifs counted together, swapping
    whole slots (:func:`code_slots`) as the data fill them. ``label`` 1: in the positives whose slots hold
    exactly ``k`` positive-motif instances (the threshold), one of them (a different one at random in each
    draw) becomes a look-alike (a shuffled instance of a positive motif chosen uniformly); ``label`` 0: in the
    negatives holding ``k - 1`` (just below it), one look-alike slot (at random) gets an instance of a positive
    motif (chosen uniformly, drawn as the data drew them, on a random strand when ``both_strands``). The old
    instance's bases are redrawn from the background, the rest of the slot kept; the perturbed sequence is one
    the design plants in the other class. Decoys stay as they were, so the change is the code's alone."""
    names = {m.name for m in counted}
    want = k if label == 1 else k - 1
    cand = [i for i, sl in enumerate(slots) if sl is not None and y[i] == label
            and sum(s.motif in names for s in sl) == want and (label == 1 or len(sl) > want)]
    idx = _choose(cand, max_seqs, rng)
    work = np.repeat(x[idx], num_perturbs, axis=0)
    if len(idx):
        chosen = []
        for r in range(len(work)):
            pool = [s for s in slots[idx[r // num_perturbs]] if (s.motif in names) == (label == 1)]
            chosen.append(pool[min(int(rng.random() * len(pool)), len(pool) - 1)])
        rows = np.arange(len(work))
        fill_background(work, rows, [s.start for s in chosen], [s.end - s.start for s in chosen], background, rng)
        cols = np.array([s.start for s in chosen], dtype=np.int64)[:, None] + np.arange(width)[None, :]
        here = np.argmax(work[rows[:, None], cols], axis=-1).astype(np.uint8)    # the slot's own bases
        work[rows[:, None], cols] = _EYE[slot_fills(counted, len(work), width, background, rng, draw, both_strands,
                                                    here, shuffled=label == 1)]
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], work, num_perturbs)
    return Outcome(Hypothesis(COPIES, tuple(m.name for m in counted), label), idx, d_prob, d_loss, num_perturbs)


def code_dose_response(predictor, x, slots, counted: list[motiflib.Motif], max_count: int, width: int,
                       num_perturbs: int, background, rng, draw, both_strands: bool = True,
                       max_seqs: int | None = None, quiet: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A code rule's dose-response curve: the model's output as the number of slots holding a positive motif
    is set to 0, 1, ..., ``max_count``, the others holding look-alikes; decoys untouched.

    Test sequences (both classes) carrying ``max_count`` slots (:func:`code_slots`) are copied
    ``num_perturbs`` times; in each draw every slot gets a fresh positive-motif fill and a fresh look-alike fill
    (a shuffled positive-motif instance) on one shared background (:func:`slot_fills`), and the slots are ranked
    at random: at count c the first c hold the positive motifs. Every count reuses the draw's fills (common
    random numbers), as :func:`dose_response` does for one motif. Returns (counts (C,), sequence indices (n,),
    mean output (n, C)).
    """
    idx = _choose([i for i, sl in enumerate(slots) if sl is not None and len(sl) == max_count], max_seqs, rng)
    counts = np.arange(max_count + 1)
    n, k = len(idx), max_count
    if n == 0 or k == 0:
        return counts, idx, np.full((n, len(counts)), np.nan)
    rows_total = n * num_perturbs
    work, starts = _slot_copies(x, slots, idx, num_perturbs)
    bases = sample_background(rows_total * k, width, np.asarray(background, dtype=np.float64), rng)
    real = slot_fills(counted, rows_total * k, width, background, rng, draw, both_strands, bases)
    fake = slot_fills(counted, rows_total * k, width, background, rng, draw, both_strands, bases, shuffled=True)
    real, fake = real.reshape(rows_total, k, width), fake.reshape(rows_total, k, width)
    rank = np.argsort(rng.random((rows_total, k)), axis=1).argsort(axis=1)
    return counts, idx, _dose_curve(predictor, work, starts, real, fake, rank, counts, n, num_perturbs, quiet)


def _slot_copies(x, slots, idx, num_perturbs: int):
    """``num_perturbs`` copies of each chosen sequence (rows ``idx``) and the start of each of its
    slots per copy -> (work (n x num_perturbs, L, 4), starts (n x num_perturbs, k))."""
    work = np.repeat(x[idx], num_perturbs, axis=0)
    starts = np.array([[t.start for t in slots[i]] for i in idx], dtype=np.int64)
    return work, np.repeat(starts, num_perturbs, axis=0)


def _dose_curve(predictor, work, starts, real, fake, rank, counts, n: int, num_perturbs: int, quiet: bool):
    """The dose loop shared by the copies and code curves: for each count c, the slots ranked
    below c in ``rank`` (rows x k) hold ``real`` (rows x k x w codes), the others ``fake``, written
    into ``work`` at ``starts``; -> (n, len(counts)) mean output over each sequence's draws."""
    from utils.cli import progress

    k = real.shape[1]
    out = np.full((n, len(counts)), np.nan)
    for c in progress(counts, total=len(counts), desc="dose-response", quiet=quiet, unit="count"):
        for j in range(k):
            fill = np.where((rank[:, j] < c)[:, None], real[:, j], fake[:, j])
            motiflib.write_at(work, starts[:, j], fill)
        prob = np.asarray(predictor.predict(work), dtype=np.float64).reshape(n, num_perturbs)
        out[:, c] = prob.mean(axis=1)
    return out


def copy_threshold(counts: np.ndarray, mean: np.ndarray) -> int | None:
    """The smallest count whose mean response reaches the curve's own mid-level
    (:func:`response_level`); None for an empty curve. Whether the curve moved at all is the
    verdict's question (:func:`utils.evaluate.copies_found`)."""
    mean = np.asarray(mean, dtype=np.float64)
    if not np.isfinite(mean).any():
        return None
    level = response_level(mean)
    above = np.flatnonzero(np.isfinite(mean) & (mean >= level))
    return int(np.asarray(counts)[above[0]]) if above.size else None


def pair_sites(sites: list[list[Site]], a: str, b: str) -> dict[int, tuple[Site, Site]]:
    """Sequences carrying exactly one A and one B -> (upstream site, downstream site)."""
    out = {}
    for i, seq_sites in enumerate(sites):
        sa = [s for s in seq_sites if s.motif == a]
        sb = [s for s in seq_sites if s.motif == b]
        if len(sa) == 1 and len(sb) == 1:
            first, second = sorted((sa[0], sb[0]), key=lambda s: s.start)
            if first.end <= second.start:          # scanned sites may overlap: such a pair cannot be swapped
                out[i] = (first, second)
    return out


def swap_columns(length: int, first: Site, second: Site) -> np.ndarray:
    """The column order that exchanges two planted instances, keeping the bases between them (gap
    unchanged): position i of the swapped sequence holds position ``cols[i]`` of the original."""
    return np.concatenate([np.arange(0, first.start), np.arange(second.start, second.end),
                           np.arange(first.end, second.start), np.arange(first.start, first.end),
                           np.arange(second.end, length)])


def swap_in_place(onehot: np.ndarray, first: Site, second: Site) -> np.ndarray:
    """Exchange two planted instances, keeping the bases between them (gap unchanged).

    (L, 4) -> (L, 4): ... [second] gap [first] ... where it was ... [first] gap [second] ...
    """
    return onehot[swap_columns(onehot.shape[0], first, second)]


def swap(predictor, x, y, base_prob, sites, a, b, label, num_perturbs, max_seqs, rng,
         target: np.ndarray | None = None) -> Outcome:
    """Swap the planted A and B in place, in sequences of class ``label`` carrying both once.

    The swap is deterministic, so it is evaluated once and counts as every draw.
    """
    pairs = pair_sites(sites, a, b)
    idx = _choose([i for i in pairs if y[i] == label], max_seqs, rng)
    copies = np.stack([swap_in_place(x[i], *pairs[i]) for i in idx]) if len(idx) else x[:0]
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], copies, 1)
    return Outcome(Hypothesis(SWAP, (a, b), label), idx, d_prob, d_loss, 1)


def flip_in_place(onehot: np.ndarray, site: Site) -> np.ndarray:
    """Reverse-complement one planted instance where it stands, every other base kept.

    (L, 4) -> (L, 4): the site's columns reversed and each base complemented (A<->T, C<->G: the
    one-hot channels reversed), so the instance now reads on the other strand.
    """
    out = onehot.copy()
    out[site.start:site.end] = onehot[site.start:site.end][::-1, ::-1]
    return out


def _flipped(strand: str) -> str:
    return "+" if strand == "-" else "-"


def flip_becomes(pair: tuple[Site, Site], site: str, orientation: str) -> int:
    """1 when flipping the ``site`` (upstream, downstream) of the pair puts it in ``orientation``, else 0."""
    up, down = pair[0].strand, pair[1].strand
    if site == "upstream":
        up = _flipped(up)
    else:
        down = _flipped(down)
    return int(orientation_of(up, down) == orientation)


def flip(predictor, x, y, base_prob, sites, a, b, label, site, max_seqs, rng, becomes: int | None = None,
         orientation: str | None = None, target: np.ndarray | None = None) -> Outcome:
    """Reverse-complement the upstream or downstream site of the (A, B) pair in place, in sequences
    of class ``label`` carrying both once; with ``becomes`` (and the planted ``orientation``) only
    those whose flip makes that orientation (1) or does not (0), by their sites' strands.

    The flip is deterministic, so it is evaluated once and counts as every draw.
    """
    pairs = pair_sites(sites, a, b)
    k = FLIP_SITES.index(site)
    idx = _choose([i for i in pairs if y[i] == label and (becomes is None
                   or flip_becomes(pairs[i], site, orientation) == becomes)], max_seqs, rng)
    copies = np.stack([flip_in_place(x[i], pairs[i][k]) for i in idx]) if len(idx) else x[:0]
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], copies, 1)
    return Outcome(Hypothesis(FLIP, (a, b), label, site=site, becomes=becomes), idx, d_prob, d_loss, 1)


# ============================================================================ position: move one site
def single_sites(sites: list[list[Site]], motif: str) -> dict[int, Site]:
    """Sequences carrying exactly one instance of ``motif`` -> that site."""
    out = {}
    for i, seq_sites in enumerate(sites):
        own = [s for s in seq_sites if s.motif == motif]
        if len(own) == 1:
            out[i] = own[0]
    return out


def _others_busy(sites: list[list[Site]], idx: np.ndarray, skip: dict[int, Site], length: int) -> np.ndarray:
    """(n, L + 1) cumulative count of bases covered by the planted sites of each sequence ``idx[k]``
    other than ``skip[idx[k]]`` (the site being moved): a stretch [s, e) is free when cs[e] == cs[s]."""
    busy = np.zeros((len(idx), length), dtype=np.int32)
    for k, i in enumerate(idx):
        for site in sites[i]:
            if site != skip[i]:
                busy[k, site.start:site.end] = 1
    return np.concatenate([np.zeros((len(idx), 1), dtype=np.int32), np.cumsum(busy, axis=1)], axis=1)


def _relocate(work: np.ndarray, rows: np.ndarray, bases: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Write ``bases`` (len(rows), w, 4) into ``work`` at ``starts`` (one per row); returns what stood
    there, so the caller can undo it."""
    w = bases.shape[1]
    cols = starts[:, None] + np.arange(w)[None, :]
    saved = work[rows[:, None], cols].copy()
    work[rows[:, None], cols] = bases
    return saved


def move(predictor, x, y, base_prob, sites, motif, label, inside, num_perturbs, background, rng,
         max_seqs=None, target: np.ndarray | None = None) -> Outcome:
    """Move the one planted instance of ``motif`` (its own bases) to a start drawn uniformly among the
    starts where it overlaps no other planted site and that lie outside the region (``label`` 1:
    positives) or inside it (``label`` 0: negatives), in sequences of class ``label`` carrying it once;
    its old place is refilled from the background, ``num_perturbs`` draws.

    ``inside(starts) -> bool array``: the planted region (:meth:`utils.planted.Position.inside`).
    """
    single = single_sites(sites, motif)
    cand = np.array([i for i in single if y[i] == label], dtype=np.int64)
    length = x.shape[1]
    ok_rows, valid_rows = [], []
    for k, i in enumerate(cand):
        w = single[i].end - single[i].start
        cs = _others_busy(sites, cand[k:k + 1], single, length)[0]
        starts = np.arange(length - w + 1)
        valid = (cs[starts + w] == cs[starts]) & (inside(starts) == (label == 0))
        if valid.any():
            ok_rows.append(i)
            valid_rows.append(np.flatnonzero(valid))
    keep = {int(i): v for i, v in zip(ok_rows, valid_rows)}
    idx = _choose(ok_rows, max_seqs, rng)
    copies = np.repeat(x[idx], num_perturbs, axis=0)
    if len(idx):
        site = [single[i] for i in idx]
        old = np.repeat([s.start for s in site], num_perturbs)
        width = np.repeat([s.end - s.start for s in site], num_perturbs)
        fill_background(copies, np.arange(len(copies)), old, width, background, rng)
        for k, i in enumerate(idx):
            v = keep[int(i)]
            new = v[np.minimum((rng.random(num_perturbs) * len(v)).astype(np.int64), len(v) - 1)]
            rows = np.arange(k * num_perturbs, (k + 1) * num_perturbs)
            bases = np.repeat(x[i, site[k].start:site[k].end][None], num_perturbs, axis=0)
            _relocate(copies, rows, bases, new)
    d_prob, d_loss = _measure(predictor, _target(y, target)[idx], base_prob[idx], copies, num_perturbs)
    return Outcome(Hypothesis(MOVE, (motif,), label), idx, d_prob, d_loss, num_perturbs)


def position_curve(predictor, x, y, sites, motif, starts, num_perturbs, background, rng, max_seqs=None,
                   quiet=True, refine: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move the one planted instance of ``motif`` to each start of ``starts``, in the test sequences
    carrying it once (both classes: where A stands decides either class).

    As :func:`respace` does for gaps: its old place is refilled from the background once per draw
    (``num_perturbs`` draws) and every start reuses those draws; a start where it would overlap another
    planted site is NaN for that sequence; with ``refine``, every start between two grid points whose
    mean responses fall on opposite sides of the curve's mid-level (:func:`response_level`) is
    evaluated too (:func:`refine_edges`). Returns (starts tested, sorted (S,), sequence indices (n,),
    mean output (n, S)).
    """
    from utils.cli import progress

    single = single_sites(sites, motif)
    idx = _choose(sorted(single), max_seqs, rng)
    n, length = len(idx), x.shape[1]
    starts = np.asarray(starts, dtype=np.int64)
    if n == 0:
        return starts, idx, np.full((0, len(starts)), np.nan)
    old = np.array([single[i].start for i in idx])
    width = np.array([single[i].end - single[i].start for i in idx])
    busy_cs = _others_busy(sites, idx, single, length)
    work = np.repeat(x[idx], num_perturbs, axis=0)
    fill_background(work, np.arange(n * num_perturbs), np.repeat(old, num_perturbs),
                    np.repeat(width, num_perturbs), background, rng)
    own = [x[i, single[i].start:single[i].end] for i in idx]

    def evaluate(grid: np.ndarray) -> np.ndarray:
        curve = np.full((n, len(grid)), np.nan)
        for s_i, start in enumerate(progress(grid, total=len(grid), desc="moving", quiet=quiet, unit="start")):
            end = int(start) + width
            fits = end <= length
            clear = np.zeros(n, dtype=bool)
            r = np.flatnonzero(fits)
            clear[r] = busy_cs[r, end[r]] == busy_cs[r, int(start)]
            keep = np.flatnonzero(fits & clear)
            if keep.size == 0:
                continue
            saved = []
            for k in keep:          # motifs may differ in width only between runs, never within one
                rows = np.arange(k * num_perturbs, (k + 1) * num_perturbs)
                saved.append((rows, _relocate(work, rows, np.repeat(own[k][None], num_perturbs, axis=0),
                                              np.full(num_perturbs, int(start)))))
            rows_all = np.concatenate([r_ for r_, _ in saved])
            batch = work if keep.size == n else work[rows_all]
            prob = np.asarray(predictor.predict(batch), dtype=np.float64).reshape(keep.size, num_perturbs)
            for rows, before in saved:
                w = before.shape[1]
                work[rows[:, None], int(start) + np.arange(w)[None, :]] = before
            curve[keep, s_i] = prob.mean(axis=1)
        return curve

    curve = evaluate(starts)
    if refine:
        with _quiet_nan():
            coarse = np.nanmean(curve, axis=0)
            extra = refine_edges(starts, coarse, response_level(coarse))
        if len(extra):
            starts = np.concatenate([starts, extra])
            order = np.argsort(starts, kind="stable")
            starts, curve = starts[order], np.hstack([curve, evaluate(extra)])[:, order]
    return starts, idx, curve


def found_region(starts: np.ndarray, mean: np.ndarray) -> list[int] | None:
    """The region the model calls positive: the longest run of starts whose mean response reaches
    the curve's mid-level (:func:`responsive_window`), as [first start, last start + 1) (0-based,
    end exclusive, like the planted region); None for an empty curve."""
    window = responsive_window(starts, mean)
    return None if window is None else [window[0], window[1] + 1]


def gap_grid(gap_limit: int, min_dist: int | None, max_dist: int | None, coarse: int = 25) -> np.ndarray:
    """Gaps to test: every gap near the planted window's edges, and about ``coarse`` spread over the rest."""
    grid = set(np.linspace(0, gap_limit, num=min(coarse, gap_limit + 1)).round().astype(int).tolist())
    if min_dist is not None and max_dist is not None:
        grid |= set(range(max(0, min_dist - 8), min(gap_limit, max_dist + 8) + 1))
    return np.array(sorted(g for g in grid if 0 <= g <= gap_limit), dtype=np.int64)


def respace(predictor, x, y, sites, a, b, gaps, num_perturbs, background, rng, max_seqs=None,
            quiet=True, refine: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move the downstream motif of the (A, B) pair so the gap takes each value in ``gaps``,
    in the positives carrying both.

    Its old place is refilled from the background (``num_perturbs`` draws); a gap that would
    run past the end or onto another planted site is NaN for that sequence. With ``refine``,
    every gap between two grid points whose mean responses fall on opposite sides of 0.5 is
    evaluated too (:func:`refine_edges`), on the SAME sequences and background draws, so
    each row of the curve stays one sequence.
    Returns (gaps tested, sorted (G,), sequence indices (n,), mean probability (n, G)).
    """
    from utils.cli import progress

    pairs = pair_sites(sites, a, b)
    # positives only: under an order rule a negative stays negative at every gap, and
    # averaging it in would pull the curve to 0.5 and hide the window
    idx = _choose([i for i in pairs if y[i] == 1], max_seqs, rng)
    n, length = len(idx), x.shape[1]
    gaps = np.asarray(gaps, dtype=np.int64)
    if n == 0:
        return gaps, idx, np.full((0, len(gaps)), np.nan)
    first_end = np.array([pairs[i][0].end for i in idx])
    old_start = np.array([pairs[i][1].start for i in idx])
    width = np.array([pairs[i][1].end - pairs[i][1].start for i in idx])
    busy = np.zeros((n, length), dtype=np.int32)        # other planted sites the move must not hit
    for k, i in enumerate(idx):
        for site in sites[i]:
            if site not in pairs[i]:
                busy[k, site.start:site.end] = 1
    busy_cs = np.concatenate([np.zeros((n, 1), dtype=np.int32), np.cumsum(busy, axis=1)], axis=1)
    # one working copy: each draw refills the motif's old place from the background once, and
    # every gap reuses that draw (common random numbers: the curve's steps between gaps are
    # not blurred by new background); the moved motif is written, predicted, then undone
    work = np.repeat(x[idx], num_perturbs, axis=0)
    all_rows = np.arange(n * num_perturbs)
    fill_background(work, all_rows, np.repeat(old_start, num_perturbs), np.repeat(width, num_perturbs),
                    background, rng)

    def evaluate(grid: np.ndarray) -> np.ndarray:
        curve = np.full((n, len(grid)), np.nan)
        for g_i, gap in enumerate(progress(grid, total=len(grid), desc="re-spacing", quiet=quiet,
                                           unit="gap")):
            _at_gap(int(gap), curve[:, g_i])
        return curve

    def _at_gap(gap: int, column: np.ndarray) -> None:
        start = first_end + gap
        end = start + width
        fits = end <= length
        clear = np.zeros(n, dtype=bool)
        r = np.flatnonzero(fits)
        clear[r] = busy_cs[r, end[r]] == busy_cs[r, start[r]]
        keep = np.flatnonzero(fits & clear)
        if keep.size == 0:
            return
        rows = (keep[:, None] * num_perturbs + np.arange(num_perturbs)[None, :]).ravel()
        w = np.repeat(width[keep], num_perturbs)
        offsets = np.arange(int(w.sum())) - np.repeat(np.cumsum(w) - w, w)
        rr = np.repeat(rows, w)
        cc = np.repeat(np.repeat(start[keep], num_perturbs), w) + offsets
        saved = work[rr, cc]
        work[rr, cc] = x[np.repeat(np.repeat(idx[keep], num_perturbs), w),
                         np.repeat(np.repeat(old_start[keep], num_perturbs), w) + offsets]
        batch = work if keep.size == n else work[rows]
        prob = np.asarray(predictor.predict(batch), dtype=np.float64).reshape(keep.size, num_perturbs)
        work[rr, cc] = saved
        column[keep] = prob.mean(axis=1)

    curve = evaluate(gaps)
    if refine:
        with _quiet_nan():
            coarse = np.nanmean(curve, axis=0)
            extra = refine_edges(gaps, coarse, response_level(coarse))
        if len(extra):      # 1-bp resolution where the response crosses 0.5 between grid points
            gaps = np.concatenate([gaps, extra])
            order = np.argsort(gaps, kind="stable")
            gaps, curve = gaps[order], np.hstack([curve, evaluate(extra)])[:, order]
    return gaps, idx, curve


def respace_outcome(idx, curve, gaps, y, min_dist, max_dist, num_perturbs, a, b,
                    spacing_rule: bool, output_kind: str = "probability", masks=None) -> Outcome:
    """Per sequence: mean output at gaps inside the window minus outside it (``masks``: the
    rule's own (inside, outside) gaps, :meth:`utils.planted.PlantedRule.spacing_masks`, e.g. in
    phase and out of phase; default the window [min_dist, max_dist] and every other gap).

    The loss is taken against the label each re-spaced copy should have: under a spacing
    rule 1 inside the window and 0 outside; under any other rule the sequence's own label. A
    value output has no such label (what activity a re-spaced copy should have is the rule's
    terms, not a class): its loss change is NaN.
    """
    if masks is None:
        inside = (gaps >= min_dist) & (gaps <= max_dist)
        outside = ~inside
    else:
        inside, outside = (np.asarray(m, dtype=bool) for m in masks)
    yy = np.asarray(y, dtype=np.float64)[idx][:, None]
    with _quiet_nan():
        d = np.nanmean(curve[:, inside], axis=1) - np.nanmean(curve[:, outside], axis=1)
        loss = bce(np.where(np.isfinite(curve), curve, 0.5), np.where(inside[None, :], 1.0, 0.0)
                   if spacing_rule else yy)
        loss = np.where(np.isfinite(curve), loss, np.nan)
        d_loss = np.nanmean(loss[:, inside], axis=1) - np.nanmean(loss[:, outside], axis=1)
    if output_kind == "value":
        d_loss = np.full(len(d), np.nan)
    ok = np.isfinite(d) & (np.isfinite(d_loss) | (output_kind == "value"))
    return Outcome(Hypothesis(DISTANCE, (a, b), 1), idx[ok], d[ok], d_loss[ok], num_perturbs)


@contextlib.contextmanager
def _quiet_nan():
    """Silence numpy's warnings on all-NaN slices: a gap no sequence could take is NaN by design."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def supported_gaps(n: np.ndarray) -> np.ndarray:
    """(G,) bool: the gaps of a distance curve that at least half as many sequences took as the
    best-supported gap."""
    n = np.asarray(n)
    return n >= max(1, n.max(initial=0) / 2)


def response_level(mean: np.ndarray) -> float:
    """Half-way between the curve's lowest and highest mean: the level a gap's response must
    reach to count as inside the window. A curve's own contrast, not probability 0.5: a weakly
    learned model's whole curve hovers near 0.5 (0.51 outside its window, 0.63 inside), so a
    0.5 cut would put every gap inside; half its range finds the bump."""
    finite = np.asarray(mean, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return float((finite.max() + finite.min()) / 2) if finite.size else 0.5


def refine_edges(gaps: np.ndarray, mean_prob: np.ndarray, cutoff: float = 0.5) -> np.ndarray:
    """Every gap strictly between two neighbouring grid points whose responses fall on
    opposite sides of ``cutoff``: evaluating them puts the window's edges at 1-bp resolution."""
    above = np.nan_to_num(mean_prob, nan=-np.inf) >= cutoff
    extra = [np.arange(gaps[i] + 1, gaps[i + 1]) for i in range(len(gaps) - 1)
             if above[i] != above[i + 1] and gaps[i + 1] - gaps[i] > 1]
    return np.concatenate(extra).astype(np.int64) if extra else np.zeros(0, dtype=np.int64)


def responsive_window(gaps: np.ndarray, mean_prob: np.ndarray, cutoff: float | None = None):
    """The longest run of consecutive grid gaps where the mean response reaches ``cutoff``
    (default :func:`response_level`, half-way between the curve's lowest and highest mean) ->
    [first gap, last gap], or None for an empty curve. Whether the curve moved at all is the
    verdict's question (:func:`utils.evaluate.curve_moves`)."""
    if cutoff is None:
        cutoff = response_level(mean_prob)
    best, run = None, None
    for g, p in zip(gaps, mean_prob):
        if np.isfinite(p) and p >= cutoff:
            run = [run[0], int(g)] if run else [int(g), int(g)]
            if best is None or run[1] - run[0] > best[1] - best[0]:
                best = list(run)
        else:
            run = None
    return best


def _choose(candidates: list[int], max_seqs: int | None, rng: np.random.Generator) -> np.ndarray:
    """At most max_seqs of the candidate indices, drawn without replacement, in order."""
    cand = np.array(candidates, dtype=np.int64)
    if max_seqs is not None and len(cand) > max_seqs:
        cand = np.sort(rng.choice(cand, size=max_seqs, replace=False))
    return cand


def summarize(outcome: Outcome, rng: np.random.Generator) -> dict:
    """One row of interpretation.csv (before q-values and verdict columns); see utils.stats.
    ``hypothesis`` holds the test's identity, which the verdict matches on."""
    row = {"test": outcome.name, "motifs": outcome.motifs, "n_seqs": len(outcome.delta_output),
           "num_perturbs": outcome.num_perturbs}
    row.update(summarize_differences(outcome.delta_output, outcome.delta_loss, rng))
    row["hypothesis"] = outcome.hypothesis
    return row


# ============================================================================ the battery
TESTS = ("ablation", "insertion", "order", "distance", "controls", "interactions", "orientation", "truth_table",
         "copies", "position")
# "interactions": the motifs' effects, the pair's interaction and the dose, embedded in background
# sequences (utils.gia); "truth_table": every subset of a presence rule's positive motifs embedded
# in background sequences (utils.gia.truth_table); "orientation": flip one site of the pair
# (orientation rules, and sequences without a rule given --pair); "copies": remove one copy at a
# copies rule's threshold, add one just below it, and the dose-response curve; "position": move a
# position rule's motif out of its region and into it, and along the whole sequence (the
# position-response curve); the others perturb the test sequences themselves


@dataclass(frozen=True)
class ExperimentPlan:
    """Which experiments run, in order: one hypothesis per row of interpretation.csv, and the
    pair whose distance curve is drawn.

    ``curve_pair``: re-space this (A, B) pair over a gap grid refined around ``drawn_gaps``;
    ``spacing_test``: the curve also gives the distance hypothesis (spacing rules only: an order
    rule's data hold only gaps inside the window, so there the curve outside it is
    extrapolation and stays descriptive).
    """
    hypotheses: tuple[Hypothesis, ...]
    curve_pair: tuple[str, str] | None = None
    drawn_gaps: tuple[int, int] | None = None
    spacing_test: bool = False
    orientation: str | None = None     # the planted orientation the flips' negatives are split by
    rule: PlantedRule | None = None    # the spacing test's inside and outside gaps (its spacing_masks)
    copies: tuple | None = None        # a copies rule's (motif, its look-alike, K, max copies): the dose curve
    position_motif: str | None = None  # a position rule's motif: moved along the sequence (the position curve)
    code: tuple | None = None          # a code rule's (positive motifs, their look-alikes, K, slots, slot width)
    inapplicable: tuple = ()           # (test, why) for each test of --tests that does not apply to the rule
    truth_table: bool = False          # a presence rule of class labels: every subset of its motifs in background


def plan_experiments(rule: PlantedRule | None, motifs: list[motiflib.Motif], pair: tuple[str, str] | None = None,
                     tests=None) -> ExperimentPlan:
    """The experiments that apply to the planted rule (or, without one, to the motifs and the
    ``--pair`` named) among ``tests`` (of :data:`TESTS`; None: every one that applies).

    Without a planted rule every motif is ablated in the positives (across both classes an
    order model's effects would cancel). Raises InputError when ``tests`` asks for a distance
    test and there is no pair.
    """
    names = [m.name for m in motifs]
    requested, tests = tests is not None, tuple(tests or TESTS)
    if rule is not None:
        pair = rule.swap_pair(names)
    elif pair is not None and not (pair[0] in names and pair[1] in names):
        pair = None
    if requested and "distance" in tests and pair is None:
        raise InputError("a distance test needs a pair of motifs, but none is given; drop 'distance' "
                         "from --tests, test two motifs of a pair rule, or name one with --pair A B")
    hyps = []
    for m in motifs:
        if "ablation" in tests:
            hyps.append(Hypothesis(ABLATE, (m.name,), rule.ablation_class(m.name) if rule is not None else 1))
        if "insertion" in tests:
            hyps.append(Hypothesis(INSERT, (m.name,)))
        if "controls" in tests:
            hyps.append(Hypothesis(CONTROL, (m.name,), width=m.length))
    if pair and "order" in tests:
        hyps += [Hypothesis(SWAP, pair, 1), Hypothesis(SWAP, pair, 0)]
    curve = pair if pair and "distance" in tests else None
    drawn = rule.drawn_gaps if rule is not None else None
    spacing = bool(curve and isinstance(rule, SpacingRule) and drawn is not None)
    if spacing:
        hyps.append(Hypothesis(DISTANCE, pair, 1))
    # the flip: an orientation rule's own experiment; without a rule, descriptive for the --pair; other
    # rules plant no strand, so it does not run for them
    orientation = getattr(rule, "orientation", None)
    if "orientation" in tests and orientation is not None:
        hyps += rule.flips()
    elif "orientation" in tests and rule is None and pair is not None:
        hyps += [Hypothesis(FLIP, pair, label, site=site) for site in FLIP_SITES for label in (1, 0)]
    copies = code = None
    if "copies" in tests and rule is not None and rule.kind == "copies" and rule.motif in names:
        hyps += rule.copy_tests()
        fill = next((f for f, m in rule.lookalikes if m == rule.motif), None)
        copies = (rule.motif, fill, rule.min_copies, rule.max_copies)
    # a code: the same tests on the positive motifs counted together, look-alikes in the slots they leave
    if "copies" in tests and rule is not None and rule.kind == "code" and all(m in names for m in rule.counted):
        hyps += rule.copy_tests()
        width = rule.slot_width or max(m.length for m in motifs if m.name in rule.counted)
        code = (rule.counted, rule.fillers, rule.min_copies, rule.max_copies, int(width))
    # the move: a position rule's own experiment (its region says where to move A)
    position_motif = None
    if "position" in tests and rule is not None and rule.kind == "position" and rule.motif in names:
        hyps += rule.required()
        position_motif = rule.motif
    table = rule is not None and rule.kind == "presence" and rule.activity is None
    applies = {"order": bool(pair), "orientation": orientation is not None or (rule is None and pair is not None),
               "copies": copies is not None or code is not None, "position": position_motif is not None,
               "truth_table": table}
    inapplicable = tuple((t, _inapplicable_reason(t, rule)) for t in tests if requested and not applies.get(t, True))
    return ExperimentPlan(tuple(hyps), curve, drawn, spacing, orientation, rule, copies, position_motif, code,
                          inapplicable, table and "truth_table" in tests)


def _inapplicable_reason(test: str, rule: PlantedRule | None) -> str:
    """Why a test asked for with --tests does not run on this rule, in words."""
    kind = "no planted rule" if rule is None else f"a {rule.kind} rule"
    return {"order": f"the swaps need a pair of motifs, and {kind} names none (without a planted rule: --pair A B)",
            "orientation": f"the flips run for orientation rules (or a --pair without a planted rule), not {kind}",
            "copies": f"the copy-number tests run for copies and code rules, not {kind} (or its motif is not "
                      f"among --motifs)",
            "position": f"the moves run for position rules, not {kind} (or its motif is not among --motifs)",
            "truth_table": f"the truth table runs for presence rules of class labels, not {kind}"}[test]


@dataclass
class Battery:
    """Everything the experiments found: one summary row per test that ran, the distance curve,
    and the tests that could not run (no sequence to perturb), each with its reason."""
    rows: list[dict]
    curve: dict | None = None          # gaps, mean, low, high, n, window, pair
    not_run: list[dict] = field(default_factory=list)     # {test, motifs, reason}
    contrast: float | None = None      # the model's own contrast: mean output of positives - negatives
    separation: float | None = None    # auROC of the model's output between those classes
    output_kind: str = "probability"   # the predictor's: probability, logit (read as probability) or value
    output_sd: float | None = None     # SD of the model's output over the test sequences
    dose: dict | None = None           # copies rules: counts, mean, low, high, n, threshold, motif, planted
    position_curve: dict | None = None  # motif, starts, mean, low, high, n, supported, region (found)


def class_contrast(base_prob: np.ndarray, y: np.ndarray) -> float | None:
    """Mean output of the test positives minus that of the negatives (None without both classes):
    how far the model moves between the classes, so how far turning a positive into a negative
    should move it."""
    base_prob, y = np.asarray(base_prob, dtype=np.float64), np.asarray(y)
    if not (np.any(y == 1) and np.any(y != 1)):
        return None
    return float(base_prob[y == 1].mean() - base_prob[y != 1].mean())


def class_separation(base_prob: np.ndarray, y: np.ndarray) -> float | None:
    """The auROC of the model's output between the test positives and negatives (ties count half;
    None without both classes): how cleanly the model tells the classes apart, in no unit."""
    from scipy.stats import rankdata

    base_prob, y = np.asarray(base_prob, dtype=np.float64), np.asarray(y)
    pos, n_pos, n_neg = y == 1, int(np.sum(y == 1)), int(np.sum(y != 1))
    if not (n_pos and n_neg):
        return None
    ranks = rankdata(base_prob)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def not_run_reason(h: Hypothesis) -> str:
    """Why an experiment found no sequence to perturb, in words."""
    m = h.motif_text
    if h.kind == ABLATE:
        return f"no {'positive test sequence' if h.label == 1 else 'test sequence'} carries {m}"
    if h.kind == INSERT:
        return f"every test sequence carries {m} already or has no free stretch for it"
    if h.kind == CONTROL:
        return f"no test sequence carrying {m} has a free stretch of {h.width} bp"
    if h.kind == COPIES:
        return f"no test sequence is among the {h.sequences} of {m}, with room for the change"
    if h.kind == MOVE:
        return (f"no {h.sequences.split(' ')[0][:-1]} among the test sequences carries exactly one {m} with room to "
                f"move it {'out of' if h.label == 1 else 'into'} the region")
    if h.kind == FLIP and h.becomes is not None:
        return f"no test sequence is among the {h.sequences} (carrying exactly one {h.motifs[0]} and one {h.motifs[1]})"
    a, b = h.motifs
    return f"no {h.sequences[:-1]} among the test sequences carries exactly one {a} and one {b} apart"


def run_battery(predictor, x: np.ndarray, y: np.ndarray, sites: list[list[Site]], plan: ExperimentPlan,
                motifs: list[motiflib.Motif], background: np.ndarray, num_perturbs: int, max_seqs: int,
                seed: int, sampling: str = "pwm", quiet: bool = True, base_prob: np.ndarray | None = None,
                target: np.ndarray | None = None, thresholds: dict | None = None,
                strands_both: bool = True, keep_outcomes: list | None = None) -> Battery:
    """Run the planned experiments on test sequences ``x`` (N, L, 4) with classes ``y``.

    ``x`` may also be a list of arrays of several lengths, each (n_i, L_i, 4), for a model that
    takes any length: see :func:`battery_by_length`. ``keep_outcomes``: a list that receives the
    per-sequence outcomes the rows summarise.

    ``sites[i]`` are the planted (or called) sites of sequence i; ``motifs`` the motifs the plan
    names; ``sampling`` how inserted instances are drawn (as the data drew them: pwm or consensus);
    ``base_prob`` (N,) the model's outputs of ``x`` when already known (predictions.tsv);
    ``target`` (N,) what the loss compares a value output with (the activities; NaN unknown),
    default ``y``. Effects are in the predictor's units (:func:`utils.models.effect_unit`).
    ``thresholds`` (motif -> (score, share of draws kept), the data's match thresholds): the copies
    experiment draws the copies it adds as the data planted them, PWM draws reaching the threshold.
    ``strands_both``: a code rule's experiment plants each instance on a random strand (the data's
    ``strand`` both) or on the forward strand only (plus).
    """
    from utils.cli import progress

    if isinstance(x, (list, tuple)):
        return battery_by_length(predictor, list(x), y, sites, plan, motifs, background, num_perturbs, max_seqs,
                                 seed, sampling, quiet, base_prob, target, thresholds, strands_both)
    base_prob = np.asarray(predictor.predict(x) if base_prob is None else base_prob, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    kind = getattr(predictor, "output_kind", "probability")
    by_name = {m.name: m for m in motifs}
    free = FreeSpace(sites, x.shape[1])
    draw = motiflib.instance_drawer(dict(thresholds or {}), np.asarray(background, dtype=np.float64), sampling,
                                    motifs)

    code_slot_sets = None
    if plan.code:
        counted_names, filler_names, _, _, width = plan.code
        code_slot_sets = code_slots(sites, counted_names, filler_names, width, x.shape[1])
        counted = [by_name[m] for m in counted_names]
        both = bool(strands_both)

    def run(h: Hypothesis, rng) -> Outcome:
        m = h.motifs[0]
        if h.kind == COPIES and plan.code:
            return code_change(predictor, x, y, base_prob, code_slot_sets, counted, plan.code[2], h.label,
                               plan.code[4], num_perturbs, background, rng, draw, both, max_seqs, target=target)
        if h.kind == ABLATE:
            return ablate(predictor, x, y, base_prob, sites, m, num_perturbs, background, rng, max_seqs, h.label,
                          target=target)
        if h.kind == INSERT:
            return insert(predictor, x, y, base_prob, sites, by_name[m], num_perturbs, rng, max_seqs,
                          sampling, free, target=target, draw=draw)
        if h.kind == CONTROL:
            return ablate_background(predictor, x, y, base_prob, sites, m, h.width, num_perturbs, background,
                                     rng, max_seqs, free, target=target)
        if h.kind == COPIES:
            k = plan.copies[2]
            if h.label == 1:
                return remove_one_copy(predictor, x, y, base_prob, sites, m, k, num_perturbs, background, rng,
                                       max_seqs, target=target)
            return add_one_copy(predictor, x, y, base_prob, sites, by_name[m], k - 1, num_perturbs, rng, max_seqs,
                                sampling, free, target=target, draw=draw)
        if h.kind == FLIP:
            return flip(predictor, x, y, base_prob, sites, *h.motifs, h.label, h.site, max_seqs, rng,
                        becomes=h.becomes, orientation=plan.orientation, target=target)
        if h.kind == MOVE:
            return move(predictor, x, y, base_prob, sites, m, h.label, plan.rule.inside, num_perturbs, background,
                        rng, max_seqs, target=target)
        return swap(predictor, x, y, base_prob, sites, *h.motifs, h.label, num_perturbs, max_seqs, rng,
                    target=target)

    jobs = [h for h in plan.hypotheses if h.kind != DISTANCE]
    outcomes: list[Outcome] = []
    for h in progress(jobs, total=len(jobs), desc="perturbation tests", quiet=quiet, unit="test"):
        # each experiment draws from its own stream, seeded by its name
        outcomes.append(run(h, experiment_rng(seed, h.name, h.motif_text)))
    curve = None
    if plan.curve_pair:
        a, b = plan.curve_pair
        gap_limit = x.shape[1] - by_name[a].length - by_name[b].length
        lo, hi = plan.drawn_gaps or (None, None)
        rng = experiment_rng(seed, "distance:inside_vs_outside", f"{a},{b}")
        gaps, idx, per_seq = respace(predictor, x, y, sites, a, b, gap_grid(gap_limit, lo, hi), num_perturbs,
                                     background, rng, max_seqs, quiet, refine=True)
        mean, low, high, n = curve_band(per_seq, rng)
        curve = {"pair": [a, b], "gaps": gaps, "mean": mean, "low": low, "high": high, "n": n,
                 "window": None, "supported": supported_gaps(n)}
        # the window is read where at least half the sequences could take the gap: at the largest
        # gaps only the few sequences whose upstream motif lies near the 5' end fit, and a handful
        # of sequences is no window (a k-mer model "responded" at gaps 264-265 of 265 so)
        curve["window"] = responsive_window(gaps, np.where(curve["supported"], mean, np.nan))
        if plan.spacing_test:
            outcomes.append(respace_outcome(idx, per_seq, gaps, y, lo, hi, num_perturbs, a, b, spacing_rule=True,
                                            output_kind=kind, masks=plan.rule.spacing_masks(gaps)))
    dose = None
    if plan.copies:
        m, fill, k, top = plan.copies
        rng = experiment_rng(seed, "copies:dose_response", m)
        counts, idx, per_seq = dose_response(predictor, x, sites, by_name[m], fill, top, num_perturbs, rng,
                                             max_seqs, sampling, quiet, draw=draw)
        mean, low, high, n = curve_band(per_seq, rng)
        dose = {"motif": m, "planted_threshold": k, "counts": counts, "mean": mean, "low": low, "high": high,
                "n": n, "threshold": copy_threshold(counts, mean), "level": response_level(mean)}
    if plan.code:
        names, _, k, top, width = plan.code
        rng = experiment_rng(seed, "copies:dose_response", ",".join(names))
        counts, idx, per_seq = code_dose_response(predictor, x, code_slot_sets, counted, top, width, num_perturbs,
                                                  background, rng, draw, both, max_seqs, quiet)
        mean, low, high, n = curve_band(per_seq, rng)
        dose = {"motif": ",".join(names), "planted_threshold": k, "counts": counts, "mean": mean, "low": low,
                "high": high, "n": n, "threshold": copy_threshold(counts, mean), "level": response_level(mean)}
    position = None
    if plan.position_motif:
        m = plan.position_motif
        region = plan.rule.region
        rng = experiment_rng(seed, "position_curve", m)
        grid = gap_grid(x.shape[1] - by_name[m].length, region[0], region[1] - 1)
        starts, _, per_seq = position_curve(predictor, x, y, sites, m, grid, num_perturbs, background, rng,
                                            max_seqs, quiet, refine=True)
        mean, low, high, n = curve_band(per_seq, rng)
        supported = supported_gaps(n)
        position = {"motif": m, "starts": starts, "mean": mean, "low": low, "high": high, "n": n,
                    "supported": supported, "region": found_region(starts, np.where(supported, mean, np.nan))}
    if keep_outcomes is not None:
        keep_outcomes.extend(outcomes)
    rows, not_run = [], [{"test": t, "motifs": "", "reason": why} for t, why in plan.inapplicable]
    for o in outcomes:
        if len(o.delta_output) == 0:
            not_run.append({"test": o.name, "motifs": o.motifs, "reason": not_run_reason(o.hypothesis)})
        else:
            rows.append(summarize(o, experiment_rng(seed, o.name, o.motifs, "statistics")))
    return Battery(rows, curve, not_run, class_contrast(base_prob, y), class_separation(base_prob, y), kind,
                   float(np.std(base_prob)) if len(base_prob) else None, dose, position)


def main_length(xs: list[np.ndarray]) -> int:
    """Which of several lengths' arrays the curves are drawn on: the one holding the most
    sequences (of equals, the longer)."""
    return max(range(len(xs)), key=lambda k: (len(xs[k]), xs[k].shape[1]))


def battery_by_length(predictor, xs: list[np.ndarray], y: np.ndarray, sites: list[list[Site]],
                      plan: ExperimentPlan, motifs: list[motiflib.Motif], background: np.ndarray,
                      num_perturbs: int, max_seqs: int, seed: int, sampling: str = "pwm", quiet: bool = True,
                      base_prob: np.ndarray | None = None, target: np.ndarray | None = None,
                      thresholds: dict | None = None, strands_both: bool = True) -> Battery:
    """:func:`run_battery` on sequences of several lengths, for a model that takes any length.

    ``xs``: one (n_i, L_i, 4) array per length; ``y``, ``sites``, ``base_prob`` and ``target``
    follow their sequences in that order. Every per-sequence experiment (ablate, insert, the
    controls, swap, flip, copies, move) runs on each length's sequences, each batch one length
    (at most ``max_seqs`` per length, each length's draws seeded from the run's seed and the
    length), and the per-sequence changes are pooled before the statistics, so each test is one
    row over every length. The curves (distance, dose, position) re-space or move motifs along one
    length and are drawn on the length of :func:`main_length`.
    """
    from dataclasses import replace

    sizes = [len(g) for g in xs]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    main = main_length(xs)
    y = np.asarray(y, dtype=np.int64)
    base = np.concatenate([np.asarray(predictor.predict(g), dtype=np.float64) for g in xs]) \
        if base_prob is None else np.asarray(base_prob, dtype=np.float64)
    target = None if target is None else np.asarray(target, dtype=np.float64)
    pooled: dict[tuple, list[Outcome]] = {}
    drawn = None
    for k, xg in enumerate(xs):
        part = slice(int(starts[k]), int(starts[k + 1]))
        sub = plan if k == main else replace(plan, curve_pair=None, spacing_test=False, position_motif=None)
        kept: list[Outcome] = []
        group_seed = seed if k == main else (int(seed) * 1_000_003 + xg.shape[1]) % (2 ** 32)
        battery = run_battery(predictor, xg, y[part], sites[part], sub, motifs, background, num_perturbs, max_seqs,
                              group_seed, sampling, quiet, base[part], None if target is None else target[part],
                              thresholds, strands_both, keep_outcomes=kept)
        if k == main:
            drawn = battery
        for o in kept:
            pooled.setdefault((o.name, o.motifs), []).append(
                Outcome(o.hypothesis, np.asarray(o.indices, dtype=np.int64) + starts[k], o.delta_output, o.delta_loss,
                        o.num_perturbs))
    rows, not_run = [], [{"test": t, "motifs": "", "reason": why} for t, why in plan.inapplicable]
    for parts in pooled.values():
        o = Outcome(parts[0].hypothesis, np.concatenate([p.indices for p in parts]),
                    np.concatenate([p.delta_output for p in parts]), np.concatenate([p.delta_loss for p in parts]),
                    parts[0].num_perturbs)
        if len(o.delta_output) == 0:
            not_run.append({"test": o.name, "motifs": o.motifs, "reason": not_run_reason(o.hypothesis)})
        else:
            rows.append(summarize(o, experiment_rng(seed, o.name, o.motifs, "statistics")))
    return Battery(rows, drawn.curve, not_run, class_contrast(base, y), class_separation(base, y), drawn.output_kind,
                   float(np.std(base)) if len(base) else None, drawn.dose, drawn.position_curve)


def experiment_rng(seed: int, *name) -> np.random.Generator:
    """The random stream of one experiment, seeded from the run's seed and the experiment's own
    name, so its row does not change when other tests are added or dropped."""
    return np.random.default_rng([int(seed) % (2 ** 63), stable_seed(*name)])
