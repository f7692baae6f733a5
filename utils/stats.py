"""Statistics of the perturbation experiments: paired tests, Benjamini-Hochberg, bootstrap bands.

One location statistic throughout: the **mean** paired difference. It is the reported
effect (``mean_delta_output``), the test statistic, and what the bootstrap interval covers.
Its test is the sign-flip permutation test (under the null of no effect each difference
is as likely to have either sign): exact over all 2**n sign patterns for up to
:data:`EXACT_SIGN_FLIP_MAX_N` sequences, otherwise over :data:`SIGN_FLIPS` random patterns
(Monte Carlo, seeded, p = (1 + hits) / (1 + flips) so it is never 0).
"""
from __future__ import annotations

import math
import zlib

import numpy as np

EXACT_SIGN_FLIP_MAX_N = 12      # up to this many sequences: all 2**n sign patterns
SIGN_FLIPS = 9999               # random sign patterns beyond that
N_BOOT = 2000
TEST_EXACT = "sign-flip (exact, mean)"
TEST_MONTE_CARLO = f"sign-flip ({SIGN_FLIPS} random flips, mean)"


def stable_seed(*parts) -> int:
    """A 32-bit number from strings/ints that is the same in every run (unlike ``hash``)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode("utf-8"))


def sign_flip_pvalue(d: np.ndarray, rng: np.random.Generator | None = None) -> float:
    """Two-sided sign-flip p-value of the mean of paired differences ``d`` (n,).

    Exact for n <= EXACT_SIGN_FLIP_MAX_N; Monte Carlo over SIGN_FLIPS patterns otherwise.
    """
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    observed = abs(d.mean()) - 1e-12 * max(1.0, abs(d).max(initial=0.0))
    if n <= EXACT_SIGN_FLIP_MAX_N:
        signs = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1) * 2 - 1
        return float((np.abs(signs @ d / n) >= observed).mean())
    rng = rng if rng is not None else np.random.default_rng(0)
    hits = 0
    for start in range(0, SIGN_FLIPS, 1000):
        k = min(1000, SIGN_FLIPS - start)
        signs = rng.integers(0, 2, size=(k, n), dtype=np.int8) * 2 - 1
        hits += int((np.abs(signs @ d / n) >= observed).sum())
    return (1 + hits) / (1 + SIGN_FLIPS)


def min_attainable_p(n: int) -> float:
    """Smallest p-value :func:`paired_test` can return on n sequences (2 / 2**n exact, or the
    Monte Carlo floor 1 / (1 + SIGN_FLIPS)): a test whose floor is not below alpha is underpowered."""
    if n < 1:
        return 1.0
    if n <= EXACT_SIGN_FLIP_MAX_N:
        return min(1.0, 2.0 / 2.0 ** n)
    return max(2.0 / 2.0 ** min(n, 1000), 1.0 / (1 + SIGN_FLIPS))


def paired_test(d: np.ndarray, rng: np.random.Generator | None = None) -> tuple[float, float, str]:
    """(mean, two-sided p-value, name of the test) for paired differences against zero."""
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    if n == 0:
        return math.nan, math.nan, "none"
    if np.all(d == 0):
        return 0.0, 1.0, "none (all differences zero)"
    name = TEST_EXACT if n <= EXACT_SIGN_FLIP_MAX_N else TEST_MONTE_CARLO
    return float(d.mean()), sign_flip_pvalue(d, rng), name


def summarize_differences(d: np.ndarray, loss: np.ndarray, rng: np.random.Generator) -> dict:
    """Mean change, Cohen's d_z, bootstrap 95% CI of the mean, the mean as statistic, p-value, test."""
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    if n == 0:
        return dict(mean_delta_output=math.nan, mean_delta_loss=math.nan, effect_size=math.nan,
                    ci_low=math.nan, ci_high=math.nan, statistic=math.nan, p_value=math.nan,
                    test_used="none")
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    effect = mean / sd if sd > 0 else (0.0 if mean == 0 else math.copysign(math.inf, mean))
    boots = d[rng.integers(0, n, size=(N_BOOT, n))].mean(axis=1)
    statistic, p, name = paired_test(d, rng)
    return dict(mean_delta_output=mean, mean_delta_loss=float(np.mean(loss)), effect_size=effect,
                ci_low=float(np.percentile(boots, 2.5)), ci_high=float(np.percentile(boots, 97.5)),
                statistic=statistic, p_value=p, test_used=name)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH q-values; NaN p-values stay NaN and do not count."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return q
    order = ok[np.argsort(p[ok])]
    m = ok.size
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


def curve_band(curve: np.ndarray, rng: np.random.Generator, n_boot: int = 1000) -> tuple:
    """Mean probability per gap over sequences, with a 95% bootstrap band (resampling sequences).

    ``curve`` (n, G) may hold NaN (a gap a sequence could not take). Each bootstrap replicate
    is a vector of resampling counts, so all replicates' NaN-aware means come from two
    matrix products. Returns (mean, low, high, n per gap).
    """
    import warnings

    n = curve.shape[0]
    seen = np.isfinite(curve)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(curve, axis=0)
        if n == 0:
            return mean, mean, mean, np.zeros(curve.shape[1], dtype=int)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)   # (B, n)
        boots = (counts @ np.where(seen, curve, 0.0)) / (counts @ seen)
        low, high = np.nanpercentile(boots, [2.5, 97.5], axis=0)
    return mean, low, high, seen.sum(axis=0)


def curve_period(gaps, mean, min_period: float = 2.0, max_period: float | None = None,
                 step: float = 0.01) -> dict | None:
    """The period of a response curve: the sinusoid c + r cos(2 pi (g - phase) / period) that fits
    ``mean`` over ``gaps`` best in least squares, over every period from ``min_period`` to
    ``max_period`` (default two thirds of the span of the gaps, so at least one and a half
    periods are seen) in steps of ``step`` bp (a least-squares periodogram: uneven gaps and
    NaNs are fine) -> {period, phase (the gap of a peak, in [0, period)), amplitude,
    explained (the share of the curve's variance the sinusoid explains)}; None with fewer than
    four finite points or a flat curve."""
    g = np.asarray(gaps, dtype=np.float64)
    y = np.asarray(mean, dtype=np.float64)
    ok = np.isfinite(y)
    g, y = g[ok], y[ok]
    if g.size < 4 or float(np.ptp(y)) == 0.0:
        return None
    span = float(g.max() - g.min())
    max_period = span * 2 / 3 if max_period is None else max_period
    if max_period < min_period:
        return None
    periods = np.arange(min_period, max_period + step / 2, step)
    yc = y - y.mean()
    total = float(yc @ yc)
    best = None
    for p in periods:
        w = 2 * np.pi * g / p
        basis = np.stack([np.cos(w), np.sin(w), np.ones_like(w)], axis=1)
        coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
        resid = y - basis @ coef
        explained = 1 - float(resid @ resid) / total
        if best is None or explained > best[0] + 1e-12:
            best = (explained, p, coef)
    explained, p, (a, b, _) = best
    phase = float((np.arctan2(b, a) / (2 * np.pi) * p) % p)
    return {"period": float(round(p, 6)), "phase": phase, "amplitude": float(np.hypot(a, b)),
            "explained": float(explained)}


def peak_period(gaps, mean, period: float, level: float) -> dict | None:
    """The period and phase of a curve's peaks, given a first estimate ``period`` (e.g. from
    :func:`curve_period`): for each k >= 1, the centroid of the curve's excess over ``level``
    (max(mean - level, 0)) in the window k x period +- period / 2, and the least-squares line
    centroid = phase + k x period' through those centroids -> {period (its slope), phase (its
    intercept), peaks: [{k, centroid}]}; None with fewer than two peaks. The peaks' own spacing
    is read where the sinusoid's is blurred by the shape of the peaks (a square wave sampled at
    whole gaps fits a sinusoid of 10.55 bp for a period of 10.5)."""
    g = np.asarray(gaps, dtype=np.float64)
    y = np.asarray(mean, dtype=np.float64)
    ok = np.isfinite(y)
    g, y = g[ok], y[ok]
    excess = np.maximum(y - level, 0.0)
    peaks = []
    k = 1
    while g.size and (k - 0.5) * period <= g.max():
        sel = (g >= (k - 0.5) * period) & (g < (k + 0.5) * period) & (excess > 0)
        if sel.any():
            peaks.append({"k": k, "centroid": float((g[sel] * excess[sel]).sum() / excess[sel].sum())})
        k += 1
    if len(peaks) < 2:
        return None
    ks = np.array([p["k"] for p in peaks], dtype=np.float64)
    cs = np.array([p["centroid"] for p in peaks])
    slope, intercept = np.polyfit(ks, cs, 1)
    return {"period": float(slope), "phase": float(intercept), "peaks": peaks}
