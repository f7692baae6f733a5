"""The attribution files of a results folder: what they are called, what they hold, who writes them.

| file | content |
|---|---|
| ``attributions_<method>.npz`` | ids, one-hot inputs and attributions (N, L, 4) float32, labels, output scale |
| ``attribution_scores.csv`` / ``.png`` | localization against planted sites and faithfulness to the rule, one row per method |
| ``attribution_mass.csv`` | with no planted rule: each method's attribution mass per motif |
| ``logos/<id>_<pos|neg>.png`` | logos of example sequences, planted sites shaded |

The maps come from :mod:`utils.attribution`, their scores from :mod:`utils.localization`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from utils.cli import progress
from utils.folders import ResultsFolder
from utils.io import atomic_path, write_rows
from utils.seqfiles import Site
from utils.faithfulness import faithfulness
from utils.localization import mass_rows, observed_base_map, score_attributions, site_mask

SCORE_COLUMNS = ["method", "n", "auroc_mean", "auroc_sd", "auprc_mean", "auprc_sd",
                 "seconds_total", "seconds_per_seq", "faithfulness", "supported_share", "swap_consistent_share"]
# --discover_motifs (utils.motif_discovery.Discovery.score_columns): empty without it
DISCOVERY_COLUMNS = ["motif_patterns", "planted_motifs_found", "spurious_motifs", "motif_best_q", "discovery_seconds"]
SCORE_COLUMNS += DISCOVERY_COLUMNS
MASS_COLUMNS = ["method", "motif", "n", "mass_mean", "mass_sd", "site_share", "seconds_per_seq"]


def write_scores_csv(path, rows: list[dict]) -> None:
    """``attribution_scores.csv``: comma-separated, one row per method, :data:`SCORE_COLUMNS`."""
    write_rows(path, SCORE_COLUMNS, rows)


def write_attributions_npz(path, ids: Sequence[str], onehot: np.ndarray, attributions: np.ndarray,
                           labels: np.ndarray | None = None, scale: str = "") -> None:
    """``attributions_<method>.npz``: ids (fixed-width unicode), onehot and attributions
    (N, L, 4) float32, labels int8 and the output scale; readable with allow_pickle=False."""
    arrays = {"ids": np.asarray(list(ids), dtype=str),
              "onehot": np.asarray(onehot, dtype=np.float32),
              "attributions": np.asarray(attributions, dtype=np.float32),
              "scale": np.asarray(scale, dtype=str)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int8)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:   # a file object keeps savez off the name
        np.savez_compressed(fh, **arrays)


def write_mass_csv(path, rows: list[dict]) -> None:
    """``attribution_mass.csv``: comma-separated, one row per method x motif, :data:`MASS_COLUMNS`."""
    write_rows(path, MASS_COLUMNS, rows)


def pick_logo_seqs(labels: np.ndarray, ids: Sequence[str], sites: Mapping[str, list[Site]],
                   pos_motifs: Iterable[str], num_each: int) -> list[int]:
    """Indices of the sequences drawn as logos: ``num_each`` positives carrying a rule motif,
    then ``num_each`` negatives, those with any planted site (decoys, lone motifs) first."""
    wanted = set(pos_motifs)
    labels = np.asarray(labels)
    pos = [i for i in range(len(ids)) if labels[i] == 1
           and any(s.motif in wanted for s in sites.get(ids[i], ()))]
    neg = [i for i in range(len(ids)) if labels[i] != 1]
    neg.sort(key=lambda i: not sites.get(ids[i]))          # stable: planted first, input order kept
    return pos[:num_each] + neg[:num_each]


def write_attribution_outputs(results_dir, ids: Sequence[str], onehot: np.ndarray, labels: np.ndarray,
                              sites: Mapping[str, list[Site]], motifs: Sequence[str], truth: bool,
                              attributions_by_method: Mapping[str, tuple[np.ndarray, float]],
                              num_logos: int = 2, scale: str = "", quiet: bool = True,
                              score_mode: str = "input", rule=None,
                              discovery: Mapping[str, dict] | None = None, swapped=None,
                              swapped_maps: Mapping[str, np.ndarray] | None = None) -> list[dict]:
    """Write every attribution output into ``results_dir`` and return the score rows.

    Writes ``attributions_<method>.npz``, ``attribution_scores.csv``,
    ``attribution_scores.png`` and ``logos/<id>_<pos|neg>.png`` (``num_logos`` positives
    and ``num_logos`` negatives, one panel per method). ``motifs``: with ``truth``, the planted
    rule's motifs, whose sites are the truth the maps are scored against; without, the motifs
    whose sites were called by scanning (each map's attribution mass is reported); ``scale`` ('logit' or
    'probability', see :func:`utils.attribution.output_scale`) is recorded in the npz files and the logos.
    ``rule``: the planted rule, whose logic each map's signs are scored against
    (:func:`utils.faithfulness.faithfulness`; empty columns without one); for an order rule
    ``swapped`` (:class:`utils.faithfulness.Swapped`, with the model's calls) and ``swapped_maps``
    ({method: its maps of the swapped sequences}) add the swap to it. The caller stages
    ``results_dir`` atomically. ``discovery``: {method: motif-discovery columns} (:data:`DISCOVERY_COLUMNS`,
    from :mod:`utils.motif_discovery`), empty cells for a method without.
    """
    from utils import plots

    out = Path(results_dir)
    pos_motifs = list(motifs)
    x = np.asarray(onehot, dtype=np.float32)
    labels = np.asarray(labels)
    for method, (attributions, _) in attributions_by_method.items():
        write_attributions_npz(out / ResultsFolder.attributions(method), ids, x, attributions, labels, scale)
    if truth:
        rows = score_attributions(ids, labels, sites, pos_motifs, attributions_by_method, x, score_mode)
        for row in rows:
            f = faithfulness(rule, ids, labels, sites, row["method"], attributions_by_method[row["method"]][0], x,
                             swapped, (swapped_maps or {}).get(row["method"])) \
                if rule is not None and rule.activity is None else {}
            row.update(faithfulness=f.get("faithful_share"), supported_share=f.get("supported_share"),
                       swap_consistent_share=f.get("swap_consistent_share"))
            row.update({c: (discovery or {}).get(row["method"], {}).get(c) for c in DISCOVERY_COLUMNS})
        write_scores_csv(out / ResultsFolder.SCORES_CSV, rows)
        positive_ids = [i for i, label in zip(ids, labels) if label == 1]
        chance = site_mask(positive_ids, sites, pos_motifs, x.shape[1]).mean() if positive_ids else None
        plots.plot_attribution_scores(rows, out / ResultsFolder.SCORES_PNG, auprc_chance=chance)
    else:          # no planted truth: where each map's weight falls, per motif found by scanning
        rows = mass_rows(ids, sites, pos_motifs, attributions_by_method, x, score_mode)
        write_mass_csv(out / ResultsFolder.MASS_CSV, rows)
    if num_logos > 0 and attributions_by_method:
        (out / ResultsFolder.LOGO_DIR).mkdir(exist_ok=True)
        heights = {m: observed_base_map(m, a, x) for m, (a, _) in attributions_by_method.items()}
        chosen = pick_logo_seqs(labels, ids, sites, pos_motifs, num_logos)
        for i in progress(chosen, total=len(chosen), desc="logos", quiet=quiet, unit="logo"):
            kind = "pos" if labels[i] == 1 else "neg"
            title = f"{ids[i]} ({'positive' if kind == 'pos' else 'negative'}; {scale or 'model output'})"
            plots.plot_attribution_logos(out / ResultsFolder.LOGO_DIR / f"{ids[i]}_{kind}.png",
                                         {m: h[i] for m, h in heights.items()},
                                         sites.get(ids[i], []), pos_motifs, title=title)
    return rows
