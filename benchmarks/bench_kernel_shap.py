#!/usr/bin/env python3
"""KernelSHAP's convergence: how many coalitions its estimates need on the default CNN.

KernelSHAP (``utils.attribution.kernel_shap``: windows of ``--window`` bp as players, absent windows
resampled from the background) samples ``--nsamples`` coalitions per sequence; its cost grows with
them (each coalition is ``KERNEL_BACKGROUND`` model calls). This benchmark attributes the same
positive test sequences with several coalition counts and a large reference count, and prints per
count: seconds per sequence, the median per-sequence Pearson r of the window values against the
reference's, their largest absolute difference relative to the reference's range, and the
localization auROC (the suite's scoring) next to the reference's. Where r stays at or above 0.99
and the auROC within 0.005 of the reference's, the estimates have converged at that count.

Uses models/cnn with data/generated when both exist (as ``make demo`` leaves them); otherwise
generates default data and trains the default CNN in a temporary folder (benchmarks.bench_attribution).

Run from the repository's root: ``python -m benchmarks.bench_kernel_shap``.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_attribution import ROOT, model_with_test_split
from utils import attribution
from utils.encoding import one_hot
from utils.localization import localization_scores, site_mask, summarize_localization

CONVERGED_R = 0.99
CONVERGED_AUROC = 0.005


def window_values(maps: np.ndarray, window: int) -> np.ndarray:
    """(N, L, 4) KernelSHAP maps -> (N, players): each window's value (the map sums it back)."""
    per_position = maps.sum(axis=2)
    n, length = per_position.shape
    players = -(-length // window)
    padded = np.zeros((n, players * window))
    padded[:, :length] = per_position
    return padded.reshape(n, players, window).sum(axis=2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model_dir", type=Path, default=ROOT / "models" / "cnn")
    ap.add_argument("--data_dir", type=Path, default=ROOT / "data" / "generated")
    ap.add_argument("--seqs", type=int, default=30, help="positive test sequences attributed")
    ap.add_argument("--nsamples", type=int, nargs="+", default=[100, 200, 300, 500, 1000],
                    help="coalition counts compared")
    ap.add_argument("--reference", type=int, default=4000, help="coalitions of the reference estimate")
    ap.add_argument("--window", type=int, default=attribution.KERNEL_WINDOW)
    ap.add_argument("--epochs", type=int, default=None, help="epochs if a CNN must be trained")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model_dir, predictor, data, test = model_with_test_split(args, Path(tmp))
        order = [k for k, i in enumerate(data.ids) if i in test and data.labels[k] == 1][:args.seqs]
        ids = [data.ids[k] for k in order]
        x = one_hot([data.seqs[k] for k in order])
        truth = site_mask(ids, data.sites, data.rule.pos_motifs, x.shape[1])
        print(f"model {model_dir} ({predictor.kind}, {x.shape[1]} bp), {len(ids)} positive test sequences, "
              f"windows of {args.window} bp ({-(-x.shape[1] // args.window)} players), "
              f"{attribution.KERNEL_BACKGROUND} background sequences per coalition", flush=True)

        def run(nsamples):
            start = time.perf_counter()
            maps = attribution.kernel_shap(predictor, x, background_dist=data.background, window=args.window,
                                           nsamples=nsamples)
            return maps, (time.perf_counter() - start) / len(x)

        def auroc(maps):
            scores = localization_scores(maps, truth, x, "kernel_shap")
            return summarize_localization(scores["auroc"], scores["auprc"])["auroc_mean"]

        ref_maps, ref_seconds = run(args.reference)
        ref_values, ref_auroc = window_values(ref_maps, args.window), auroc(ref_maps)
        print(f"\n{'coalitions':>10} {'s/seq':>7} {'median r':>9} {'max |diff| / range':>19} "
              f"{'loc. auROC':>11} {'converged':>10}")
        for nsamples in sorted(args.nsamples):
            maps, seconds = run(nsamples)
            values = window_values(maps, args.window)
            r = np.median([np.corrcoef(a, b)[0, 1] for a, b in zip(values, ref_values)])
            spread = (ref_values.max(axis=1) - ref_values.min(axis=1))[:, None]
            rel = float((np.abs(values - ref_values) / spread).max())
            a = auroc(maps)
            ok = r >= CONVERGED_R and abs(a - ref_auroc) <= CONVERGED_AUROC
            print(f"{nsamples:>10} {seconds:>7.3f} {r:>9.4f} {rel:>19.3f} {a:>11.3f} {'yes' if ok else 'no':>10}")
        print(f"{args.reference:>10} {ref_seconds:>7.3f} {'(reference)':>9} {'':>19} {ref_auroc:>11.3f}")
        print(f"\nconverged: median r >= {CONVERGED_R} and auROC within {CONVERGED_AUROC} of the reference's; "
              f"the default is --nsamples {attribution.KERNEL_NSAMPLES}")


if __name__ == "__main__":
    main()
