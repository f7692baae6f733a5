"""utils.io and utils.folders: --overwrite replaces only the suite's own folders; staged folders
swap atomically and never replace a folder another run wrote meanwhile; folders are read once."""
from __future__ import annotations

import os

import pytest

import Generate_sequences
from utils import cli, folders, io as dio, seqfiles


def run_generate(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        cli.run(Generate_sequences.main, argv)
    return exc.value.code, capsys.readouterr().err


def test_input_error_is_a_value_error():
    assert issubclass(dio.InputError, ValueError)


def test_overwrite_never_deletes_a_folder_of_datasets(tmp_path, capsys):
    parent = tmp_path / "data"
    for name in ("one", "two"):
        assert Generate_sequences.main(["--num_seqs", "20", "--out_dir", str(parent / name), "--quiet"]) == 0
    before = sorted(p.relative_to(parent) for p in parent.rglob("*"))
    code, err = run_generate(capsys, ["--num_seqs", "20", "--out_dir", str(parent), "--overwrite", "--quiet"])
    assert code == 2 and "not written by this suite (one, two)" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.relative_to(parent) for p in parent.rglob("*")) == before
    # the suite's own data folder is replaced
    code, err = run_generate(capsys, ["--num_seqs", "30", "--out_dir", str(parent / "one"), "--overwrite",
                                      "--quiet"])
    assert code == 0, err
    assert len((parent / "one" / "labels.tsv").read_text().splitlines()) == 31


@pytest.mark.parametrize("written,ok", [
    (["model.json", "model.keras", "metrics.json", "split.tsv"], True),                  # a model folder
    (["summary.json", "report.md", "attributions_ism.npz", "logos/"], True),            # a results folder
    (["summary.json", "report.md", "interpretation.csv", "attribution_mass.csv"], True),  # ... of a FASTA run
    (["model.json", "notes.txt"], False),                                                # a foreign file
    (["report.md"], False),                                                              # no marker
    (["summary.json", "cnn/"], False),                                                   # a folder inside
])
def test_overwrite_needs_the_suite_marker_and_nothing_else(tmp_path, written, ok):
    folder = tmp_path / "out"
    folder.mkdir()
    for name in written:
        (folder / name).mkdir() if name.endswith("/") else (folder / name).write_text("x")
    if ok:
        assert folders.check_out_dir(folder, overwrite=True) == folder
    else:
        with pytest.raises(dio.InputError, match="not written by this suite"):
            folders.check_out_dir(folder, overwrite=True)
    with pytest.raises(dio.InputError, match="already holds files"):
        folders.check_out_dir(folder, overwrite=False)


def test_overwrite_refuses_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "metadata.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(dio.InputError, match="current folder"):
        folders.check_out_dir(".", overwrite=True)


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    out = tmp_path / "res"
    out.mkdir()
    (out / "summary.json").write_text("old")
    real = os.replace
    calls = []

    def failing(src, dst):
        calls.append(dst)
        if len(calls) == 2:                 # the staged folder onto the target: fails
            raise OSError("disk gone")
        return real(src, dst)

    monkeypatch.setattr(dio.os, "replace", failing)
    with pytest.raises(OSError):
        with dio.staged_dir(out, overwrite=True) as tmp:
            (tmp / "summary.json").write_text("new")
    monkeypatch.setattr(dio.os, "replace", real)
    assert (out / "summary.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]      # no staging or .old left


def test_atomic_path_writes_whole_files(tmp_path):
    target = tmp_path / "a.txt"
    dio.write_text(target, "hello\n")
    assert target.read_text() == "hello\n" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    with pytest.raises(RuntimeError):
        with dio.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "hello\n" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_skops_allow_list_is_checked_against_installed_sklearn(monkeypatch):
    from utils import models

    models.check_skops_allow_list()          # the shipped list matches the installed version
    monkeypatch.setattr(models, "SKOPS_TRUSTED",
                        models.SKOPS_TRUSTED + ["sklearn.linear_model._moved_away.LogisticRegression"])
    with pytest.raises(dio.InputError, match="_moved_away.LogisticRegression, which scikit-learn"):
        models.check_skops_allow_list()


def test_requirements_floor_keras_at_a_safe_mode_fixed_version():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "requirements.txt").read_text()
    floor = re.search(r"^keras>=(\d+)\.(\d+)\.(\d+)", text, re.M)
    assert floor and tuple(map(int, floor.groups())) >= (3, 11, 3)


def test_a_full_disk_is_one_line_and_leaves_no_folder(tmp_path, monkeypatch):
    import errno

    out = tmp_path / "models" / "cnn"
    with pytest.raises(dio.InputError, match="No space left on device"):
        with dio.staged_dir(out):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []            # not even an empty models/


@pytest.mark.slow
def test_stale_staging_of_a_dead_process_is_removed(tmp_path, capsys):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".res.tmp-{dead}-abc"
    stale.mkdir()
    (stale / "sequences.fa").write_text(">x\nA\n")
    alive = tmp_path / f".res.tmp-{os.getppid()}-def"       # a live process's staging is left alone
    alive.mkdir()
    with dio.staged_dir(tmp_path / "res") as tmp:
        (tmp / "summary.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "res"]
    assert "left by an interrupted run" in capsys.readouterr().err


def test_unwritable_out_dir_is_refused_before_work(tmp_path):
    with pytest.raises(dio.InputError, match="cannot be written"):
        folders.check_out_dir("/proc/x", overwrite=False)


@pytest.mark.parametrize("text,needle", [
    ("[1, 2]", "holds a JSON list, not an object"),
    ('{"a": NaN}', "not valid JSON"),
    ("{", "not valid JSON"),
    ("\ufeff{\"a\": 1}", None),
])
def test_read_json_accepts_objects_only(tmp_path, text, needle):
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    if needle is None:
        assert dio.read_json(path) == {"a": 1}
    else:
        with pytest.raises(dio.InputError, match=needle):
            dio.read_json(path)


@pytest.mark.parametrize("bed,needle", [
    ("s\t-1\t4\tM\t0\t+\n", "0 <= start < end"),
    ("s\t5\t3\tM\t0\t+\n", "0 <= start < end"),
    ("s\t1\t4\tM\t0\tx\n", "strand"),
    ("s\t1\t40\tM\t0\t+\n", "past the"),
    ("t\t1\t4\tM\t0\t+\n", "lacks"),
])
def test_bad_sites_are_refused(tmp_path, bed, needle):
    (tmp_path / "sequences.fa").write_text(">s\nACGTACGTAC\n")
    (tmp_path / "labels.tsv").write_text("id\tlabel\ns\t1\n")
    (tmp_path / "motif_sites.bed").write_text(bed)
    with pytest.raises(dio.InputError, match=needle):
        folders.load_dataset(tmp_path)


def test_fasta_gzip_crlf_and_bom_read_alike(tmp_path):
    import gzip

    (tmp_path / "a.fa").write_bytes(b"\xef\xbb\xbf>s1 desc\r\nACGT\r\nAC\r\n>s2\r\nNNGTAC\r\n")
    (tmp_path / "b.fa.gz").write_bytes(gzip.compress(b">s1\nACGTAC\n>s2\nNNGTAC\n"))
    assert seqfiles.read_fasta(tmp_path / "a.fa") == seqfiles.read_fasta(tmp_path / "b.fa.gz") == \
        (["s1", "s2"], ["ACGTAC", "NNGTAC"])


def test_blank_and_duplicate_labels_are_named(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("id\tlabel\na\t\nb\t1\n")
    with pytest.raises(dio.InputError, match="found an empty label"):
        seqfiles.read_labels(path)
    path.write_text("id\tlabel\na\t0\na\t1\n")
    with pytest.raises(dio.InputError, match="more than one label"):
        seqfiles.read_labels(path)


# ----------------------------------------------------------------------------- two runs, one folder
def test_a_folder_written_during_the_run_is_kept_and_this_run_loses(tmp_path):
    out = tmp_path / "data" / "generated"
    with pytest.raises(dio.InputError) as exc:
        with dio.staged_dir(out) as tmp:
            (tmp / "labels.tsv").write_text("mine\n")
            out.mkdir(parents=True)                        # the other run's rename lands first
            (out / "labels.tsv").write_text("theirs\n")
    message = str(exc.value)
    assert message == (f"--out_dir {out} was written by another run while this one ran; its files are "
                       f"kept and this run's discarded: rerun with --overwrite or name another folder")
    assert (out / "labels.tsv").read_text() == "theirs\n" and [p.name for p in out.iterdir()] == ["labels.tsv"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["generated"]        # no staging left


def test_an_empty_folder_made_during_the_run_is_taken(tmp_path):
    out = tmp_path / "res"
    with dio.staged_dir(out) as tmp:
        (tmp / "summary.json").write_text("mine")
        out.mkdir()                                        # e.g. mkdir -p by hand: empty, so free
        (out / ".gitkeep").write_text("")                  # check_out_dir counts .gitkeep as empty
    assert (out / "summary.json").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_with_overwrite_a_folder_written_during_the_run_is_replaced(tmp_path):
    out = tmp_path / "res"
    with dio.staged_dir(out, overwrite=True) as tmp:
        (tmp / "summary.json").write_text("mine")
        out.mkdir()
        (out / "summary.json").write_text("theirs")
    assert (out / "summary.json").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]               # no .old left


RACER = """
import contextlib, pathlib, sys, time
from utils import cli, io as dio, simulate
import Generate_sequences

real = dio.staged_dir

@contextlib.contextmanager
def held(path, overwrite=False):          # the files are staged; wait for the go before the move
    with real(path, overwrite) as tmp:
        yield tmp
        pathlib.Path({ready!r}).touch()
        while not pathlib.Path({go!r}).exists():
            time.sleep(0.02)

simulate.staged_dir = held
sys.argv[0] = "Generate_sequences.py"
cli.run(Generate_sequences.main, sys.argv[1:])
"""


@pytest.mark.slow
def test_two_generate_runs_into_one_folder_the_later_one_fails(tmp_path):
    """Two real processes: run 1 stages its files and is held before its move; run 2 writes the
    folder meanwhile; released, run 1 exits 2 with one line and leaves run 2's files alone."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    out, ready, go = tmp_path / "gen", tmp_path / "ready", tmp_path / "go"
    script = RACER.format(ready=str(ready), go=str(go))
    flags = ["--num_seqs", "200", "--out_dir", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    first = subprocess.Popen([sys.executable, "-c", script, *flags, "--seed", "1"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), first.communicate()
        second = subprocess.run([sys.executable, str(Path(root) / "Generate_sequences.py"), *flags, "--seed", "2"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        theirs = {p.name: p.read_bytes() for p in out.iterdir()}
        go.touch()
        _, err = first.communicate(timeout=120)
    finally:
        first.kill() if first.poll() is None else None
    assert first.returncode == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [f"Generate_sequences.py: error: --out_dir {out} was written by another run while this one "
                                        f"ran; its files are kept and this run's discarded: rerun with "
                                        f"--overwrite or name another folder"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == theirs
    assert b'"seed": 2' in theirs["metadata.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen", "go", "ready"]    # no staging left


def test_the_data_checksum_is_sha256_of_the_four_files_in_order(tmp_path):
    """What model.json records: the bytes of sequences.fa, labels.tsv, motif_sites.bed and
    metadata.json, in that order, taken from the one read of each."""
    import hashlib

    assert Generate_sequences.main(["--num_seqs", "40", "--out_dir", str(tmp_path / "d"), "--quiet"]) == 0
    data = folders.load_dataset(tmp_path / "d")
    names = ["sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json"]
    want = hashlib.sha256(b"".join((tmp_path / "d" / n).read_bytes() for n in names)).hexdigest()
    assert data.checksum == want and data.files == tuple(names)
    (tmp_path / "d" / "motif_sites.bed").unlink()          # an absent file is left out
    want = hashlib.sha256(b"".join((tmp_path / "d" / n).read_bytes() for n in names if n != "motif_sites.bed"))
    assert folders.load_dataset(tmp_path / "d").checksum == want.hexdigest()


def test_the_data_folder_reader_reads_each_file_once(tmp_path, monkeypatch):
    assert Generate_sequences.main(["--num_seqs", "40", "--out_dir", str(tmp_path / "d"), "--quiet"]) == 0
    opened = []
    real = open

    def counting(path, *args, **kwargs):
        opened.append(os.path.basename(str(path)))
        return real(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting)
    folders.load_dataset(tmp_path / "d", need_sites=True)
    assert sorted(opened) == ["labels.tsv", "metadata.json", "motif_sites.bed", "sequences.fa"]


def test_the_model_folder_reader_reads_predictions_whole(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    dio.write_json(folder / "model.json", {"kind": "kmer_logistic"})
    dio.write_json(folder / "metrics.json", {"test": {"auroc": 0.75}})
    dio.write_tsv(folder / "predictions.tsv", ["id", "split", "label", "prob"],
                  [["a", "b", "c"], ["test", "val", "test"], [1, 0, 0], [0.9, 0.25, 0.125]])
    record = folders.read_model_folder(folder)
    assert record.meta == {"kind": "kmer_logistic"} and record.metrics["test"]["auroc"] == 0.75
    p = record.predictions
    assert p.ids == ["a", "b", "c"] and p.test_ids == ["a", "c"]
    assert p.labels.tolist() == [1.0, 0.0, 0.0] and p.probs.tolist() == [0.9, 0.25, 0.125]
    assert folders.read_model_folder(folder, predictions=False).predictions is None
    (folder / "predictions.tsv").write_text("id\tprob\na\thigh\n")
    with pytest.raises(dio.InputError, match="column prob holds 'high', which is not a number"):
        folders.read_model_folder(folder)
    with pytest.raises(dio.InputError, match="no valid model.json"):
        folders.read_model_folder(tmp_path)
