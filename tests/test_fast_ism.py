"""ISM that recomputes only the window a mutation reaches gives the whole model's values.

Random-weight dilated CNNs (batch-norm statistics randomised too, so the inference affine
is not the identity), lengths that are not multiples of the pool, N bases (all four bases
tried), mutations at both ends, the logit and the probability, each against the textbook loop
(tests/oracles.py naive_ism on the plain Keras graph); and the graphs it must not take, which
fall back to running every variant through the whole model.
"""
from __future__ import annotations

import numpy as np
import pytest

from oracles import float32_tolerance, naive_ism, random_cnn, random_onehot
from utils import attribution, cnn_graph, fast_ism, models


def keras_logit(predictor):
    """The plain Keras logit graph, (M, L, 4) -> (M,): neither the folded graph nor fast_ism."""
    return lambda x: np.asarray(predictor.logit_model.predict_on_batch(x)).reshape(-1)


@pytest.mark.parametrize("length, cfg", [(203, {"dilated_layers": 3}),
                                         (330, {"dilated_layers": 4, "batch_norm": False}),
                                         (420, {"dilated_layers": 5, "pool_size": 3, "kernel_size": 11}),
                                         (260, {"dilated_layers": 3, "final_pool": "maxavg"}),
                                         (230, {"dilated_layers": 3, "filters": 8, "exp_filters": 8})])
def test_local_ism_equals_whole_model_ism(length, cfg):
    predictor = random_cnn(length, **cfg)
    assert fast_ism.for_predictor(predictor) is not None        # this graph is taken locally
    x = random_onehot(4, length)
    naive = naive_ism(keras_logit(predictor), x)                 # one Keras call per sequence
    local = attribution.ism(predictor, x)
    assert np.abs(naive).max() > 0.05                            # the model is not flat
    tol = float32_tolerance(predictor, x, naive)
    np.testing.assert_allclose(local, naive, atol=tol)
    np.testing.assert_allclose(attribution.ism(predictor, x, local_ok=False), naive, atol=tol)
    assert (local[x == 1] == 0).all()                            # the observed base has no change
    assert np.count_nonzero(local[3, :5]) == 20                  # four bases at each N position


@pytest.mark.parametrize("length, cfg", [(203, {"dilated_layers": 3}),
                                         (330, {"dilated_layers": 4, "batch_norm": False}),
                                         (260, {"dilated_layers": 3, "final_pool": "maxavg",
                                                "first_activation": "exponential", "first_batch_norm": True,
                                                "dense_batch_norm": True}),
                                         (203, {"dilated_layers": 3, "filters": 8, "exp_filters": 6,
                                                "first_batch_norm": True, "pool_size": 2})])
def test_the_xla_fused_blocks_give_the_same_values(length, cfg, monkeypatch):
    """Jobs of XLA_FROM variants or more run the XLA-fused blocks; here every job does, with
    groups of 3 sequences (the last one padded) and chunks of 500 variants (the last padded)."""
    predictor = random_cnn(length, **cfg)
    x = random_onehot(7, length)
    naive = naive_ism(keras_logit(predictor), x)
    monkeypatch.setattr(fast_ism, "XLA_FROM", 0)
    monkeypatch.setattr(fast_ism, "GROUP_VARIANTS", 9 * length)
    local = fast_ism.for_predictor(predictor)
    fused = local(x, "logit", chunk_size=500)
    assert local._fused_fn is not None                            # the fused path ran
    assert np.abs(naive).max() > 0.05
    np.testing.assert_allclose(fused, naive, atol=float32_tolerance(predictor, x, naive))
    assert (fused[x == 1] == 0).all() and np.count_nonzero(fused[3, :5]) == 20


def test_local_ism_on_the_probability_scale():
    predictor = random_cnn(160, dilated_layers=3)
    x = random_onehot(4, 160)
    local = fast_ism.for_predictor(predictor)(x, "prob")
    ref = predictor.predict(x)
    seq, pos, base = np.nonzero(x == 0)
    variants = x[seq]
    variants[np.arange(len(seq)), pos] = 0.0
    variants[np.arange(len(seq)), pos, base] = 1.0
    np.testing.assert_allclose(local[seq, pos, base], predictor.predict(variants) - ref[seq], atol=1e-6)


@pytest.mark.parametrize("cfg", [{"architecture": "basic"}, {"dilated_layers": 6},
                                 {"dilated_layers": 6, "final_pool": "maxavg"}])
def test_other_graphs_run_every_variant_through_the_model(cfg):
    # basic is another graph; at 200 bp six layers reach every position anyway
    predictor = random_cnn(200, **cfg)
    assert fast_ism.for_predictor(predictor) is None
    x = random_onehot(4, 200)
    naive = naive_ism(keras_logit(predictor), x)
    assert np.abs(naive).max() > 0.05
    np.testing.assert_allclose(attribution.ism(predictor, x), naive, atol=float32_tolerance(predictor, x, naive))


def test_a_look_alike_graph_with_another_final_pooling_is_not_taken():
    # same layer names as the suite's CNN, but the mean alone over the length: not the graph
    # fast_ism knows, so every variant goes through the model
    keras = models.import_keras()
    base = random_cnn(200, dilated_layers=3).keras_model
    x = base.get_layer("residual3").output
    x = keras.layers.AveragePooling1D(int(x.shape[1]), name="pool_all")(x)
    for name in ("flatten", "dense", "relu_dense", "drop_dense", "logit", "prob"):
        x = base.get_layer(name)(x)
    other = models.CNNPredictor(keras.Model(base.inputs, x), 200)
    assert cnn_graph.tower_layout(base) is not None
    assert cnn_graph.tower_layout(other.keras_model) is None
    assert fast_ism.for_predictor(other) is None
