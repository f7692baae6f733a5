"""Hand-built models from elsewhere whose answers are known: they fire on one motif's consensus.

``keras_oracle`` is a Keras model with channels-first input (N, 4, L) and two outputs;
``onnx_oracle`` an ONNX graph written with the onnx package's helpers (no PyTorch), input
(N, L, 4). Both give sigmoid(8 * [the consensus occurs on the forward strand] - 4): about
0.98 with the motif, 0.02 without.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

TOY_MEME = ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
            "MOTIF TOYA\nletter-probability matrix: alength= 4 w= 8\n"
            + "".join(" ".join("0.97" if b == i else "0.01" for b in range(4)) + "\n"
                      for i in (0, 2, 3, 3, 1, 0, 2, 1))
            + "\nMOTIF TOYB\nletter-probability matrix: alength= 4 w= 8\n"
            + "".join(" ".join("0.97" if b == i else "0.01" for b in range(4)) + "\n"
                      for i in (3, 1, 1, 0, 2, 3, 0, 0)))
TOYA = "AGTTCAGC"


def consensus_filter(consensus: str) -> tuple[np.ndarray, float]:
    """(w, 4) weights +1 at the consensus base, -1 elsewhere, and the bias -(w - 1): after a
    ReLU the filter gives 1 on an exact match and 0 on any mismatch."""
    w = np.full((len(consensus), 4), -1.0, dtype=np.float32)
    for k, base in enumerate(consensus):
        w[k, "ACGT".index(base)] = 1.0
    return w, -(len(consensus) - 1.0)


def keras_oracle(path: Path, length: int, consensus: str = TOYA, lambda_layer: bool = False) -> Path:
    from utils.models import import_keras

    keras = import_keras()
    layers = keras.layers
    w, bias = consensus_filter(consensus)
    inp = keras.Input(shape=(4, length), name="dna")                   # channels first
    x = layers.Permute((2, 1))(inp)
    if lambda_layer:
        x = layers.Lambda(lambda t: t * 1.0)(x)
    conv = layers.Conv1D(1, len(consensus), name="detector")
    x = layers.Activation("relu")(conv(x))
    x = layers.Flatten()(layers.MaxPooling1D(length - len(consensus) + 1)(x))
    prob = layers.Dense(1, activation="sigmoid", name="prob")
    other = layers.Dense(1, name="other")
    model = keras.Model(inp, [prob(x), other(x)])
    conv.set_weights([w[:, :, None], np.array([bias], dtype=np.float32)])
    prob.set_weights([np.array([[8.0]], dtype=np.float32), np.array([-4.0], dtype=np.float32)])
    other.set_weights([np.array([[-3.0]], dtype=np.float32), np.array([0.0], dtype=np.float32)])
    model.save(path)
    return path


def onnx_oracle(path: Path, length: int, consensus: str = TOYA, channels: int = 4) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w, bias = consensus_filter(consensus)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
        helper.make_node("Conv", ["xt", "W", "B"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("ReduceMax", ["r"], ["m"], axes=[2], keepdims=0),
        helper.make_node("Mul", ["m", "scale"], ["s"]),
        helper.make_node("Add", ["s", "shift"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["prob"]),
    ]
    weights = np.zeros((1, channels, len(consensus)), dtype=np.float32)   # extra channels: zero weights
    weights[0, :4, :] = w.T
    inits = [numpy_helper.from_array(weights, "W"),
             numpy_helper.from_array(np.array([bias], dtype=np.float32), "B"),
             numpy_helper.from_array(np.array([8.0], dtype=np.float32), "scale"),
             numpy_helper.from_array(np.array([-4.0], dtype=np.float32), "shift")]
    graph = helper.make_graph(nodes, "oracle",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", length, channels])],
                              [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


# ----------------------------------------------------------------------------- random-weight CNNs
# The suite's own CNN graph with random weights (and randomised batch-norm statistics, so the
# folded inference affine is not the identity): the fast paths (utils.cnn_graph, utils.fast_ism)
# must give what the plain Keras graph or a naive loop gives on it.
def random_cnn(length: int, seed: int = 0, **cfg):
    """A ``models.CNNPredictor`` over ``models.build_cnn(length, CNNConfig(**cfg))`` with every
    weight moved by N(0, 0.05) and batch-norm gamma, beta, mean, variance redrawn (seeded)."""
    from utils import models

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


def random_onehot(n: int, length: int, seed: int = 1) -> np.ndarray:
    """(n, length, 4) float32 one-hot of uniform random bases, n >= 4, with N bases (all-zero
    rows) at sequence 1 position 3, sequence 2's last position and sequence 3's first five."""
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]
    x[1, 3] = 0.0                  # N bases: every base is tried there
    x[2, length - 1] = 0.0
    x[3, :5] = 0.0
    return x


def naive_ism(predict, onehot: np.ndarray) -> np.ndarray:
    """ISM by the textbook loop: the reference utils.attribution.ism and utils.fast_ism are
    checked against. For each sequence, its variants are built position by position, base by
    base, and sent in one ``predict`` call: (M, L, 4) float32 -> (M,) outputs.

    Returns (N, L, 4) float64: at every position and every base not observed there (all four
    at an N), the output with that base minus the sequence's own output; 0 at observed bases.
    """
    x = np.asarray(onehot, dtype=np.float32)
    out = np.zeros(x.shape, dtype=np.float64)
    for i in range(len(x)):
        where, variants = [], [x[i]]
        for pos in range(x.shape[1]):
            for base in range(4):
                if x[i, pos, base] != 1:
                    variant = x[i].copy()
                    variant[pos, :] = 0.0
                    variant[pos, base] = 1.0
                    where.append((pos, base))
                    variants.append(variant)
        outputs = np.asarray(predict(np.stack(variants))).reshape(-1).astype(np.float64)
        for (pos, base), value in zip(where, outputs[1:]):
            out[i, pos, base] = value - outputs[0]
    return out
