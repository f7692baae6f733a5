"""The verdict on hand-built rows: every branch of evaluate.verdict, and annotate's power rule."""
from __future__ import annotations

import numpy as np
import pytest

from utils import evaluate
from utils.hypotheses import Hypothesis
from utils.planted import Distance, Order, Presence

PRESENCE = Presence(motifs=("M", "D"), pos_motifs=("M",), decoy_motifs=("D",))
ORDER = Order(motifs=("A", "B"), pos_motifs=("A", "B"), min_dist=10, max_dist=30)
DISTANCE = Distance(motifs=("A", "B"), pos_motifs=("A", "B"), min_dist=10, max_dist=30)
# the truth table of a model that follows PRESENCE (every presence verdict needs one)
M_TABLE = {"unit": "probability", "n_backgrounds": 100, "motifs": ["M"],
           "subsets": [{"motifs": [], "planted_class": 0, "mean": 0.02}, {"motifs": ["M"], "planted_class": 1, "mean": 0.98}]}


def ablate(m, label=None):
    return Hypothesis("ablate", (m,), label)


def insert(m):
    return Hypothesis("insert", (m,))


def swap(label, pair=("A", "B")):
    return Hypothesis("swap", pair, label)


SPACING = Hypothesis("distance", ("A", "B"), 1)
CONTROL_M = Hypothesis("control", ("M",), width=10)


def raw(h, delta, p, n=100):
    return {"test": h.name, "motifs": h.motif_text, "n_seqs": n, "num_perturbs": 5, "mean_delta_output": delta,
            "mean_delta_loss": 0.0, "effect_size": 1.0, "ci_low": delta, "ci_high": delta,
            "statistic": delta, "p_value": p, "test_used": "sign-flip", "hypothesis": h}


def judge(rows, rule, alpha=0.05, curve=None, not_run=()):
    annotated = evaluate.annotate(rows, rule, alpha)
    return annotated, evaluate.verdict(annotated, rule, curve, alpha, not_run=list(not_run),
                                       truth_table=M_TABLE if rule is PRESENCE else None)


def test_a_disagreeing_insertion_is_not_recovered():
    rows, v = judge([raw(ablate("M", 1), -0.6, 1e-6), raw(insert("M"), 0.01, 0.9),
                     raw(ablate("D"), 0.0, 0.8)], PRESENCE)
    assert [r["agrees"] for r in rows] == [True, False, True]
    assert [r["expected"] for r in rows] == ["decrease", "increase", "none"]
    assert v["verdict"] == "not recovered" and v["n_disagree"] == 1
    assert v["reason"] == "inserting M did not raise the probability (+0.010, q=0.9)"


def test_all_agree_with_required_tests_is_recovered():
    _, v = judge([raw(ablate("M", 1), -0.6, 1e-6), raw(insert("M"), 0.5, 1e-6),
                  raw(ablate("D"), 0.0, 0.8)], PRESENCE)
    assert v["verdict"] == "recovered" and v["n_agree"] == 3 and v["required_tests"] == ["ablate:M"]


def test_the_required_ablation_is_matched_on_its_class():
    # an ablation of M in both classes is not the test the presence rule requires (M in positives)
    _, v = judge([raw(ablate("M"), -0.6, 1e-6)], PRESENCE)
    assert v["verdict"] == "undetermined"
    assert v["reason"].startswith("the planted rule needs ablate:M, which did not run")


def test_controls_alone_are_undetermined():
    _, v = judge([raw(CONTROL_M, 0.0, 0.7)], PRESENCE)
    assert v["verdict"] == "undetermined" and "ablate:M" in v["reason"]


def test_a_missing_swap_leaves_order_undetermined():
    not_run = [{"test": "swap:negatives", "motifs": "A,B", "reason": "no negative carries both"}]
    _, v = judge([raw(swap(1), -0.8, 1e-6)], ORDER, not_run=not_run)
    assert v["verdict"] == "undetermined"
    assert v["reason"] == ("the planted rule needs swap:negatives (A,B), which did not run on any "
                           "sequence (rerun with those --tests)")
    assert v["not_run"] == not_run and v["n_tests"] == 1
    _, v = judge([raw(swap(1), -0.8, 1e-6), raw(swap(0), 0.8, 1e-6)], ORDER)
    assert v["verdict"] == "recovered" and v["required_tests"] == ["swap:positives", "swap:negatives"]


def test_a_required_test_on_too_few_sequences_is_underpowered():
    # 5 sequences: the smallest attainable p is 2/32 = 0.0625 > alpha, whatever the effect
    rows, v = judge([raw(SPACING, 0.9, 0.0625, n=5)], DISTANCE)
    assert rows[0]["underpowered"] and rows[0]["agrees"] is None
    assert v["verdict"] == "undetermined"
    assert v["reason"] == ("underpowered: distance:inside_vs_outside on 5 sequences (its smallest attainable "
                           "p-value 0.062 is not below alpha 0.05); test more sequences (--num_seqs)")
    rows, v = judge([raw(SPACING, 0.9, 0.03125, n=6)], DISTANCE, curve=MOVING)
    assert not rows[0]["underpowered"] and v["verdict"] == "recovered"


def test_a_disagreement_outranks_a_missing_test():
    _, v = judge([raw(swap(1), 0.0, 0.9), raw(ablate("A", 1), -0.5, 1e-6)], ORDER)
    assert v["verdict"] == "not recovered"
    assert v["reason"] == ("order unused (swapping A and B changed the probability of positives +0.000; "
                           "the rule needs a change of sign)")


@pytest.mark.parametrize("h,reason", [
    (ablate("D"), "decoy D used (ablate:D +0.400)"),
    (CONTROL_M, "responds to background changes (control:background_10bp near M: +0.400)"),
    (swap(1, ("M", "D")), "order used although the rule ignores it (swap:positives +0.400)"),
])
def test_effects_the_rule_ignores_are_failures(h, reason):
    _, v = judge([raw(ablate("M", 1), -0.6, 1e-6), raw(h, 0.4, 1e-6)], PRESENCE)
    assert v["verdict"] == "not recovered" and v["reason"] == reason


def test_without_a_planted_rule_there_is_no_verdict_and_the_rule_found_reads_right():
    _, v = judge([raw(ablate("M", 1), -0.6, 1e-6)], None)
    assert v["verdict"] is None and v["reason"] == "no planted rule to compare with; the model uses M"
    assert v["planted_rule"]["gen_type"] is None and v["required_tests"] == []
    _, v = judge([raw(ablate("M", 1), -0.01, 0.6), raw(swap(1, ("M", "D")), 0.0, 1.0)], None)
    assert v["found_rule"]["description"] == "no tested motif changes the model's output; order does not matter"


def band(mean, half):
    return {"mean": mean, "low": [m - half for m in mean], "high": [m + half for m in mean]}


GAPS = [0, 10, 20, 30, 40]
FLAT = {"gaps": GAPS, **band([0.97, 0.98, 0.99, 0.98, 0.97], 0.01), "window": [0, 40]}
MOVING = {"gaps": GAPS, **band([0.1, 0.9, 0.95, 0.9, 0.1], 0.05), "window": [10, 30]}
NOISY = {"gaps": GAPS, **band([0.45, 0.55, 0.52, 0.42, 0.47], 0.2), "window": [10, 20]}


def test_a_gap_window_is_claimed_only_when_the_curve_moved():
    # a presence model re-spaced with a decoy: the curve sits near 1 at every gap
    _, v = judge([raw(ablate("M", 1), -0.6, 1e-6)], PRESENCE, curve=FLAT)
    assert v["found_rule"]["gap_window"] is None and "gaps" not in v["found_rule"]["description"]
    assert v["found_rule"]["spacing_matters"] is None
    _, v = judge([raw(SPACING, 0.8, 1e-6)], DISTANCE, curve={**MOVING, "window": [12, 29]})
    assert v["found_rule"]["gap_window"] == [12, 29] and v["found_rule"]["gap_window_error"] == [2, -1]
    assert v["found_rule"]["description"] == ("no tested motif changes the model's output; spacing matters; "
                                              "re-spaced, the pair is called positive at gaps 12-29 bp")


def test_curve_moves():
    assert not evaluate.curve_moves(FLAT) and evaluate.curve_moves(MOVING) and not evaluate.curve_moves(None)
    # a window covering every gap tested is no window, however much the curve moves inside it
    assert not evaluate.curve_moves({**MOVING, "window": [0, 40]})
    # a k-mer model hovering around 0.5: the mean spans 0.13 but every band overlaps every other
    assert not evaluate.curve_moves(NOISY)
    assert evaluate.curve_moves({**NOISY, **band(NOISY["mean"], 0.01)})


def curve_of(gaps, mean, half=0.01):
    from utils.perturb import responsive_window

    gaps, mean = np.asarray(gaps), np.asarray(mean, dtype=np.float64)
    return {"gaps": gaps, **band(mean, half), "window": responsive_window(gaps, mean)}


def test_the_window_is_where_the_curve_rises_above_half_its_own_range():
    from utils.perturb import response_level, responsive_window

    gaps = np.arange(0, 111)
    # a weakly learned model: 0.51 everywhere, a bump of 0.14 over the planted 5-15 (0.5 would take all)
    weak = np.where((gaps >= 5) & (gaps <= 15), 0.65, 0.51)
    assert response_level(weak) == pytest.approx(0.58) and responsive_window(gaps, weak) == [5, 15]
    assert responsive_window(gaps, weak, cutoff=0.5) == [0, 110]          # what the 0.5 crossing gave
    step = np.where((gaps >= 10) & (gaps <= 30), 0.99, 0.01)
    assert responsive_window(gaps, step) == [10, 30]
    two = np.where((gaps >= 5) & (gaps <= 15), 0.9, np.where((gaps >= 60) & (gaps <= 64), 0.9, 0.1))
    assert responsive_window(gaps, two) == [5, 15]                     # the longer bump
    assert responsive_window(gaps, np.full(len(gaps), np.nan)) is None


NARROW = Distance(motifs=("A", "B"), pos_motifs=("A", "B"), min_dist=5, max_dist=15)


def test_a_spacing_rule_is_recovered_only_with_the_planted_window():
    gaps = np.arange(0, 111)
    assert (NARROW.window_tolerance, DISTANCE.window_tolerance) == (2, 4)
    wide = curve_of(gaps, np.where((gaps >= 5) & (gaps <= 30), 0.9, 0.1))
    _, v = judge([raw(SPACING, 0.6, 1e-6)], NARROW, curve=wide)
    assert v["verdict"] == "not recovered"
    assert v["reason"] == "gap window found 5-30 bp, planted 5-15 bp (each edge within 2 bp)"
    near = curve_of(gaps, np.where((gaps >= 6) & (gaps <= 17), 0.9, 0.1))   # edges off by 1 and 2 bp
    _, v = judge([raw(SPACING, 0.6, 1e-6)], NARROW, curve=near)
    assert v["verdict"] == "recovered" and v["found_rule"]["gap_window_error"] == [1, 2]
    _, v = judge([raw(SPACING, 0.6, 1e-6)], NARROW, curve=None)
    assert v["verdict"] == "not recovered" and v["reason"].startswith("gap window not found")
    # a spacing test that disagrees is the reason by itself; the window adds nothing
    _, v = judge([raw(SPACING, 0.0, 0.9)], NARROW, curve=wide)
    assert v["reason"].startswith("spacing unused") and "gap window" not in v["reason"]


def test_a_spacing_test_that_found_nothing_outweighs_the_curve():
    _, v = judge([raw(SPACING, 0.01, 0.5)], DISTANCE, curve=MOVING)
    assert v["found_rule"]["spacing_matters"] is False and v["found_rule"]["gap_window"] is None


def test_required_effects_small_against_the_class_contrast_are_weakly_learned():
    rows = [raw(ablate("M", 1), -0.08, 1e-6), raw(ablate("D"), 0.0, 0.8)]
    annotated = evaluate.annotate(rows, PRESENCE, 0.05)
    v = evaluate.verdict(annotated, PRESENCE, None, 0.05, truth_table=M_TABLE, contrast=0.8)
    assert v["verdict"] == "weakly learned"
    assert v["reason"] == ("every test agrees with the planted rule, but the effects it requires are small against "
                           "the model's own contrast between the classes (+0.800): ablate:M -0.080 (0.10 of it); "
                           "a learned rule moves the output by at least 0.5 of it")
    assert v["effect_shares"] == [{"test": "ablate:M", "motifs": "M", "effect": -0.08, "share": pytest.approx(0.1)}]
    v = evaluate.verdict(annotated, PRESENCE, None, 0.05, truth_table=M_TABLE, contrast=0.15)       # 0.53 of a small contrast
    assert v["verdict"] == "recovered" and v["class_contrast"] == 0.15
    assert evaluate.verdict(annotated, PRESENCE, None, 0.05, truth_table=M_TABLE, contrast=None)["verdict"] == "recovered"
    # both swaps of an order rule count: the weaker one decides
    rows = evaluate.annotate([raw(swap(1), -0.9, 1e-6), raw(swap(0), 0.3, 1e-6)], ORDER, 0.05)
    v = evaluate.verdict(rows, ORDER, None, 0.05, contrast=0.9)
    assert v["verdict"] == "weakly learned" and "swap:negatives +0.300 (0.33 of it)" in v["reason"]
    assert "swap:positives" not in v["reason"]


def test_a_model_that_separates_its_classes_weakly_is_weakly_learned_whatever_its_effect_shares():
    """A kmer model at auROC 0.7 moves little for its motifs and has a small contrast alike: the
    shares look fine (0.8 of a +0.1 contrast), the separation says it barely learned."""
    rows = evaluate.annotate([raw(ablate("M", 1), -0.08, 1e-6), raw(ablate("D"), 0.0, 0.8)], PRESENCE, 0.05)
    v = evaluate.verdict(rows, PRESENCE, None, 0.05, truth_table=M_TABLE, contrast=0.1, separation=0.7)
    assert v["verdict"] == "weakly learned"
    assert v["reason"] == ("every test agrees with the planted rule, but the model separates the classes weakly: "
                           "auROC 0.700 between the test positives and negatives, where a learned rule reaches 0.8")
    assert (v["class_separation"], v["separation_needed"]) == (0.7, 0.8)
    assert evaluate.verdict(rows, PRESENCE, None, 0.05, truth_table=M_TABLE, contrast=0.1, separation=0.95)["verdict"] == "recovered"
    both = evaluate.verdict(rows, PRESENCE, None, 0.05, truth_table=M_TABLE, contrast=0.8, separation=0.7)["reason"]
    assert "ablate:M -0.080 (0.10 of it)" in both and "; and the model separates the classes weakly" in both
    # a disagreeing test still decides: a weak separation does not soften "not recovered"
    bad = evaluate.annotate([raw(ablate("M", 1), 0.0, 0.9)], PRESENCE, 0.05)
    assert evaluate.verdict(bad, PRESENCE, None, 0.05, truth_table=M_TABLE, separation=0.7)["verdict"] == "not recovered"


def test_the_class_separation_is_the_auroc_of_the_output_between_the_classes():
    from utils.perturb import class_separation

    y = np.array([1, 1, 1, 0, 0])
    assert class_separation(np.array([0.9, 0.8, 0.1, 0.2, 0.0]), y) == pytest.approx(5 / 6)
    assert class_separation(np.array([0.5, 0.5, 0.5, 0.5, 0.5]), y) == pytest.approx(0.5)    # ties count half
    assert class_separation(np.array([0.9, 0.7, 0.8]), np.array([1, 1, 1])) is None


def test_the_class_contrast_is_the_mean_output_of_positives_minus_negatives():
    from utils.perturb import class_contrast

    assert class_contrast(np.array([0.9, 0.7, 0.2, 0.0]), np.array([1, 1, 0, 0])) == pytest.approx(0.7)
    assert class_contrast(np.array([0.9, 0.7]), np.array([1, 1])) is None


def test_gaps_few_sequences_could_take_define_no_window():
    from utils.perturb import supported_gaps

    assert supported_gaps(np.array([40, 40, 30, 20, 19, 3])).tolist() == [True, True, True, True, False, False]
    # the bump sits only at the last two gaps, which 3 of 40 sequences could take
    curve = {**band([0.9, 0.9, 0.9, 0.5, 0.9], 0.01), "gaps": GAPS, "window": [0, 20],
             "supported": np.array([True, True, True, False, False])}
    assert not evaluate.curve_moves(curve)
    assert evaluate.curve_moves({**curve, "supported": np.ones(5, dtype=bool), "window": [0, 20]})


def test_a_presence_rule_without_its_truth_table_is_undetermined_and_a_flat_table_is_not_recovered():
    rows = [raw(ablate("M", 1), -0.6, 1e-6), raw(ablate("D"), 0.0, 0.8)]
    annotated = evaluate.annotate(rows, PRESENCE, 0.05)
    v = evaluate.verdict(annotated, PRESENCE, None, 0.05)
    assert v["verdict"] == "undetermined" and v["reason"].startswith("the planted rule needs truth_table")
    flat = {**M_TABLE, "subsets": [{**M_TABLE["subsets"][0], "mean": 0.5}, {**M_TABLE["subsets"][1], "mean": 0.52}]}
    v = evaluate.verdict(annotated, PRESENCE, None, 0.05, truth_table=flat)
    assert v["verdict"] == "not recovered"
    assert v["reason"] == ("the truth table does not follow any: its subsets span only 0.020, between none (0.500) "
                           "and {M} (0.520), less than the 0.05 an effect needs")
    assert evaluate.verdict(annotated, PRESENCE, None, 0.05, truth_table=M_TABLE)["found_rule"]["truth_table"][
        "follows"] is True
