"""Batch normalization refreshed after training (models.refresh_batch_norm): every layer's moving
statistics become the exact statistics of its input at inference, the layers before it refreshed."""
from __future__ import annotations

import json

import numpy as np
import pytest

import Train_models
from utils import models, training
from test_train import planted_data, write_data_folder


def _dropout_then_norms(keras):
    """onehot -> conv -> dropout -> BN -> conv -> BN -> max -> logit: dropout before two norms."""
    layers = keras.layers
    inputs = keras.Input(shape=(30, 4), name="onehot")
    x = layers.Conv1D(5, 3, name="conv1")(inputs)
    x = layers.Dropout(0.5, name="drop1")(x)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.Conv1D(3, 3, name="conv2")(layers.Activation("relu")(x))
    x = layers.BatchNormalization(name="bn2")(x)
    x = layers.Dense(1, name="logit")(layers.GlobalMaxPooling1D()(x))
    return keras.Model(inputs, x)


def _onehot(n: int, seed: int) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[np.random.default_rng(seed).integers(0, 4, (n, 30))]


def test_each_norm_gets_its_inputs_exact_statistics_in_graph_order():
    keras = models.import_keras()
    keras.utils.set_random_seed(0)
    model = _dropout_then_norms(keras)
    x = _onehot(300, 1)
    for norm in ("bn1", "bn2"):              # stale statistics, as dropout's variance leaves them
        layer = model.get_layer(norm)
        layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.7, np.float32))
        layer.moving_variance.assign(np.full(layer.moving_variance.shape, 4.0, np.float32))
    assert models.refresh_batch_norm(model, x) == ["bn1", "bn2"]
    conv1 = np.asarray(keras.Model(model.input, model.get_layer("conv1").output)(x, training=False)).reshape(-1, 5)
    bn1 = model.get_layer("bn1")
    np.testing.assert_allclose(np.asarray(bn1.moving_mean), conv1.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(bn1.moving_variance), conv1.var(0), rtol=1e-4)
    # bn2 read conv2 with bn1 already refreshed: its output at inference is centred and scaled
    # (gamma 1, beta 0): mean 0, variance var / (var + epsilon) per channel
    bn2 = model.get_layer("bn2")
    out = np.asarray(keras.Model(model.input, bn2.output)(x, training=False)).reshape(-1, 3).astype(np.float64)
    var = np.asarray(bn2.moving_variance, np.float64)
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(0), var / (var + bn2.epsilon), rtol=1e-4)


def test_at_most_max_seqs_drawn_with_the_seed():
    keras = models.import_keras()
    x = _onehot(200, 2)
    keras.utils.set_random_seed(0)
    model = _dropout_then_norms(keras)
    models.refresh_batch_norm(model, x, seed=5, max_seqs=50)
    chosen = x[np.sort(np.random.default_rng(5).choice(200, 50, replace=False))]
    conv1 = np.asarray(keras.Model(model.input, model.get_layer("conv1").output)(chosen, training=False))
    np.testing.assert_allclose(np.asarray(model.get_layer("bn1").moving_mean), conv1.reshape(-1, 5).mean(0),
                               rtol=1e-5, atol=1e-6)
    everything = np.asarray(keras.Model(model.input, model.get_layer("conv1").output)(x, training=False))
    assert not np.allclose(np.asarray(model.get_layer("bn1").moving_mean), everything.reshape(-1, 5).mean(0),
                           rtol=1e-5, atol=1e-6)


def test_a_model_without_norms_is_left_alone():
    keras = models.import_keras()
    inputs = keras.Input(shape=(30, 4))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    before = [w.copy() for w in model.get_weights()]
    assert models.refresh_batch_norm(model, _onehot(10, 3)) == []
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.slow
def test_train_models_refreshes_on_request_and_records_it(tmp_path):
    """The default CNN (dropout 0.3 before its batch-normalized tower), trained twice from one
    seed: as trained by default (auto: off for class labels), refreshed with --refresh_batch_norm
    true, each recorded; the refreshed model's outputs on the same test sequences differ."""
    seqs, labels = planted_data()
    data = write_data_folder(tmp_path / "data", seqs, labels)
    flags = ["--data_file", str(data), "--out_dir", str(tmp_path / "m"), "--epochs", "3", "--seed", "0", "--quiet",
             "--filters", "8", "--exp_filters", "8", "--tower_filters", "16"]
    assert Train_models.main(flags + ["--model_name", "fresh", "--refresh_batch_norm", "true"]) == 0
    assert Train_models.main(flags + ["--model_name", "stale"]) == 0
    fresh, stale = (json.loads((tmp_path / "m" / n / "model.json").read_text())["training"] for n in ("fresh", "stale"))
    assert fresh["refresh_batch_norm"] is True and stale["refresh_batch_norm"] is False
    p = {n: np.loadtxt(tmp_path / "m" / n / "predictions.tsv", usecols=3, skiprows=1) for n in ("fresh", "stale")}
    assert p["fresh"].shape == p["stale"].shape and not np.allclose(p["fresh"], p["stale"], atol=1e-4)


def test_auto_refreshes_regressions_and_not_classifiers():
    assert training.TrainConfig().refresh_batch_norm is None
    assert (training.refresh_for(None, "activity"), training.refresh_for(None, "class")) == (True, False)
    assert (training.refresh_for(False, "activity"), training.refresh_for(True, "class")) == (False, True)


@pytest.mark.slow
def test_a_regression_is_saved_with_its_training_sequences_exact_statistics(tmp_path):
    """auto on activity labels, end to end: the saved default CNN's norms hold the exact inference
    statistics of its training sequences (read back from split.tsv); with false they do not."""
    from test_regression_training import activity_data, write_activity_folder
    from utils.encoding import one_hot
    from utils.folders import load_dataset

    seqs, labels, _, _, sites = activity_data(n=300, length=60)
    data = write_activity_folder(tmp_path / "d", seqs, labels, sites)
    flags = ["--data_file", str(data), "--out_dir", str(tmp_path / "m"), "--epochs", "2", "--seed", "0", "--quiet",
             "--filters", "8", "--exp_filters", "8", "--tower_filters", "16"]
    assert Train_models.main(flags + ["--model_name", "auto"]) == 0
    assert Train_models.main(flags + ["--model_name", "off", "--refresh_batch_norm", "false"]) == 0
    dataset = load_dataset(data)
    index = {k: i for i, k in enumerate(dataset.ids)}
    keras = models.import_keras()
    matches = {}
    for name in ("auto", "off"):
        folder = tmp_path / "m" / name
        split = [line.split("\t") for line in (folder / "split.tsv").read_text().splitlines()[1:]]
        x = one_hot([dataset.seqs[index[i]] for i, part in split if part.strip() == "train"])
        model = models.load(folder).strand.keras_model      # (a user's data: read on both strands)
        norm = model.get_layer("bn_dilated1")
        h = np.asarray(keras.Model(model.input, norm.input)(x, training=False), np.float64).reshape(-1, 16)
        matches[name] = (np.allclose(np.asarray(norm.moving_mean), h.mean(0), rtol=1e-4, atol=1e-5)
                         and np.allclose(np.asarray(norm.moving_variance), h.var(0), rtol=1e-3, atol=1e-6))
        assert json.loads((folder / "model.json").read_text())["training"]["refresh_batch_norm"] is (name == "auto")
    assert matches == {"auto": True, "off": False}
