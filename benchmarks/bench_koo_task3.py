#!/usr/bin/env python3
"""Koo & Ploenzke (2021)'s task 3 itself, read as a user holds it: their synthetic regulatory code as a
FASTA with labels.tsv, the code motifs' instances as a BED and their PWMs as a motif file.

Trains each model kind on the FASTA (Train_models.py, its own split), attributes 500 held-out
positives with saliency, ISM, DeepSHAP and integrated gradients (Interpret_models.py, with the BED
as ``--truth_sites``), and prints the table of bench_interpretability: localization auROC by the
paper's rule (truth = positions whose generating PWM column holds more than 0.01 bits; signed
attribution x input, ISM's L2 norm), the suite's rule in brackets, beside the paper's published
means (10 trials on these data).

The data are not shipped (their notebook's code is theirs). To regenerate them, run
``code/generate_data/task3_generate_synthetic_code_dataset.ipynb`` of github.com/p-koo/exponential_activations
at commit 93fde4a (seed 22, their ``data/pfm_vertebrates.txt``, core motifs SP1, Gabpa, CEBPB, MAX,
YY1 on either strand; 20,000 x 200 bp) and, before their train/valid/test split, write:

- ``seqs.fa``: every sequence, with ``labels.tsv`` (id, label) beside it;
- ``truth.bed``: id, start, end, motif, score, strand of every instance of a core motif (in
  positives and in negatives, which draw them among the decoys), the motif named as in the file below;
- ``code.jaspar``: the five core PFMs from their pfm_vertebrates.txt (any format --motif_db reads).

docs/benchmarks.md ("Koo & Ploenzke's task 3, rerun") gives the table this printed and how long it took.

Run from the repository's root: ``python -m benchmarks.bench_koo_task3 --data_dir DIR`` (``--models
dilated_default koo_dist_relu --seeds 1`` for a quick look).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.bench_interpretability import add_run_flags, run_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data_dir", default="koo_task3", help="the folder holding seqs.fa, labels.tsv, truth.bed "
                    "and code.jaspar (default: %(default)s)")
    add_run_flags(ap, ["dilated_default", "koo_dist_relu", "koo_dist_exp"])
    args = ap.parse_args()

    from utils.motifs import read_meme
    from utils.seqfiles import read_bed, sites_by_id

    data = Path(args.data_dir)
    fasta, labels, bed, motif_file = (data / n for n in ("seqs.fa", "labels.tsv", "truth.bed", "code.jaspar"))
    missing = [str(p) for p in (fasta, labels, bed, motif_file) if not p.is_file()]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing; regenerate task 3 as this script's docstring says")
    sites = sites_by_id(read_bed(bed))
    pwms = {name: m.pwm for m in read_meme(motif_file).values() for name in (m.name, *m.names)}
    motifs = sorted({s.motif for found in sites.values() for s in found})
    print(f"task 3: {fasta} ({len(sites):,} sequences with a code instance); code motifs {' '.join(motifs)}")
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="bench-koo3-"))
    run_table(args, work, ["--data_file", str(fasta)],
              ["--seq_dict", str(fasta), "--labels", str(labels), "--truth_sites", str(bed),
               "--motif_db", str(motif_file)], sites, pwms, motifs)
    print(f"\nwork folder: {work}")


if __name__ == "__main__":
    main()
