#!/usr/bin/env python3
"""How long `make demo` takes with the default CNN, against the earlier two-block CNN.

Runs the demo's commands as whole processes (imports included) in a temporary folder:
Generate_sequences.py, Train_models.py for cnn and kmer_logistic, Interpret_models.py
for both. Then trains and interprets the CNN again with ``--architecture basic`` (the
two-block CNN the demo used before the dilated tower) on the same data, and prints the
seconds of every step, the demo's total both ways and their ratio, with each verdict.
The two ways alternate for --repeats rounds, so that load on the machine falls on both.

Target (issue 9): the demo no slower than with the two-block CNN, within noise. Target (issue
23): `make demo`'s commands, after .venv exists, under 90 s (the default CNN's total; printed
with the machine's load). ``--demo_only`` skips the two-block comparison.

Run from the repository's root: ``python -m benchmarks.bench_demo``.
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


def run(args: list[str], cwd: Path) -> tuple[float, str]:
    """Seconds of one whole process, and its last line of output (the verdict, for Interpret)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return seconds, (lines[-1] if lines else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=1, help="rounds of the two ways, alternating")
    ap.add_argument("--demo_only", action="store_true",
                    help="only the demo as make demo runs it (the default CNN), no two-block comparison")
    args = ap.parse_args()
    archs = ("dilated",) if args.demo_only else ("dilated", "basic")
    start_load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    script = lambda name: str(ROOT / name)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        common = {}
        common["generate"], _ = run([script("Generate_sequences.py")], work)
        common["train kmer_logistic"], _ = run(
            [script("Train_models.py"), "--model_type", "kmer_logistic"], work)
        common["interpret kmer_logistic"], _ = run(
            [script("Interpret_models.py"), "--model", "models/kmer_logistic"], work)
        steps = {arch: [] for arch in archs}
        verdicts = {}
        for _ in range(args.repeats):
            for arch in archs:
                name = f"cnn_{arch}"
                train, _ = run([script("Train_models.py"), "--model_type", "cnn", "--architecture", arch,
                                "--model_name", name, "--overwrite"], work)
                interpret, verdicts[arch] = run(
                    [script("Interpret_models.py"), "--model", f"models/{name}", "--overwrite"], work)
                steps[arch].append((train, interpret))
    shared = sum(common.values())
    print("steps shared by both ways: " + ", ".join(f"{k} {v:.1f} s" for k, v in common.items()))
    totals = {}
    for arch, runs in steps.items():
        train = min(r[0] for r in runs)
        interpret = min(r[1] for r in runs)
        totals[arch] = shared + train + interpret
        print(f"cnn --architecture {arch:8}: train {train:6.1f} s, interpret {interpret:6.1f} s "
              f"(best of {len(runs)}); demo total {totals[arch]:6.1f} s")
        print(f"    {verdicts[arch]}")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"make demo's commands after .venv exists (the default CNN): {totals['dilated']:.1f} s; load "
          f"{start_load} -> {load} (target < 90 s: {'met' if totals['dilated'] < 90 else 'MISSED'})")
    if "basic" in totals:
        ratio = totals["dilated"] / totals["basic"]
        print(f"demo with the default (dilated) CNN / with the two-block CNN: {ratio:.2f}x "
              f"(target: no slower within noise, <= 1.10x: {'met' if ratio <= 1.10 else 'MISSED'})")


if __name__ == "__main__":
    main()
