"""The orientation rule (--gen_type orientation): generation, the flip experiment, the verdict.

Labels follow from motif_sites.bed alone (strands and which site is upstream); the strand mix
gives each motif the same strand frequencies in both classes (exact counts: each class's cells
are equally common); an oracle that reads both strands recovers the rule with flip effects of
exactly -1 / +1, and one that ignores strands is caught ("orientation unused").
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from oracles import OrientationOracle
from test_interpret import interpret, make_data, row
from utils import leaderboard, motifs as motiflib, perturb, planted, simulate
from utils.encoding import one_hot, onehot_to_seqs
from utils.io import InputError
from utils.rules import orientation_cells
from utils.seqfiles import Site

A, B = "STAT_known2", "CTCF_known1"


def pairs_of(data):
    """id -> (upstream site, downstream site) of the pair, from motif_sites.bed."""
    out = {}
    for i in data.ids:
        sites = sorted((s for s in data.sites.get(i, []) if s.motif in (A, B)), key=lambda s: s.start)
        assert [s.motif for s in sites] in ([A, B], [B, A]), (i, sites)
        out[i] = tuple(sites)
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("orient")
    return {o: make_data(root / o, "orientation", n=400, seed=3, extra=["--orientation", o])
            for o in planted.ORIENTATIONS}


@pytest.mark.parametrize("orientation", planted.ORIENTATIONS)
def test_every_label_follows_from_the_bed_strands_and_order(generated, orientation):
    data = generated[orientation]
    pairs = pairs_of(data)
    for i, label in zip(data.ids, data.labels):
        up, down = pairs[i]
        assert label == int(planted.orientation_of(up.strand, down.strand) == orientation), i
    meta = data.metadata
    assert meta["orientation"] == orientation and meta["strand"] == "both"
    assert meta["orientation_definition"] == planted.ORIENTATION_DEFINITION
    assert meta["parameters"]["orientation"] == orientation
    assert planted.from_json(meta) == planted.Orientation(
        motifs=(A, B), pos_motifs=(A, B), min_dist=10, max_dist=30, gap_limit=meta["gap_limit"],
        orientation=orientation)
    gaps = [down.start - up.end for up, down in pairs.values()]
    assert min(gaps) >= 10 and max(gaps) <= 30


@pytest.mark.parametrize("orientation", planted.ORIENTATIONS)
def test_strand_mix_is_exact_and_balances_each_motifs_strand(generated, orientation):
    data = generated[orientation]
    pairs = pairs_of(data)
    for label in (1, 0):
        ids = [i for i, y in zip(data.ids, data.labels) if y == label]
        want = Counter(orientation_cells(orientation, label == 1))
        got = Counter((pairs[i][0].strand, pairs[i][1].strand, pairs[i][0].motif == A) for i in ids)
        # 200 sequences per class: every cell holds exactly its share
        assert got == Counter({c: len(ids) // sum(want.values()) * k for c, k in want.items()}), (label, got)
        for m in (A, B):
            on_plus = sum(next(s for s in pairs[i] if s.motif == m).strand == "+" for i in ids)
            assert on_plus == len(ids) // 2, (label, m, on_plus)


def test_planted_instances_read_on_their_own_strand(generated):
    data = generated["convergent"]
    meta = data.metadata
    bg = np.array(meta["background_dist"])
    seq_of = dict(zip(data.ids, data.seqs))
    for m in (A, B):
        lo = motiflib.log_odds(motiflib.Motif(m, np.array(meta["pwms"][m])), bg)
        inst = []
        for i, sites in data.sites.items():
            for s in sites:
                if s.motif == m:
                    codes = np.array(["ACGT".index(c) for c in seq_of[i][s.start:s.end]], dtype=np.uint8)
                    inst.append(motiflib.reverse_complement(codes) if s.strand == "-" else codes)
        assert motiflib.strand_readable(np.array(inst), lo).all()


def test_simdna_engine_follows_the_same_design(tmp_path):
    data = make_data(tmp_path / "s", "orientation", n=80, seed=1, extra=["--engine", "simdna"])
    pairs = pairs_of(data)
    assert [int(planted.orientation_of(*(s.strand for s in pairs[i])) == "convergent") for i in data.ids] \
        == list(data.labels)
    neg = Counter((pairs[i][0].strand, pairs[i][1].strand, pairs[i][0].motif == A)
                  for i, y in zip(data.ids, data.labels) if y == 0)
    assert neg == Counter({c: 5 * k for c, k in Counter(orientation_cells("convergent", False)).items()})


def test_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        make_data(tmp_path / name, "orientation", n=120, seed=5)
    for f in ("sequences.fa", "labels.tsv", "motif_sites.bed", "metadata.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


@pytest.mark.parametrize("flags,needle", [
    (dict(orientation="tandem"), "--orientation applies to --gen_type orientation only"),
    (dict(gen_type="orientation", strand="plus"), "--strand plus cannot plant an orientation rule"),
    (dict(gen_type="orientation", target="activity"), "--target activity is not supported"),
    (dict(gen_type="orientation", motifs=("STAT_known2",)), "needs exactly two --pos_motifs"),
    (dict(gen_type="orientation", motifs=(A, B, "GATA_known6"), pos_motifs=(A, B, "GATA_known6")),
     "needs exactly two --pos_motifs"),
])
def test_bad_orientation_flags_are_refused(flags, needle):
    with pytest.raises(InputError, match=needle.replace("+", r"\+")):
        simulate.resolve_rule(simulate.SimulationConfig(**flags))


def test_a_palindromic_motif_is_refused(tmp_path):
    from test_bad_input import PALINDROME_MEME
    meme = tmp_path / "pal.meme"
    meme.write_text(PALINDROME_MEME)
    with pytest.raises(InputError, match="its own reverse complement"):
        simulate.resolve_rule(simulate.SimulationConfig(gen_type="orientation", motif_db=str(meme),
                                                        motifs=("PAL", "ASYM")))


# ----------------------------------------------------------------------------- the flip experiment
def test_flip_in_place_reverse_complements_the_site_only():
    x = one_hot(["CCAAAGGGTTTTCC"])[0]
    flipped = perturb.flip_in_place(x, Site("s", 2, 7, "A", "+"))
    assert onehot_to_seqs(flipped[None])[0] == "CCCCTTTGTTTTCC"


def test_flip_becomes_follows_the_orientation():
    up, down = Site("s", 0, 5, A, "-"), Site("s", 20, 25, B, "-")
    # convergent: flipping the upstream site of a (-,-) pair makes (+,-); the downstream one (-,+)
    assert perturb.flip_becomes((up, down), "upstream", "convergent") == 1
    assert perturb.flip_becomes((up, down), "downstream", "convergent") == 0


@pytest.fixture(scope="module")
def consensus(tmp_path_factory):
    root = tmp_path_factory.mktemp("orient_consensus")
    return {o: make_data(root / o, "orientation", n=400, seed=2,
                         extra=["--orientation", o, "--motif_sampling", "consensus"])
            for o in ("convergent", "tandem")}


@pytest.mark.parametrize("orientation", ["convergent", "tandem"])
def test_orientation_oracle_recovers_the_rule_with_exact_flips(consensus, orientation):
    data = consensus[orientation]
    rows, summary, battery = interpret(OrientationOracle(data.metadata, A, B, orientation), data)
    assert summary["verdict"] == "recovered", summary["reason"]
    for site in ("upstream", "downstream"):
        assert row(rows, f"flip:{site}:positives")["mean_delta_output"] == -1.0
        assert row(rows, f"flip:{site}:positives")["expected"] == "decrease"
        assert row(rows, f"flip:{site}:negatives_made_positive")["mean_delta_output"] == 1.0
        assert row(rows, f"flip:{site}:negatives_made_positive")["expected"] == "increase"
        if orientation == "convergent":        # (-,+) and one tandem pattern stay negative
            assert row(rows, f"flip:{site}:negatives_kept_negative")["mean_delta_output"] == 0.0
            assert row(rows, f"flip:{site}:negatives_kept_negative")["agrees"] is True
    if orientation == "tandem":                # every flip of a non-tandem pair makes it tandem
        assert {t["test"] for t in battery.not_run} >= {"flip:upstream:negatives_kept_negative",
                                                        "flip:downstream:negatives_kept_negative"}
    # the swap moves each motif with its strand: convergent <-> divergent; reported, not judged
    assert row(rows, "swap:positives")["expected"] is None
    found = summary["found_rule"]
    assert found["orientation_matters"] is True and "orientation matters" in found["description"]
    assert summary["planted_rule"]["orientation"] == orientation
    assert summary["required_tests"] == ["flip:upstream:positives", "flip:upstream:negatives_made_positive",
                                         "flip:downstream:positives", "flip:downstream:negatives_made_positive"]


def test_an_oracle_blind_to_orientation_is_orientation_unused(consensus):
    data = consensus["convergent"]
    rows, summary, _ = interpret(OrientationOracle(data.metadata, A, B, None), data)
    assert summary["verdict"] == "not recovered"
    assert summary["reason"] == (
        f"orientation unused (flipping one site of {A} and {B} changed the probability by: upstream in "
        f"positives +0.000, upstream in negatives made positive +0.000, downstream in positives +0.000, "
        f"downstream in negatives made positive +0.000; the rule needs a decrease in positives and an "
        f"increase in the negatives one flip makes positive)"), summary["reason"]
    assert row(rows, f"ablate:{A}")["agrees"] is True
    assert summary["found_rule"]["orientation_matters"] is False


def test_flips_run_only_for_orientation_rules_and_rule_less_pairs():
    motifs = [motiflib.Motif(A, np.full((21, 4), 0.25)), motiflib.Motif(B, np.full((19, 4), 0.25))]
    order = planted.Order(motifs=(A, B), pos_motifs=(A, B), min_dist=10, max_dist=30)
    assert not any(h.kind == "flip" for h in perturb.plan_experiments(order, motifs).hypotheses)
    names = [h.name for h in perturb.plan_experiments(None, motifs, (A, B)).hypotheses if h.kind == "flip"]
    assert names == ["flip:upstream:positives", "flip:upstream:negatives", "flip:downstream:positives",
                     "flip:downstream:negatives"]


def test_capability_kmer_counts_cannot_see_orientation():
    assert leaderboard.expected_verdict("kmer_logistic", "orientation", False) == "not recovered"
    assert leaderboard.expected_verdict("kmer_gbt", "orientation", False) == "not recovered"
    assert leaderboard.expected_verdict("cnn", "orientation", False) == "recovered"
