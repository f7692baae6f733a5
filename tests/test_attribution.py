"""Attribution methods and their localization scores, checked on oracle models with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest

from utils import attribution as attr
from utils.encoding import one_hot
from utils.localization import localization_scores, site_mask, summarize_localization
from utils.io import InputError
from utils.seqfiles import Site

MOTIF = "GGGTTTGT"          # no border (no proper prefix equals a suffix): one mutation cannot recreate it
AC_ONLY = [0.5, 0.5, 0.0, 0.0]


# ----------------------------------------------------------------------------- oracle predictors
class LinearOracle:
    """prob = sum(W * X): every base at every position adds a known amount."""
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
    """prob = 1 when the sequence holds MOTIF exactly, else 0."""
    kind = "oracle_motif"

    def __init__(self, length: int):
        self.input_length = length

    def predict(self, onehot):
        x = np.asarray(onehot)
        letters = np.array(list("ACGT"))[x.argmax(-1)]
        return np.array([float(MOTIF in "".join(row)) for row in letters])

    predict_logit = predict


def ac_background(n: int, length: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("AC"), size=length)) for _ in range(n)]


def planted(n: int, length: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """A/C-only sequences with MOTIF at a known start in each."""
    rng = np.random.default_rng(seed)
    seqs, starts = [], []
    for s in ac_background(n, length, seed):
        start = int(rng.integers(0, length - len(MOTIF)))
        seqs.append(s[:start] + MOTIF + s[start + len(MOTIF):])
        starts.append(start)
    return seqs, starts


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(12, 4))
    x = one_hot(["".join(rng.choice(list("ACGT"), size=12)) for _ in range(5)])
    return LinearOracle(weights), x


# ----------------------------------------------------------------------------- ISM
def test_ism_returns_exact_per_base_effects_of_a_linear_model(linear):
    model, x = linear
    delta = attr.ism(model, x)
    observed = (x * model.weights).sum(-1, keepdims=True)            # W[j, x_j]
    np.testing.assert_allclose(delta, model.weights[None] - observed, atol=1e-6)
    assert np.all(delta[x == 1] == 0)


def test_ism_pools_variants_of_many_sequences_into_chunks(linear):
    model, x = linear
    model.calls = 0
    small = attr.ism(model, x, chunk_size=7)
    variants = x.shape[0] * x.shape[1] * 3
    assert model.calls == 1 + math.ceil(variants / 7)                 # reference + one call per chunk
    model.calls = 0
    big = attr.ism(model, x)
    assert model.calls == 2
    np.testing.assert_array_equal(small, big)


def test_ism_scores_a_motif_oracle_with_auroc_one():
    seqs, starts = planted(6, 40)
    x = one_hot(seqs)
    delta = attr.ism(MotifOracle(40), x)
    per_position = np.abs(delta).sum(-1)
    for row, start in zip(per_position, starts):
        assert np.all(row[start:start + len(MOTIF)] == 3)            # every alternative kills the motif
        assert row.sum() == 3 * len(MOTIF)
    ids = [f"s{i}" for i in range(6)]
    sites = {i: [Site(i, s, s + len(MOTIF), "M")] for i, s in zip(ids, starts)}
    scores = localization_scores(delta, site_mask(ids, sites, ["M"], 40))
    np.testing.assert_array_equal(scores["auroc"], 1.0)
    np.testing.assert_array_equal(scores["auprc"], 1.0)


# ----------------------------------------------------------------------------- KernelSHAP
def test_kernel_shap_returns_exact_effects_of_a_linear_model(linear):
    model, x = linear
    k = 6
    phi = attr.kernel_shap(model, x, background_dist=[0.1, 0.2, 0.3, 0.4], window=1, nsamples=300,
                           num_background=k, seed=5)
    background = attr.background_sequences(k, 12, [0.1, 0.2, 0.3, 0.4], seed=5)
    expected = (x * model.weights).sum(-1) - (background * model.weights).sum(-1).mean(0)   # (N, L)
    np.testing.assert_allclose(phi.sum(-1), expected, atol=1e-8)
    assert np.all(phi[x == 0] == 0)                                   # value sits on the observed base


def test_kernel_shap_windows_spread_the_window_value_evenly(linear):
    model, x = linear
    phi = attr.kernel_shap(model, x, window=5, nsamples=100, num_background=4, seed=1)
    background = attr.background_sequences(4, 12, None, seed=1)
    per_pos = (x * model.weights).sum(-1) - (background * model.weights).sum(-1).mean(0)
    for start in (0, 5, 10):
        stop = min(start + 5, 12)
        window_value = per_pos[:, start:stop].sum(1, keepdims=True)
        np.testing.assert_allclose(phi.sum(-1)[:, start:stop],
                                   np.repeat(window_value / (stop - start), stop - start, axis=1), atol=1e-8)


def test_kernel_shap_gives_motif_windows_equal_shares():
    # L = 24 in 6 windows of 4 bp: every coalition is enumerated, so values are exact Shapley values.
    seq = "ACCA" * 2 + MOTIF + "CAAC" * 2
    x = one_hot([seq])
    phi = attr.kernel_shap(MotifOracle(24), x, background_dist=AC_ONLY, window=4, nsamples=100,
                           num_background=3, seed=0)
    expected = np.zeros(24)
    expected[8:16] = 1 / 8                                           # f(x) - f(background) = 1, two windows
    np.testing.assert_allclose(phi.sum(-1)[0], expected, atol=1e-10)


def test_kernel_shap_same_seed_same_values_and_bad_settings_refused():
    seqs, _ = planted(2, 30, seed=4)
    x = one_hot(seqs)
    model = MotifOracle(30)
    a = attr.kernel_shap(model, x, background_dist=AC_ONLY, window=2, nsamples=40, seed=9)
    b = attr.kernel_shap(model, x, background_dist=AC_ONLY, window=2, nsamples=40, seed=9)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(InputError, match="nsamples"):
        attr.kernel_shap(model, x, window=1, nsamples=10)
    with pytest.raises(InputError, match="window"):
        attr.kernel_shap(model, x, window=31)
    with pytest.raises(InputError, match="--background_dist"):
        attr.kernel_shap(model, x, background_dist=[0.5, 0.5, 0.5, 0.0])


# ----------------------------------------------------------------------------- registry
def test_non_keras_predictors_skip_gradient_methods_with_a_note(linear):
    model, x = linear
    assert attr.supported_methods(model) == ["ism", "kernel_shap"]
    run, notes = attr.resolve_methods(None, model)
    assert run == ["ism", "kernel_shap"] and len(notes) == 3
    assert attr.resolve_methods("all", model) == (run, notes)
    assert attr.resolve_methods(["none"], model) == ([], [])
    run, notes = attr.resolve_methods("saliency,ism,deep_shap", model)
    assert run == ["ism"]
    assert notes == ["saliency skipped: oracle_linear has no Keras graph",
                     "deep_shap skipped: oracle_linear has no Keras graph"]
    with pytest.raises(InputError, match="unknown attribution method 'lime'"):
        attr.resolve_methods(["ism", "lime"], model)
    with pytest.raises(InputError, match="no Keras graph"):
        attr.saliency(model, x)


def test_run_attributions_times_each_method(linear):
    model, x = linear
    ids = [f"s{i}" for i in range(len(x))]
    results = attr.run_attributions(model, x, ids, ["ism", "kernel_shap"], seed=0, nsamples=100,
                                    quiet=True)
    assert list(results) == ["ism", "kernel_shap"]
    np.testing.assert_array_equal(results["ism"][0], attr.ism(model, x))
    assert all(seconds >= 0 for _, seconds in results.values())
    with pytest.raises(InputError, match="one id per sequence"):
        attr.run_attributions(model, x, ids[:2], ["ism"], quiet=True)


def test_pick_attribution_seqs_puts_positives_first_and_keeps_room_for_negatives():
    labels = np.array([0, 1, 0, 1, 1, 0])
    np.testing.assert_array_equal(attr.pick_attribution_seqs(labels, 4, min_negatives=1), [1, 3, 4, 0])
    np.testing.assert_array_equal(attr.pick_attribution_seqs(labels, 10, min_negatives=1),
                                  [1, 3, 4, 0, 2, 5])


# ----------------------------------------------------------------------------- localization scores
def test_localization_scores_match_hand_computed_values():
    ids = ["a", "b", "c"]
    sites = {"a": [Site("a", 0, 1, "M"), Site("a", 2, 3, "M"), Site("a", 1, 2, "decoy")],
             "c": [Site("c", 0, 4, "M")]}
    mask = site_mask(ids, sites, ["M"], 4)
    np.testing.assert_array_equal(mask, [[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
    scores = np.array([[3.0, 2.0, 1.0, 0.0], [1, 2, 3, 4], [1, 1, 1, 1]])
    result = localization_scores(-scores, mask)                       # sign is ignored
    assert result["auroc"][0] == 0.75
    assert result["auprc"][0] == pytest.approx((1 + 2 / 3) / 2)
    assert np.isnan(result["auroc"][1]) and np.isnan(result["auroc"][2])   # undefined: one class only
    summary = summarize_localization(np.array([0.75, 0.25, np.nan]), np.array([1.0, 0.5, np.nan]))
    assert summary == {"n": 2, "auroc_mean": 0.5, "auroc_sd": pytest.approx(math.sqrt(0.125)),
                       "auprc_mean": 0.75, "auprc_sd": pytest.approx(math.sqrt(0.125))}


# ----------------------------------------------------------------------------- outputs
def test_outputs_scores_npz_logos_and_report(tmp_path):
    import matplotlib.image as mpimg

    seqs, starts = planted(4, 40, seed=2)
    seqs += ac_background(3, 40, seed=8)
    labels = np.array([1, 1, 1, 1, 0, 0, 0], dtype=np.int8)
    ids = [f"seq_{i:07d}" for i in range(7)]
    sites = {i: [Site(i, s, s + len(MOTIF), "M", "+")] for i, s in zip(ids, starts)}
    sites[ids[5]] = [Site(ids[5], 3, 10, "decoy", "-")]
    x = one_hot(seqs)
    model = MotifOracle(40)
    results = attr.run_attributions(model, x, ids, ["ism", "kernel_shap"], background_dist=AC_ONLY,
                                    window=4, nsamples=200, quiet=True)
    rows = attr.write_attribution_outputs(tmp_path, ids, x, labels, sites, {"pos_motifs": ["M"]},
                                          results, num_logos=2, scale="probability")

    assert [r["method"] for r in rows] == ["ism", "kernel_shap"]
    ism_row = rows[0]
    assert (ism_row["n"], ism_row["auroc_mean"], ism_row["auroc_sd"], ism_row["auprc_mean"]) == (4, 1.0, 0.0, 1.0)
    lines = (tmp_path / "attribution_scores.csv").read_text().splitlines()
    assert lines[0] == ",".join(attr.SCORE_COLUMNS)
    assert [float(v) for v in lines[1].split(",")[1:6]] == [4, 1.0, 0.0, 1.0, 0.0]

    with np.load(tmp_path / "attributions_ism.npz", allow_pickle=False) as npz:
        assert list(npz["ids"]) == ids
        np.testing.assert_array_equal(npz["onehot"], x)
        np.testing.assert_array_equal(npz["attributions"], results["ism"][0])
        assert str(npz["scale"]) == "probability"

    logos = sorted(p.name for p in (tmp_path / "logos").glob("*.png"))
    assert logos == [f"{ids[0]}_pos.png", f"{ids[1]}_pos.png", f"{ids[4]}_neg.png", f"{ids[5]}_neg.png"]
    two_panels = mpimg.imread(tmp_path / "logos" / logos[0]).shape[0]
    one_panel = mpimg.imread(attr_logo_one_panel(tmp_path, x[0], sites[ids[0]])).shape[0]
    assert two_panels > 1.6 * one_panel                              # one panel per method
    assert mpimg.imread(tmp_path / "attribution_scores.png").shape[1] > 500

    text = attr.report_section(rows, tmp_path, notes=["saliency skipped: oracle_motif has no Keras graph"],
                               pos_motifs=["M"], scale="probability")
    assert "| ism | 4 | 1.000 ± 0.000 | 1.000 ± 0.000 |" in text
    assert "](attribution_scores.png)" in text
    assert f"(logos/{ids[0]}_pos.png)" in text
    assert "- saliency skipped: oracle_motif has no Keras graph" in text


def attr_logo_one_panel(folder, onehot_row, sites):
    from utils.plots import plot_attribution_logos

    return plot_attribution_logos(folder / "one.png", {"ism": onehot_row}, sites, ["M"], title="one")


def test_without_a_planted_rule_maps_are_summarised_by_attribution_mass(tmp_path, linear):
    """No pos_motifs: no localization against truth; each motif's share of |attribution x input|."""
    from utils.seqfiles import Site

    _, x = linear
    n, length = x.shape[:2]
    maps = np.zeros_like(x)
    maps[:, 2:5, :] = 3.0                     # weight on positions 2-4 ...
    maps[:, 10, :] = 1.0                      # ... and a quarter as much at 10
    ids = [f"s{i}" for i in range(n)]
    sites = {i: [Site(i, 2, 5, "M"), Site(i, 10, 11, "D")] for i in ids[:-1]}    # the last has none
    rows = attr.write_attribution_outputs(tmp_path, ids, x, np.ones(n), sites, {"motifs": ["M", "D"]},
                                          {"saliency": (maps, 0.5)})
    by = {r["motif"]: r for r in rows}
    assert by["M"]["n"] == by["D"]["n"] == n - 1
    assert by["M"]["mass_mean"] == pytest.approx(9 / 10) and by["D"]["mass_mean"] == pytest.approx(1 / 10)
    assert by["M"]["site_share"] == pytest.approx(3 / length)
    assert (tmp_path / attr.MASS_CSV).exists() and not (tmp_path / attr.SCORES_CSV).exists()


# ----------------------------------------------------------------------------- Keras methods
@pytest.fixture(scope="module")
def keras_predictor():
    attr.quiet_import_tensorflow()
    import keras

    length = 30
    keras.utils.set_random_seed(0)
    inputs = keras.Input((length, 4))
    h = keras.layers.Conv1D(3, 5, activation="relu")(inputs)
    h = keras.layers.MaxPooling1D(pool_size=length - 4)(h)
    h = keras.layers.Flatten()(h)
    logit = keras.layers.Dense(1)(h)
    prob = keras.layers.Activation("sigmoid")(logit)

    class KerasPredictor:
        kind = "tiny_cnn"
        input_length = length
        keras_model = keras.Model(inputs, prob)
        logit_model = keras.Model(inputs, logit)

        def predict(self, onehot):
            return np.asarray(self.keras_model.predict_on_batch(np.asarray(onehot, np.float32)),
                              dtype=np.float64).reshape(-1)

        def predict_logit(self, onehot):
            return np.asarray(self.logit_model.predict_on_batch(np.asarray(onehot, np.float32)),
                              dtype=np.float64).reshape(-1)

    rng = np.random.default_rng(1)
    x = one_hot(["".join(rng.choice(list("ACGT"), size=length)) for _ in range(4)])
    return KerasPredictor(), x


def test_keras_predictors_support_every_method(keras_predictor):
    model, _ = keras_predictor
    assert attr.supported_methods(model) == list(attr.METHODS)
    assert attr.output_scale(model) == "logit"


def test_deep_shap_sums_to_logit_minus_mean_background_logit(keras_predictor):
    model, x = keras_predictor
    phi = attr.deep_shap(model, x, background_dist=[0.3, 0.2, 0.2, 0.3], num_background=8, seed=2)
    background = attr.background_sequences(8, 30, [0.3, 0.2, 0.2, 0.3], seed=2)
    expected = model.predict_logit(x) - model.predict_logit(background).mean()
    assert phi.shape == x.shape and phi.dtype == np.float32
    np.testing.assert_allclose(phi.sum((1, 2)), expected, atol=1e-4)
    assert np.abs(phi).sum() > 0


def test_deep_shap_with_shuffled_references(keras_predictor):
    model, x = keras_predictor
    phi = attr.deep_shap(model, x, background="shuffle", num_background=5, seed=3)
    rng = np.random.default_rng(3)                                   # same draws, same order as shap's calls
    expected = [model.predict_logit(x[i:i + 1])[0]
                - model.predict_logit(attr.shuffled_sequences(x[i], 5, rng)).mean() for i in range(len(x))]
    np.testing.assert_allclose(phi.sum((1, 2)), expected, atol=1e-4)


def test_gradient_shap_is_seeded_and_close_to_additive(keras_predictor):
    model, x = keras_predictor
    a = attr.gradient_shap(model, x, num_background=8, nsamples=400, seed=4)
    b = attr.gradient_shap(model, x, num_background=8, nsamples=400, seed=4)
    np.testing.assert_array_equal(a, b)
    background = attr.background_sequences(8, 30, None, seed=4)
    expected = model.predict_logit(x) - model.predict_logit(background).mean()
    # expected gradients is a Monte Carlo estimate of the same quantity as DeepSHAP's sum
    assert np.corrcoef(a.sum((1, 2)), expected)[0, 1] > 0.8


def test_saliency_matches_finite_differences(keras_predictor):
    model, x = keras_predictor
    grad = attr.saliency(model, x)
    eps = 1e-2
    for i, j, b in [(0, 3, 1), (1, 10, 0), (2, 17, 3), (3, 25, 2)]:
        up, down = x[i:i + 1].copy(), x[i:i + 1].copy()
        up[0, j, b] += eps
        down[0, j, b] -= eps
        numeric = (model.predict_logit(up)[0] - model.predict_logit(down)[0]) / (2 * eps)
        assert grad[i, j, b] == pytest.approx(numeric, abs=1e-3)


def test_run_attributions_on_keras_runs_all_methods(keras_predictor):
    model, x = keras_predictor
    ids = [f"s{i}" for i in range(len(x))]
    methods, notes = attr.resolve_methods("all", model)
    results = attr.run_attributions(model, x, ids, methods, nsamples=40, window=3, quiet=True)
    assert notes == [] and list(results) == list(attr.METHODS)
    for attributions, _ in results.values():
        assert attributions.shape == x.shape and np.isfinite(attributions).all()


def test_outputs_with_no_method_run(tmp_path):
    rows = attr.write_attribution_outputs(tmp_path, ["a"], one_hot(["ACGT"]), np.ones(1), {},
                                          {"pos_motifs": ["M"]}, {})
    assert rows == []
    assert (tmp_path / "attribution_scores.csv").read_text() == ",".join(attr.SCORE_COLUMNS) + "\n"
    assert "No attribution method was run." in attr.report_section(rows, tmp_path)


def test_localization_scores_the_observed_base_by_default():
    """A map that is large only at bases NOT present outside the site: the map the user sees
    (attribution x input) puts the site first; the sum over four bases does not."""
    seq = "ACGTACGTAC"
    x = one_hot([seq])
    a = np.zeros((1, 10, 4), dtype=np.float32)
    a[0, 3:6][x[0, 3:6] == 1] = 1.0               # the site (3-6): observed bases matter
    absent = x[0] == 0
    absent[3:6] = False
    a[0][absent] = 0.9                              # elsewhere: only bases that are not there
    mask = site_mask(["s"], {"s": [Site("s", 3, 6, "M")]}, ["M"], 10)
    seen = localization_scores(a, mask, x, "saliency", mode="input")
    summed = localization_scores(a, mask, x, "saliency", mode="sum")
    assert seen["auroc"][0] == 1.0 and summed["auroc"][0] == 0.0
    rows = attr.score_attributions(["s"], np.array([1]), {"s": [Site("s", 3, 6, "M")]}, ["M"],
                                   {"saliency": (a, 1.0)}, x)
    assert rows[0]["auroc_mean"] == 1.0


def test_every_kind_with_a_logit_is_explained_on_the_logit():
    from utils.models import KmerPredictor

    class Estimator:
        def predict_proba(self, f):
            return np.column_stack([1 - f[:, 0] / 100, f[:, 0] / 100])

        def decision_function(self, f):
            return f[:, 0] - 1.0

    kmer = KmerPredictor("kmer_logistic", Estimator(), 1, 10)
    assert attr.output_scale(kmer) == "logit"
    x = one_hot(["AAAAACCCCC"])
    np.testing.assert_allclose(attr.explained_output(kmer)(x), [4.0])        # 5 A's - 1: the logit
    assert attr.output_scale(ConstantProb()) == "probability"


class ConstantProb:
    input_length = 10

    def predict(self, onehot):
        return np.full(len(onehot), 0.3)


def test_logo_draws_a_letter_per_visible_cell_only():
    import matplotlib.pyplot as plt
    from utils.plots import draw_logo

    values = np.zeros((4, 4))
    values[0, 0] = 1.0          # A up
    values[1, 1] = 1e-4         # C far under half a pixel of a panel 1.5 high: not drawn
    values[2, 2] = -0.5         # G flipped below the baseline
    values[3, 3] = 0.01         # T small but visible
    fig, ax = plt.subplots()
    draw_logo(ax, values)
    assert len(ax.patches) == 3
    plt.close(fig)
