#!/usr/bin/env python3
"""make test-slurm: the tiny sweep through a real one-node SLURM cluster, against a local run.

Runs workflow/config.tiny.yaml twice into a temporary folder: locally (``--cores 2``) and
through ``--executor slurm --profile workflow/profiles/slurm`` on a cluster of this machine
alone, then compares the two leaderboard.csv column by column (timings aside) and prints one
line. Exit code 0 when they are equal, 1 when they differ (the differences follow), 2 on bad
input (one line). The cluster:

- Debian's munge, slurm-client, slurmctld and slurmd are installed with apt-get when a command
  is missing (root only); the packages' own services are kept from starting (policy-rc.d).
- munged, slurmctld and slurmd run in the foreground as this script's children, with a key,
  socket, state, spool and logs of their own in the temporary folder, on two free ports.
- slurm.conf: one node with this machine's CPUs and memory (``slurmd -C``), select/cons_tres
  on cores and memory, proctrack/linuxproc and task/affinity (no cgroups), no accounting
  (accounting_storage/none, no slurmdbd). It is written to /etc/slurm/slurm.conf, where every
  SLURM command looks, because the plugin's job step removes SLURM_CONF from the environment
  of the srun it starts; an existing slurm.conf is never replaced.
- snakemake-executor-plugin-slurm asks ``sacct`` for job states by default, which needs
  slurmdbd; without accounting it is told to ask ``squeue`` (``--slurm-status-command squeue``),
  which sees finished jobs for MinJobAge (600 s here). It validates an account with sacctmgr
  or sshare (both empty without accounting, so it proceeds) and needs a partition: the
  profile's placeholders are replaced with ``--default-resources slurm_partition=<ours>``.
- Whatever happens (a failure, Ctrl-C, SIGTERM), the jobs are cancelled, the three daemons
  stopped and slurm.conf removed before the script ends.

Run from the repository's root with the repository on PYTHONPATH (the Makefile does):
``PYTHONPATH=. .venv/bin/python workflow/scripts/slurm_cluster.py [--work_dir DIR] [--keep]``.
"""
from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from utils import cli
from utils.io import InputError

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
TINY_CONFIG = ROOT / "workflow" / "config.tiny.yaml"
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARK = "# written by workflow/scripts/slurm_cluster.py (make test-slurm), removed when it stops"
PARTITION = "suite"
# the command each Debian package provides (a missing command -> its package is installed)
PACKAGES = {"munged": "munge", "sbatch": "slurm-client", "squeue": "slurm-client", "sinfo": "slurm-client",
            "scancel": "slurm-client", "slurmctld": "slurmctld", "slurmd": "slurmd"}
KEY_COLUMNS = ("rule", "model", "method", "seed")       # one leaderboard row per run x method
TIMING_COLUMNS = ("seconds_per_seq",)                   # the only column allowed to differ
MIN_JOB_AGE = 600                                       # s a finished job stays visible to squeue


# ----------------------------------------------------------------------------- leaderboards
def read_leaderboard(path: Path) -> tuple[list[str], dict[tuple[str, ...], dict[str, str]]]:
    """leaderboard.csv -> (its columns, {(rule, model, method, seed): row})."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        rows = {tuple(row[k] for k in KEY_COLUMNS): row for row in reader}
        return list(reader.fieldnames or []), rows


def compare_leaderboards(local: Path, cluster: Path) -> tuple[int, int, list[str]]:
    """Every cell of two leaderboards, timing columns aside -> (rows, columns compared, differences).

    Cells are compared as the text written (the same code and seeds give the same digits);
    a difference names the row and column with both values.
    """
    cols_a, rows_a = read_leaderboard(local)
    cols_b, rows_b = read_leaderboard(cluster)
    diffs = []
    if cols_a != cols_b:
        diffs.append(f"columns differ: local {cols_a}, slurm {cols_b}")
    for key in sorted(set(rows_a) ^ set(rows_b)):
        diffs.append(f"row {'/'.join(key)} only in the {'local' if key in rows_a else 'slurm'} leaderboard")
    compared = [c for c in cols_a if c in cols_b and c not in TIMING_COLUMNS]
    for key in sorted(set(rows_a) & set(rows_b)):
        for col in compared:
            if rows_a[key][col] != rows_b[key][col]:
                diffs.append(f"{'/'.join(key)} {col}: local {rows_a[key][col]!r}, slurm {rows_b[key][col]!r}")
    return len(set(rows_a) & set(rows_b)), len(compared), diffs


# ----------------------------------------------------------------------------- the cluster
def missing_packages() -> list[str]:
    """The Debian packages whose commands are not on PATH, in install order."""
    return sorted({pkg for cmd, pkg in PACKAGES.items() if shutil.which(cmd) is None})


def install_packages(packages: list[str]) -> None:
    """apt-get install the packages without starting their system services."""
    if os.geteuid() != 0:
        raise InputError(f"SLURM is not installed ({', '.join(packages)} missing) and installing it needs root: "
                         f"run as root, or apt-get install {' '.join(packages)} first")
    if shutil.which("apt-get") is None:
        raise InputError(f"{', '.join(packages)} missing and no apt-get on this machine: install munge and "
                         "SLURM (slurmctld, slurmd, client commands) with its package manager first")
    guard = Path("/usr/sbin/policy-rc.d")
    ours = not guard.exists()
    if ours:          # the check starts its own daemons; the packages' services stay down
        guard.write_text("#!/bin/sh\n# written by workflow/scripts/slurm_cluster.py during apt-get install\nexit 101\n")
        guard.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    try:
        print(f"installing {' '.join(packages)} (apt-get)", flush=True)
        if subprocess.run(install, env=env, capture_output=True, text=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
            proc = subprocess.run(install, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                raise InputError(f"apt-get install {' '.join(packages)} failed ({last}): install them by hand")
    finally:
        if ours:
            guard.unlink()


def check_no_foreign_conf() -> None:
    """A slurm.conf this script did not write belongs to a SLURM of the machine: never touch it."""
    if SLURM_CONF.exists() and MARK not in SLURM_CONF.read_text(errors="replace"):
        raise InputError(f"{SLURM_CONF} exists (a SLURM set up on this machine): this check runs a cluster of "
                         "its own and will not replace it; run it on a machine without a SLURM configuration")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_config() -> str:
    """This machine as a slurm.conf node line: ``slurmd -C`` (CPUs, sockets, cores, memory)."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("NodeName=")), None)
    if line is None:
        raise InputError(f"slurmd -C printed no node line ({out.strip()[:200]!r}): check the SLURM install")
    return line


def slurm_conf(state: Path, node: str, ctld_port: int, slurmd_port: int) -> str:
    """A one-node cluster: no cgroups, no accounting, everything under ``state``."""
    name = node.split()[0].split("=", 1)[1]
    return "\n".join([
        MARK,
        f"# state, logs and the munge socket: {state}",
        "ClusterName=suite",
        f"SlurmctldHost={name}(127.0.0.1)",
        "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", "CredType=cred/munge",
        f"AuthInfo=socket={state / 'run' / 'munge.socket'}",
        f"SlurmctldPort={ctld_port}", f"SlurmdPort={slurmd_port}",
        f"StateSaveLocation={state / 'ctld'}", f"SlurmdSpoolDir={state / 'spool'}",
        f"SlurmctldPidFile={state / 'run' / 'slurmctld.pid'}", f"SlurmdPidFile={state / 'run' / 'slurmd.pid'}",
        f"SlurmctldLogFile={state / 'log' / 'slurmctld.log'}", f"SlurmdLogFile={state / 'log' / 'slurmd.log'}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/affinity",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory", "DefMemPerCPU=1000",
        "SchedulerType=sched/backfill", "MpiDefault=none", "ReturnToService=2",
        "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none", f"MinJobAge={MIN_JOB_AGE}",
        f"{node} NodeAddr=127.0.0.1 State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={name} Default=YES MaxTime=INFINITE State=UP",
        ""])


class CheckFailed(RuntimeError):
    """A daemon that did not come up or a sweep that did not finish: the check fails (exit code 1),
    the log to read named."""


class OneNodeCluster:
    """munged, slurmctld and slurmd of this machine, as children of this process.

    ``start`` brings them up and waits until the node is idle; ``stop`` (always called, also
    after a failure) cancels every job, stops the three daemons by their process ids and
    removes the slurm.conf it wrote.
    """

    def __init__(self, state: Path):
        self.state = state
        self.daemons: list[tuple[str, subprocess.Popen]] = []
        self.wrote_conf = False
        self.version = ""

    def log_tail(self, name: str, lines: int = 3) -> str:
        path = self.state / "log" / f"{name}.log"
        text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
        return " | ".join(text[-lines:]) or "no log"

    def _spawn(self, name: str, argv: list[str]) -> None:
        out = open(self.state / "log" / f"{name}.out", "w")
        self.daemons.append((name, subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL)))
        out.close()

    def start(self) -> None:
        check_no_foreign_conf()
        for sub in ("run", "log", "ctld", "spool"):
            (self.state / sub).mkdir(parents=True, exist_ok=True)
        # munged wants every folder above its socket searchable by all: the work folder's own
        # are made so, one above it that is not is named (never changed)
        run = self.state / "run"
        for path in (run, self.state, self.state.parent):
            path.chmod(path.stat().st_mode | 0o755)
        closed = [p for p in self.state.parent.parents if p.stat().st_mode & 0o001 == 0]
        if closed:
            raise CheckFailed(f"munged needs every folder above its socket searchable by all, and {closed[0]} is "
                              "not: give a --work_dir under /tmp")
        keydir = self.state / "munge"
        keydir.mkdir(mode=0o700, exist_ok=True)
        key = keydir / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self._spawn("munged", ["munged", "-F", f"--socket={run / 'munge.socket'}", f"--key-file={key}",
                               f"--pid-file={run / 'munged.pid'}", f"--seed-file={keydir / 'munged.seed'}",
                               f"--log-file={self.state / 'log' / 'munged.log'}"])
        self._wait(lambda: (run / "munge.socket").exists(), 20, "munged")
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SLURM_CONF.write_text(slurm_conf(self.state, node_config(), free_port(), free_port()))
        self.wrote_conf = True
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(SLURM_CONF)])
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(SLURM_CONF)])
        self._wait(lambda: self._node_state() == "idle", 60, "slurmctld/slurmd")
        self.version = subprocess.run(["sinfo", "--version"], capture_output=True, text=True).stdout.split()[-1]

    @staticmethod
    def _node_state() -> str:
        proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=slurm_env())
        return proc.stdout.strip()

    def _wait(self, ready, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for name, proc in self.daemons:
                if proc.poll() is not None:
                    raise CheckFailed(f"{name} exited with code {proc.returncode} ({self.log_tail(name)}); "
                                     f"its logs are in {self.state / 'log'}")
            if ready():
                return
            time.sleep(0.5)
        raise CheckFailed(f"{what} not ready after {seconds:.0f} s ({self.log_tail('slurmctld')} / "
                         f"{self.log_tail('slurmd')}); logs in {self.state / 'log'}")

    def stop(self) -> None:
        if any(name == "slurmctld" and proc.poll() is None for name, proc in self.daemons):
            env = slurm_env()
            jobs = subprocess.run(["squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S"], capture_output=True,
                                  text=True, env=env).stdout.split()
            if jobs:
                subprocess.run(["scancel", *jobs], capture_output=True, env=env)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and subprocess.run(
                        ["squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S"], capture_output=True, text=True,
                        env=env).stdout.split():
                    time.sleep(1)
        for name, proc in reversed(self.daemons):         # slurmd, slurmctld, then munged
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.daemons = []
        if self.wrote_conf and SLURM_CONF.exists() and MARK in SLURM_CONF.read_text(errors="replace"):
            SLURM_CONF.unlink()
        self.wrote_conf = False


def slurm_env() -> dict[str, str]:
    """The environment of SLURM commands and of the sweep: /etc/slurm/slurm.conf, whatever the caller had."""
    return {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}


# ----------------------------------------------------------------------------- the sweeps
def run_sweep(folder: Path, executor: list[str]) -> float:
    """The tiny sweep into ``folder``/bench with the given executor flags -> wall seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {**yaml.safe_load(TINY_CONFIG.read_text()), "out_dir": "bench", "python": sys.executable}
    (folder / "tiny.yaml").write_text(yaml.safe_dump(config))
    log = folder / "snakemake.log"
    start = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", "tiny.yaml",
                               *executor], cwd=folder, stdout=fh, stderr=subprocess.STDOUT, env=slurm_env())
    if proc.returncode != 0:
        raise CheckFailed(f"the sweep in {folder} failed (snakemake exit code {proc.returncode}): see {log}")
    return time.monotonic() - start


def thread_flags(cpus_per_job: int) -> list[str]:
    """``--set-threads`` for each step of the three scripts (each job's --threads, and the CPUs SLURM
    gives it), or nothing for 0: the config's own ``resources`` threads. Both runs get the same."""
    steps = ("generate", "train", "interpret")       # the steps config.yaml's `resources` sizes
    return ["--set-threads", *(f"{step}={cpus_per_job}" for step in steps)] if cpus_per_job else []


def slurm_flags(cpus_per_job: int) -> list[str]:
    """The repository's profile, with this cluster's partition, the squeue status query, and
    :func:`thread_flags` (SLURM binds a job to the CPUs it was given)."""
    return ["--executor", "slurm", "--profile", str(PROFILE),
            "--default-resources", f"slurm_partition={PARTITION}",
            "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "5",
            *thread_flags(cpus_per_job)]


def tiny_threads() -> int:
    """The threads the tiny config gives a train job (what each job runs on when --cpus_per_job is 0)."""
    import yaml

    config = yaml.safe_load(TINY_CONFIG.read_text())
    return int(((config.get("resources") or {}).get("train") or {}).get("threads", 1))


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    ap = cli.make_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--work_dir", metavar="DIR", default=None,
                    help="folder of the two sweeps and the cluster's state and logs (default: a new temporary "
                         "folder, removed after a match)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder after a match too")
    ap.add_argument("--cpus_per_job", type=int, default=0, metavar="INT",
                    help="CPUs (and --threads) of each generate, train and interpret job, in both runs (default "
                         "0: the tiny config's own, one each; TensorFlow's thread count moves the last digits of an "
                         "untrained CNN's ISM scores, so both runs always get the same)")
    args = ap.parse_args(argv)
    cpus = args.cpus_per_job or tiny_threads()
    if not 1 <= cpus <= (os.cpu_count() or 1):
        raise InputError(f"--cpus_per_job {args.cpus_per_job} is outside 1..{os.cpu_count()} (this machine's CPUs): "
                         "give a count the one node has, or 0 for all")
    if args.work_dir and Path(args.work_dir).exists() and any(Path(args.work_dir).iterdir()):
        raise InputError(f"--work_dir {args.work_dir} is not empty: name a new or empty folder")
    check_no_foreign_conf()            # before any work
    missing = missing_packages()
    if missing:
        install_packages(missing)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="slurm-check-"))
    work.mkdir(parents=True, exist_ok=True)

    cluster = OneNodeCluster(work / "cluster")
    # SIGTERM and SIGHUP end the run as Ctrl-C does, through the same cleanup
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        print(f"local run of {TINY_CONFIG.relative_to(ROOT)} (--cores 2) in {work / 'local'}", flush=True)
        local_s = run_sweep(work / "local", ["--cores", "2", *thread_flags(args.cpus_per_job)])
        try:
            cluster.start()
            print(f"SLURM {cluster.version}: one node idle; the same sweep through --executor slurm in "
                  f"{work / 'slurm'}", flush=True)
            slurm_s = run_sweep(work / "slurm", slurm_flags(args.cpus_per_job))
            submitted = (work / "slurm" / "snakemake.log").read_text().count("has been submitted with SLURM jobid")
        finally:
            cluster.stop()
    except CheckFailed as exc:
        print(f"test-slurm: FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        print(f"test-slurm: interrupted; jobs cancelled, daemons stopped, slurm.conf removed; files in {work}")
        return 130
    rows, cols, diffs = compare_leaderboards(work / "local" / "bench" / "leaderboard.csv",
                                             work / "slurm" / "bench" / "leaderboard.csv")
    each = f"{cpus} CPU{'s' if cpus > 1 else ''} each"
    where = f"SLURM {cluster.version}, {submitted} jobs through sbatch ({each}) in {slurm_s:.0f} s, local {local_s:.0f} s"
    if diffs or rows == 0:
        print(f"test-slurm: MISMATCH: {len(diffs)} differences between the SLURM and the local leaderboard "
              f"({where}); files in {work}")
        for line in diffs:
            print(f"  {line}")
        return 1
    print(f"test-slurm: leaderboards equal: {rows} rows x {cols} columns ({', '.join(TIMING_COLUMNS)} aside); "
          f"{where}")
    if not (args.keep or args.work_dir):
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    cli.run(main)
