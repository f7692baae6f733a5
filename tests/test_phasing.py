"""The helical phasing rule (--gen_type phasing): generation, the re-spacing curve's period, the verdict.

Labels follow from motif_sites.bed alone (the gap between the pair); positives' gaps lie within
--phase_tolerance of a multiple of --period, negatives' at least a quarter period from every
multiple. An oracle that computes the rule recovers it with a spacing effect of exactly +1 and
the period found within 0.1 bp; oracles that ignore the period, use one window, or repeat at
another period are caught, each naming what is off.
"""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from oracles import OrientationOracle, PhasingOracle, WindowOracle
from test_interpret import interpret, make_data, row
from utils import planted, simulate
from utils.io import InputError

A, B = "STAT_known2", "CTCF_known1"
IN_PHASE = [10, 11, 20, 21, 22, 31, 32, 41, 42, 43]
OUT_OF_PHASE = [3, 4, 5, 6, 7, 14, 15, 16, 17, 18, 24, 25, 26, 27, 28, 35, 36, 37, 38, 39, 45, 46, 47, 48, 49]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("phasing") / "d", "phasing", n=600, seed=4,
                     extra=["--motif_sampling", "consensus"])


def gaps_of(data) -> dict:
    out = {}
    for i in data.ids:
        s = sorted((x for x in data.sites.get(i, []) if x.motif in (A, B)), key=lambda x: x.start)
        assert sorted(x.motif for x in s) == sorted([A, B]), (i, s)
        out[i] = s[1].start - s[0].end
    return out


def test_labels_follow_from_the_gaps_in_motif_sites(data):
    gaps = gaps_of(data)
    by_class = {1: Counter(), 0: Counter()}
    for i, y in zip(data.ids, data.labels):
        by_class[int(y)][gaps[i]] += 1
    assert sorted(by_class[1]) == IN_PHASE           # every in-phase gap of [0, 50] is drawn, nothing else
    assert sorted(by_class[0]) == OUT_OF_PHASE
    meta = data.metadata
    assert (meta["period"], meta["phase_tolerance"], meta["min_dist"], meta["max_dist"]) == (10.5, 1.0, 0, 50)
    assert meta["in_phase_gaps"] == IN_PHASE and meta["out_of_phase_gaps"] == OUT_OF_PHASE
    rule = planted.from_json(meta)
    assert isinstance(rule, planted.Phasing) and rule.multiples == [10.5, 21.0, 31.5, 42.0]


def test_same_seed_same_bytes_and_other_period(tmp_path):
    a = make_data(tmp_path / "a", "phasing", n=200, seed=9, extra=["--period", "8", "--phase_tolerance", "0.5"])
    b = make_data(tmp_path / "b", "phasing", n=200, seed=9, extra=["--period", "8", "--phase_tolerance", "0.5"])
    for name in ("sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    gaps = gaps_of(a)
    pos = {gaps[i] for i, y in zip(a.ids, a.labels) if y == 1}
    assert pos <= {8, 16, 24, 32, 40, 48} and {g % 8 for i, g in gaps.items() if i not in
                                               {j for j, y in zip(a.ids, a.labels) if y == 1}} <= {2, 3, 4, 5, 6}


def test_phasing_oracle_recovers_with_the_period(data):
    rows, summary, battery = interpret(PhasingOracle(data.metadata, A, B), data)
    assert summary["verdict"] == "recovered", summary["reason"]
    assert row(rows, "distance:inside_vs_outside")["mean_delta_output"] == 1.0
    found = summary["found_rule"]
    assert found["period"] == pytest.approx(10.5, abs=1e-9) and found["phase"] == pytest.approx(0.0, abs=1e-9)
    assert found["period_sinusoid"] == pytest.approx(10.55)       # the square wave blurs the sinusoid's period
    assert [t["multiple"] for t in found["turns"]] == [10.5, 21.0, 31.5, 42.0]
    assert all(t["responds"] for t in found["turns"]) and [t["response"] for t in found["turns"]] == [1.0] * 4
    assert found["gap_window"] is None and "repeats every 10.50 bp" in found["description"]
    assert summary["planted_rule"]["period"] == 10.5


def test_one_window_is_not_phasing(data):
    # the first two turns only: in-phase gaps near 31.5 and 42 stay silent
    rows, summary, _ = interpret(WindowOracle(data.metadata, A, B, 9, 23), data)
    assert row(rows, "distance:inside_vs_outside")["agrees"] is True
    assert summary["verdict"] == "not recovered"
    assert summary["reason"].startswith("helical phasing "), summary["reason"]
    assert "near 31.5, 42 bp do not respond" in summary["reason"]


def test_presence_of_both_is_phasing_unused(data):
    rows, summary, _ = interpret(OrientationOracle(data.metadata, A, B), data)    # both present -> 1
    assert summary["verdict"] == "not recovered"
    assert row(rows, "distance:inside_vs_outside")["mean_delta_output"] == 0.0
    assert summary["reason"].startswith("helical phasing unused (in-phase gaps raised the probability by +0.000")
    assert summary["found_rule"]["period"] is None and summary["found_rule"]["turns"] == []    # nothing claimed


def test_another_period_is_named(data):
    rows, summary, _ = interpret(PhasingOracle(data.metadata, A, B, period=10.0, tolerance=1.5), data)
    assert row(rows, "distance:inside_vs_outside")["agrees"] is True
    assert summary["verdict"] == "not recovered"
    assert abs(summary["found_rule"]["period"] - 10.0) <= 0.5       # read at the planted gaps only
    assert summary["reason"].startswith("helical phasing off: period found 9.65 bp, planted 10.5 bp"), summary["reason"]


@pytest.mark.parametrize("flags, needle", [
    (dict(period=1.5), "--period 1.5 is below 2 bp"),
    (dict(phase_tolerance=3.0), "below a quarter of --period"),
    (dict(min_dist=12, max_dist=18), "no positive can be made"),
    (dict(gen_type="distance", period=10.0), "--period applies to --gen_type phasing only"),
    (dict(target="activity"), "not supported with --gen_type phasing"),
])
def test_refusals(flags, needle):
    cfg = dict(gen_type="phasing", num_seqs=10)
    cfg.update(flags)
    with pytest.raises(InputError, match=needle.replace("(", r"\(")):
        simulate.resolve_rule(simulate.SimulationConfig(**cfg))


def test_interaction_is_measured_at_in_phase_and_out_of_phase_gaps(data):
    from utils import gia, motifs as motiflib

    meta = data.metadata
    rule = planted.from_json(meta)
    motifs = [motiflib.Motif(m, np.array(p)) for m, p in meta["pwms"].items()]
    oracle = PhasingOracle(meta, A, B)
    out = gia.measure(oracle, motifs, rule, gia.pair_of(rule, None), np.array(meta["background_dist"]), meta["seq_length"], n=60,
                      seed=0, sampling="consensus")
    inter = out["interaction"]
    assert "in-phase gaps" in inter["arrangement"] and "out-of-phase" in inter["outside_arrangement"]
    # the oracle answers 1 (logit +l, l = logit(1 - 1e-7) after clipping) only for the pair in phase and -l for
    # A alone, B alone and neither, so the interaction f(AB) - f(A) - f(B) + f(none) is 2 l inside and 0 outside
    logit_one = float(np.log(1 - 1e-7) - np.log(1e-7))
    assert inter["inside"]["estimate"] == pytest.approx(2 * logit_one, rel=1e-9)
    assert inter["outside"]["estimate"] == pytest.approx(0.0, abs=1e-9)
