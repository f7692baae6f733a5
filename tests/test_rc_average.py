"""A CNN read on both strands (models.RCAveraged, Train_models.py --rc_average): one output for a
sequence and its reverse complement, the mean of the strand model's logits; attributions of that
mean (attribution.both_strands) equal the averaged model's own, computed the slow way; model.json
records it, load reads it, and auto follows the reverse-complement augmentation."""
from __future__ import annotations

import json

import numpy as np
import pytest

import Train_models
from utils import attribution, models
from test_train import planted_data, write_data_folder

LENGTH = 60


@pytest.fixture(scope="module")
def strand():
    """A suite dilated CNN (mixed first layer, both batch norms: the fast paths take it), random weights
    with the batch norms' statistics moved off their initial values."""
    keras = models.import_keras()
    keras.utils.set_random_seed(11)
    cfg = models.CNNConfig(filters=4, exp_filters=4, dilated_layers=3, dense_units=8, dropout=0.1)
    model = models.build_cnn(LENGTH, cfg)
    rng = np.random.default_rng(5)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma, beta, rng.normal(0, 0.3, mean.shape).astype(np.float32),
                               rng.uniform(0.5, 2.0, var.shape).astype(np.float32)])
    predictor = models.CNNPredictor(model, LENGTH)
    assert predictor.folded is not None             # the strand model takes the fast paths
    return predictor


def _onehot(n, seed):
    return np.eye(4, dtype=np.float32)[np.random.default_rng(seed).integers(0, 4, (n, LENGTH))]


def _rc(x):
    return np.ascontiguousarray(x[:, ::-1, ::-1])


def test_both_strands_give_one_output_the_mean_of_the_strand_logits(strand):
    both = models.RCAveraged(strand)
    x = _onehot(20, 0)
    forward, backward = strand.predict_logit(x), strand.predict_logit(_rc(x))
    assert np.abs(forward - backward).max() > 1e-2           # the strand model alone reads the strands apart
    np.testing.assert_allclose(both.predict_logit(x), (forward + backward) / 2, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(both.predict_logit(_rc(x)), both.predict_logit(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both.predict(x), 1 / (1 + np.exp(-both.predict_logit(x))), rtol=1e-6)
    assert (both.kind, both.input_length, both.output_kind) == ("cnn", LENGTH, "probability")
    assert attribution.has_keras_graph(both) and "deep_shap" in attribution.supported_methods(both)


def test_attributions_are_the_averaged_models_own(strand):
    """ISM through the strand model's fast path on both strands = ISM of the averaged model variant by
    variant; saliency = the gradient of the averaged logit, taken through one graph."""
    import tensorflow as tf

    both = models.RCAveraged(strand)
    x = _onehot(4, 1)
    got = attribution.run_attributions(both, x, [f"s{i}" for i in range(4)], ["ism", "saliency"], quiet=True)
    slow_ism = attribution.ism(both, x)          # no Keras graph of its own: every variant through predict_logit
    np.testing.assert_allclose(got["ism"][0], slow_ism, rtol=1e-4, atol=2e-5)
    assert np.all(got["ism"][0][x == 1] == 0)                  # the observed base stays at 0
    logit = strand.logit_model
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        out = (logit(tx, training=False) + logit(tf.reverse(tx, axis=[1, 2]), training=False)) / 2
    np.testing.assert_allclose(got["saliency"][0], tape.gradient(out, tx).numpy(), rtol=1e-4, atol=1e-6)
    # and it is not the strand model's map
    assert np.abs(got["ism"][0] - attribution.ism(strand, x)).max() > 1e-3


def test_calibration_fits_the_mean_logit(strand):
    keras = models.import_keras()
    model = keras.models.clone_model(strand.keras_model)
    model.set_weights(strand.keras_model.get_weights())
    x = _onehot(300, 2)
    both = models.RCAveraged(models.CNNPredictor(model, LENGTH))
    z = both.predict_logit(x).astype(np.float64)
    y = np.random.default_rng(3).random(300) < 1 / (1 + np.exp(-4 * (z - np.median(z))))
    record = models.calibrate_logit(model, x, y, rc_average=True)
    a, b = models.platt_scaling(z, y)
    assert record["applied"] and (record["slope"], record["intercept"]) == pytest.approx((a, b), rel=1e-3, abs=1e-3)
    after = models.RCAveraged(models.CNNPredictor(model, LENGTH))     # (a predictor folds the weights it first reads)
    np.testing.assert_allclose(after.predict_logit(x), a * z + b, rtol=1e-4, atol=1e-4)


def test_train_models_reads_a_users_data_on_both_strands_and_records_it(tmp_path):
    """A FASTA with labels (no planted rule) trains with reverse complements, so auto reads it on both
    strands; model.json records it and load wraps the strand model; --rc_average false keeps one strand."""
    seqs, labels = planted_data(n=200, length=LENGTH)
    data = write_data_folder(tmp_path / "data", seqs, labels)
    flags = ["--data_file", str(data), "--out_dir", str(tmp_path / "m"), "--epochs", "1", "--seed", "0", "--quiet",
             "--filters", "4", "--exp_filters", "4", "--tower_filters", "8"]
    assert Train_models.main(flags + ["--model_name", "auto"]) == 0
    assert Train_models.main(flags + ["--model_name", "one", "--rc_average", "false"]) == 0
    meta = {n: json.loads((tmp_path / "m" / n / "model.json").read_text())["training"] for n in ("auto", "one")}
    assert (meta["auto"]["augment_rc"], meta["auto"]["rc_average"]) == (True, True)
    assert (meta["one"]["augment_rc"], meta["one"]["rc_average"]) == (True, False)
    auto, one = models.load(tmp_path / "m" / "auto"), models.load(tmp_path / "m" / "one")
    assert isinstance(auto, models.RCAveraged) and isinstance(one, models.CNNPredictor)
    x = _onehot(8, 4)
    np.testing.assert_allclose(auto.predict(x), auto.predict(_rc(x)), rtol=1e-5, atol=1e-6)
    # the test split's predictions written at training are the averaged model's
    from utils.encoding import one_hot
    rows = [line.split("\t") for line in (tmp_path / "m" / "auto" / "predictions.tsv").read_text().splitlines()]
    header, rows = rows[0], rows[1:]
    ids = {f"seq_{i:07d}": s for i, s in enumerate(seqs)}
    col = header.index("prob")
    picked = rows[:5]
    written = np.array([float(r[col]) for r in picked])
    np.testing.assert_allclose(auto.predict(one_hot([ids[r[0]] for r in picked])), written, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_interpretation_says_which_strands_it_read(tmp_path):
    """Presence planted on both strands trains with reverse complements, so the model reads both
    and summary.json says so; Train_models.py --rc_average false reads one; Interpret_models.py
    --rc_average overrides model.json's record, and reads a model file on one strand unless told."""
    import Generate_sequences
    import Interpret_models

    data = tmp_path / "d"
    assert Generate_sequences.main(["--num_seqs", "300", "--seq_length", "80", "--strand", "both", "--seed", "4",
                                    "--out_dir", str(data), "--quiet"]) == 0
    for name, extra in (("both", []), ("one", ["--rc_average", "false"])):
        assert Train_models.main(["--data_file", str(data), "--out_dir", str(tmp_path / "m"), "--model_name", name,
                                  "--epochs", "1", "--filters", "4", "--exp_filters", "4", "--tower_filters", "8",
                                  "--quiet", *extra]) == 0
    file = tmp_path / "one.keras"                    # the same network as a model file from elsewhere
    file.write_bytes((tmp_path / "m" / "one" / "model.keras").read_bytes())
    strands = {}
    for run, model, extra in (("both", tmp_path / "m" / "both", []), ("one", tmp_path / "m" / "one", []),
                              ("both, told one", tmp_path / "m" / "both", ["--rc_average", "false"]),
                              ("file", file, ["--seq_dict", str(data)]),
                              ("file, told both", file, ["--seq_dict", str(data), "--rc_average", "true"])):
        out = tmp_path / f"r_{len(strands)}"
        assert Interpret_models.main(["--model", str(model), "--out_dir", str(out), "--methods", "saliency",
                                      "--tests", "ablation", "--num_attr_seqs", "6", "--num_perturbs", "2",
                                      "--quiet", *extra]) == 0
        strands[run] = json.loads((out / "summary.json").read_text())["attribution_settings"]["strands"]
    assert strands == {"both": "both", "one": "one", "both, told one": "one", "file": "one", "file, told both": "both"}
