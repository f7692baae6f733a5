"""The null rule of early stopping: a run indistinguishable from chance stops (utils.training.NullRule).

The band and the loss test are checked against hand-computed values; the callback with a fake
model and scripted validation outputs; then real CNN trainings on the tiny seeded set of
test_train (a 10 bp motif in 100 bp sequences): with its labels permuted the run stops at a
stated epoch because it is at chance, with its own labels it learns and is not stopped by it.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import Train_models
from oracles import CallbackModel
from test_train import planted_data, write_data_folder
from utils import models, training


def test_auroc_null_sd_is_the_mann_whitney_permutation_sd():
    """sqrt((n1 + n2 + 1) / (12 n1 n2)); and it matches the SD of auROCs of shuffled labels."""
    assert training.auroc_null_sd(750, 750) == pytest.approx(math.sqrt(1501 / (12 * 750 * 750)), abs=1e-15)
    assert training.auroc_null_sd(450, 450) == pytest.approx(0.019256, abs=1e-6)
    rng = np.random.default_rng(0)
    ranks = np.arange(1, 61)                        # 60 distinct scores, ranked; 20 positives drawn at random
    positives = np.argsort(rng.random((4000, 60)), axis=1)[:, :20]
    draws = (ranks[positives].sum(axis=1) - 20 * 21 / 2) / (20 * 40)      # Mann-Whitney U / (n1 n2)
    assert np.std(draws) == pytest.approx(training.auroc_null_sd(20, 40), rel=0.05)


def test_chance_check_of_a_classifier():
    """Probabilities unrelated to the labels are chance; ranking the positives first is not, and
    neither is a loss well below the prior's even at a middling auROC."""
    labels = np.r_[np.ones(50), np.zeros(50)]
    rng = np.random.default_rng(1)
    noise = 0.5 + 0.01 * rng.standard_normal(100)
    check = training.chance_check(labels, noise, 0.5, z=3.0)
    sd = math.sqrt(101 / (12 * 50 * 50))
    assert check["band"] == pytest.approx([0.5 - 3 * sd, 0.5 + 3 * sd], abs=1e-12)
    assert check["chance_loss"] == pytest.approx(math.log(2), abs=1e-12)
    assert check["band"][0] <= check["auroc"] <= check["band"][1] and check["chance"]
    ranked = np.r_[np.full(50, 0.9), np.full(50, 0.1)]
    check = training.chance_check(labels, ranked, 0.5, z=3.0)
    assert check["auroc"] == 1.0 and not check["chance"]
    # the auROC in the band (every output tied: 0.5) but the loss far below that of the reference
    # prior (0.5, as under --sampler): the outputs learned the validation prior of 10% -> not chance
    rare = np.r_[np.ones(10), np.zeros(90)]
    check = training.chance_check(rare, np.full(100, 0.1), 0.5, z=3.0)
    assert check["auroc"] == 0.5 and check["chance_loss"] == pytest.approx(math.log(2), abs=1e-12)
    assert check["loss"] == pytest.approx(-(0.1 * math.log(0.1) + 0.9 * math.log(0.9)), abs=1e-12)
    assert not check["chance"]


def test_chance_check_of_a_regression():
    """Values unrelated to the labels: r inside 0 +/- z / sqrt(n - 1), chance; values tracking the
    labels: not chance. Constant outputs (the training mean) count as r = 0."""
    rng = np.random.default_rng(2)
    y = rng.standard_normal(200)
    check = training.chance_check(y, np.full(200, 0.1), 0.1, z=3.0, target="activity")
    assert check["pearson_r"] == 0.0 and check["band"] == pytest.approx([-3 / math.sqrt(199), 3 / math.sqrt(199)])
    assert check["loss"] == pytest.approx(check["chance_loss"], abs=1e-12) and check["chance"]
    check = training.chance_check(y, y + 0.3 * rng.standard_normal(200), 0.1, z=3.0, target="activity")
    assert check["pearson_r"] > 0.9 and not check["chance"]


class ScriptedOutputs:
    """The validation outputs of each epoch in turn (a fake model's predictions)."""

    def __init__(self, per_epoch):
        self.per_epoch = list(per_epoch)
        self.calls = 0

    def __call__(self, model):
        out = self.per_epoch[min(self.calls, len(self.per_epoch) - 1)]
        self.calls += 1
        return out


def run_callback(callback, aurocs):
    callback.set_model(CallbackModel())
    for epoch, auroc in enumerate(aurocs):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"val_auroc": auroc, "val_loss": 0.7})
        if callback.model.stop_training:
            break
    return callback.stop_record(len(aurocs))


def test_null_rule_stops_a_run_at_chance_from_min_epochs_on():
    """Patience 2, min_epochs 4, plateau 8, null rule 3 epochs: outputs unrelated to the labels
    every epoch -> stopped at epoch 4 (min_epochs), reason chance. The same run whose outputs rank
    weakly (auROC 0.58, outside the band but below CHANCE_AUROC) waits out the plateau (8)."""
    labels = np.r_[np.ones(50), np.zeros(50)]
    rng = np.random.default_rng(3)
    unrelated = [0.5 + 0.01 * rng.standard_normal(100) for _ in range(12)]
    null = training.NullRule(labels, 0.5, epochs=3, z=3.0, outputs=ScriptedOutputs(unrelated))
    record = run_callback(training.best_epoch_callback(2, 4, 8, null=null), [0.5] * 12)
    assert (record["reason"], record["epoch"], record["null_rule"]["chance_run"]) == ("chance", 4, 4)
    labels = np.r_[np.ones(500), np.zeros(500)]          # band 0.5 +/- 0.055 at z = 3
    scores = rng.standard_normal(1000) + 0.2 * labels        # auROC 0.588 (about Phi(0.2 / sqrt 2))
    weak = [0.5 + 0.05 * np.tanh(scores)] * 12
    check = training.chance_check(labels, weak[0], 0.5, 3.0)
    assert check["band"][1] < check["auroc"] < training.CHANCE_AUROC and not check["chance"]
    null = training.NullRule(labels, 0.5, epochs=3, z=3.0, outputs=ScriptedOutputs(weak))
    record = run_callback(training.best_epoch_callback(2, 4, 8, null=null), [0.58] * 12)
    assert (record["reason"], record["epoch"], record["null_rule"]["chance_run"]) == ("patience", 8, 0)


def test_null_rule_needs_consecutive_epochs_and_never_runs_once_chance_is_left():
    """An epoch outside the band restarts the count (stop at 3 + 3 = 6, not 4); a run whose
    validation auROC reached CHANCE_AUROC is never checked again (patience alone stops it)."""
    labels = np.r_[np.ones(50), np.zeros(50)]
    rng = np.random.default_rng(4)
    unrelated = [0.5 + 0.01 * rng.standard_normal(100) for _ in range(12)]
    ranked = np.r_[np.full(50, 0.6), np.full(50, 0.4)]
    outputs = ScriptedOutputs(unrelated[:2] + [ranked] + unrelated[3:])
    null = training.NullRule(labels, 0.5, epochs=3, z=3.0, outputs=outputs)
    record = run_callback(training.best_epoch_callback(2, 4, 8, null=null), [0.5] * 12)
    assert (record["reason"], record["epoch"]) == ("chance", 6)
    outputs = ScriptedOutputs(unrelated)
    null = training.NullRule(labels, 0.5, epochs=3, z=3.0, outputs=outputs)
    record = run_callback(training.best_epoch_callback(2, 4, 8, null=null), [0.5, 0.7] + [0.5] * 10)
    assert (record["reason"], record["epoch"], outputs.calls) == ("patience", 4, 1)


CNN_FLAGS = ["--batch_size", "32", "--filters", "16", "--architecture", "basic", "--conv_blocks", "1",
             "--lr", "0.01", "--epochs", "20", "--early_stop", "3", "--min_epochs", "5", "--plateau_epochs", "15",
             "--null_epochs", "3", "--seed", "0", "--quiet"]


@pytest.fixture(scope="module")
def null_and_learnable(tmp_path_factory):
    seqs, labels = planted_data()
    root = tmp_path_factory.mktemp("stop")
    learnable = write_data_folder(root / "learnable", seqs, labels)
    permuted = np.random.default_rng([0, 424242]).permutation(labels)     # as workflow/scripts/shuffle_labels.py
    null = write_data_folder(root / "null", seqs, permuted)
    out = {}
    for name, folder in (("null", null), ("learnable", learnable)):
        flags = CNN_FLAGS if name == "learnable" else [f for f in CNN_FLAGS if f not in ("--epochs", "20")]
        assert Train_models.main(["--data_file", str(folder), "--out_dir", str(root / "models"),
                                  "--model_name", name] + flags) == 0
        out[name] = root / "models" / name
    return out


@pytest.mark.slow
def test_a_null_run_stops_at_min_epochs_for_chance(null_and_learnable):
    """Permuted labels, min_epochs 5, null_epochs 3: every epoch is at chance, so the run stops at
    epoch 5 (not at plateau_epochs 15), and model.json says why."""
    meta = json.loads((null_and_learnable["null"] / "model.json").read_text())
    metrics = json.loads((null_and_learnable["null"] / "metrics.json").read_text())
    stop = meta["stop"]
    assert (stop["reason"], stop["epoch"], metrics["epochs_run"]) == ("chance", 5, 5)
    assert stop["null_rule"]["chance_run"] == 5 and stop["null_rule"]["last_check"]["chance"]
    lo, hi = stop["null_rule"]["last_check"]["band"]
    assert (lo, hi) == pytest.approx([0.5 - 3 * training.auroc_null_sd(22, 23), 0.5 + 3 * training.auroc_null_sd(22, 23)])
    assert meta["training"]["null_epochs"] == 3 and meta["training"]["null_z"] == 3.0
    # (its --epochs left at auto: the resolved cap is recorded)
    assert meta["training"]["epochs"] == training.epochs_for(metrics["train"]["n"], 32)
    assert meta["training"]["lr"] == 0.01                                  # its --lr, as trained


@pytest.mark.slow
def test_a_run_that_learns_is_not_stopped_by_the_null_rule(null_and_learnable):
    """The same flags on the true labels: it learns (test auROC above 0.9), so the null rule never
    fires; patience ends it after min_epochs."""
    meta = json.loads((null_and_learnable["learnable"] / "model.json").read_text())
    metrics = json.loads((null_and_learnable["learnable"] / "metrics.json").read_text())
    assert metrics["test"]["auroc"] > 0.9
    assert meta["stop"]["reason"] in ("patience", "epochs") and meta["stop"]["epoch"] >= 5
    assert meta["stop"]["null_rule"]["chance_run"] == 0


def test_the_default_wait_grows_with_the_sequence_length():
    """12 epochs + 1 per 100 bp: longer than the longest chance sojourn of bench_learnability's slow
    starters (200 bp: 5 epochs, 500 bp: 11, pipelined 13, 1,000 bp: 14); --null_epochs auto is this."""
    assert [training.null_epochs_for(n) for n in (100, 200, 500, 600, 1000)] == [13, 14, 17, 18, 22]



def test_the_default_wait_is_counted_in_gradient_steps():
    """Fewer sequences, fewer steps per epoch, more epochs to wait: 12 + 1 per 100 bp epochs of 110 steps.
    5,000 sequences (3,500 training, 55 steps of 64) wait 28 epochs at 200 bp, twice 10,000's 14: the
    order and spacing rows of bench_learnability that take off at epoch 15-16 at 5,000 are not stopped."""
    n_train = {10000: 7000, 6000: 4200, 5000: 3500}
    assert [training.null_epochs_for(200, n_train[n]) for n in (10000, 6000, 5000)] == [14, 24, 28]
    assert training.null_epochs_for(1000, 3500) == 44 and training.null_epochs_for(500, 7000) == 17
    assert training.null_epochs_for(200, 3500, batch_size=32) == 14        # 110 steps of 32 per epoch
    assert training.null_epochs_for(200, 70000) == 14                      # never fewer epochs than the base
    assert Train_models.build_parser().parse_args([]).null_epochs is None
    assert Train_models.build_parser().parse_args(["--null_epochs", "0"]).null_epochs == 0


def test_the_most_epochs_are_counted_in_gradient_steps_too():
    """--epochs auto: 50 epochs of 110 steps, more epochs for fewer sequences, at most 200: 5,000
    sequences (3,500 training, 55 steps of 64) may run 100 epochs, 6,000 (66 steps) 84, 10,000 and
    more 50; the resolved number is what model.json records."""
    n_train = {20000: 14000, 10000: 7000, 6000: 4200, 5000: 3500, 1000: 700}
    assert [training.epochs_for(n_train[n]) for n in (20000, 10000, 6000, 5000, 1000)] == [50, 50, 84, 100, 200]
    assert training.epochs_for(3500, batch_size=32) == 50                   # 110 steps of 32 per epoch
    assert training.TrainConfig().epochs is None
    assert Train_models.build_parser().parse_args([]).epochs is None
    assert Train_models.build_parser().parse_args(["--epochs", "7"]).epochs == 7


def test_a_diverged_epoch_is_not_chance():
    """NaN outputs (a learning rate so large that training diverges) are not scored: not chance,
    so the run goes on to the divergence refusal rather than a crash in the auROC."""
    check = training.chance_check(np.r_[np.ones(5), np.zeros(5)], np.full(10, np.nan), 0.5, z=3.0)
    assert check["chance"] is False and check["auroc"] is None


def _history(train, val):
    return [{"epoch": i + 1, "auroc": t, "val_auroc": v, "loss": 0.69, "val_loss": 0.69}
            for i, (t, v) in enumerate(zip(train, val))]


def test_a_run_at_chance_is_told_memorized_from_nothing_learned():
    """Validation never past CHANCE_AUROC: a training auROC from FITS_TRAINING_AUROC on reads as
    memorized, naming the best training epoch; below it as nothing learned; a run whose validation
    left chance, or a history without auROCs (a regression), gets no warning. The curves are
    shortened from bench_learnability row 5's runs (the default CNN: training 0.50 -> 0.94,
    validation 0.47-0.52; the relu CNN with shifts: both 0.50)."""
    memorized = training.chance_diagnosis(_history([0.50, 0.71, 0.94, 0.93], [0.48, 0.52, 0.50, 0.49]))
    assert memorized.startswith("warning: the CNN memorized its training sequences (training auROC 0.94 at "
                                "epoch 3) while its validation auROC never left chance (best 0.52)")
    assert "--exp_filters 0 --pool_size 4" in memorized
    flat = training.chance_diagnosis(_history([0.50, 0.51, 0.50], [0.49, 0.51, 0.50]))
    assert flat.startswith("warning: the CNN stayed at chance on its training sequences too (best training "
                           "auROC 0.51, validation 0.51)")
    edge = training.chance_diagnosis(_history([0.50, training.FITS_TRAINING_AUROC], [0.5, 0.5]))
    assert "memorized" in edge
    assert training.chance_diagnosis(_history([0.7, 0.99], [0.55, training.CHANCE_AUROC])) is None    # learned
    assert training.chance_diagnosis([{"epoch": 1, "loss": 1.0, "val_loss": 1.0}]) is None            # regression


def test_the_learning_rate_decays_on_a_plateau_only_when_asked():
    """--lr_decay 1 (the default): no schedule; a factor below 1: ReduceLROnPlateau on the score
    the best epoch is chosen by (validation auROC, rising; a regression's validation loss, falling)."""
    assert training.lr_schedule(training.TrainConfig(), "class") == []
    (cls,) = training.lr_schedule(training.TrainConfig(lr_decay=0.2, lr_patience=4, lr=1e-3), "class")
    (reg,) = training.lr_schedule(training.TrainConfig(lr_decay=0.5, lr=0.01), "activity")
    assert (cls.monitor, cls.mode, cls.factor, cls.patience, cls.min_lr) == ("val_auroc", "max", 0.2, 4, 1e-6)
    assert (reg.monitor, reg.mode, reg.factor, reg.patience, reg.min_lr) == ("val_loss", "min", 0.5, 3, 1e-5)
    args = Train_models.build_parser().parse_args(["--lr_decay", "0.2", "--lr_patience", "5"])
    assert (args.lr_decay, args.lr_patience) == (0.2, 5)


@pytest.mark.slow
def test_a_plateau_lowers_the_learning_rate_in_training(tmp_path):
    """Permuted labels never improve the validation auROC after the first epochs: with --lr_decay 0.5
    and --lr_patience 1 the optimizer ends below the starting rate; without, it ends at it."""
    seqs, labels = planted_data()
    null = write_data_folder(tmp_path / "null", seqs, np.random.default_rng([0, 424242]).permutation(labels))
    from utils.folders import load_dataset

    data = load_dataset(null)
    rates = {}
    for decay in (1.0, 0.5):
        cfg = training.TrainConfig(epochs=8, patience=8, min_epochs=8, plateau_epochs=8, null_epochs=0, lr=0.01,
                                   lr_decay=decay, lr_patience=1, batch_size=32)
        result = training.train(data, "cnn", cfg, seed=0, arch=models.CNNConfig(architecture="basic", conv_blocks=1,
                                                                                 filters=8))
        rates[decay] = float(np.asarray(result.predictor.strand.keras_model.optimizer.learning_rate))
    assert rates[1.0] == pytest.approx(0.01) and rates[0.5] < 0.01 / 1.9


def test_the_default_learning_rate_is_0_002():
    """Adam at 0.002 since 2026-12-08 (0.001 before): bench_learnability at 5,000 and 10,000 sequences,
    the analog and task 3 measured both (docs/benchmarks.md, "The learning rate"); --lr reaches
    TrainConfig and model.json records it (the null run above: --lr 0.01)."""
    assert training.TrainConfig().lr == 0.002
    assert Train_models.build_parser().parse_args([]).lr == 0.002
    assert Train_models.build_parser().parse_args(["--lr", "0.0005"]).lr == 0.0005
