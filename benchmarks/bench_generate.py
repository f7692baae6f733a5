#!/usr/bin/env python3
"""Generation speed: the numpy engine against the simdna reference, side by side in one run.

Prints sequences per second for each engine at 200 bp and 1,000 bp and their ratio, then
the wall time and peak memory of a 1,000,000-sequence run (a child process, so its peak
resident memory is its own). Targets: numpy >= 50x simdna; 1,000,000 x 200 bp in under
a minute with peak memory under 1.5 GB.
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
sys.path.insert(0, str(ROOT))

from utils import simulate  # noqa: E402


def rate(engine: str, n: int, length: int, gen_type: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        rule = simulate.resolve_rule(simulate.SimulationConfig(
            num_seqs=n, seq_length=length, gen_type=gen_type, engine=engine, seed=1))
        start = time.perf_counter()
        simulate.write_dataset(rule, Path(tmp) / "d")
        return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--simdna_seqs", type=int, default=3000, help="sequences for the slow engine")
    ap.add_argument("--numpy_seqs", type=int, default=200000, help="sequences for the fast engine")
    ap.add_argument("--big", type=int, default=1_000_000, help="sequences in the memory run (0 skips)")
    args = ap.parse_args()
    print(f"{'gen_type':9} {'length':>6} {'simdna seq/s':>13} {'numpy seq/s':>12} {'ratio':>7}")
    for gen_type in ("presence", "distance"):
        for length in (200, 1000):
            slow = rate("simdna", args.simdna_seqs, length, gen_type)
            fast = rate("numpy", args.numpy_seqs // (length // 200), length, gen_type)
            print(f"{gen_type:9} {length:>6} {slow:>13,.0f} {fast:>12,.0f} {fast / slow:>6.0f}x", flush=True)
    if args.big:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            # the child reports its own peak: a fork's pre-exec size would inflate RUSAGE_CHILDREN
            probe = ("import resource, sys; sys.argv = sys.argv[1:]; sys.path.insert(0, sys.argv[0]);"
                     "import Generate_sequences as g; g.main(sys.argv[1:]);"
                     "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
            out = subprocess.run([sys.executable, "-c", probe, str(ROOT), "--num_seqs", str(args.big),
                                  "--out_dir", os.path.join(tmp, "big"), "--quiet"],
                                 check=True, capture_output=True, text=True, cwd=ROOT)
            seconds = time.perf_counter() - start
            peak_mb = int(out.stdout.split()[-1]) / 1024
            print(f"{args.big:,} sequences x 200 bp (numpy, presence): {seconds:.1f} s wall, "
                  f"peak memory {peak_mb:,.0f} MB, {args.big / seconds:,.0f} seq/s")


if __name__ == "__main__":
    main()
