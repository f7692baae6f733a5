#!/usr/bin/env python3
"""Copy a data folder with its labels permuted (seeded): the training data of a null model.

The sequences, planted sites and metadata.json stay as they are (so interpretation still
knows the planted rule); labels.tsv keeps its ids in order with the labels shuffled, and
metadata.json gains "null_model": true. The copy is written whole or not at all.

workflow/Snakefile runs it with the repository's root on PYTHONPATH, so that utils imports;
by hand: ``PYTHONPATH=. python workflow/scripts/shuffle_labels.py ...`` from the root.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import numpy as np

from utils import cli, io as dio
from utils.folders import DataFolder, metadata_target
from utils.seqfiles import read_labels


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=cli.seed_value, default=0)
    args = ap.parse_args(argv)
    src = Path(args.data_dir)
    meta = dio.read_json(src / DataFolder.METADATA)
    target = metadata_target(meta, src / DataFolder.METADATA)
    ids, labels = read_labels(src / DataFolder.LABELS, target=target)
    shuffled = np.random.default_rng([args.seed, 424242]).permutation(labels)
    # activity labels keep the generator's fixed digits ("%.6f"), classes stay 0/1
    cells = [f"{v:.6f}" for v in shuffled] if target == "activity" else shuffled.astype(int).tolist()
    meta["null_model"] = True
    meta["null_model_definition"] = "labels.tsv permuted (seeded); sequences, sites and rule unchanged"
    # Snakemake reruns a job into its own output: replace it whole, as before
    with dio.staged_dir(args.out_dir, overwrite=True) as tmp:
        for name in (DataFolder.FASTA, DataFolder.SITES):
            shutil.copyfile(src / name, tmp / name)
        dio.write_tsv(tmp / DataFolder.LABELS, ["id", "label"], [ids, cells])
        dio.write_json(tmp / DataFolder.METADATA, meta)
    return 0


if __name__ == "__main__":
    cli.run(main)
