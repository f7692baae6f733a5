"""Motif discovery per attribution method (utils/motif_discovery.py, Interpret_models.py --discover_motifs).

Hand-built maps: exact copies of a planted PWM's consensus with contribution = one-hot x 1 at the site
and small noise elsewhere must give a pattern TOMTOM matches to that PWM at q < 0.05; maps of noise
alone must give no pattern. modisco-lite compiles its numba kernels on the first run of a fresh
install (about a minute), so the modisco tests are marked slow.
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from utils import motif_discovery as md
from utils.folders import ResultsFolder, is_suite_output
from utils.motifs import load_library

PLANTED, DECOY = "CTCF_known1", "GATA_known1"


def planted_maps(n=300, length=200, seed=0, noise_only=False):
    """(onehot, hypothetical contributions) of n sequences, each holding the consensus of PLANTED once."""
    lib = load_library("encode")
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, length))
    consensus = lib[PLANTED].pwm.argmax(axis=1)
    starts = rng.integers(0, length - len(consensus), n)
    for i in range(n):
        codes[i, starts[i]:starts[i] + len(consensus)] = consensus
    x = np.eye(4, dtype=np.float32)[codes]
    hyp = rng.normal(0.0, 0.01, x.shape).astype(np.float32)
    if not noise_only:
        for i in range(n):
            hyp[i, starts[i]:starts[i] + len(consensus)] += x[i, starts[i]:starts[i] + len(consensus)]
    return x, hyp


def run(noise_only):
    lib = load_library("encode")
    x, hyp = planted_maps(noise_only=noise_only)
    return md.discover("ism", hyp, x, [lib[PLANTED], lib[DECOY]], [PLANTED], lib)


@pytest.fixture(scope="module")
def planted_found():
    return run(noise_only=False)


@pytest.mark.slow
def test_exact_copies_of_a_planted_consensus_are_found(planted_found):
    d = planted_found
    assert d.seqlets == {"positive": 300, "negative": 0}         # one seqlet per planted copy
    assert len(d.patterns) == 1 and d.planted_found == [PLANTED] and d.spurious == 0
    p = d.patterns[0]
    assert p.sign == "positive" and p.n_seqlets == 189      # the seqlets modisco kept in the pattern (golden)
    assert d.best_q()[PLANTED] < md.MATCH_Q and dict(p.matches)[PLANTED] == d.best_q()[PLANTED]
    assert p.best_in_play == PLANTED and DECOY not in dict(p.matches)
    assert d.score_columns()["planted_motifs_found"] == 1 and d.score_columns()["spurious_motifs"] == 0
    # the trimmed pattern is the consensus itself (on one strand or the other)
    cons = load_library("encode")[PLANTED].consensus
    rc = cons[::-1].translate(str.maketrans("ACGT", "TGCA"))
    assert p.consensus in cons or p.consensus in rc


@pytest.mark.slow
def test_noise_maps_give_no_pattern_and_say_why():
    d = run(noise_only=True)
    assert d.patterns == [] and d.planted_found == [] and d.spurious == 0
    assert d.best_q() == {PLANTED: None}
    assert d.notes and all("formed no pattern" in n or "too few" in n for n in d.notes)


def test_too_few_seqlets_is_a_note_not_silence():
    lib = load_library("encode")
    x, hyp = planted_maps(n=30)                      # 30 seqlets: modisco needs more than MIN_SEQLETS
    d = md.discover("ism", hyp, x, [lib[PLANTED]], [PLANTED], lib)
    assert d.patterns == [] and d.seqlets["positive"] == 30
    assert d.notes == [f"positive contributions: 30 seqlets, too few to cluster (modisco-lite needs more "
                       f"than {md.MIN_SEQLETS}); attribute more positives (--num_attr_seqs)",
                       f"negative contributions: 1 seqlets, too few to cluster (modisco-lite needs more "
                       f"than {md.MIN_SEQLETS})"]       # one window of the noise passed the threshold
    assert d.summary()["planted_motifs_found"] == [] and d.summary()["notes"] == d.notes


def test_hypothetical_contributions_of_each_kind_of_map():
    x = np.eye(4, dtype=np.float32)[[[0, 2]]]                            # one sequence: A G
    g = np.array([[[1.0, 2.0, 3.0, 6.0], [4.0, 0.0, 0.0, 0.0]]], dtype=np.float32)
    r = np.full(4, 0.25)
    # ISM: centred over the four bases
    hyp, full = md.hypothetical_contributions("ism", g, x)
    assert full and np.allclose(hyp, g - g.mean(-1, keepdims=True))
    # integrated gradients: the path-averaged gradient g is read back from A = (x - r) g exactly,
    # then DeepLIFT's hypothetical score g - r.g; at the observed base it is the position's total
    ig = (x - r) * g
    hyp, full = md.hypothetical_contributions("integrated_gradients", ig, x, r)
    assert full and np.allclose(hyp, g - (g @ r)[..., None])
    assert np.allclose((hyp * x).sum(-1), ig.sum(-1))
    # after the gradient correction the total is gone: the observed base carries what is left
    hyp, full = md.hypothetical_contributions("integrated_gradients", ig, x, r, gradient_correction=True)
    assert not full and np.allclose(hyp, x * ig.sum(-1, keepdims=True))
    # DeepSHAP (no hypothetical values): the position's total on the observed base, 0 elsewhere
    hyp, full = md.hypothetical_contributions("deep_shap", g, x)
    assert not full and hyp.tolist() == [[[12.0, 0, 0, 0], [0, 0, 4.0, 0]]]


def test_trim_keeps_the_span_above_a_share_of_the_peak():
    cwm = np.zeros((10, 4))
    cwm[[1, 3, 4, 8], 0] = [0.1, 1.0, 0.5, 0.29]
    assert md.trim(cwm) == slice(3, 5)
    cwm[8, 0] = -0.3                                       # |contribution|: a negative end counts
    assert md.trim(cwm) == slice(3, 9)


def test_meme_and_csv_files_of_a_pattern(tmp_path):
    ppm = np.array([[1.0, 0, 0, 0], [0, 0, 0.5, 0.5], [0, 1.0, 0, 0], [0, 0, 0, 1.0]])
    p = md.Pattern("pos_0", "positive", 42, ppm, ppm, "X", 0.01, PLANTED, 0.02, "+",
                   (("X", 0.01), (PLANTED, 0.02)), {PLANTED: 0.02})
    d = md.Discovery("ism", 100, True, {"positive": 60, "negative": 0}, [p], [PLANTED], [PLANTED, DECOY], 1.5)
    assert d.planted_found == [PLANTED] and d.spurious == 0
    assert d.score_columns() == {"motif_patterns": 1, "planted_motifs_found": 1, "spurious_motifs": 0,
                                 "motif_best_q": f"{PLANTED}=0.02", "discovery_seconds": 1.5}
    text = md.meme_text([p], "ism")
    assert "MOTIF ism_pos_0 AGCT\nletter-probability matrix: alength= 4 w= 4 nsites= 42 E= 0\n" \
           "1.000000 0.000000 0.000000 0.000000\n0.000000 0.000000 0.500000 0.500000\n" in text
    from utils.motifs import read_meme
    path = tmp_path / "m.meme"
    path.write_text(text)
    assert np.allclose(read_meme(path)["ism_pos_0"].pwm, ppm, atol=1e-3)       # our own reader reads it
    row = md.csv_rows(d)[0]
    assert (row["planted_match"], row["spurious"], row["matches"]) == (PLANTED, False, f"X=0.01;{PLANTED}=0.02")
    # a decoy's pattern that resembles the planted motif too: the decoy is its best match, so the
    # planted motif is not found, and the pattern is not spurious
    look = md.Pattern("pos_1", "positive", 42, ppm, ppm, DECOY, 0.001, DECOY, 0.001, "+",
                      ((DECOY, 0.001), (PLANTED, 0.02)), {DECOY: 0.001, PLANTED: 0.02})
    alike = md.Discovery("ism", 100, True, {}, [look], [PLANTED], [PLANTED, DECOY], 1.0)
    assert alike.planted_found == [] and alike.spurious == 0 and alike.best_q() == {PLANTED: 0.02}
    assert md.csv_rows(alike)[0]["planted_match"] == ""
    other = md.Discovery("ism", 100, True, {}, [p], [DECOY], [DECOY], 1.0)     # matches nothing in play
    assert other.spurious == 1 and other.planted_found == []
    assert is_suite_output(ResultsFolder.motifs_csv("ism")) and is_suite_output(ResultsFolder.motifs_meme("ism"))
    assert is_suite_output(ResultsFolder.MOTIF_LOGO_DIR)


@pytest.mark.slow
def test_interpret_models_discover_motifs_writes_the_files_and_columns(tmp_path, caplog):
    import Generate_sequences
    import Interpret_models
    import Train_models

    data, models, out = tmp_path / "data", tmp_path / "models", tmp_path / "results"
    assert Generate_sequences.main(["--num_seqs", "2000", "--out_dir", str(data), "--quiet"]) == 0
    assert Train_models.main(["--data_file", str(data), "--model_type", "kmer_logistic", "--out_dir", str(models),
                              "--quiet"]) == 0
    assert Interpret_models.main(["--model", str(models / "kmer_logistic"), "--out_dir", str(out), "--methods", "ism",
                                  "--discover_motifs", "--num_seqs", "100", "--num_perturbs", "3", "--quiet"]) == 0
    planted = json.loads((data / "metadata.json").read_text())["pos_motifs"]
    summary = json.loads((out / "summary.json").read_text())["motif_discovery"]["ism"]
    assert summary["planted_motifs_found"] == planted and summary["spurious_motifs"] == 0
    with open(out / "attribution_scores.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert (row["planted_motifs_found"], row["spurious_motifs"]) == (str(len(planted)), "0")
    with open(out / "motifs_ism.csv", newline="") as fh:
        patterns = list(csv.DictReader(fh))
    assert [p["planted_match"] for p in patterns if p["planted_match"]] == planted
    assert (out / "motifs_ism.meme").read_text().count("MOTIF ism_") == len(patterns)
    report = (out / "report.md").read_text()
    assert "## Motif discovery per method" in report and "(motif_logos/ism_pos_0.png)" in report
    assert (out / "motif_logos" / "ism_pos_0.png").is_file()
    # the pattern logos pulled in mathtext's fonts, and each missing one was a warning line on stderr
    assert not [r for r in caplog.records if r.name == "matplotlib.font_manager"]
