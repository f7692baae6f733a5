"""--threads: the cap reaches TensorFlow's op pools, the BLAS pools and the generator's workers."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import Generate_sequences
import Interpret_models
import Train_models
from utils import cores
from utils.io import InputError

ROOT = Path(__file__).resolve().parents[1]


def in_a_fresh_process(threads: int, report: str) -> str:
    """Cap the threads, import Keras, and print ``report`` (a Python expression) in a new interpreter."""
    code = ("from utils import cores, models\n"
            f"cores.limit({threads})\n"
            "models.import_keras()\n"
            "import tensorflow as tf\n"
            "from threadpoolctl import threadpool_info\n"
            f"print({report})\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.split("\n")[0]


def test_limit_caps_tensorflow_and_blas_in_a_fresh_process():
    report = ("tf.config.threading.get_intra_op_parallelism_threads(), "
              "tf.config.threading.get_inter_op_parallelism_threads(), "
              "sorted({p['num_threads'] for p in threadpool_info()}), cores.count()")
    assert in_a_fresh_process(1, report) == "1 1 [1] 1"


def test_no_cap_leaves_the_defaults():
    report = "tf.config.threading.get_intra_op_parallelism_threads(), cores.count() == cores.available()"
    assert in_a_fresh_process(0, report) == "0 True"


@pytest.mark.parametrize("script, argv", [
    (Generate_sequences, ["--num_seqs", "0"]),
    (Train_models, ["--data_file", "/nonexistent/data"]),
    (Interpret_models, ["--model", "/nonexistent/model"]),
])
def test_each_script_applies_its_flag_before_it_works(monkeypatch, tmp_path, script, argv):
    seen = []
    monkeypatch.setattr(cores, "limit", seen.append)
    with pytest.raises((InputError, SystemExit)):
        script.main(argv + ["--threads", "3", "--out_dir", str(tmp_path / "out")])
    assert seen == [3]


def test_the_generator_writes_the_same_bytes_on_any_number_of_threads(tmp_path, monkeypatch):
    """Three chunks of 800 sequences (5,000 bp), drawn by one worker or by two: byte-identical files.
    (The caps are undone after, so the other tests of this process run on the defaults.)"""
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cores, "_limit", 0)
    monkeypatch.setattr(cores, "configure_tensorflow", lambda tf: None)
    try:
        for threads in ("1", "2"):
            assert Generate_sequences.main(["--seq_length", "5000", "--num_seqs", "1700", "--seed", "5", "--quiet",
                                            "--threads", threads, "--out_dir", str(tmp_path / threads)]) == 0
            assert cores.count() == int(threads)
    finally:
        if cores._pools is not None:
            cores._pools.restore_original_limits()
        monkeypatch.setattr(cores, "_pools", None)
    for name in ("sequences.fa", "labels.tsv", "motif_sites.bed"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()
