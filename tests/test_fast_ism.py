"""ISM that recomputes only the window a mutation reaches gives the whole model's values.

Random-weight dilated CNNs (batch-norm statistics randomised too, so the inference affine
is not the identity), lengths that are not multiples of the pool, N bases (all four bases
tried), mutations at both ends, the logit and the probability; and the graphs it must not
take, which fall back to running every variant through the whole model.
"""
from __future__ import annotations

import numpy as np
import pytest

from utils import attribution, cnn_graph, fast_ism, models


def _random_cnn(length: int, seed: int = 0, **cfg):
    keras = models.import_keras()
    keras.utils.set_random_seed(seed)
    model = models.build_cnn(length, models.CNNConfig(**cfg))
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if layer.name.startswith("bn_"):
            gamma, beta, mean, var = weights
            layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(0, 0.3, beta.shape),
                               rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2, var.shape)])
        elif weights:
            layer.set_weights([w + rng.normal(0, 0.05, w.shape) for w in weights])
    return models.CNNPredictor(model, length)


def _sequences(n: int, length: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]
    x[1, 3] = 0.0                  # N bases: every base is tried there
    x[2, length - 1] = 0.0
    x[3, :5] = 0.0
    return x


@pytest.mark.parametrize("length, cfg", [(203, {"dilated_layers": 3}),
                                         (330, {"dilated_layers": 4, "batch_norm": False}),
                                         (420, {"dilated_layers": 5, "pool_size": 3, "kernel_size": 11}),
                                         (260, {"dilated_layers": 3, "final_pool": "maxavg"})])
def test_local_ism_equals_whole_model_ism(length, cfg):
    predictor = _random_cnn(length, **cfg)
    assert fast_ism.for_predictor(predictor) is not None        # this graph is taken locally
    x = _sequences(4, length)
    whole = attribution.ism(predictor, x, local_ok=False)
    local = attribution.ism(predictor, x)
    assert np.abs(whole).max() > 0.05                            # the model is not flat
    np.testing.assert_allclose(local, whole, atol=2e-5)
    assert (local[x == 1] == 0).all()                            # the observed base has no change
    assert np.count_nonzero(local[3, :5]) == 20                  # four bases at each N position


def test_local_ism_on_the_probability_scale():
    predictor = _random_cnn(160, dilated_layers=3)
    x = _sequences(4, 160)
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
    predictor = _random_cnn(200, **cfg)
    assert fast_ism.for_predictor(predictor) is None
    x = _sequences(4, 200)
    np.testing.assert_array_equal(attribution.ism(predictor, x), attribution.ism(predictor, x, local_ok=False))


def test_a_look_alike_graph_with_another_final_pooling_is_not_taken():
    # same layer names as the suite's CNN, but the mean alone over the length: not the graph
    # fast_ism knows, so every variant goes through the model
    keras = models.import_keras()
    base = _random_cnn(200, dilated_layers=3).keras_model
    x = base.get_layer("residual3").output
    x = keras.layers.AveragePooling1D(int(x.shape[1]), name="pool_all")(x)
    for name in ("flatten", "dense", "relu_dense", "drop_dense", "logit", "prob"):
        x = base.get_layer(name)(x)
    other = models.CNNPredictor(keras.Model(base.inputs, x), 200)
    assert cnn_graph.tower_layout(base) is not None
    assert cnn_graph.tower_layout(other.keras_model) is None
    assert fast_ism.for_predictor(other) is None
