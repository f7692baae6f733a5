"""Regression models on activity targets: reading real-valued labels, kmer_ridge, the kmer_gbt
regressor and the CNN with a linear output, their metrics, predictions and refusals.

The activity data are written here by hand, in the shape Generate_sequences.py gives a data
folder (sequences.fa, labels.tsv, motif_sites.bed, metadata.json with ``"target": "activity"``):
random 100 bp sequences; motif A is planted in about half of them and motif B, independently,
in about half; label = 2.0 x [A] + 1.0 x [B] + Gaussian noise (sd 0.1), written "%.6f".
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import Train_models
from oracles import CallbackModel
from test_train import write_data_folder
from utils import cli, models, training
from utils.encoding import codes_to_seqs, one_hot
from utils.folders import Dataset, load_dataset, load_fasta_input
from utils.io import InputError
from utils.seqfiles import read_labels

MOTIF_A, MOTIF_B = "TGACGTCATC", "CCAATCGGAT"
EFFECT_A, EFFECT_B, NOISE_SD = 2.0, 1.0, 0.1


def activity_data(n: int = 600, length: int = 100, seed: int = 0, noise_sd: float = NOISE_SD):
    """-> (seqs, labels, has_a, has_b, sites); sites: (index, start, end, motif) of each planted instance."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    has_a, has_b = rng.random(n) < 0.5, rng.random(n) < 0.5
    sites = []
    for i in range(n):
        # A in the first half, B in the second: never overlapping
        for present, motif, lo, hi in ((has_a[i], MOTIF_A, 0, length // 2 - 10),
                                       (has_b[i], MOTIF_B, length // 2, length - 10)):
            if present:
                start = int(rng.integers(lo, hi + 1))
                codes[i, start:start + 10] = ["ACGT".index(b) for b in motif]
                sites.append((i, start, start + 10, "A" if motif == MOTIF_A else "B"))
    labels = EFFECT_A * has_a + EFFECT_B * has_b + rng.normal(0, noise_sd, n)
    return codes_to_seqs(codes), labels, has_a, has_b, sites


def write_activity_folder(folder: Path, seqs, labels, sites=(), metadata: dict | None = None) -> Path:
    """A data folder as Generate_sequences.py --target activity lays it out."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"seq_{i:07d}" for i in range(len(seqs))]
    (folder / "sequences.fa").write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, seqs)))
    (folder / "labels.tsv").write_text("id\tlabel\n" + "".join(f"{i}\t{v:.6f}\n" for i, v in zip(ids, labels)))
    (folder / "motif_sites.bed").write_text("".join(f"{ids[i]}\t{s}\t{e}\t{m}\t0\t+\n" for i, s, e, m in sites))
    meta = {"target": "activity", "seq_length": len(seqs[0]), "num_seqs": len(seqs), "seed": 0,
            "activity_definition": f"{EFFECT_A} x [A present] + {EFFECT_B} x [B present] + N(0, {NOISE_SD})",
            "effects": {"A": EFFECT_A, "B": EFFECT_B}, "noise_sd": NOISE_SD}
    (folder / "metadata.json").write_text(json.dumps(meta if metadata is None else metadata, indent=2) + "\n")
    return folder


@pytest.fixture(scope="module")
def activity_dir(tmp_path_factory) -> Path:
    seqs, labels, _, _, sites = activity_data()
    return write_activity_folder(tmp_path_factory.mktemp("activity") / "d", seqs, labels, sites)


def read_rows(path: Path, delimiter: str = "\t") -> tuple[list[str], list[dict]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        return list(reader.fieldnames), list(reader)


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        cli.run(Train_models.main, argv)
    return exc.value.code, capsys.readouterr().err


# ----------------------------------------------------------------------------- reading the labels
def test_activity_labels_are_read_exactly_as_float64(activity_dir):
    data = load_dataset(activity_dir)
    assert data.target == "activity" and data.labels.dtype == np.float64
    written = [float(line.split("\t")[1]) for line in (activity_dir / "labels.tsv").read_text().splitlines()[1:]]
    assert data.labels.tolist() == written
    assert data.labels[:3].tolist() == [0.144017, -0.016581, 0.045275]     # the file's digits, no rounding


def test_read_labels_targets(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("id\tlabel\na\t1\nb\t0\n")
    for target in ("class", None):
        ids, labels = read_labels(path, target=target)
        assert ids == ["a", "b"] and labels.dtype == np.int8 and labels.tolist() == [1, 0]
    ids, labels = read_labels(path, target="activity")              # 0 and 1 as activities
    assert labels.dtype == np.float64 and labels.tolist() == [1.0, 0.0]
    path.write_text("id\tlabel\na\t1.000000\nb\t-2.5e-3\n")
    ids, labels = read_labels(path, target=None)                     # numbers, not the classes 0/1
    assert labels.dtype == np.float64 and labels.tolist() == [1.0, -0.0025]
    with pytest.raises(InputError, match="labels must be 0 or 1, found '-2.5e-3', '1.000000'"):
        read_labels(path)                                            # the class reader is unchanged
    for bad, needle in (("nan", "finite numbers, found 'nan'"), ("-inf", "finite numbers, found '-inf'"),
                        ("1e999", "finite numbers, found '1e999'"), ("high", "must be numbers, found 'high'"),
                        ("", "found an empty label")):
        path.write_text(f"id\tlabel\na\t0.5\nb\t{bad}\n")
        with pytest.raises(InputError, match=needle) as exc:
            read_labels(path, target=None)
        assert "\n" not in str(exc.value) and "'b'" in str(exc.value)


def test_the_class_path_is_unchanged(tmp_path):
    """A folder whose metadata.json names no target is class data: 0/1 as int8, anything else
    refused as before, even numbers an activity folder would take."""
    seqs, _, has_a, _, _ = activity_data(n=40)
    folder = write_activity_folder(tmp_path / "c", seqs, has_a.astype(float), metadata={"seed": 0})
    (folder / "labels.tsv").write_text("id\tlabel\n" + "".join(f"seq_{i:07d}\t{int(v)}\n" for i, v in enumerate(has_a)))
    data = load_dataset(folder)
    assert data.target == "class" and data.labels.dtype == np.int8 and data.labels.tolist() == has_a.astype(int).tolist()
    (folder / "metadata.json").write_text(json.dumps({"seed": 0, "target": "class"}))
    assert load_dataset(folder).target == "class"
    (folder / "labels.tsv").write_text("id\tlabel\n" + "".join(f"seq_{i:07d}\t0.5\n" for i in range(40)))
    with pytest.raises(InputError, match="labels must be 0 or 1, found '0.5'"):
        load_dataset(folder)
    (folder / "metadata.json").write_text(json.dumps({"target": "counts"}))
    with pytest.raises(InputError, match="names target 'counts'; the targets are class"):
        load_dataset(folder)


def test_without_metadata_the_labels_tell_the_target(tmp_path):
    seqs, labels, has_a, _, _ = activity_data(n=30)
    folder = write_activity_folder(tmp_path / "f", seqs, labels)
    (folder / "metadata.json").unlink()
    (folder / "motif_sites.bed").unlink()
    data = load_dataset(folder / "sequences.fa")
    assert data.target == "activity" and np.array_equal(data.labels, np.round(labels, 6))
    fasta = load_fasta_input(folder / "sequences.fa", folder / "labels.tsv")
    assert fasta.target == "activity" and np.array_equal(fasta.labels, data.labels)
    (folder / "labels.tsv").write_text("id\tlabel\n" + "".join(f"seq_{i:07d}\t{int(v)}\n" for i, v in enumerate(has_a)))
    for data in (load_dataset(folder), load_fasta_input(folder / "sequences.fa", folder / "labels.tsv")):
        assert data.target == "class" and data.labels.dtype == np.int8
    assert load_fasta_input(folder / "sequences.fa").target is None


# ----------------------------------------------------------------------------- split and metrics
def test_activity_split_is_random_seeded_and_sized_as_the_class_split():
    split = training.split_random(600, 0.15, seed=0)
    assert [(split == s).sum() for s in ("train", "val", "test")] == [420, 90, 90]
    assert np.array_equal(split, training.split_random(600, 0.15, seed=0))
    assert not np.array_equal(split, training.split_random(600, 0.15, seed=1))
    # the same sizes as the stratified split of balanced classes
    classes = training.split_labels(np.arange(600) % 2, 0.15, seed=0)
    assert [(classes == s).sum() for s in ("train", "val", "test")] == [420, 90, 90]
    with pytest.raises(InputError, match="too few"):
        training.split_random(5, 0.15, seed=0)


def test_regression_metrics_match_numpy_and_scipy():
    rng = np.random.default_rng(4)
    y = rng.normal(size=50)
    p = 0.7 * y + rng.normal(scale=0.5, size=50)
    m = training.regression_metrics(y, p)
    assert m["n"] == 50
    assert m["pearson_r"] == pytest.approx(stats.pearsonr(y, p)[0], abs=1e-12)
    assert m["spearman_rho"] == pytest.approx(stats.spearmanr(y, p)[0], abs=1e-12)
    assert m["mse"] == pytest.approx(np.mean((y - p) ** 2), abs=1e-12)
    assert m["r2"] == pytest.approx(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2), abs=1e-12)
    mean_only = training.regression_metrics(y, np.full(50, y.mean()))
    assert mean_only["r2"] == pytest.approx(0.0, abs=1e-12) and mean_only["pearson_r"] is None


def test_early_stopping_of_a_regression_watches_the_validation_loss():
    """Patience 2, min_epochs 4, plateau_epochs 8: the lowest validation loss is kept (epoch 3);
    a regression that left chance stops at epoch 5, one whose loss stays above the chance level
    (1 - CHANCE_R2) x var only at plateau_epochs."""
    losses = [1.0, 0.9, 0.5, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    for chance, stop_epoch in ((0.8, 5), (0.4, 8)):
        callback = training.best_epoch_callback(patience=2, min_epochs=4, plateau_epochs=8, monitor="val_loss",
                                                chance_loss=chance)
        callback.set_model(CallbackModel())
        stopped = None
        for epoch, loss in enumerate(losses):
            callback.on_epoch_begin(epoch)
            callback.on_epoch_end(epoch, {"loss": loss, "val_loss": loss})
            if callback.model.stop_training:
                stopped = epoch + 1
                break
        assert (stopped, callback.best_epoch) == (stop_epoch, 3)


# ----------------------------------------------------------------------------- kmer_ridge
@pytest.fixture(scope="module")
def ridge_dir(tmp_path_factory, activity_dir) -> Path:
    out = tmp_path_factory.mktemp("models")
    assert Train_models.main(["--data_file", str(activity_dir), "--model_type", "kmer_ridge", "--out_dir", str(out),
                              "--quiet", "--seed", "3"]) == 0
    return out / "kmer_ridge"


def test_kmer_ridge_model_folder(ridge_dir, activity_dir):
    data = load_dataset(activity_dir)
    names = {p.name for p in ridge_dir.iterdir()}
    assert names == {"model.skops", "model.json", "split.tsv", "metrics.json", "predictions.tsv"}
    _, rows = read_rows(ridge_dir / "split.tsv")
    split = np.array([r["split"] for r in rows])
    assert np.array_equal(split, training.split_random(len(data.ids), 0.15, seed=3))

    header, rows = read_rows(ridge_dir / "predictions.tsv")
    assert header == ["id", "split", "label", "pred"]
    test_ids = [i for i, s in zip(data.ids, split) if s == "test"]
    assert [r["id"] for r in rows] == test_ids and {r["split"] for r in rows} == {"test"}
    label_of = dict(zip(data.ids, data.labels))
    y = np.array([float(r["label"]) for r in rows])
    pred = np.array([float(r["pred"]) for r in rows])
    assert y.tolist() == [label_of[r["id"]] for r in rows]

    metrics = json.loads((ridge_dir / "metrics.json").read_text())
    assert set(metrics) == {"test", "val", "train"}
    assert set(metrics["test"]) == set(metrics["val"]) == {"pearson_r", "spearman_rho", "mse", "r2", "n"}
    assert metrics["test"]["n"] == metrics["val"]["n"] == 90 and metrics["train"]["n"] == 420
    test = metrics["test"]
    assert test["pearson_r"] == pytest.approx(stats.pearsonr(y, pred)[0], abs=1e-6)
    assert test["spearman_rho"] == pytest.approx(stats.spearmanr(y, pred)[0], abs=1e-6)
    assert test["mse"] == pytest.approx(np.mean((y - pred) ** 2), rel=1e-6)
    assert test["r2"] == pytest.approx(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2), abs=1e-6)
    # additive data (2 x [A] + 1 x [B]): the additive control learns them from 6-mer counts
    assert test["pearson_r"] > 0.75 and test["r2"] > 0.5

    meta = json.loads((ridge_dir / "model.json").read_text())
    assert meta["kind"] == "kmer_ridge" and meta["target"] == "activity" and meta["output_kind"] == "value"
    assert meta["k"] == 6 and meta["estimator"]["alpha_chosen"] in meta["estimator"]["ridge_alphas"]


def test_kmer_ridge_loads_as_a_value_predictor(ridge_dir, activity_dir):
    predictor = models.load(ridge_dir)
    assert predictor.output_kind == "value" and predictor.kind == "kmer_ridge"
    assert isinstance(predictor, models.KmerValuePredictor)
    data = load_dataset(activity_dir)
    _, rows = read_rows(ridge_dir / "predictions.tsv")
    index = {k: i for i, k in enumerate(data.ids)}
    onehot = one_hot([data.seqs[index[r["id"]]] for r in rows])
    values = predictor.predict(onehot)
    assert values.dtype == np.float32 and np.array_equal(values, np.array([float(r["pred"]) for r in rows],
                                                                          dtype=np.float32))
    assert np.array_equal(predictor.predict_logit(onehot), values)
    # a value, not a probability: predictions leave [0, 1] where the labels do
    assert values.max() > 1.5 and values.min() < 0.5


def test_kmer_ridge_recovers_the_coefficients_of_a_linear_rule(tmp_path):
    """k = 1, noise-free labels 1 + 0.5 x #A - 0.25 x #G: ridge recovers the per-base weights
    (the four counts sum to the length, so only differences to C are defined) and predicts
    poly-A and poly-G exactly."""
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 4, size=(200, 20)).astype(np.uint8)
    counts = np.stack([(codes == b).sum(axis=1) for b in range(4)], axis=1)
    labels = 1.0 + 0.5 * counts[:, 0] - 0.25 * counts[:, 2]
    data = Dataset(tmp_path, [f"s{i}" for i in range(200)], codes_to_seqs(codes), labels, target="activity")
    result = training.train(data, "kmer_ridge", training.TrainConfig(), seed=0, kmer=models.KmerConfig(k=1))
    pipe = result.predictor.estimator
    assert pipe[-1].alpha_ == 0.1                        # no noise: the weakest penalty of the grid
    raw = pipe[-1].coef_ / pipe[0].scale_                # per count of A, C, G, T
    assert (raw - raw[1]).tolist() == pytest.approx([0.5, 0.0, -0.25, 0.0], abs=2e-3)
    assert result.predictor.predict(one_hot(["A" * 20, "G" * 20, "ACGT" * 5])).tolist() == \
        pytest.approx([11.0, -4.0, 2.25], abs=0.05)
    assert result.metrics["test"]["r2"] > 0.999


# ----------------------------------------------------------------------------- kmer_gbt and the CNN
def test_kmer_gbt_becomes_a_regressor_on_activity_data(activity_dir, tmp_path):
    assert Train_models.main(["--data_file", str(activity_dir), "--model_type", "kmer_gbt", "--k", "3",
                              "--out_dir", str(tmp_path), "--quiet"]) == 0
    predictor = models.load(tmp_path / "kmer_gbt")
    assert predictor.output_kind == "value"
    assert type(predictor.estimator).__name__ == "HistGradientBoostingRegressor"
    metrics = json.loads((tmp_path / "kmer_gbt" / "metrics.json").read_text())
    assert metrics["test"]["pearson_r"] > 0.5
    assert read_rows(tmp_path / "kmer_gbt" / "predictions.tsv")[0] == ["id", "split", "label", "pred"]


# a small CNN for 600 x 100 bp; without augmentation: its 10 epochs, fitting reverse complements too
# (motifs planted on + only), reached test R^2 0.41 instead of 0.5+
CNN_FLAGS = ["--epochs", "10", "--batch_size", "32", "--filters", "16", "--architecture", "basic", "--conv_blocks",
             "1", "--lr", "0.01", "--augment_rc", "false", "--augment_shift", "0"]


def test_cnn_regression_beats_the_mean(activity_dir, tmp_path):
    assert Train_models.main(["--data_file", str(activity_dir), "--model_type", "cnn", "--out_dir", str(tmp_path),
                              "--quiet", "--seed", "0"] + CNN_FLAGS) == 0
    folder = tmp_path / "cnn"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test"]["r2"] > 0.5 and metrics["test"]["pearson_r"] > 0.8
    header, rows = read_rows(folder / "history.csv", delimiter=",")
    assert header == ["epoch", "loss", "val_loss"]          # the loss (MSE) alone: no auROC
    losses = [float(r["val_loss"]) for r in rows]
    assert metrics["best_epoch"] == 1 + int(np.argmin(losses))      # kept: the lowest validation loss
    assert (folder / "learning_curves.png").stat().st_size > 0
    meta = json.loads((folder / "model.json").read_text())
    assert meta["target"] == "activity" and meta["output_kind"] == "value"
    assert meta["training"]["refresh_batch_norm"] is True       # auto: a regression's norms refreshed

    predictor = models.load(folder)
    assert isinstance(predictor, models.CNNValuePredictor) and predictor.output_kind == "value"
    last = predictor.keras_model.layers[-1]
    assert last.name == "value" and last.units == 1 and last.activation.__name__ == "linear"
    assert predictor.logit_model is predictor.keras_model
    data = load_dataset(activity_dir)
    _, rows = read_rows(folder / "predictions.tsv")
    index = {k: i for i, k in enumerate(data.ids)}
    onehot = one_hot([data.seqs[index[r["id"]]] for r in rows])
    values = predictor.predict(onehot)
    assert np.allclose(values, [float(r["pred"]) for r in rows], atol=1e-5)
    assert np.array_equal(predictor.predict_logit(onehot), values)


def test_the_classifiers_state_a_probability():
    assert models.CNNPredictor.output_kind == models.KmerPredictor.output_kind == "probability"
    assert models.CNNValuePredictor.output_kind == models.KmerValuePredictor.output_kind == "value"
    assert set(models.CLASS_KINDS) | set(models.ACTIVITY_KINDS) == set(models.KINDS)


# ----------------------------------------------------------------------------- refusals
@pytest.fixture()
def refusal_data(tmp_path, activity_dir) -> dict[str, Path]:
    seqs, labels, has_a, _, _ = activity_data(n=60)
    folders = {"activity": activity_dir}
    folders["class"] = write_activity_folder(tmp_path / "class", seqs, labels, metadata={"seed": 0})
    (folders["class"] / "labels.tsv").write_text(
        "id\tlabel\n" + "".join(f"seq_{i:07d}\t{int(v)}\n" for i, v in enumerate(has_a)))
    folders["nan"] = write_activity_folder(tmp_path / "nan", seqs, labels)
    text = (folders["nan"] / "labels.tsv").read_text().splitlines()
    text[5] = text[5].split("\t")[0] + "\tnan"
    (folders["nan"] / "labels.tsv").write_text("\n".join(text) + "\n")
    folders["constant"] = write_activity_folder(tmp_path / "constant", seqs, np.full(60, 1.5))
    return folders


REFUSALS = {
    "kmer_logistic on activity": (["--data_file", "{activity}", "--model_type", "kmer_logistic"],
                                  "use kmer_ridge"),
    "sampler on activity": (["--data_file", "{activity}", "--model_type", "kmer_ridge", "--sampler", "true"],
                            "leave --sampler false"),
    "kmer_ridge on class": (["--data_file", "{class}", "--model_type", "kmer_ridge"], "use kmer_logistic"),
    "non-finite label": (["--data_file", "{nan}", "--model_type", "kmer_ridge"], "finite numbers, found 'nan'"),
    "constant activity": (["--data_file", "{constant}", "--model_type", "kmer_ridge"], "labels that vary"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_are_one_line_exit_2_and_write_nothing(case, refusal_data, tmp_path, capsys):
    args, needle = REFUSALS[case]
    argv = [a.format(**refusal_data) for a in args]
    out = tmp_path / "models"
    code, err = run_cli(argv + ["--out_dir", str(out), "--quiet"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert needle in err, err
    assert not out.exists() or not any(out.iterdir())


def test_load_refuses_a_target_its_kind_cannot_have(ridge_dir, tmp_path):
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(ridge_dir, copy)
    meta = json.loads((copy / "model.json").read_text())
    meta["target"] = "class"
    with pytest.raises(InputError, match="kmer_ridge is trained on the target\\(s\\) activity"):
        models.load(copy, meta)
    meta["target"] = "counts"
    with pytest.raises(InputError, match="names target 'counts'"):
        models.load(copy, meta)


@pytest.mark.slow
def test_null_model_labels_of_an_activity_folder_keep_their_digits(activity_dir, tmp_path):
    """workflow/scripts/shuffle_labels.py permutes activity labels as written ("%.6f")."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, str(root / "workflow" / "scripts" / "shuffle_labels.py"),
                           str(activity_dir), str(tmp_path / "null"), "--seed", "1"],
                          capture_output=True, text=True, env={"PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr
    before = (activity_dir / "labels.tsv").read_text().splitlines()
    after = (tmp_path / "null" / "labels.tsv").read_text().splitlines()
    assert [r.split("\t")[0] for r in after] == [r.split("\t")[0] for r in before]
    assert sorted(r.split("\t")[1] for r in after[1:]) == sorted(r.split("\t")[1] for r in before[1:])
    assert after != before and load_dataset(tmp_path / "null").target == "activity"


def test_labels_told_from_their_values_are_named_on_stderr(tmp_path, capsys):
    seqs, labels, _, _, _ = activity_data(n=200)
    folder = write_activity_folder(tmp_path / "f", seqs, labels)
    (folder / "metadata.json").unlink()
    assert Train_models.main(["--data_file", str(folder / "sequences.fa"), "--model_type", "kmer_ridge", "--k", "4",
                              "--out_dir", str(tmp_path / "m")]) == 0
    captured = capsys.readouterr()
    assert "read as activity labels (real numbers) and fitted as a regression" in captured.err
    assert captured.out.startswith("kmer_ridge: test Pearson r ")


def test_a_generated_activity_folder_trains_a_regression(tmp_path):
    """Generate_sequences.py --target activity (STAT_known2 worth 1.0 per instance, noise sd 0.2):
    its labels are read as written, and kmer_ridge learns them (the ceiling the noise leaves is
    r = sqrt(0.25 / 0.29) = 0.93)."""
    import Generate_sequences

    data_dir = tmp_path / "gen"
    assert Generate_sequences.main(["--num_seqs", "600", "--target", "activity", "--out_dir", str(data_dir),
                                    "--quiet"]) == 0
    data = load_dataset(data_dir)
    assert data.target == "activity" and data.labels.dtype == np.float64
    assert [f"{v:.6f}" for v in data.labels] == \
        [line.split("\t")[1] for line in (data_dir / "labels.tsv").read_text().splitlines()[1:]]
    result = training.train(data, "kmer_ridge", training.TrainConfig(), seed=0)
    assert result.predictor.output_kind == "value"
    assert result.metrics["test"]["pearson_r"] > 0.4, result.metrics["test"]      # measured 0.546


def test_the_dilated_cnn_takes_its_dropout_from_the_target(activity_dir, tmp_path):
    """dropout auto: 0.3 for a dilated classifier, 0.1 for a regression (bench_quantitative's additive
    rule was lost with 0.3); a rate set by hand stays; the resolved rate is what model.json records."""
    activity = load_dataset(activity_dir)
    seqs = ["".join("ACGT"[(i * 7 + j * 3) % 4] for j in range(100)) for i in range(20)]
    classes = write_data_folder(tmp_path / "c", seqs, [i % 2 for i in range(20)])
    resolved = {target: training.resolve_architecture(models.CNNConfig(), data)[0]
                for target, data in (("activity", activity), ("class", load_dataset(classes)))}
    assert {t: a.dropout for t, a in resolved.items()} == {"activity": 0.1, "class": 0.3}
    assert resolved["class"].to_dict()["dropout"] == 0.3
    assert training.resolve_architecture(models.CNNConfig(dropout=0.25), activity)[0].dropout == 0.25
