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
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

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
    epochs: int = 50
    early_stop: bool = True
    patience: int = 5            # epochs without a better validation score before stopping
    min_epochs: int = 10         # never stop before this epoch: spacing rules sit at chance for
                                 # several epochs before the motif detectors form ...
    plateau_epochs: int = 30     # ... and while the validation auROC has not left chance (< 0.6;
                                 # a regression: validation R^2 below 0.1), not before this one
                                 # (long sequences plateau longer)
    batch_size: int = 64
    lr: float = 1e-3

    def to_dict(self) -> dict:
        return asdict(self)


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
    """auROC, auPRC (average precision), accuracy at 0.5, n and positives."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels).astype(int)
    probs = np.asarray(probs, dtype=np.float64)
    both = len(np.unique(labels)) == 2
    return {
        "auroc": float(roc_auc_score(labels, probs)) if both else None,
        "auprc": float(average_precision_score(labels, probs)) if both else None,
        "accuracy": float(np.mean((probs >= 0.5) == labels)),
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


def check_target(kind: str, target: str, sampler: bool, source) -> None:
    """Refuse, in one line, a model kind or flag that has no meaning for the data's target."""
    if target == "activity":
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
    """Train the CNN with Adam -> (model, history rows, best epoch).

    Class target: binary cross-entropy; the weights of the best epoch (highest validation
    auROC, ties to the lower validation loss) are restored at the end, whether or not
    training stopped early. auROC rather than loss decides because on small or hard sets
    the validation loss can sit flat for many epochs while the ranking, the thing measured,
    already improves.

    Activity target: the same graph with a linear output unit (its bias starts at the
    training labels' mean), mean squared error; the best epoch is the one of lowest
    validation loss, and the plateau rule reads "at chance" as a validation R^2 below
    :data:`CHANCE_R2` (validation MSE above (1 - CHANCE_R2) x the validation labels' variance).
    """
    keras = models.import_keras()
    set_seed(seed)
    patience = cfg.patience if cfg.early_stop else None
    if target == "activity":
        model = models.build_cnn(x_train.shape[1], arch, output_kind="value")
        unit = model.get_layer("value")
        unit.set_weights([unit.get_weights()[0], np.full(1, float(np.mean(y_train)), dtype=np.float32)])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.lr), loss="mean_squared_error")
        chance = (1.0 - CHANCE_R2) * float(np.var(np.asarray(y_val, dtype=np.float64)))
        best = best_epoch_callback(patience, cfg.min_epochs, cfg.plateau_epochs, monitor="val_loss",
                                   chance_loss=chance)
    else:
        model = models.build_cnn(x_train.shape[1], arch)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=cfg.lr), loss="binary_crossentropy",
                      metrics=[keras.metrics.AUC(name="auroc"), keras.metrics.BinaryAccuracy(name="accuracy")])
        best = best_epoch_callback(patience, cfg.min_epochs, cfg.plateau_epochs)
    model.fit(x_train, y_train.astype(np.float32), sample_weight=weights,
              validation_data=(x_val, y_val.astype(np.float32)), epochs=cfg.epochs,
              batch_size=cfg.batch_size, shuffle=True, verbose=verbose, callbacks=[best])
    return model, best.rows, best.best_epoch


CHANCE_AUROC = 0.6               # a validation auROC below this has not left chance yet
CHANCE_R2 = 0.1                  # a regression's validation R^2 below this has not left chance yet


def best_epoch_callback(patience: int | None, min_epochs: int = 0, plateau_epochs: int = 0,
                        monitor: str = "val_auroc", chance_loss: float | None = None):
    """A Keras callback: per-epoch history rows with seconds; keeps the weights of the best
    epoch and restores them when training ends; stops after ``patience`` epochs without a
    better one (never if None), not before ``min_epochs``, and while the best epoch is still
    at chance not before ``plateau_epochs``. Defined in a function so that importing this
    module does not import TensorFlow.

    ``monitor="val_auroc"`` (a classifier): best = highest val_auroc, ties to lower val_loss;
    at chance = best val_auroc below CHANCE_AUROC. ``monitor="val_loss"`` (a regression):
    best = lowest val_loss; at chance = best val_loss above ``chance_loss`` (None: never).
    """
    if monitor not in ("val_auroc", "val_loss"):
        raise ValueError(f"monitor {monitor!r} is neither val_auroc nor val_loss")
    keras = models.import_keras()

    class BestEpoch(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows: list[dict] = []
            self.best_score = (-math.inf, -math.inf)
            self.best_epoch = 0
            self.best_weights = None
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            row = {"epoch": epoch + 1}
            row.update({key: float(value) for key, value in sorted(logs.items())})
            row["seconds"] = time.perf_counter() - self._start
            self.rows.append(row)
            loss = logs.get("val_loss", math.inf)
            loss = math.inf if math.isnan(loss) else loss
            if monitor == "val_auroc":
                score = (logs.get("val_auroc", -math.inf), -loss)
            else:
                score = (-loss, -loss)
            if score > self.best_score:
                self.best_score, self.best_epoch = score, epoch + 1
                self.best_weights = self.model.get_weights()
            elif (patience is not None and epoch + 1 - self.best_epoch >= patience and epoch + 1 >= min_epochs
                  and (not self.at_chance() or epoch + 1 >= plateau_epochs)):
                self.model.stop_training = True

        def at_chance(self) -> bool:
            if monitor == "val_auroc":
                return self.best_score[0] < CHANCE_AUROC
            return chance_loss is not None and -self.best_score[0] > chance_loss

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
    dilated tower's depth from what the data's rule needs, and the final pooling from the
    length (unless set by hand) -> (architecture, field needed in bp, how it was derived).

    The field needed is :func:`utils.models.field_needed` capped at the sequence length;
    model.json records it (:func:`architecture_record`).
    """
    from dataclasses import replace

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
    check_target(kind, target, cfg.sampler, dataset.directory)
    if kind == "cnn":            # refused before the split, as before any other work
        arch, need, how = resolve_architecture(arch or models.CNNConfig(), dataset)
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

    def onehot(name: str) -> np.ndarray:
        return codes_to_onehot(codes[part[name]])

    weights = balanced_sample_weights(labels[part["train"]]) if cfg.sampler else None
    history: list[dict] = []
    best_epoch = None
    if kind == "cnn":
        model, history, best_epoch = fit_cnn(onehot("train"), labels[part["train"]], weights,
                                             onehot("val"), labels[part["val"]], arch, cfg, seed, verbose,
                                             target)
        predictor = models.predictor_for(kind, model, dataset.seq_length, target)
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
        "training": cfg.to_dict(),
        "seed": int(seed),
        "data": {
            "path": str(folder.resolve()),
            "files": list(dataset.files),
            "sha256": dataset.checksum,
            "sequences_sha256": dataset.sequences_sha256,     # the FASTA alone: known again when given as --seq_dict
            "gen_type": dataset.rule.kind if dataset.rule is not None else None,
        },
        "best_epoch": result.metrics.get("best_epoch"),
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
