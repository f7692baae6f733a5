#!/usr/bin/env python3
"""Activity targets end to end: does each model learn the planted terms, and does the verdict say so?

Two rules of 10,000 x 200 bp (fixed seed): a cooperative spacing rule (STAT_known2 and
CTCF_known1 each add 1.0, and 1.0 more when their gap lies in 10-30 bp) and an additive presence
rule with up to 3 copies of each motif (each copy adds 1.0, no interaction). Trains the default
CNN and kmer_ridge on each, interprets them (the interactions experiment, no attribution), and
prints the test Pearson r beside the ceiling the noise allows (sqrt(1 - noise_sd^2 / var(label))
on the test labels), each planted term beside its estimate, and the verdict.
Targets: the CNN within 0.05 of the ceiling, every term within 20%, recovered on both;
kmer_ridge recovered on the additive rule and not on the cooperative one.

Run from the repository's root: ``python -m benchmarks.bench_quantitative``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import tempfile
import time
from pathlib import Path

import numpy as np

import Generate_sequences
import Interpret_models
import Train_models

RULES = {
    "cooperative": ["--gen_type", "distance", "--min_dist", "10", "--max_dist", "30"],
    "additive": ["--gen_type", "presence", "--pos_motifs", "STAT_known2", "CTCF_known1", "--max_copies", "3"],
}


def quietly(main, argv):
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0


def ceiling(labels_path: Path, test_ids: set, noise_sd: float) -> float:
    rows = [line.split("\t") for line in labels_path.read_text().splitlines()[1:]]
    y = np.array([float(v) for k, v in rows if k in test_ids])
    return float(np.sqrt(max(0.0, 1 - noise_sd ** 2 / y.var())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num_seqs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rules", nargs="+", default=list(RULES), choices=list(RULES))
    ap.add_argument("--kinds", nargs="+", default=["cnn", "kmer_ridge"])
    ap.add_argument("--train_flags", default="", help="more Train_models.py flags for the CNN, as one string "
                                                      "(e.g. \"--dropout 0.1\"), to measure a candidate default")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.rules:
            data = Path(tmp) / name
            quietly(Generate_sequences.main, ["--target", "activity", *RULES[name], "--num_seqs", str(args.num_seqs),
                                              "--seed", str(args.seed), "--out_dir", str(data), "--quiet"])
            noise = json.loads((data / "metadata.json").read_text())["activity"]["noise_sd"]
            for kind in args.kinds:
                start = time.perf_counter()
                quietly(Train_models.main, ["--data_file", str(data), "--model_type", kind, "--seed", str(args.seed),
                                            "--out_dir", str(Path(tmp) / "m" / name), "--quiet",
                                            *(shlex.split(args.train_flags) if kind == "cnn" else [])])
                model = Path(tmp) / "m" / name / kind
                trained = time.perf_counter() - start
                out = Path(tmp) / "r" / name / kind
                quietly(Interpret_models.main, ["--model", str(model), "--methods", "none", "--out_dir", str(out),
                                                "--quiet"])
                seconds = time.perf_counter() - start
                metrics = json.loads((model / "metrics.json").read_text())["test"]
                split = [line.split("\t") for line in (model / "split.tsv").read_text().splitlines()[1:]]
                best = ceiling(data / "labels.tsv", {k for k, s in split if s == "test"}, noise)
                summary = json.loads((out / "summary.json").read_text())
                print(f"\n{name} x {kind}: test r {metrics['pearson_r']:.3f} (ceiling {best:.3f}, gap "
                      f"{best - metrics['pearson_r']:.3f}); trained {trained:.0f} s, {seconds:.0f} s in all")
                print(f"  {'term':40} {'planted':>8} {'estimate':>9} {'error':>7}  found")
                for t in summary.get("activity_terms", []):
                    err = "" if t["relative_error"] is None else f"{t['relative_error'] * 100:+.0f}%"
                    est = "" if t["estimate"] is None else f"{t['estimate']:+.3f}"
                    print(f"  {t['term']:40} {t['planted']:+8.2f} {est:>9} {err:>7}  {t['found']}")
                print(f"  verdict: {summary['verdict']}: {summary['reason']}", flush=True)


if __name__ == "__main__":
    main()
