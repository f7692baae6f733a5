"""Model kinds behind one interface: the Predictor protocol, building, saving and loading.

Interpretation sees every trained model as ``predict(onehot) -> output``, with
``onehot`` float32 of shape ``(N, L, 4)`` and ``output`` float32 of shape ``(N,)``, and
the predictor's ``output_kind`` saying what that output is (a probability, or a value in
the model's own units for a regression). A new model kind is one new Predictor class here
plus an entry in :func:`load` and :func:`save_model`.

Kinds (each for a class target, 0/1 labels, or an activity target, real-valued labels):
- ``cnn``: a Keras 1-D CNN over the one-hot sequence (Eraslan et al. 2019 style),
  saved as ``model.keras`` and loaded with ``safe_mode=True``; for an activity target the
  same graph ends in a linear unit (no sigmoid).
- ``kmer_logistic`` (class) / ``kmer_ridge`` (activity) / ``kmer_gbt`` (either: classifier
  or regressor): scikit-learn models on k-mer counts (:func:`utils.encoding.kmer_counts`),
  saved through skops as ``model.skops`` and loaded only if the file holds nothing beyond
  an explicit allow-list of types.

TensorFlow is imported only where a CNN is built or loaded, so k-mer models stay light.
"""
from __future__ import annotations

import os
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from utils.augment import reverse_complement
from utils.encoding import ALPHABET, kmer_counts, kmer_index
from utils.folders import ModelFolder, read_model_json
from utils.io import InputError

KINDS = ("cnn", "kmer_logistic", "kmer_gbt", "kmer_ridge")
CLASS_KINDS = ("cnn", "kmer_logistic", "kmer_gbt")          # kinds that fit 0/1 labels
ACTIVITY_KINDS = ("cnn", "kmer_ridge", "kmer_gbt")          # kinds that fit real-valued labels
TARGET_KINDS = {"class": CLASS_KINDS, "activity": ACTIVITY_KINDS}
PREDICT_BATCH = 1024          # sequences per forward pass: amortises call cost; on 2 CPU cores 512-1024
                              # ran ~40% faster than 4096 (activations stay in cache)

# Every type a k-mer model file may hold beyond skops' own trusted defaults
# (numpy, builtins, sklearn loss objects). Anything else in a file is refused.
SKOPS_TRUSTED = [
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # the regressions of an activity target
    "sklearn.linear_model._ridge.RidgeCV",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
]


def import_keras():
    """Import Keras (and TensorFlow under it) without TensorFlow's start-up lines on stderr.

    On a machine without a GPU, TensorFlow's C++ layer writes lines about missing CUDA
    drivers before its logging is configured; they would bury the scripts' one-line
    errors. stderr is muted only while the import runs; an import error still raises.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import keras
        import tensorflow  # noqa: F401 - Keras' backend; imported here so its chatter is muted too
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    # TensorFlow's Python-side notes (e.g. "triggered tf.function retracing") are for its
    # developers, not for a user reading the scripts' output
    import tensorflow as tf
    tf.get_logger().setLevel("ERROR")
    from utils import cores

    cores.configure_tensorflow(tf)       # --threads: before any op runs
    return keras


OUTPUT_KINDS = ("probability", "logit", "value")


def effect_unit(output_kind: str) -> str:
    """The unit effects are measured in: a classifier's probability (a logit output is passed
    through the sigmoid), or a value output's own units."""
    return "value" if output_kind == "value" else "probability"


class Predictor(Protocol):
    """What interpretation may use: a black box from one-hot batches to its output.

    ``output_kind`` says what the model computes: ``probability`` (a sigmoid output), ``logit``
    (a linear output read as log-odds of 0/1 labels) or ``value`` (a regression: activity,
    log-counts, a profile reduced to one number). ``predict`` returns the probability for the
    first two and the value itself for ``value``; ``predict_logit`` the pre-sigmoid output for
    the first two and the value again for ``value`` (what gradient methods explain).

    The suite's own classes state it: its classifiers (:class:`CNNPredictor`,
    :class:`KmerPredictor`) ``probability``, its regressions trained on an activity target
    (:class:`CNNValuePredictor`, :class:`KmerValuePredictor`) ``value``."""
    kind: str
    input_length: int
    output_kind: str

    def predict(self, onehot: np.ndarray) -> np.ndarray:
        """(N, L, 4) float32 one-hot -> (N,) float32 probability of the positive class, or value."""

    def predict_logit(self, onehot: np.ndarray) -> np.ndarray:
        """(N, L, 4) -> (N,) float32 log-odds of the positive class, or the value."""


class _BatchedPredictor:
    """Shared input check and chunking; subclasses give ``_prob`` and ``_logit`` per chunk."""
    kind = ""
    output_kind = "probability"
    keras_model = None          # a Keras graph for the gradient methods, where the kind has one

    def __init__(self, input_length: int | None):
        self.input_length = None if input_length is None else int(input_length)   # None: any length

    def check_input(self, onehot) -> np.ndarray:
        x = np.asarray(onehot, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != 4:
            raise InputError(f"the {self.kind} model takes one-hot input of shape (N, L, 4); "
                             f"got shape {tuple(x.shape)}")
        if self.input_length is not None and x.shape[1] != self.input_length:
            raise InputError(f"the {self.kind} model was trained on {self.input_length} bp sequences "
                             f"but was given {x.shape[1]} bp; use data of the training length")
        return x

    def _batched(self, onehot, fn) -> np.ndarray:
        x = self.check_input(onehot)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        out = [np.asarray(fn(self._padded(x[i:i + PREDICT_BATCH]))).reshape(-1)[:min(PREDICT_BATCH, len(x) - i)]
               for i in range(0, len(x), PREDICT_BATCH)]
        return np.concatenate(out).astype(np.float32)

    def _padded(self, chunk: np.ndarray) -> np.ndarray:
        """Identity here; the CNN pads chunks to a few fixed sizes (see CNNPredictor)."""
        return chunk

    def predict(self, onehot) -> np.ndarray:
        return self._batched(onehot, self._prob)

    def predict_logit(self, onehot) -> np.ndarray:
        return self._batched(onehot, self._logit)


# ----------------------------------------------------------------------------- CNN
ARCHITECTURES = ("dilated", "basic", "koo_local", "koo_dist")
KOO_ARCHITECTURES = ("koo_local", "koo_dist")
FIRST_ACTIVATIONS = ("relu", "exponential")
FIRST_ACTIVATION_LAYER = {"relu": "relu1", "exponential": "exp1"}    # the first activation's layer name

# Koo & Ploenzke 2021's CNN-local and CNN-dist, rebuilt from their model zoo
# (p-koo/exponential_activations, code/model_zoo/cnn_local.py and code/model_zoo/cnn_dist.py; the
# blocks are their code/tfomics/layers.py conv_layer and dense_layer: Conv1D without bias ->
# BatchNormalization -> activation -> Dropout, then the MaxPool1D; L2 1e-6 on every kernel but the
# output unit's). Their first block's activation is the one under study (relu or exponential);
# every later one is relu. Per conv block: (filters, kernel bp, padding, dropout, pool size or None,
# pool padding). Their input is fixed at 200 bp; here it is the data's length.
KOO_BLOCKS = {
    "koo_local": ((24, 19, "same", 0.1, 50, "valid"),
                  (48, 3, "same", 0.2, 2, "valid")),
    "koo_dist": ((24, 19, "same", 0.1, None, None),
                 (32, 7, "same", 0.2, 4, "valid"),
                 (48, 7, "valid", 0.3, 4, "valid"),
                 (64, 3, "valid", 0.4, 3, "same")),
}
KOO_DENSE = (96, 0.5)           # units, dropout of their dense block (batch norm, relu)
KOO_L2 = 1e-6
KOO_FIXED_FLAGS = ("filters", "kernel_size", "pool_size", "dropout", "final_pool", "dilated_layers", "dilation_base",
                   "conv_blocks", "first_batch_norm", "dense_batch_norm", "exp_filters",
                   "tower_filters")   # Train_models.py flags the published architectures do not take
ARCHITECTURE_ONLY_FLAGS = {"dilated": ("dilated_layers", "dilation_base", "tower_filters"),   # the tower's
                           "basic": ("conv_blocks",)}     # flags the other of dilated / basic has no use for
# The first layer's defaults per architecture (CNNConfig fields left None). dilated: issue 24's
# mixed first layer (docs/benchmarks.md, "The default since issue 24"); basic: as it was.
FIRST_LAYER_DEFAULTS = {
    "dilated": {"pool_size": 2, "exp_filters": 32, "first_batch_norm": True, "dense_batch_norm": True},
    "basic": {"pool_size": 4, "exp_filters": 0, "first_batch_norm": False, "dense_batch_norm": False},
}
# The dropout a CNNConfig left at None takes, per architecture and target (class: a classifier;
# activity: a regression). dilated classifiers 0.3 since 2026-12-07: at 5,000 sequences they
# memorized less and no bench_learnability row lost; a regression with 0.3 lost bench_quantitative's
# additive rule (docs/benchmarks.md, "Dropout 0.3, the default since 2026-12-07"), so it keeps 0.1.
DROPOUT_DEFAULTS = {"dilated": {"class": 0.3, "activity": 0.1}, "basic": {"class": 0.1, "activity": 0.1}}


def default_dropout(architecture: str, target: str) -> float:
    """The dropout of :data:`DROPOUT_DEFAULTS` for ``architecture`` and ``target`` (class or activity)."""
    return DROPOUT_DEFAULTS[architecture][target]


MIN_DILATED_LAYERS = 3
MAX_DILATED_LAYERS = 12
MAX_CNN_LENGTH = 10_000      # bp: one-hot training sets beyond this outgrow memory on a laptop


@dataclass(frozen=True)
class CNNConfig:
    """Architecture of the CNN; every field is recorded in model.json.

    ``dilated`` (default): Conv1D motif detectors -> ReLU -> MaxPool -> a tower of residual
    blocks, each Conv1D(kernel 3, dilation base**i, same padding) -> ReLU -> added to its
    input (BPNet, Basenji) -> MaxPool over the whole length -> Dense -> logit -> sigmoid.
    ``dilated_layers`` None means: as many as the data's rule needs (see
    :func:`layers_for_field`). ``basic``: the earlier shape, one or two plain conv blocks.
    ``koo_local`` / ``koo_dist``: Koo & Ploenzke's CNN-local and CNN-dist as published
    (:data:`KOO_BLOCKS`); their filters, kernel, first pool, dense units, dropout and batch norm
    are set from it whatever the fields say, and they end in a Flatten (``final_pool`` "flatten").
    ``first_activation``: the first convolution's activation in every architecture, relu or
    exponential (Koo & Ploenzke 2021: exponential first-layer activations make the filters learn
    whole motifs and the attribution maps cleaner). ``pool_size``, ``exp_filters``, ``first_batch_norm`` and
    ``dense_batch_norm`` left None take their architecture's defaults (:data:`FIRST_LAYER_DEFAULTS`):
    the dilated CNN's first layer is 32 relu filters beside 32 exponential ones, each batch-normalized
    before its activation, pooled by 2 bp, and its dense layer batch-normalized (issue 24: on the code
    analog its attributions localize the planted motifs better than the relu layer's, pooled by 4,
    did, and it learns bench_learnability's rules up to 600 bp, not yet distance at 1,000 bp;
    docs/benchmarks.md, "The default since issue 24"). ``basic`` keeps its earlier
    shape. These graphs take the fast paths (:mod:`utils.cnn_graph`: batch norms folded, a mixed first
    layer read as one convolution).
    """
    architecture: str = "dilated"
    first_activation: str = "relu"
    filters: int = 32            # first-layer motif detectors with --first_activation
    kernel_size: int = 19        # bp; covers the longest usual TF motif
    pool_size: int | None = None     # bp pooled after the first layer (None: FIRST_LAYER_DEFAULTS)
    dilated_layers: int | None = None
    dilation_base: int = 2
    conv_blocks: int = 2         # basic: 2 lets the second layer see motif pairs
    filters2: int = 32
    kernel_size2: int = 11       # basic: in pooled steps: 11 * 4 bp ~ 44 bp of context
    dense_units: int = 32
    dropout: float | None = None   # after the first pooling and the dense layer (None: DROPOUT_DEFAULTS
                                   # for the target, resolved in training; build_cnn reads it from output_kind)
    batch_norm: bool = True      # dilated: BatchNormalization before each tower ReLU; without it
                                 # long-range spacing rules stayed at chance for 20 epochs
    first_batch_norm: bool | None = None   # BatchNormalization between the first convolution and its activation
                                     # (Koo & Ploenzke's blocks): keeps exp() of the filter scores in range
    exp_filters: int | None = None   # dilated, basic: this many more first-layer filters (conv1_exp) with the
                                     # exponential activation, side by side with the --first_activation ones
    dense_batch_norm: bool | None = None   # BatchNormalization before the dense layer's ReLU (Koo & Ploenzke's dense block)
    tower_filters: int | None = None   # dilated: the tower's width (None: the first layer's, filters +
                                       # exp_filters); another width is reached after the first pooling by a
                                       # 1x1 convolution, proj1 (1.8x the predictions a second; slower starts)
    final_pool: str = "auto"     # max; maxavg: max and mean over the length side by side; positions: a max
                                 # over POSITION_POOL pooled steps, positions kept (position rules); auto:
                                 # positions for a position rule, maxavg past MAXAVG_FROM pooled positions,
                                 # else max (resolve_final_pool)

    def __post_init__(self):
        for name, value in FIRST_LAYER_DEFAULTS.get(self.architecture, {}).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.architecture == "dilated" and self.tower_filters is None:
            object.__setattr__(self, "tower_filters", self.filters + self.exp_filters)
        if self.architecture in KOO_ARCHITECTURES:      # the published settings, recorded as they are
            first = KOO_BLOCKS[self.architecture][0]
            pool = next(block[4] for block in KOO_BLOCKS[self.architecture] if block[4])
            for name, value in (("filters", first[0]), ("kernel_size", first[1]), ("pool_size", pool),
                                ("dense_units", KOO_DENSE[0]), ("dropout", first[3]), ("batch_norm", True),
                                ("dilated_layers", None), ("final_pool", "flatten"),
                                ("first_batch_norm", True), ("dense_batch_norm", True), ("exp_filters", 0),
                                ("tower_filters", None)):
                object.__setattr__(self, name, value)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["receptive_field_bp"] = receptive_field(self)
        if self.architecture in KOO_ARCHITECTURES:
            out["koo_blocks"] = [dict(zip(("filters", "kernel_size", "padding", "dropout", "pool_size",
                                           "pool_padding"), block)) for block in KOO_BLOCKS[self.architecture]]
            out["koo_dense"] = {"units": KOO_DENSE[0], "dropout": KOO_DENSE[1], "l2": KOO_L2}
        return out


def check_architecture_flags(architecture: str, first_activation: str, flags_set) -> None:
    """Refuse flags the chosen architecture has no use for: the published koo_local / koo_dist
    take none of :data:`KOO_FIXED_FLAGS`, and dilated / basic none of the other's
    :data:`ARCHITECTURE_ONLY_FLAGS` (``flags_set``: the names the user set)."""
    if first_activation not in FIRST_ACTIVATIONS:
        raise InputError(f"--first_activation {first_activation!r} is unknown; choose {', '.join(FIRST_ACTIVATIONS)}")
    if architecture not in ARCHITECTURES:
        raise InputError(f"--architecture {architecture!r} is unknown; choose {', '.join(ARCHITECTURES)}")
    unused = [f"--{name}" for name in KOO_FIXED_FLAGS if name in set(flags_set)]
    if architecture in KOO_ARCHITECTURES and unused:
        raise InputError(f"--architecture {architecture} is Koo & Ploenzke's published network, whose layers "
                         f"are fixed; {', '.join(unused)} do{'es' if len(unused) == 1 else ''} not apply to it: "
                         f"drop {'it' if len(unused) == 1 else 'them'} or use --architecture dilated or basic")
    for other, names in ARCHITECTURE_ONLY_FLAGS.items():
        unused = [f"--{name}" for name in names if name in set(flags_set)]
        if architecture not in KOO_ARCHITECTURES and architecture != other and unused:
            raise InputError(f"{', '.join(unused)} only shape{'s' if len(unused) == 1 else ''} --architecture "
                             f"{other}, not {architecture}: drop {'it' if len(unused) == 1 else 'them'} or use "
                             f"--architecture {other}")


def koo_width(input_length: int, architecture: str) -> int:
    """Positions the Flatten of koo_local / koo_dist receives for ``input_length`` bp (0: too short)."""
    width = int(input_length)
    for _, kernel, padding, _, pool, pool_padding in KOO_BLOCKS[architecture]:
        width = width if padding == "same" else width - kernel + 1
        if pool and width > 0:
            width = -(-width // pool) if pool_padding == "same" else width // pool
        if width < 1:
            return 0
    return width


FINAL_POOLS = ("auto", "max", "maxavg", "positions")
MAXAVG_FROM = 200            # pooled positions (~420 bp with the dilated default's pool of 2) from which auto takes maxavg
POSITION_POOL = 2            # positions: the final max covers this many pooled steps (8 bp by default)


def pooled_width(input_length: int, cfg: CNNConfig) -> int:
    """Positions left after the first convolution (valid) and its pooling."""
    return (int(input_length) - cfg.kernel_size + 1) // cfg.pool_size


def resolve_final_pool(cfg: CNNConfig, input_length: int, counts_copies: bool = False,
                       keeps_position: bool = False) -> str:
    """``auto`` -> ``positions`` when the label depends on where a motif stands in the sequence
    (``keeps_position``: a position rule), ``maxavg`` from MAXAVG_FROM pooled positions on, or when
    the label counts copies of a motif (``counts_copies``: an activity target planting up to K > 1
    copies), else ``max``.

    A pooling over the whole length is translation invariant: it can tell where a motif stands only
    through the edges' zero padding. ``positions`` pools POSITION_POOL pooled steps at a time and
    hands every pooled position to the dense layer, which then reads where each filter fired.

    A max over the length sends the gradient to one position per filter; the mean sends it to
    all. Measured on a distance rule at 1,000 bp (245 positions, gaps 100-150, 10,000
    sequences, 6 layers): max alone memorized the training set (validation auROC 0.49 after
    15 epochs), max and mean side by side reached 0.95 at epoch 18. Up to 600 bp (145
    positions) max alone learned every benchmark rule. A max cannot count: on an additive
    activity rule with 1-3 copies of each motif (10,000 x 200 bp) max alone put the first copy
    at +1.23 and +1.31 (planted +1) and three at +2.66 (planted +3), test r 0.955; max and mean
    gave +1.12 / +1.16 and +2.85 / +2.69, test r 0.965. A copies rule (``counts_copies`` of the
    planted rule) takes maxavg too: at 600 bp (K = 2, 10,000 sequences) max alone reached test
    auROC 0.983, max and mean 0.999.
    """
    if cfg.architecture in KOO_ARCHITECTURES:
        return "flatten"             # their dense layer reads every pooled position
    if cfg.final_pool != "auto":
        return cfg.final_pool
    if keeps_position:
        return "positions"
    return "maxavg" if counts_copies or pooled_width(input_length, cfg) >= MAXAVG_FROM else "max"


def receptive_field(cfg: CNNConfig) -> int | None:
    """Bases one unit before the final pooling sees (None while the depth is unresolved).

    The first layer and its pooling see ``kernel_size + pool_size - 1`` bp; each pooled
    step is ``pool_size`` bp, and a kernel-3 layer of dilation d adds 2d steps. koo_local /
    koo_dist: what one position of the Flatten sees (every block's convolution and pooling;
    their dense layer reads all positions): 218 and 128 bp.
    """
    if cfg.architecture in KOO_ARCHITECTURES:
        field, step = 1, 1
        for _, kernel, _, _, pool, _ in KOO_BLOCKS[cfg.architecture]:
            field += (kernel - 1) * step
            if pool:
                field += (pool - 1) * step
                step *= pool
        return field
    first = cfg.kernel_size + cfg.pool_size - 1
    if cfg.architecture == "basic":
        return first if cfg.conv_blocks == 1 else first + cfg.pool_size * (cfg.kernel_size2 - 1)
    if cfg.dilated_layers is None:
        return None
    return first + cfg.pool_size * 2 * sum(cfg.dilation_base ** i for i in range(cfg.dilated_layers))


def field_needed(rule, motif_lengths, seq_length: int, kernel_size: int = 19) -> tuple[int, str]:
    """Bases a unit must see to decide the data's rule -> (bp, how it was derived): the planted
    rule's own answer (:meth:`utils.planted.PlantedRule.field_needed`), or the whole sequence for
    data without a rule."""
    if rule is None:
        return int(seq_length), "no rule in metadata.json: the whole sequence"
    return rule.field_needed(motif_lengths, kernel_size)


def layers_for_field(cfg: CNNConfig, need_bp: int) -> int:
    """Fewest dilated layers (at least MIN_DILATED_LAYERS) whose field covers ``need_bp``."""
    for n in range(MIN_DILATED_LAYERS, MAX_DILATED_LAYERS + 1):
        if receptive_field(CNNConfig(**{**asdict(cfg), "dilated_layers": n})) >= need_bp:
            return n
    return MAX_DILATED_LAYERS


def min_cnn_length(cfg: CNNConfig) -> int:
    """Shortest sequence the architecture accepts (each layer must keep >= 1 position)."""
    if cfg.architecture in KOO_ARCHITECTURES:
        return next(n for n in range(1, MAX_CNN_LENGTH) if koo_width(n, cfg.architecture) >= 1)
    length = cfg.kernel_size + cfg.pool_size - 1
    if cfg.architecture == "basic" and cfg.conv_blocks == 2:
        length = cfg.kernel_size + cfg.pool_size * cfg.kernel_size2 - 1
    return length


def check_cnn_length(input_length: int, cfg: CNNConfig) -> None:
    """Refuse, in one line, sequence lengths the CNN cannot be trained on."""
    if cfg.architecture in KOO_ARCHITECTURES and input_length < min_cnn_length(cfg):
        raise InputError(f"sequences of {input_length} bp are too short for --architecture {cfg.architecture} "
                         f"(its poolings need at least {min_cnn_length(cfg)} bp); use longer sequences or "
                         f"--architecture dilated")
    if input_length < min_cnn_length(cfg):
        raise InputError(f"sequences of {input_length} bp are too short for the CNN (it needs at least "
                         f"{min_cnn_length(cfg)} bp: kernel {cfg.kernel_size} bp, pool {cfg.pool_size}"
                         f"{', two conv blocks' if cfg.architecture == 'basic' and cfg.conv_blocks == 2 else ''}); "
                         f"use longer sequences or a smaller --kernel_size or --pool_size")
    if input_length > MAX_CNN_LENGTH:
        raise InputError(f"sequences of {input_length:,} bp are longer than the CNN trains on "
                         f"({MAX_CNN_LENGTH:,} bp at most: one-hot training sets beyond that outgrow "
                         f"memory); cut the sequences into windows of at most {MAX_CNN_LENGTH:,} bp")


def build_cnn(input_length: int, cfg: CNNConfig, output_kind: str = "probability"):
    """The uncompiled Keras CNN: (N, L, 4) -> (N, 1) probability (see :class:`CNNConfig`);
    with ``output_kind="value"`` (a regression) the same graph ends in the linear unit
    ``value``, no sigmoid.

    The logit and the sigmoid are separate layers so that
    ``keras.Model(model.inputs, model.layers[-2].output)`` gives the logit, and every
    layer is one that shap's DeepExplainer handles (no global pooling, no Lambda; the
    dilated convolutions' SpaceToBatchND/BatchToSpaceND are registered as linear in
    :func:`utils.attribution._import_shap`).

    ``input_length`` must have passed :func:`check_cnn_length` (training does so once, in
    :func:`utils.training.resolve_architecture`).
    """
    keras = import_keras()
    layers = keras.layers

    if cfg.architecture == "dilated" and cfg.dilated_layers is None:
        raise ValueError("resolve dilated_layers (layers_for_field) before building the CNN")
    if output_kind not in ("probability", "value"):
        raise ValueError(f"the suite's CNN outputs a probability or a value, not {output_kind!r}")
    if cfg.first_activation not in FIRST_ACTIVATIONS:
        raise ValueError(f"first_activation must be one of {FIRST_ACTIVATIONS}, not {cfg.first_activation!r}")
    inputs = keras.Input(shape=(input_length, 4), name="onehot")
    if cfg.architecture in KOO_ARCHITECTURES:
        return _koo_cnn(keras, inputs, cfg, output_kind)
    dropout = cfg.dropout if cfg.dropout is not None else \
        default_dropout(cfg.architecture, "activity" if output_kind == "value" else "class")
    x = layers.Conv1D(cfg.filters, cfg.kernel_size, name="conv1")(inputs)
    if cfg.first_batch_norm:
        x = layers.BatchNormalization(name="bn1")(x)
    x = layers.Activation(cfg.first_activation, name=FIRST_ACTIVATION_LAYER[cfg.first_activation])(x)
    if cfg.exp_filters:
        e = layers.Conv1D(cfg.exp_filters, cfg.kernel_size, name="conv1_exp")(inputs)
        if cfg.first_batch_norm:
            e = layers.BatchNormalization(name="bn1_exp")(e)
        e = layers.Activation("exponential", name="exp1_mixed")(e)
        x = layers.Concatenate(name="act1_concat")([x, e])
    x = layers.MaxPooling1D(cfg.pool_size, name="pool1")(x)
    x = layers.Dropout(dropout, name="drop1")(x)
    if cfg.architecture == "dilated" and cfg.tower_filters != cfg.filters + cfg.exp_filters:
        x = layers.Conv1D(cfg.tower_filters, 1, name="proj1")(x)      # to the tower's width (--tower_filters)
    if cfg.architecture == "dilated":
        for i in range(cfg.dilated_layers):
            y = layers.Conv1D(cfg.tower_filters, 3, dilation_rate=cfg.dilation_base ** i, padding="same",
                              name=f"dilated{i + 1}")(x)
            if cfg.batch_norm:
                y = layers.BatchNormalization(name=f"bn_dilated{i + 1}")(y)
            y = layers.Activation("relu", name=f"relu_dilated{i + 1}")(y)
            x = layers.Add(name=f"residual{i + 1}")([x, y])
    elif cfg.conv_blocks == 2:
        x = layers.Conv1D(cfg.filters2, cfg.kernel_size2, name="conv2")(x)
        x = layers.Activation("relu", name="relu2")(x)
    width = int(x.shape[1])
    final = resolve_final_pool(cfg, input_length)
    if final == "positions":          # where each filter fired, in bins of POSITION_POOL pooled steps
        x = layers.MaxPooling1D(min(POSITION_POOL, width), padding="same", name="pool_all")(x)   # no tail lost
    elif final == "maxavg":
        x = layers.Concatenate(name="pool_all")([
            layers.Flatten(name="flat_max")(layers.MaxPooling1D(width, name="pool_max")(x)),
            layers.Flatten(name="flat_avg")(layers.AveragePooling1D(width, name="pool_avg")(x))])
    else:
        x = layers.MaxPooling1D(width, name="pool_all")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(cfg.dense_units, name="dense")(x)
    if cfg.dense_batch_norm:
        x = layers.BatchNormalization(name="bn_dense")(x)
    x = layers.Activation("relu", name="relu_dense")(x)
    x = layers.Dropout(dropout, name="drop_dense")(x)
    if output_kind == "value":
        return keras.Model(inputs, layers.Dense(1, name="value")(x), name="cnn")
    x = layers.Dense(1, name="logit")(x)
    outputs = layers.Activation("sigmoid", name="prob")(x)
    return keras.Model(inputs, outputs, name="cnn")


def _koo_cnn(keras, inputs, cfg: CNNConfig, output_kind: str):
    """koo_local / koo_dist (see :data:`KOO_BLOCKS`) on ``inputs``, ending as build_cnn's graphs
    end: the ``logit`` unit and the sigmoid ``prob``, or the linear unit ``value``. Every layer is
    a built-in Keras layer (safe-mode loading) that shap's DeepExplainer handles."""
    layers = keras.layers
    x = inputs
    for i, (filters, kernel, padding, dropout, pool, pool_padding) in enumerate(KOO_BLOCKS[cfg.architecture], 1):
        x = layers.Conv1D(filters, kernel, padding=padding, use_bias=False,
                          kernel_regularizer=keras.regularizers.L2(KOO_L2), name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation(cfg.first_activation if i == 1 else "relu",
                              name=FIRST_ACTIVATION_LAYER[cfg.first_activation] if i == 1 else f"relu{i}")(x)
        x = layers.Dropout(dropout, name=f"drop{i}")(x)
        if pool:
            x = layers.MaxPooling1D(pool, padding=pool_padding, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(KOO_DENSE[0], use_bias=False, kernel_regularizer=keras.regularizers.L2(KOO_L2),
                     name="dense")(x)
    x = layers.BatchNormalization(name="bn_dense")(x)
    x = layers.Activation("relu", name="relu_dense")(x)
    x = layers.Dropout(KOO_DENSE[1], name="drop_dense")(x)
    name = cfg.architecture
    if output_kind == "value":
        return keras.Model(inputs, layers.Dense(1, name="value")(x), name=name)
    x = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, layers.Activation("sigmoid", name="prob")(x), name=name)


BN_REFRESH_SEQS = 4000          # refresh_batch_norm: at most this many training sequences
BN_REFRESH_BATCH = 500


def refresh_batch_norm(model, x, seed: int = 0, max_seqs: int = BN_REFRESH_SEQS) -> list[str]:
    """Set every BatchNormalization layer's moving mean and variance to the exact statistics of
    its input over ``x`` (at most ``max_seqs`` sequences, drawn with ``seed``) as the trained
    network computes it at inference: dropout off, the layers before already refreshed (graph
    order). Returns the names of the layers refreshed.

    Why: a Dropout before a BatchNormalization (the default CNN's drop1 before its dilated tower;
    every block of koo_local / koo_dist) trains the normalization on dropout's inflated variance,
    which inference does not have ("variance shift", Li et al., CVPR 2019). Measured on Koo &
    Ploenzke's task 3 (docs/benchmarks.md): the tower's inputs had 0.62-0.90 of the variance the
    layers had recorded, and the default CNN's held-out positives averaged 0.51 (accuracy 0.755
    at auROC 0.970); refreshed, 0.87 (accuracy 0.910, auROC 0.972). The same weights then
    localized the planted motifs slightly worse with every attribution method (saliency 0.854 ->
    0.796, ISM 0.904 -> 0.895; koo_dist relu: -0.001 to -0.009). A regression's outputs are its
    effects in their own units, and there the refresh helped (bench_quantitative: recovered in 3 of
    4 paired runs, against 2 of 4 as trained); Train_models.py refreshes regressions by default
    and classifiers on request (training.refresh_for)."""
    keras = import_keras()
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms or len(x) == 0:
        return []
    if len(x) > max_seqs:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), max_seqs, replace=False))]
    x = np.asarray(x, dtype=np.float32)
    for norm in norms:
        upstream = keras.Model(model.input, norm.input)
        shift = np.asarray(norm.moving_mean, dtype=np.float64)      # centring keeps the sums exact
        total = np.zeros_like(shift)
        squares = np.zeros_like(shift)
        count = 0
        for start in range(0, len(x), BN_REFRESH_BATCH):
            h = np.asarray(upstream(x[start:start + BN_REFRESH_BATCH], training=False), dtype=np.float64)
            h = h.reshape(-1, h.shape[-1]) - shift
            total += h.sum(axis=0)
            squares += (h * h).sum(axis=0)
            count += h.shape[0]
        mean = total / count
        norm.moving_mean.assign((shift + mean).astype(np.float32))
        norm.moving_variance.assign(np.maximum(squares / count - mean * mean, 0.0).astype(np.float32))
    return [norm.name for norm in norms]


PLATT_MAX_STEPS = 100


def platt_scaling(logits, labels, weights=None) -> tuple[float, float]:
    """Platt's (1999) scaling of a classifier's logits: the slope ``a`` and intercept ``b`` for
    which sigmoid(a * logit + b) best predicts ``labels`` (0/1), by Newton's method on the
    (optionally weighted) cross-entropy with Platt's smoothed targets, (n+ + 1) / (n+ + 2) for
    positives and 1 / (n- + 2) for negatives, which keep ``a`` finite when the logits separate
    the classes. Deterministic; float64 throughout."""
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    w = np.ones_like(z) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    n_pos, n_neg = float(w[y].sum()), float(w[~y].sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("Platt scaling needs both classes")
    t = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    design = np.stack([z, np.ones_like(z)], axis=1)

    def loss(theta):
        s = design @ theta
        return float(np.sum(w * (np.logaddexp(0.0, s) - t * s)))

    theta = np.array([1.0, 0.0])
    current = loss(theta)
    for _ in range(PLATT_MAX_STEPS):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        grad = design.T @ (w * (p - t))
        hess = (design * (w * p * (1 - p))[:, None]).T @ design + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-8 and loss(theta - scale * step) > current:
            scale /= 2
        theta = theta - scale * step
        previous, current = current, loss(theta)
        if previous - current <= 1e-12 * max(1.0, abs(current)):
            break
    return float(theta[0]), float(theta[1])


def calibrate_logit(model, x, y, weights=None, rc_average: bool = False) -> dict:
    """Fold Platt scaling, fitted on ``(x, y)`` (the validation split), into the ``logit`` layer
    of a suite classifier CNN: its kernel times ``a``, its bias ``a * bias + b``. Returns the
    record for model.json (slope, intercept, sequences, whether applied).

    Why: the default CNN ranks well and thresholds badly. Its dropout sits before the batch-
    normalized tower, whose norms learn dropout's inflated variance (refresh_batch_norm), and the
    logits come out shifted: on Koo & Ploenzke's task 3 the held-out positives averaged 0.51
    (test accuracy 0.755 at auROC 0.970). Refreshing the norms calibrates but changes the function
    and localized the planted motifs worse; scaling the logit by ``a > 0`` and shifting it changes
    no ranking and scales every attribution of the logit (saliency, ISM, DeepSHAP, integrated
    gradients) by ``a``, so the localization of each sequence is unchanged. Measured on task 3
    seed 0: accuracy 0.755 -> 0.904, expected calibration error 0.233 -> 0.018 (docs/benchmarks.md,
    "Calibration"). A slope that is not positive (a model at chance or ranking backwards on its
    validation split) is not applied: calibrating it would flatten or flip its outputs. With
    ``rc_average`` (:class:`RCAveraged`) the fit is of the mean logit of both strands; folded into
    the one logit layer, ``a`` and ``b`` apply to that mean alike."""
    keras = import_keras()
    logit_layer = model.get_layer("logit")
    upstream = keras.Model(model.input, logit_layer.output)

    def logits(onehot):
        return np.asarray(upstream.predict(onehot, batch_size=BN_REFRESH_BATCH, verbose=0), dtype=np.float64).ravel()

    x = np.asarray(x, dtype=np.float32)
    z = (logits(x) + logits(np.ascontiguousarray(reverse_complement(x)))) / 2 if rc_average else logits(x)
    if not np.all(np.isfinite(z)):                     # a diverged run: train() refuses it next
        return {"method": "platt", "fit_on": "val", "n": int(len(z)), "slope": None, "intercept": None,
                "applied": False}
    a, b = platt_scaling(z, y, weights)
    record = {"method": "platt", "fit_on": "val", "n": int(len(z)), "slope": a, "intercept": b,
              "applied": a > 0}
    if a > 0:
        kernel, bias = logit_layer.get_weights()
        logit_layer.set_weights([(kernel * a).astype(kernel.dtype), (bias * a + b).astype(bias.dtype)])
    return record


class CNNPredictor(_BatchedPredictor):
    """A Keras model whose last layer is the sigmoid and the one before it the logit."""
    kind = "cnn"
    output_kind = "probability"

    def __init__(self, model, input_length: int):
        super().__init__(input_length)
        self.keras_model = model
        self._logit_model = None
        self._folded = False          # utils.cnn_graph.FoldedForward, None, or not looked at yet

    @property
    def logit_model(self):
        """The same graph stopped before the sigmoid: (N, L, 4) -> (N, 1) logit."""
        if self._logit_model is None:
            keras = import_keras()
            self._logit_model = keras.Model(self.keras_model.inputs, self.keras_model.layers[-2].output)
        return self._logit_model

    def _padded(self, chunk: np.ndarray) -> np.ndarray:
        """Pad a chunk with zero rows to the next power of two (at least 64).

        Every new batch shape makes TensorFlow trace the graph again (tens of ms); with the
        sizes limited to 64, 128, ..., PREDICT_BATCH, experiments that send batches of many
        sizes pay for a handful of traces instead of one per call.
        """
        n = len(chunk)
        size = min(PREDICT_BATCH, max(64, 1 << (n - 1).bit_length()))
        if size == n:
            return chunk
        return np.concatenate([chunk, np.zeros((size - n,) + chunk.shape[1:], dtype=chunk.dtype)])

    @property
    def folded(self):
        """The suite dilated CNN as plain TensorFlow ops with batch norm folded in (twice the
        sequences per second of the Keras graph, same values within 1e-5), or None for other
        graphs (utils.cnn_graph). Predictions go through it; gradients use the Keras graph."""
        if self._folded is False:
            from utils.cnn_graph import folded_forward

            self._folded = folded_forward(self.keras_model, self.input_length) if self.kind == "cnn" else None
        return self._folded

    def _prob(self, chunk):
        if self.folded is not None:
            return self.folded.prob(chunk)
        return self.keras_model.predict_on_batch(chunk)

    def _logit(self, chunk):
        if self.folded is not None:
            return self.folded.logit(chunk)
        return self.logit_model.predict_on_batch(chunk)


class CNNValuePredictor(CNNPredictor):
    """The suite's CNN trained on an activity target: its last layer is the linear unit
    ``value`` (:func:`build_cnn` with ``output_kind="value"``); ``predict`` and
    ``predict_logit`` both return that value, and ``logit_model`` (what the gradient methods
    differentiate) is the graph itself. Predictions run the folded fast path of
    :mod:`utils.cnn_graph`, whose value head has no sigmoid."""
    output_kind = "value"

    @property
    def logit_model(self):
        return self.keras_model


class RCAveraged:
    """A CNN read on both strands: its logit is the mean of the strand model's logits of a sequence
    and of its reverse complement, then the sigmoid (a regression: the mean of the two values).

    Shrikumar et al. 2017 call it a conjoined network; Zhou et al. 2022 ("Towards a better
    understanding of reverse-complement equivariance for deep learning models in genomics") found
    this post-hoc conjoining of a network trained with reverse complements a baseline few
    architectures beat. Every such network is meant to answer the same for both strands; averaging
    makes it do so exactly. The model file holds the strand model (``strand``); model.json's
    ``training.rc_average`` says to read it so (:func:`load`), and Train_models.py does by default
    when it trained with reverse complements (``TrainConfig.rc_average``).

    Attributions of the averaged model are the mean of the strand model's attribution of the
    sequence and its reverse complement's, mapped back (:func:`utils.attribution.run_attributions`):
    exact for saliency and ISM, whose maps are linear in the output. On the code analog (20,000
    sequences, three training seeds, the same weights read on one strand and on both) it took ISM's
    localization from 0.899 to 0.917, saliency's from 0.841 to 0.866 and DeepSHAP's from 0.859 to
    0.875 (docs/benchmarks.md, "Both strands").
    """

    PASSED_ON = ("output_index", "output_kind_reason", "deep_shap_ok")    # what interpretation reads of a file's

    def __init__(self, strand):
        """``strand``: a CNNPredictor, or any predictor of a model file (Interpret_models.py --rc_average)."""
        self.strand = strand
        self.kind = strand.kind
        self.input_length = strand.input_length
        self.output_kind = strand.output_kind

    def __getattr__(self, name):
        if name in RCAveraged.PASSED_ON:
            return getattr(self.strand, name)
        raise AttributeError(name)      # not keras_model: every gradient goes through both strands

    def check_input(self, onehot) -> np.ndarray:
        return self.strand.check_input(onehot)

    def _both(self, onehot, read) -> np.ndarray:
        x = self.check_input(onehot)
        return (read(x) + read(np.ascontiguousarray(reverse_complement(x)))) / np.float32(2)

    def predict_logit(self, onehot) -> np.ndarray:
        return self._both(onehot, self.strand.predict_logit)

    def predict(self, onehot) -> np.ndarray:
        if self.output_kind == "value":
            return self.predict_logit(onehot)
        return _sigmoid(self.predict_logit(onehot)).astype(np.float32)


# ----------------------------------------------------------------------------- k-mer models
@dataclass(frozen=True)
class KmerConfig:
    """Features and estimator settings of the k-mer models; recorded in model.json."""
    k: int = 6                       # best validation auROC of k = 3..6 on presence data (benchmark)
    C: float = 1.0                   # logistic: inverse L2 strength on standardised counts
    max_iter: int = 1000             # logistic: solver iterations
    learning_rate: float = 0.1       # gbt
    max_gbt_iter: int = 300          # gbt: boosting rounds (early stopping may use fewer)
    ridge_alphas: tuple = tuple(float(10.0 ** e) for e in np.arange(-1.0, 5.01, 0.5))
                                     # ridge: L2 strengths on standardised counts, 0.1 to 1e5 in half
                                     # decades; RidgeCV keeps the one of least leave-one-out error

    def to_dict(self) -> dict:
        return asdict(self)


def build_kmer_estimator(kind: str, cfg: KmerConfig, seed: int, target: str = "class"):
    """An unfitted scikit-learn estimator for a k-mer kind and target (class or activity).

    ``kmer_ridge``: standardised counts -> RidgeCV over ``cfg.ridge_alphas``, alpha chosen by
    efficient leave-one-out cross-validation (exact, so deterministic without a seed).
    ``kmer_gbt`` on an activity target: HistGradientBoostingRegressor (squared error) with the
    classifier's settings.
    """
    if kind == "kmer_ridge":
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        return make_pipeline(StandardScaler(), RidgeCV(alphas=list(cfg.ridge_alphas)))
    if kind == "kmer_gbt" and target == "activity":
        from sklearn.ensemble import HistGradientBoostingRegressor
        return HistGradientBoostingRegressor(learning_rate=cfg.learning_rate, max_iter=cfg.max_gbt_iter,
                                             early_stopping=True, random_state=seed)
    if kind == "kmer_logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        return make_pipeline(StandardScaler(),
                             LogisticRegression(C=cfg.C, max_iter=cfg.max_iter, random_state=seed))
    if kind == "kmer_gbt":
        from sklearn.ensemble import HistGradientBoostingClassifier
        return HistGradientBoostingClassifier(learning_rate=cfg.learning_rate, max_iter=cfg.max_gbt_iter,
                                              early_stopping=True, random_state=seed)
    raise InputError(f"unknown k-mer model kind {kind!r}; choose kmer_logistic, kmer_gbt or kmer_ridge")


def estimator_fit_kwargs(estimator, sample_weight) -> dict:
    """How to hand per-sequence weights to ``fit`` (a Pipeline routes them by step name)."""
    if sample_weight is None:
        return {}
    if hasattr(estimator, "steps"):
        return {f"{estimator.steps[-1][0]}__sample_weight": sample_weight}
    return {"sample_weight": sample_weight}


class KmerPredictor(_BatchedPredictor):
    """A fitted scikit-learn classifier on k-mer counts of the one-hot input."""
    output_kind = "probability"

    def __init__(self, kind: str, estimator, k: int, input_length: int):
        super().__init__(input_length)
        self.kind = kind
        self.estimator = estimator
        self.k = int(k)

    def features(self, onehot) -> np.ndarray:
        return kmer_counts(np.asarray(onehot), self.k)

    @property
    def linear(self) -> tuple[np.ndarray, float] | None:
        """(weight per k-mer, intercept) when the model is linear in the counts (kmer_logistic,
        kmer_ridge: a StandardScaler, then one linear unit), else None. Its output is then the
        intercept plus the weights of the k-mers the sequence holds, one per window: no
        (N, 4**k) count matrix (at k = 6, 4,096 columns per sequence) is built."""
        if "_linear" not in self.__dict__:
            self._linear = _linear_in_counts(self.estimator, 4 ** self.k)
        return self._linear

    def _linear_output(self, chunk) -> np.ndarray:
        weights, intercept = self.linear
        index, valid = kmer_index(np.asarray(chunk), self.k)
        return np.where(valid, weights[index], 0.0).sum(axis=1) + intercept

    def _prob(self, chunk):
        if self.linear is not None:
            return _expit(self._linear_output(chunk))
        return self.estimator.predict_proba(self.features(chunk))[:, 1]

    def _logit(self, chunk):
        if self.linear is not None:
            return self._linear_output(chunk)
        return self.estimator.decision_function(self.features(chunk))


class KmerValuePredictor(KmerPredictor):
    """A fitted scikit-learn regressor on k-mer counts (an activity target): ``predict`` and
    ``predict_logit`` both return its predicted value."""
    output_kind = "value"

    def _prob(self, chunk):
        return self._logit(chunk)

    def _logit(self, chunk):
        if self.linear is not None:
            return self._linear_output(chunk)
        return self.estimator.predict(self.features(chunk))


def _linear_in_counts(estimator, n_features: int) -> tuple[np.ndarray, float] | None:
    """The scaler folded into the linear unit: ``w / scale`` per k-mer and ``b - sum(w * mean /
    scale)``, in float64 (see :attr:`KmerPredictor.linear`); None for any other estimator."""
    steps = getattr(estimator, "steps", None)
    if not steps or len(steps) != 2:
        return None
    scaler, unit = steps[0][1], steps[1][1]
    if type(scaler).__name__ != "StandardScaler" or type(unit).__name__ not in ("LogisticRegression", "RidgeCV"):
        return None
    coef = np.asarray(unit.coef_, dtype=np.float64).reshape(-1)
    if coef.shape != (n_features,) or np.size(unit.intercept_) != 1:
        return None
    mean = np.asarray(scaler.mean_, np.float64) if scaler.with_mean else np.zeros(n_features)
    scale = np.asarray(scaler.scale_, np.float64) if scaler.with_std else np.ones(n_features)
    weights = coef / scale
    return weights, float(np.asarray(unit.intercept_).reshape(-1)[0] - np.dot(weights, mean))


def _expit(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def predictor_for(kind: str, model, input_length: int, target: str = "class", k: int | None = None):
    """The suite's Predictor of a fitted model (a Keras graph, or a scikit-learn estimator with
    its ``k``) trained on ``target``: a classifier's for class, a value predictor's for activity."""
    value = target == "activity"
    if kind == "cnn":
        return (CNNValuePredictor if value else CNNPredictor)(model, input_length)
    return (KmerValuePredictor if value else KmerPredictor)(kind, model, k, input_length)


# ----------------------------------------------------------------------------- save / load
def model_file_name(kind: str) -> str:
    return ModelFolder.KERAS if kind == "cnn" else ModelFolder.SKOPS


def save_model(predictor, folder: str | Path) -> Path:
    """Write the fitted model into ``folder`` (model.keras or model.skops)."""
    path = Path(folder) / model_file_name(predictor.kind)
    if predictor.kind == "cnn":
        getattr(predictor, "strand", predictor).keras_model.save(path)     # RCAveraged: its strand model
    else:
        import skops.io as sio
        sio.dump(predictor.estimator, path)
    return path


def load(model_dir: str | Path, meta: dict | None = None) -> Predictor:
    """Read a model folder written by Train_models.py -> its Predictor.

    ``meta``: the folder's model.json when the caller has read it already
    (:func:`utils.folders.read_model_folder`), so it is not read twice; else it is read here.
    Raises InputError (one sentence) for a missing or corrupt folder, an unknown kind,
    or a k-mer model file that holds types outside :data:`SKOPS_TRUSTED`. model.json's
    ``target`` (absent: class) picks the predictor: a classifier's (``output_kind``
    probability) or a regression's (value).
    """
    folder = Path(model_dir)
    if meta is None:
        meta = read_model_json(folder)
    model_json = folder / ModelFolder.MODEL_JSON
    kind = meta.get("kind")
    length = meta.get("input_length")
    if kind not in KINDS:
        raise InputError(f"{model_json} names model kind {kind!r}; known kinds are "
                         f"{', '.join(KINDS)}")
    target = meta.get("target") or "class"
    if target not in TARGET_KINDS or kind not in TARGET_KINDS[target]:
        raise InputError(f"{model_json} names target {str(target)[:40]!r} for a {kind} model; "
                         f"{kind} is trained on the target(s) "
                         f"{' or '.join(t for t, kinds in TARGET_KINDS.items() if kind in kinds)}; retrain the model")
    if not isinstance(length, int) or length < 1:
        raise InputError(f"{model_json} has no valid input_length; retrain the model")
    if meta.get("alphabet", ALPHABET) != ALPHABET:
        raise InputError(f"{model_json} uses alphabet {meta.get('alphabet')!r}; "
                         f"only {ALPHABET} is supported")
    path = folder / model_file_name(kind)
    if not path.is_file():
        raise InputError(f"{folder} has no {path.name}; the folder is incomplete, retrain the model")
    if kind == "cnn":
        predictor = predictor_for(kind, _load_keras(path, length), length, target)
        training = meta.get("training")
        return RCAveraged(predictor) if isinstance(training, dict) and training.get("rc_average") else predictor
    k = meta.get("k")
    if not isinstance(k, int) or k < 1:
        raise InputError(f"{model_json} has no valid k for a k-mer model; retrain the model")
    estimator = _load_skops(path)
    if target == "activity":
        from sklearn.base import is_regressor
        if not (is_regressor(estimator) and callable(getattr(estimator, "predict", None))):
            raise InputError(f"{path} holds a {type(estimator).__name__}, not a fitted regressor as "
                             f"model.json's target activity needs; retrain the model with Train_models.py")
    elif not (callable(getattr(estimator, "predict_proba", None))
              and callable(getattr(estimator, "decision_function", None))):
        raise InputError(f"{path} holds a {type(estimator).__name__}, not a fitted classifier; "
                         f"retrain the model with Train_models.py")
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is not None and n_features != 4 ** k:
        raise InputError(f"{path} was fitted on {n_features} features but model.json says k={k} "
                         f"({4 ** k} k-mers); the files do not belong together, retrain the model")
    return predictor_for(kind, estimator, length, target, k)


def _load_keras(path: Path, input_length: int):
    keras = import_keras()
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as exc:
        if "safe_mode" in str(exc) or "arbitrary code" in str(exc):
            raise InputError(f"{path} holds code (a Lambda or custom layer) that Keras' safe mode refuses "
                             f"to run; this is a security choice, not a damaged file: rebuild the model "
                             f"without Lambda layers or retrain it with Train_models.py") from None
        raise InputError(f"{path} is not a readable Keras model ({exc.__class__.__name__}); "
                         f"retrain it with Train_models.py") from None
    shape = tuple(model.inputs[0].shape) if model.inputs else ()
    if len(shape) != 3 or shape[1] != input_length or shape[2] != 4:
        raise InputError(f"{path} takes input of shape {shape}, not (N, {input_length}, 4) as "
                         f"model.json says; retrain the model")
    return model


def check_skops_allow_list() -> None:
    """Every allow-listed type must exist in the installed scikit-learn.

    SKOPS_TRUSTED names private module paths, which move between scikit-learn versions; a
    missing one means the allow-list (or the model file) belongs to another version, which
    deserves that message rather than a misleading "untrusted types".
    """
    import importlib

    from sklearn import __version__ as sklearn_version

    for dotted in SKOPS_TRUSTED:
        module, _, name = dotted.rpartition(".")
        try:
            found = hasattr(importlib.import_module(module), name)
        except ImportError:
            found = False
        if not found:
            raise InputError(f"the k-mer model allow-list names {dotted}, which scikit-learn "
                             f"{sklearn_version} does not have; install the scikit-learn version in "
                             f"requirements.txt (or the one recorded in model.json) or retrain the model")


def _load_skops(path: Path):
    import skops.io as sio

    check_skops_allow_list()
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} is not a readable skops file ({exc.__class__.__name__}); "
                         f"retrain it with Train_models.py") from None
    unknown = sorted(set(untrusted) - set(SKOPS_TRUSTED))
    if unknown:
        raise InputError(f"{path} holds types outside the allow-list ({', '.join(unknown[:3])}); "
                         f"refusing to load it, retrain the model with Train_models.py")
    try:
        return sio.load(path, trusted=SKOPS_TRUSTED)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} cannot be loaded ({exc.__class__.__name__}); "
                         f"retrain it with Train_models.py") from None


# ----------------------------------------------------------------------------- models from elsewhere
LAYOUTS = ("auto", "length_first", "channels_first")
OUTPUT_KIND_CHOICES = ("auto",) + OUTPUT_KINDS
OUTPUT_ACTIVATIONS = ("auto", "sigmoid", "none")     # the older flag: sigmoid = probability, none = logit
FILE_SUFFIXES = (".keras", ".h5", ".hdf5", ".onnx")


def resolve_output_kind(requested: str, sigmoid: bool, activation: str | None, class_labels: bool | None,
                        path: Path) -> tuple[str, str]:
    """(output kind, why) of a model file's chosen output. ``auto``: a sigmoid output is a
    probability; a linear one is a logit when the labels are 0/1 (``class_labels``) and a value
    otherwise; any other activation (relu, softplus, exp: counts, activity) is a value."""
    if requested != "auto":
        return requested, f"--output_kind {requested}"
    if sigmoid:
        return "probability", "its output ends in a sigmoid"
    if activation in (None, "linear") and class_labels:
        return "logit", "its output is linear and the labels are 0/1"
    if activation in (None, "linear"):
        return "value", "its output is linear and no 0/1 labels were given"
    return "value", f"its output ends in a {activation} activation"


def _layout_of(shape, path: Path, layout: str) -> tuple[str, int | None]:
    """(layout, length or None when variable) of a model input shape (batch, a, b)."""
    dims = [None if (d is None or isinstance(d, str) or (isinstance(d, int) and d < 0)) else int(d)
            for d in shape]
    if len(dims) != 3:
        raise InputError(f"{path} takes input of rank {len(dims)} {tuple(shape)}; a DNA model takes one-hot "
                         f"batches (N, L, 4) or (N, 4, L)")
    a, b = dims[1], dims[2]
    if layout == "auto":
        if b == 4 and a != 4:
            layout = "length_first"
        elif a == 4 and b != 4:
            layout = "channels_first"
        elif a == b == 4:
            raise InputError(f"{path} takes (N, 4, 4): the layout is ambiguous; pass --input_layout "
                             f"length_first or channels_first")
        else:
            raise InputError(f"{path} takes input of shape {tuple(shape)}, which is not one-hot DNA: "
                             f"expected (N, L, 4) or (N, 4, L)")
    channels, length = (b, a) if layout == "length_first" else (a, b)
    if channels != 4:
        raise InputError(f"{path} takes input of shape {tuple(shape)}; with --input_layout {layout} its "
                         f"channel axis holds {channels} values, not 4 (A C G T)")
    return layout, length


OUTPUT_REDUCTIONS = ("sum", "mean", "max")     # or a position (an integer) along a profile's length


@dataclass(frozen=True)
class OutputSlot:
    """One output tensor of a model file: its name, how many values per sequence it counts for
    (a profile counts as one, once reduced), and where its length axis is (profiles only)."""
    name: str
    width: int
    profile: bool = False
    length_axis: int | None = None      # among the non-batch axes


def output_slots(names: list[str], shapes: list[tuple], input_length: int) -> list[OutputSlot]:
    """Each output's slot. A profile (an output per position: BPNet's and ChromBPNet's profile
    heads, Basenji's tracks) has two or more non-batch axes, or one that is symbolic or as long as
    the input; it is reduced to one value per sequence (``--output_reduce``). Any other output
    counts its values."""
    out = []
    for name, shape in zip(names, shapes):
        dims = list(shape[1:])
        symbolic = [i for i, d in enumerate(dims) if not isinstance(d, int) or d is None or d < 0]
        along = [i for i, d in enumerate(dims) if isinstance(d, int) and d == input_length and input_length > 1]
        if len(dims) >= 2 or symbolic or along:
            axis = (symbolic or along or [int(np.argmax([d if isinstance(d, int) else 0 for d in dims]))])[0]
            out.append(OutputSlot(str(name), 1, True, axis))
        else:
            out.append(OutputSlot(str(name), int(dims[0]) if dims else 1))
    return out


def _pick_output(slots: list[OutputSlot], output_index, path: Path) -> tuple[int, int]:
    """(output tensor, column) of ``output_index``: a flat number over all outputs' values in
    order (a profile counts as one), or an output's name, ``NAME`` or ``NAME:K``."""
    widths = [s.width for s in slots]
    text = str(output_index)
    if not text.lstrip("-").isdigit():
        name, _, col = text.partition(":")
        names = [s.name for s in slots]
        if name not in names:
            raise InputError(f"--output_index {text}: {path} has no output named {name!r}; its outputs are "
                             f"{', '.join(names)}")
        pos = names.index(name)
        if not col and widths[pos] > 1:
            raise InputError(f"--output_index {text}: output {name} has {widths[pos]} values per sequence; "
                             f"name one as {name}:K (K from 0 to {widths[pos] - 1})")
        k = int(col) if col.isdigit() else 0
        if col and not col.isdigit() or k >= widths[pos]:
            raise InputError(f"--output_index {text} is out of range: output {name} has {widths[pos]} value"
                             f"{'s' if widths[pos] != 1 else ''} per sequence (0 to {widths[pos] - 1})")
        return pos, k
    output_index = int(text)
    total = sum(widths)
    if not 0 <= output_index < total:
        raise InputError(f"--output_index {output_index} is out of range: {path} has {total} output "
                         f"value{'s' if total != 1 else ''} per sequence (0 to {total - 1})")
    for pos, w in enumerate(widths):
        if output_index < w:
            return pos, output_index
        output_index -= w
    raise AssertionError("unreachable")


def check_reduce(reduce: str) -> str:
    """--output_reduce: sum, mean, max, or a position (a whole number of 0 or more)."""
    text = str(reduce)
    if text in OUTPUT_REDUCTIONS or text.isdigit():
        return text
    raise InputError(f"--output_reduce {text!r} is unknown; choose {', '.join(OUTPUT_REDUCTIONS)} or a position "
                     f"along the profile (0, 1, ...)")


def reduce_profile(values: np.ndarray, reduce: str, length_axis: int, path: Path) -> np.ndarray:
    """(N, ...) profile -> (N,): summed, averaged or maxed over every non-batch axis, or at one
    position along the length axis (summed over the others, e.g. both strands)."""
    v = np.asarray(values, dtype=np.float32)
    if reduce.isdigit():
        pos = int(reduce)
        size = v.shape[1 + length_axis]
        if pos >= size:
            raise InputError(f"--output_reduce {pos} lies beyond the profile of {path} ({size} positions, "
                             f"0 to {size - 1})")
        v = np.take(v, pos, axis=1 + length_axis)
        return v.reshape(len(v), -1).sum(axis=1)
    flat = v.reshape(len(v), -1)
    return {"sum": flat.sum, "mean": flat.mean, "max": flat.max}[reduce](axis=1)


def _as_logit(prob: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(prob, dtype=np.float64), 1e-7, 1 - 1e-7)
    return (np.log(p) - np.log1p(-p)).astype(np.float32)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))).astype(np.float32)


class KerasFilePredictor(CNNPredictor):
    """A Keras model file from elsewhere (``.keras`` or legacy ``.h5``), loaded in safe mode.

    Its input may be (N, L, 4) or channels-first (N, 4, L); it may have several outputs
    (``output_index`` counts their values in order); its output is a probability (sigmoid), a
    logit or a value (:func:`resolve_output_kind`). Internally it is wrapped into a graph from
    (N, L, 4) to the chosen value (its probability for a logit), and for the gradient methods
    into one that stops at the logit (the input of the sigmoid, when the output is one) or
    gives the value.
    """
    kind = "keras"
    deep_shap_ok = False        # DeepExplainer fails on layers it lacks (global pooling ...): skipped

    def __init__(self, path: str | Path, input_layout: str = "auto", output_index: int = 0,
                 output_kind: str = "auto", input_length: int | None = None, class_labels: bool | None = None,
                 output_reduce: str = "sum"):
        path = Path(path)
        keras = import_keras()
        model = _load_keras_file(path)
        self.layout, length = _layout_of(tuple(model.inputs[0].shape), path, input_layout)
        length = length or input_length     # None: the model takes any length, and so does its wrapper
        outputs = list(model.outputs)
        names = list(getattr(model, "output_names", None) or [o._keras_history[0].name for o in outputs])
        layers = keras.layers
        inp = keras.Input(shape=(length, 4), name="onehot")
        x = layers.Permute((2, 1), name="to_channels_first")(inp) if self.layout == "channels_first" else inp
        called = keras.Model(model.inputs, outputs)(x)
        called = list(called) if isinstance(called, (list, tuple)) else [called]
        self.slots = output_slots(names, [tuple(t.shape) for t in called], length)
        pos, col = _pick_output(self.slots, output_index, path)
        slot = self.slots[pos]
        self.output_reduce = check_reduce(output_reduce) if slot.profile else None
        out_layer = outputs[pos]._keras_history[0]
        act = getattr(getattr(out_layer, "activation", None), "__name__", None)
        self.output_kind, self.output_kind_reason = resolve_output_kind(
            output_kind, act == "sigmoid", act, class_labels, path)
        self.output_index = output_index
        self.source = path
        if slot.profile:
            value = _reduce_tensor(keras, called[pos], self.output_reduce, slot.length_axis, path)
        else:
            value = _column(keras, called[pos], slot.width, col, "value")
        logit_model = None
        if self.output_kind == "probability":
            out = value
            logit_tensor = _pre_sigmoid(keras, model, out_layer) if act == "sigmoid" else None
            if logit_tensor is not None and not slot.profile:
                inner = keras.Model(model.inputs, logit_tensor)
                logit_model = keras.Model(inp, _column(keras, inner(x), slot.width, col, "logit"))
        elif self.output_kind == "logit":
            logit_model = keras.Model(inp, value)
            out = layers.Activation("sigmoid", name="prob")(value)
        else:                        # a value: predicted and explained as it is
            out = value
            logit_model = keras.Model(inp, value)
        super().__init__(keras.Model(inp, out), length)
        self._logit_model = logit_model
        self._logit_from_prob = logit_model is None

    @property
    def logit_model(self):
        return self._logit_model

    def _logit(self, chunk):
        if self._logit_from_prob:
            return _as_logit(self.keras_model.predict_on_batch(chunk))
        return self._logit_model.predict_on_batch(chunk)


def _reduce_tensor(keras, tensor, reduce: str, length_axis: int, path: Path):
    """A profile tensor (N, ...) -> (N, 1) in the graph (keras.ops, no Lambda layer): its sum,
    mean or max over every non-batch axis, or its value at one position summed over the rest."""
    ops = keras.ops
    if reduce.isdigit():
        size = int(tensor.shape[1 + length_axis])
        pos = int(reduce)
        if pos >= size:
            raise InputError(f"--output_reduce {pos} lies beyond the profile of {path} ({size} positions, "
                             f"0 to {size - 1})")
        tensor = ops.take(tensor, pos, axis=1 + length_axis)
        reduce = "sum"
    flat = ops.reshape(tensor, (-1, int(np.prod(tensor.shape[1:])) if len(tensor.shape) > 1 else 1))
    return {"sum": ops.sum, "mean": ops.mean, "max": ops.max}[reduce](flat, axis=1, keepdims=True)


def _column(keras, tensor, width: int, col: int, name: str):
    """Column ``col`` of a (N, ...) tensor as (N, 1), by a fixed linear map (no Lambda layer)."""
    layers = keras.layers
    flat = layers.Flatten(name=f"{name}_flat")(tensor) if len(tensor.shape) != 2 else tensor
    if width == 1:
        return flat
    pick = layers.Dense(1, use_bias=False, trainable=False, name=f"{name}_pick")
    out = pick(flat)
    weights = np.zeros((width, 1), dtype=np.float32)
    weights[col, 0] = 1
    pick.set_weights([weights])
    return out


def _pre_sigmoid(keras, model, layer):
    """The logit behind a sigmoid output: the input of an Activation('sigmoid') layer, or the
    same layer with a linear activation (a copy sharing its weights); None if neither."""
    if isinstance(layer, keras.layers.Activation):
        return layer.input
    config = layer.get_config()
    if "activation" not in config:
        return None
    config["activation"] = "linear"
    config["name"] = f"{layer.name}_logit"
    twin = layer.__class__.from_config(config)
    out = twin(layer.input)
    twin.set_weights(layer.get_weights())
    return out


def _load_keras_file(path: Path):
    if not path.is_file():
        raise InputError(f"model file {path} does not exist; name a .keras, .h5 or .onnx file or a model folder")
    keras = import_keras()
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as exc:
        if "safe_mode" in str(exc) or "arbitrary code" in str(exc) or "Lambda" in str(exc):
            raise InputError(f"{path} holds code (a Lambda or custom layer) that Keras' safe mode refuses "
                             f"to run; it is not loaded: rebuild the model without Lambda layers") from None
        raise InputError(f"{path} is not a readable Keras model ({exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0][:120] if str(exc) else ''}); export it again") from None
    if not model.inputs or len(model.inputs) != 1:
        raise InputError(f"{path} takes {len(model.inputs or [])} inputs; a DNA model takes one one-hot input")
    return model


class OnnxPredictor(_BatchedPredictor):
    """An ONNX model (from PyTorch, JAX, TensorFlow ...) run with onnxruntime on CPU.

    Same options as :class:`KerasFilePredictor`. It has no Keras graph, so the gradient
    methods are skipped for it with a note, as for the k-mer models.
    """
    kind = "onnx"

    def __init__(self, path: str | Path, input_layout: str = "auto", output_index: int = 0,
                 output_kind: str = "auto", input_length: int | None = None, class_labels: bool | None = None,
                 output_reduce: str = "sum"):
        path = Path(path)
        if not path.is_file():
            raise InputError(f"model file {path} does not exist; name a .keras, .h5 or .onnx file or a model folder")
        import onnx
        import onnxruntime as ort

        try:
            graph = onnx.load(str(path))
            options = ort.SessionOptions()
            options.log_severity_level = 3
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:     # noqa: BLE001 - onnx raises many kinds for a bad file
            raise InputError(f"{path} is not a readable ONNX model ({exc.__class__.__name__}); export it again") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise InputError(f"{path} takes {len(inputs)} inputs; a DNA model takes one one-hot input")
        self.input_name = inputs[0].name
        self.layout, length = _layout_of(tuple(inputs[0].shape), path, input_layout)
        length = length or input_length
        if length is None:
            raise InputError(f"{path} takes sequences of any length; give sequences (--seq_dict) so the "
                             f"length is known")
        super().__init__(length)
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.slots = output_slots(self.outputs, [tuple(o.shape) for o in self.session.get_outputs()], length)
        self.pos, self.col = _pick_output(self.slots, output_index, path)
        slot = self.slots[self.pos]
        self.output_reduce = check_reduce(output_reduce) if slot.profile else None
        producer = {out: node.op_type for node in graph.graph.node for out in node.output}
        op = producer.get(self.outputs[self.pos])
        act = {"Sigmoid": "sigmoid", "Relu": "relu", "Softplus": "softplus", "Exp": "exp",
               "Softmax": "softmax", "Tanh": "tanh"}.get(op)
        self.output_kind, self.output_kind_reason = resolve_output_kind(
            output_kind, op == "Sigmoid", act, class_labels, path)
        self.output_index = output_index
        self.source = path

    def _raw(self, chunk):
        x = np.transpose(chunk, (0, 2, 1)) if self.layout == "channels_first" else chunk
        out = self.session.run([self.outputs[self.pos]], {self.input_name: np.ascontiguousarray(x)})[0]
        slot = self.slots[self.pos]
        if slot.profile:
            return reduce_profile(out, self.output_reduce, slot.length_axis, self.source)
        return np.asarray(out, dtype=np.float32).reshape(len(chunk), -1)[:, self.col]

    def _prob(self, chunk):
        raw = self._raw(chunk)
        return _sigmoid(raw) if self.output_kind == "logit" else raw

    def _logit(self, chunk):
        raw = self._raw(chunk)
        return _as_logit(raw) if self.output_kind == "probability" else raw


def load_file(path: str | Path, input_layout: str = "auto", output_index: int | str = 0,
              output_kind: str = "auto", input_length: int | None = None,
              class_labels: bool | None = None, output_reduce: str = "sum") -> Predictor:
    """A model file from elsewhere -> its Predictor (.keras/.h5 through Keras, .onnx through
    onnxruntime). ``class_labels``: the sequences' labels are 0/1 (a linear output is then a
    logit under ``output_kind`` auto); the older names ``sigmoid`` and ``none`` of
    ``--output_activation`` mean probability and logit."""
    path = Path(path)
    output_kind = {"sigmoid": "probability", "none": "logit"}.get(output_kind, output_kind)
    if input_layout not in LAYOUTS:
        raise InputError(f"--input_layout {input_layout!r} is unknown; choose {', '.join(LAYOUTS)}")
    if output_kind not in OUTPUT_KIND_CHOICES:
        raise InputError(f"--output_kind {output_kind!r} is unknown; choose {', '.join(OUTPUT_KIND_CHOICES)}")
    if str(output_index).startswith("-"):
        raise InputError(f"--output_index {output_index} is negative; outputs count from 0")
    check_reduce(output_reduce)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return OnnxPredictor(path, input_layout, output_index, output_kind, input_length, class_labels, output_reduce)
    if suffix in (".keras", ".h5", ".hdf5"):
        return KerasFilePredictor(path, input_layout, output_index, output_kind, input_length, class_labels,
                                  output_reduce)
    raise InputError(f"--model {path} is neither a model folder nor a .keras, .h5 or .onnx file")
