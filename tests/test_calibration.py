"""Platt scaling of a classifier CNN's logit (models.platt_scaling, models.calibrate_logit): the fit
recovers a known slope and intercept, stays finite on separable logits, folds into the logit
layer exactly, scales attributions by the slope alone, and Train_models.py applies it to class
labels by default and records it."""
from __future__ import annotations

import json

import numpy as np
import pytest

import Train_models
from utils import models, training
from test_train import planted_data, write_data_folder


def _sigmoid(s):
    return 1.0 / (1.0 + np.exp(-s))


def test_platt_recovers_a_known_slope_and_intercept():
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, 40000)
    y = rng.random(z.size) < _sigmoid(0.5 * z + 1.5)           # logits twice too sharp, shifted by 1.5
    a, b = models.platt_scaling(z, y)
    assert abs(a - 0.5) < 0.02 and abs(b - 1.5) < 0.04
    # the fit is the optimum: both score equations hold against Platt's smoothed targets
    n_pos, n_neg = y.sum(), (~y).sum()
    t = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    p = _sigmoid(a * z + b)
    assert abs(np.sum(p - t)) < 1e-6 and abs(np.sum((p - t) * z)) < 1e-5


def test_platt_is_finite_on_separable_logits_and_honours_weights():
    z = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
    y = np.array([0, 0, 0, 1, 1, 1])
    a, b = models.platt_scaling(z, y)
    assert 0 < a < 20 and abs(b) < 1e-6                        # symmetric classes: no shift
    p = _sigmoid(a * z + b)
    # Platt's targets for 3 + 3 sequences are 4/5 and 1/5, not 1 and 0: the score equations hold there
    t = np.where(y == 1, 4 / 5, 1 / 5)
    assert abs(np.sum(p - t)) < 1e-8 and abs(np.sum((p - t) * z)) < 1e-8
    # weights: a class carrying three times the weight pulls the intercept its way
    w = np.where(y == 1, 3.0, 1.0)
    z2 = np.array([-1.0, 0.5, -0.5, 1.0, 0.2, -0.2])
    assert models.platt_scaling(z2, y, w)[1] > models.platt_scaling(z2, y)[1]
    with pytest.raises(ValueError):
        models.platt_scaling(z, np.zeros(6))


def _tiny_classifier(keras):
    layers = keras.layers
    inputs = keras.Input(shape=(20, 4), name="onehot")
    x = layers.Conv1D(4, 5, activation="relu", name="conv1")(inputs)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, layers.Activation("sigmoid", name="prob")(x))


def test_calibration_folds_into_the_logit_and_scales_attributions_by_the_slope():
    keras = models.import_keras()
    keras.utils.set_random_seed(3)
    model = _tiny_classifier(keras)
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (400, 20))]
    logit = keras.Model(model.input, model.get_layer("logit").output)
    before = np.asarray(logit(x)).ravel().astype(np.float64)
    y = rng.random(400) < _sigmoid(3.0 * (before - np.median(before)))     # labels the logit ranks
    tape_x = keras.ops.convert_to_tensor(x[:5])
    import tensorflow as tf

    def saliency():
        with tf.GradientTape() as tape:
            tape.watch(tape_x)
            out = logit(tape_x)
        return tape.gradient(out, tape_x).numpy()

    grad_before = saliency()
    record = models.calibrate_logit(model, x, y)
    assert record["applied"] and record["n"] == 400 and record["slope"] > 0
    a, b = record["slope"], record["intercept"]
    assert (a, b) == pytest.approx(models.platt_scaling(before, y), rel=1e-4, abs=1e-4)
    after = np.asarray(logit(x)).ravel()
    np.testing.assert_allclose(after, a * before + b, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(saliency(), a * grad_before, rtol=1e-4, atol=1e-6)


def test_a_slope_that_is_not_positive_is_not_applied():
    keras = models.import_keras()
    keras.utils.set_random_seed(4)
    model = _tiny_classifier(keras)
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(2).integers(0, 4, (300, 20))]
    z = np.asarray(keras.Model(model.input, model.get_layer("logit").output)(x)).ravel()
    weights = [w.copy() for w in model.get_weights()]
    record = models.calibrate_logit(model, x, z < np.median(z))       # labels the logit ranks backwards
    assert record["slope"] < 0 and record["applied"] is False
    assert all(np.array_equal(u, v) for u, v in zip(weights, model.get_weights()))


def test_auto_calibrates_class_labels_only():
    assert training.TrainConfig().calibrate is None
    assert (training.calibrate_for(None, "class"), training.calibrate_for(None, "activity")) == (True, False)
    assert training.calibrate_for(False, "class") is False
    assert training.calibrate_for(True, "activity") is False     # a value head has no logit to calibrate


@pytest.mark.slow
def test_train_models_calibrates_by_default_and_records_the_fit(tmp_path):
    """The default CNN on planted data, three epochs: auto folds the fit into the logit layer, so the
    validation split's mean probability equals the mean of Platt's smoothed targets (the fit's
    score equation); --calibrate false leaves the model as trained, with the same test auROC."""
    seqs, labels = planted_data()
    data = write_data_folder(tmp_path / "data", seqs, labels)
    flags = ["--data_file", str(data), "--out_dir", str(tmp_path / "m"), "--epochs", "3", "--seed", "0", "--quiet",
             "--filters", "8", "--exp_filters", "8", "--tower_filters", "16"]
    assert Train_models.main(flags + ["--model_name", "auto"]) == 0
    assert Train_models.main(flags + ["--model_name", "off", "--calibrate", "false"]) == 0
    meta = {n: json.loads((tmp_path / "m" / n / "model.json").read_text()) for n in ("auto", "off")}
    assert meta["auto"]["training"]["calibrate"] is True and meta["off"]["training"]["calibrate"] is False
    assert meta["off"]["calibration"] is None
    record = meta["auto"]["calibration"]
    assert record["applied"] and record["fit_on"] == "val"
    model = models.load(tmp_path / "m" / "auto")
    from utils.encoding import one_hot
    from utils.folders import load_dataset

    dataset = load_dataset(data)
    index = {k: i for i, k in enumerate(dataset.ids)}
    split = [line.split("\t") for line in (tmp_path / "m" / "auto" / "split.tsv").read_text().splitlines()[1:]]
    val = [index[i] for i, part in split if part.strip() == "val"]
    assert record["n"] == len(val)
    y = np.asarray(dataset.labels)[val].astype(int)
    p = model.predict(one_hot([dataset.seqs[i] for i in val]))
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    assert abs(p.mean() - np.mean(np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)))) < 1e-4
    metrics = {n: json.loads((tmp_path / "m" / n / "metrics.json").read_text()) for n in ("auto", "off")}
    assert metrics["auto"]["test"]["auroc"] == pytest.approx(metrics["off"]["test"]["auroc"], abs=1e-3)
