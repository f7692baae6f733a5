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
