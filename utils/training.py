"""Fitting a model kind to a data folder: split, class balance, training loop, metrics, output folder.

The model folder (:class:`utils.folders.ModelFolder`) holds ``model.keras``/``model.skops``,
``model.json``, ``split.tsv``, ``metrics.json``, ``predictions.tsv`` and, for models trained
in epochs, ``history.csv``, ``learning_curves.png`` and ``timing.json``.

Two targets (:attr:`utils.folders.Dataset.target`): ``class`` (0/1 labels: a classifier,
binary cross-entropy, auROC) and ``activity`` (real-valued labels: a regression, mean
squared error, Pearson r). The target decides the split (stratified by class, or at
random), the loss, what early stopping watches, the metrics and the predictions' column.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from utils import augment as augmentlib
from utils import models
from utils.encoding import ALPHABET, codes_to_onehot, kmer_counts, seqs_to_codes
from utils.folders import Dataset, ModelFolder
from utils.io import InputError, staged_dir, write_json, write_text, write_tsv

SPLITS = ("train", "val", "test")
MIN_TEST_SEQS = 20           # fewer test sequences than this: the test auROC is noise; warn
PREDICTION_COLUMN = {"class": "prob", "activity": "pred"}    # predictions.tsv's output column


@dataclass(frozen=True)
class TrainConfig:
    """Training flags; recorded in model.json."""
    test_sz: float = 0.15        # fraction for test, and the same again for validation
    sampler: bool = False        # weight classes so each carries half the training loss
    epochs: int | None = None    # the most epochs; None (auto): epochs_for the training set, 50 from
                                 # 7,000 training sequences on, more below (the same number of steps)
    early_stop: bool = True
    patience: int = 5            # epochs without a better validation score before stopping
    min_epochs: int = 10         # never stop before this epoch: spacing rules sit at chance for
                                 # several epochs before the motif detectors form ...
    plateau_epochs: int = 30     # ... and while the validation auROC has not left chance (< 0.6;
                                 # a regression: validation R^2 below 0.1), not before this one
                                 # (long sequences plateau longer), unless the null rule stops it:
    null_epochs: int | None = None   # stop (from min_epochs on) once this many consecutive epochs are
                                 # indistinguishable from chance (chance_check); None: null_epochs_for
                                 # the sequence length and the steps per epoch; 0: off
    null_z: float = 3.0          # the chance band's half-width in null standard deviations
    batch_size: int = 64
    lr: float = 2e-3             # Adam's learning rate (0.001 until 2026-12-08; docs/benchmarks.md, "The
                                 # learning rate")
    lr_decay: float = 1.0        # the CNN: multiply the learning rate by this after lr_patience epochs without a
    lr_patience: int = 3         # better validation score (Keras ReduceLROnPlateau; Koo & Ploenzke: 0.2 after 5);
                                 # 1.0: a constant rate
    train_speed: str = "plain"   # plain: Keras fit on arrays; pipelined: STEPS_PER_EXECUTION steps per
                                 # host call, fed by a tf.data pipeline with prefetch (TRAIN_SPEEDS)
    augment_rc: bool | None = None   # the CNN: each epoch, reverse-complement each training sequence with
                                 # probability 1/2 (utils.augment) ...
    augment_shift: int | None = None  # ... and move it by a uniform draw from [-augment_shift, augment_shift] bp;
                                 # None (auto): both, unless the data's rule would be mislabelled
                                 # (augment.resolve); train() records what it used
    refresh_batch_norm: bool | None = None  # the CNN, after training: batch-norm statistics recomputed on
                                 # the training sequences as inference sees them (models.refresh_batch_norm);
                                 # None (auto): on for activity targets, off for class labels (refresh_for)
    calibrate: bool | None = None  # the CNN on class labels, after training: Platt scaling fitted on the
                                 # validation split, folded into the logit layer (models.calibrate_logit);
                                 # None (auto): on for class labels; refused for activity targets
    rc_average: bool | None = None  # the CNN: read on both strands, the mean of the logits of each sequence and
                                 # of its reverse complement (models.RCAveraged); None (auto): with augment_rc

    @property
    def augment(self) -> augmentlib.Augment:
        if self.augment_rc is None or self.augment_shift is None:
            raise ValueError("resolve the automatic augmentation (augment.resolve) before training")
        return augmentlib.Augment(rc=self.augment_rc, shift=self.augment_shift)

    def to_dict(self) -> dict:
        return asdict(self)


TRAIN_SPEEDS = ("plain", "pipelined")
STEPS_PER_EXECUTION = 32         # pipelined: training steps per host round trip


@dataclass
class TrainResult:
    predictor: object
    kind: str
    split: np.ndarray                       # (N,) of "train" / "val" / "test"
    metrics: dict
    probs: dict[str, np.ndarray]            # split -> outputs (probabilities; activity: values) of that split
    history: list[dict] = field(default_factory=list)
    timing: dict = field(default_factory=dict)              # wall-clock seconds (timing.json)
    arch: object = None                                     # the CNN's architecture, depth resolved
    field_needed: tuple[int, str] | None = None             # the CNN: (bp, how derived), see resolve_architecture
    warnings: list[str] = field(default_factory=list)       # for stderr, one line each
    target: str = "class"                                   # "class" or "activity" (the data's)
    stop: dict | None = None                                # models trained in epochs: why training ended
    training: TrainConfig | None = None                     # the flags as trained, automatic ones resolved
    calibration: dict | None = None                         # the CNN's Platt scaling (models.calibrate_logit)
    notes: list[str] = field(default_factory=list)          # for stdout: defaults that stepped aside


# ----------------------------------------------------------------------------- split and balance
def split_labels(labels: np.ndarray, test_sz: float, seed: int) -> np.ndarray:
    """Stratified, seeded split -> (N,) array of 'train'/'val'/'test'.

    Within each class, round(n_class * test_sz) sequences go to test and as many to
    validation; the rest train. Every split must hold both classes.
    """
    labels = np.asarray(labels)
    if not 0 < test_sz < 0.5:
        raise InputError(f"--test_sz {test_sz} must lie strictly between 0 and 0.5 "
                         f"(test and validation each take that fraction)")
    classes = np.unique(labels)
    if len(classes) < 2:
        raise InputError(f"all {len(labels)} labels are {classes[0] if len(classes) else 'missing'}; "
                         f"training needs both classes 0 and 1")
    rng = np.random.default_rng([seed, 8111])
    split = np.full(len(labels), "train", dtype=object)
    for c in classes:
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_hold = int(round(len(idx) * test_sz))
        if n_hold < 1 or len(idx) - 2 * n_hold < 1:
            raise InputError(f"class {c} has only {len(idx)} sequences, too few to put some in "
                             f"train, validation and test at --test_sz {test_sz}; "
                             f"generate more sequences or raise --test_sz")
        split[idx[:n_hold]] = "test"
        split[idx[n_hold:2 * n_hold]] = "val"
    return split.astype(str)


def split_random(n: int, test_sz: float, seed: int) -> np.ndarray:
    """Seeded split of ``n`` real-valued labels -> (N,) array of 'train'/'val'/'test'.

    An activity has no classes to stratify by: round(n * test_sz) sequences drawn at random
    go to test and as many to validation (the sizes the stratified split gives), the rest train.
    """
    if not 0 < test_sz < 0.5:
        raise InputError(f"--test_sz {test_sz} must lie strictly between 0 and 0.5 "
                         f"(test and validation each take that fraction)")
    n_hold = int(round(n * test_sz))
    if n_hold < 2 or n - 2 * n_hold < 2:
        raise InputError(f"{n} sequences are too few to put at least two in train, validation and "
                         f"test at --test_sz {test_sz}; generate more sequences or raise --test_sz")
    idx = np.random.default_rng([seed, 8111]).permutation(n)
    split = np.full(n, "train", dtype=object)
    split[idx[:n_hold]] = "test"
    split[idx[n_hold:2 * n_hold]] = "val"
    return split.astype(str)


def balanced_sample_weights(labels: np.ndarray) -> np.ndarray:
    """Per-sequence weights n / (2 * n_class): both classes then carry the same total weight.

    The mean weight stays 1, so the loss scale (and a learning rate tuned for it) is unchanged.
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels.astype(np.int64), minlength=2)
    if np.any(counts == 0):
        raise InputError("class balancing needs both classes in the training split")
    return (len(labels) / (2.0 * counts[labels.astype(np.int64)])).astype(np.float32)


# ----------------------------------------------------------------------------- metrics
def binary_metrics(labels: np.ndarray, probs: np.ndarray) -> dict:
    """auROC, auPRC (average precision), accuracy at 0.5, Brier score (mean squared error of the
    probabilities: calibration and ranking together), n and positives."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels).astype(int)
    probs = np.asarray(probs, dtype=np.float64)
    both = len(np.unique(labels)) == 2
    return {
        "auroc": float(roc_auc_score(labels, probs)) if both else None,
        "auprc": float(average_precision_score(labels, probs)) if both else None,
        "accuracy": float(np.mean((probs >= 0.5) == labels)),
        "brier": float(np.mean((probs - labels) ** 2)),
        "n": int(len(labels)),
        "n_positive": int(labels.sum()),
    }


def regression_metrics(labels: np.ndarray, preds: np.ndarray) -> dict:
    """Pearson r, Spearman rho, mean squared error, R^2 (1 - SSE / SS around the labels' mean), n.

    r and rho are None where undefined (constant labels or predictions), R^2 where the
    labels are constant.
    """
    from scipy.stats import spearmanr

    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(preds, dtype=np.float64)
    varies = len(y) > 1 and np.ptp(y) > 0 and np.ptp(p) > 0
    sse = float(np.sum((y - p) ** 2))
    sst = float(np.sum((y - y.mean()) ** 2)) if len(y) else 0.0
    return {
        "pearson_r": float(np.corrcoef(y, p)[0, 1]) if varies else None,
        "spearman_rho": float(spearmanr(y, p)[0]) if varies else None,
        "mse": sse / len(y) if len(y) else None,
        "r2": 1.0 - sse / sst if sst > 0 else None,
        "n": int(len(y)),
    }


def check_target(kind: str, target: str, sampler: bool, source, calibrate: bool | None = None) -> None:
    """Refuse, in one line, a model kind or flag that has no meaning for the data's target."""
    if target == "activity":
        if calibrate:
            raise InputError(f"--calibrate true fits probabilities to 0/1 classes, but {source} holds "
                             f"activity labels (real numbers) whose outputs are in their own units; leave "
                             f"--calibrate auto")
        if kind == "kmer_logistic":
            raise InputError(f"--model_type kmer_logistic is a classifier, but {source} holds activity "
                             f"labels (real numbers); use kmer_ridge (the additive k-mer regression), "
                             f"kmer_gbt or cnn")
        if sampler:
            raise InputError(f"--sampler true weights the classes, which the activity labels (real "
                             f"numbers) of {source} do not have; leave --sampler false")
    elif kind == "kmer_ridge":
        raise InputError(f"--model_type kmer_ridge is a regression for activity labels, but {source} "
                         f"holds 0/1 class labels; use kmer_logistic (its classifier twin)")


# ----------------------------------------------------------------------------- fitting
def set_seed(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and make TensorFlow's ops deterministic."""
    keras = models.import_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit_cnn(x_train, y_train, weights, x_val, y_val, arch: models.CNNConfig, cfg: TrainConfig,
            seed: int, verbose: int = 0, target: str = "class"):
    """Train the CNN with Adam -> (model, history rows, best epoch, stop record).

    Class target: binary cross-entropy; the weights of the best epoch (highest validation
    auROC, ties to the lower validation loss) are restored at the end, whether or not
    training stopped early. auROC rather than loss decides because on small or hard sets
    the validation loss can sit flat for many epochs while the ranking, the thing measured,
    already improves.

    Activity target: the same graph with a linear output unit (its bias starts at the
    training labels' mean), mean squared error; the best epoch is the one of lowest
    validation loss, and the plateau rule reads "at chance" as a validation R^2 below
    :data:`CHANCE_R2` (validation MSE above (1 - CHANCE_R2) x the validation labels' variance).

    Either target: with ``cfg.null_epochs`` the null rule (:class:`NullRule`) stops a run that
    stays indistinguishable from chance; the stop record says why and when training ended.
    """
    keras = models.import_keras()
    set_seed(seed)
    patience = cfg.patience if cfg.early_stop else None
    null = None
    null_epochs = (null_epochs_for(x_train.shape[1], len(x_train), cfg.batch_size) if cfg.null_epochs is None
                   else cfg.null_epochs)
    if target == "activity":
        model = models.build_cnn(x_train.shape[1], arch, output_kind="value")
        unit = model.get_layer("value")
        unit.set_weights([unit.get_weights()[0], np.full(1, float(np.mean(y_train)), dtype=np.float32)])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.lr), loss="mean_squared_error",
                      **_compile_options(cfg))
        chance = (1.0 - CHANCE_R2) * float(np.var(np.asarray(y_val, dtype=np.float64)))
        if patience is not None and null_epochs:
            null = NullRule(y_val, float(np.mean(y_train)), null_epochs, cfg.null_z, "activity",
                            outputs=_val_outputs(x_val, cfg.batch_size))
        best = best_epoch_callback(patience, cfg.min_epochs, cfg.plateau_epochs, monitor="val_loss",
                                   chance_loss=chance, null=null)
    else:
        model = models.build_cnn(x_train.shape[1], arch)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.lr), loss="binary_crossentropy",
                      metrics=[keras.metrics.AUC(name="auroc"), keras.metrics.BinaryAccuracy(name="accuracy")],
                      **_compile_options(cfg))
        if patience is not None and null_epochs:
            # the prior the training loss is fitted to: the class balance, or one half under --sampler
            prior = 0.5 if weights is not None else float(np.mean(y_train))
            null = NullRule(y_val, prior, null_epochs, cfg.null_z, "class",
                            outputs=_val_outputs(x_val, cfg.batch_size))
        best = best_epoch_callback(patience, cfg.min_epochs, cfg.plateau_epochs, null=null)
    schedule = lr_schedule(cfg, target)
    if cfg.augment.active:       # batches drawn afresh each epoch on the host (either train speed)
        train_data = augmentlib.batches(x_train, y_train, weights, cfg.batch_size, cfg.augment, seed)
        model.fit(train_data, validation_data=(x_val, y_val.astype(np.float32)), epochs=cfg.epochs,
                  verbose=verbose, callbacks=[best, *schedule])
    elif cfg.train_speed == "pipelined":
        train_data, val_data = _pipelines(x_train, y_train, weights, x_val, y_val, cfg.batch_size, seed)
        model.fit(train_data, validation_data=val_data, epochs=cfg.epochs, shuffle=False, verbose=verbose,
                  callbacks=[best, *schedule])
    else:
        model.fit(x_train, y_train.astype(np.float32), sample_weight=weights,
                  validation_data=(x_val, y_val.astype(np.float32)), epochs=cfg.epochs,
                  batch_size=cfg.batch_size, shuffle=True, verbose=verbose, callbacks=[best, *schedule])
    if refresh_for(cfg.refresh_batch_norm, target):
        models.refresh_batch_norm(model, x_train, seed)
    calibration = None
    if calibrate_for(cfg.calibrate, target):
        val_weights = balanced_sample_weights(y_val) if weights is not None else None
        calibration = models.calibrate_logit(model, x_val, y_val, val_weights, rc_average=bool(cfg.rc_average))
    return model, best.rows, best.best_epoch, best.stop_record(cfg.epochs), calibration


def lr_schedule(cfg: TrainConfig, target: str) -> list:
    """The learning-rate callbacks of ``cfg``: none for a constant rate (lr_decay 1), else Keras'
    ReduceLROnPlateau on the score the best epoch is chosen by (validation auROC; a regression's
    validation loss), down to a thousandth of the starting rate."""
    if cfg.lr_decay >= 1:
        return []
    keras = models.import_keras()
    monitor, mode = ("val_loss", "min") if target == "activity" else ("val_auroc", "max")
    return [keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, factor=cfg.lr_decay,
                                              patience=max(int(cfg.lr_patience), 1), min_lr=cfg.lr * 1e-3)]


def refresh_for(refresh: bool | None, target: str) -> bool:
    """--refresh_batch_norm as applied: ``refresh`` if given; auto (None): on for an activity
    target, off for class labels. Measured (docs/benchmarks.md, "Koo & Ploenzke's task 3, rerun"):
    with the statistics of training, which carry dropout's variance, bench_quantitative's
    regressions were recovered in 2 of 4 paired runs (two rules x two seeds), refreshed in 3 of 4
    (the cooperative interaction of seed 1: -27% -> -14%), while for a classifier they localize the
    planted motifs slightly better than refreshed ones, at the cost of calibrated probabilities."""
    return (target == "activity") if refresh is None else bool(refresh)


def calibrate_for(calibrate: bool | None, target: str) -> bool:
    """--calibrate as applied: ``calibrate`` if given, auto (None): on for class labels. Platt
    scaling changes no ranking and no attribution's localization (models.calibrate_logit); on
    Koo & Ploenzke's task 3 it took the default CNN's test accuracy from 0.755 to 0.904 at the
    same auROC. An activity target has no probabilities to calibrate: never on for one (check_target
    refuses a user's true before training)."""
    return target == "class" and (calibrate is None or bool(calibrate))


def _compile_options(cfg: TrainConfig) -> dict:
    """model.compile's speed options of ``cfg.train_speed``: none for plain; pipelined:
    STEPS_PER_EXECUTION steps per call from the host. (No XLA: Keras turns jit_compile off
    whenever TensorFlow's op determinism is on, which set_seed turns on.)"""
    if cfg.train_speed not in TRAIN_SPEEDS:
        raise InputError(f"--train_speed {cfg.train_speed!r} is not one of {', '.join(TRAIN_SPEEDS)}")
    if cfg.train_speed == "pipelined":
        return {"steps_per_execution": STEPS_PER_EXECUTION}
    return {}


def _pipelines(x_train, y_train, weights, x_val, y_val, batch_size: int, seed: int):
    """The pipelined path's input: tf.data pipelines (training: reshuffled each epoch with the
    seed, batched, prefetched; validation: batched, prefetched)."""
    import tensorflow as tf

    parts = (x_train, y_train.astype(np.float32)) + ((weights,) if weights is not None else ())
    train = (tf.data.Dataset.from_tensor_slices(parts)
             .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
             .batch(batch_size).prefetch(tf.data.AUTOTUNE))
    val = (tf.data.Dataset.from_tensor_slices((x_val, y_val.astype(np.float32)))
           .batch(batch_size).prefetch(tf.data.AUTOTUNE))
    return train, val


NULL_EPOCHS_BASE = 12            # null_epochs_for: this many epochs ...
NULL_EPOCHS_PER_BP = 100         # ... plus one per this many bp of sequence ...
NULL_REFERENCE_STEPS = 110       # ... of this many gradient steps each (7,000 training sequences in batches
                                 # of 64: the 10,000-sequence sets the wait was calibrated on)


EPOCHS_BASE = 50                 # epochs_for: at least this many epochs, of NULL_REFERENCE_STEPS steps ...
EPOCHS_MAX = 200                 # ... and never more than this many


def epochs_for(n_train: int, batch_size: int = 64) -> int:
    """The default most epochs: EPOCHS_BASE epochs of NULL_REFERENCE_STEPS gradient steps (50 at
    7,000 training sequences, the 10,000-sequence sets the defaults were measured on), as many
    more epochs as smaller sets need for the same number of steps (100 at 5,000 sequences, 84 at
    6,000), at most EPOCHS_MAX. Slow starters learn after a number of updates, not of passes
    (null_epochs_for), and a cap counted in epochs cut them short at 5,000 sequences:
    bench_learnability row 2 (order of two 8 bp motifs) 0.945 at the cap of 50 -> 0.980 in 69
    epochs, row 13 (distance, a weak and a strong PWM) 0.823 at 50 -> 0.939 in 88. Patience and
    the null rule still end runs that stop improving or stay at chance."""
    steps_per_epoch = math.ceil(max(int(n_train), 1) / max(int(batch_size), 1))
    return min(EPOCHS_MAX, max(EPOCHS_BASE, math.ceil(EPOCHS_BASE * NULL_REFERENCE_STEPS / steps_per_epoch)))


def null_epochs_for(seq_length: int, n_train: int | None = None, batch_size: int = 64) -> int:
    """The default wait of the null rule, in epochs: 12 + 1 per 100 bp epochs of
    NULL_REFERENCE_STEPS gradient steps, i.e. that many steps, and never fewer epochs (200 bp:
    14 epochs at 10,000 sequences, 28 at 5,000, 24 at 6,000; 500 bp: 17; 1,000 bp: 22).

    Calibrated on benchmarks/bench_learnability.py's slow starters, which sit inside the chance
    band longer the longer the sequence and the fewer the steps per epoch: at 10,000 sequences
    at most 5 consecutive epochs at 200 bp (row 10, phasing), 11 at 500 bp (row 4; 13 with
    --train_speed pipelined) and 14 at 1,000 bp (row 5); at 5,000 sequences 14 at 200 bp (row 2,
    order of two 8 bp motifs, and row 3 with reverse-complement augmentation: they take off at
    epoch 15-16 and reach 0.985-0.99), so a wait counted in epochs alone (14) stopped them just
    before they learned. Symmetry breaks after a number of updates, not of passes over the
    data: the wait is counted in steps. A null run is in the band from its first epoch, so it
    stops at this epoch. ``n_train`` None: the reference size (the wait in epochs as calibrated)."""
    epochs = NULL_EPOCHS_BASE + math.ceil(int(seq_length) / NULL_EPOCHS_PER_BP)
    if not n_train:
        return epochs
    steps_per_epoch = math.ceil(int(n_train) / max(int(batch_size), 1))
    return max(epochs, math.ceil(epochs * NULL_REFERENCE_STEPS / steps_per_epoch))


def _val_outputs(x_val, batch_size: int):
    """model -> its validation outputs (N,), float64: what the null rule scores."""
    def outputs(model):
        return np.asarray(model.predict(x_val, batch_size=max(int(batch_size), 256), verbose=0),
                          dtype=np.float64).reshape(-1)
    return outputs


CHANCE_AUROC = 0.6               # a validation auROC below this has not left chance yet
CHANCE_R2 = 0.1                  # a regression's validation R^2 below this has not left chance yet
FITS_TRAINING_AUROC = 0.65       # a training auROC from this on, validation at chance: memorized (chance_diagnosis)
EPS = 1e-7                       # Keras' clipping of probabilities in binary cross-entropy


def chance_diagnosis(history: list[dict]) -> str | None:
    """A classifier CNN whose validation auROC never left chance -> one warning line saying what
    happened on its training sequences; None when it learned (or is not a classifier).

    Two ways of failing look alike on the test split and call for different remedies. Memorized:
    the training auROC (Keras's, dropout and augmentation on) climbed from FITS_TRAINING_AUROC on
    while validation stayed at chance: on bench_learnability's distance rule at 1,000 bp (10,000
    sequences) the default CNN reached training auROC 0.87-0.94 with validation at 0.47-0.52, with
    dropout 0.3, shifts of 10 bp or a max-only final pooling alike. Nothing learned: training sat
    at chance as well (the relu CNN with shifts there: 0.50, its dense units dead)."""
    val = [row["val_auroc"] for row in history if row.get("val_auroc") is not None]
    train = [row["auroc"] for row in history if row.get("auroc") is not None]
    if not val or not train or max(val) >= CHANCE_AUROC:
        return None
    best = max(range(len(train)), key=train.__getitem__)
    if train[best] >= FITS_TRAINING_AUROC:
        return (f"warning: the CNN memorized its training sequences (training auROC {train[best]:.2f} at epoch "
                f"{best + 1}) while its validation auROC never left chance (best {max(val):.2f}): what it fitted "
                f"does not generalize; more sequences help, and so may another --seed or, on long sequences, the relu "
                f"first layer (--exp_filters 0 --pool_size 4 --first_batch_norm false --dense_batch_norm false "
                f"--augment_shift 0 --dropout 0.1), which learned a spacing rule at 1,000 bp with 2 seeds of 5 "
                f"where the default memorized it (docs/benchmarks.md, 'a race with memorization')")
    return (f"warning: the CNN stayed at chance on its training sequences too (best training auROC "
            f"{train[best]:.2f}, validation {max(val):.2f}): it found nothing to start from; another --seed, "
            f"more sequences or more epochs (--null_epochs 0) may start it")


def auroc_null_sd(n_pos: int, n_neg: int) -> float:
    """SD of the auROC of a score unrelated to the labels (labels permuted): the Mann-Whitney U
    variance n1 n2 (n1 + n2 + 1) / 12 divided by (n1 n2)^2 -> sqrt((n1 + n2 + 1) / (12 n1 n2))."""
    return math.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))


def chance_check(labels, outputs, reference: float, z: float, target: str = "class") -> dict:
    """Is one epoch's validation output indistinguishable from chance? -> a record with ``chance``.

    Class target (``outputs`` are probabilities, ``reference`` the prior the loss is fitted to):
    chance when the auROC lies inside the label-permutation band 0.5 +/- z x
    :func:`auroc_null_sd` AND the binary cross-entropy is not below the chance loss (every
    sequence predicted ``reference``) by more than z standard errors of the per-sequence
    difference. Activity target (``outputs`` are values, ``reference`` the training labels'
    mean): the Pearson r inside 0 +/- z / sqrt(n - 1) (its permutation SD; constant outputs
    count as r = 0) AND the squared error not below that of predicting ``reference`` by more
    than z standard errors.
    """
    y = np.asarray(labels, dtype=np.float64)
    out = np.asarray(outputs, dtype=np.float64).reshape(-1)
    n = len(y)
    if not np.isfinite(out).all():       # a diverged run: not chance, and the divergence check names it
        return {"auroc" if target == "class" else "pearson_r": None, "band": None, "loss": None,
                "chance_loss": None, "loss_se": None, "chance": False}
    if target == "class":
        from sklearn.metrics import roc_auc_score

        n_pos = int(y.sum())
        sd = auroc_null_sd(n_pos, n - n_pos)
        score = float(roc_auc_score(y.astype(int), out)) if 0 < n_pos < n else 0.5
        centre, name = 0.5, "auroc"
        p = np.clip(out, EPS, 1 - EPS)
        q = min(max(float(reference), EPS), 1 - EPS)
        loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        base = -(y * math.log(q) + (1 - y) * math.log(1 - q))
    else:
        sd = 1.0 / math.sqrt(max(n - 1, 1))
        varies = np.ptp(out) > 0 and np.ptp(y) > 0
        score = float(np.corrcoef(y, out)[0, 1]) if varies else 0.0
        centre, name = 0.0, "pearson_r"
        loss = (y - out) ** 2
        base = (y - float(reference)) ** 2
    diff = loss - base
    se = float(np.std(diff, ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    band = (centre - z * sd, centre + z * sd)
    in_band = band[0] <= score <= band[1]
    not_better = float(diff.mean()) >= -z * se
    return {name: score, "band": [band[0], band[1]], "loss": float(loss.mean()),
            "chance_loss": float(base.mean()), "loss_se": se, "chance": bool(in_band and not_better)}


@dataclass
class NullRule:
    """Stop a run that learns nothing: from ``min_epochs`` on, once the last ``epochs``
    consecutive epochs were each indistinguishable from chance (:func:`chance_check` at ``z``),
    while the run has not left chance (best validation auROC below :meth:`chance_ceiling`, i.e.
    CHANCE_AUROC or the band's upper edge if higher; a regression: best validation R^2 below
    CHANCE_R2). ``outputs(model)`` gives the validation outputs."""
    labels: np.ndarray
    reference: float
    epochs: int
    z: float
    target: str = "class"
    outputs: object = None

    def check(self, model) -> dict:
        return chance_check(self.labels, self.outputs(model), self.reference, self.z, self.target)

    def chance_ceiling(self) -> float:
        """A classifier's validation auROC below this has not left chance: CHANCE_AUROC, or the
        band's upper edge where the validation split is so small that the band reaches past it."""
        n_pos = int(np.sum(self.labels))
        n_neg = len(self.labels) - n_pos
        if n_pos == 0 or n_neg == 0:
            return CHANCE_AUROC
        return max(CHANCE_AUROC, 0.5 + self.z * auroc_null_sd(n_pos, n_neg))


def best_epoch_callback(patience: int | None, min_epochs: int = 0, plateau_epochs: int = 0,
                        monitor: str = "val_auroc", chance_loss: float | None = None,
                        null: NullRule | None = None):
    """A Keras callback: per-epoch history rows with seconds; keeps the weights of the best
    epoch and restores them when training ends; stops after ``patience`` epochs without a
    better one (never if None), not before ``min_epochs``, and while the best epoch is still
    at chance not before ``plateau_epochs`` - unless ``null`` (a :class:`NullRule`) finds the
    run indistinguishable from chance for its ``epochs`` consecutive epochs, which stops it
    from ``min_epochs`` on. Defined in a function so that importing this module does not
    import TensorFlow. ``stop_record(max_epochs)`` says why training ended.

    ``monitor="val_auroc"`` (a classifier): best = highest val_auroc, ties to lower val_loss;
    at chance = best val_auroc below CHANCE_AUROC. ``monitor="val_loss"`` (a regression):
    best = lowest val_loss; at chance = best val_loss above ``chance_loss`` (None: never).
    """
    if monitor not in ("val_auroc", "val_loss"):
        raise ValueError(f"monitor {monitor!r} is neither val_auroc nor val_loss")
    keras = models.import_keras()
    ceiling = null.chance_ceiling() if null is not None and monitor == "val_auroc" else CHANCE_AUROC

    class BestEpoch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows: list[dict] = []
            self.best_score = (-math.inf, -math.inf)
            self.best_epoch = 0
            self.best_weights = None
            self._start = 0.0
            self.reason = None                   # "patience", "chance" once stopped early
            self.chance_run = 0                  # consecutive epochs indistinguishable from chance
            self.last_check = None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            row = {"epoch": epoch + 1}
            row.update({key: float(value) for key, value in sorted(logs.items())})
            loss = logs.get("val_loss", math.inf)
            loss = math.inf if math.isnan(loss) else loss
            if monitor == "val_auroc":
                score = (logs.get("val_auroc", -math.inf), -loss)
            else:
                score = (-loss, -loss)
            if score > self.best_score:
                self.best_score, self.best_epoch = score, epoch + 1
                self.best_weights = self.model.get_weights()
            if null is not None and self.null_applies():
                self.last_check = null.check(self.model)
                self.chance_run = self.chance_run + 1 if self.last_check["chance"] else 0
            else:
                self.chance_run = 0
            row["seconds"] = time.perf_counter() - self._start
            self.rows.append(row)
            if patience is None or epoch + 1 < min_epochs:
                return
            if null is not None and self.chance_run >= null.epochs:
                self.model.stop_training, self.reason = True, "chance"
            elif (epoch + 1 - self.best_epoch >= patience
                  and (not self.at_chance() or epoch + 1 >= plateau_epochs)):
                self.model.stop_training, self.reason = True, "patience"

        def at_chance(self) -> bool:
            if monitor == "val_auroc":
                return self.best_score[0] < CHANCE_AUROC
            return chance_loss is not None and -self.best_score[0] > chance_loss

        def null_applies(self) -> bool:
            if monitor == "val_auroc":
                return self.best_score[0] < ceiling
            return self.at_chance()

        def stop_record(self, max_epochs: int) -> dict:
            """Why training ended: reason (patience, chance, or epochs: --epochs ran out), at which
            epoch, the best epoch, and the null rule's last check where it ran."""
            record = {"reason": self.reason or "epochs", "epoch": len(self.rows), "best_epoch": self.best_epoch,
                      "max_epochs": int(max_epochs)}
            if null is not None:
                record["null_rule"] = {"epochs": null.epochs, "z": null.z, "chance_run": self.chance_run,
                                       "last_check": self.last_check}
            return record

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return BestEpoch()


def fit_kmer(kind: str, x_train, y_train, weights, cfg: models.KmerConfig, seed: int, target: str = "class"):
    """Fit a k-mer estimator on uint8 codes (N, L) or one-hot (N, L, 4) -> fitted estimator."""
    estimator = models.build_kmer_estimator(kind, cfg, seed, target)
    features = kmer_counts(x_train, cfg.k)
    estimator.fit(features, y_train, **models.estimator_fit_kwargs(estimator, weights))
    return estimator


def resolve_architecture(arch: models.CNNConfig, dataset: Dataset) -> tuple[models.CNNConfig, int, str]:
    """Check the sequence length against the CNN (the one place it is checked), fix the
    dilated tower's depth from what the data's rule needs, the final pooling from the
    length, and the dropout from the target (:func:`utils.models.default_dropout`), each unless
    set by hand -> (architecture, field needed in bp, how it was derived).

    The field needed is :func:`utils.models.field_needed` capped at the sequence length;
    model.json records it (:func:`architecture_record`).
    """
    models.check_cnn_length(dataset.seq_length, arch)
    activity = getattr(dataset.rule, "activity", None)
    # the label counts copies (an activity planting up to K > 1, or a copies rule): max pooling cannot count
    counts = (activity is not None and activity.max_copies > 1) or bool(getattr(dataset.rule, "counts_copies", False))
    keeps = getattr(dataset.rule, "kind", None) == "position"       # the label depends on where A stands
    arch = replace(arch, final_pool=models.resolve_final_pool(arch, dataset.seq_length, counts_copies=counts,
                                                              keeps_position=keeps))
    need, how = models.field_needed(dataset.rule, {m: k.length for m, k in dataset.library.items()},
                                    dataset.seq_length, arch.kernel_size)
    need = int(min(need, dataset.seq_length))
    if arch.architecture == "dilated" and arch.dilated_layers is None:
        arch = replace(arch, dilated_layers=models.layers_for_field(arch, need))
    if arch.dropout is None:                # the target's default, recorded in model.json
        arch = replace(arch, dropout=models.default_dropout(arch.architecture, dataset.target or "class"))
    return arch, need, how


def train(dataset: Dataset, kind: str, cfg: TrainConfig, seed: int,
          arch: models.CNNConfig | None = None, kmer: models.KmerConfig | None = None,
          verbose: int = 0) -> TrainResult:
    """Split the data, fit one model kind, and score it on validation and test.

    The data's target (class or activity) decides a classifier or a regression; a kind or
    flag the target has no use for is refused first (:func:`check_target`).
    """
    if kind not in models.KINDS:
        raise InputError(f"unknown --model_type {kind!r}; choose one of {', '.join(models.KINDS)}")
    if dataset.labels is None:
        raise InputError(f"{dataset.directory} has no labels; training needs an id<TAB>label file")
    target = dataset.target or "class"
    check_target(kind, target, cfg.sampler, dataset.directory, cfg.calibrate)
    if kind == "cnn":            # refused before the split, as before any other work
        arch, need, how = resolve_architecture(arch or models.CNNConfig(), dataset)
        augment, notes = augmentlib.resolve(cfg.augment_rc, cfg.augment_shift, dataset)   # (k-mer models: unused)
        cfg = replace(cfg, augment_rc=augment.rc, augment_shift=augment.shift,
                      refresh_batch_norm=refresh_for(cfg.refresh_batch_norm, target),
                      calibrate=calibrate_for(cfg.calibrate, target),
                      rc_average=augment.rc if cfg.rc_average is None else bool(cfg.rc_average))
    else:                                           # the k-mer models never augment, have no batch norm,
        cfg, notes = replace(cfg, augment_rc=False, augment_shift=0, refresh_batch_norm=False,
                             calibrate=False, rc_average=False), []   # and fit their own probabilities
    if target == "activity":
        labels = np.asarray(dataset.labels, dtype=np.float64)
        if np.ptp(labels) == 0:
            raise InputError(f"all {len(labels)} activity labels of {dataset.directory} are {labels[0]:g}; "
                             f"a regression needs labels that vary")
        split = split_random(len(labels), cfg.test_sz, seed)
    else:
        labels = np.asarray(dataset.labels).astype(np.int64)
        split = split_labels(labels, cfg.test_sz, seed)
    codes = seqs_to_codes(dataset.seqs)            # (N, L) uint8: a quarter of one-hot float32's bytes
    part = {name: split == name for name in SPLITS}
    if kind == "cnn" and cfg.epochs is None:
        cfg = replace(cfg, epochs=epochs_for(int(part["train"].sum()), cfg.batch_size))

    def onehot(name: str) -> np.ndarray:
        return codes_to_onehot(codes[part[name]])

    weights = balanced_sample_weights(labels[part["train"]]) if cfg.sampler else None
    history: list[dict] = []
    best_epoch = stop = calibration = None
    if kind == "cnn":
        model, history, best_epoch, stop, calibration = fit_cnn(onehot("train"), labels[part["train"]], weights,
                                                   onehot("val"), labels[part["val"]], arch, cfg, seed, verbose,
                                                   target)
        predictor = models.predictor_for(kind, model, dataset.seq_length, target)
        if cfg.rc_average:
            predictor = models.RCAveraged(predictor)
    else:
        kmer = kmer or models.KmerConfig()
        if kmer.k > dataset.seq_length:
            raise InputError(f"--k {kmer.k} is longer than the {dataset.seq_length} bp sequences; "
                             f"choose a k of at most {dataset.seq_length}")
        estimator = fit_kmer(kind, codes[part["train"]], labels[part["train"]], weights, kmer, seed, target)
        predictor = models.predictor_for(kind, estimator, dataset.seq_length, target, kmer.k)
    probs = {name: predictor.predict(onehot(name)) for name in ("val", "test")}
    if not all(np.all(np.isfinite(p)) for p in probs.values()):
        raise InputError(f"training diverged: the model's outputs became NaN (the loss blew up at --lr "
                         f"{cfg.lr:g}); lower --lr, e.g. to 0.001")
    if target == "activity":
        metrics = {name: regression_metrics(labels[part[name]], probs[name]) for name in ("test", "val")}
        train_y = labels[part["train"]]
        metrics["train"] = {"n": int(part["train"].sum()), "label_mean": float(train_y.mean()),
                            "label_sd": float(train_y.std())}
    else:
        metrics = {name: binary_metrics(labels[part[name]], probs[name]) for name in ("test", "val")}
        metrics["train"] = {"n": int(part["train"].sum()), "n_positive": int(labels[part["train"]].sum())}
    timing = {}
    if history:
        metrics["epochs_run"] = len(history)
        metrics["best_epoch"] = best_epoch
        # wall-clock seconds vary run to run: kept out of metrics.json and history.csv, which
        # the same seed and flags reproduce exactly, and written to timing.json
        seconds = [row.pop("seconds") for row in history]
        timing = {"seconds_per_epoch": float(np.mean(seconds)), "epoch_seconds": seconds}
    result = TrainResult(predictor, kind, split, metrics, probs, history, target=target)
    result.arch = arch if kind == "cnn" else None
    result.field_needed = (need, how) if kind == "cnn" else None
    result.timing = timing
    result.stop = stop
    result.training = cfg
    result.calibration = calibration
    result.notes = notes
    diagnosis = chance_diagnosis(history) if kind == "cnn" and target == "class" else None
    if diagnosis:
        result.warnings.append(diagnosis)
    n_test = metrics["test"]["n"]
    if n_test < MIN_TEST_SEQS:
        score = "auroc" if target == "class" else "pearson_r"
        result.warnings.append(f"warning: the test split holds only {n_test} sequences, so its "
                               f"{'auROC' if target == 'class' else 'Pearson r'} ({metrics['test'][score]}) "
                               f"means little; generate more sequences or raise --test_sz")
    return result


# ----------------------------------------------------------------------------- model folder
def package_versions() -> dict:
    versions = {"python": sys.version.split()[0]}
    for name in ("numpy", "scikit-learn", "tensorflow", "keras", "skops"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def model_json(result: TrainResult, dataset: Dataset, cfg: TrainConfig, seed: int,
               arch: models.CNNConfig | None, kmer: models.KmerConfig | None) -> dict:
    """What load() needs plus provenance: kind, input shape, features, flags, seed, data checksum."""
    kind = result.kind
    folder = Path(dataset.directory)
    record = {
        "kind": kind,
        "target": result.target,
        "output_kind": result.predictor.output_kind,
        "model_file": models.model_file_name(kind),
        "input_length": int(dataset.seq_length),
        "alphabet": ALPHABET,
        "k": (kmer or models.KmerConfig()).k if kind != "cnn" else None,
        "architecture": architecture_record(result.arch, *result.field_needed) if kind == "cnn" else None,
        "estimator": (kmer or models.KmerConfig()).to_dict() if kind != "cnn" else None,
        "training": (result.training or cfg).to_dict(),
        "seed": int(seed),
        "data": {
            "path": str(folder.resolve()),
            "files": list(dataset.files),
            "sha256": dataset.checksum,
            "sequences_sha256": dataset.sequences_sha256,     # the FASTA alone: known again when given as --seq_dict
            "gen_type": dataset.rule.kind if dataset.rule is not None else None,
        },
        "best_epoch": result.metrics.get("best_epoch"),
        "stop": result.stop,
        "calibration": result.calibration,
        "versions": package_versions(),
    }
    if kind == "kmer_ridge":          # the strength RidgeCV chose from ridge_alphas
        record["estimator"]["alpha_chosen"] = float(result.predictor.estimator[-1].alpha_)
    return record


def architecture_record(arch: models.CNNConfig, need_bp: int, need_from: str) -> dict:
    """The CNN's fields, its receptive field, and what the data asked of it (as
    :func:`resolve_architecture` found it: bp, how derived)."""
    out = arch.to_dict()
    out["field_needed_bp"] = int(need_bp)
    out["field_needed_from"] = need_from
    return out


def write_model_folder(result: TrainResult, dataset: Dataset, out: str | Path, cfg: TrainConfig,
                       seed: int, arch: models.CNNConfig | None = None,
                       kmer: models.KmerConfig | None = None, overwrite: bool = False) -> Path:
    """Write every file of the model folder; ``out`` is replaced whole, or left as it was.

    Without ``overwrite``, a folder that another run wrote at ``out`` meanwhile is kept and
    this run's files are discarded (InputError; see :func:`utils.io.staged_dir`).
    """
    from utils.plots import plot_learning_curves

    out = Path(out)
    labels = np.asarray(dataset.labels)
    labels = labels.astype(np.float64) if result.target == "activity" else labels.astype(int)
    with staged_dir(out, overwrite) as tmp:
        models.save_model(result.predictor, tmp)
        write_json(tmp / ModelFolder.MODEL_JSON, model_json(result, dataset, cfg, seed, arch, kmer))
        write_tsv(tmp / ModelFolder.SPLIT, ["id", "split"], [dataset.ids, list(result.split)])
        write_json(tmp / ModelFolder.METRICS, result.metrics)
        if result.timing:
            write_json(tmp / ModelFolder.TIMING, result.timing)
        test = np.flatnonzero(result.split == "test")
        write_tsv(tmp / ModelFolder.PREDICTIONS, ["id", "split", "label", PREDICTION_COLUMN[result.target]],
                  [[dataset.ids[i] for i in test], ["test"] * len(test), labels[test],
                   result.probs["test"]])
        if result.history:
            write_text(tmp / ModelFolder.HISTORY, history_csv(result.history))
            plot_learning_curves(result.history, tmp / ModelFolder.CURVES, result.metrics.get("best_epoch"),
                                 loss_name="binary cross-entropy" if result.target == "class"
                                 else "mean squared error")
    return out


def history_csv(rows: list[dict]) -> str:
    """Per-epoch rows -> CSV text; columns are the union of the rows' keys, epoch first."""
    columns = ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join("" if row.get(c) is None else repr(row[c]) if isinstance(row[c], float)
                              else str(row[c]) for c in columns))
    return "\n".join(lines) + "\n"
