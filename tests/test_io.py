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
