"""The suite's dilated CNN read back from its Keras graph, and run as plain TensorFlow ops.

Either first activation (relu or exponential) is read, and a mixed first layer (``exp_filters``:
exponential filters beside the others, read as one convolution whose last channels take exp());
other graphs (basic, koo_local, koo_dist, files from elsewhere) are not, and run through Keras as
they are. Batch normalization before the first activation (``bn1``) folds into ``conv1``, before the
dense relu (``bn_dense``) into ``dense``.

:func:`tower_layout` checks, layer by layer (names and kinds), that a Keras model is the graph
:func:`utils.models.build_cnn` makes with ``architecture="dilated"`` (either final pooling)
and returns its weights as numpy arrays, batch normalization reduced to its inference
affine. :class:`FoldedForward` runs that graph with each batch normalization folded into its
convolution, and the dilated convolutions as one oneDNN convolution each (Keras runs them as
SpaceToBatchND / convolution / BatchToSpaceND, and the normalization as separate ops): the
same logits within 1e-5, about twice as many sequences per second on 2 CPU cores (200 bp,
three layers: 29,000 -> 55,000 per s). :mod:`utils.fast_ism` builds on the same layout.
Training, gradients and DeepSHAP keep the Keras graph.
"""
from __future__ import annotations

import numpy as np


def tower_layout(keras_model) -> dict | None:
    """The weights of a suite dilated CNN as numpy arrays, or None if the graph is another.

    Returns ``{"conv1": (kernel (K, 4, F), bias), "act1": "relu" | "exponential" (the first
    activation, layer ``relu1`` or ``exp1``), "pool": P, "proj": None, or the 1x1 convolution
    ``proj1`` to the tower's width as (kernel (C, F), bias), "tower": [(kernel (3, F, F),
    bias, dilation, scale, shift)], "act1_filters": None, or for a mixed first layer the channels
    that take "act1" (the rest take exp()), "final": "max" | "maxavg" | "positions", "final_pool": its pool size
    in pooled steps (positions), "dense": (w, b), "logit": (w, b),
    "head": "sigmoid" | "value"}`` (a value head's "logit" is its linear output unit),
    where ``scale`` and ``shift`` are batch normalization at inference (ones and zeros without it).
    """
    keras_model = getattr(keras_model, "keras_model", keras_model)
    if keras_model is None or not hasattr(keras_model, "layers"):
        return None
    names = [layer.name for layer in keras_model.layers]
    mixed = names[2:3] == ["conv1_exp"]          # exp_filters: a second, exponential first convolution
    if mixed:
        if not _mixed_first_layer_ok(keras_model, names):
            return None
        names = [n for n in names if n not in ("conv1_exp", "bn1_exp", "exp1_mixed", "act1_concat")]
    if "bn1" in names[2:3]:                      # first_batch_norm: folded into conv1 below
        names.remove("bn1")
    if "bn_dense" in names:                      # dense_batch_norm: folded into the dense layer below
        names.remove("bn_dense")
    projected = names[5:6] == ["proj1"]          # tower_filters: a 1x1 convolution to the tower's width
    if projected:
        names.remove("proj1")
    first_act = {"relu1": "relu", "exp1": "exponential"}.get(names[2] if len(names) > 2 else None)
    expected_head = ["onehot", "conv1", names[2] if first_act else "relu1", "pool1", "drop1"]
    sigmoid_tail = ["pool_all", "flatten", "dense", "relu_dense", "drop_dense", "logit", "prob"]
    value_tail = ["pool_all", "flatten", "dense", "relu_dense", "drop_dense", "value"]   # activity targets
    maxavg_head = ["pool_max", "pool_avg", "flat_max", "flat_avg"]     # Keras' topological order
    if names[:5] != expected_head:
        return None
    if names[-7:] == sigmoid_tail:
        head, t, out_name = "sigmoid", 7, "logit"
    elif names[-6:] == value_tail:
        head, t, out_name = "value", 6, "value"
    else:
        return None
    final = "maxavg" if names[-(t + 4):-t] == maxavg_head else "max"
    middle = names[5:-(t + 4)] if final == "maxavg" else names[5:-t]
    depth = sum(1 for n in middle if n.startswith("dilated"))
    if depth == 0:
        return None
    bn = any(n.startswith("bn_dilated") for n in middle)
    per_block = ["dilated{}", "bn_dilated{}", "relu_dilated{}", "residual{}"] if bn else \
        ["dilated{}", "relu_dilated{}", "residual{}"]
    if middle != [p.format(i + 1) for i in range(depth) for p in per_block]:
        return None
    conv1, pool1 = keras_model.get_layer("conv1"), keras_model.get_layer("pool1")
    checks = [
        conv1.__class__.__name__ == "Conv1D" and conv1.padding == "valid" and tuple(conv1.strides) == (1,)
        and tuple(conv1.dilation_rate) == (1,) and conv1.activation.__name__ == "linear" and conv1.use_bias,
        keras_model.get_layer(names[2]).activation.__name__ == first_act,
        pool1.__class__.__name__ == "MaxPooling1D" and pool1.padding == "valid"
        and tuple(pool1.strides) == tuple(pool1.pool_size),
        _final_pool_ok(keras_model, final),
        not projected or _projection_ok(keras_model.get_layer("proj1")),
        keras_model.get_layer("relu_dense").activation.__name__ == "relu",
        keras_model.get_layer("dense").activation.__name__ == "linear",
        keras_model.get_layer(out_name).activation.__name__ == "linear",
        head == "value" or keras_model.get_layer("prob").activation.__name__ == "sigmoid",
    ]
    if not all(checks):
        return None
    pool = int(pool1.pool_size[0])
    width = (int(keras_model.input_shape[1]) - int(conv1.kernel_size[0]) + 1) // pool
    pools = ["pool_max", "pool_avg"] if final == "maxavg" else ["pool_all"]
    final_pool = int(keras_model.get_layer(pools[0]).pool_size[0])
    if final == "max" and final_pool != width:
        # a max over part of the length keeps positions (build_cnn's final_pool="positions")
        if keras_model.get_layer("pool_all").padding != "same" or final_pool > width:
            return None
        final = "positions"
    if final == "maxavg" and any(int(keras_model.get_layer(n).pool_size[0]) != width for n in pools):
        return None
    tower = []
    for i in range(1, depth + 1):
        conv = keras_model.get_layer(f"dilated{i}")
        if not (conv.padding == "same" and int(conv.kernel_size[0]) == 3 and tuple(conv.strides) == (1,)
                and conv.activation.__name__ == "linear" and conv.use_bias
                and keras_model.get_layer(f"relu_dilated{i}").activation.__name__ == "relu"):
            return None
        kernel, bias = (np.asarray(w, dtype=np.float32) for w in conv.get_weights())
        filters = kernel.shape[2]
        scale, shift = _inference_affine(keras_model.get_layer(f"bn_dilated{i}"), filters) if bn else \
            (np.ones(filters, np.float32), np.zeros(filters, np.float32))
        tower.append((kernel, bias, int(conv.dilation_rate[0]), scale, shift))
    return {
        "conv1": _first_convolution(keras_model, conv1, mixed),
        "act1": first_act,
        "act1_filters": int(conv1.filters) if mixed else None,   # mixed: the channels after these are exponential
        "pool": pool,
        "proj": tuple(np.asarray(w, np.float32)[0] if w.ndim == 3 else np.asarray(w, np.float32)
                      for w in keras_model.get_layer("proj1").get_weights()) if projected else None,
        "tower": tower,
        "final": final,
        "final_pool": final_pool,
        "dense": _folded(keras_model, keras_model.get_layer("dense"), "bn_dense"),
        "logit": tuple(np.asarray(w, np.float32) for w in keras_model.get_layer(out_name).get_weights()),
        "width": width,
        "head": head,          # sigmoid: "logit" is the pre-sigmoid unit; value: the output itself
    }


def _projection_ok(proj) -> bool:
    """build_cnn's proj1: a linear 1x1 convolution with a bias."""
    return (proj.__class__.__name__ == "Conv1D" and tuple(proj.kernel_size) == (1,) and proj.use_bias
            and proj.activation.__name__ == "linear" and tuple(proj.strides) == (1,)
            and tuple(proj.dilation_rate) == (1,))


def _mixed_first_layer_ok(keras_model, names) -> bool:
    """build_cnn's mixed first layer (``exp_filters``): conv1 -> [bn1] -> relu1 (or exp1) beside
    conv1_exp -> [bn1_exp] -> exp1_mixed, concatenated in that order into act1_concat -> pool1."""
    bn = "bn1" in names
    head = ["onehot", "conv1", "conv1_exp", *(["bn1", "bn1_exp"] if bn else []),
            None, "exp1_mixed", "act1_concat", "pool1"]
    if len(names) < len(head) or any(h is not None and n != h for n, h in zip(names, head)):
        return False
    first, second = keras_model.get_layer("conv1"), keras_model.get_layer("conv1_exp")
    act = keras_model.get_layer(names[len(head) - 4])
    concat = keras_model.get_layer("act1_concat")
    inputs = [t.name for t in concat.input] if isinstance(concat.input, (list, tuple)) else []
    return (second.__class__.__name__ == "Conv1D" and second.padding == "valid" and second.use_bias
            and second.activation.__name__ == "linear" and tuple(second.strides) == (1,)
            and tuple(second.dilation_rate) == (1,) and second.kernel_size == first.kernel_size
            and act.name in ("relu1", "exp1")
            and keras_model.get_layer("exp1_mixed").activation.__name__ == "exponential"
            and concat.__class__.__name__ == "Concatenate" and concat.axis in (-1, 2)
            and inputs == [act.output.name, keras_model.get_layer("exp1_mixed").output.name])


def _first_convolution(keras_model, conv1, mixed: bool) -> tuple[np.ndarray, np.ndarray]:
    """conv1's (kernel, bias), its batch norm folded in; a mixed first layer's two convolutions
    side by side (conv1's filters first, then conv1_exp's), as act1_concat orders them."""
    kernel, bias = _folded(keras_model, conv1, "bn1")
    if not mixed:
        return kernel, bias
    kernel_exp, bias_exp = _folded(keras_model, keras_model.get_layer("conv1_exp"), "bn1_exp")
    return np.concatenate([kernel, kernel_exp], axis=-1), np.concatenate([bias, bias_exp])


def _inference_affine(norm, units: int) -> tuple[np.ndarray, np.ndarray]:
    """A BatchNormalization layer at inference as ``x * scale + shift`` per unit."""
    gamma = np.asarray(norm.gamma, np.float32) if norm.scale else np.ones(units, np.float32)
    beta = np.asarray(norm.beta, np.float32) if norm.center else np.zeros(units, np.float32)
    mean = np.asarray(norm.moving_mean, np.float32)
    var = np.asarray(norm.moving_variance, np.float32)
    scale = gamma / np.sqrt(var + np.float32(norm.epsilon))
    return scale, beta - mean * scale


def _folded(keras_model, layer, norm_name: str) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, bias) of ``layer`` with the batch normalization ``norm_name`` that follows it
    (build_cnn's first_batch_norm / dense_batch_norm) folded in, when the graph has one."""
    kernel, bias = (np.asarray(w, np.float32) for w in layer.get_weights())
    if norm_name not in {lay.name for lay in keras_model.layers}:
        return kernel, bias
    scale, shift = _inference_affine(keras_model.get_layer(norm_name), kernel.shape[-1])
    return kernel * scale, bias * scale + shift


def _final_pool_ok(keras_model, final: str) -> bool:
    """The pooling over the whole length is the one build_cnn makes for ``final``."""
    def kind(name):
        return keras_model.get_layer(name).__class__.__name__

    if final == "max":
        return kind("pool_all") == "MaxPooling1D"
    pool_max, pool_avg = keras_model.get_layer("pool_max"), keras_model.get_layer("pool_avg")
    concat = keras_model.get_layer("pool_all")
    inputs = [t.name for t in concat.input] if isinstance(concat.input, (list, tuple)) else []
    flats = [keras_model.get_layer(n).output.name for n in ("flat_max", "flat_avg")]
    return (kind("pool_max") == "MaxPooling1D" and kind("pool_avg") == "AveragePooling1D"
            and pool_max.padding == "valid" and pool_avg.padding == "valid"
            and kind("pool_all") == "Concatenate" and inputs == flats)


class FoldedForward:
    """The logit of a suite dilated CNN: (N, L, 4) float32 -> (N, 1), one compiled graph."""

    def __init__(self, layout: dict, input_length: int):
        import tensorflow as tf

        self.tf = tf
        self.layout = layout
        self.final = layout["final"]
        self.pool = layout["pool"]
        self.k1, self.b1 = (tf.constant(a) for a in layout["conv1"])
        act = tf.exp if layout.get("act1") == "exponential" else tf.nn.relu     # the first activation
        split = layout.get("act1_filters")
        if split is None:
            self.act1 = act
        else:                       # a mixed first layer: the channels past ``split`` are exponential
            self.act1 = lambda h: tf.concat([act(h[..., :split]), tf.exp(h[..., split:])], axis=-1)
        # batch norm folded in: relu(conv(x, k * scale) + b * scale + shift), one oneDNN kernel
        self.tower = [(tf.constant(k * sc), tf.constant(b * sc + sh), d) for k, b, d, sc, sh in layout["tower"]]
        proj = layout.get("proj")
        self.proj = None if proj is None else (tf.constant(proj[0]), tf.constant(proj[1]))
        self.wd, self.bd = (tf.constant(a) for a in layout["dense"])
        self.wl, self.bl = (tf.constant(a) for a in layout["logit"])
        signature = [tf.TensorSpec([None, int(input_length), 4], tf.float32)]
        self.logit = tf.function(self._logit, input_signature=signature)
        if layout.get("head", "sigmoid") == "sigmoid":
            self.prob = tf.function(lambda x: tf.sigmoid(self._logit(x)), input_signature=signature)
        else:                       # a regression: the value is the output, no sigmoid
            self.prob = self.logit

    def project(self, h):
        """The first layer's pooled output to the tower's width (proj1), or as it is."""
        if self.proj is None:
            return h
        return self.tf.nn.bias_add(self.tf.nn.conv1d(h, self.proj[0][None], stride=1, padding="VALID"), self.proj[1])

    def head(self, pooled):
        """Dense -> ReLU -> logit on the pooled tower output: (N, F or 2F) -> (N, 1)."""
        tf = self.tf
        hidden = tf.nn.relu(tf.matmul(pooled, self.wd) + self.bd)
        return tf.matmul(hidden, self.wl) + self.bl

    def _logit(self, x):
        tf = self.tf
        h = self.act1(tf.nn.bias_add(tf.nn.conv1d(x, self.k1, stride=1, padding="VALID"), self.b1))
        h = self.project(tf.nn.max_pool1d(h, self.pool, self.pool, "VALID"))
        for kernel, bias, d in self.tower:          # 'same' padding of a kernel-3 convolution: d each side
            padded = tf.pad(h, [[0, 0], [d, d], [0, 0]])
            h = h + tf.nn.relu(tf.nn.bias_add(
                tf.nn.conv1d(padded, kernel, stride=1, padding="VALID", dilations=d), bias))
        if self.final == "positions":       # binned max, then Keras' Flatten (position-major)
            k = self.layout["final_pool"]
            binned = tf.nn.max_pool1d(h, k, k, "SAME")
            return self.head(tf.reshape(binned, [-1, binned.shape[1] * binned.shape[2]]))
        pooled = tf.reduce_max(h, axis=1)
        if self.final == "maxavg":
            pooled = tf.concat([pooled, tf.reduce_mean(h, axis=1)], axis=1)
        return self.head(pooled)


def folded_forward(keras_model, input_length: int) -> FoldedForward | None:
    """A FoldedForward for a suite dilated CNN, or None when the graph is another."""
    layout = tower_layout(keras_model)
    return None if layout is None else FoldedForward(layout, input_length)
