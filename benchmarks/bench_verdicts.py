#!/usr/bin/env python3
"""The whole loop on every planted rule: verdicts for the CNN and kmer_logistic, side by side.

For presence, order and distance data of the default size (10,000 x 200 bp, fixed seeds),
trains the default cnn and kmer_logistic, interprets each (hypothesis tests only), and
prints test auROC, the verdict, the reason and, for spacing, the gap window found.
Expected: the CNN recovers every rule; kmer_logistic recovers presence and is caught on
order ("order unused") and distance ("spacing unused"). ``--fractions 1 0.1`` (default) trains
each model on the full set and again on a tenth of it: the weak learners' rows show whether the
verdict weighs what was learned (a wrong window, small effects: not recovered / weakly learned).

Run from the repository's root: ``python -m benchmarks.bench_verdicts``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

import Generate_sequences
import Interpret_models
import Train_models


def quietly(main, argv):
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num_seqs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gen_types", nargs="+", default=["presence", "order", "distance"])
    ap.add_argument("--kinds", nargs="+", default=["cnn", "kmer_logistic"])
    ap.add_argument("--fractions", nargs="+", type=float, default=[1.0, 0.1],
                    help="share of --num_seqs each model is trained on: 0.1 gives weak learners beside the full ones")
    args = ap.parse_args()
    print(f"{'data':9} {'seqs':>6} {'model':14} {'auROC':>6} {'seconds':>8}  verdict")
    with tempfile.TemporaryDirectory() as tmp:
        for gen_type in args.gen_types:
            for fraction in args.fractions:
                n = max(100, int(round(args.num_seqs * fraction)))
                data = Path(tmp) / f"{gen_type}_{n}"
                quietly(Generate_sequences.main, ["--gen_type", gen_type, "--num_seqs", str(n),
                                                  "--seed", str(args.seed), "--out_dir", str(data), "--quiet"])
                for kind in args.kinds:
                    start = time.perf_counter()
                    quietly(Train_models.main, ["--data_file", str(data), "--model_type", kind, "--seed",
                                                str(args.seed), "--out_dir", str(Path(tmp) / "m" / data.name),
                                                "--quiet"])
                    model = Path(tmp) / "m" / data.name / kind
                    out = Path(tmp) / "r" / data.name / kind
                    quietly(Interpret_models.main, ["--model", str(model), "--methods", "none",
                                                    "--out_dir", str(out), "--quiet"])
                    seconds = time.perf_counter() - start
                    auroc = json.loads((model / "metrics.json").read_text())["test"]["auroc"]
                    summary = json.loads((out / "summary.json").read_text())
                    window = summary["found_rule"].get("gap_window")
                    extra = ""
                    if gen_type == "distance":
                        extra = (f" [window found {window}, planted {summary['planted_rule']['gap_window']}, "
                                 f"error {summary['found_rule'].get('gap_window_error')}]")
                    print(f"{gen_type:9} {n:6} {kind:14} {auroc:6.3f} {seconds:8.1f}  {summary['verdict']}: "
                          f"{summary['reason']}{extra}", flush=True)


if __name__ == "__main__":
    main()
