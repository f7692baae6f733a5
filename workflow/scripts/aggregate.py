#!/usr/bin/env python3
"""The sweep's aggregation step: leaderboard.csv, summary.md and figures from the run folders.

Each run folder is <out>/results/<rule>/s<seed>/<model>; only its summary.json and
attribution_scores.csv are read (utils.leaderboard).

workflow/Snakefile runs it with the repository's root on PYTHONPATH, so that utils imports;
by hand: ``PYTHONPATH=. python workflow/scripts/aggregate.py ...`` from the root.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from utils import cli, leaderboard


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out_dir", required=True)
    ap.add_argument("--null_models", nargs="*", default=[])
    ap.add_argument("runs", nargs="+", help="run folders <out>/results/<rule>/s<seed>/<model>")
    args = ap.parse_args(argv)
    nulls = set(args.null_models) - {"-"}
    runs = []
    for folder in map(Path, args.runs):
        model, seed, rule = folder.name, folder.parent.name, folder.parent.parent.name
        runs.append(leaderboard.Run(rule, model, int(seed.lstrip("s")), folder, null=model in nulls))
    rows = leaderboard.write_all(runs, args.out_dir)
    print(f"leaderboard: {len(rows)} rows -> {Path(args.out_dir) / 'leaderboard.csv'}")
    return 0


if __name__ == "__main__":
    cli.run(main)
