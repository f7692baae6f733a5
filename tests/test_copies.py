"""The copy-number rule (--gen_type copies): generation, the copies experiment, the verdict.

Labels follow from motif_sites.bed alone (the number of lines of A); every sequence carries
max_copies A-like sites (A or its look-alike), so both classes hold the same total of them and
the copy numbers of each class are exactly balanced; an oracle that counts A's matches with the
planted threshold recovers the rule with remove-one / add-one effects of exactly -1 / +1 and the
threshold K found on the dose-response curve; one that asks presence only is caught ("copy number
unused"), and one with the threshold K + 1 is caught naming the threshold.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from oracles import CopiesOracle
from test_interpret import interpret, make_data, row
from utils import evaluate, models, motifs as motiflib, perturb, planted, simulate, training
from utils.encoding import one_hot
from utils.folders import Dataset
from utils.io import InputError

A, FILL = "STAT_known2", "STAT_known2_shuffled"


def copies_of(data, motif=A) -> dict[str, int]:
    """id -> the number of motif_sites.bed lines of ``motif``."""
    return {i: sum(s.motif == motif for s in data.sites.get(i, [])) for i in data.ids}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("copies")
    return {k: make_data(root / f"k{k}", "copies", n=400, seed=4, extra=["--min_copies", str(k)]) for k in (2, 3)}


@pytest.mark.parametrize("k", [2, 3])
def test_every_label_follows_from_the_count_of_A_in_the_bed(generated, k):
    data = generated[k]
    real = copies_of(data)
    assert [int(real[i] >= k) for i in data.ids] == list(data.labels)
    top = 2 * k - 1
    meta = data.metadata
    assert (meta["min_copies"], meta["max_copies"]) == (k, top)
    assert meta["copy_counts"] == {"positives": list(range(k, top + 1)), "negatives": list(range(1, k))}
    assert meta["copies_design"] == planted.COPIES_DESIGN_DEFINITION
    assert meta["parameters"]["min_copies"] == k and meta["parameters"]["max_copies"] == top
    assert planted.from_json(meta) == planted.Copies(
        motifs=(A, "CTCF_known1", FILL), pos_motifs=(A,), decoy_motifs=("CTCF_known1",),
        lookalikes=((FILL, A),), min_copies=k, max_copies=top)


@pytest.mark.parametrize("k", [2, 3])
def test_both_classes_carry_equally_many_A_like_sites_and_balanced_counts(generated, k):
    data = generated[k]
    real, fake = copies_of(data), copies_of(data, FILL)
    top = 2 * k - 1
    assert all(real[i] + fake[i] == top for i in data.ids)      # every sequence: max_copies A-like sites
    by_class = {y: Counter(real[i] for i, lab in zip(data.ids, data.labels) if lab == y) for y in (0, 1)}
    # 200 sequences per class (one chunk): each count of the class its share, counts differing by at most one
    shares = {2: ([2, 3], [100, 100], [1], [200]), 3: ([3, 4, 5], [66, 67, 67], [1, 2], [100, 100])}[k]
    assert sorted(by_class[1]) == shares[0] and sorted(by_class[1].values()) == shares[1]
    assert sorted(by_class[0]) == shares[2] and sorted(by_class[0].values()) == shares[3]
    record = data.metadata["copy_number_counts"]
    assert record["positives"] == {str(c): n for c, n in sorted(by_class[1].items())}
    assert record["negatives"] == {str(c): n for c, n in sorted(by_class[0].items())}
    assert record["a_like_sites"] == {"positives": 200 * top, "negatives": 200 * top}


def test_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        make_data(tmp_path / name, "copies", n=150, seed=6)
    for f in ("sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


@pytest.mark.parametrize("flags,needle", [
    (dict(gen_type="copies", motifs=(A, "CTCF_known1"), pos_motifs=(A, "CTCF_known1")),
     "needs exactly one --pos_motifs"),
    (dict(gen_type="copies", min_copies=1), "--min_copies 1 is below 2"),
    (dict(gen_type="copies", min_copies=5), "--min_copies 5 cannot fit"),            # 9 x 21 + 19 bp > 200
    (dict(gen_type="copies", min_copies=3, max_copies=2), "--max_copies 2 is below --min_copies 3"),
    (dict(min_copies=2), "--min_copies applies to --gen_type copies and code only"),
    (dict(gen_type="copies", target="activity"), "--target activity is not supported with --gen_type copies"),
])
def test_bad_copies_flags_are_refused(flags, needle):
    with pytest.raises(InputError, match=needle.replace("+", r"\+")):
        simulate.resolve_rule(simulate.SimulationConfig(**flags))


def test_the_largest_copy_number_that_fits_is_planted(tmp_path):
    # 7 x 21 bp + CTCF's 19 bp = 166 of 200 bp: placement still finds room for every site
    data = make_data(tmp_path / "tight", "copies", n=60, seed=1, extra=["--min_copies", "4"])
    assert [int(c >= 4) for c in copies_of(data).values()] == list(data.labels)


def test_the_cnn_pools_max_and_mean_for_a_copies_rule():
    rule = planted.Copies(motifs=(A,), pos_motifs=(A,), min_copies=2, max_copies=3)
    library = {A: motiflib.Motif(A, np.full((21, 4), 0.25))}
    data = Dataset(Path("."), ["s"], ["A" * 200], np.array([1]), rule=rule, library=library)
    arch, need, how = training.resolve_architecture(models.CNNConfig(), data)
    assert arch.final_pool == "maxavg" and need == 40 and how.startswith("copies: one instance")


# ----------------------------------------------------------------------------- the copies experiment
@pytest.fixture(scope="module")
def consensus(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("copies_consensus") / "d", "copies", n=400, seed=3,
                     extra=["--motif_sampling", "consensus"])


class CountOracle(CopiesOracle):
    """Outputs the number of A's matches itself (for the dose curve's exact steps)."""

    def predict(self, onehot):
        return self.count(onehot).astype(np.float64)


def test_dose_response_sets_every_count_exactly(consensus):
    data = consensus
    motif = motiflib.Motif(A, np.array(data.metadata["pwms"][A]))
    counts, idx, curve = perturb.dose_response(CountOracle(data.metadata, A, 0), one_hot(data.seqs),
                                               [data.sites.get(i, []) for i in data.ids], motif, FILL, 3, 2,
                                               np.random.default_rng(0), max_seqs=50, sampling="consensus")
    assert counts.tolist() == [0, 1, 2, 3] and len(idx) == 50
    assert np.array_equal(curve, np.tile([0.0, 1.0, 2.0, 3.0], (50, 1)))
    assert perturb.copy_threshold(counts, [0.0, 0.1, 0.9, 1.0]) == 2


def test_counting_oracle_recovers_the_rule_with_exact_effects_and_threshold(consensus):
    rows, summary, battery = interpret(CopiesOracle(consensus.metadata, A, 2), consensus)
    assert summary["verdict"] == "recovered", summary["reason"]
    remove, add = row(rows, "copies:remove_one:positives_at_threshold"), row(rows, "copies:add_one:negatives_below_threshold")
    assert (remove["mean_delta_output"], remove["expected"], remove["agrees"]) == (-1.0, "decrease", True)
    assert (add["mean_delta_output"], add["expected"], add["agrees"]) == (1.0, "increase", True)
    found = summary["found_rule"]
    assert found["copy_threshold"] == 2 and found["copy_number_used"] is True
    assert found["dose_curve"]["mean"] == [0.0, 0.0, 1.0, 1.0] and found["dose_curve"]["counts"] == [0, 1, 2, 3]
    assert "threshold 2 copies" in found["description"]
    assert summary["required_tests"] == ["copies:remove_one:positives_at_threshold",
                                         "copies:add_one:negatives_below_threshold"]
    assert summary["planted_rule"]["min_copies"] == 2 and battery.dose["planted_threshold"] == 2


def test_a_presence_oracle_is_copy_number_unused(consensus):
    rows, summary, _ = interpret(CopiesOracle(consensus.metadata, A, 1), consensus)
    assert summary["verdict"] == "not recovered"
    assert summary["reason"] == (
        "copy number unused (the model answers alike at every count of STAT_known2 from 1 to 3: mean output by "
        "count 0: 0.000, 1: 1.000, 2: 1.000, 3: 1.000; copies:remove_one:positives_at_threshold +0.000 "
        "(decrease expected); copies:add_one:negatives_below_threshold +0.000 (increase expected))")
    assert row(rows, f"ablate:{A}")["mean_delta_output"] == -1.0 and row(rows, f"ablate:{A}")["agrees"] is True
    assert summary["found_rule"]["copy_number_used"] is False


def test_an_oracle_with_the_wrong_threshold_is_named(consensus):
    _, summary, _ = interpret(CopiesOracle(consensus.metadata, A, 3), consensus)
    assert summary["verdict"] == "not recovered"
    assert summary["reason"].startswith("copy threshold at 3, planted 2 (mean output by count of STAT_known2: "
                                        "0: 0.000, 1: 0.000, 2: 0.000, 3: 1.000; mid-level 0.500;"), summary["reason"]
    assert summary["found_rule"]["copy_threshold"] == 3


def test_without_the_dose_curve_a_copies_rule_is_undetermined(consensus):
    rows, _, battery = interpret(CopiesOracle(consensus.metadata, A, 2), consensus)
    out = evaluate.verdict(rows, planted.from_json(consensus.metadata), None, 0.05, contrast=battery.contrast)
    assert out["verdict"] == "undetermined" and "copies:dose_response" in out["reason"]


def test_copies_tests_run_only_for_copies_rules():
    motifs = [motiflib.Motif(A, np.full((21, 4), 0.25))]
    presence = planted.Presence(motifs=(A,), pos_motifs=(A,))
    plan = perturb.plan_experiments(presence, motifs)
    assert plan.copies is None and not any(h.kind == "copies" for h in plan.hypotheses)
    rule = planted.Copies(motifs=(A, FILL), pos_motifs=(A,), lookalikes=((FILL, A),), min_copies=2, max_copies=3)
    plan = perturb.plan_experiments(rule, motifs)
    assert plan.copies == (A, FILL, 2, 3)
    assert perturb.plan_experiments(rule, motifs, tests=["ablation"]).copies is None


def test_simdna_engine_follows_the_same_design(tmp_path):
    data = make_data(tmp_path / "s", "copies", n=80, seed=1, extra=["--engine", "simdna"])
    real, fake = copies_of(data), copies_of(data, FILL)
    assert [int(real[i] >= 2) for i in data.ids] == list(data.labels)
    assert all(real[i] + fake[i] == 3 for i in data.ids)
    assert Counter(real[i] for i, y in zip(data.ids, data.labels) if y == 1) == Counter({2: 20, 3: 20})


def test_interpret_models_writes_the_dose_curve_end_to_end(tmp_path):
    import csv
    import json

    import Interpret_models
    import Train_models

    make_data(tmp_path / "d", "copies", n=600, seed=2)
    assert Train_models.main(["--data_file", str(tmp_path / "d"), "--model_type", "kmer_logistic", "--out_dir",
                              str(tmp_path / "m"), "--model_name", "k", "--quiet"]) == 0
    assert Interpret_models.main(["--model", str(tmp_path / "m" / "k"), "--out_dir", str(tmp_path / "r"),
                                  "--methods", "none", "--tests", "ablation", "copies", "--quiet"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    with open(tmp_path / "r" / "dose_curve.csv") as fh:
        curve = list(csv.DictReader(fh))
    assert [r["copies"] for r in curve] == ["0", "1", "2", "3"]
    assert [float(r["mean_output"]) for r in curve] == pytest.approx(summary["found_rule"]["dose_curve"]["mean"])
    assert summary["planted_rule"]["min_copies"] == 2
    assert "## Dose response (copies)" in (tmp_path / "r" / "report.md").read_text()
    assert (tmp_path / "r" / "dose_curve.png").stat().st_size > 0
