"""The default CNN: a dilated residual tower whose receptive field covers the data's rule.

Receptive field arithmetic, depth chosen from metadata.json, DeepSHAP additivity on the new
layers, safe-mode loading, length limits, and a distance rule beyond the old CNN's reach.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils import attribution, models, planted, training
from utils.folders import Dataset, load_dataset
from utils.motifs import Motif

ROOT = Path(__file__).resolve().parents[1]


def test_receptive_field_arithmetic_and_depth_from_the_rule():
    cfg = models.CNNConfig()
    # first layer + pool: 19 + 2 - 1 = 20 bp; each kernel-3 layer of dilation d adds 2d steps of 2 bp
    fields = [models.receptive_field(models.CNNConfig(dilated_layers=n)) for n in (3, 4, 5, 6, 7)]
    assert fields == [20 + 2 * 2 * 7, 20 + 2 * 2 * 15, 20 + 2 * 2 * 31, 20 + 2 * 2 * 63, 20 + 2 * 2 * 127]
    # pooled by 4 (the default before issue 24, and basic's): 22 bp, steps of 4 bp
    assert models.receptive_field(models.CNNConfig(dilated_layers=3, pool_size=4)) == 22 + 4 * 2 * 7
    assert models.receptive_field(models.CNNConfig(architecture="basic")) == 22 + 4 * 10
    lengths = {"A": 12, "B": 10}
    pair = dict(motifs=("A", "B"), pos_motifs=("A", "B"), min_dist=100, max_dist=150)
    need, how = models.field_needed(planted.Distance(**pair), lengths, 1000)
    assert need == 12 + 10 + 2 * 155 + 19 and "window + 5" in how
    assert models.field_needed(planted.Order(**pair), lengths, 1000)[0] == 12 + 10 + 150 + 19
    assert models.field_needed(None, lengths, 1000) == (1000, "no rule in metadata.json: the whole sequence")
    n = models.layers_for_field(cfg, need)
    assert (need, n, models.receptive_field(models.CNNConfig(dilated_layers=n))) == (351, 7, 528)
    assert models.receptive_field(models.CNNConfig(dilated_layers=n - 1)) < need      # the fewest
    presence = planted.Presence(motifs=("A", "B"), pos_motifs=("A",), decoy_motifs=("B",))
    assert models.field_needed(presence, lengths, 1000)[0] == 12 + 19
    assert models.layers_for_field(cfg, 10) == models.MIN_DILATED_LAYERS


def test_final_pool_auto_takes_max_and_mean_on_long_sequences():
    cfg = models.CNNConfig()
    # (L - 19 + 1) // 2 positions after the first layer: 417 bp -> 199, 1,000 bp -> 491
    assert [models.pooled_width(n, cfg) for n in (417, 418, 600, 1000)] == [199, 200, 291, 491]
    assert [models.resolve_final_pool(cfg, n) for n in (200, 417, 418, 600, 1000)] == \
        ["max", "max", "maxavg", "maxavg", "maxavg"]
    old = models.CNNConfig(pool_size=4)          # pooled by 4 (before issue 24): 817 bp -> 199 positions
    assert [models.resolve_final_pool(old, n) for n in (600, 817, 818)] == ["max", "max", "maxavg"]
    assert models.resolve_final_pool(models.CNNConfig(final_pool="max"), 1000) == "max"
    names = {layer.name for layer in models.build_cnn(1000, models.CNNConfig(dilated_layers=3)).layers}
    assert {"pool_max", "pool_avg"} <= names
    rule = planted.Distance(motifs=("A", "B"), pos_motifs=("A", "B"), min_dist=100, max_dist=150)
    library = {m: Motif(m, np.full((20, 4), 0.25)) for m in "AB"}
    data = Dataset(Path("."), ["s"], ["A" * 1000], np.array([1]), rule=rule, library=library)
    arch, need, how = training.resolve_architecture(cfg, data)   # what model.json records
    assert (arch.final_pool, arch.dilated_layers) == ("maxavg", 7)   # 20 + 20 + 2 * 155 + 19 = 369 bp
    assert need == 369 and how.startswith("distance: motifs 20 + 20 bp")


# golden saliency of sequence 0 at positions 78-80 (the middle of 160 bp) and its total |gradient|,
# for the seeded initial weights: computed once from the code as it stood
SALIENCY = {      # the default CNN since issue 24: 32 relu + 32 exponential first-layer filters, pool 2
    False: ([[0.08416163176298141, 0.013244451954960823, 0.006814643740653992, 0.04423758015036583],
             [-0.05068563297390938, 0.027806388214230537, 0.0749460980296135, 0.048573531210422516],
             [-0.03774507716298103, -0.025994889438152313, -0.014085300266742706, -0.05614858120679855]],
            197.65438842773438),
    True: ([[0.06030380725860596, 0.007403776049613953, -0.0042488547042012215, 0.037545084953308105],
            [-0.053002405911684036, 0.03261665999889374, 0.07210327684879303, 0.020937517285346985],
            [-0.04912756010890007, -0.010034272447228432, -0.011609125882387161, -0.06517022848129272]],
           153.1307373046875)}


@pytest.mark.parametrize("extra", [{}, {"batch_norm": False, "final_pool": "maxavg"}])
def test_deep_shap_adds_up_on_the_dilated_cnn(extra):
    keras = models.import_keras()
    keras.utils.set_random_seed(0)
    model = models.build_cnn(160, models.CNNConfig(dilated_layers=4, **extra))
    predictor = models.CNNPredictor(model, 160)
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (6, 160))]
    bg = np.full(4, 0.25)
    attr = attribution.deep_shap(predictor, x, reference="dist", background_dist=bg, num_background=16, seed=3)
    refs = attribution.background_sequences(16, 160, bg, 3)
    want = predictor.predict_logit(x) - predictor.predict_logit(refs).mean()
    assert np.abs(attr.sum(axis=(1, 2)) - want).max() < 1e-4
    assert np.abs(want).max() > 1e-3          # not trivially zero
    grads = attribution.saliency(predictor, x)                  # gradients flow through the tower
    middle, total = SALIENCY[bool(extra)]
    np.testing.assert_allclose(grads[0, 78:81], middle, atol=1e-6)
    assert float(np.abs(grads).sum()) == pytest.approx(total, rel=1e-5)


@pytest.mark.slow
def test_model_json_states_the_field_and_the_model_loads_in_safe_mode(tmp_path):
    out = tmp_path / "d"
    subprocess.run([sys.executable, str(ROOT / "Generate_sequences.py"), "--num_seqs", "300", "--gen_type",
                    "distance", "--seq_length", "300", "--min_dist", "60", "--max_dist", "90", "--out_dir",
                    str(out), "--quiet"], check=True, cwd=tmp_path)
    subprocess.run([sys.executable, str(ROOT / "Train_models.py"), "--data_file", str(out), "--epochs", "1",
                    "--out_dir", str(tmp_path / "m"), "--quiet"], check=True, cwd=tmp_path)
    meta = json.loads((tmp_path / "m" / "cnn" / "model.json").read_text())
    arch = meta["architecture"]
    lengths = [len(p) for p in json.loads((out / "metadata.json").read_text())["pwms"].values()][:2]
    assert arch["field_needed_bp"] == sum(lengths) + 2 * 95 + 19
    assert arch["receptive_field_bp"] >= arch["field_needed_bp"]
    assert arch["dilated_layers"] == 6 and arch["receptive_field_bp"] == 272     # pool 2: 20 + 4 * 63
    predictor = models.load(tmp_path / "m" / "cnn")          # safe_mode=True inside
    model = predictor.keras_model
    assert model.layers[-1].name == "prob" and model.layers[-2].name == "logit"   # logit, then sigmoid
    assert {layer.__class__.__name__ for layer in model.layers} <= {
        "InputLayer", "Conv1D", "Activation", "MaxPooling1D", "Dropout", "Flatten", "Dense", "Add",
        "BatchNormalization", "Concatenate"}                   # layers shap's DeepExplainer handles
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (4, 300))]
    # (the folded graph against Keras; calibration scales the logit layer, and float32 rounding with it)
    np.testing.assert_allclose(predictor.predict(x), predictor.keras_model.predict_on_batch(x).ravel(), atol=5e-6)


@pytest.mark.slow
def test_a_distance_rule_beyond_the_old_reach_is_learned(tmp_path):
    """Gaps of 40-55 bp between a 21 bp and a 19 bp motif: the pair spans 80-95 bp, beyond the
    62 bp the old two-block CNN saw; the dilated CNN learns it, the old one stays near chance."""
    from utils import simulate

    rule = simulate.resolve_rule(simulate.SimulationConfig(
        num_seqs=2400, seq_length=160, gen_type="distance", min_dist=40, max_dist=55,
        motif_sampling="consensus", seed=2))
    simulate.write_dataset(rule, tmp_path / "d")
    data = load_dataset(tmp_path / "d")
    cfg = training.TrainConfig(epochs=12, patience=12, lr=3e-3, augment_rc=False, augment_shift=0)
    new = training.train(data, "cnn", cfg, seed=0)
    old = training.train(data, "cnn", cfg, seed=0, arch=models.CNNConfig(architecture="basic"))
    assert models.receptive_field(old.arch) == 62 < 21 + 19 + 40
    # golden (deterministic ops, seed 0) up to the CPU: TensorFlow's kernels differ in their last bits
    # between processors (0.99781 on one machine, 0.99664 on an AMD EPYC), so a few thousandths
    assert new.metrics["test"]["auroc"] == pytest.approx(0.9978086419753086, abs=5e-3)
    assert old.metrics["test"]["auroc"] == pytest.approx(0.7146296296296296, abs=3e-2)
    assert new.metrics["test"]["auroc"] - old.metrics["test"]["auroc"] > 0.2        # learned against near chance
