"""The CNN's model kinds of issue 24: ``--first_activation relu|exponential`` on every
architecture, and Koo & Ploenzke's (2021) CNN-local and CNN-dist (``--architecture koo_local``,
``koo_dist``, rebuilt from their model zoo).

Layer types, shapes and parameter counts as published; the fast paths (folded forward, local
ISM) on the exponential first layer against the plain Keras graph and the textbook ISM loop;
the published graphs falling back to whole-model ISM with the same values; and for each new
kind one epoch on a tiny seeded set through Train_models.py, a safe-mode load with identical
predictions, and DeepSHAP adding up to f(x) - E[f(ref)] (shap's rescale rule for Exp included).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import Train_models
from oracles import naive_ism, random_cnn, random_onehot
from utils import attribution, cnn_graph, fast_ism, models
from utils.encoding import codes_to_seqs
from utils.io import InputError, write_json, write_tsv

# (name, class, output shape) of every layer at 200 bp: their cnn_local.py and cnn_dist.py
KOO_LAYERS = {
    "koo_local": [("onehot", "InputLayer", (200, 4)), ("conv1", "Conv1D", (200, 24)),
                  ("bn1", "BatchNormalization", (200, 24)), ("ACT", "Activation", (200, 24)),
                  ("drop1", "Dropout", (200, 24)), ("pool1", "MaxPooling1D", (4, 24)),
                  ("conv2", "Conv1D", (4, 48)), ("bn2", "BatchNormalization", (4, 48)),
                  ("relu2", "Activation", (4, 48)), ("drop2", "Dropout", (4, 48)),
                  ("pool2", "MaxPooling1D", (2, 48)), ("flatten", "Flatten", (96,))],
    "koo_dist": [("onehot", "InputLayer", (200, 4)), ("conv1", "Conv1D", (200, 24)),
                 ("bn1", "BatchNormalization", (200, 24)), ("ACT", "Activation", (200, 24)),
                 ("drop1", "Dropout", (200, 24)), ("conv2", "Conv1D", (200, 32)),
                 ("bn2", "BatchNormalization", (200, 32)), ("relu2", "Activation", (200, 32)),
                 ("drop2", "Dropout", (200, 32)), ("pool2", "MaxPooling1D", (50, 32)),
                 ("conv3", "Conv1D", (44, 48)), ("bn3", "BatchNormalization", (44, 48)),
                 ("relu3", "Activation", (44, 48)), ("drop3", "Dropout", (44, 48)),
                 ("pool3", "MaxPooling1D", (11, 48)), ("conv4", "Conv1D", (9, 64)),
                 ("bn4", "BatchNormalization", (9, 64)), ("relu4", "Activation", (9, 64)),
                 ("drop4", "Dropout", (9, 64)), ("pool4", "MaxPooling1D", (3, 64)),
                 ("flatten", "Flatten", (192,))],
}
DENSE_TAIL = [("dense", "Dense", (96,)), ("bn_dense", "BatchNormalization", (96,)),
              ("relu_dense", "Activation", (96,)), ("drop_dense", "Dropout", (96,)),
              ("logit", "Dense", (1,)), ("prob", "Activation", (1,))]
# weights by hand: conv kernels without bias, batch norm 4 per channel, dense 96 without bias, logit 96 + 1
PARAMS = {"koo_local": 19 * 4 * 24 + 4 * 24 + 3 * 24 * 48 + 4 * 48 + 96 * 96 + 4 * 96 + 97,        # 15,265
          "koo_dist": (19 * 4 * 24 + 4 * 24 + 7 * 24 * 32 + 4 * 32 + 7 * 32 * 48 + 4 * 48 + 3 * 48 * 64 + 4 * 64
                       + 192 * 96 + 4 * 96 + 97)}                                                 # 46,753


def assert_deep_shap_adds_up(predictor, x):
    """DeepSHAP's maps add up to logit(x) - mean logit(references) (8 uniform references, seed 1)."""
    bg = np.full(4, 0.25)
    attr = attribution.deep_shap(predictor, x, reference="dist", background_dist=bg, num_background=8, seed=1)
    refs = attribution.background_sequences(8, x.shape[1], bg, 1)
    want = predictor.predict_logit(x) - predictor.predict_logit(refs).mean()
    assert np.abs(want).max() > 1e-2
    np.testing.assert_allclose(attr.sum(axis=(1, 2)), want, atol=1e-4 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("arch", models.KOO_ARCHITECTURES)
@pytest.mark.parametrize("act", models.FIRST_ACTIVATIONS)
def test_koo_architectures_have_the_published_layers(arch, act):
    cfg = models.CNNConfig(architecture=arch, first_activation=act, filters=8, kernel_size=5, dropout=0.3)
    model = models.build_cnn(200, cfg)
    got = [(layer.name, layer.__class__.__name__, tuple(layer.output.shape[1:])) for layer in model.layers]
    first = models.FIRST_ACTIVATION_LAYER[act]
    assert got == [(first if n == "ACT" else n, c, s) for n, c, s in KOO_LAYERS[arch]] + DENSE_TAIL
    assert model.count_params() == PARAMS[arch] == {"koo_local": 15265, "koo_dist": 46753}[arch]
    assert model.get_layer(first).activation.__name__ == act
    assert all(model.get_layer(f"relu{i}").activation.__name__ == "relu" for i in range(2, 5 if arch == "koo_dist" else 3))
    assert [float(model.get_layer(f"drop{i}").rate) for i in range(1, len(models.KOO_BLOCKS[arch]) + 1)] == \
        ([0.1, 0.2] if arch == "koo_local" else [0.1, 0.2, 0.3, 0.4])
    assert float(model.get_layer("drop_dense").rate) == 0.5
    l2 = model.get_layer("conv1").kernel_regularizer
    assert l2 is not None and float(l2.l2) == pytest.approx(1e-6)
    assert not model.get_layer("conv1").use_bias and model.get_layer("logit").kernel_regularizer is None
    # the fields record the published network, whatever was asked
    assert (cfg.filters, cfg.kernel_size, cfg.pool_size, cfg.dense_units, cfg.dropout, cfg.final_pool) == \
        (24, 19, 50 if arch == "koo_local" else 4, 96, 0.1, "flatten")
    record = cfg.to_dict()
    assert record["receptive_field_bp"] == {"koo_local": 218, "koo_dist": 128}[arch]
    assert [b["filters"] for b in record["koo_blocks"]] == [b[0] for b in models.KOO_BLOCKS[arch]]
    assert models.resolve_final_pool(cfg, 2000) == "flatten"
    value = models.build_cnn(200, cfg, output_kind="value")         # an activity target: a linear unit
    assert value.layers[-1].name == "value" and value.layers[-1].activation.__name__ == "linear"


def test_koo_length_limits():
    # koo_local: L // 50 // 2 >= 1; koo_dist: ceil(((L // 4 - 6) // 4 - 2) / 3) >= 1
    assert models.min_cnn_length(models.CNNConfig(architecture="koo_local")) == 100
    assert models.min_cnn_length(models.CNNConfig(architecture="koo_dist")) == 72
    assert [models.koo_width(n, "koo_dist") for n in (71, 72, 200, 1000)] == [0, 1, 3, 20]
    models.check_cnn_length(100, models.CNNConfig(architecture="koo_local"))
    assert models.build_cnn(1000, models.CNNConfig(architecture="koo_dist")).get_layer("flatten").output.shape[1] == 20 * 64
    with pytest.raises(InputError, match="too short for --architecture koo_local .* at least 100 bp"):
        models.check_cnn_length(99, models.CNNConfig(architecture="koo_local"))


def test_flags_the_published_networks_do_not_take_are_refused():
    models.check_architecture_flags("koo_dist", "exponential", [])
    models.check_architecture_flags("dilated", "relu", ["filters", "dropout"])
    with pytest.raises(InputError, match=r"--filters, --dropout do not apply to it"):
        models.check_architecture_flags("koo_local", "relu", ["filters", "dropout"])
    with pytest.raises(InputError, match="--first_activation 'tanh' is unknown"):
        models.check_architecture_flags("dilated", "tanh", [])


@pytest.mark.parametrize("length, cfg", [(203, {"dilated_layers": 3}),
                                         (260, {"dilated_layers": 3, "final_pool": "maxavg", "batch_norm": False}),
                                         (203, {"dilated_layers": 3, "final_pool": "maxavg",
                                                "first_batch_norm": True, "dense_batch_norm": True})])
def test_exponential_dilated_cnn_takes_the_fast_paths_with_the_same_values(length, cfg):
    predictor = random_cnn(length, first_activation="exponential", **cfg)
    layout = cnn_graph.tower_layout(predictor.keras_model)
    assert layout is not None and layout["act1"] == "exponential"
    x = random_onehot(4, length)
    keras_logit = np.asarray(predictor.logit_model.predict_on_batch(x)).reshape(-1)
    np.testing.assert_allclose(predictor.predict_logit(x), keras_logit, rtol=1e-5, atol=1e-5)   # folded
    assert fast_ism.for_predictor(predictor) is not None
    naive = naive_ism(lambda v: np.asarray(predictor.logit_model.predict_on_batch(v)).reshape(-1), x)
    assert np.abs(naive).max() > 0.05
    np.testing.assert_allclose(attribution.ism(predictor, x), naive, atol=5e-5)
    # the relu graph is still read as relu
    assert cnn_graph.tower_layout(random_cnn(length, **cfg).keras_model)["act1"] == "relu"


@pytest.mark.parametrize("arch", models.KOO_ARCHITECTURES)
def test_koo_graphs_run_every_variant_through_the_model(arch):
    predictor = random_cnn(120, architecture=arch, first_activation="exponential")
    assert cnn_graph.tower_layout(predictor.keras_model) is None and fast_ism.for_predictor(predictor) is None
    x = random_onehot(4, 120)
    naive = naive_ism(lambda v: np.asarray(predictor.logit_model.predict_on_batch(v)).reshape(-1), x)
    assert np.abs(naive).max() > 0.01
    np.testing.assert_allclose(attribution.ism(predictor, x), naive, atol=2e-5)


MOTIF = "TGACTCAGTGACTCA"


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """300 random 120 bp sequences; positives carry MOTIF at a random place (seeded)."""
    rng = np.random.default_rng(5)
    n, length = 300, 120
    codes = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    labels = (np.arange(n) % 2).astype(int)
    motif = np.array(["ACGT".index(b) for b in MOTIF], dtype=np.uint8)
    for i in np.flatnonzero(labels):
        start = rng.integers(0, length - len(MOTIF) + 1)
        codes[i, start:start + len(MOTIF)] = motif
    folder = tmp_path_factory.mktemp("data") / "tiny"
    folder.mkdir()
    ids = [f"seq_{i:07d}" for i in range(n)]
    (folder / "sequences.fa").write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, codes_to_seqs(codes))))
    write_tsv(folder / "labels.tsv", ["id", "label"], [ids, labels.tolist()])
    write_json(folder / "metadata.json", {"seed": 0})
    return folder


NEW_KINDS = [("koo_local", "relu"), ("koo_local", "exponential"), ("koo_dist", "relu"),
             ("koo_dist", "exponential"), ("dilated", "exponential"), ("basic", "exponential")]


@pytest.mark.parametrize("arch, act", NEW_KINDS)
def test_deep_shap_adds_up_on_random_weights(arch, act):
    # random weights and batch-norm statistics: shap's rules for Exp, batch norm, Flatten and the
    # 'same'-padded pooling of koo_dist must add up to the logit's difference from the references
    predictor = random_cnn(120, architecture=arch, first_activation=act,
                           **({"dilated_layers": 3} if arch == "dilated" else {}))
    x = random_onehot(5, 120)
    assert_deep_shap_adds_up(predictor, x)


@pytest.mark.slow
@pytest.mark.parametrize("arch, act", NEW_KINDS[:5])
def test_new_kinds_train_save_load_and_deep_shap_adds_up(arch, act, tiny_data, tmp_path):
    argv = ["--data_file", str(tiny_data), "--architecture", arch, "--first_activation", act, "--epochs", "1",
            "--batch_size", "32", "--out_dir", str(tmp_path), "--model_name", "m", "--quiet", "--seed", "2"]
    assert Train_models.main(argv) == 0
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert (meta["architecture"]["architecture"], meta["architecture"]["first_activation"]) == (arch, act)
    predictor = models.load(tmp_path / "m")                      # safe_mode=True inside
    # the tiny data are a user's (no rule): trained with reverse complements, read on both strands
    assert isinstance(predictor, models.RCAveraged) and meta["training"]["rc_average"] is True
    strand = predictor.strand
    names = {layer.name for layer in strand.keras_model.layers}
    assert models.FIRST_ACTIVATION_LAYER[act] in names
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (6, 120))]
    trained = (tmp_path / "m" / "predictions.tsv").read_text().splitlines()[1].split("\t")
    seq = [line for line in (tiny_data / "sequences.fa").read_text().splitlines()
           if not line.startswith(">")][int(trained[0].split("_")[1])]
    onehot = np.eye(4, dtype=np.float32)[["ACGT".index(b) for b in seq]][None]
    assert float(predictor.predict(onehot)[0]) == pytest.approx(float(trained[3]), abs=5e-7)  # as trained
    again = models.load(tmp_path / "m")
    assert np.array_equal(again.predict(x), predictor.predict(x))
    bg = np.full(4, 0.25)
    attr = attribution.both_strands(attribution.deep_shap, predictor, x, reference="dist", background_dist=bg,
                                    num_background=16, seed=3)
    refs = attribution.background_sequences(16, 120, bg, 3)      # each strand's references (the same draw)
    want = predictor.predict_logit(x) - strand.predict_logit(refs).mean()
    assert np.abs(want).max() > 1e-3                               # not trivially zero
    np.testing.assert_allclose(attr.sum(axis=(1, 2)), want, atol=1e-3 + 1e-4 * np.abs(want).max())
    grads = attribution.both_strands(attribution.saliency, predictor, x)
    assert np.isfinite(grads).all() and np.abs(grads).sum() > 0


# the candidates of issue 24's default (bench_learnability / bench_interpretability): batch norm
# before the first activation (bn1) and before the dense relu (bn_dense), a mixed first layer, and
# its projection to a narrower tower (--tower_filters: proj1). The last, {}, is the default that came
# of them: 32 relu + 32 exponential filters, both batch norms, a tower of 64 channels. Parameters by
# hand (120 bp, 3 tower layers, max pooling): 8 + 8 filters to a tower of 8: conv1 and conv1_exp
# 2 x (19*4*8 + 8), bn1 and bn1_exp 2 x 32, proj1 16*8 + 8, each tower layer 3*8*8 + 8 + bn 32, dense
# 8*32 + 32, logit 33 = 2,449; the default projected to 32: 2 x 2,464 + 2 x 128 + (64*32 + 32) +
# 3 x (3,104 + 128) + 1,056 + 128 + 33 = 18,177; the default: 45,249.
MIXED = ["conv1", "conv1_exp", "bn1", "bn1_exp", "relu1", "exp1_mixed", "act1_concat", "pool1", "drop1"]
CANDIDATES = [({"first_activation": "exponential", "first_batch_norm": True, "dense_batch_norm": True,
                "exp_filters": 0, "pool_size": 4},
               ["conv1", "bn1", "exp1", "pool1", "drop1", "dilated1"], 13505),
              ({"filters": 8, "exp_filters": 8, "first_batch_norm": True, "dense_batch_norm": False, "pool_size": 4,
                "tower_filters": 8}, MIXED + ["proj1", "dilated1"], 2449),
              ({"tower_filters": 32}, MIXED + ["proj1", "dilated1"], 18177),
              ({}, MIXED + ["dilated1"], 45249)]


@pytest.mark.parametrize("cfg, head, params", CANDIDATES)
def test_candidate_first_layers_build_and_deep_shap_adds_up(cfg, head, params):
    predictor = random_cnn(120, dilated_layers=3, **cfg)
    model = predictor.keras_model
    names = [layer.name for layer in model.layers]
    assert names[1:1 + len(head)] == head
    assert ("bn_dense" in names) == cfg.get("dense_batch_norm", True)
    assert model.count_params() == params
    assert model.get_layer("dilated1").filters == cfg.get("tower_filters", cfg.get("filters", 32) + cfg.get("exp_filters", 32))
    x = random_onehot(5, 120)
    keras_logit = np.asarray(predictor.logit_model.predict_on_batch(x)).reshape(-1)
    np.testing.assert_allclose(predictor.predict_logit(x), keras_logit, rtol=1e-5, atol=1e-5)
    assert_deep_shap_adds_up(predictor, x)
    naive = naive_ism(lambda v: np.asarray(predictor.logit_model.predict_on_batch(v)).reshape(-1), x)
    np.testing.assert_allclose(attribution.ism(predictor, x), naive, atol=5e-5)


@pytest.mark.parametrize("arch, rate", [("dilated", 0.3), ("basic", 0.1)])
def test_each_architecture_builds_its_default_dropout_and_a_chosen_one(arch, rate):
    # a dilated classifier's 0.3 since 2026-12-07 (docs/benchmarks.md); regressions and basic keep 0.1;
    # --dropout overrides either
    layers = {"dilated_layers": 3} if arch == "dilated" else {}
    auto, chosen = models.CNNConfig(architecture=arch, **layers), models.CNNConfig(architecture=arch, dropout=0.2, **layers)
    assert auto.dropout is None and chosen.dropout == 0.2
    for cfg, output_kind, want in ((auto, "probability", rate), (auto, "value", 0.1), (chosen, "probability", 0.2),
                                   (chosen, "value", 0.2)):
        model = models.build_cnn(200, cfg, output_kind=output_kind)
        assert [float(model.get_layer(name).rate) for name in ("drop1", "drop_dense")] == pytest.approx([want, want])
    assert [models.default_dropout(arch, target) for target in ("class", "activity")] == [rate, 0.1]
