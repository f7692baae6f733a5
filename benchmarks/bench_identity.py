#!/usr/bin/env python3
"""Byte identity of a change: the same pipeline from two revisions, every output compared.

Runs the demo (default presence data, cnn and kmer_logistic, every method), order and
distance data with a short CNN and kmer_gbt, presence 'all' logic on both strands, and a FASTA
with scanned sites (with and without --pair), once from a git revision (``--base``, a clean
checkout of it in a temporary folder) and once from this working tree, then compares:
data files byte for byte; metrics.json, predictions.tsv, split.tsv, history.csv; model.json
without its data path and versions; interpretation.csv and distance_curve.csv row by row
(``--drop_empty`` leaves out the base's rows with n_seqs 0, which later revisions list as "not
run" instead); the verdict and reason of each summary.json; attribution_scores.csv without its
seconds. The .keras and .skops archives are not compared (a save date, object ids).

    python -m benchmarks.bench_identity --base 1923f48 --drop_empty

Takes about 15 minutes on 2 cores (two CNN trainings of the demo, four short ones).
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PIPELINE = [
    "G --out_dir data/generated",
    "T --data_file data/generated --model_type cnn --out_dir models",
    "T --data_file data/generated --model_type kmer_logistic --out_dir models",
    "I --model models/kmer_logistic --out_dir results/kmer_logistic",
    "I --model models/cnn --out_dir results/cnn",
    *[step for rule in ("order", "distance") for step in (
        f"G --gen_type {rule} --num_seqs 3000 --seed 3 --out_dir data/{rule}",
        f"T --data_file data/{rule} --model_type cnn --epochs 6 --out_dir models/{rule}",
        f"T --data_file data/{rule} --model_type kmer_gbt --out_dir models/{rule}",
        f"I --model models/{rule}/cnn --methods ism saliency --num_seqs 120 --num_attr_seqs 40 "
        f"--out_dir results/{rule}_cnn",
        f"I --model models/{rule}/kmer_gbt --methods ism --num_seqs 120 --num_attr_seqs 40 "
        f"--out_dir results/{rule}_gbt")],
    "G --motifs GATA_known1 TAL1_known1 SP1_known1 --pos_motifs GATA_known1 TAL1_known1 --presence_logic all "
    "--strand both --num_seqs 2000 --seed 5 --out_dir data/all",
    "T --data_file data/all --model_type kmer_logistic --out_dir models/all",
    "I --model models/all/kmer_logistic --methods ism --num_seqs 100 --num_attr_seqs 30 --out_dir results/all",
    "I --model models/kmer_logistic --seq_dict data/generated/sequences.fa --motifs STAT_known2 CTCF_known1 "
    "--methods ism --num_seqs 80 --num_attr_seqs 20 --out_dir results/ext",
    "I --model models/kmer_logistic --seq_dict data/generated/sequences.fa --motifs STAT_known2 CTCF_known1 "
    "--pair STAT_known2 CTCF_known1 --methods none --num_seqs 80 --out_dir results/ext_pair",
]
SCRIPTS = {"G": "Generate_sequences.py", "T": "Train_models.py", "I": "Interpret_models.py"}
BYTES = ("sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json", "metrics.json", "predictions.tsv",
         "split.tsv", "history.csv", "distance_curve.csv")


def run_pipeline(code: Path, out: Path) -> None:
    out.mkdir(parents=True)
    for step in PIPELINE:
        script, *flags = step.split()
        subprocess.run([sys.executable, str(code / SCRIPTS[script]), *flags, "--quiet"], cwd=out, check=True,
                       stderr=subprocess.DEVNULL)


def rows(path: Path, drop_empty: bool) -> list[dict]:
    with open(path, newline="") as fh:
        table = list(csv.DictReader(fh))
    return [r for r in table if not (drop_empty and r.get("n_seqs") == "0")]


def compare(a: Path, b: Path, drop_empty: bool) -> list[tuple[str, str]]:
    """(file, 'same' or what differs) for every compared output of run ``a`` against run ``b``."""
    out = []
    for p in sorted(a.rglob("*")):
        rel, q = p.relative_to(a), b / p.relative_to(a)
        if not p.is_file():
            continue
        if not q.exists():
            out.append((str(rel), "missing in the working tree's run"))
        elif p.name in BYTES:
            out.append((str(rel), "same" if p.read_bytes() == q.read_bytes() else "bytes differ"))
        elif p.name == "interpretation.csv":
            same = rows(p, drop_empty) == rows(q, False)
            out.append((str(rel), "same rows" if same else "rows differ"))
        elif p.name == "model.json":
            x, y = (json.loads(f.read_text()) for f in (p, q))
            for d in (x, y):
                d["data"].pop("path", None)
                d.pop("versions", None)
            out.append((str(rel), "same (but the data path)" if x == y else "fields differ"))
        elif p.name == "summary.json":
            x, y = (json.loads(f.read_text()) for f in (p, q))
            same = (x["verdict"], x["reason"]) == (y["verdict"], y["reason"])
            out.append((str(rel), "same verdict and reason" if same else
                        f"verdict {x['verdict']!r} -> {y['verdict']!r}: {y['reason'][:80]}"))
        elif p.name == "attribution_scores.csv":
            x, y = ([{k: v for k, v in r.items() if not k.startswith("seconds")} for r in rows(f, False)]
                    for f in (p, q))
            diff = [f"{r['method']} auROC {r['auroc_mean'][:6]} -> {s['auroc_mean'][:6]}"
                    for r, s in zip(x, y) if r != s]
            out.append((str(rel), "same scores" if not diff else "; ".join(diff)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="git revision to compare the working tree with")
    ap.add_argument("--drop_empty", action="store_true",
                    help="leave out the base's interpretation rows with n_seqs 0 (now listed as not run)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base], check=True,
                       capture_output=True)
        try:
            run_pipeline(base, Path(tmp) / "run_base")
            run_pipeline(ROOT, Path(tmp) / "run_head")
            results = compare(Path(tmp) / "run_base", Path(tmp) / "run_head", args.drop_empty)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
    width = max(len(f) for f, _ in results)
    for f, verdict in results:
        print(f"{f:{width}}  {verdict}")
    same = sum(v.startswith("same") for _, v in results)
    print(f"{same} of {len(results)} compared outputs the same")


if __name__ == "__main__":
    main()
