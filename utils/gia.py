"""Global importance analysis (Koo et al., PLoS Comput Biol 2021): motif effects, their
interaction and their dose, measured by embedding motifs in background sequences.

Each of ``n`` background sequences (bases drawn independently from the data's distribution)
is predicted bare and with motifs embedded at fixed places: each motif alone; the pair's
downstream motif B alone at its place inside the rule's arrangement and at its place outside
it; A with B inside and outside; and 1..K copies of A. Every variant of one background shares
its bases and A's instance and place, so each estimate is a paired difference per background:

- effect of M:            f(M) - f(none)
- interaction inside:     f(A + B_in) - f(A) - f(B_in) + f(none)
- interaction outside:    f(A + B_out) - f(A) - f(B_out) + f(none)
- dose of k copies of M:  f(k x M) - f(none)

Where the arrangement comes from: a distance rule puts B downstream of A at a gap drawn
inside the planted window (outside: a gap outside it); an order rule puts A upstream of B
(outside: B upstream of A); presence rules and a ``--pair`` without a rule place both anywhere
apart (no outside). Classifiers are measured in logit units, where effects add (a probability
saturates); value outputs in their own units. Each estimate has a bootstrap 95% CI over
backgrounds and the suite's paired sign-flip test.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils import motifs as motiflib
from utils.background import sample_background
from utils.planted import PlantedRule
from utils.stats import stable_seed, summarize_differences

_EYE = np.eye(4, dtype=np.float32)


@dataclass(frozen=True)
class Arrangement:
    """Where the pair (A, B) goes: B at ``gap`` bases downstream of A when ``b_first`` is False,
    upstream of A otherwise; ``outside`` says how the outside variant differs, in words."""
    kind: str                       # distance, order or apart
    inside: str
    outside: str | None


def arrangement_of(rule: PlantedRule | None) -> Arrangement:
    kind = getattr(rule, "kind", None)
    if kind == "distance":
        lo, hi = rule.gap_window
        return Arrangement("distance", f"B downstream of A, gap drawn in the planted window {lo}-{hi} bp",
                           f"B downstream of A, gap drawn outside {lo}-{hi} bp")
    if kind == "phasing":
        return Arrangement("phasing", f"B downstream of A, gap drawn among the in-phase gaps (within "
                           f"{rule.phase_tolerance:g} bp of a multiple of {rule.period:g} bp in {rule.min_dist}-"
                           f"{rule.max_dist} bp)", "B downstream of A, gap drawn among the out-of-phase gaps")
    if kind == "order":
        return Arrangement("order", "A upstream of B", "B upstream of A (the same gap)")
    return Arrangement("apart", "A and B anywhere, apart", None)


def pair_of(rule: PlantedRule | None, pair: tuple[str, str] | None) -> tuple[str, str] | None:
    """The pair whose interaction is measured: a pair rule's (A, B), the first two positive
    motifs of a presence rule, or the ``--pair`` named for sequences without a rule."""
    if rule is None:
        return tuple(pair) if pair else None
    if rule.pair is not None:
        return tuple(rule.pair)
    return tuple(rule.pos_motifs[:2]) if len(rule.pos_motifs) >= 2 else None


def output_unit(predictor) -> str:
    return "value" if getattr(predictor, "output_kind", "probability") == "value" else "logit"


def _score(predictor, x: np.ndarray) -> np.ndarray:
    """The output effects add in: the logit of a classifier, the value of a regression."""
    if output_unit(predictor) == "value":
        return np.asarray(predictor.predict(x), dtype=np.float64)
    logit = getattr(predictor, "predict_logit", None)
    if callable(logit):
        return np.asarray(logit(x), dtype=np.float64)
    p = np.clip(np.asarray(predictor.predict(x), dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def _estimate(d: np.ndarray, rng: np.random.Generator) -> dict:
    s = summarize_differences(d, np.full(len(d), np.nan), rng)
    return {"estimate": s["mean_delta_output"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
            "p_value": s["p_value"], "n": int(len(d))}


def _pair_places(rng, n: int, length: int, wa: int, wb: int, arrangement: Arrangement, rule,
                 outside: bool) -> tuple[np.ndarray, np.ndarray]:
    """(start of A, start of B) per background for the inside (or outside) variant."""
    span_limit = length - wa - wb                       # the largest gap that fits
    if arrangement.kind in ("distance", "phasing"):     # the rule's own inside and outside gaps
        fits = np.arange(0, span_limit + 1, dtype=np.int64)
        pool = fits[rule.spacing_masks(fits)[1 if outside else 0]]
        gaps = pool[rng.integers(0, len(pool), n)]
    elif arrangement.kind == "order" and rule.drawn_gaps is not None:   # the gaps the data drew
        lo, hi = rule.drawn_gaps
        gaps = rng.integers(min(lo, span_limit), min(hi, span_limit) + 1, n)
    else:
        gaps = rng.integers(0, span_limit + 1, n)
    first = (rng.random(n) * (span_limit - gaps + 1)).astype(np.int64)
    if arrangement.kind == "order" and outside:        # B upstream of A, the same gap
        b_start = first
        return b_start + wb + gaps, b_start
    if arrangement.kind == "apart":
        swap = rng.random(n) < 0.5                    # either motif first
        a_start = np.where(swap, first + wb + gaps, first)
        b_start = np.where(swap, first, first + wa + gaps)
        return a_start, b_start
    return first, first + wa + gaps


def measure(predictor, motifs: list[motiflib.Motif], rule: PlantedRule | None, pair: tuple[str, str] | None,
            background: np.ndarray, length: int, n: int, seed: int, sampling: str = "pwm",
            max_copies: int = 1, dose_motifs: tuple[str, ...] = (), thresholds: dict | None = None) -> dict:
    """Effects of every motif, the pair's interaction inside and outside its arrangement and the
    dose of ``dose_motifs`` up to ``max_copies``, on ``n`` background sequences of ``length`` bp.
    Instances are drawn as the data drew them (``sampling``; PWM draws that reach the motif's match
    threshold where ``thresholds`` names it: :func:`utils.motifs.instance_drawer`).

    Returns {unit, n_backgrounds, effects: {motif: estimate}, interaction: {pair, arrangement,
    inside, outside} or None, dose: {motif: [{copies, ...estimate}]}}; each estimate is
    {estimate, ci_low, ci_high, p_value, n}.
    """
    rng = np.random.default_rng([int(seed) % (2 ** 63), stable_seed("gia")])
    stats_rng = np.random.default_rng([int(seed) % (2 ** 63), stable_seed("gia", "statistics")])
    by_name = {m.name: m for m in motifs}
    draw = motiflib.instance_drawer(thresholds or {}, np.asarray(background, dtype=np.float64), sampling, motifs)
    codes = sample_background(n, length, np.asarray(background, dtype=np.float64), rng)
    bare = _EYE[codes]
    f_none = _score(predictor, bare)
    out = {"unit": output_unit(predictor), "n_backgrounds": int(n), "effects": {}, "interaction": None,
           "dose": {}}
    alone = {}
    for m in motifs:
        if m.length > length:
            continue
        x = codes.copy()
        starts = rng.integers(0, length - m.length + 1, n)
        motiflib.write_at(x, starts, draw(m, n, rng, codes, starts))
        alone[m.name] = _score(predictor, _EYE[x])
        out["effects"][m.name] = _estimate(alone[m.name] - f_none, stats_rng)
    if pair is not None and all(p in by_name for p in pair):
        a, b = by_name[pair[0]], by_name[pair[1]]
        arrangement = arrangement_of(rule)
        if length >= a.length + b.length:
            places = {"inside": _pair_places(rng, n, length, a.length, b.length, arrangement, rule, False)}
            # one instance of each for both arrangements, drawn where they stand inside it
            inst_a = draw(a, n, rng, codes, places["inside"][0])
            with_a = codes.copy()
            motiflib.write_at(with_a, places["inside"][0], inst_a)
            inst_b = draw(b, n, rng, with_a, places["inside"][1])
            result = {"pair": [a.name, b.name], "arrangement": arrangement.inside, "outside_arrangement":
                      arrangement.outside, "inside": None, "outside": None}
            for side in ("inside", "outside"):
                if side == "outside" and arrangement.outside is None:
                    continue
                a_start, b_start = places.get(side) or _pair_places(rng, n, length, a.length, b.length,
                                                                    arrangement, rule, True)
                xa, xb, xab = codes.copy(), codes.copy(), codes.copy()
                motiflib.write_at(xa, a_start, inst_a)
                motiflib.write_at(xb, b_start, inst_b)
                motiflib.write_at(xab, a_start, inst_a)
                motiflib.write_at(xab, b_start, inst_b)
                fa, fb, fab = (_score(predictor, _EYE[v]) for v in (xa, xb, xab))
                result[side] = _estimate(fab - fa - fb + f_none, stats_rng)
                result[side]["with_both"] = float(np.mean(fab - f_none))
            out["interaction"] = result
    for name in dose_motifs:
        m = by_name.get(name)
        if m is None or max_copies < 2:
            continue
        rows = []
        for k in range(1, max_copies + 1):
            if k * m.length > length:
                break
            x = codes.copy()
            # k copies in k equal slots of the sequence, each at a random place inside its slot
            slot = length // k
            for c in range(k):
                starts = c * slot + rng.integers(0, slot - m.length + 1, n)
                motiflib.write_at(x, starts, draw(m, n, rng, x, starts))
            rows.append({"copies": k, **_estimate(_score(predictor, _EYE[x]) - f_none, stats_rng)})
        out["dose"][name] = rows
    return out


# ============================================================================ the truth table
MAX_TABLE_MOTIFS = 5          # 2^5 = 32 subsets: beyond five positive motifs the first five are tabled


def truth_table(predictor, motifs: list[motiflib.Motif], pos_motifs, background: np.ndarray, length: int, n: int,
                seed: int, sampling: str = "pwm", thresholds: dict | None = None, rule=None) -> dict | None:
    """The model's mean output for every subset of (up to :data:`MAX_TABLE_MOTIFS`) positive motifs
    embedded in the same ``n`` background sequences.

    Each background gets one place per motif (non-overlapping, the motifs in a random order with
    random room between them) and one instance per motif, drawn as the data drew them; every subset
    writes its motifs at those places, so the subsets differ only in which motifs are there. Per
    subset: the mean probability and the mean logit (classifiers) or the mean value (regressions),
    each with a bootstrap 95% CI over backgrounds, and the planted class when ``rule`` (a presence
    rule) gives one. None when no motif fits.

    Returns {unit, n_backgrounds, motifs, subsets: [{motifs, planted_class, mean, ci_low, ci_high,
    logit: {mean, ci_low, ci_high} or None}]}, subsets by size then in motif order; ``mean`` is in
    probability for classifiers, in the model's units for value outputs.
    """
    from itertools import combinations

    by_name = {m.name: m for m in motifs}
    names = [m for m in pos_motifs if m in by_name][:MAX_TABLE_MOTIFS]
    widths = np.array([by_name[m].length for m in names], dtype=np.int64)
    if not names or widths.sum() > length:
        return None
    rng = np.random.default_rng([int(seed) % (2 ** 63), stable_seed("truth_table")])
    stats_rng = np.random.default_rng([int(seed) % (2 ** 63), stable_seed("truth_table", "statistics")])
    bg = np.asarray(background, dtype=np.float64)
    draw = motiflib.instance_drawer(thresholds or {}, bg, sampling, motifs)
    codes = sample_background(n, length, bg, rng)
    bare = _EYE[codes]
    k, free = len(names), int(length - widths.sum())
    order = np.argsort(rng.random((n, k)), axis=1)                       # the motifs' order along each background
    cuts = np.sort(rng.integers(0, free + 1, (n, k)), axis=1)             # room before each, in that order
    room = np.diff(np.hstack([np.zeros((n, 1), dtype=np.int64), cuts]), axis=1)
    w_sorted = widths[order]
    start_sorted = np.cumsum(room, axis=1) + np.cumsum(w_sorted, axis=1) - w_sorted
    starts = np.empty_like(start_sorted)
    np.put_along_axis(starts, order, start_sorted, axis=1)
    inst = [draw(by_name[m], n, rng, codes, starts[:, j]) for j, m in enumerate(names)]
    value = output_unit(predictor) == "value"
    out = {"unit": "value" if value else "probability", "n_backgrounds": int(n), "motifs": names, "subsets": []}
    for size in range(k + 1):
        for combo in combinations(range(k), size):
            x = bare.copy()
            for j in combo:
                motiflib.write_at(x, starts[:, j], inst[j])
            present = [names[j] for j in combo]
            if value:
                main = np.asarray(predictor.predict(x), dtype=np.float64)
                logit = None
            else:                    # one model call: the probability is the logit's sigmoid
                logit = _score(predictor, x)
                main = (np.asarray(predictor.predict(x), dtype=np.float64)
                        if not callable(getattr(predictor, "predict_logit", None)) else 1 / (1 + np.exp(-logit)))
            row = {"motifs": present, "planted_class": int(rule.positive(present)) if rule is not None else None,
                   **_mean_ci(main, stats_rng)}
            row["logit"] = None if logit is None else _mean_ci(logit, stats_rng)
            out["subsets"].append(row)
    return out


def _mean_ci(v: np.ndarray, rng: np.random.Generator, n_boot: int = 1000) -> dict:
    """The mean of ``v`` over backgrounds and its bootstrap 95% CI."""
    boots = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    return {"mean": float(v.mean()), "ci_low": float(np.percentile(boots, 2.5)),
            "ci_high": float(np.percentile(boots, 97.5))}
