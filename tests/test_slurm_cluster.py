"""make test-slurm's pieces that need no cluster: the leaderboard comparison, slurm.conf, the
executor flags and the refusals (the run itself is `make test-slurm`, not part of `make test`)."""
from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import yaml

from utils.leaderboard import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "workflow" / "scripts" / "slurm_cluster.py"
_spec = importlib.util.spec_from_file_location("slurm_cluster", SCRIPT)
slurm_cluster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(slurm_cluster)

NODE = "NodeName=n1 CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"


def write_board(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def board_rows() -> list[dict]:
    rows = []
    for rule, model, auroc in (("presence", "cnn", "0.4566115702479339"), ("order", "kmer_logistic", "0.58")):
        row = {c: "" for c in COLUMNS}
        row.update(rule=rule, gen_type=rule, model=model, model_kind=model, null="False", method="ism", seed="1",
                   test_auroc=auroc, verdict="not recovered", seconds_per_seq="0.0204")
        rows.append(row)
    return rows


def test_leaderboards_equal_but_for_timings(tmp_path):
    local = write_board(tmp_path / "a.csv", board_rows())
    other = board_rows()
    other[0]["seconds_per_seq"] = "0.0047"                 # timings differ between any two runs
    assert slurm_cluster.compare_leaderboards(local, write_board(tmp_path / "b.csv", other)) == \
        (2, len(COLUMNS) - 1, [])


def test_leaderboards_differing_cells_and_rows_are_named(tmp_path):
    local = write_board(tmp_path / "a.csv", board_rows())
    other = board_rows()
    other[0]["test_auroc"] = "0.4566115702479340"           # the last digit counts
    other[1]["verdict"] = "recovered"
    assert slurm_cluster.compare_leaderboards(local, write_board(tmp_path / "b.csv", other))[2] == [
        "order/kmer_logistic/ism/1 verdict: local 'not recovered', slurm 'recovered'",
        "presence/cnn/ism/1 test_auroc: local '0.4566115702479339', slurm '0.4566115702479340'"]
    rows, _, diffs = slurm_cluster.compare_leaderboards(local, write_board(tmp_path / "c.csv", board_rows()[:1]))
    assert (rows, diffs) == (1, ["row order/kmer_logistic/ism/1 only in the local leaderboard"])


def test_slurm_conf_one_node_no_cgroups_no_accounting(tmp_path):
    lines = slurm_cluster.slurm_conf(tmp_path, NODE, 7001, 7002).splitlines()
    assert lines[0] == slurm_cluster.MARK                   # what stop() and the next run recognise as theirs
    for line in ("SlurmctldHost=n1(127.0.0.1)", "SlurmctldPort=7001", "SlurmdPort=7002",
                 f"AuthInfo=socket={tmp_path / 'run' / 'munge.socket'}",
                 "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/affinity", "SelectType=select/cons_tres",
                 "SelectTypeParameters=CR_Core_Memory", "AccountingStorageType=accounting_storage/none",
                 f"{NODE} NodeAddr=127.0.0.1 State=UNKNOWN",
                 "PartitionName=suite Nodes=n1 Default=YES MaxTime=INFINITE State=UP", "MinJobAge=600"):
        assert line in lines, line
    assert not [ln for ln in lines if "cgroup" in ln]
    # the plugin trusts squeue only while a finished job stays listed 3 status-check intervals
    interval = int(slurm_cluster.slurm_flags(2)[slurm_cluster.slurm_flags(2).index(
        "--slurm-init-seconds-before-status-checks") + 1])
    assert slurm_cluster.MIN_JOB_AGE >= 3 * 40 >= 3 * interval


def test_slurm_flags_use_the_repository_profile():
    flags = slurm_cluster.slurm_flags(2)
    assert flags[:4] == ["--executor", "slurm", "--profile", str(ROOT / "workflow" / "profiles" / "slurm")]
    assert flags[flags.index("--set-threads") + 1:] == ["generate=2", "train=2", "interpret=2"]
    assert "--set-threads" not in slurm_cluster.slurm_flags(0)         # the config's own threads, as locally
    assert slurm_cluster.thread_flags(0) == [] and slurm_cluster.tiny_threads() == 1
    assert flags[flags.index("--default-resources") + 1] == "slurm_partition=suite"
    profile = yaml.safe_load((ROOT / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"


def test_refusals_are_one_line(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    for args, needle in ((["--cpus_per_job", "999"], "--cpus_per_job 999 is outside 1.."),
                         (["--work_dir", str(tmp_path / "full")], "is not empty")):
        proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr
        assert proc.stdout == ""
    assert [p.name for p in tmp_path.iterdir()] == ["full"]
