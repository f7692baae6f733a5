"""A FASTA of mixed lengths and a Keras model that takes any length (input length None).

The sequences are predicted and perturbed in batches of one length; each test pools every
length's sequences; the curves, the effects in background sequences and the attribution maps use
the most common length. A model of one length keeps refusing mixed lengths in one line.
"""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import oracles
from utils import interpretation, models
from utils.encoding import one_hot

ROOT = Path(__file__).resolve().parents[1]
LENGTHS = {60: 15, 80: 25, 100: 20}          # bp: sequences; 80 bp is the most common length
RC = str.maketrans("ACGT", "TGCA")
CONSENSUSES = [oracles.TOYA, oracles.TOYB, oracles.TOYA.translate(RC)[::-1], oracles.TOYB.translate(RC)[::-1]]
SIGMOID = {True: 1 / (1 + np.exp(-4.0)), False: 1 / (1 + np.exp(4.0))}


def mixed_fasta(path: Path) -> dict:
    """Sequences of three lengths (random bases, no TOYA or TOYB on either strand by chance); every other one
    carries TOYA's consensus, every third TOYB's -> {id: (sequence, carries TOYA)}."""
    rng = np.random.default_rng(11)
    seqs, k = {}, 0
    for length, n in LENGTHS.items():
        for _ in range(n):
            s = "".join(rng.choice(list("ACGT"), length))
            while any(c in s for c in CONSENSUSES):
                s = "".join(rng.choice(list("ACGT"), length))
            carries = k % 2 == 0
            if carries:
                at = int(rng.integers(0, length - 8))
                s = s[:at] + oracles.TOYA + s[at + 8:]
            if k % 3 == 0:
                at = int(rng.integers(0, length - 8))
                if not (carries and abs(at - s.index(oracles.TOYA)) < 8):
                    s = s[:at] + oracles.TOYB + s[at + 8:]
            seqs[f"s{k:03d}"] = (s, oracles.TOYA in s)
            k += 1
    path.write_text("".join(f">{i}\n{s}\n" for i, (s, _) in seqs.items()))
    return seqs


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    meme = root / "toy.meme"
    meme.write_text(oracles.TOY_MEME)
    fasta = root / "mixed.fa"
    return {"root": root, "meme": meme, "fasta": fasta, "seqs": mixed_fasta(fasta),
            "any": oracles.keras_any_length_oracle(root / "any.keras"),
            "fixed": oracles.keras_oracle(root / "fixed.keras", 100)}


@pytest.mark.slow
def test_predictions_by_length_are_the_models_own_calls(mixed):
    from utils.models import import_keras

    keras = import_keras()
    predictor = models.load_file(mixed["any"])
    assert predictor.input_length is None and predictor.output_kind == "probability"
    model = keras.models.load_model(mixed["any"])
    seqs = [s for s, _ in mixed["seqs"].values()]
    got = interpretation.predict_by_length(predictor, seqs)
    for rows in interpretation.length_batches(seqs):
        assert len({len(seqs[k]) for k in rows}) == 1                   # each batch one length
        direct = np.asarray(model.predict_on_batch(one_hot([seqs[k] for k in rows]))).reshape(-1)
        np.testing.assert_array_equal(got[rows], direct.astype(np.float32))
    want = [SIGMOID[carries] for _, carries in mixed["seqs"].values()]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def run(mixed, out: Path, model: str, *flags):
    return subprocess.run([sys.executable, str(ROOT / "Interpret_models.py"), "--model", str(mixed[model]),
                           "--seq_dict", str(mixed["fasta"]), "--motif_db", str(mixed["meme"]), "--motifs", "TOYA",
                           "TOYB", "--site_pvalue", "1e-4", "--num_perturbs", "2", "--out_dir", str(out), "--quiet",
                           *flags], capture_output=True, text=True, cwd=mixed["root"])


@pytest.mark.slow
def test_a_model_of_any_length_interprets_mixed_lengths(mixed):
    out = mixed["root"] / "r"
    proc = run(mixed, out, "any", "--tests", "ablation", "insertion", "--methods", "ism", "--num_attr_seqs", "12")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ("note: the test sequences have 3 lengths (60 to 100 bp): each is predicted and perturbed in batches of "
            "one length") in proc.stderr and "the 25 sequences of 80 bp, the most common length" in proc.stderr
    seqs = mixed["seqs"]
    carriers = sum(c for _, c in seqs.values())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_test_seqs"] == 60 and carriers == 30
    with open(out / "interpretation.csv") as fh:
        by = {r["test"]: r for r in csv.DictReader(fh)}
    # no labels: the positives are the model's calls, the 30 TOYA carriers of every length; ablating
    # TOYA takes each from sigmoid(4) to sigmoid(-4), pooled over the three lengths
    assert by["ablate:TOYA"]["n_seqs"] == "30"
    assert float(by["ablate:TOYA"]["mean_delta_output"]) == pytest.approx(SIGMOID[False] - SIGMOID[True], abs=1e-6)
    assert float(by["ablate:TOYB"]["mean_delta_output"]) == 0.0
    toyb = sum(1 for s, c in seqs.values() if c and oracles.TOYB in s)
    assert by["ablate:TOYB"]["n_seqs"] == str(toyb)
    # the called sites: every planted consensus of every length, nothing else
    called = [line.split("\t") for line in (out / "called_sites.bed").read_text().splitlines()]
    planted = sorted((i, s.index(cons), m) for i, (s, _) in seqs.items() for m, cons in
                     (("TOYA", oracles.TOYA), ("TOYB", oracles.TOYB)) if cons in s)
    assert sorted((f[0], int(f[1]), f[3]) for f in called) == planted
    # the maps: 12 sequences of the most common length, positives first
    maps = np.load(out / "attributions_ism.npz")
    assert maps["attributions"].shape == (12, 80, 4)
    assert all(len(seqs[i][0]) == 80 for i in maps["ids"])


@pytest.mark.slow
def test_a_model_of_one_length_refuses_mixed_lengths(mixed):
    out = mixed["root"] / "fixed_r"
    proc = run(mixed, out, "fixed", "--input_layout", "channels_first")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"Interpret_models.py: error: {mixed['fasta']}: sequences have unequal lengths (60 to 100 bp) but the "
        f"model takes 100 bp; give sequences of the same length, the model's"]
    assert not out.exists()
