#!/usr/bin/env python3
"""Interpret a trained model as a black box and score what it learned against the planted rule.

Runs perturbation experiments on the model's test sequences (ablate each motif, insert
it, swap the pair, re-space the pair, and controls; a presence rule's truth table of motif
subsets in background sequences; a copies rule's remove-one / add-one tests and dose-response curve), tests each effect across sequences
(sign-flip permutation test of the mean change, Benjamini-Hochberg q-values), and states
whether the model recovered the planted rule. Then attributes test sequences with each
method the model supports and scores the maps against the planted sites.

Outputs (in --out_dir): interpretation.csv, summary.json, report.md, distance_curve.csv
and .png (motif pairs), dose_curve.csv and .png (copies rules), position_curve.csv and .png
(position rules), attribution_scores.csv and .png, attributions_<method>.npz, logos/; with
--discover_motifs motifs_<method>.csv and .meme, motif_logos/.
"""
from __future__ import annotations

import argparse
import sys

from utils import attribution, cli, cores, evaluate, experiments, interpretation, localization, models, perturb, report


def build_parser():
    p = cli.make_parser(__doc__.split("\n\n")[0], epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    g = p.add_argument_group("inputs")
    g.add_argument("--model", default="models/cnn", metavar="DIR|FILE",
                   help="model folder written by Train_models.py, or a model file from elsewhere: "
                        ".keras / .h5 (loaded in Keras' safe mode) or .onnx (run with onnxruntime, on CPU)")
    g.add_argument("--preds", default=None, metavar="TSV",
                   help="the model's predictions.tsv, which names the test split (with a FASTA every sequence "
                        "is used); default: the one in --model")
    g.add_argument("--seq_dict", "--data_file", dest="seq_dict", default=None, metavar="DIR|FASTA",
                   help="data folder written by Generate_sequences.py, or a FASTA file (plain or .gz, "
                        "N allowed; sequences of one length, or of several for a Keras model that takes any length); "
                        "default: the folder recorded in model.json")
    g.add_argument("--labels", default=None, metavar="TSV",
                   help="with a FASTA: id<TAB>label for its sequences (0/1 classes, or real numbers: an "
                        "activity; the header may be missing, and rows of sequences the FASTA lacks are left "
                        "out with a note); without it each sequence is labelled by the model's own call")
    g.add_argument("--input_layout", choices=models.LAYOUTS, default="auto",
                   help="model file input: (N, L, 4) or (N, 4, L); auto reads it from the input shape")
    g.add_argument("--output_index", type=cli.index_or_name, default=0, metavar="INT|NAME[:K]",
                   help="model file with several outputs: which value, counted over all outputs in order (a "
                        "profile counts as one), or an output by its name (NAME:K for value K of it)")
    g.add_argument("--output_reduce", default="sum", metavar="sum|mean|max|POSITION",
                   help="a profile output (one value per position, e.g. BPNet's profile head) becomes one value "
                        "per sequence: summed, averaged or maxed over positions (and strands), or its value at "
                        "one position (summed over strands)")
    g.add_argument("--output_kind", choices=models.OUTPUT_KIND_CHOICES, default="auto",
                   help="model file output: a probability (sigmoid), a logit (read as log-odds of 0/1 labels) "
                        "or a value (a regression: effects in its own units); auto: a sigmoid output is a "
                        "probability, a linear one a logit with 0/1 --labels and a value otherwise, any other "
                        "activation a value")
    g.add_argument("--rc_average", type=cli.auto_or(cli.boolean), default="auto", metavar="BOOL|auto",
                   help="read the model on both strands: its output the mean of its outputs' logits on a sequence "
                        "and on its reverse complement, every attribution method explaining that mean (a model "
                        "trained with reverse complements is meant to answer alike for both); auto: as model.json "
                        "records (Train_models.py --rc_average), one strand for a model file from elsewhere; "
                        "summary.json records it (attribution_settings.strands)")
    g.add_argument("--output_activation", dest="output_kind", choices=models.OUTPUT_ACTIVATIONS,
                   default=argparse.SUPPRESS, help=argparse.SUPPRESS)     # the older name: sigmoid, none
    g = p.add_argument_group("motifs")
    cli.add_motif_flags(g, motifs_default=None,
                        motifs_help="motifs to test (required for sequences without planted sites, which take "
                                    "them from --motif_db); default: every motif in the data's metadata",
                        background_default=None,
                        background_help="base distribution perturbations resample from and site calling scores "
                                        "against; default: the data's (a FASTA: uniform, 0.25 each)")
    g.add_argument("--site_pvalue", type=cli.pvalue_or_auto, default="auto", metavar="auto|P",
                   help="sequences without planted sites: when a window is a site (both strands scanned, windows "
                        "holding N skipped, overlaps resolved by the best score). auto: each motif's match "
                        "threshold as Generate_sequences.py defines it against --background_dist (the larger of "
                        "the score 99 in 100 of the PWM's draws reach and the score one background window in 1,000 "
                        "reaches), so the suite's own FASTA read with its background_dist gives back its planted "
                        "sites; a number P: FIMO's meaning, an exact background p-value <= P per window and "
                        "strand (FIMO's default is 1e-4)")
    g.add_argument("--truth_sites", default=None, metavar="BED",
                   help="sequences without planted sites (a FASTA): the true sites you hold (BED: id start end "
                        "motif [score strand], 0-based, end exclusive), used instead of calling sites by scanning; "
                        "localization is scored against them and their motifs (column 4) are looked up in "
                        "--motif_db; default: call sites at --site_pvalue")
    g.add_argument("--pair", nargs=2, default=None, metavar=("A", "B"),
                   help="without a planted rule: the motif pair whose order (swap) and spacing "
                        "(re-space) are tested")
    g = p.add_argument_group("hypothesis tests")
    g.add_argument("--tests", nargs="+", default=None, choices=perturb.TESTS, metavar="TEST",
                   help=f"experiments to run, of: {' '.join(perturb.TESTS)}; default: every one "
                        f"that applies to the data")
    g.add_argument("--num_perturbs", type=cli.positive_int, default=10, metavar="INT",
                   help="random draws of each perturbation per sequence")
    g.add_argument("--num_seqs", type=cli.positive_int, default=500, metavar="INT",
                   help="most test sequences per experiment")
    g.add_argument("--alpha", type=cli.open_unit_float, default=0.05, metavar="FLOAT",
                   help="significance level for the Benjamini-Hochberg q-values")
    g.add_argument("--min_effect", type=float, default=None, metavar="FLOAT",
                   help=f"smallest mean change in the output that counts as an effect; default "
                        f"{evaluate.MIN_EFFECT} for a probability, {evaluate.MIN_EFFECT_SD} standard deviation of "
                        f"the model's outputs over the test sequences for a value output (in its units)")
    g = p.add_argument_group("attribution")
    g.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                   help="attribution methods (ism kernel_shap deep_shap gradient_shap saliency "
                        "integrated_gradients squid); 'all' every one the model supports; "
                        "default: every one the model supports but squid (a library of 2,000 predictions per "
                        "sequence); 'none' skips attribution")
    g.add_argument("--reference", "--deep_background", dest="reference", choices=attribution.REFERENCES,
                   default=attribution.REFERENCE,
                   help=f"references of DeepSHAP and GradientSHAP ({attribution.DEEP_BACKGROUND} of them): "
                        f"dinuc = dinucleotide shuffles of each sequence (the BPNet / tangermeme reference); "
                        f"shuffle = position shuffles of each; dist = sequences drawn from the background "
                        f"distribution, shared by all (--deep_background is the older name)")
    g.add_argument("--gradient_correction", type=cli.boolean, default=False, metavar="BOOL",
                   help="subtract, at each position, the mean over the four bases from the maps of the gradient "
                        "methods (saliency, integrated_gradients, gradient_shap): the correction of Majdandzic "
                        "et al. 2023 for gradients off the one-hot simplex")
    g.add_argument("--score_mode", choices=localization.SCORE_MODES, default="input",
                   help="per-position score of a map against the planted sites: input = |attribution x "
                        "input| (the observed base, as the logos draw it); sum = |attribution| summed "
                        "over the four bases; signed = attribution x input with its sign, ISM the L2 norm of "
                        "its four substitution effects (Koo & Ploenzke 2021's rule)")
    g.add_argument("--num_attr_seqs", type=cli.positive_int, default=200, metavar="INT",
                   help="test sequences to attribute, positives first")
    g.add_argument("--discover_motifs", action="store_true",
                   help="motif discovery per method: modisco-lite on each method's maps of the attributed "
                        "positives, each pattern matched by TOMTOM against the data's motifs and --motif_db; "
                        "writes motifs_<method>.csv / .meme, motif_logos/ and columns of attribution_scores.csv "
                        "(on 2 cores: about a minute the first time after an install, while numba compiles; then "
                        "about 20 s for the first method and 2 s for each further one, at 200 sequences of 200 bp)")
    g.add_argument("--window", type=cli.positive_int, default=attribution.KERNEL_WINDOW, metavar="INT bp",
                   help="KernelSHAP feature width: positions grouped into windows of this many bp")
    g.add_argument("--nsamples", type=cli.positive_int, default=attribution.KERNEL_NSAMPLES, metavar="INT",
                   help="KernelSHAP coalitions sampled per sequence")
    cli.add_common_flags(p, None, "results folder; default results/<model folder name>")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cores.limit(args.threads)
    if args.list_motifs is not None:
        return cli.print_motif_list(args.motif_db, args.list_motifs)
    inp = interpretation.resolve_inputs(
        args.model, seq_dict=args.seq_dict, preds=args.preds, motif_names=args.motifs,
        background_dist=args.background_dist, tests=args.tests, min_effect=args.min_effect,
        methods=args.methods, out_dir=args.out_dir, overwrite=args.overwrite,
        model_options=interpretation.ModelOptions(args.input_layout, args.output_index, args.output_kind,
                                                  args.output_reduce, args.rc_average),
        site_options=interpretation.SiteOptions(args.motif_db, args.site_pvalue,
                                                tuple(args.pair) if args.pair else None, args.labels,
                                                args.truth_sites))
    for warning in inp.warnings:
        print(warning, file=sys.stderr)
    settings = experiments.Settings(
        num_perturbs=args.num_perturbs, num_seqs=args.num_seqs, seed=args.seed,
        tests=tuple(args.tests) if args.tests else None, alpha=args.alpha, min_effect=args.min_effect,
        pair=tuple(args.pair) if args.pair else None, quiet=args.quiet, overwrite=args.overwrite,
        data=str(args.seq_dict or ""), truth_given=bool(args.truth_sites), score_mode=args.score_mode,
        reference=args.reference, gradient_correction=args.gradient_correction)
    arrays = experiments.test_arrays(inp)
    findings = experiments.run(inp, arrays, settings)
    for note in inp.notes:
        cli.say(f"note: {note}", args.quiet)
    attributed = experiments.attribute(inp, arrays, args.num_attr_seqs, quiet=args.quiet,
                                       background_dist=inp.background, seed=args.seed, window=args.window,
                                       nsamples=args.nsamples, gradient_correction=args.gradient_correction,
                                       reference=args.reference)
    discovered = experiments.discover(inp, attributed, args.motif_db, settings) if args.discover_motifs else {}
    summary = experiments.write_results(inp, findings, attributed, discovered, settings)
    cli.say(report.final_line(summary, inp.out_dir), args.quiet)
    return 0


if __name__ == "__main__":
    cli.run(main)
