"""Global importance analysis: effects, interactions and dose measured by embedding motifs in
background sequences, against oracles whose terms are known exactly.

The oracles read exact consensus matches; the backgrounds hold only A and C, so no background
can carry a consensus (each holds G or T) and every estimate is exact."""
from __future__ import annotations

import numpy as np
import pytest

from oracles import ActivityOracle
from utils import gia
from utils.motifs import Motif
from utils.planted import Distance, Order, Presence

A, B, D = "GTTGCA", "TGGTCA", "GGTTTG"       # every one needs G or T
AC_ONLY = np.array([0.5, 0.5, 0.0, 0.0])
LENGTH = 120


def motif(consensus: str) -> Motif:
    pwm = np.full((len(consensus), 4), 0.01)
    for k, base in enumerate(consensus):
        pwm[k, "ACGT".index(base)] = 0.97
    return Motif(consensus, pwm)


MOTIFS = [motif(A), motif(B), motif(D)]
DISTANCE = Distance(motifs=(A, B, D), pos_motifs=(A, B), decoy_motifs=(D,), min_dist=10, max_dist=30, gap_limit=100)


def run(oracle, rule, pair=(A, B), **kw):
    return gia.measure(oracle, MOTIFS, rule, pair, AC_ONLY, LENGTH, n=200, seed=3, sampling="consensus", **kw)


def test_a_cooperative_spacing_oracle_gives_its_effects_and_its_interaction_inside_the_window_only():
    oracle = ActivityOracle(LENGTH, {A: 2.0, B: 1.0, D: 0.0}, (A, B), 1.5, "window", (10, 30))
    out = run(oracle, DISTANCE)
    assert out["unit"] == "value" and out["n_backgrounds"] == 200
    got = {m: out["effects"][m]["estimate"] for m in (A, B, D)}
    assert got == pytest.approx({A: 2.0, B: 1.0, D: 0.0}, abs=1e-9)
    inter = out["interaction"]
    assert inter["pair"] == [A, B] and inter["arrangement"].startswith("B downstream of A, gap drawn in")
    assert inter["inside"]["estimate"] == pytest.approx(1.5, abs=1e-9)
    assert inter["inside"]["with_both"] == pytest.approx(4.5, abs=1e-9)
    assert inter["outside"]["estimate"] == pytest.approx(0.0, abs=1e-9)
    assert inter["inside"]["p_value"] < 1e-3 and inter["outside"]["p_value"] == 1.0


def test_an_additive_oracle_has_no_interaction_and_a_classifier_is_read_in_logits():
    additive = run(ActivityOracle(LENGTH, {A: 2.0, B: 1.0}), DISTANCE)
    assert additive["interaction"]["inside"]["estimate"] == pytest.approx(0.0, abs=1e-9)
    logit = run(ActivityOracle(LENGTH, {A: 2.0, B: -1.0}, (A, B), 0.5, "order", logit=True),
                Order(motifs=(A, B), pos_motifs=(A, B), min_dist=0, max_dist=40, gap_limit=100))
    assert logit["unit"] == "logit"
    assert logit["effects"][A]["estimate"] == pytest.approx(2.0, abs=1e-6)
    assert logit["effects"][B]["estimate"] == pytest.approx(-1.0, abs=1e-6)
    assert logit["interaction"]["inside"]["estimate"] == pytest.approx(0.5, abs=1e-6)     # A upstream of B
    assert logit["interaction"]["outside"]["estimate"] == pytest.approx(0.0, abs=1e-6)    # B upstream of A
    assert logit["interaction"]["outside_arrangement"] == "B upstream of A (the same gap)"


def test_presence_rules_place_the_pair_anywhere_and_dose_counts_copies():
    rule = Presence(motifs=(A, B), pos_motifs=(A, B), presence_logic="all")
    out = run(ActivityOracle(LENGTH, {A: 1.0, B: 0.5}, (A, B), 1.0, "both"), rule, max_copies=3, dose_motifs=(A,))
    assert out["interaction"]["inside"]["estimate"] == pytest.approx(1.0, abs=1e-9)
    assert out["interaction"]["outside"] is None and out["interaction"]["outside_arrangement"] is None
    assert [(r["copies"], round(r["estimate"], 9)) for r in out["dose"][A]] == [(1, 1.0), (2, 2.0), (3, 3.0)]
    assert run(ActivityOracle(LENGTH, {A: 1.0}), rule, pair=None)["interaction"] is None


# ----------------------------------------------------------------------------- the activity verdict
@pytest.fixture(scope="module")
def cooperative(tmp_path_factory):
    """An activity data folder: 2 x [STAT_known2] + 1 x [CTCF_known1] + 1.5 when their gap lies in
    10-30 bp, consensus instances, no noise; GATA_known1 a decoy."""
    import json

    import Generate_sequences
    from utils import planted
    from utils.seqfiles import read_bed

    out = tmp_path_factory.mktemp("coop") / "data"
    assert Generate_sequences.main(["--target", "activity", "--gen_type", "distance", "--motifs", "STAT_known2",
                                    "CTCF_known1", "GATA_known1", "--pos_motifs", "STAT_known2", "CTCF_known1",
                                    "--effects", "STAT_known2=2", "CTCF_known1=1", "--interaction", "1.5",
                                    "--noise_sd", "0", "--motif_sampling", "consensus", "--num_seqs", "300",
                                    "--seed", "2", "--out_dir", str(out), "--quiet"]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    rule = planted.from_json(meta, out / "metadata.json", {s.motif for s in read_bed(out / "motif_sites.bed")})
    motifs = [Motif(m, np.array(p)) for m, p in meta["pwms"].items()]
    consensus = {m.name: "".join("ACGT"[i] for i in m.pwm.argmax(axis=1)) for m in motifs}
    return rule, motifs, consensus, np.array(meta["background_dist"])


def judge(cooperative, effects, interaction, output_kind="value"):
    from utils import evaluate

    rule, motifs, consensus, bg = cooperative
    a, b = rule.pair
    oracle = ActivityOracle(200, {consensus[m]: v for m, v in effects.items()}, (consensus[a], consensus[b]),
                            interaction, "window", tuple(rule.gap_window))
    measured = gia.measure(oracle, motifs, rule, gia.pair_of(rule, None), bg, 200, n=300, seed=1,
                           sampling="consensus")
    return evaluate.verdict([], rule, None, 0.05, min_effect=0.1, measured=measured, output_kind=output_kind)


def test_the_oracle_of_the_planted_terms_recovers_the_activity_rule(cooperative):
    v = judge(cooperative, {"STAT_known2": 2.0, "CTCF_known1": 1.0, "GATA_known1": 0.0}, 1.5)
    assert v["verdict"] == "recovered", v["reason"]
    got = {t["term"]: (t["planted"], round(t["estimate"], 6)) for t in v["activity_terms"]}
    assert got == {"effect of STAT_known2": (2.0, 2.0), "effect of CTCF_known1": (1.0, 1.0),
                   "effect of GATA_known1": (0.0, 0.0), "interaction inside the arrangement": (1.5, 1.5),
                   "interaction outside the arrangement": (0.0, 0.0)}
    assert v["found_rule"]["interaction"]["inside"]["estimate"] == pytest.approx(1.5, abs=1e-6)
    assert v["found_rule"]["interaction"]["planted"] == 1.5
    assert {m: e["planted"] for m, e in v["found_rule"]["effects"].items()} == {
        "STAT_known2": 2.0, "CTCF_known1": 1.0, "GATA_known1": 0.0,
        "STAT_known2_shuffled": 0.0, "CTCF_known1_shuffled": 0.0}          # look-alikes add nothing
    assert v["activity_tolerance"] == 0.25


def test_an_additive_model_misses_the_interaction_and_wrong_effects_are_named(cooperative):
    additive = judge(cooperative, {"STAT_known2": 2.0, "CTCF_known1": 1.0}, 0.0)
    assert additive["verdict"] == "not recovered"
    assert additive["reason"] == "interaction missed (+0.000, planted +1.5)"
    off = judge(cooperative, {"STAT_known2": 2.0, "CTCF_known1": 0.4, "GATA_known1": 0.5}, 1.5)
    assert off["reason"] == ("effect of CTCF_known1 off by 60% (+0.400, planted +1); effect of GATA_known1 "
                             "+0.500 where none is planted (at least 0.1 counts)")
    probability = judge(cooperative, {"STAT_known2": 2.0, "CTCF_known1": 1.0}, 1.5, output_kind="probability")
    assert probability["verdict"] == "undetermined" and "not a value in the label's units" in probability["reason"]
