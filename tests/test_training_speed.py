"""The pipelined training path (--train_speed pipelined): deterministic, learns, any target.

On the tiny seeded set of test_train (a 10 bp motif in 100 bp sequences) and a tiny activity
set: the same seed gives byte-identical predictions twice, the model learns as the plain path
does, and the plain path (the default) is unchanged by the flag's existence.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import Train_models
from test_train import planted_data, write_data_folder
from utils import training
from utils.io import InputError

FLAGS = ["--batch_size", "32", "--filters", "16", "--architecture", "basic", "--conv_blocks", "1", "--augment_rc",
         "false", "--augment_shift", "0", "--lr", "0.01", "--epochs", "4", "--seed", "0", "--quiet"]   # goldens: no augmentation


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    seqs, labels = planted_data()
    root = tmp_path_factory.mktemp("speed")
    data = write_data_folder(root / "data", seqs, labels)
    for name, speed in (("plain", "plain"), ("pipelined_a", "pipelined"), ("pipelined_b", "pipelined")):
        assert Train_models.main(["--data_file", str(data), "--out_dir", str(root / "m"), "--model_name", name,
                                  "--train_speed", speed] + FLAGS) == 0
    return root / "m"


@pytest.mark.slow
def test_pipelined_training_is_deterministic_and_learns(runs):
    """Two runs, same seed: the same predictions and history byte for byte; the test auROC within
    the tiny set's noise of the plain path's (45 test sequences)."""
    for name in ("predictions.tsv", "history.csv", "metrics.json"):
        assert (runs / "pipelined_a" / name).read_bytes() == (runs / "pipelined_b" / name).read_bytes()
    fast = json.loads((runs / "pipelined_a" / "metrics.json").read_text())
    plain = json.loads((runs / "plain" / "metrics.json").read_text())
    # golden, seed 0 (deterministic ops), 4 epochs: test auROC plain 0.9941, pipelined 0.9644
    assert plain["test"]["auroc"] == pytest.approx(0.99407, abs=1e-4)
    assert fast["test"]["auroc"] == pytest.approx(0.96443, abs=1e-4)
    meta = json.loads((runs / "pipelined_a" / "model.json").read_text())
    assert meta["training"]["train_speed"] == "pipelined"
    assert json.loads((runs / "plain" / "model.json").read_text())["training"]["train_speed"] == "plain"


@pytest.mark.slow
def test_pipelined_training_of_an_activity_target(tmp_path):
    """A regression through the pipeline: its outputs follow the labels about as well as the plain path's."""
    rng = np.random.default_rng(5)
    seqs, labels = planted_data(n=300, seed=5)
    activity = labels + 0.1 * rng.standard_normal(len(labels))
    folder = write_data_folder(tmp_path / "act", seqs, np.zeros(len(seqs)))
    (folder / "metadata.json").write_text(json.dumps({"seed": 0, "target": "activity"}))
    (folder / "labels.tsv").write_text("id\tlabel\n" + "".join(f"seq_{i:07d}\t{v:.6f}\n" for i, v in enumerate(activity)))
    found = {}
    for speed in ("plain", "pipelined"):
        assert Train_models.main(["--data_file", str(folder), "--out_dir", str(tmp_path / "m"), "--model_name", speed,
                                  "--train_speed", speed] + FLAGS[:-5] + ["--epochs", "10", "--seed", "0", "--quiet"]) == 0
        found[speed] = json.loads((tmp_path / "m" / speed / "metrics.json").read_text())["test"]["pearson_r"]
    # golden, seed 0 (deterministic ops): 10 epochs, plain 0.938, pipelined 0.904
    assert found["plain"] == pytest.approx(0.93799, abs=1e-4) and found["pipelined"] == pytest.approx(0.90355, abs=1e-4)


def test_an_unknown_speed_is_refused():
    with pytest.raises(InputError, match="--train_speed 'warp' is not one of plain, pipelined"):
        training._compile_options(training.TrainConfig(train_speed="warp"))
    assert training._compile_options(training.TrainConfig()) == {}
    assert training._compile_options(training.TrainConfig(train_speed="pipelined")) == {
        "steps_per_execution": training.STEPS_PER_EXECUTION}
