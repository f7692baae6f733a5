#!/usr/bin/env python3
"""Every attribution method on the same trained CNNs, side by side: localization, faithfulness, speed.

For a two-motif presence rule (``all`` of STAT_known2 and CTCF_known1) and the order rule (10,000 x
200 bp each, fixed seeds), trains the default CNN, then runs Interpret_models.py with every method
(``--methods all``: ISM, KernelSHAP, DeepSHAP, GradientSHAP, saliency, integrated gradients, SQUID)
on the same attributed sequences and prints, per method: localization auROC / auPRC against the
planted sites, faithfulness (the share of attributed positives whose map supports what the rule
needs, utils/faithfulness.py), the share of planted instances supported, and seconds per sequence
(whole method, as Interpret_models.py times it). Where the results hold motif-discovery columns
(``--discover_motifs``), they are printed too.

Run from the repository's root: ``python -m benchmarks.bench_methods`` (``--num_attr_seqs`` sets how many
sequences each method explains; SQUID costs about 1.5 s per sequence on 2 cores).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import tempfile
import time
from pathlib import Path

import Generate_sequences
import Interpret_models
import Train_models

RULES = [
    ("presence all", ["--gen_type", "presence", "--presence_logic", "all", "--motifs", "STAT_known2", "CTCF_known1",
                      "--pos_motifs", "STAT_known2", "CTCF_known1"]),
    ("order", ["--gen_type", "order"]),
]
DISCOVERY_COLUMNS = ("planted_motifs_found", "spurious_motifs")


def quietly(main, argv):
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0


def _f(v, digits=3):
    try:
        return f"{float(v):.{digits}f}"
    except (TypeError, ValueError):
        return str(v) if v not in (None, "") else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num_seqs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--num_attr_seqs", type=int, default=100)
    ap.add_argument("--discover_motifs", action="store_true",
                    help="also run motif discovery (modisco-lite + TOMTOM) on every method's maps")
    args = ap.parse_args()
    header = (f"{'rule':13} {'method':21} {'n':>4} {'auROC':>6} {'auPRC':>6} {'faithful':>8} {'supported':>9} "
              f"{'s/seq':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, flags in RULES:
            data = Path(tmp) / name.replace(" ", "_")
            quietly(Generate_sequences.main, [*flags, "--num_seqs", str(args.num_seqs), "--seed", str(args.seed),
                                              "--out_dir", str(data), "--quiet"])
            start = time.perf_counter()
            quietly(Train_models.main, ["--data_file", str(data), "--model_type", "cnn", "--seed", str(args.seed),
                                        "--out_dir", str(Path(tmp) / "m" / data.name), "--quiet"])
            model = Path(tmp) / "m" / data.name / "cnn"
            auroc = json.loads((model / "metrics.json").read_text())["test"]["auroc"]
            out = Path(tmp) / "r" / data.name
            quietly(Interpret_models.main, ["--model", str(model), "--methods", "all", "--tests", "ablation",
                                            "--num_attr_seqs", str(args.num_attr_seqs), "--seed", str(args.seed),
                                            "--out_dir", str(out), "--quiet",
                                            *(["--discover_motifs"] if args.discover_motifs else [])])
            seconds = time.perf_counter() - start
            with open(out / "attribution_scores.csv", newline="") as fh:
                rows = list(csv.DictReader(fh))
            extra = [c for c in DISCOVERY_COLUMNS if rows and c in rows[0]]
            print(f"\n{name}: CNN test auROC {auroc:.3f}; train + interpret {seconds:.0f} s")
            print(header + "".join(f" {c:>20}" for c in extra))
            for r in rows:
                print(f"{name:13} {r['method']:21} {r['n']:>4} {_f(r['auroc_mean']):>6} {_f(r['auprc_mean']):>6} "
                      f"{_f(r.get('faithfulness')):>8} {_f(r.get('supported_share')):>9} "
                      f"{_f(r['seconds_per_seq'], 4):>8}" + "".join(f" {r[c]:>20}" for c in extra), flush=True)


if __name__ == "__main__":
    main()
