"""Scores against the planted truth: localization of attribution maps, and the rule verdict.

The planted truth comes from a data folder: ``motif_sites.bed`` (every planted motif
instance, 0-based, end exclusive) and ``metadata.json`` (which motifs the rule uses,
``pos_motifs``). Nothing here runs a model; it only compares numbers with that record.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from utils.io import InputError, Site


# =============================================================================================
# Localization: do attribution maps point at the planted sites?  (issue 5, attribution owner)
#
# Protocol of Koo and Ploenzke (Nature Machine Intelligence 2021): in each positive
# sequence, positions inside a planted instance of a motif the rule uses are the truth
# (1), all other positions 0; the per-position score is the absolute attribution summed
# over the four bases; auROC and auPRC are computed per sequence, then averaged.
# =============================================================================================
def site_mask(ids: Sequence[str], sites: Mapping[str, list[Site]], motifs: Iterable[str],
              length: int) -> np.ndarray:
    """Truth mask: (N, L) bool, True at positions inside a planted instance of ``motifs``.

    ``sites`` maps sequence id -> planted sites (as :func:`utils.io.load_dataset` gives);
    ids without sites get an all-False row. Sites are clipped to ``[0, length)``.
    """
    wanted = set(motifs)
    mask = np.zeros((len(ids), int(length)), dtype=bool)
    for row, seq_id in enumerate(ids):
        for site in sites.get(seq_id, ()):
            if site.motif in wanted:
                mask[row, max(site.start, 0):min(site.end, length)] = True
    return mask


def position_scores(attributions: np.ndarray) -> np.ndarray:
    """Per-position importance: (N, L, 4) -> (N, L) float64, |attribution| summed over bases.

    An (N, L) array is taken as already per-position and only made absolute.
    """
    a = np.asarray(attributions, dtype=np.float64)
    if a.ndim == 3:
        return np.abs(a).sum(axis=2)
    if a.ndim == 2:
        return np.abs(a)
    raise InputError(f"attributions must have shape (N, L, 4) or (N, L); got {a.shape}")


def localization_scores(attributions: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sequence auROC and auPRC of the per-position scores against the truth mask.

    attributions: (N, L, 4) or (N, L); mask: (N, L) bool from :func:`site_mask`.
    Returns ``{"auroc": (N,), "auprc": (N,)}`` float64; a sequence whose mask is all
    False or all True has no defined score and gets NaN (left out by the summary).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores = position_scores(attributions)
    truth = np.asarray(mask, dtype=bool)
    if truth.shape != scores.shape:
        raise InputError(f"the truth mask has shape {truth.shape} but the attributions cover "
                         f"{scores.shape}; build the mask from the same sequences")
    auroc = np.full(len(scores), np.nan)
    auprc = np.full(len(scores), np.nan)
    for i, (y, s) in enumerate(zip(truth, scores)):
        if 0 < y.sum() < len(y):
            auroc[i] = roc_auc_score(y, s)
            auprc[i] = average_precision_score(y, s)
    return {"auroc": auroc, "auprc": auprc}


def summarize_localization(auroc: np.ndarray, auprc: np.ndarray) -> dict[str, float]:
    """Mean and sample SD (ddof=1) over the sequences with a defined score.

    Returns ``{"n", "auroc_mean", "auroc_sd", "auprc_mean", "auprc_sd"}``; means are NaN
    when no sequence has a score, SDs are NaN below two sequences.
    """
    auroc = np.asarray(auroc, dtype=np.float64)
    auprc = np.asarray(auprc, dtype=np.float64)
    keep = np.isfinite(auroc) & np.isfinite(auprc)
    n = int(keep.sum())

    def mean(v):
        return float(v[keep].mean()) if n else float("nan")

    def sd(v):
        return float(v[keep].std(ddof=1)) if n > 1 else float("nan")

    return {"n": n, "auroc_mean": mean(auroc), "auroc_sd": sd(auroc),
            "auprc_mean": mean(auprc), "auprc_sd": sd(auprc)}
# ================================================================== end of localization section
