"""Oracle models: every hand-built model of the tests, whose answers are known exactly.

Rule oracles (MotifFinder and below) find motifs with the data's own PWMs and thresholds and
output the planted rule's answer. Models from elsewhere fire on one motif's consensus:

``keras_oracle`` is a Keras model with channels-first input (N, 4, L) and two outputs;
``onnx_oracle`` an ONNX graph written with the onnx package's helpers (no PyTorch), input
(N, L, 4). Both give sigmoid(8 * [the consensus occurs on the forward strand] - 4): about
0.98 with the motif, 0.02 without.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from utils import motifs as motiflib
from utils.encoding import onehot_to_codes

TOY_MEME = ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
            "MOTIF TOYA\nletter-probability matrix: alength= 4 w= 8\n"
            + "".join(" ".join("0.97" if b == i else "0.01" for b in range(4)) + "\n"
                      for i in (0, 2, 3, 3, 1, 0, 2, 1))
            + "\nMOTIF TOYB\nletter-probability matrix: alength= 4 w= 8\n"
            + "".join(" ".join("0.97" if b == i else "0.01" for b in range(4)) + "\n"
                      for i in (3, 1, 1, 0, 2, 3, 0, 0)))
TOYA = "AGTTCAGC"
TOYB = "TCCAGTAA"


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


def keras_any_length_oracle(path: Path, consensus: str = TOYA) -> Path:
    """A Keras model of input length None: the consensus detector (Conv1D, ReLU), GlobalMaxPooling1D
    and a sigmoid unit, so sigmoid(4) on a sequence of any length holding the consensus, sigmoid(-4)
    on one without it."""
    from utils.models import import_keras

    keras = import_keras()
    layers = keras.layers
    w, bias = consensus_filter(consensus)
    inp = keras.Input(shape=(None, 4), name="dna")
    conv = layers.Conv1D(1, len(consensus), name="detector")
    x = layers.GlobalMaxPooling1D()(layers.Activation("relu")(conv(inp)))
    prob = layers.Dense(1, activation="sigmoid", name="prob")
    model = keras.Model(inp, prob(x))
    conv.set_weights([w[:, :, None], np.array([bias], dtype=np.float32)])
    prob.set_weights([np.array([[8.0]], dtype=np.float32), np.array([-4.0], dtype=np.float32)])
    model.save(path)
    return path


def _save_onnx(path: Path, name: str, nodes, inits, inp, outputs) -> Path:
    """Write a checked opset-13 ONNX graph of ``nodes`` with one input and ``outputs``."""
    import onnx
    from onnx import helper

    graph = helper.make_graph(nodes, name, [inp], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def onnx_oracle(path: Path, length: int, consensus: str = TOYA, channels: int = 4) -> Path:
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
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", length, channels])
    out = helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 1])
    return _save_onnx(path, "oracle", nodes, inits, x, [out])


def keras_regression_oracle(path: Path, length: int, effects=(2.0, 1.0), interaction: float = 0.0) -> Path:
    """A Keras regression model (linear output, input (N, L, 4)): effects[0] x [TOYA occurs] +
    effects[1] x [TOYB occurs] + interaction x [both occur], exactly (forward strand)."""
    from utils.models import import_keras

    keras = import_keras()
    layers = keras.layers
    inp = keras.Input(shape=(length, 4), name="dna")
    conv = layers.Conv1D(2, len(TOYA), activation="relu", name="detectors")
    hits = layers.GlobalMaxPooling1D(name="hits")(conv(inp))               # (N, 2): 1 where a motif occurs
    additive = layers.Dense(1, name="additive")
    both = layers.Dense(1, use_bias=False, name="both")
    a_and_b = layers.Multiply(name="a_and_b")([layers.Dense(1, use_bias=False, name="pick_a")(hits),
                                                layers.Dense(1, use_bias=False, name="pick_b")(hits)])
    out = layers.Add(name="activity")([additive(hits), both(a_and_b)])
    model = keras.Model(inp, out)
    (wa, ba), (wb, bb) = consensus_filter(TOYA), consensus_filter(TOYB)
    model.get_layer("detectors").set_weights([np.stack([wa, wb], axis=-1), np.array([ba, bb], dtype=np.float32)])
    additive.set_weights([np.array([[effects[0]], [effects[1]]], dtype=np.float32), np.zeros(1, dtype=np.float32)])
    model.get_layer("pick_a").set_weights([np.array([[1.0], [0.0]], dtype=np.float32)])
    model.get_layer("pick_b").set_weights([np.array([[0.0], [1.0]], dtype=np.float32)])
    both.set_weights([np.array([[interaction]], dtype=np.float32)])
    model.save(path)
    return path


def onnx_regression_oracle(path: Path, length: int, effects=(2.0, 1.0), interaction: float = 0.0) -> Path:
    """The same regression as :func:`keras_regression_oracle`, as an ONNX graph (input (N, L, 4))."""
    from onnx import TensorProto, helper, numpy_helper

    (wa, ba), (wb, bb) = consensus_filter(TOYA), consensus_filter(TOYB)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
        helper.make_node("Conv", ["xt", "W", "B"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("ReduceMax", ["r"], ["hits"], axes=[2], keepdims=0),       # (N, 2)
        helper.make_node("MatMul", ["hits", "effects"], ["additive"]),              # (N, 1)
        helper.make_node("ReduceProd", ["hits"], ["both"], axes=[1], keepdims=1),   # (N, 1)
        helper.make_node("Mul", ["both", "interaction"], ["coop"]),
        helper.make_node("Add", ["additive", "coop"], ["activity"]),
    ]
    inits = [numpy_helper.from_array(np.stack([wa.T, wb.T]).astype(np.float32), "W"),
             numpy_helper.from_array(np.array([ba, bb], dtype=np.float32), "B"),
             numpy_helper.from_array(np.array([[effects[0]], [effects[1]]], dtype=np.float32), "effects"),
             numpy_helper.from_array(np.array([interaction], dtype=np.float32), "interaction")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", length, 4])
    out = helper.make_tensor_value_info("activity", TensorProto.FLOAT, ["N", 1])
    return _save_onnx(path, "regression_oracle", nodes, inits, x, [out])


def keras_profile_oracle(path: Path) -> Path:
    """The Keras twin of :func:`onnx_profile_oracle` (input (N, any length, 4)): a profile head
    (N, L - 7, 2) of TOYA's detector (1.0 and 0.5) and a counts head 1.7 x [TOYA occurs]."""
    from utils.models import import_keras

    keras = import_keras()
    layers = keras.layers
    inp = keras.Input(shape=(None, 4), name="dna")
    conv = layers.Conv1D(2, len(TOYA), activation="relu", name="profile")
    profile = conv(inp)
    counts = layers.Dense(1, use_bias=False, name="counts")
    out = counts(layers.GlobalMaxPooling1D()(profile))
    model = keras.Model(inp, [profile, out])
    w, bias = consensus_filter(TOYA)
    conv.set_weights([np.stack([w, 0.5 * w], axis=-1), np.array([bias, 0.5 * bias], dtype=np.float32)])
    counts.set_weights([np.array([[1.7], [0.0]], dtype=np.float32)])
    model.save(path)
    return path


def onnx_profile_oracle(path: Path) -> Path:
    """A BPNet-shaped ONNX graph of any input length: a profile head (N, 2, L) - TOYA's detector
    at the motif's first base, 1.0 on one track and 0.5 on the other - and a counts
    head (N, 1) of 1.7 x [TOYA occurs]."""
    from onnx import TensorProto, helper, numpy_helper

    w, bias = consensus_filter(TOYA)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
        helper.make_node("Conv", ["xt", "W", "B"], ["c"], pads=[0, len(TOYA) - 1]),   # (N, 2, L)
        helper.make_node("Relu", ["c"], ["profile"]),
        helper.make_node("ReduceMax", ["profile"], ["m"], axes=[1, 2], keepdims=0),      # (N,)
        helper.make_node("Unsqueeze", ["m", "one"], ["m1"]),
        helper.make_node("Mul", ["m1", "scale"], ["counts"]),
    ]
    weights = np.stack([w.T, 0.5 * w.T]).astype(np.float32)
    inits = [numpy_helper.from_array(weights, "W"),
             numpy_helper.from_array(np.array([bias, 0.5 * bias], dtype=np.float32), "B"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
             numpy_helper.from_array(np.array([1.7], dtype=np.float32), "scale")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "L", 4])
    outs = [helper.make_tensor_value_info("profile", TensorProto.FLOAT, ["N", 2, "L"]),
            helper.make_tensor_value_info("counts", TensorProto.FLOAT, ["N", 1])]
    return _save_onnx(path, "profile_oracle", nodes, inits, x, outs)


class CallbackModel:
    """What a Keras training callback touches of its model: a stop flag and the weights (none)."""
    stop_training = False

    def get_weights(self):
        return []

    def set_weights(self, weights):
        pass


# ----------------------------------------------------------------------------- rule oracles
# Models whose rule is known exactly, written with the data's own PWMs: the interpretation tests
# check verdicts and effects against them without training anything.


class MotifFinder:
    """Locates motifs in one-hot input with the data's own PWMs and chance thresholds."""

    def __init__(self, metadata):
        bg = np.array(metadata["background_dist"])
        self.lo = {m: motiflib.log_odds(motiflib.Motif(m, np.array(p)), bg) for m, p in metadata["pwms"].items()}
        self.th = metadata["chance_matches"]["thresholds"]
        self.input_length = metadata["seq_length"]

    def best_hit(self, onehot, motif, avoid=None) -> np.ndarray:
        """(N,) start of the best-scoring window of ``motif`` if it passes the threshold, else -1.

        The data plant consensus instances, which score highest, so the best window is the
        planted one even when a perturbation makes a weaker chance match elsewhere. ``avoid``
        (starts, width) masks windows overlapping another motif's hit: a planted motif plus
        a base of its flank can score as a weak motif (CTCF).
        """
        scores = motiflib.scan(onehot_to_codes(onehot), self.lo[motif])
        w = self.lo[motif].shape[0]
        if avoid is not None:
            starts, width = avoid
            pos = np.arange(scores.shape[1])[None, :]
            clash = (starts[:, None] >= 0) & (pos < starts[:, None] + width) & (starts[:, None] < pos + w)
            scores = np.where(clash, -np.inf, scores)
        best = scores.argmax(axis=1)
        return np.where(scores.max(axis=1) >= self.th[motif], best, -1)

    def pair_hits(self, onehot, a, b):
        pa = self.best_hit(onehot, a)
        return pa, self.best_hit(onehot, b, avoid=(pa, self.lo[a].shape[0]))


class PresenceOracle(MotifFinder):
    def __init__(self, metadata, motif):
        super().__init__(metadata)
        self.motif = motif

    def predict(self, onehot):
        return (self.best_hit(onehot, self.motif) >= 0).astype(np.float64)


class OrderOracle(MotifFinder):
    def __init__(self, metadata, a, b):
        super().__init__(metadata)
        self.a, self.b = a, b

    def predict(self, onehot):
        pa, pb = self.pair_hits(onehot, self.a, self.b)
        return ((pa >= 0) & (pb >= 0) & (pa < pb)).astype(np.float64)


class WindowOracle(MotifFinder):
    def __init__(self, metadata, a, b, lo, hi):
        super().__init__(metadata)
        self.a, self.b, self.lo_gap, self.hi_gap = a, b, lo, hi
        self.len = {m: len(p) for m, p in metadata["pwms"].items()}

    def predict(self, onehot):
        pa, pb = self.pair_hits(onehot, self.a, self.b)
        gap = np.where(pa < pb, pb - (pa + self.len[self.a]), pa - (pb + self.len[self.b]))
        return ((pa >= 0) & (pb >= 0) & (gap >= self.lo_gap) & (gap <= self.hi_gap)).astype(np.float64)


class PhasingOracle(WindowOracle):
    """Outputs 1 when the gap between A and B (either order) lies within ``tolerance`` bp of a
    positive multiple of ``period``: a helical phasing rule, exactly."""

    def __init__(self, metadata, a, b, period=10.5, tolerance=1.0):
        super().__init__(metadata, a, b, 0, 0)
        self.period, self.tolerance = period, tolerance

    def predict(self, onehot):
        pa, pb = self.pair_hits(onehot, self.a, self.b)
        gap = np.where(pa < pb, pb - (pa + self.len[self.a]), pa - (pb + self.len[self.b])).astype(np.float64)
        k = np.maximum(np.round(gap / self.period), 1)
        return ((pa >= 0) & (pb >= 0) & (np.abs(gap - k * self.period) <= self.tolerance + 1e-9)).astype(np.float64)


class OrientationOracle(MotifFinder):
    """Finds A and B on either strand (the best window of each, its strand the one that scores
    higher there) and outputs 1 when the pair stands in ``orientation``, upstream first; with
    ``orientation`` None it ignores strands and outputs 1 when both are found (presence of both)."""

    def __init__(self, metadata, a, b, orientation=None):
        super().__init__(metadata)
        self.a, self.b, self.orientation = a, b, orientation

    def strand_of(self, onehot, motif, start) -> np.ndarray:
        """(N,) '+' or '-': the strand on which the window at ``start`` scores higher."""
        codes = onehot_to_codes(onehot)
        lo = self.lo[motif]
        fwd = motiflib.scan(codes, lo, both_strands=False)
        rev = motiflib.scan(codes, lo[::-1, ::-1], both_strands=False)
        at = np.maximum(start, 0)[:, None]
        rows = np.take_along_axis(rev, at, 1)[:, 0] > np.take_along_axis(fwd, at, 1)[:, 0]
        return np.where(rows, "-", "+")

    def predict(self, onehot):
        from utils.planted import orientation_of

        pa, pb = self.pair_hits(onehot, self.a, self.b)
        both = (pa >= 0) & (pb >= 0)
        if self.orientation is None:
            return both.astype(np.float64)
        sa, sb = self.strand_of(onehot, self.a, pa), self.strand_of(onehot, self.b, pb)
        up, down = np.where(pa < pb, sa, sb), np.where(pa < pb, sb, sa)
        holds = np.array([orientation_of(u, d) == self.orientation for u, d in zip(up, down)], dtype=bool)
        return (both & holds).astype(np.float64)


class CopiesOracle(MotifFinder):
    """Counts the matches of ``motif`` (windows scoring at or above the data's match threshold on
    either strand, taken left to right, none overlapping the one taken before) and outputs 1 when
    there are at least ``threshold`` of them: a copies rule with K = ``threshold``, exactly; with
    ``threshold`` 1 it asks presence only."""

    both_strands = True          # False: counts forward-strand matches only (a model of plus-strand data)

    def __init__(self, metadata, motif, threshold):
        super().__init__(metadata)
        self.motif, self.threshold = motif, threshold

    def count(self, onehot) -> np.ndarray:
        """(N,) the number of non-overlapping matches of the motif."""
        scores = motiflib.scan(onehot_to_codes(onehot), self.lo[self.motif], self.both_strands)
        w = self.lo[self.motif].shape[0]
        out = np.zeros(len(scores), dtype=np.int64)
        last = np.full(len(scores), -w, dtype=np.int64)     # start of the match taken last in each row
        for r, c in zip(*np.nonzero(scores >= self.th[self.motif])):     # row-major: left to right
            if c >= last[r] + w:
                out[r] += 1
                last[r] = c
        return out

    def predict(self, onehot):
        return (self.count(onehot) >= self.threshold).astype(np.float64)


class ConstantOracle:
    def predict(self, onehot):
        return np.full(len(onehot), 0.7)


class RandomOracle:
    def __init__(self, seed):
        # not default_rng(seed): SeedSequence pads with zeros, so seed 0 would replay the
        # generator's label draw (default_rng([0, 0])) and tie the "random" output to the labels
        self.rng = np.random.default_rng([seed, 99991])

    def predict(self, onehot):
        return self.rng.random(len(onehot))


class PerSequenceWindowOracle(WindowOracle):
    """Positive when the gap lies in a window that depends on the sequence: [10, 30] when its
    first base is A or C, [25, 60] otherwise, so each row of a distance curve is one sequence."""

    def predict(self, onehot):
        pa, pb = self.pair_hits(onehot, self.a, self.b)
        gap = np.where(pa < pb, pb - (pa + self.len[self.a]), pa - (pb + self.len[self.b]))
        early = onehot[:, 0, :2].sum(axis=1) > 0
        lo, hi = np.where(early, 10, 25), np.where(early, 40, 60)
        return ((pa >= 0) & (pb >= 0) & (gap >= lo) & (gap <= hi)).astype(np.float64)


class ActivityOracle:
    """A regression oracle on exact consensus matches (forward strand): ``effects[m]`` per copy of
    motif m, plus ``interaction`` once when the first copies of ``pair`` (A, B) stand in the
    arrangement: A upstream of B with a gap in [lo, hi] (``window``), A upstream of B at any gap
    (``order``), or both present (``both``). ``logit``: output sigmoid(value) as a classifier."""
    kind = "oracle_activity"

    def __init__(self, length: int, effects: dict, pair=None, interaction: float = 0.0, arrangement: str = "both",
                 window=(0, 0), logit: bool = False):
        self.input_length, self.effects, self.pair = length, dict(effects), pair
        self.interaction, self.arrangement, self.window, self.logit = interaction, arrangement, window, logit
        self.output_kind = "probability" if logit else "value"

    @staticmethod
    def _starts(codes: np.ndarray, consensus: str) -> list[list[int]]:
        want = np.array(["ACGT".index(b) for b in consensus])
        w = len(want)
        windows = np.lib.stride_tricks.sliding_window_view(codes, w, axis=1)        # (N, L-w+1, w)
        hit = np.all(windows == want, axis=2)
        return [list(np.flatnonzero(row)) for row in hit]

    def value(self, onehot) -> np.ndarray:
        codes = onehot_to_codes(np.asarray(onehot))
        out = np.zeros(len(codes))
        starts = {m: self._starts(codes, m) for m in self.effects}
        for m, e in self.effects.items():
            out += e * np.array([len(s) for s in starts[m]])
        if self.pair is not None and self.interaction:
            a, b = self.pair
            for i, (sa, sb) in enumerate(zip(starts[a], starts[b])):
                if not sa or not sb:
                    continue
                gap = sb[0] - (sa[0] + len(a))
                holds = (self.arrangement == "both" or (self.arrangement == "order" and gap >= 0)
                         or (self.arrangement == "window" and self.window[0] <= gap <= self.window[1]))
                out[i] += self.interaction if holds else 0.0
        return out

    def predict(self, onehot):
        v = self.value(onehot)
        return 1 / (1 + np.exp(-v)) if self.logit else v

    def predict_logit(self, onehot):
        return self.value(onehot)


class LogicOracle:
    """A classifier on exact consensus matches (forward strand) of ``motifs``: logit +4 when the
    number present satisfies ``logic`` (any: 1 or more; all; xor: exactly one; at_least: ``k`` or
    more), -4 otherwise; ``additive=(bias, effect)``: logit = bias + effect x the number present."""
    kind = "oracle_logic"
    output_kind = "probability"

    def __init__(self, length: int, motifs, logic: str = "any", k: int | None = None, additive=None):
        self.input_length, self.motifs, self.logic, self.k, self.additive = length, list(motifs), logic, k, additive

    def predict_logit(self, onehot):
        codes = onehot_to_codes(np.asarray(onehot))
        count = np.sum([[bool(s) for s in ActivityOracle._starts(codes, m)] for m in self.motifs], axis=0)
        if self.additive is not None:
            return self.additive[0] + self.additive[1] * count
        n = len(self.motifs)
        holds = {"any": count >= 1, "all": count == n, "xor": count == 1,
                 "at_least": count >= (self.k or 1)}[self.logic]
        return np.where(holds, 4.0, -4.0)

    def predict(self, onehot):
        return 1 / (1 + np.exp(-self.predict_logit(onehot)))


# ----------------------------------------------------------------------------- attribution oracles
# Predictors of the Predictor protocol (utils.models) whose attributions are known by hand; used
# by tests/test_attribution.py. ``predict_logit = predict`` makes the methods explain that output.
ATTR_MOTIF = "GGGTTTGT"    # no border (no proper prefix equals a suffix): one mutation cannot recreate it


class LinearOracle:
    """output = sum(W * X): every base at every position adds a known amount. W: (L, 4)."""
    kind = "oracle_linear"

    def __init__(self, weights: np.ndarray):
        self.weights = weights
        self.input_length = weights.shape[0]
        self.calls = 0

    def predict(self, onehot):
        self.calls += 1
        return np.einsum("nlb,lb->n", np.asarray(onehot, dtype=np.float64), self.weights)

    predict_logit = predict


class MotifOracle:
    """output = 1 when the sequence holds ``motif`` (default :data:`ATTR_MOTIF`) exactly, else 0."""
    kind = "oracle_motif"

    def __init__(self, length: int, motif: str = ATTR_MOTIF):
        self.input_length = length
        self.motif = motif

    def predict(self, onehot):
        letters = np.array(list("ACGT"))[np.asarray(onehot).argmax(-1)]
        return np.array([float(self.motif in "".join(row)) for row in letters])

    predict_logit = predict


class ConstantProb:
    """A probability-only predictor (no logit): 0.3 for every sequence of 10 bp."""
    input_length = 10

    def predict(self, onehot):
        return np.full(len(onehot), 0.3)


class KerasPredictor:
    """A Keras graph behind the Predictor protocol: ``keras_model`` gives the probability,
    ``logit_model`` the logit the gradient methods explain."""

    def __init__(self, kind: str, keras_model, logit_model, length: int):
        self.kind, self.keras_model, self.logit_model, self.input_length = kind, keras_model, logit_model, length

    def predict(self, onehot):
        return np.asarray(self.keras_model.predict_on_batch(np.asarray(onehot, np.float32)),
                          dtype=np.float64).reshape(-1)

    def predict_logit(self, onehot):
        return np.asarray(self.logit_model.predict_on_batch(np.asarray(onehot, np.float32)),
                          dtype=np.float64).reshape(-1)


def tiny_keras_cnn(length: int = 30, seed: int = 0) -> KerasPredictor:
    """Conv1D(3, 5, relu) -> global max pool -> Dense(1) logit -> sigmoid, random seeded weights
    (non-linear: DeepSHAP's rescale rule and max pooling are exercised)."""
    from utils.models import import_keras

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((length, 4))
    h = keras.layers.Conv1D(3, 5, activation="relu")(inputs)
    h = keras.layers.Flatten()(keras.layers.MaxPooling1D(pool_size=length - 4)(h))
    logit = keras.layers.Dense(1)(h)
    prob = keras.layers.Activation("sigmoid")(logit)
    return KerasPredictor("tiny_cnn", keras.Model(inputs, prob), keras.Model(inputs, logit), length)


def keras_linear(weights: np.ndarray, bias: float = 0.0) -> KerasPredictor:
    """logit = sum(W * X) + bias as a Keras graph (Flatten -> Dense with these weights), W: (L, 4).

    Every method has a closed form here: saliency = W; ISM = W[j, b] - W[j, x_j]; DeepSHAP and
    (with one reference r) GradientSHAP = W * (x - mean reference)."""
    from utils.models import import_keras

    keras = import_keras()
    length = weights.shape[0]
    inputs = keras.Input((length, 4))
    dense = keras.layers.Dense(1)
    logit = dense(keras.layers.Flatten()(inputs))
    prob = keras.layers.Activation("sigmoid")(logit)
    dense.set_weights([np.asarray(weights, np.float32).reshape(-1, 1), np.array([bias], np.float32)])
    return KerasPredictor("linear_keras", keras.Model(inputs, prob), keras.Model(inputs, logit), length)


# ----------------------------------------------------------------------------- random-weight CNNs
# The suite's own CNN graph with random weights (and randomised batch-norm statistics, so the
# folded inference affine is not the identity): the fast paths (utils.cnn_graph, utils.fast_ism)
# must give what the plain Keras graph or a naive loop gives on it.
def random_cnn(length: int, seed: int = 0, output_kind: str = "probability", **cfg):
    """A ``models.CNNPredictor`` over ``models.build_cnn(length, CNNConfig(**cfg))`` with every
    weight moved by N(0, 0.05) and batch-norm gamma, beta, mean, variance redrawn (seeded);
    ``output_kind="value"``: the regression graph and a ``models.CNNValuePredictor``."""
    from utils import models

    keras = models.import_keras()
    keras.utils.set_random_seed(seed)
    model = models.build_cnn(length, models.CNNConfig(**cfg), output_kind=output_kind)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if layer.name.startswith("bn"):        # bn1, bn_dense, bn_dilated*, the koo blocks' bn*
            gamma, beta, mean, var = weights
            layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(0, 0.3, beta.shape),
                               rng.normal(0, 0.3, mean.shape), rng.uniform(0.5, 2, var.shape)])
        elif weights:
            layer.set_weights([w + rng.normal(0, 0.05, w.shape) for w in weights])
    return (models.CNNValuePredictor if output_kind == "value" else models.CNNPredictor)(model, length)


def float32_tolerance(predictor, x: np.ndarray, effects: np.ndarray) -> float:
    """How far two float32 evaluations of ISM ``effects`` (logit differences) on ``x`` may part:
    2e-5, or 4e-6 of the largest |logit|, or 1e-4 of the largest |effect|, whichever is more.
    Random exponential first layers with redrawn batch norms reach logits of 10-40 and hidden
    units in the hundreds, whose float32 steps (3e-5 at 256) survive into the differences; an
    error in the code moves effects by far more."""
    return max(2e-5, 4e-6 * float(np.abs(predictor.predict_logit(x)).max()), 1e-4 * float(np.abs(effects).max()))


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


# ----------------------------------------------------------------------------- test doubles
class Spy:
    """Records each call's arguments, then calls the real function."""

    def __init__(self, function):
        self.function, self.calls = function, []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.function(*args, **kwargs)


class PositionOracle(MotifFinder):
    """Finds A (its best window, as the other oracles do) and outputs 1 when it starts inside
    ``region`` [start, end) (0-based, end exclusive), else 0."""

    def __init__(self, metadata, motif, region):
        super().__init__(metadata)
        self.motif, self.region = motif, tuple(region)

    def predict(self, onehot):
        p = self.best_hit(onehot, self.motif)
        return ((p >= self.region[0]) & (p < self.region[1])).astype(np.float64)


class CodeOracle(CopiesOracle):
    """Counts the matches of each of ``motifs`` (as :class:`CopiesOracle` does for one) and outputs 1 when
    there are at least ``threshold`` of them together: a code rule with K = ``threshold``, exactly; with
    ``threshold`` 1 it asks presence of any of them only."""

    def __init__(self, metadata, motifs, threshold):
        super().__init__(metadata, motifs[0], threshold)
        self.motifs = tuple(motifs)
        # a consensus-only motif's threshold is its consensus score: the float32 scan may fall 1e-6 short of it
        self.th = {m: t - 1e-4 for m, t in self.th.items()}

    def count(self, onehot) -> np.ndarray:
        total = np.zeros(len(onehot), dtype=np.int64)
        for m in self.motifs:
            self.motif = m
            total += super().count(onehot)
        return total
