"""Models and sequences the suite did not make: a Keras file, an ONNX file, a FASTA, a MEME file.

The models are hand-built oracles (tests/oracles.py) that fire on TOYA's consensus; the
sequences carry TOYA in positives and the decoy TOYB in both classes. Interpretation must
find TOYA used and TOYB not, with no planted rule to compare with (empty verdict fields).
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
from utils import models
from utils.encoding import one_hot

ROOT = Path(__file__).resolve().parents[1]
LENGTH = 100


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A FASTA + labels + MEME file, as a researcher would bring them, and two oracle model files."""
    root = tmp_path_factory.mktemp("outside")
    meme = root / "toy.meme"
    meme.write_text(oracles.TOY_MEME)
    subprocess.run([sys.executable, str(ROOT / "Generate_sequences.py"), "--num_seqs", "240", "--seq_length",
                    str(LENGTH), "--motif_db", str(meme), "--motifs", "TOYA", "TOYB", "--motif_sampling",
                    "consensus", "--seed", "4", "--out_dir", str(root / "gen"), "--quiet"], check=True, cwd=root)
    fasta, labels = root / "mine.fa", root / "mine_labels.tsv"
    fasta.write_bytes((root / "gen" / "sequences.fa").read_bytes())        # no BED, no metadata
    labels.write_bytes((root / "gen" / "labels.tsv").read_bytes())
    return {"root": root, "meme": meme, "fasta": fasta, "labels": labels,
            "keras": oracles.keras_oracle(root / "oracle.keras", LENGTH),
            "onnx": oracles.onnx_oracle(root / "oracle.onnx", LENGTH)}


def interpret(out: Path, *flags) -> tuple[dict, list[dict], str]:
    """A run at FIMO's p 1e-4, not the default auto: the toy data are consensus draws (the generator
    cleaned only consensus windows), and at 1e-4 a 0.97-per-base 8-bp motif's site is its consensus."""
    proc = subprocess.run([sys.executable, str(ROOT / "Interpret_models.py"), *map(str, flags),
                           "--out_dir", str(out), "--num_perturbs", "4", "--quiet", "--site_pvalue", "1e-4"],
                          capture_output=True, text=True, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    with open(out / "interpretation.csv") as fh:
        rows = list(csv.DictReader(fh))
    return summary, rows, (out / "report.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["keras", "onnx"])
def test_oracle_from_elsewhere_uses_its_motif_and_not_the_decoy(outside, kind):
    out = outside["root"] / f"res_{kind}"
    summary, rows, report = interpret(out, "--model", outside[kind], "--seq_dict", outside["fasta"],
                                      "--labels", outside["labels"], "--motif_db", outside["meme"],
                                      "--motifs", "TOYA", "TOYB", "--methods", "ism", "--num_attr_seqs", "30")
    by = {r["test"]: r for r in rows}
    # ablating TOYA takes every positive from sigmoid(4) to sigmoid(-4); the inserts are golden
    # (seeded placements; an insert that lands across the sequence's own TOYA changes nothing)
    assert float(by["ablate:TOYA"]["mean_delta_output"]) == pytest.approx(1 / (1 + np.e ** 4) - 1 / (1 + np.e ** -4),
                                                                        abs=1e-6)
    assert float(by["insert:TOYA"]["mean_delta_output"]) == pytest.approx(0.7210122732173961, abs=1e-6)
    assert [(by[t]["n_seqs"], by[t]["p_value"], by[t]["significant"]) for t in ("ablate:TOYA", "insert:TOYA")] == \
        [("120", "0.0001", "True")] * 2
    for test, n in (("ablate:TOYB", "44"), ("insert:TOYB", "133")):     # the oracle never sees TOYB
        assert (by[test]["n_seqs"], float(by[test]["mean_delta_output"]), by[test]["p_value"],
                by[test]["significant"]) == (n, 0.0, "1.0", "False")
    assert all(r["expected"] == "" and r["agrees"] == "" for r in rows)      # no planted truth
    assert summary["verdict"] is None
    assert summary["found_rule"]["motifs_that_matter"] == ["TOYA"]
    assert "**Rule found:** the model uses TOYA. No planted rule to compare with" in report
    calls = summary["site_calling"]["sites_per_motif"]
    assert calls == {"TOYA": 120, "TOYB": 107}          # golden: every planted consensus, no other window
    from utils.seqfiles import read_bed

    called = read_bed(out / "called_sites.bed")          # the sites the experiments used, as BED6
    assert len(called) == 227 and {s.motif for s in called} == {"TOYA", "TOYB"}
    assert all(s.end - s.start == 8 for s in called)
    # the oracle's ISM mass lies on TOYA's sites alone (8 of 100 bp), none on TOYB's
    assert summary["attribution_mass"] == {"ism:TOYA": {"n": 25, "mass_mean": 1.0, "site_share": 0.08},
                                           "ism:TOYB": {"n": 11, "mass_mean": 0.0, "site_share": 0.08}}
    assert (out / "attribution_mass.csv").exists() and not (out / "attribution_scores.csv").exists()


@pytest.mark.slow
def test_keras_file_layout_outputs_and_logit(outside):
    x = one_hot(["A" * 10 + oracles.TOYA + "C" * (LENGTH - 18), "A" * LENGTH])
    first = models.load_file(outside["keras"], input_length=LENGTH)
    assert (first.kind, first.layout, first.output_kind) == ("keras", "channels_first", "probability")
    np.testing.assert_allclose(first.predict(x), 1 / (1 + np.exp([-4.0, 4.0])), rtol=1e-5)
    np.testing.assert_allclose(first.predict_logit(x), [4.0, -4.0], atol=1e-5)     # the layer's own logit
    # the second output is linear: a logit beside 0/1 labels, a value without them
    second = models.load_file(outside["keras"], output_index=1, input_length=LENGTH, class_labels=True)
    assert second.output_kind == "logit"
    np.testing.assert_allclose(second.predict_logit(x), [-3.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(second.predict(x), 1 / (1 + np.exp([3.0, 0.0])), rtol=1e-5)
    value = models.load_file(outside["keras"], output_index=1, input_length=LENGTH)
    assert (value.output_kind, value.output_kind_reason) == ("value", "its output is linear and no 0/1 labels "
                                                                      "were given")
    np.testing.assert_allclose(value.predict(x), [-3.0, 0.0], atol=1e-6)
    assert models.load_file(outside["keras"], output_index=1, input_length=LENGTH,
                            output_kind="none").output_kind == "logit"      # the older --output_activation
    onnx = models.load_file(outside["onnx"], input_length=LENGTH)
    assert (onnx.kind, onnx.layout, onnx.output_kind) == ("onnx", "length_first", "probability")
    np.testing.assert_allclose(onnx.predict(x), first.predict(x), atol=1e-6)


@pytest.mark.slow
def test_lambda_layer_is_refused_under_safe_mode(outside, tmp_path):
    path = oracles.keras_oracle(tmp_path / "lambda.keras", LENGTH, lambda_layer=True)
    proc = subprocess.run([sys.executable, str(ROOT / "Interpret_models.py"), "--model", str(path),
                           "--seq_dict", str(outside["fasta"]), "--motifs", "TOYA", "--motif_db",
                           str(outside["meme"]), "--out_dir", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "safe mode" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_suite_model_exported_to_onnx_gives_the_same_rows(tmp_path):
    """Train_models.py's CNN, exported with Keras' ONNX export, interpreted from the .onnx file
    and from its folder on the same test split: every row agrees within 1e-4."""
    data, model_dir = tmp_path / "d", tmp_path / "m" / "cnn"
    subprocess.run([sys.executable, str(ROOT / "Generate_sequences.py"), "--num_seqs", "400", "--seq_length",
                    "80", "--out_dir", str(data), "--quiet"], check=True, cwd=tmp_path)
    subprocess.run([sys.executable, str(ROOT / "Train_models.py"), "--data_file", str(data), "--epochs", "3",
                    "--out_dir", str(tmp_path / "m"), "--quiet"], check=True, cwd=tmp_path)
    # the default dilated classifier's dropout, resolved from the target and recorded as used
    assert json.loads((model_dir / "model.json").read_text())["architecture"]["dropout"] == 0.3
    predictor = models.load(model_dir)
    predictor.keras_model.predict_on_batch(np.zeros((1, 80, 4), dtype=np.float32))   # export needs a called model
    predictor.keras_model.export(str(tmp_path / "cnn.onnx"), format="onnx", verbose=False)
    common = ["--seq_dict", data, "--preds", model_dir / "predictions.tsv", "--methods", "ism",
              "--num_attr_seqs", "10", "--num_seqs", "60"]
    folder_summary, from_folder, _ = interpret(tmp_path / "r_folder", "--model", model_dir, *common)
    summary, from_onnx, _ = interpret(tmp_path / "r_onnx", "--model", tmp_path / "cnn.onnx", *common)
    # planted truth is used: 3 epochs on 400 sequences do not learn STAT_known2 (golden, seed 0),
    # and the .onnx file is judged exactly as its folder
    assert summary["verdict"] == folder_summary["verdict"] == "not recovered"
    assert summary["reason"] == folder_summary["reason"]
    assert summary["reason"].startswith("STAT_known2 unused (ablating it changed the probability by -0.032, q=0.098)")
    assert [r["test"] for r in from_onnx] == [r["test"] for r in from_folder]
    for a, b in zip(from_folder, from_onnx):
        assert a["n_seqs"] == b["n_seqs"]
        for col in ("mean_delta_output", "mean_delta_loss", "p_value"):
            if a[col] == "" or b[col] == "":          # a test that had no sequence to run on
                assert a[col] == b[col] == "", (a["test"], col)
                continue
            assert abs(float(a[col]) - float(b[col])) < 1e-4, (a["test"], col, a[col], b[col])


def test_site_threshold_is_fimos_p_value_on_its_score_grid():
    """A 10-bp motif with 0.91 on each consensus base: P(window within 1 mismatch) = 3.0e-5 and
    within 2 mismatches 4.2e-4 (uniform background), so at p 1e-4 one mismatch is a site, two are
    not (a threshold taken off the p-value grid let two-mismatch windows through)."""
    from utils.encoding import seqs_to_codes
    from utils.motifs import Motif, call_sites

    consensus = "TGACGTCATC"
    pwm = np.full((10, 4), 0.03)
    pwm[np.arange(10), ["ACGT".index(b) for b in consensus]] = 0.91
    one = "C" + consensus[1:]
    two = "CA" + consensus[2:]
    seqs = ["A" * 20 + one + "A" * 20, "A" * 20 + two + "A" * 20]
    found = call_sites(["one", "two"], seqs_to_codes(seqs), [Motif("M", pwm)], np.full(4, 0.25), 1e-4)
    assert [(s.start, s.strand) for s in found["one"]] == [(20, "+")] and "two" not in found


@pytest.fixture(scope="module")
def regressions(outside):
    """Keras and ONNX regression oracles: 2 x [TOYA] + 1 x [TOYB] + 1.5 x [both], exactly."""
    root = outside["root"]
    return {"keras": oracles.keras_regression_oracle(root / "reg.keras", LENGTH, interaction=1.5),
            "onnx": oracles.onnx_regression_oracle(root / "reg.onnx", LENGTH, interaction=1.5)}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["keras", "onnx"])
def test_a_regression_model_reads_in_its_own_units(outside, regressions, kind):
    """The linear output is a value (no 0/1 labels): ablating TOYA moves it by exactly -2 (TOYB's
    carriers among the positives lose the interaction too), TOYB by -1 - 1.5 in the upper half,
    not the sigmoid-squashed fractions of a probability; both motifs are found."""
    x = one_hot(["A" * 10 + oracles.TOYA + "C" * 10 + oracles.TOYB + "A" * (LENGTH - 36),
                 "A" * 10 + oracles.TOYB + "C" * (LENGTH - 18), "A" * LENGTH])
    predictor = models.load_file(regressions[kind], input_length=LENGTH)
    assert predictor.output_kind == "value"
    np.testing.assert_allclose(predictor.predict(x), [4.5, 1.0, 0.0], atol=1e-6)
    out = outside["root"] / f"reg_{kind}"
    summary, rows, report = interpret(out, "--model", regressions[kind], "--seq_dict", outside["fasta"],
                                      "--motif_db", outside["meme"], "--motifs", "TOYA", "TOYB", "--methods", "none")
    by = {r["test"]: r for r in rows}
    # positives: the upper half of the outputs = the 120 TOYA carriers (2.0, or 4.5 with TOYB)
    assert (by["ablate:TOYA"]["n_seqs"], by["ablate:TOYB"]["n_seqs"]) == ("120", "44")   # 44 carry both
    expected_a = -(2.0 * 120 + 1.5 * 44) / 120
    assert float(by["ablate:TOYA"]["mean_delta_output"]) == pytest.approx(expected_a, abs=1e-6)
    assert float(by["ablate:TOYB"]["mean_delta_output"]) == pytest.approx(-2.5, abs=1e-6)
    assert by["ablate:TOYA"]["mean_delta_loss"] == ""          # no labels: no loss
    assert (summary["output_kind"], summary["output_units"]) == ("value", "value")
    assert summary["found_rule"]["motifs_that_matter"] == ["TOYA", "TOYB"]
    assert summary["min_effect_definition"].startswith("0.1 standard deviation of the model's outputs")
    assert "The model's output is a value: effects are changes in the model's output (its own units)" in report
    assert "| mean Δoutput |" in report


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["keras", "onnx"])
def test_profile_outputs_are_reduced_and_outputs_are_named(tmp_path, kind):
    """A BPNet-shaped model of any input length: its profile head counts as one output value,
    summed (or maxed, or read at one position) over positions and strands; its counts head is
    chosen by index or by name."""
    path = (oracles.keras_profile_oracle(tmp_path / "bpnet.keras") if kind == "keras"
            else oracles.onnx_profile_oracle(tmp_path / "bpnet.onnx"))
    x = one_hot(["A" * 10 + oracles.TOYA + "C" * (LENGTH - 18), "A" * LENGTH])
    profile = models.load_file(path, input_length=LENGTH)
    assert [(s.name, s.width, s.profile) for s in profile.slots] == [("profile", 1, True), ("counts", 1, False)]
    assert profile.output_kind == "value"
    np.testing.assert_allclose(profile.predict(x), [1.5, 0.0], atol=1e-6)           # 1.0 + 0.5 at base 10
    np.testing.assert_allclose(models.load_file(path, input_length=LENGTH, output_reduce="max").predict(x), [1.0, 0.0])
    np.testing.assert_allclose(models.load_file(path, input_length=LENGTH, output_reduce="10").predict(x), [1.5, 0.0])
    np.testing.assert_allclose(models.load_file(path, input_length=LENGTH, output_reduce="11").predict(x), [0.0, 0.0])
    for index in (1, "counts", "counts:0"):
        np.testing.assert_allclose(models.load_file(path, input_length=LENGTH, output_index=index).predict(x),
                                   [1.7, 0.0], atol=1e-6)
    with pytest.raises(models.InputError, match="has 2 output values per sequence"):
        models.load_file(path, input_length=LENGTH, output_index=2)
    with pytest.raises(models.InputError, match="no output named 'shape'; its outputs are profile, counts"):
        models.load_file(path, input_length=LENGTH, output_index="shape")
    with pytest.raises(models.InputError, match="lies beyond the profile"):
        models.load_file(path, input_length=LENGTH, output_reduce="500").predict(x)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["keras", "onnx"])
def test_a_regression_model_file_recovers_the_activity_rule_it_computes(outside, regressions, kind):
    """Data planted with the oracles' own terms (2 x TOYA + 1 x TOYB + 1.5 when both occur, no
    noise): the model file is read as a value and its measured terms recover the rule."""
    root = outside["root"]
    data = root / "activity_all"
    if not data.exists():
        subprocess.run([sys.executable, str(ROOT / "Generate_sequences.py"), "--target", "activity", "--gen_type",
                        "presence", "--presence_logic", "all", "--motif_db", str(outside["meme"]), "--motifs",
                        "TOYA", "TOYB", "--pos_motifs", "TOYA", "TOYB", "--effects", "TOYA=2", "TOYB=1",
                        "--interaction", "1.5", "--noise_sd", "0", "--motif_sampling", "consensus", "--num_seqs",
                        "240", "--seq_length", str(LENGTH), "--seed", "5", "--out_dir", str(data), "--quiet"],
                       check=True, cwd=root)
    summary, rows, report = interpret(root / f"activity_{kind}", "--model", regressions[kind], "--seq_dict", data,
                                      "--methods", "none")
    assert summary["output_kind"] == "value"
    assert summary["verdict"] == "recovered", summary["reason"]
    terms = {t["term"]: t["estimate"] for t in summary["activity_terms"]}
    assert terms == pytest.approx({"effect of TOYA": 2.0, "effect of TOYB": 1.0,
                                   "interaction inside the arrangement": 1.5}, abs=0.02)
    assert "## Effects and interactions (global importance analysis)" in report
    assert all(r["expected"] == "" for r in rows)          # the perturbation rows stay descriptive


def test_labels_as_users_hold_them_headerless_or_of_a_larger_set(tmp_path):
    """A labels file without a header is read (its first row an id and a number); one that also
    lists sequences the FASTA lacks gives the FASTA's labels and a note; one missing a sequence
    of the FASTA is still refused."""
    from utils.folders import load_fasta_input

    fasta = tmp_path / "mine.fa"
    fasta.write_text(">a\nACGTACGT\n>b\nTTTTACGT\n")
    plain = tmp_path / "plain.tsv"
    plain.write_text("b\t1\na\t0\n")
    data = load_fasta_input(fasta, plain)
    assert data.labels.tolist() == [0, 1] and data.target == "class" and data.notes == ()
    larger = tmp_path / "genome.tsv"
    larger.write_text("id\tlabel\na\t0.5\nz\t2.0\nb\t1.25\ny\t0\n")
    data = load_fasta_input(fasta, larger)
    assert data.labels.tolist() == [0.5, 1.25] and data.target == "activity"
    assert data.notes == ("note: --labels genome.tsv lists 2 sequences that are not in mine.fa; their labels "
                          "are not used",)
    short = tmp_path / "short.tsv"
    short.write_text("a\t1\n")
    with pytest.raises(models.InputError, match="'b' is missing from the labels"):
        load_fasta_input(fasta, short)


@pytest.mark.slow
def test_truth_sites_score_a_fasta_as_its_planted_sites_would(outside):
    """The FASTA with the BED of its true sites (--truth_sites) scores each map exactly as the data
    folder's planted sites do: same sequences, same sites, same localization."""
    gen = outside["root"] / "gen"
    flags = ["--model", outside["keras"], "--motif_db", outside["meme"], "--methods", "ism", "saliency",
             "--num_attr_seqs", "30", "--tests", "ablation"]
    planted_out = outside["root"] / "res_planted"
    interpret(planted_out, *flags, "--seq_dict", gen)
    truth_out = outside["root"] / "res_truth"
    summary, rows, report = interpret(truth_out, *flags, "--seq_dict", outside["fasta"], "--labels",
                                      outside["labels"], "--truth_sites", gen / "motif_sites.bed", "--motifs", "TOYA")
    assert summary["site_calling"]["source"].endswith("motif_sites.bed")
    assert summary["site_calling"]["sites_per_motif"] == {"TOYA": 120}
    assert not (truth_out / "called_sites.bed").exists()         # nothing was called
    with open(planted_out / "attribution_scores.csv") as fh:
        planted_scores = list(csv.DictReader(fh))
    with open(truth_out / "attribution_scores.csv") as fh:
        truth_scores = list(csv.DictReader(fh))
    drop = ("seconds_per_seq", "seconds_total", "faithfulness", "supported_share")   # faithfulness needs a rule
    assert planted_scores[0]["faithfulness"] != "" and truth_scores[0]["faithfulness"] == ""
    assert [{k: v for k, v in r.items() if k not in drop} for r in truth_scores] == \
        [{k: v for k, v in r.items() if k not in drop} for r in planted_scores]
    assert float(truth_scores[0]["auroc_mean"]) > 0.9            # the oracle's ISM sits on TOYA
    assert "## Attribution maps against the planted sites" in report
    by = {r["test"]: r for r in rows}
    assert float(by["ablate:TOYA"]["mean_delta_output"]) == pytest.approx(1 / (1 + np.e ** 4) - 1 / (1 + np.e ** -4),
                                                                        abs=1e-6)


def test_a_model_folder_given_its_own_training_fasta_interprets_its_test_split(tmp_path):
    """--seq_dict naming the very FASTA (and labels) a model folder was trained on: the model's own
    test split is interpreted, with a note, not every sequence (most of them training data)."""
    import Generate_sequences
    import Train_models

    assert Generate_sequences.main(["--num_seqs", "300", "--out_dir", str(tmp_path / "gen"), "--quiet"]) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("sequences.fa", "labels.tsv"):            # a FASTA with labels beside it, as users hold them
        (mine / name).write_bytes((tmp_path / "gen" / name).read_bytes())
    assert Train_models.main(["--data_file", str(mine / "sequences.fa"), "--model_type", "kmer_logistic", "--k", "3",
                              "--out_dir", str(tmp_path / "m"), "--quiet"]) == 0
    test_ids = [line.split("\t")[0] for line in (tmp_path / "m" / "kmer_logistic" / "predictions.tsv")
                .read_text().splitlines()[1:] if line.split("\t")[1] == "test"]
    out = tmp_path / "r"
    proc = subprocess.run([sys.executable, str(ROOT / "Interpret_models.py"), "--model", str(tmp_path / "m" / "kmer_logistic"),
                           "--seq_dict", str(mine / "sequences.fa"), "--labels", str(mine / "labels.tsv"),
                           "--motifs", "STAT_known2", "--methods", "none", "--tests", "ablation", "--out_dir", str(out),
                           "--quiet"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_test_seqs"] == len(test_ids) == 44          # 15% of 300, rounded per class
    assert f"its own test split of {len(test_ids)} sequences is interpreted" in proc.stderr
    # trained on the generated folder (its checksum covers metadata and sites too), then given the
    # folder's sequences.fa as a FASTA: the FASTA's own hash in model.json still finds it
    assert Train_models.main(["--data_file", str(tmp_path / "gen"), "--model_type", "kmer_logistic", "--k", "3",
                              "--out_dir", str(tmp_path / "m2"), "--quiet"]) == 0
    proc = subprocess.run([sys.executable, str(ROOT / "Interpret_models.py"), "--model", str(tmp_path / "m2" / "kmer_logistic"),
                           "--seq_dict", str(tmp_path / "gen" / "sequences.fa"), "--labels",
                           str(tmp_path / "gen" / "labels.tsv"), "--motifs", "STAT_known2", "--methods", "none",
                           "--tests", "ablation", "--out_dir", str(tmp_path / "r2"), "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "r2" / "summary.json").read_text())["n_test_seqs"] == 44
    assert "its own test split of 44 sequences is interpreted" in proc.stderr
