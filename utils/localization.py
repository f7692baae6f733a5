"""Localization: do attribution maps point at the planted sites?

Protocol of Koo and Ploenzke (Nature Machine Intelligence 2021): in each positive
sequence, positions inside a planted instance of a motif the rule uses are the truth (1),
all other positions 0; each position gets a score from the attribution map (by default
|attribution x input|, the value the logos draw at the observed base); auROC and auPRC are
computed per sequence, then averaged.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from utils.io import InputError
from utils.seqfiles import Site

SCORE_MODES = ("input", "sum", "signed")
INFO_BITS = 0.01             # Koo & Ploenzke's truth: positions whose generating PWM column carries more bits


def site_mask(ids: Sequence[str], sites: Mapping[str, list[Site]], motifs: Iterable[str],
              length: int) -> np.ndarray:
    """Truth mask: (N, L) bool, True at positions inside a planted instance of ``motifs``.

    ``sites`` maps sequence id -> planted sites (as :func:`utils.folders.load_dataset` gives);
    ids without sites get an all-False row. Sites are clipped to ``[0, length)``.
    """
    wanted = set(motifs)
    mask = np.zeros((len(ids), int(length)), dtype=bool)
    for row, seq_id in enumerate(ids):
        for site in sites.get(seq_id, ()):
            if site.motif in wanted:
                mask[row, max(site.start, 0):min(site.end, length)] = True
    return mask


def information_mask(ids: Sequence[str], sites: Mapping[str, list[Site]], motifs: Iterable[str],
                     pwms: Mapping[str, np.ndarray], length: int, min_bits: float = INFO_BITS) -> np.ndarray:
    """Koo & Ploenzke's truth mask: (N, L) bool, True where a planted instance of ``motifs`` has a
    generating PWM column (``pwms``: name -> (w, 4) ACGT probabilities) of more than ``min_bits``
    bits (2 + sum p log2 p), read from the instance's own strand. A site's flat columns (a
    spacer, a degenerate end) are not truth, as they are not in their data."""
    wanted = set(motifs)
    info = {m: 2.0 + (np.asarray(p, dtype=np.float64) * np.log2(np.asarray(p, dtype=np.float64) + 1e-10)).sum(axis=1)
            for m, p in pwms.items() if m in wanted}
    mask = np.zeros((len(ids), int(length)), dtype=bool)
    for row, seq_id in enumerate(ids):
        for site in sites.get(seq_id, ()):
            if site.motif not in wanted:
                continue
            bits = info[site.motif] if site.strand != "-" else info[site.motif][::-1]
            for k, b in enumerate(bits[:site.end - site.start]):
                if b > min_bits and 0 <= site.start + k < length:
                    mask[row, site.start + k] = True
    return mask


def observed_base_map(method: str, attributions: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """The map a person sees: attribution x one-hot input -> (N, L, 4), the observed base's value.

    ISM's map is 0 at the observed base, so it is first centred over the four bases at each
    position: the observed base then shows how much better it does than the average base
    there (mean-centred ISM x input). The logos draw exactly these heights.
    """
    a = np.asarray(attributions, dtype=np.float32)
    if method == "ism":
        a = a - a.mean(axis=-1, keepdims=True)
    return a * np.asarray(onehot, dtype=np.float32)


def position_scores(attributions: np.ndarray, onehot: np.ndarray | None = None, method: str = "",
                    mode: str = "input") -> np.ndarray:
    """Per-position importance -> (N, L) float64.

    ``mode='input'`` (default, needs ``onehot``): |attribution x input|, the absolute value at
    the observed base of :func:`observed_base_map`, which is what the logos show.
    ``mode='sum'``: |attribution| summed over the four bases (what a method says about every
    possible base, not only the one present). ``mode='signed'``: Koo & Ploenzke's own rule (their
    ``interpretability_performance``): attribution x input summed over the bases, sign kept, so a
    map that pushes a motif down ranks it last; for ISM, whose value at the observed base is 0, the
    L2 norm of the four substitution effects. An (N, L) array is taken as already per-position and
    only made absolute (``signed``: kept as it is).
    """
    if mode not in SCORE_MODES:
        raise ValueError(f"unknown localization score mode {mode!r}")
    a = np.asarray(attributions, dtype=np.float64)
    if mode == "signed":
        if a.ndim == 2:
            return a
        if method == "ism":
            return np.sqrt((a ** 2).sum(axis=2))
        if onehot is None:
            raise ValueError("mode 'signed' scores attribution x input and needs the one-hot input")
        return (a * np.asarray(onehot, dtype=np.float64)).sum(axis=2)
    if a.ndim == 3 and mode == "input":
        if onehot is None:
            raise ValueError("mode 'input' scores attribution x input and needs the one-hot input")
        return np.abs(observed_base_map(method, a, onehot).astype(np.float64).sum(axis=2))
    if a.ndim == 3:
        return np.abs(a).sum(axis=2)
    if a.ndim == 2:
        return np.abs(a)
    raise InputError(f"attributions must have shape (N, L, 4) or (N, L); got {a.shape}")


def localization_scores(attributions: np.ndarray, mask: np.ndarray, onehot: np.ndarray | None = None,
                        method: str = "", mode: str = "input") -> dict[str, np.ndarray]:
    """Per-sequence auROC and auPRC of the per-position scores against the truth mask.

    attributions: (N, L, 4) or (N, L); mask: (N, L) bool from :func:`site_mask`; ``onehot``,
    ``method`` and ``mode`` as in :func:`position_scores` (without ``onehot`` the sum over bases
    is scored).
    Returns ``{"auroc": (N,), "auprc": (N,)}`` float64; a sequence whose mask is all
    False or all True has no defined score and gets NaN (left out by the summary).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores = position_scores(attributions, onehot, method, mode if onehot is not None else "sum")
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


def attribution_mass(ids: Sequence[str], sites: Mapping[str, list[Site]], motifs: Iterable[str],
                     attributions: np.ndarray, onehot: np.ndarray | None = None, method: str = "",
                     mode: str = "input") -> list[dict]:
    """Where a map's weight falls when there is no planted truth: per motif, the share of the
    total per-position score (see :func:`position_scores`) inside its sites.

    One row per motif: ``n`` sequences holding a site of it, ``mass_mean`` / ``mass_sd`` of
    the share over them, and ``site_share`` the mean share of positions its sites cover
    (what a map that ignores the motif would give). A share needs magnitudes, so ``signed``
    is read as ``input`` here.
    """
    mode = "input" if mode == "signed" else mode
    scores = position_scores(attributions, onehot, method, mode if onehot is not None else "sum")
    total = scores.sum(axis=1)
    rows = []
    for motif in motifs:
        mask = site_mask(ids, sites, [motif], scores.shape[1])
        keep = mask.any(axis=1) & (total > 0)
        share = (scores * mask).sum(axis=1)[keep] / total[keep]
        n = int(keep.sum())
        rows.append({"motif": motif, "n": n,
                     "mass_mean": float(share.mean()) if n else float("nan"),
                     "mass_sd": float(share.std(ddof=1)) if n > 1 else float("nan"),
                     "site_share": float(mask[keep].mean()) if n else float("nan")})
    return rows


# ----------------------------------------------------------------------------- per method
def score_attributions(ids: Sequence[str], labels: np.ndarray, sites: Mapping[str, list[Site]],
                       pos_motifs: Iterable[str],
                       attributions_by_method: Mapping[str, tuple[np.ndarray, float]],
                       onehot: np.ndarray | None = None, mode: str = "input") -> list[dict]:
    """Localization of each method on the positive sequences -> one row per method.

    ``attributions_by_method``: {method: (attributions (N, L, 4), seconds)}, as
    :func:`utils.attribution.run_attributions` returns; ``onehot`` (N, L, 4) and ``mode``
    choose the per-position score (see :func:`position_scores`): by default |attribution x input|.

    Rows hold the columns of attribution_scores.csv: ``method``, ``n`` positives with a planted rule motif scored,
    auROC / auPRC mean and sample SD across them, ``seconds_total`` of the method and
    ``seconds_per_seq`` over all attributed sequences.
    """
    labels = np.asarray(labels)
    rows = []
    for method, (attributions, seconds) in attributions_by_method.items():
        attributions = np.asarray(attributions)
        if len(attributions) != len(ids) or len(labels) != len(ids):
            raise ValueError(f"{method}: {len(attributions)} maps, {len(ids)} ids and {len(labels)} "
                             f"labels; attribute and label the same sequences")
        positive = labels == 1
        mask = site_mask([i for i, p in zip(ids, positive) if p], sites, pos_motifs,
                         attributions.shape[1])
        per_seq = localization_scores(attributions[positive], mask,
                                      None if onehot is None else np.asarray(onehot)[positive], method, mode)
        summary = summarize_localization(per_seq["auroc"], per_seq["auprc"])
        rows.append({"method": method, **summary, "seconds_total": float(seconds),
                     "seconds_per_seq": float(seconds) / max(len(ids), 1)})
    return rows


def mass_rows(ids, sites, motifs, attributions_by_method, onehot, mode: str = "input") -> list[dict]:
    """Per method and motif: the share of |attribution| inside the motif's sites (no truth needed).

    One row per method x motif: ``method``, the fields of :func:`attribution_mass` and
    ``seconds_per_seq`` over all attributed sequences (the columns of attribution_mass.csv).
    """
    rows = []
    for method, (attributions, seconds) in attributions_by_method.items():
        for r in attribution_mass(ids, sites, motifs, attributions, onehot, method, mode):
            rows.append({"method": method, **r, "seconds_per_seq": float(seconds) / max(len(ids), 1)})
    return rows
