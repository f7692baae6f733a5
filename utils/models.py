"""Model kinds behind one interface: the Predictor protocol, building, saving and loading.

Interpretation sees every trained model as ``predict(onehot) -> prob``, with
``onehot`` float32 of shape ``(N, L, 4)`` and ``prob`` float32 of shape ``(N,)``.
A new model kind is one new Predictor class here plus an entry in
:func:`load` and :func:`save_model`.

Kinds:
- ``cnn``: a Keras 1-D CNN over the one-hot sequence (Eraslan et al. 2019 style),
  saved as ``model.keras`` and loaded with ``safe_mode=True``.
- ``kmer_logistic`` / ``kmer_gbt``: scikit-learn models on k-mer counts
  (:func:`utils.encoding.kmer_counts`), saved through skops as ``model.skops`` and
  loaded only if the file holds nothing beyond an explicit allow-list of types.

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

from utils.encoding import ALPHABET, kmer_counts
from utils.io import InputError, read_json

KINDS = ("cnn", "kmer_logistic", "kmer_gbt")
MODEL_JSON = "model.json"
KERAS_FILE = "model.keras"
SKOPS_FILE = "model.skops"
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
    return keras


class Predictor(Protocol):
    """What interpretation may use: a black box from one-hot batches to probabilities."""
    kind: str
    input_length: int

    def predict(self, onehot: np.ndarray) -> np.ndarray:
        """(N, L, 4) float32 one-hot -> (N,) float32 probability of the positive class."""

    def predict_logit(self, onehot: np.ndarray) -> np.ndarray:
        """(N, L, 4) -> (N,) float32 log-odds of the positive class."""


class _BatchedPredictor:
    """Shared input check and chunking; subclasses give ``_prob`` and ``_logit`` per chunk."""
    kind = ""
    keras_model = None          # a Keras graph for the gradient methods, where the kind has one

    def __init__(self, input_length: int):
        self.input_length = int(input_length)

    def check_input(self, onehot) -> np.ndarray:
        x = np.asarray(onehot, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != 4:
            raise InputError(f"the {self.kind} model takes one-hot input of shape (N, L, 4); "
                             f"got shape {tuple(x.shape)}")
        if x.shape[1] != self.input_length:
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
@dataclass(frozen=True)
class CNNConfig:
    """Architecture of the CNN; every field is recorded in model.json."""
    filters: int = 32            # first-layer motif detectors
    kernel_size: int = 19        # bp; covers the longest usual TF motif
    pool_size: int = 4           # bp pooled after the first layer
    conv_blocks: int = 2         # 2 lets the second layer see motif pairs (order, spacing)
    filters2: int = 32
    kernel_size2: int = 11       # in pooled steps: 11 * 4 bp ~ 44 bp of context
    dense_units: int = 32
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


def min_cnn_length(cfg: CNNConfig) -> int:
    """Shortest sequence the architecture accepts (each layer must keep >= 1 position)."""
    length = cfg.kernel_size + cfg.pool_size - 1
    if cfg.conv_blocks == 2:
        length = cfg.kernel_size + cfg.pool_size * cfg.kernel_size2 - 1
    return length


def build_cnn(input_length: int, cfg: CNNConfig):
    """The uncompiled Keras CNN: (N, L, 4) -> (N, 1) probability.

    Conv1D -> ReLU -> MaxPool -> Dropout [-> Conv1D -> ReLU] -> MaxPool over the
    whole remaining length -> Flatten -> Dense -> ReLU -> Dropout -> Dense(1) logit
    -> sigmoid. The logit and the sigmoid are separate layers so that
    ``keras.Model(model.inputs, model.layers[-2].output)`` gives the logit, and every
    layer is one that shap's DeepExplainer knows (no global pooling, no Lambda).
    """
    keras = import_keras()
    layers = keras.layers

    if input_length < min_cnn_length(cfg):
        raise InputError(f"sequences of {input_length} bp are too short for the CNN "
                         f"(kernel {cfg.kernel_size} bp, pool {cfg.pool_size}); "
                         f"use at least {min_cnn_length(cfg)} bp or a smaller --kernel_size")
    inputs = keras.Input(shape=(input_length, 4), name="onehot")
    x = layers.Conv1D(cfg.filters, cfg.kernel_size, name="conv1")(inputs)
    x = layers.Activation("relu", name="relu1")(x)
    x = layers.MaxPooling1D(cfg.pool_size, name="pool1")(x)
    x = layers.Dropout(cfg.dropout, name="drop1")(x)
    if cfg.conv_blocks == 2:
        x = layers.Conv1D(cfg.filters2, cfg.kernel_size2, name="conv2")(x)
        x = layers.Activation("relu", name="relu2")(x)
    x = layers.MaxPooling1D(int(x.shape[1]), name="pool_all")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(cfg.dense_units, name="dense")(x)
    x = layers.Activation("relu", name="relu_dense")(x)
    x = layers.Dropout(cfg.dropout, name="drop_dense")(x)
    x = layers.Dense(1, name="logit")(x)
    outputs = layers.Activation("sigmoid", name="prob")(x)
    return keras.Model(inputs, outputs, name="cnn")


class CNNPredictor(_BatchedPredictor):
    """A Keras model whose last layer is the sigmoid and the one before it the logit."""
    kind = "cnn"

    def __init__(self, model, input_length: int):
        super().__init__(input_length)
        self.keras_model = model
        self._logit_model = None

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

    def _prob(self, chunk):
        return self.keras_model.predict_on_batch(chunk)

    def _logit(self, chunk):
        return self.logit_model.predict_on_batch(chunk)


# ----------------------------------------------------------------------------- k-mer models
@dataclass(frozen=True)
class KmerConfig:
    """Features and estimator settings of the k-mer models; recorded in model.json."""
    k: int = 6                       # best validation auROC of k = 3..6 on presence data (benchmark)
    C: float = 1.0                   # logistic: inverse L2 strength on standardised counts
    max_iter: int = 1000             # logistic: solver iterations
    learning_rate: float = 0.1       # gbt
    max_gbt_iter: int = 300          # gbt: boosting rounds (early stopping may use fewer)

    def to_dict(self) -> dict:
        return asdict(self)


def build_kmer_estimator(kind: str, cfg: KmerConfig, seed: int):
    """An unfitted scikit-learn estimator for a k-mer kind."""
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
    raise InputError(f"unknown k-mer model kind {kind!r}; choose kmer_logistic or kmer_gbt")


def estimator_fit_kwargs(estimator, sample_weight) -> dict:
    """How to hand per-sequence weights to ``fit`` (a Pipeline routes them by step name)."""
    if sample_weight is None:
        return {}
    if hasattr(estimator, "steps"):
        return {f"{estimator.steps[-1][0]}__sample_weight": sample_weight}
    return {"sample_weight": sample_weight}


class KmerPredictor(_BatchedPredictor):
    """A fitted scikit-learn classifier on k-mer counts of the one-hot input."""

    def __init__(self, kind: str, estimator, k: int, input_length: int):
        super().__init__(input_length)
        self.kind = kind
        self.estimator = estimator
        self.k = int(k)

    def features(self, onehot) -> np.ndarray:
        return kmer_counts(np.asarray(onehot), self.k)

    def _prob(self, chunk):
        return self.estimator.predict_proba(self.features(chunk))[:, 1]

    def _logit(self, chunk):
        return self.estimator.decision_function(self.features(chunk))


# ----------------------------------------------------------------------------- save / load
def model_file_name(kind: str) -> str:
    return KERAS_FILE if kind == "cnn" else SKOPS_FILE


def save_model(predictor, folder: str | Path) -> Path:
    """Write the fitted model into ``folder`` (model.keras or model.skops)."""
    path = Path(folder) / model_file_name(predictor.kind)
    if predictor.kind == "cnn":
        predictor.keras_model.save(path)
    else:
        import skops.io as sio
        sio.dump(predictor.estimator, path)
    return path


def load(model_dir: str | Path) -> Predictor:
    """Read a model folder written by Train_models.py -> its Predictor.

    Raises InputError (one sentence) for a missing or corrupt folder, an unknown kind,
    or a k-mer model file that holds types outside :data:`SKOPS_TRUSTED`.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise InputError(f"model folder {folder} does not exist; train one with Train_models.py "
                         f"or name an existing model folder")
    meta = read_json(folder / MODEL_JSON) if (folder / MODEL_JSON).exists() else None
    if not isinstance(meta, dict):
        raise InputError(f"{folder} has no valid {MODEL_JSON}; it is not a model folder written by "
                         f"Train_models.py")
    kind = meta.get("kind")
    length = meta.get("input_length")
    if kind not in KINDS:
        raise InputError(f"{folder / MODEL_JSON} names model kind {kind!r}; known kinds are "
                         f"{', '.join(KINDS)}")
    if not isinstance(length, int) or length < 1:
        raise InputError(f"{folder / MODEL_JSON} has no valid input_length; retrain the model")
    if meta.get("alphabet", ALPHABET) != ALPHABET:
        raise InputError(f"{folder / MODEL_JSON} uses alphabet {meta.get('alphabet')!r}; "
                         f"only {ALPHABET} is supported")
    path = folder / model_file_name(kind)
    if not path.is_file():
        raise InputError(f"{folder} has no {path.name}; the folder is incomplete, retrain the model")
    if kind == "cnn":
        return CNNPredictor(_load_keras(path, length), length)
    k = meta.get("k")
    if not isinstance(k, int) or k < 1:
        raise InputError(f"{folder / MODEL_JSON} has no valid k for a k-mer model; retrain the model")
    estimator = _load_skops(path)
    if not (callable(getattr(estimator, "predict_proba", None))
            and callable(getattr(estimator, "decision_function", None))):
        raise InputError(f"{path} holds a {type(estimator).__name__}, not a fitted classifier; "
                         f"retrain the model with Train_models.py")
    n_features = getattr(estimator, "n_features_in_", None)
    if n_features is not None and n_features != 4 ** k:
        raise InputError(f"{path} was fitted on {n_features} features but model.json says k={k} "
                         f"({4 ** k} k-mers); the files do not belong together, retrain the model")
    return KmerPredictor(kind, estimator, k, length)


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
