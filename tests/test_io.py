"""utils.io: --overwrite replaces only the suite's own folders; staged folders swap atomically."""
from __future__ import annotations

import os

import pytest

import Generate_sequences
from utils import cli, io as dio


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
        assert dio.check_out_dir(folder, overwrite=True) == folder
    else:
        with pytest.raises(dio.InputError, match="not written by this suite"):
            dio.check_out_dir(folder, overwrite=True)
    with pytest.raises(dio.InputError, match="already holds files"):
        dio.check_out_dir(folder, overwrite=False)


def test_overwrite_refuses_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "metadata.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(dio.InputError, match="current folder"):
        dio.check_out_dir(".", overwrite=True)


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
        with dio.staged_dir(out) as tmp:
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
        with dio.staged_dir(out) as tmp:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []            # not even an empty models/


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
        dio.check_out_dir("/proc/x", overwrite=False)


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
        dio.load_dataset(tmp_path)


def test_fasta_gzip_crlf_and_bom_read_alike(tmp_path):
    import gzip

    (tmp_path / "a.fa").write_bytes(b"\xef\xbb\xbf>s1 desc\r\nACGT\r\nAC\r\n>s2\r\nNNGTAC\r\n")
    (tmp_path / "b.fa.gz").write_bytes(gzip.compress(b">s1\nACGTAC\n>s2\nNNGTAC\n"))
    assert dio.read_fasta(tmp_path / "a.fa") == dio.read_fasta(tmp_path / "b.fa.gz") == \
        (["s1", "s2"], ["ACGTAC", "NNGTAC"])


def test_blank_and_duplicate_labels_are_named(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("id\tlabel\na\t\nb\t1\n")
    with pytest.raises(dio.InputError, match="found an empty label"):
        dio.read_labels(path)
    path.write_text("id\tlabel\na\t0\na\t1\n")
    with pytest.raises(dio.InputError, match="more than one label"):
        dio.read_labels(path)
