"""Site calling that agrees with generation: a generated data folder read back as a FASTA (its
sequences.fa and labels.tsv, no metadata, no BED) with the default ``--site_pvalue auto`` and the
data's background_dist gives back motif_sites.bed for the real motifs (not the ``_shuffled``
look-alikes): every planted instance at its coordinates, on its strand unless the motif reads as
well reverse-complemented, and nothing else.

A window overlapping a planted instance of the same motif and scoring higher than it would be
called in its place (the scan keeps the best of overlapping windows): the generator cleans such
windows away like any other chance match (utils.chance_matches), so none is left.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import Generate_sequences
from utils import interpretation, motifs as motiflib
from utils.encoding import seqs_to_codes
from utils.seqfiles import read_bed

DATA = {   # name: generation flags (600 sequences of 200 bp each)
    "short_long": ["--motifs", "SIX5_disc1", "RAD21_disc1"],                        # 10 bp and 20 bp
    "both_strands": ["--motifs", "SIX5_disc1", "RAD21_disc1", "--strand", "both"],
    "palindrome": ["--motifs", "MYC_disc1", "CTCF_known1", "--strand", "both"],     # GTCACGTGAC is its own RC
    "weak": ["--motifs", "GATA_known1", "CEBPB_known4"],                            # 30% and 49% of draws kept
    "at_gc": ["--motifs", "SIX5_disc1", "RAD21_disc1", "--background_dist", "0.3", "0.2", "0.2", "0.3"],
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("sites")
    out = {}
    for name, flags in DATA.items():
        folder = root / name
        assert Generate_sequences.main(["--num_seqs", "600", "--seq_length", "200", "--seed", "5", *flags,
                                        "--out_dir", str(folder), "--quiet"]) == 0
        mine = root / f"{name}_fasta"                 # as a user holds them: a FASTA and its labels
        mine.mkdir()
        shutil.copy(folder / "sequences.fa", mine / "mine.fa")
        shutil.copy(folder / "labels.tsv", mine / "mine_labels.tsv")
        out[name] = (folder, mine)
    return out


def motifs_of(flags):
    return flags[flags.index("--motifs") + 1:flags.index("--strand") if "--strand" in flags else
                 flags.index("--background_dist") if "--background_dist" in flags else len(flags)]


def call(mine, names, background, pvalue="auto"):
    seqs = interpretation.load_sequences(str(mine / "mine.fa"), str(mine / "mine_labels.tsv"))
    assert seqs.rule is None and seqs.sites == {}              # nothing read but the FASTA and labels
    called = interpretation.call_sites(seqs, names, np.asarray(background, dtype=np.float64),
                                       interpretation.SiteOptions(site_pvalue=pvalue))
    return seqs, called


def compare(seqs, called, planted, background):
    """Strand differences by motif; asserts every planted instance is called at its coordinates
    and nothing else is."""
    lib = {m.name: m for m in called.motifs}
    index = {sid: k for k, sid in enumerate(seqs.ids)}
    want = {(s.seq_id, s.start, s.end, s.motif): s.strand for s in planted}
    got = {(s.seq_id, s.start, s.end, s.motif): s.strand for v in called.sites.values() for s in v}
    assert not set(want) - set(got), sorted(set(want) - set(got))[:5]      # no planted instance missed
    assert not set(got) - set(want), sorted(set(got) - set(want))[:5]      # nothing else is called

    def score(key, strand):
        lo = motiflib.log_odds(lib[key[3]], background)
        win = seqs_to_codes([seqs.seqs[index[key[0]]][key[1]:key[2]]])
        return motiflib.window_scores(win if strand == "+" else motiflib.reverse_complement(win), lo)[0]

    flips = {}
    for key in want:
        if want[key] != got[key]:                              # only where the other strand scores higher
            assert score(key, got[key]) >= score(key, want[key]), key     # equal: a palindromic window
            flips[key[3]] = flips.get(key[3], 0) + 1
    return flips


def reverse_share(motif, background, n=4000):
    """Share of a motif's planted instances (draws reaching its threshold) that score higher
    reverse-complemented: 0 for a motif that is far from its own reverse complement."""
    lo = motiflib.log_odds(motif, background)
    t = motiflib.match_threshold(motif, background)
    rng = np.random.default_rng(0)
    inst = motiflib.draw_kept(lambda k: motiflib.sample_instances(motif, k, rng), n, lo, t.score, t.kept_share)
    return float((~motiflib.strand_readable(inst, lo)).mean())


# name: (planted sites of the real motifs, strand differences)
EXPECTED = {"short_long": (598, {}), "both_strands": (598, {}), "palindrome": (598, {"MYC_disc1": 160}),
            "weak": (598, {"CEBPB_known4": 10}), "at_gc": (598, {})}


@pytest.mark.parametrize("name", sorted(DATA))
def test_auto_threshold_on_the_fasta_gives_back_the_planted_sites(generated, name):
    folder, mine = generated[name]
    names = motifs_of(DATA[name])
    flags = DATA[name]
    background = ([float(v) for v in flags[flags.index("--background_dist") + 1:][:4]]
                  if "--background_dist" in flags else [0.25] * 4)     # the data's background_dist
    seqs, called = call(mine, names, background)
    planted = [s for s in read_bed(folder / "motif_sites.bed") if s.motif in names]
    assert all(s.motif in names or s.motif.endswith("_shuffled") for s in read_bed(folder / "motif_sites.bed"))
    flips = compare(seqs, called, planted, np.asarray(background))
    assert (len(planted), flips) == EXPECTED[name], (len(planted), flips)
    for m in called.motifs:                  # strands differ only for a motif close to its own reverse complement
        if reverse_share(m, np.asarray(background)) == 0:
            assert m.name not in flips
    # the record holds each motif's threshold: the generator's own (metadata.json's chance_matches)
    import json

    meta = json.loads((folder / "metadata.json").read_text())["chance_matches"]["motifs"]
    for m in names:
        t = called.record["thresholds"][m]
        assert t["score"] == pytest.approx(meta[m]["threshold_score"], abs=1e-6)
        assert t["pvalue"] == pytest.approx(meta[m]["threshold_pvalue"], rel=1e-3)
    assert called.record["threshold"] == "auto" and called.record["sites_per_motif"] == \
        {m: len([s for s in called.sites.values() for x in s if x.motif == m]) for m in names}


def test_the_threshold_needs_the_generators_background_not_the_fastas_composition(generated):
    """The at_gc data (background_dist 0.3 0.2 0.2 0.3) read with the FASTA's own base composition
    (planted motifs and cleaning move it off background_dist) or with the uniform default: other
    thresholds (lower here), so windows the generator never counted as matches are called."""
    folder, mine = generated["at_gc"]
    names = ["SIX5_disc1", "RAD21_disc1"]
    seqs = interpretation.load_sequences(str(mine / "mine.fa"))
    codes = seqs_to_codes(list(seqs.seqs))
    composition = np.bincount(codes.ravel(), minlength=4)[:4] / codes.size
    planted = {(s.seq_id, s.start, s.motif) for s in read_bed(folder / "motif_sites.bed") if s.motif in names}
    found = {}
    for label, bg in (("data", [0.3, 0.2, 0.2, 0.3]), ("composition", composition), ("uniform", [0.25] * 4)):
        _, called = call(mine, names, bg)
        got = {(s.seq_id, s.start, s.motif) for v in called.sites.values() for s in v}
        found[label] = (len(planted - got), len(got - planted),
                        {m: t["score"] for m, t in called.record["thresholds"].items()})
    assert found["data"][:2] == (0, 0)                      # the test above: exactly the planted sites
    assert found["data"][2] == {"SIX5_disc1": 3.354, "RAD21_disc1": 3.902}
    assert found["composition"][:2] == (0, 3)
    assert found["uniform"][:2] == (0, 20)
    assert found["composition"][2]["RAD21_disc1"] < found["data"][2]["RAD21_disc1"]


def test_weak_motifs_at_auto_and_at_fimos_default(generated):
    """GATA_known1 and CEBPB_known4 are weak: their thresholds are the background p 1e-3 score
    (only 30% / 49% of their PWM draws reach it, and the generator planted only those). auto
    finds their planted sites; FIMO's p 1e-4 misses most of them."""
    folder, mine = generated["weak"]
    names = ["GATA_known1", "CEBPB_known4"]
    planted = [s for s in read_bed(folder / "motif_sites.bed") if s.motif in names]
    per = {m: sum(1 for s in planted if s.motif == m) for m in names}
    _, auto = call(mine, names, [0.25] * 4)
    _, fimo = call(mine, names, [0.25] * 4, 1e-4)
    got = {(s.seq_id, s.start, s.motif) for v in fimo.sites.values() for s in v}
    hit = {m: sum(1 for s in planted if s.motif == m and (s.seq_id, s.start, m) in got) for m in names}
    assert per == {"GATA_known1": 300, "CEBPB_known4": 298}
    assert auto.record["sites_per_motif"] == per                # exactly the planted sites (first test)
    assert {m: (t["score"], t["pvalue"], t["share_of_pwm_draws_reaching"])
            for m, t in auto.record["thresholds"].items()} == {"GATA_known1": (5.206, 0.0009956, 0.300717),
                                                                "CEBPB_known4": (5.15, 0.0009996, 0.485681)}
    # FIMO's default finds 17% of GATA_known1's planted sites and 33% of CEBPB_known4's
    assert fimo.record["sites_per_motif"] == {"GATA_known1": 51, "CEBPB_known4": 98}
    assert hit == {"GATA_known1": 51, "CEBPB_known4": 98}
    assert fimo.record["thresholds"]["GATA_known1"]["pvalue"] <= 1e-4
    assert fimo.record["threshold"] == "p <= 0.0001"


def test_a_fasta_run_writes_the_planted_sites_as_called_sites_bed(generated, tmp_path):
    """Interpret_models.py on the short_long FASTA (labels beside it, no metadata): called_sites.bed
    is the planted BED of SIX5_disc1 and RAD21_disc1 (score 0 read as the call's own), and summary.json
    records each motif's threshold as the generator computed it."""
    import json

    import Interpret_models
    import oracles

    folder, mine = generated["short_long"]
    onnx = oracles.onnx_oracle(tmp_path / "oracle.onnx", 200)
    out = tmp_path / "r"
    assert Interpret_models.main(["--model", str(onnx), "--seq_dict", str(mine / "mine.fa"), "--labels",
                                  str(mine / "mine_labels.tsv"), "--motifs", "SIX5_disc1", "RAD21_disc1",
                                  "--methods", "none", "--tests", "ablation", "--num_perturbs", "2", "--quiet",
                                  "--out_dir", str(out)]) == 0
    names = ("SIX5_disc1", "RAD21_disc1")
    rows = [line.split("\t") for line in (out / "called_sites.bed").read_text().splitlines()]
    called = {tuple(f[:4]) + ("0", f[5]) for f in rows}     # BED6+1: id start end motif score strand p-value
    planted = {tuple(line.split("\t")) for line in (folder / "motif_sites.bed").read_text().splitlines()
               if line.split("\t")[3] in names}
    assert len(planted) == 598 and len(called) == 598 and planted == called
    calling = json.loads((out / "summary.json").read_text())["site_calling"]
    chance = json.loads((folder / "metadata.json").read_text())["chance_matches"]["motifs"]
    assert calling["threshold"] == "auto" and calling["pvalue"] == "auto"
    assert {m: (t["score"], t["pvalue"]) for m, t in calling["thresholds"].items()} == \
        {m: (chance[m]["threshold_score"], chance[m]["threshold_pvalue"]) for m in names}
    assert "threshold auto: SIX5_disc1 score 3.263" in (out / "report.md").read_text()
    for f in rows:         # each call's own score and p-value, at or past its motif's threshold
        t = calling["thresholds"][f[3]]
        assert float(f[4]) >= t["score"] - 5e-4 and float(f[6]) <= t["pvalue"] * 1.001


@pytest.mark.parametrize("pair,needle", [(("A", "C"), "--pair names C, which is not among --motifs"),
                                         (("A", "A"), "--pair needs two different motifs"),
                                         (("A", "B"), "--pair names B, which has no site at auto in here")])
def test_the_pair_is_checked_alike_for_called_and_given_sites(pair, needle):
    from utils.io import InputError

    assert interpretation._checked_pair(None, {"A": 1}, "--motifs", "") is None
    assert interpretation._checked_pair(["A", "D"], {"A": 1, "D": 2}, "--motifs", "") == ("A", "D")
    with pytest.raises(InputError, match=needle):
        interpretation._checked_pair(pair, {"A": 3, "B": 0}, "--motifs", "at auto in here")
