"""Global importance analysis: effects, interactions and dose measured by embedding motifs in
background sequences, against oracles whose terms are known exactly.

The oracles read exact consensus matches; the backgrounds hold only A and C, so no background
can carry a consensus (each holds G or T) and every estimate is exact."""
from __future__ import annotations

import numpy as np
import pytest

from oracles import ActivityOracle, LogicOracle
from utils import gia
from utils import motifs as motiflib
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


# ----------------------------------------------------------------------------- the truth table
C = "GTGTCA"
THREE = [motif(A), motif(B), motif(C)]
HIGH, LOW = 1 / (1 + np.exp(-4.0)), 1 / (1 + np.exp(4.0))


def table(oracle, rule, motifs=THREE):
    return gia.truth_table(oracle, motifs, rule.pos_motifs, AC_ONLY, LENGTH, n=100, seed=4, sampling="consensus",
                           rule=rule)


def presence(logic, pos=(A, B, C), k=None):
    return Presence(motifs=tuple(pos), pos_motifs=tuple(pos), presence_logic=logic, min_motifs=k)


def judged(rule, tab):
    """The verdict of rows that agree with the rule (an ablation of each motif it requires, a
    control) and the truth table ``tab``."""
    from utils import evaluate
    from utils.hypotheses import Hypothesis

    rows = [{"test": h.name, "motifs": h.motif_text, "n_seqs": 100, "num_perturbs": 5, "mean_delta_output": -0.9,
             "mean_delta_loss": 0.0, "effect_size": 1.0, "ci_low": -0.9, "ci_high": -0.9, "statistic": -0.9,
             "p_value": 1e-6, "test_used": "sign-flip", "hypothesis": h} for h in rule.required()]
    control = Hypothesis("control", (rule.pos_motifs[0],), width=6)
    rows.append({**(rows[0] if rows else {"test": control.name, "motifs": control.motif_text, "n_seqs": 100,
                 "num_perturbs": 5, "mean_delta_loss": 0.0, "effect_size": 0.0, "test_used": "sign-flip"}),
                 "test": control.name, "motifs": control.motif_text, "mean_delta_output": 0.0, "ci_low": 0.0,
                 "ci_high": 0.0, "statistic": 0.0, "p_value": 0.9, "hypothesis": control})
    return evaluate.verdict(evaluate.annotate(rows, rule, 0.05), rule, None, 0.05, truth_table=tab)


@pytest.mark.parametrize("logic,k", [("any", None), ("all", None), ("xor", None), ("at_least", 2), ("at_least", 1)])
def test_an_oracle_of_each_logic_gives_its_truth_table_and_is_recovered(logic, k):
    rule = presence(logic, k=k)
    tab = table(LogicOracle(LENGTH, [A, B, C], logic, k), rule)
    assert tab["unit"] == "probability" and tab["n_backgrounds"] == 100 and len(tab["subsets"]) == 8
    assert [len(r["motifs"]) for r in tab["subsets"]] == [0, 1, 1, 1, 2, 2, 2, 3]
    count = {"any": [0, 1, 1, 1, 1, 1, 1, 1], "all": [0, 0, 0, 0, 0, 0, 0, 1], "xor": [0, 1, 1, 1, 0, 0, 0, 0],
             "at_least": [0, 0, 0, 0, 1, 1, 1, 1] if k == 2 else [0, 1, 1, 1, 1, 1, 1, 1]}[logic]
    assert [r["planted_class"] for r in tab["subsets"]] == count
    assert [r["mean"] for r in tab["subsets"]] == pytest.approx([HIGH if c else LOW for c in count], abs=1e-12)
    assert [r["logit"]["mean"] for r in tab["subsets"]] == pytest.approx([4.0 if c else -4.0 for c in count])
    v = judged(rule, tab)
    assert v["verdict"] == "recovered", v["reason"]
    assert v["found_rule"]["truth_table"]["follows"] and all(r["agrees"] for r in v["found_rule"]["truth_table"]["subsets"])


def test_an_additive_model_on_all_data_is_not_recovered_naming_the_single_motif_subsets():
    rule = presence("all", pos=(A, B))
    tab = table(LogicOracle(LENGTH, [A, B], additive=(-2.0, 2.0)), rule)
    got = [(r["motifs"], round(r["mean"], 3)) for r in tab["subsets"]]
    assert got == [([], 0.119), ([A], 0.5), ([B], 0.5), ([A, B], 0.881)]
    v = judged(rule, tab)
    assert v["verdict"] == "not recovered"
    assert v["reason"] == (f"the truth table does not follow all: {{{A}}} 0.500 and {{{B}}} 0.500 (planted negative) "
                           f"sit above the lowest third of the range between none (0.119) and {{{A}, {B}}} (0.881) "
                           f"(at most 0.373)")


def test_an_or_model_on_all_data_and_an_and_model_on_any_data_are_not_recovered():
    v = judged(presence("all"), table(LogicOracle(LENGTH, [A, B, C], "any"), presence("all")))
    assert v["verdict"] == "not recovered"
    assert v["reason"].startswith(f"the truth table does not follow all: {{{A}}} 0.982 and {{{B}}} 0.982 and "
                                  f"{{{C}}} 0.982 and {{{A}, {B}}} 0.982")
    v = judged(presence("any"), table(LogicOracle(LENGTH, [A, B, C], "all"), presence("any")))
    assert v["verdict"] == "not recovered"
    assert f"{{{A}}} 0.018 and {{{B}}} 0.018" in v["reason"] and "(planted positive)" in v["reason"]
    assert "below the highest third" in v["reason"]
    # xor is not any: the pairs and the full set must stay low
    v = judged(presence("xor"), table(LogicOracle(LENGTH, [A, B, C], "any"), presence("xor")))
    assert v["verdict"] == "not recovered" and f"{{{A}, {B}, {C}}} 0.982" in v["reason"]


def test_the_subsets_share_their_backgrounds_and_places_and_do_not_overlap():
    """Every subset's motifs sit at one place per background: the oracle sees each exactly once."""
    counter = ActivityOracle(LENGTH, {A: 1.0, B: 10.0, C: 100.0})
    tab = table(counter, presence("xor"))
    assert tab["unit"] == "value"
    assert [r["mean"] for r in tab["subsets"]] == pytest.approx([0, 1, 10, 100, 11, 101, 110, 111], abs=1e-12)
    assert all(r["logit"] is None for r in tab["subsets"])
    assert gia.truth_table(counter, THREE, (A, B, C), AC_ONLY, 10, n=5, seed=1) is None     # 18 bp do not fit


def test_a_steep_threshold_on_the_count_computes_and_and_passes():
    """An additive logit that thresholds the count steeply between one and two motifs is AND."""
    rule = presence("all", pos=(A, B))
    v = judged(rule, table(LogicOracle(LENGTH, [A, B], additive=(-10.0, 6.7)), rule))
    assert v["verdict"] == "recovered", v["reason"]


# ---------------------------------------------------------------- a similar pair, drawn as the data drew it
def _similar_pair():
    from utils import motifs as motiflib

    bg = np.full(4, 0.25)
    pair = motiflib.get_motifs(["FOXA_known1", "FOXA_known2"], "encode")
    th = {m.name: motiflib.match_threshold(m, bg) for m in pair}
    return motiflib, bg, pair, {name: (t.score, t.kept_share) for name, t in th.items()}


def test_an_experiment_draws_no_instance_that_scores_as_the_other_motif_where_it_lands():
    """The generator removes every window of one of the data's motifs that is not its planted
    instance (chance_matches); the experiments draw instances the same way: written at their
    places, no window of the other motif overlapping them reaches its threshold. Of a similar pair,
    most unconstrained draws of FOXA_known1 make one, with the bases around them."""
    motiflib, bg, (foxa1, foxa2), thresholds = _similar_pair()
    lo1, t1 = motiflib.log_odds(foxa1, bg), thresholds[foxa1.name][0]
    lo2, t2 = motiflib.log_odds(foxa2, bg), thresholds[foxa2.name][0]
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, (2000, 60)).astype(np.uint8)
    starts = rng.integers(0, 60 - foxa1.length + 1, 2000)

    def share_as_foxa2(inst):
        return float(motiflib._scores_as_a_rival(codes, starts, inst, [(lo2, t2)]).mean())

    unconstrained = motiflib.instance_drawer(thresholds, bg)(foxa1, 2000, rng)
    as_data = motiflib.instance_drawer(thresholds, bg, motifs=[foxa1, foxa2])(foxa1, 2000, rng, codes, starts)
    assert (motiflib.window_scores(as_data, lo1) >= t1 - 1e-9).all()        # still instances of FOXA_known1
    # (a few contexts score as FOXA_known2 whatever is written there: the generator redraws their
    # background, which an experiment shares between its variants and keeps)
    assert share_as_foxa2(unconstrained) > 0.5 and share_as_foxa2(as_data) < 0.01
    # the check itself, against a plain scan of the written sequences
    x = codes.copy()
    x[np.arange(2000)[:, None], starts[:, None] + np.arange(foxa1.length)[None, :]] = unconstrained
    scores = motiflib.scan(x, lo2)
    pos = np.arange(scores.shape[1])[None, :]
    near = (pos + foxa2.length > starts[:, None]) & (pos < starts[:, None] + foxa1.length)
    assert np.array_equal(((scores >= t2 - 1e-9) & near).any(axis=1),
                          motiflib._scores_as_a_rival(codes, starts, unconstrained, [(lo2, t2)]))


class _ThresholdOracle:
    """A regression reading each motif where a window reaches its threshold: +1 for FOXA_known1, +2
    for FOXA_known2 (at most once each), as a model trained on the pair's planted instances reads them."""
    output_kind = "value"

    def __init__(self, motiflib, bg, pair, thresholds, effects=(1.0, 2.0)):
        self.input_length = 60
        self.terms = [(motiflib.log_odds(m, bg), thresholds[m.name][0], e) for m, e in zip(pair, effects)]
        self.scan = motiflib.scan

    def predict(self, onehot):
        codes = np.asarray(onehot).argmax(axis=2).astype(np.uint8)
        return sum(e * (self.scan(codes, lo) >= t - 1e-9).any(axis=1) for lo, t, e in self.terms).astype(np.float64)


def test_a_similar_pair_effects_are_not_over_stated(monkeypatch):
    """Global importance analysis of the threshold oracle on 60 bp backgrounds. Drawn as the data
    drew them, each motif's effect is its own, +1 and +2, less the backgrounds that already hold a
    chance match of it (a few in a hundred at 60 bp: no effect there); drawn without regard to where
    they land, FOXA_known1 reads as FOXA_known2 too and comes out over-stated by most of +2."""
    motiflib, bg, pair, thresholds = _similar_pair()
    oracle = _ThresholdOracle(motiflib, bg, pair, thresholds)

    def effects():
        out = gia.measure(oracle, list(pair), None, None, bg, 60, n=400, seed=5, thresholds=thresholds)
        return {m: out["effects"][m]["estimate"] for m in ("FOXA_known1", "FOXA_known2")}

    as_data = effects()
    drawer = motiflib.instance_drawer
    monkeypatch.setattr(gia.motiflib, "instance_drawer", lambda th, b, sampling="pwm", motifs=(): drawer(th, b, sampling))
    unconstrained = effects()
    assert 0.75 < as_data["FOXA_known1"] <= 1.0 and 1.6 < as_data["FOXA_known2"] <= 2.0
    assert unconstrained["FOXA_known1"] > as_data["FOXA_known1"] + 1.0


def test_write_at_writes_codes_and_one_hot_alike():
    codes = np.zeros((2, 8), dtype=np.uint8)
    onehot = np.eye(4, dtype=np.float32)[codes]
    inst = np.array([[1, 2, 3], [3, 3, 1]], dtype=np.uint8)
    starts = np.array([0, 5])
    motiflib.write_at(codes, starts, inst)
    motiflib.write_at(onehot, starts, inst)
    assert codes.tolist() == [[1, 2, 3, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 3, 3, 1]]
    assert np.array_equal(onehot, np.eye(4, dtype=np.float32)[codes]) and onehot.dtype == np.float32
