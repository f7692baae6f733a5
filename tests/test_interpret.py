"""Interpret_models.py part 1: perturbation statistics and the verdict, checked on oracle models
whose rule is known exactly, and on a k-mer model that cannot see order."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import Generate_sequences
import Interpret_models
import Train_models
from utils import cli, evaluate, motifs as motiflib, perturb
from utils.encoding import one_hot, onehot_to_codes
from utils.folders import load_dataset
from utils.seqfiles import Site


# ----------------------------------------------------------------------------- oracles
class MotifFinder:
    """Locates motifs in one-hot input with the data's own PWMs and chance thresholds."""

    def __init__(self, metadata):
        bg = np.array(metadata["background_dist"])
        self.lo = {m: motiflib.log_odds(motiflib.Motif(m, np.array(p)), bg) for m, p in metadata["pwms"].items()}
        self.th = metadata["chance_matches"]["thresholds"]
        self.input_length = metadata["seq_length"]

    def best_hit(self, onehot, motif, avoid=None) -> np.ndarray:
        """(N,) start of the best-scoring window of ``motif`` if it passes the threshold, else -1.

        The data plant consensus instances, which score highest, so the best window is the
        planted one even when a perturbation makes a weaker chance match elsewhere. ``avoid``
        (starts, width) masks windows overlapping another motif's hit: a planted motif plus
        a base of its flank can score as a weak motif (CTCF).
        """
        scores = motiflib.scan(onehot_to_codes(onehot), self.lo[motif])
        w = self.lo[motif].shape[0]
        if avoid is not None:
            starts, width = avoid
            pos = np.arange(scores.shape[1])[None, :]
            clash = (starts[:, None] >= 0) & (pos < starts[:, None] + width) & (starts[:, None] < pos + w)
            scores = np.where(clash, -np.inf, scores)
        best = scores.argmax(axis=1)
        return np.where(scores.max(axis=1) >= self.th[motif], best, -1)

    def pair_hits(self, onehot, a, b):
        pa = self.best_hit(onehot, a)
        return pa, self.best_hit(onehot, b, avoid=(pa, self.lo[a].shape[0]))


class PresenceOracle(MotifFinder):
    def __init__(self, metadata, motif):
        super().__init__(metadata)
        self.motif = motif

    def predict(self, onehot):
        return (self.best_hit(onehot, self.motif) >= 0).astype(np.float64)


class OrderOracle(MotifFinder):
    def __init__(self, metadata, a, b):
        super().__init__(metadata)
        self.a, self.b = a, b

    def predict(self, onehot):
        pa, pb = self.pair_hits(onehot, self.a, self.b)
        return ((pa >= 0) & (pb >= 0) & (pa < pb)).astype(np.float64)


class WindowOracle(MotifFinder):
    def __init__(self, metadata, a, b, lo, hi):
        super().__init__(metadata)
        self.a, self.b, self.lo_gap, self.hi_gap = a, b, lo, hi
        self.len = {m: len(p) for m, p in metadata["pwms"].items()}

    def predict(self, onehot):
        pa, pb = self.pair_hits(onehot, self.a, self.b)
        gap = np.where(pa < pb, pb - (pa + self.len[self.a]), pa - (pb + self.len[self.b]))
        return ((pa >= 0) & (pb >= 0) & (gap >= self.lo_gap) & (gap <= self.hi_gap)).astype(np.float64)


class ConstantOracle:
    def predict(self, onehot):
        return np.full(len(onehot), 0.7)


class RandomOracle:
    def __init__(self, seed):
        # not default_rng(seed): SeedSequence pads with zeros, so seed 0 would replay the
        # generator's label draw (default_rng([0, 0])) and tie the "random" output to the labels
        self.rng = np.random.default_rng([seed, 99991])

    def predict(self, onehot):
        return self.rng.random(len(onehot))


# ----------------------------------------------------------------------------- fixtures
def make_data(folder, gen_type, n=400, seed=0, extra=()):
    assert Generate_sequences.main(["--num_seqs", str(n), "--gen_type", gen_type, "--seed", str(seed),
                                    "--out_dir", str(folder), "--quiet", *extra]) == 0
    return load_dataset(folder, need_sites=True)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    # consensus instances: the oracles then find every planted motif, so effects are exact
    return {t: make_data(root / t, t, extra=["--motif_sampling", "consensus"])
            for t in ("presence", "order", "distance")}


def interpret(predictor, data, num_perturbs=3, max_seqs=120, seed=0, alpha=0.05, tests=perturb.TESTS):
    meta = data.metadata
    motifs = [motiflib.Motif(m, np.array(p)) for m, p in meta["pwms"].items()]
    x = one_hot(data.seqs)
    sites = [data.sites.get(i, []) for i in data.ids]
    battery = perturb.run_battery(predictor, x, data.labels, sites, meta, motifs,
                                  np.array(meta["background_dist"]), num_perturbs, max_seqs, seed, tests)
    rows = evaluate.annotate(battery.rows, meta, alpha)
    return rows, evaluate.verdict(rows, meta, battery.curve, alpha), battery


def row(rows, test):
    return next(r for r in rows if r["test"] == test)


# ----------------------------------------------------------------------------- verdicts
def test_order_oracle_recovers_order_rule(datasets):
    data = datasets["order"]
    rows, summary, _ = interpret(OrderOracle(data.metadata, "STAT_known2", "CTCF_known1"), data)
    assert summary["verdict"] == "recovered", summary["reason"]
    assert row(rows, "swap:positives")["mean_delta_prob"] == -1.0
    assert row(rows, "swap:negatives")["mean_delta_prob"] == 1.0
    assert row(rows, "swap:positives")["expected"] == "decrease"
    assert summary["found_rule"]["order_matters"] is True
    assert sorted(summary["found_rule"]["motifs_that_matter"]) == ["CTCF_known1", "STAT_known2"]


def test_presence_only_oracle_on_order_data_is_order_unused(datasets):
    data = datasets["order"]
    rows, summary, _ = interpret(PresenceOracle(data.metadata, "STAT_known2"), data)
    assert summary["verdict"] == "not recovered"
    assert summary["reason"].startswith("order unused")
    assert "CTCF_known1 unused" in summary["reason"]
    assert row(rows, "swap:positives")["mean_delta_prob"] == 0.0
    assert row(rows, "swap:positives")["agrees"] is False
    assert row(rows, "ablate:STAT_known2")["agrees"] is True
    assert summary["found_rule"]["order_matters"] is False


def test_window_oracle_recovers_distance_rule_and_its_window(datasets):
    data = datasets["distance"]
    meta = data.metadata
    oracle = WindowOracle(meta, "STAT_known2", "CTCF_known1", meta["min_dist"], meta["max_dist"])
    rows, summary, battery = interpret(oracle, data)
    assert summary["verdict"] == "recovered", summary["reason"]
    assert summary["found_rule"]["gap_window"] == [meta["min_dist"], meta["max_dist"]]
    assert summary["found_rule"]["gap_window_error"] == [0, 0]
    assert row(rows, "distance:inside_vs_outside")["expected"] == "increase"
    assert row(rows, "swap:positives")["expected"] == "none"       # the distance rule ignores order
    curve = battery.curve
    inside = (curve["gaps"] >= meta["min_dist"]) & (curve["gaps"] <= meta["max_dist"])
    seen = np.isfinite(curve["mean"])          # the largest gaps may fit no tested sequence
    assert seen[inside].all() and seen.mean() > 0.9
    assert np.all(curve["mean"][inside] == 1.0) and np.all(curve["mean"][~inside & seen] == 0.0)


def test_window_oracle_with_a_shifted_window_is_caught(datasets):
    data = datasets["distance"]
    meta = data.metadata
    # far from the planted edges the grid is coarse; the window edges are refined to 1 bp
    oracle = WindowOracle(meta, "STAT_known2", "CTCF_known1", meta["min_dist"] + 40, meta["max_dist"] + 53)
    _, summary, _ = interpret(oracle, data)
    assert summary["found_rule"]["gap_window_error"] == [40, 53]


def test_presence_oracle_recovers_presence_rule(datasets):
    data = datasets["presence"]
    rows, summary, _ = interpret(PresenceOracle(data.metadata, "STAT_known2"), data)
    assert summary["verdict"] == "recovered", summary["reason"]
    assert row(rows, "insert:STAT_known2")["mean_delta_prob"] == 1.0
    assert row(rows, "ablate:CTCF_known1")["significant"] is False
    assert row(rows, "ablate:CTCF_known1")["expected"] == "none"


def test_decoy_oracle_on_presence_data_uses_decoy(datasets):
    data = datasets["presence"]
    _, summary, _ = interpret(PresenceOracle(data.metadata, "CTCF_known1"), data)
    assert summary["verdict"] == "not recovered"
    assert "STAT_known2 unused" in summary["reason"] and "decoy CTCF_known1 used" in summary["reason"]


@pytest.mark.parametrize("gen_type", ["presence", "order", "distance"])
def test_constant_oracle_finds_nothing(datasets, gen_type):
    rows, summary, _ = interpret(ConstantOracle(), datasets[gen_type])
    assert not any(r["significant"] for r in rows)
    assert all(abs(r["mean_delta_prob"]) < 1e-12 for r in rows if r["n_seqs"])
    assert summary["verdict"] == "not recovered"
    assert summary["found_rule"]["motifs_that_matter"] == []


def test_random_oracle_false_positive_rate_at_most_alpha(datasets):
    """Under the null (a model that ignores its input) the rate of findings must not exceed
    alpha: per run (any q-value below alpha, which BH bounds by alpha) and per test (raw
    p-values). Judged with a one-sided binomial test, so a run of bad luck is not a failure
    but a rate above alpha is."""
    from scipy.stats import binom

    data = datasets["order"]
    alpha, runs = 0.05, 40
    runs_with_a_finding, pvalues = 0, []
    for seed in range(runs):
        rows, summary, _ = interpret(RandomOracle(seed), data, num_perturbs=2, max_seqs=40, seed=seed,
                                     tests=("ablation", "insertion", "order", "controls"))
        runs_with_a_finding += any(r["q_value"] < alpha for r in rows if r["n_seqs"])
        pvalues += [r["p_value"] for r in rows if r["n_seqs"]]
        assert summary["verdict"] == "not recovered"
    hits = int(np.sum(np.array(pvalues) < alpha))
    assert binom.sf(runs_with_a_finding - 1, runs, alpha) > 0.01, runs_with_a_finding
    assert binom.sf(hits - 1, len(pvalues), alpha) > 0.01, (hits, len(pvalues))
    assert runs_with_a_finding / runs <= 0.1 and hits / len(pvalues) <= 0.1


# ----------------------------------------------------------------------------- statistics
def test_swap_in_place_keeps_gap_and_flanks():
    x = one_hot(["CCAAAGGGTTTTCC"])[0]
    swapped = perturb.swap_in_place(x, Site("s", 2, 5, "A"), Site("s", 8, 12, "B"))
    from utils.encoding import onehot_to_seqs
    assert onehot_to_seqs(swapped[None])[0] == "CCTTTTGGGAAACC"


def test_ablation_changes_exactly_the_planted_bases(datasets):
    data = datasets["presence"]
    x = one_hot(data.seqs[:50])
    sites = [data.sites.get(i, []) for i in data.ids[:50]]
    seen = {}

    class Spy:
        def predict(self, onehot):
            seen.setdefault("batches", []).append(onehot.copy())
            return np.zeros(len(onehot))

    perturb.ablate(Spy(), x, data.labels[:50], np.zeros(50), sites, "STAT_known2", 4,
                   np.full(4, 0.25), np.random.default_rng(0))
    copies = seen["batches"][0]
    carriers = [i for i, s in enumerate(sites) if any(t.motif == "STAT_known2" for t in s)]
    assert copies.shape == (4 * len(carriers), x.shape[1], 4)
    for k, i in enumerate(carriers):
        site = next(t for t in sites[i] if t.motif == "STAT_known2")
        changed = np.any(copies[4 * k:4 * k + 4] != x[i], axis=(0, 2))
        assert not changed[:site.start].any() and not changed[site.end:].any()
        assert changed[site.start:site.end].sum() > (site.end - site.start) // 2


# ----------------------------------------------------------------------------- the script
@pytest.fixture(scope="module")
def kmer_order_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("kmer")
    make_data(root / "data", "order", n=1000, seed=4)
    assert Train_models.main(["--data_file", str(root / "data"), "--model_type", "kmer_logistic",
                              "--out_dir", str(root / "models"), "--quiet"]) == 0
    return root


def test_kmer_logistic_on_order_data_is_order_unused(kmer_order_model, tmp_path):
    out = tmp_path / "res"
    assert Interpret_models.main(["--model", str(kmer_order_model / "models" / "kmer_logistic"),
                                  "--num_perturbs", "3", "--num_seqs", "100", "--methods", "ism", "saliency",
                                  "--num_attr_seqs", "20", "--out_dir", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] == "not recovered" and summary["reason"].startswith("order unused")
    with open(out / "interpretation.csv") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0].keys()) == evaluate.VERDICT_COLUMNS
    tests = [r["test"] for r in table]
    assert "swap:positives" in tests and "distance:inside_vs_outside" not in tests   # order data: no spacing test
    assert all(0 <= float(r["q_value"]) <= 1 for r in table if r["q_value"])
    assert (out / "distance_curve.png").stat().st_size > 5000
    assert "Verdict: not recovered" in (out / "report.md").read_text()
    # attribution: ISM runs on any model; saliency needs a Keras graph and is skipped with a note
    assert summary["attribution_notes"] == ["saliency skipped: kmer_logistic has no Keras graph"]
    with open(out / "attribution_scores.csv") as fh:
        scores = list(csv.DictReader(fh))
    assert [r["method"] for r in scores] == ["ism"] and int(scores[0]["n"]) > 0
    saved = np.load(out / "attributions_ism.npz", allow_pickle=False)
    assert saved["attributions"].shape == (20, 200, 4)
    assert len(list((out / "logos").glob("*.png"))) >= 2


def run_cli(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        cli.run(Interpret_models.main, argv)
    return exc.value.code, capsys.readouterr().err


def test_bad_input_one_line_exit_2_nothing_written(kmer_order_model, tmp_path, capsys):
    model = str(kmer_order_model / "models" / "kmer_logistic")
    other = tmp_path / "short"
    make_data(other, "order", n=50, extra=["--seq_length", "120"])
    presence = tmp_path / "presence"
    make_data(presence, "presence", n=50, extra=["--motifs", "STAT_known2"])
    out = tmp_path / "out"
    cases = [
        (["--model", str(tmp_path / "nope")], "does not exist"),
        (["--model", model, "--seq_dict", str(other)], "bp"),
        (["--model", model, "--seq_dict", str(tmp_path / "missing")], "does not exist"),
        (["--model", model, "--seq_dict", str(presence)], "absent"),
        (["--model", model, "--motifs", "GATA_known6"], "not in the data"),
        (["--model", model, "--num_perturbs", "0"], "--num_perturbs"),
        (["--model", model, "--alpha", "1.5"], "--alpha"),
    ]
    for flags, needle in cases:
        code, err = run_cli(capsys, [*flags, "--out_dir", str(out), "--quiet"])
        assert code == 2, flags
        assert len(err.strip().splitlines()) == 1 and needle in err, (flags, err)
        assert not out.exists()
    # a distance test asked for on data that plants a single motif
    pres_model = tmp_path / "pm"
    make_data(tmp_path / "pd", "presence", n=300, extra=["--motifs", "STAT_known2"])
    assert Train_models.main(["--data_file", str(tmp_path / "pd"), "--model_type", "kmer_logistic",
                              "--out_dir", str(pres_model), "--quiet"]) == 0
    code, err = run_cli(capsys, ["--model", str(pres_model / "kmer_logistic"), "--tests", "distance",
                                 "--out_dir", str(out)])
    assert code == 2 and "pair" in err and not out.exists()

    # the default run on the same one-motif presence data works (it used to be refused: the
    # default --tests list was compared with a tuple)
    code, err = run_cli(capsys, ["--model", str(pres_model / "kmer_logistic"), "--num_seqs", "40",
                                 "--num_perturbs", "2", "--methods", "none", "--out_dir", str(out), "--quiet"])
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["required_tests"] == ["ablate:STAT_known2"]
    assert summary["verdict"] in ("recovered", "not recovered")
    # the model's data folder regenerated with another seed: same ids, other sequences
    make_data(tmp_path / "pd", "presence", n=300, seed=9, extra=["--motifs", "STAT_known2", "--overwrite"])
    out2 = tmp_path / "out2"
    code, err = run_cli(capsys, ["--model", str(pres_model / "kmer_logistic"), "--out_dir", str(out2)])
    assert code == 2 and "changed since the model was trained" in err and not out2.exists()
    assert len(err.strip().splitlines()) == 1
    code, err = run_cli(capsys, ["--model", str(pres_model / "kmer_logistic"), "--seq_dict", str(tmp_path / "pd"),
                                 "--num_seqs", "40", "--num_perturbs", "2", "--methods", "none",
                                 "--out_dir", str(out2), "--quiet"])
    assert code == 0 and "trained on other sequences" in err


class PerSequenceWindowOracle(WindowOracle):
    """Positive when the gap lies in a window that depends on the sequence: [10, 30] when its
    first base is A or C, [25, 60] otherwise, so each row of a distance curve is one sequence."""

    def predict(self, onehot):
        pa, pb = self.pair_hits(onehot, self.a, self.b)
        gap = np.where(pa < pb, pb - (pa + self.len[self.a]), pa - (pb + self.len[self.b]))
        early = onehot[:, 0, :2].sum(axis=1) > 0
        lo, hi = np.where(early, 10, 25), np.where(early, 40, 60)
        return ((pa >= 0) & (pb >= 0) & (gap >= lo) & (gap <= hi)).astype(np.float64)


def test_refined_distance_curve_keeps_each_row_one_sequence(datasets):
    data = datasets["distance"]
    meta = data.metadata
    a, b = meta["pos_motifs"]
    oracle = PerSequenceWindowOracle(meta, a, b, 0, 0)
    x = one_hot(data.seqs)
    sites = [data.sites.get(i, []) for i in data.ids]
    coarse = np.array([0, 30, 80, 110, 140])     # the mean crosses 0.5 between 0-30 and 30-80: refined
    gaps, idx, curve = perturb.respace(oracle, x, data.labels, sites, a, b, coarse, 2,
                                       np.array(meta["background_dist"]), np.random.default_rng(3),
                                       max_seqs=60, refine=True)
    assert len(gaps) > len(coarse) and np.all(np.diff(gaps) > 0)
    early = x[idx, 0, :2].sum(axis=1) > 0
    assert 0 < early.sum() < len(idx)                       # both kinds of sequences are in the curve
    lo, hi = np.where(early, 10, 25)[:, None], np.where(early, 40, 60)[:, None]
    expected = ((gaps[None, :] >= lo) & (gaps[None, :] <= hi)).astype(float)
    seen = np.isfinite(curve)
    assert seen.mean() > 0.5
    np.testing.assert_array_equal(curve[seen], expected[seen])


def test_a_row_does_not_depend_on_which_other_tests_ran(datasets):
    data = datasets["presence"]
    oracle = PresenceOracle(data.metadata, data.metadata["pos_motifs"][0])
    every, _, _ = interpret(oracle, data, tests=perturb.TESTS)
    alone, _, _ = interpret(oracle, data, tests=("ablation",))
    for r in alone:
        same = next(e for e in every if e["test"] == r["test"] and e["motifs"] == r["motifs"])
        for key in ("n_seqs", "mean_delta_prob", "mean_delta_loss", "ci_low", "ci_high", "p_value"):
            assert same[key] == r[key] or (np.isnan(same[key]) and np.isnan(r[key])), (r["test"], key)
