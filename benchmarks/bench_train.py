#!/usr/bin/env python3
"""Training quality and speed: every model kind on every planted rule, side by side.

Generates presence, order and distance data (10,000 x 200 bp, fixed seeds, the
generator's default motifs) into a temporary folder with Generate_sequences.main,
trains cnn, kmer_logistic and kmer_gbt on each with default flags, and prints test
auROC and seconds per epoch (CNN) or fit seconds (k-mer models).

Targets: presence cnn >= 0.98; order cnn >= 0.95 while kmer_logistic <= 0.65 (k-mer
counts cannot see order); distance cnn >= 0.90. A default CNN epoch on 7,000 x 200 bp
should take seconds.

Run from the repository's root: ``python -m benchmarks.bench_train``.
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
import Train_models
from utils import planted

KINDS = ("cnn", "kmer_logistic", "kmer_gbt")
TARGETS = {("presence", "cnn"): (">=", 0.98), ("order", "cnn"): (">=", 0.95),
           ("order", "kmer_logistic"): ("<=", 0.65), ("distance", "cnn"): (">=", 0.90)}


def run_quietly(main, argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    if code:
        raise SystemExit(f"{main.__module__} {' '.join(argv)} exited with {code}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num_seqs", type=int, default=10000)
    ap.add_argument("--seq_length", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gen_types", nargs="+", default=list(planted.GEN_TYPES), choices=planted.GEN_TYPES)
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    args = ap.parse_args()
    print(f"{'gen_type':9} {'model':14} {'test auROC':>10} {'epochs':>6} {'s/epoch':>8} "
          f"{'fit s':>7}  target")
    missed = []
    with tempfile.TemporaryDirectory() as tmp:
        for gen_type in args.gen_types:
            data = Path(tmp) / gen_type
            run_quietly(Generate_sequences.main, [
                "--num_seqs", str(args.num_seqs), "--seq_length", str(args.seq_length),
                "--gen_type", gen_type, "--seed", str(args.seed), "--out_dir", str(data), "--quiet"])
            for kind in args.kinds:
                start = time.perf_counter()
                run_quietly(Train_models.main, [
                    "--data_file", str(data), "--model_type", kind, "--seed", str(args.seed),
                    "--out_dir", str(Path(tmp) / "models"), "--model_name", f"{gen_type}_{kind}",
                    "--quiet"])
                seconds = time.perf_counter() - start
                metrics = json.loads((Path(tmp) / "models" / f"{gen_type}_{kind}" / "metrics.json").read_text())
                auroc = metrics["test"]["auroc"]
                epochs = metrics.get("epochs_run")
                timing_file = Path(tmp) / "models" / f"{gen_type}_{kind}" / "timing.json"
                per_epoch = json.loads(timing_file.read_text())["seconds_per_epoch"] if timing_file.exists() else None
                target = TARGETS.get((gen_type, kind))
                note = ""
                if target:
                    ok = auroc >= target[1] if target[0] == ">=" else auroc <= target[1]
                    note = f"{target[0]} {target[1]:.2f} {'ok' if ok else 'MISSED'}"
                    if not ok:
                        missed.append(f"{gen_type}/{kind}")
                print(f"{gen_type:9} {kind:14} {auroc:>10.3f} {epochs or '-':>6} "
                      f"{f'{per_epoch:.2f}' if per_epoch else '-':>8} {seconds:>7.1f}  {note}", flush=True)
    if missed:
        print(f"missed targets: {', '.join(missed)}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
