#!/usr/bin/env python3
"""Train a model on a data folder written by Generate_sequences.py and save it as a model folder.

Thin command line over utils.training and utils.models: parse flags, read the data,
fit one model kind (a classifier for 0/1 labels, a regression for activity labels),
write models/<model_name>/ (model file, model.json, split.tsv, metrics.json,
predictions.tsv, and history.csv + learning_curves.png for the CNN).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from utils import augment, cli, cores, models, training
from utils.folders import check_out_dir, load_dataset
from utils.io import InputError

DESCRIPTION = __doc__.split("\n\n")[0]
EPILOG = """model kinds (class: 0/1 labels; activity: real-valued labels, metadata.json "target"):
  cnn            Keras 1-D CNN on the one-hot sequence (sees motifs, their order and spacing):
                 by default a dilated residual tower whose receptive field covers the rule;
                 activity: the same graph with a linear output, mean squared error
  kmer_logistic  class: logistic regression on standardised k-mer counts (sees only which
                 k-mers occur)
  kmer_ridge     activity: ridge regression on the same features (the additive control,
                 blind to order and spacing); alpha by leave-one-out CV over a fixed grid
  kmer_gbt       histogram gradient boosting on k-mer counts (activity: its regressor)

example:
  python Train_models.py --data_file data/generated --model_type cnn --epochs 20
"""


def split_fraction(text: str) -> float:
    """--test_sz: test and validation each take this fraction, so it must stay below 0.5."""
    value = cli.open_unit_float(text)
    if value >= 0.5:
        raise argparse.ArgumentTypeError(f"{value} leaves no training data (test and validation each "
                                         f"take it); use a value below 0.5, e.g. 0.15")
    return value


def patience(text: str) -> int:
    """--early_stop: epochs of patience; true/false as the original README's flag also work."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes"):
        return training.TrainConfig.patience
    if lowered in ("false", "no"):
        return 0
    return cli.non_negative_int(text)


def default_fields() -> list[tuple[int, int]]:
    """(dilated layers, receptive field bp) of the default CNN, 3 to 7 layers."""
    return [(n, models.receptive_field(models.CNNConfig(dilated_layers=n))) for n in range(3, 8)]


def first_layer_default(name: str) -> str:
    """What an automatic first-layer flag becomes, per architecture, in words for --help."""
    values = {arch: defaults[name] for arch, defaults in models.FIRST_LAYER_DEFAULTS.items()}
    return ", ".join(f"{str(v).lower() if isinstance(v, bool) else v} for {arch}" for arch, v in values.items())


def dropout_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 0 and below 1")
    return value


def kmer_length(text: str) -> int:
    value = cli.positive_int(text)
    if value > 8:
        raise argparse.ArgumentTypeError(f"{value} gives 4**{value} features; use 1 to 8")
    return value


def model_name(text: str) -> str:
    if not text or text in (".", "..") or "/" in text or os.sep in text or text.startswith("."):
        raise argparse.ArgumentTypeError(f"{text!r} is not a plain folder name; give a name such as "
                                         f"cnn_presence (the folder goes under --out_dir)")
    return text


def build_parser() -> cli.Parser:
    cnn = models.CNNConfig()             # the default CNN, for the help texts' numbers
    parser = cli.make_parser(DESCRIPTION, EPILOG)
    data = parser.add_argument_group("data")
    data.add_argument("--data_file", default="data/generated", metavar="DIR",
                      help="data folder from Generate_sequences.py (or its sequences.fa with "
                           "labels.tsv beside it)")
    data.add_argument("--test_sz", type=split_fraction, default=training.TrainConfig.test_sz,
                      metavar="FRACTION",
                      help="fraction of each class (activity labels: of all sequences, drawn at random) "
                           "held out for testing; validation takes as much again")
    data.add_argument("--sampler", type=cli.boolean, default=False, metavar="BOOL",
                      help="true: weight classes so each carries half the training loss "
                           "(for imbalanced data; class labels only)")
    model = parser.add_argument_group("model")
    model.add_argument("--model_type", choices=models.KINDS, default="cnn",
                       help="kind of model to fit (kmer_logistic: class labels only; kmer_ridge: activity "
                            "labels only)")
    model.add_argument("--model_name", type=model_name, default=None, metavar="NAME",
                       help="name of the model folder under --out_dir (default: the model type)")
    model.add_argument("--k", type=kmer_length, default=models.KmerConfig.k, metavar="INT bp",
                       help="k-mer length of the k-mer models")
    model.add_argument("--filters", type=cli.positive_int, default=models.CNNConfig.filters,
                       metavar="INT", help="CNN: first-layer filters with --first_activation")
    model.add_argument("--kernel_size", type=cli.positive_int, default=models.CNNConfig.kernel_size,
                       metavar="INT bp", help="CNN: width of the first-layer filters")
    model.add_argument("--pool_size", type=cli.auto_or(cli.positive_int), default="auto",
                       metavar="INT bp|auto", help="CNN (dilated, basic): the max-pool after the first layer; larger "
                                                   "pools make first-layer filters learn whole motifs (Koo & Eddy "
                                                   "2019), smaller ones resolve spacing to the base (helical "
                                                   "phasing); auto: " + first_layer_default("pool_size"))
    model.add_argument("--architecture", choices=models.ARCHITECTURES, default="dilated",
                       help="CNN: dilated = first conv + pool + a residual tower of dilated convolutions "
                            "whose receptive field covers the data's rule; basic = the earlier one or two "
                            "plain conv blocks (--conv_blocks); koo_local, koo_dist = Koo & Ploenzke's (2021) "
                            "CNN-local (conv 24x19, pool 50, conv 48x3, pool 2, dense 96) and CNN-dist (conv "
                            "24x19, conv 32x7, pool 4, conv 48x7, pool 4, conv 64x3, pool 3, dense 96) as "
                            "published: batch norm, their dropouts and L2 1e-6 (--filters, --kernel_size, "
                            "--dropout, --final_pool and the tower's flags do not apply)")
    model.add_argument("--first_activation", choices=models.FIRST_ACTIVATIONS, default="relu",
                       help="CNN (every architecture): activation of the first convolution; exponential "
                            "(Koo & Ploenzke 2021) makes first-layer filters learn whole motifs")
    model.add_argument("--first_batch_norm", type=cli.auto_or(cli.boolean), default="auto",
                       metavar="BOOL|auto", help="CNN (dilated, basic): batch normalization between the first "
                                                 "convolution and its activation (koo_local and koo_dist have it); "
                                                 "auto: " + first_layer_default("first_batch_norm"))
    model.add_argument("--exp_filters", type=cli.auto_or(cli.non_negative_int), default="auto",
                       metavar="INT|auto", help="CNN (dilated, basic): this many first-layer filters with the "
                                                "exponential activation beside the --filters of --first_activation "
                                                "(a mixed first layer; 0: none); auto: "
                                                + first_layer_default("exp_filters"))
    model.add_argument("--tower_filters", type=cli.auto_or(cli.positive_int), default="auto",
                       metavar="INT|auto", help="CNN (dilated): channels of the dilated tower; other than the "
                                                "first layer's (--filters + --exp_filters), a 1x1 convolution "
                                                "after the first pooling projects to it (with a mixed first layer "
                                                "--tower_filters 32 predicts about 1.8x faster and starts arrangement "
                                                "rules later); auto: the first layer's")
    model.add_argument("--dense_batch_norm", type=cli.auto_or(cli.boolean), default="auto",
                       metavar="BOOL|auto", help="CNN (dilated, basic): batch normalization before the dense "
                                                 "layer's relu (koo_local and koo_dist have it); auto: "
                                                 + first_layer_default("dense_batch_norm"))
    model.add_argument("--dilated_layers", type=cli.positive_int, default=None, metavar="INT",
                       help="CNN (dilated): layers in the tower; default: the fewest (3 or more) whose "
                            "receptive field covers both motifs plus the largest gap of the rule in "
                            "metadata.json (distance: twice that gap) plus one kernel. Field = kernel_size + pool_size - 1 + "
                            "pool_size * 2 * (1 + base + ... + base^(layers-1)) bp: with the defaults "
                            + ", ".join(f"{n} {'layers see' if n == 3 else 'see'} {field:,}" for n, field in
                                        default_fields()) + " bp")
    model.add_argument("--dilation_base", type=cli.positive_int, default=models.CNNConfig.dilation_base,
                       metavar="INT", help="CNN (dilated): layer i has dilation base**i")
    model.add_argument("--conv_blocks", type=int, choices=(1, 2), default=models.CNNConfig.conv_blocks,
                       help="CNN (basic): 1 sees single motifs; 2 also sees motif pairs within ~60 bp")
    model.add_argument("--final_pool", choices=models.FINAL_POOLS, default=models.CNNConfig.final_pool,
                       help="CNN: pooling over the whole length before the dense layer: max; maxavg = max "
                            "and mean side by side; positions = a max over every "
                            f"{models.POSITION_POOL} pooled steps, positions kept, so the dense layer reads where "
                            "each filter fired; auto = positions for a position rule (a pooling over the whole "
                            "length cannot see where a motif stands), maxavg from "
                            f"{models.MAXAVG_FROM} pooled positions (~{models.MAXAVG_FROM * cnn.pool_size + cnn.kernel_size - 1} bp with "
                            "the defaults) on, where max alone did not learn a 1,000 bp spacing rule, or when an "
                            "activity label or a copies rule counts copies of a motif (a max cannot count), "
                            "else max")
    model.add_argument("--dropout", type=cli.auto_or(dropout_rate), default="auto", metavar="RATE|auto",
                       help="CNN (dilated, basic): dropout rate after the first pooling and the dense layer; "
                            f"auto: {models.DROPOUT_DEFAULTS['dilated']['class']} for a dilated CNN on class "
                            f"labels, {models.DROPOUT_DEFAULTS['dilated']['activity']} on activity labels and for "
                            "basic")
    fit = parser.add_argument_group("training (CNN)")
    fit.add_argument("--epochs", type=cli.auto_or(cli.positive_int), default="auto", metavar="INT|auto",
                     help=f"CNN: the most training epochs; auto: {training.EPOCHS_BASE}, or as many as give the "
                          f"gradient steps of {training.EPOCHS_BASE} epochs at 7,000 training sequences when there "
                          f"are fewer (100 at 5,000 sequences), at most {training.EPOCHS_MAX}: slow starters "
                          f"learn after a number of updates, not of passes")
    fit.add_argument("--early_stop", type=patience, default=training.TrainConfig.patience, metavar="INT",
                     help="patience: stop after this many epochs without a better validation score "
                          "(0 or false: never stop early); the best epoch's weights (by validation auROC, ties: "
                          "lower loss; activity labels: by validation loss) are kept either way")
    fit.add_argument("--min_epochs", type=cli.non_negative_int, default=training.TrainConfig.min_epochs,
                     metavar="INT", help="never stop early before this epoch (spacing rules sit at chance for "
                                         "several epochs before the motif detectors form)")
    fit.add_argument("--plateau_epochs", type=cli.non_negative_int, default=training.TrainConfig.plateau_epochs,
                     metavar="INT", help="while the validation auROC is still below 0.6 (chance; activity "
                                         "labels: validation R^2 below 0.1), never stop early before this "
                                         "epoch (long sequences plateau longer), unless --null_epochs stops it")
    fit.add_argument("--null_epochs", type=cli.auto_or(cli.non_negative_int), default="auto",
                     metavar="INT|auto", help="stop a run that learns nothing: from --min_epochs on, once this many "
                                         "consecutive epochs were indistinguishable from chance (validation auROC "
                                         "inside 0.5 +/- --null_z label-permutation SDs and the validation loss not "
                                         "below the class prior's by more than --null_z standard errors; activity "
                                         "labels: Pearson r and the mean's squared error); auto: 12 + 1 per "
                                         "100 bp of sequence epochs of 110 gradient steps each (7,000 training "
                                         "sequences in batches of 64), never fewer epochs (200 bp: 14 epochs at "
                                         "10,000 sequences, 28 at 5,000); 0: off (wait for --plateau_epochs)")
    fit.add_argument("--null_z", type=cli.positive_float, default=training.TrainConfig.null_z, metavar="FLOAT",
                     help="half-width of --null_epochs' chance band, in null standard deviations")
    fit.add_argument("--batch_size", type=cli.positive_int, default=training.TrainConfig.batch_size,
                     metavar="INT", help="sequences per gradient step")
    fit.add_argument("--lr", type=cli.positive_float, default=training.TrainConfig.lr, metavar="FLOAT",
                     help="CNN: Adam's learning rate (0.001 until 2026-12-08: with twice the rate the CNN learns "
                          "spacing rules before it memorizes its training sequences, at 5,000 sequences and at "
                          "10,000)")
    fit.add_argument("--lr_decay", type=cli.decay_factor, default=training.TrainConfig.lr_decay, metavar="FLOAT",
                     help="CNN: multiply the learning rate by this after --lr_patience epochs without a better "
                          "validation score (Keras ReduceLROnPlateau, down to a thousandth of --lr; Koo & "
                          "Ploenzke train with 0.2 after 5); 1: a constant rate")
    fit.add_argument("--lr_patience", type=cli.positive_int, default=training.TrainConfig.lr_patience, metavar="INT",
                     help="CNN: epochs without a better validation score before --lr_decay applies")
    fit.add_argument("--train_speed", choices=training.TRAIN_SPEEDS, default=training.TrainConfig.train_speed,
                     help="plain: Keras' fit on in-memory arrays; pipelined: "
                          f"{training.STEPS_PER_EXECUTION} training steps per call from Python, fed by a tf.data "
                          "pipeline with prefetch (the same seed gives the same model, but not plain's: the "
                          "batches differ)")
    fit.add_argument("--augment_rc", type=cli.auto_or(cli.boolean), default="auto", metavar="BOOL|auto",
                     help="CNN: each epoch, reverse-complement each training sequence with probability 1/2 (a "
                          "molecule's label does not depend on the strand read); auto: on, unless the data's "
                          "rule would be mislabelled (position; order planted on both strands) or its motifs were "
                          "planted on + only, where it steps aside with a note; true is refused for the rules "
                          "it would mislabel")
    fit.add_argument("--augment_shift", type=cli.auto_or(cli.non_negative_int), default="auto",
                     metavar="INT bp|auto", help="CNN: each epoch, move each training sequence by a uniform draw "
                                                 f"from [-INT, INT] bp, ends padded with 0.25 per base (at most a "
                                                 f"tenth of the length); auto: {augment.AUTO_SHIFT} bp (or a tenth "
                                                 f"of the length if less), 0 for position rules, with a note; "
                                                 f"an INT above 0 is refused for them")
    fit.add_argument("--refresh_batch_norm", type=cli.auto_or(cli.boolean), default="auto", metavar="BOOL|auto",
                     help="CNN: after training, recompute each batch normalization's statistics on "
                          f"(at most {models.BN_REFRESH_SEQS:,}) training sequences as inference sees them, "
                          "dropout off. A dropout before a batch norm leaves it expecting dropout's variance, which "
                          "shifts every output. auto: on for activity labels, whose effects are in their own units "
                          "(bench_quantitative: recovered in 3 of 4 paired runs, against 2 of 4 as trained), off "
                          "for class labels (on Koo & Ploenzke's task 3, true calibrates the probabilities, test "
                          "accuracy 0.755 -> 0.910, but localized the planted motifs slightly worse with every "
                          "attribution method; --calibrate gives calibrated probabilities without that cost); "
                          "docs/benchmarks.md")
    fit.add_argument("--calibrate", type=cli.auto_or(cli.boolean), default="auto", metavar="BOOL|auto",
                     help="CNN on class labels: after training, fit Platt scaling (a slope and an intercept of "
                          "the logit) on the validation split and fold it into the logit layer, so a probability "
                          "of 0.8 is right 8 times in 10. No ranking changes and every attribution of the logit "
                          "is scaled by the one slope, so localization is unchanged. auto: on for class labels "
                          "(on Koo & Ploenzke's task 3, test accuracy 0.755 -> 0.904 at the same auROC); true is "
                          "refused for activity labels; model.json records the fit")
    fit.add_argument("--rc_average", type=cli.auto_or(cli.boolean), default="auto", metavar="BOOL|auto",
                     help="CNN: read each sequence on both strands, the model's output the mean of its logits on "
                          "the sequence and on its reverse complement (a post-hoc conjoined network; every "
                          "attribution method then explains that mean); model.json records it and "
                          "Interpret_models.py reads the model so. auto: with --augment_rc (the same weights on the code "
                          "analog: ISM's localization 0.899 -> 0.917, saliency's 0.841 -> 0.866, DeepSHAP's 0.859 "
                          "-> 0.875; docs/benchmarks.md, \"Both strands\")")
    cli.add_common_flags(parser, "models", "folder that receives the model folder <model_name>/")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cores.limit(args.threads)
    name = args.model_name or args.model_type
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise InputError(f"--out_dir {args.out_dir} is a file, not a folder; name a folder "
                         f"(the model goes into <out_dir>/{name})")
    out = check_out_dir(Path(args.out_dir) / name, args.overwrite)
    cfg = training.TrainConfig(test_sz=args.test_sz, sampler=args.sampler, epochs=args.epochs,
                               early_stop=args.early_stop > 0, patience=max(args.early_stop, 1),
                               batch_size=args.batch_size, lr=args.lr, lr_decay=args.lr_decay,
                               lr_patience=args.lr_patience, min_epochs=args.min_epochs,
                               plateau_epochs=args.plateau_epochs, null_epochs=args.null_epochs,
                               null_z=args.null_z, train_speed=args.train_speed, augment_rc=args.augment_rc,
                               augment_shift=args.augment_shift,
                               refresh_batch_norm=args.refresh_batch_norm, calibrate=args.calibrate,
                               rc_average=args.rc_average)
    parser = build_parser()
    models.check_architecture_flags(args.architecture, args.first_activation,
                                    [name for name in models.KOO_FIXED_FLAGS      # (auto flags: None)
                                     if getattr(args, name) not in (None, parser.get_default(name))])
    arch = models.CNNConfig(architecture=args.architecture, filters=args.filters, kernel_size=args.kernel_size,
                            pool_size=args.pool_size, dilated_layers=args.dilated_layers, dilation_base=args.dilation_base,
                            conv_blocks=args.conv_blocks, dropout=args.dropout, final_pool=args.final_pool,
                            first_activation=args.first_activation, first_batch_norm=args.first_batch_norm,
                            dense_batch_norm=args.dense_batch_norm, exp_filters=args.exp_filters,
                            tower_filters=args.tower_filters)
    if args.architecture == "dilated" and args.dilation_base < 2:
        raise InputError(f"--dilation_base {args.dilation_base} must be 2 or more (1 would not dilate)")
    kmer = models.KmerConfig(k=args.k)
    dataset = load_dataset(args.data_file)
    verbose = 1 if sys.stderr.isatty() and not args.quiet else 0
    result = training.train(dataset, args.model_type, cfg, args.seed, arch=arch, kmer=kmer,
                            verbose=verbose)
    training.write_model_folder(result, dataset, out, cfg, args.seed, arch=arch, kmer=kmer,
                                overwrite=args.overwrite)
    if dataset.target == "activity" and not dataset.metadata:
        # no metadata.json names the target: say what the labels were taken for
        print(f"note: {Path(args.data_file)} has no metadata.json and its labels are not all 0 or 1: "
              f"read as activity labels (real numbers) and fitted as a regression", file=sys.stderr)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    for note in result.notes:
        cli.say(f"note: {note}", args.quiet)
    test = result.metrics["test"]
    if result.target == "activity":
        score = "test Pearson r " + ("undefined" if test["pearson_r"] is None else f"{test['pearson_r']:.3f}")
    else:
        score = "test auROC " + ("undefined" if test["auroc"] is None else f"{test['auroc']:.3f}")
    per_epoch = result.timing.get("seconds_per_epoch")
    timing = f", {result.metrics['epochs_run']} epochs at {per_epoch:.1f} s/epoch" if per_epoch else ""
    field = f", receptive field {models.receptive_field(result.arch)} bp" if result.arch else ""
    cli.say(f"{args.model_type}: {score} (n={test['n']}{timing}{field}) -> {out}", args.quiet)
    return 0


if __name__ == "__main__":
    cli.run(main)
