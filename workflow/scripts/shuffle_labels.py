#!/usr/bin/env python3
"""Copy a data folder with its labels permuted (seeded): the training data of a null model.

The sequences, planted sites and metadata.json stay as they are (so interpretation still
knows the planted rule); labels.tsv keeps its ids in order with the labels shuffled, and
metadata.json gains "null_model": true. The copy is written whole or not at all.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from utils import cli, io as dio  # noqa: E402
from utils.folders import DataFolder  # noqa: E402
from utils.seqfiles import read_labels  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=cli.seed_value, default=0)
    args = ap.parse_args(argv)
    src = Path(args.data_dir)
    ids, labels = read_labels(src / DataFolder.LABELS)
    shuffled = np.random.default_rng([args.seed, 424242]).permutation(labels)
    meta = dio.read_json(src / DataFolder.METADATA)
    meta["null_model"] = True
    meta["null_model_definition"] = "labels.tsv permuted (seeded); sequences, sites and rule unchanged"
    # Snakemake reruns a job into its own output: replace it whole, as before
    with dio.staged_dir(args.out_dir, overwrite=True) as tmp:
        for name in (DataFolder.FASTA, DataFolder.SITES):
            shutil.copyfile(src / name, tmp / name)
        dio.write_tsv(tmp / DataFolder.LABELS, ["id", "label"], [ids, shuffled.astype(int).tolist()])
        dio.write_json(tmp / DataFolder.METADATA, meta)
    return 0


if __name__ == "__main__":
    cli.run(main)
