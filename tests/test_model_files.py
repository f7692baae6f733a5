"""Model folders that are not what they claim: refused in one line, never loaded unsafely."""
from __future__ import annotations

import json

import numpy as np
import pytest

from utils import models
from utils.io import InputError


def write_json(path, obj):
    path.write_text(json.dumps(obj))


def test_a_keras_file_with_a_lambda_layer_is_refused_as_a_security_choice(tmp_path):
    keras = models.import_keras()
    inp = keras.Input((10, 4))
    x = keras.layers.Lambda(lambda t: t * 2)(inp)
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(x))
    keras.Model(inp, out).save(tmp_path / "model.keras")
    write_json(tmp_path / "model.json", {"kind": "cnn", "input_length": 10, "alphabet": "ACGT"})
    with pytest.raises(InputError, match="holds code .* safe mode refuses to run; this is a security choice"):
        models.load(tmp_path)
    data = (tmp_path / "model.keras").read_bytes()
    (tmp_path / "model.keras").write_bytes(data[:len(data) // 2])          # truncated: its own message
    with pytest.raises(InputError, match="not a readable Keras model"):
        models.load(tmp_path)


def test_a_skops_file_holding_the_wrong_object_or_another_k_is_refused(tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    write_json(tmp_path / "model.json", {"kind": "kmer_logistic", "input_length": 20, "alphabet": "ACGT", "k": 2})
    sio.dump({"a": 1}, tmp_path / "model.skops")
    with pytest.raises(InputError, match="holds a dict, not a fitted classifier"):
        models.load(tmp_path)
    rng = np.random.default_rng(0)
    fitted = LogisticRegression().fit(rng.random((20, 64)), np.arange(20) % 2)     # k=3 features
    sio.dump(fitted, tmp_path / "model.skops")
    with pytest.raises(InputError, match="fitted on 64 features but model.json says k=2"):
        models.load(tmp_path)
