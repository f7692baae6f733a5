"""The verdict on hand-built rows: every branch of evaluate.verdict, and annotate's power rule."""
from __future__ import annotations

import math

import pytest

from utils import evaluate

PRESENCE = {"gen_type": "presence", "pos_motifs": ["M"], "decoy_motifs": ["D"]}
ORDER = {"gen_type": "order", "pos_motifs": ["A", "B"], "decoy_motifs": []}
DISTANCE = {"gen_type": "distance", "pos_motifs": ["A", "B"], "decoy_motifs": [], "min_dist": 10,
            "max_dist": 30}


def raw(test, motifs, delta, p, n=100):
    return {"test": test, "motifs": motifs, "n_seqs": n, "num_perturbs": 5, "mean_delta_prob": delta,
            "mean_delta_loss": 0.0, "effect_size": 1.0, "ci_low": delta, "ci_high": delta,
            "statistic": delta, "p_value": p, "test_used": "sign-flip"}


def judge(rows, meta, alpha=0.05):
    annotated = evaluate.annotate(rows, meta, alpha)
    return annotated, evaluate.verdict(annotated, meta, None, alpha)


def test_a_disagreeing_insertion_is_not_recovered():
    rows, v = judge([raw("ablate:M", "M", -0.6, 1e-6), raw("insert:M", "M", 0.01, 0.9),
                     raw("ablate:D", "D", 0.0, 0.8)], PRESENCE)
    assert [r["agrees"] for r in rows] == [True, False, True]
    assert v["verdict"] == "not recovered" and v["n_disagree"] == 1
    assert v["reason"].startswith("inserting M did not raise the probability")


def test_all_agree_with_required_tests_is_recovered():
    _, v = judge([raw("ablate:M", "M", -0.6, 1e-6), raw("insert:M", "M", 0.5, 1e-6),
                  raw("ablate:D", "D", 0.0, 0.8)], PRESENCE)
    assert v["verdict"] == "recovered" and v["n_agree"] == 3


def test_controls_alone_are_undetermined():
    _, v = judge([raw("control:background_10bp", "M", 0.0, 0.7)], PRESENCE)
    assert v["verdict"] == "undetermined" and "ablate:M" in v["reason"]


def test_a_missing_swap_leaves_order_undetermined():
    _, v = judge([raw("swap:positives", "A,B", -0.8, 1e-6)], ORDER)
    assert v["verdict"] == "undetermined" and "swap:negatives (A,B)" in v["reason"]
    _, v = judge([raw("swap:positives", "A,B", -0.8, 1e-6), raw("swap:negatives", "A,B", 0.8, 1e-6)], ORDER)
    assert v["verdict"] == "recovered"


def test_a_required_test_on_too_few_sequences_is_underpowered():
    # 5 sequences: the smallest attainable p is 2/32 = 0.0625 > alpha, whatever the effect
    rows, v = judge([raw("distance:inside_vs_outside", "A,B", 0.9, 0.0625, n=5)], DISTANCE)
    assert rows[0]["underpowered"] and rows[0]["agrees"] is None
    assert v["verdict"] == "undetermined" and "underpowered" in v["reason"]
    rows, v = judge([raw("distance:inside_vs_outside", "A,B", 0.9, 0.03125, n=6)], DISTANCE)
    assert not rows[0]["underpowered"] and v["verdict"] == "recovered"


def test_a_disagreement_outranks_a_missing_test():
    _, v = judge([raw("swap:positives", "A,B", 0.0, 0.9), raw("ablate:A", "A", -0.5, 1e-6)], ORDER)
    assert v["verdict"] == "not recovered" and v["reason"].startswith("order unused")


@pytest.mark.parametrize("test,motifs,meta,start", [
    ("ablate:D", "D", PRESENCE, "decoy D used"),
    ("control:background_10bp", "M", PRESENCE, "responds to background changes"),
    ("swap:positives", "M,D", PRESENCE, "order used although the rule ignores it"),
])
def test_effects_the_rule_ignores_are_failures(test, motifs, meta, start):
    _, v = judge([raw("ablate:M", "M", -0.6, 1e-6), raw(test, motifs, 0.4, 1e-6)], meta)
    assert v["verdict"] == "not recovered" and v["reason"].startswith(start)


def test_untested_rows_carry_no_verdict_and_unknown_rule_is_undetermined():
    rows, v = judge([raw("ablate:M", "M", math.nan, math.nan, n=0)], PRESENCE)
    assert rows[0]["agrees"] is None and v["verdict"] == "undetermined"
    _, v = judge([raw("ablate:M", "M", -0.6, 1e-6)], {"gen_type": None, "pos_motifs": []})
    assert v["verdict"] is None and v["reason"] == "no planted rule to compare with; the model uses M"
