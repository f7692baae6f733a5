"""The Snakemake benchmark workflow: planned jobs, a tiny sweep end to end, caching and resumption."""
from __future__ import annotations

import csv
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow          # every test here starts a subprocess

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE)]


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake run or dry run -> {job: count}."""
    table = output.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def expected_jobs(config: dict) -> dict[str, int]:
    """Class rules cross the models, activity rules the activity models; a null model runs on
    each rule whose model set holds it."""
    seeds, nulls = len(config["seeds"]), config.get("null_models") or []
    groups = [(config["rules"], config["models"]), (config.get("activity_rules") or {},
                                                    config.get("activity_models") or {})]
    sims = sum(len(r) for r, _ in groups)
    shuffles = sum(len(r) for r, m in groups if any(n in m for n in nulls))
    runs = sum(len(r) * (len(m) + sum(1 for n in nulls if n in m)) for r, m in groups)
    return {"generate": sims * seeds, "shuffle_labels": shuffles * seeds, "train": runs * seeds,
            "interpret": runs * seeds, "aggregate": 1, "all": 1}


@pytest.mark.parametrize("name", ["config.yaml", "config.full.yaml", "config.tiny.yaml"])
def test_dry_run_plans_every_job(name, tmp_path):
    path = ROOT / "workflow" / name
    config = yaml.safe_load(path.read_text())
    proc = subprocess.run(SNAKEMAKE + ["--configfile", str(path), "--config", f"out_dir={tmp_path / 'b'}",
                                       "-n", "--cores", "2"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = job_counts(proc.stdout + proc.stderr)
    want = expected_jobs(config)
    assert {k: v for k, v in counts.items() if k != "total"} == {k: v for k, v in want.items() if v}
    assert counts["total"] == sum(want.values())


# golden rows of the tiny sweep (seed 1), computed from the code as it stood on 2026-12-08 (the
# CNN's dropout 0.3 and Adam at 0.002; to 1e-3: an untrained CNN's ISM
# ties break on TensorFlow's last bits, which differ between CPUs): test auROC,
# localization auROC and auPRC of ISM, the verdict and the verdict the model kind is expected to
# reach. 300 sequences and one CNN epoch learn nothing, and the leaderboard says so.
TINY_GOLDEN = {
    ("order", "cnn"): (0.43388429752066116, 0.5815, 0.5005468387628061, "not recovered",
                       "recovered"),
    ("order", "kmer_logistic"): (0.5557851239669421, 0.3842916666666667, 0.3446289332215039, "not recovered",
                                 "not recovered"),
    ("presence", "cnn"): (0.5433884297520661, 0.4629294755877035, 0.20646980394342457, "not recovered",
                          "recovered"),
    ("presence", "kmer_logistic"): (0.8264462809917356, 0.6942736588306209, 0.5413004805786705, "recovered",
                                    "recovered"),
}


def test_tiny_sweep_end_to_end_cached_and_resumed(tmp_path):
    # workflow/config.tiny.yaml: the same sweep `make test-slurm` runs through SLURM
    config = {**yaml.safe_load((ROOT / "workflow" / "config.tiny.yaml").read_text()),
              "out_dir": "bench", "python": sys.executable}
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(config))
    run = SNAKEMAKE + ["--configfile", str(cfg), "--cores", "2"]
    proc = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "bench" / "leaderboard.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    from utils.leaderboard import COLUMNS

    assert list(rows[0]) == COLUMNS
    assert sorted((r["rule"], r["model"], r["method"], r["seed"]) for r in rows) == sorted(
        (rule, model, "ism", "1") for rule in ("presence", "order") for model in ("cnn", "kmer_logistic"))
    for r in rows:
        rule, model = r["rule"], r["model"]
        auroc, loc_auroc, loc_auprc, verdict, expected = TINY_GOLDEN[rule, model]
        assert (float(r["test_auroc"]), float(r["localization_auroc"]), float(r["localization_auprc"])) == \
            pytest.approx((auroc, loc_auroc, loc_auprc), abs=1e-3), (rule, model)   # CPUs differ in last bits
        assert (r["verdict"], r["expected_verdict"]) == (verdict, expected), (rule, model)
        assert r["agrees_with_capability"] == str(verdict == expected)
        assert math.isfinite(float(r["seconds_per_seq"])) and float(r["seconds_per_seq"]) > 0   # timings vary
        assert r["null"] == "False"
    assert (tmp_path / "bench" / "summary.md").read_text().startswith("# Benchmark summary")
    # a second run has nothing to do
    again = subprocess.run(run + ["-n"], capture_output=True, text=True, cwd=tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    # deleting one model folder re-runs only what depends on it
    shutil.rmtree(tmp_path / "bench" / "models" / "order" / "s1" / "kmer_logistic")
    plan = subprocess.run(run + ["-n"], capture_output=True, text=True, cwd=tmp_path)
    assert job_counts(plan.stdout + plan.stderr) == {"train": 1, "interpret": 1, "aggregate": 1, "all": 1,
                                                     "total": 4}


@pytest.mark.parametrize("extra, want", [([], "1"), (["--set-threads", "train=2", "interpret=2"], "2")])
def test_each_job_runs_on_the_threads_it_was_given(tmp_path, extra, want):
    """The config's resources (one thread per job) reach every script's --threads, so two jobs share
    2 cores side by side; on a cluster the same number is the job's --cpus-per-task."""
    path = ROOT / "workflow" / "config.yaml"
    proc = subprocess.run(SNAKEMAKE + ["--configfile", str(path), "--config", f"out_dir={tmp_path / 'b'}",
                                       "-n", "-p", "--cores", "2"] + extra, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if ".py " in line]
    for script, threads in (("Generate_sequences.py", "1"), ("Train_models.py", want), ("Interpret_models.py", want)):
        mine = [line for line in lines if script in line]
        assert mine and all(line.rstrip().endswith(f"--threads {threads}") for line in mine), (script, mine[:2])
