#!/usr/bin/env python3
"""How long the default sweep (`make benchmark`) takes: one-thread jobs side by side against two-thread jobs one at a time.

Runs the sweep of --configfile (default workflow/config.yaml) as one whole Snakemake process
(`python -m snakemake ... --cores 2`, the Makefile's command) into a temporary folder, two ways
(the new one first, so that other work on the machine early on falls on it):

- before: every train and interpret job with 2 threads (`--set-threads train=2 interpret=2`), so
  on 2 cores Snakemake runs one at a time: the sweep as it ran until 2026-12-03;
- after: the config as it is (`resources`: 1 thread per job, passed to each script's --threads),
  so two jobs run side by side.

Both ways use the config's ``train_flags`` (``--train_speed pipelined`` and the null rule). It
prints each way's wall time with the machine's load (`uptime`) before and after, the ratio
before / after as ``N.Nx``, the CNN epochs each way (null models apart), and whether the two
leaderboards give the same verdicts (``verdict``, ``agrees_with_capability`` and
``agrees_with_learning`` of every row: a different thread count may move TensorFlow's last bits,
so weights and auROCs may differ a little, verdicts should not). ``--ways after`` runs only
the new way and quotes the documented figures of earlier ways.

Target (issue 23): the default sweep under 10 minutes with the same verdicts (documented
before: 20 min 34 s for 3 rules x 3 models x 2 methods x 2 seeds; 17 min 50 s for today's larger
sweep with two-thread jobs).

Needs the workflow venv (`make workflow-venv`: Snakemake in .venv). Run from the repository's
root: ``python -m benchmarks.bench_sweep`` (two sweeps: about 30 min on 2 cores).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ARGS = ["--set-threads", "train=2", "interpret=2"]    # two-thread jobs: one at a time on 2 cores
DOCUMENTED = {"3 rules x 3 models x 2 methods x 2 seeds, plain training": 20 * 60 + 34,
              "today's sweep, two-thread jobs, before the training speed-ups": 18 * 60 + 9,
              "today's sweep, two-thread jobs (pipelined training, null rule)": 17 * 60 + 50,
              "today's sweep, two-thread jobs, measured beside one-thread jobs on 2026-12-03": 22 * 60 + 8}
# s: docs/benchmarks.md


def load() -> str:
    """The 1-, 5- and 15-minute load averages, as `uptime` prints them."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def sweep(configfile: Path, out: Path, cores: int, extra: list[str]) -> float:
    """Seconds of one whole `snakemake` process of the sweep into ``out``."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "workflow" / "Snakefile"), "--configfile",
           str(configfile), "--cores", str(cores), "--rerun-incomplete", "--quiet", "rules",
           "--directory", str(out), "--config", f"python={sys.executable}", f"out_dir={out / 'benchmark'}"]
    cmd += extra
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"the sweep failed:\n{done.stderr[-3000:]}")
    return seconds


def verdicts(out: Path) -> list[tuple]:
    with open(out / "benchmark" / "leaderboard.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return sorted((r["rule"], r["model"], r["method"], r["seed"], r["verdict"],
                   r.get("agrees_with_capability", ""), r.get("agrees_with_learning", ""))
                  for r in rows)


def epochs(out: Path) -> dict:
    """CNN epochs run, summed over the trained and the null CNNs, and the stop reasons."""
    total = {"trained": 0, "null": 0}
    reasons: dict[str, int] = {}
    for meta_file in sorted((out / "benchmark" / "models").glob("*/s*/*/model.json")):
        meta = json.loads(meta_file.read_text())
        if meta.get("kind") != "cnn":
            continue
        metrics = json.loads((meta_file.parent / "metrics.json").read_text())
        total["null" if meta_file.parent.name.endswith("_null") else "trained"] += metrics.get("epochs_run", 0)
        reason = (meta.get("stop") or {}).get("reason", "not recorded")
        reasons[reason] = reasons.get(reason, 0) + 1
    return {"epochs": total, "stop_reasons": reasons}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configfile", type=Path, default=ROOT / "workflow" / "config.yaml")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--ways", choices=("both", "after"), default="both",
                    help="both: after, then before; after: only the new way, against the documented figures")
    ap.add_argument("--keep", type=Path, default=None, help="keep the sweeps' folders under this folder")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        # after first: whatever else loads the machine early (the first minutes) falls on the new way
        ways = [("after", [])] + ([("before", BEFORE_ARGS)] if args.ways == "both" else [])
        seconds, found = {}, {}
        for name, extra in ways:
            out = base / name
            out.mkdir(parents=True, exist_ok=True)
            start_load = load()
            seconds[name] = sweep(args.configfile, out, args.cores, extra)
            found[name] = (verdicts(out), epochs(out))
            print(f"{name:6} ({' '.join(extra) if extra else 'the config as it is'}): "
                  f"{minutes(seconds[name])}; load {start_load} -> {load()}; CNN epochs {found[name][1]['epochs']}, "
                  f"stops {found[name][1]['stop_reasons']}", flush=True)
    if "before" in seconds:
        same = found["before"][0] == found["after"][0]
        ratio = seconds["before"] / seconds["after"]
        print(f"before / after: {ratio:.1f}x; the same verdicts in all {len(found['after'][0])} leaderboard rows: "
              f"{'yes' if same else 'NO'}")
        if not same:
            for a, b in zip(found["before"][0], found["after"][0]):
                if a != b:
                    print(f"    before {a}\n    after  {b}")
    for label, before in DOCUMENTED.items():
        print(f"documented ({label}): {minutes(before)}; documented / after: {before / seconds['after']:.1f}x")
    print(f"target: the default sweep under 10 min: {'met' if seconds['after'] < 600 else 'MISSED'} "
          f"({minutes(seconds['after'])})")


if __name__ == "__main__":
    main()
