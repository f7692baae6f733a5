"""The suite's dilated CNN run as plain TensorFlow ops (batch norm folded) gives Keras' values.

Random weights and randomised batch-norm statistics, so the folded affine is not the identity;
both final poolings, no batch norm, another pool and kernel; predictions of a CNNPredictor go
through the folded graph, while other graphs keep Keras.
"""
from __future__ import annotations

import numpy as np
import pytest

from oracles import random_cnn, random_onehot
from utils import cnn_graph


@pytest.mark.parametrize("length, cfg", [(200, {"dilated_layers": 3}),
                                         (330, {"dilated_layers": 4, "batch_norm": False}),
                                         (301, {"dilated_layers": 4, "pool_size": 3, "kernel_size": 11}),
                                         (260, {"dilated_layers": 3, "final_pool": "maxavg"}),
                                         (200, {"dilated_layers": 3, "first_batch_norm": True,
                                                "dense_batch_norm": True, "first_activation": "exponential"}),
                                         (200, {"dilated_layers": 3, "filters": 8, "exp_filters": 6,
                                                "first_batch_norm": True, "dense_batch_norm": True, "pool_size": 2})])
def test_folded_forward_gives_the_keras_logit(length, cfg):
    predictor = random_cnn(length, **cfg)
    x = random_onehot(70, length)                        # 70: the predictor pads to 128 rows
    keras_logit = np.asarray(predictor.logit_model.predict_on_batch(x)).reshape(-1)
    keras_prob = np.asarray(predictor.keras_model.predict_on_batch(x)).reshape(-1)
    folded = predictor.folded
    assert folded is not None
    calls = []
    for name in ("logit", "prob"):                   # predictions go through the folded graph
        fn = getattr(folded, name)
        setattr(folded, name, lambda chunk, fn=fn, name=name: calls.append(name) or fn(chunk))
    assert np.ptp(keras_logit) > 0.1                  # the model is not flat
    # float32: 1e-5, or a millionth of logits that random exponential layers send to 10-30
    np.testing.assert_allclose(predictor.predict_logit(x), keras_logit, atol=1e-5, rtol=4e-6)
    np.testing.assert_allclose(predictor.predict(x), keras_prob, atol=1e-6)
    assert calls == ["logit", "prob"]
    layout = cnn_graph.tower_layout(predictor.keras_model)
    assert layout["final"] == cfg.get("final_pool", "max")
    assert len(layout["tower"]) == cfg["dilated_layers"]


def test_other_graphs_predict_through_keras():
    predictor = random_cnn(200, architecture="basic")
    assert predictor.folded is None
    x = random_onehot(8, 200)
    np.testing.assert_allclose(predictor.predict_logit(x),
                               np.asarray(predictor.logit_model.predict_on_batch(x)).reshape(-1), atol=1e-6)


def test_a_regression_cnn_runs_the_folded_graph_without_a_sigmoid():
    """The activity CNN ends in the linear unit ``value``: the folded graph gives that value for
    predict and predict_logit alike, and fast ISM takes it (on the value's own scale)."""
    from oracles import naive_ism
    from utils import attribution

    predictor = random_cnn(200, output_kind="value", dilated_layers=3)
    x = random_onehot(20, 200)
    keras_value = np.asarray(predictor.keras_model.predict_on_batch(x)).reshape(-1)
    layout = cnn_graph.tower_layout(predictor.keras_model)
    assert layout["head"] == "value" and predictor.folded is not None
    assert np.ptp(keras_value) > 0.1
    np.testing.assert_allclose(predictor.predict(x), keras_value, atol=1e-5, rtol=4e-6)
    np.testing.assert_allclose(predictor.predict_logit(x), keras_value, atol=1e-5, rtol=4e-6)
    assert attribution.output_scale(predictor) == "value"
    from utils import fast_ism

    assert fast_ism.for_predictor(predictor) is not None
    fast = attribution.ism(predictor, x[:3])
    np.testing.assert_allclose(fast, naive_ism(lambda v: predictor.keras_model.predict_on_batch(v).reshape(-1), x[:3]),
                               atol=1e-4)
