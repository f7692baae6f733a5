#!/usr/bin/env python3
"""Koo & Ploenzke (2021)'s interpretability comparison, rerun on the suite's own analog of their task 3.

Generates the regulatory-code analog (20,000 x 200 bp, the size of their task 3; ``--gen_type code``: SP1, ETS for GABPA, CEBPB, MYC for MAX and
YY1 from the ENCODE library as the code, eleven other library motifs as decoys; the command of
docs/Generate_sequences.md), trains each model kind on it (the suite's default dilated CNN and the
basic CNN, with a relu or an exponential first layer, and the paper's CNN-local and CNN-dist, each
with relu and exponential) over several training seeds, attributes the held-out positives with
saliency, ISM, DeepSHAP and integrated gradients (Interpret_models.py), and prints per model and
method the localization auROC, mean and SD over the seeds, scored two ways:

- the paper's rule (their ``interpretability_performance``): truth = positions whose generating
  PWM column holds more than 0.01 bits, score = attribution x input with its sign (ISM: the L2
  norm of its four substitution effects), auROC per sequence, averaged
  (``utils.localization.information_mask`` and ``--score_mode signed``);
- the suite's rule (attribution_scores.csv): every position of a planted code motif is truth,
  score |attribution x input|.

Beside them the paper's published means (10 trials, their task-3 data) for CNN-dist with relu and
for its best model. The analog differs from their data on purpose (its negatives always carry one
or two code instances, so presence alone does not separate the classes): compare the ranking of
models and methods, not the third decimal.

Run from the repository's root: ``python -m benchmarks.bench_interpretability`` (``--seeds 1`` and
``--models dilated_relu koo_dist_relu`` for a quick look; the full table trains 9 x 3 CNNs, about
two hours on 2 cores at 20,000 sequences). ``--models dilated_exp_bn dilated_mixed ...`` adds issue 24's candidate
defaults (batch norm before the exponential and/or the dense relu, a mixed relu/exp first layer,
the positions head), measured in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
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

CODE = ["SP1_known1", "ETS_known3", "CEBPB_known1", "MYC_known3", "YY1_known3"]
DECOYS = ["NRF1_known1", "TATA_known1", "AP1_known1", "IRF_known1", "NFY_known1", "NFKB_known1",
          "PBX3_known1", "HSF_known1", "TFAP2_known1", "ZEB1_known1", "NANOG_known1"]
NO_BN = ["--first_batch_norm", "false", "--dense_batch_norm", "false"]   # the architectures as first measured
NO_AUG = ["--augment_rc", "false", "--augment_shift", "0"]               # training as it was before augmentation
OLD = ["--pool_size", "4", "--exp_filters", "0"]      # the dilated CNN's first layer before issue 24's default
MODELS = {                       # name -> Train_models.py flags (each candidate's settings spelled out)
    "dilated_default": [],       # the default CNN, trained as Train_models.py trains it
    "dilated_relu": ["--architecture", "dilated", *OLD, *NO_BN, *NO_AUG],
    "dilated_exp": ["--architecture", "dilated", "--first_activation", "exponential", *OLD, *NO_BN, *NO_AUG],
    "dilated_exp_bn1": ["--architecture", "dilated", "--first_activation", "exponential", *OLD, *NO_AUG,
                        "--first_batch_norm", "true", "--dense_batch_norm", "false"],
    "dilated_exp_bnd": ["--architecture", "dilated", "--first_activation", "exponential", *OLD, *NO_AUG,
                        "--first_batch_norm", "false", "--dense_batch_norm", "true"],
    "dilated_exp_bn": ["--architecture", "dilated", "--first_activation", "exponential", *OLD, *NO_AUG,
                       "--first_batch_norm", "true", "--dense_batch_norm", "true"],
    "dilated_exp_positions": ["--architecture", "dilated", "--first_activation", "exponential", *OLD, *NO_BN,
                              *NO_AUG, "--final_pool", "positions"],
    "dilated_exp_bnd_positions": ["--architecture", "dilated", "--first_activation", "exponential", *OLD, *NO_AUG,
                                  "--first_batch_norm", "false", "--dense_batch_norm", "true",
                                  "--final_pool", "positions"],
    "dilated_mixed": ["--architecture", "dilated", "--pool_size", "4", "--filters", "16", "--exp_filters", "16",
                      *NO_BN, *NO_AUG],
    "dilated_mixed_bnd": ["--architecture", "dilated", "--pool_size", "4", "--filters", "16", "--exp_filters", "16",
                          *NO_AUG, "--first_batch_norm", "false", "--dense_batch_norm", "true"],
    "basic_relu": ["--architecture", "basic", *NO_BN, *NO_AUG],
    "basic_exp": ["--architecture", "basic", "--first_activation", "exponential", *NO_BN, *NO_AUG],
    "koo_local_relu": ["--architecture", "koo_local", *NO_AUG],
    "koo_local_exp": ["--architecture", "koo_local", "--first_activation", "exponential", *NO_AUG],
    "koo_dist_relu": ["--architecture", "koo_dist", *NO_AUG],
    "koo_dist_exp": ["--architecture", "koo_dist", "--first_activation", "exponential", *NO_AUG],
    # training-set augmentation (utils.augment): reverse complements, and shifts of up to 3 bp
    "dilated_relu_rc": ["--architecture", "dilated", *OLD, *NO_BN, "--augment_rc", "true", "--augment_shift", "0"],
    "dilated_relu_rc_shift": ["--architecture", "dilated", *OLD, *NO_BN, "--augment_rc", "true", "--augment_shift", "3"],
    "koo_dist_exp_rc": ["--architecture", "koo_dist", "--first_activation", "exponential", "--augment_rc", "true",
                        "--augment_shift", "0"],
    "koo_dist_exp_rc_shift": ["--architecture", "koo_dist", "--first_activation", "exponential"],  # auto: rc + 3 bp
    "dilated_exp_bn_rc": ["--architecture", "dilated", "--first_activation", "exponential", *OLD,
                          "--first_batch_norm", "true", "--dense_batch_norm", "true", "--augment_rc", "true",
                          "--augment_shift", "0"],
    "dilated_exp_bn_rc_positions": ["--architecture", "dilated", "--first_activation", "exponential", *OLD,
                                    "--first_batch_norm", "true", "--dense_batch_norm", "true", "--augment_rc", "true",
                                    "--augment_shift", "0", "--final_pool", "positions"],
    # a mixed first layer of 32 relu + 16 exponential filters, both batch norms, pool 2, augmentation
    # (issue 24's first mixed candidate; the default took 32 + 32: dilated_default)
    "dilated_mixed_bn_rc": ["--architecture", "dilated", "--exp_filters", "16", "--first_batch_norm", "true",
                            "--dense_batch_norm", "true", "--pool_size", "2", "--augment_rc", "true",
                            "--augment_shift", "3"],
}
# every dilated candidate was measured with dropout 0.1, the dilated CNN's default until 2026-12-07
MODELS = {name: flags + (["--dropout", "0.1"] if name.startswith("dilated_") and name != "dilated_default" else [])
          for name, flags in MODELS.items()}
TABLE_MODELS = ["dilated_default", "dilated_relu", "dilated_exp", "basic_relu", "basic_exp", "koo_local_relu", "koo_local_exp",
                "koo_dist_relu", "koo_dist_exp"]
METHODS = ["saliency", "ism", "deep_shap", "integrated_gradients"]
# Koo & Ploenzke 2021, task 3, localization auROC (means of 10 trials), as quoted in issue 24
PAPER_DIST_RELU = {"saliency": 0.730, "ism": 0.894, "deep_shap": 0.816, "integrated_gradients": 0.771}
PAPER_BEST = {"saliency": 0.827, "ism": 0.908, "deep_shap": 0.837, "integrated_gradients": 0.820}


def quietly(main, argv) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0, argv


def paper_scores(results: Path, sites, pwms, motifs=CODE) -> dict[str, float]:
    """Each method's mean per-sequence auROC by the paper's rule on the attributed positives.
    ``sites``: seq id -> its planted Sites; ``pwms``: motif name -> (w, 4) probabilities."""
    from utils.localization import information_mask, localization_scores

    out = {}
    for method in METHODS:
        npz = np.load(results / f"attributions_{method}.npz", allow_pickle=False)
        keep = npz["labels"] == 1
        ids = [str(i) for i in npz["ids"][keep]]
        x, a = npz["onehot"][keep], npz["attributions"][keep]
        mask = information_mask(ids, sites, motifs, pwms, x.shape[1])
        auroc = localization_scores(a, mask, x, method, "signed")["auroc"]
        out[method] = float(np.nanmean(auroc))
    return out


def suite_scores(results: Path) -> dict[str, float]:
    with open(results / "attribution_scores.csv", newline="") as fh:
        return {r["method"]: float(r["auroc_mean"]) for r in csv.DictReader(fh)}


def _cell(values: list[float]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def run_table(args, work: Path, data_argv: list[str], interpret_argv: list[str], sites, pwms,
              motifs=CODE) -> None:
    """Train ``args.models`` x ``args.seeds`` on ``data_argv`` (Train_models.py's data flags), attribute
    each model's held-out positives (Interpret_models.py with ``interpret_argv`` added), score them
    by both rules against ``sites`` and print the table beside the paper's numbers."""
    table: dict[str, dict[str, list[float]]] = {}
    for model in args.models:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            name = f"{model}_s{seed}"
            t = time.perf_counter()
            quietly(Train_models.main, [*data_argv, "--out_dir", str(work / "models"),
                                        "--model_name", name, "--seed", str(seed), "--overwrite", "--quiet",
                                        *MODELS[model], *shlex.split(args.train_flags)])
            trained = time.perf_counter() - t
            metrics = json.loads((work / "models" / name / "metrics.json").read_text())
            results = work / "results" / name
            t = time.perf_counter()
            quietly(Interpret_models.main, ["--model", str(work / "models" / name), *interpret_argv,
                                            "--methods", *METHODS, "--tests", "ablation",
                                            "--num_attr_seqs", str(args.num_attr_seqs),
                                            "--out_dir", str(results), "--overwrite", "--quiet"])
            interpreted = time.perf_counter() - t
            paper, suite = paper_scores(results, sites, pwms, motifs), suite_scores(results)
            cell = table.setdefault(model + (f" {args.train_flags}" if args.train_flags else ""), {})
            cell.setdefault("test_auroc", []).append(float(metrics["test"]["auroc"]))
            for m in METHODS:
                cell.setdefault(f"paper:{m}", []).append(paper[m])
                cell.setdefault(f"suite:{m}", []).append(suite[m])
            print(f"{name:20} test auROC {metrics['test']['auroc']:.3f}  train {trained:5.0f} s  interpret "
                  f"{interpreted:4.0f} s  paper's rule " + " ".join(f"{m} {paper[m]:.3f}" for m in METHODS),
                  flush=True)
    print()
    print("Localization auROC by the paper's rule (signed attribution x input; PWM columns > 0.01 bits), "
          f"mean ± SD over {args.seeds} seed(s); the suite's rule in brackets")
    print("| model | test auROC | " + " | ".join(METHODS) + " |")
    print("|" + "---|" * (2 + len(METHODS)))
    for model, cell in table.items():
        print(f"| {model} | {_cell(cell['test_auroc'])} | " + " | ".join(
            f"{_cell(cell[f'paper:{m}'])} ({np.mean(cell[f'suite:{m}']):.3f})" for m in METHODS) + " |")
    print("| paper: cnn-dist relu | | " + " | ".join(f"{PAPER_DIST_RELU[m]:.3f}" for m in METHODS) + " |")
    print("| paper: best model | | " + " | ".join(f"{PAPER_BEST[m]:.3f}" for m in METHODS) + " |")


def add_run_flags(ap: argparse.ArgumentParser, default_models: list[str]) -> None:
    """The flags every run of the table takes: models, seeds, attributed sequences, training flags, work folder."""
    ap.add_argument("--seeds", type=int, default=3, help="training seeds per model (the data stay the same)")
    ap.add_argument("--first_seed", type=int, default=1, help="the first training seed (two processes side by "
                    "side can split the seeds)")
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=default_models,
                    help="default: %(default)s; the others are issue 24's candidates")
    ap.add_argument("--num_attr_seqs", type=int, default=500, help="held-out sequences attributed, positives first")
    ap.add_argument("--train_flags", default="", help="more Train_models.py flags for every model, as one string "
                    "(e.g. \"--lr 0.0005 --epochs 80\"); the row is named with them")
    ap.add_argument("--work_dir", default=None, help="keep the data, models and results here (default: a temp dir)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num_seqs", type=int, default=20000,
                    help="the analog's sequences: their task 3's 20,000 (10,000 until 2026-12-07; docs/benchmarks.md "
                         "has both)")
    add_run_flags(ap, TABLE_MODELS)
    args = ap.parse_args()

    from utils.folders import load_dataset

    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="bench-interp-"))
    data_dir = work / "data"
    t0 = time.perf_counter()
    quietly(Generate_sequences.main, ["--gen_type", "code", "--num_seqs", str(args.num_seqs), "--seq_length", "200",
                                      "--motifs", *CODE, *DECOYS, "--pos_motifs", *CODE, "--seed", "1",
                                      "--out_dir", str(data_dir), "--overwrite", "--quiet"])
    data = load_dataset(data_dir, need_sites=True)
    pwms = {name: m.pwm for name, m in data.library.items()}
    print(f"analog: {args.num_seqs:,} x 200 bp in {time.perf_counter() - t0:.1f} s -> {data_dir}")
    run_table(args, work, ["--data_file", str(data_dir)], [], data.sites, pwms)
    print(f"\nwork folder: {work}")


if __name__ == "__main__":
    main()
