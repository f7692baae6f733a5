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
    ap.add_argument("--weak_case", choices=["on", "off"], default="on",
                    help="also run the weak learner a user meets: presence `all` of GATA_known1 and "
                         "TAL1_known1, 6,000 sequences, for each of --kinds")
    args = ap.parse_args()
    cases = [(gen_type, max(100, int(round(args.num_seqs * fraction))), ["--gen_type", gen_type])
             for gen_type in args.gen_types for fraction in args.fractions]
    if args.weak_case == "on":
        cases.append(("pres_all", 6000, ["--gen_type", "presence", "--presence_logic", "all", "--motifs",
                                         "GATA_known1", "TAL1_known1", "--pos_motifs", "GATA_known1", "TAL1_known1"]))
    print(f"{'data':9} {'seqs':>6} {'model':14} {'auROC':>6} {'separ.':>6} {'contr.':>6} {'seconds':>8}  verdict")
    with tempfile.TemporaryDirectory() as tmp:
        for name, n, flags in cases:
            data = Path(tmp) / f"{name}_{n}"
            quietly(Generate_sequences.main, [*flags, "--num_seqs", str(n), "--seed", str(args.seed),
                                              "--out_dir", str(data), "--quiet"])
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
                if summary["planted_rule"]["gen_type"] == "distance":
                    extra = (f" [window found {window}, planted {summary['planted_rule']['gap_window']}, "
                             f"error {summary['found_rule'].get('gap_window_error')}]")
                sep, con = summary.get("class_separation"), summary.get("class_contrast")
                print(f"{name:9} {n:6} {kind:14} {auroc:6.3f} {sep if sep is None else f'{sep:6.3f}':>6} "
                      f"{con if con is None else f'{con:6.3f}':>6} {seconds:8.1f}  {summary['verdict']}: "
                      f"{summary['reason']}{extra}", flush=True)

if __name__ == "__main__":
    main()
