#!/usr/bin/env python3
"""Generation speed: the numpy engine against the simdna reference, side by side in one run.

Every figure is a whole process, as a user times it (`python Generate_sequences.py ...`,
imports included): the simdna engine on --simdna_seqs sequences and the numpy engine on
--numpy_seqs, at 200 bp and 1,000 bp, for presence and distance, then a 1,000,000-sequence
run of the defaults with its wall time and peak memory (the child reports its own peak).
Targets: numpy >= 60x simdna in sequences per second at 200 bp; 1,000,000 x 200 bp in
under 15 s with peak memory under 1.5 GB.

Run from the repository's root: ``python -m benchmarks.bench_generate``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# run with cwd=ROOT: `python -c` puts the working folder first on the import path
PROBE = ("import resource, sys; import Generate_sequences as g; g.main(sys.argv[1:]);"
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def run(n: int, *flags: str) -> tuple[float, float]:
    """(seconds of the whole process, its peak resident memory in MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PROBE, "--num_seqs", str(n), *flags,
                              "--out_dir", os.path.join(tmp, "d"), "--quiet"],
                             check=True, capture_output=True, text=True, cwd=ROOT)
        return time.perf_counter() - start, int(out.stdout.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--simdna_seqs", type=int, default=10000, help="sequences for the slow engine")
    ap.add_argument("--numpy_seqs", type=int, default=200000, help="sequences for the fast engine")
    ap.add_argument("--big", type=int, default=1_000_000, help="sequences in the memory run (0 skips)")
    args = ap.parse_args()
    print(f"whole processes, imports included; simdna {args.simdna_seqs:,} vs numpy {args.numpy_seqs:,} "
          f"sequences (fewer in proportion at 1,000 bp)")
    print(f"{'gen_type':9} {'length':>6} {'simdna s':>9} {'seq/s':>8} {'numpy s':>8} {'seq/s':>9} {'ratio':>7}")
    for gen_type in ("presence", "distance"):
        for length in (200, 1000):
            scale = length // 200
            ns, nn = args.simdna_seqs // scale, args.numpy_seqs // scale
            flags = ("--gen_type", gen_type, "--seq_length", str(length), "--seed", "1")
            slow, _ = run(ns, *flags, "--engine", "simdna")
            fast, _ = run(nn, *flags)
            print(f"{gen_type:9} {length:>6} {slow:>9.1f} {ns / slow:>8,.0f} {fast:>8.1f} {nn / fast:>9,.0f} "
                  f"{(nn / fast) / (ns / slow):>6.0f}x", flush=True)
    if args.big:
        seconds, peak_mb = run(args.big)
        print(f"{args.big:,} sequences x 200 bp (numpy, presence, whole process): {seconds:.1f} s wall, "
              f"peak memory {peak_mb:,.0f} MB, {args.big / seconds:,.0f} seq/s")


if __name__ == "__main__":
    main()
