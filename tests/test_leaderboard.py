"""The benchmark aggregation, from hand-written per-run files with known numbers."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from oracles import Spy
from utils import leaderboard, planted, plots


def write_run(folder: Path, gen_type: str, verdict: str, kind: str, scores: dict, auroc=0.9, error=None,
              shares=()):
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({
        "verdict": verdict, "planted_rule": {"gen_type": gen_type}, "model_kind": kind,
        "model_test_auroc": auroc, "found_rule": {"gap_window_error": error},
        "effect_shares": [{"test": f"t{i}", "share": v} for i, v in enumerate(shares)]}))
    with open(folder / "attribution_scores.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["method", "n", "auroc_mean", "auroc_sd", "auprc_mean", "auprc_sd", "seconds_total",
                    "seconds_per_seq", "faithfulness", "supported_share"])
        for method, (a, p) in scores.items():
            w.writerow([method, 10, a, 0.1, p, 0.1, 1.0, 0.01, a / 2, ""])     # faithfulness: half the auROC


@pytest.fixture()
def runs(tmp_path):
    out = []
    spec = [  # rule, gen_type, model, null, seed, verdict, {method: (auroc, auprc)}
        ("presence", "presence", "cnn", False, 1, "recovered", {"ism": (0.9, 0.5), "saliency": (0.7, 0.3)}),
        ("presence", "presence", "cnn", False, 2, "recovered", {"ism": (0.8, 0.4), "saliency": (0.6, 0.2)}),
        ("order", "order", "cnn", False, 1, "not recovered", {"ism": (0.7, 0.3), "saliency": (0.5, 0.1)}),
        ("order", "order", "kmer_logistic", False, 1, "not recovered", {"ism": (0.6, 0.2)}),
        ("presence", "presence", "kmer_logistic", False, 1, "undetermined", {"ism": (0.95, 0.6)}),
        ("order", "order", "cnn_null", True, 1, "recovered", {"ism": (0.5, 0.1), "saliency": (0.5, 0.1)}),
        ("presence", "presence", "cnn_null", True, 1, "not recovered", {"ism": (0.5, 0.1)}),
    ]
    for rule, gen_type, model, null, seed, verdict, scores in spec:
        folder = tmp_path / "results" / rule / f"s{seed}" / model
        write_run(folder, gen_type, verdict, model.replace("_null", "").split("_")[0]
                  if model.startswith("cnn") else "kmer_logistic", scores,
                  error=[1, -2] if gen_type == "order" else None)
        out.append(leaderboard.Run(rule, model, seed, folder, null))
    return out


def test_leaderboard_rows_and_tables_from_known_numbers(runs, tmp_path):
    rows = leaderboard.write_all(runs, tmp_path / "board")
    assert len(rows) == 11                      # one per run x method: 2+2+2+1+1+2+1
    with open(tmp_path / "board" / "leaderboard.csv") as fh:
        header = next(csv.reader(fh))
    assert header == leaderboard.COLUMNS
    methods = {(m["method"], m["model"]): m for m in leaderboard.method_table(rows)}
    # trained models only, per model: ism on cnn over 0.9 0.8 0.7, on kmer_logistic over 0.6 0.95;
    # saliency on cnn over 0.7 0.6 0.5; nothing of cnn_null
    assert set(methods) == {("ism", "cnn"), ("ism", "kmer_logistic"), ("saliency", "cnn")}
    assert methods["ism", "cnn"]["auroc_mean"] == pytest.approx(0.8)
    assert methods["ism", "kmer_logistic"]["auroc_mean"] == pytest.approx((0.6 + 0.95) / 2)
    assert methods["ism", "cnn"]["auprc_mean"] == pytest.approx(0.4)
    assert methods["ism", "cnn"]["n"] == 3 and methods["saliency", "cnn"]["n"] == 3
    assert methods["saliency", "cnn"]["auroc_mean"] == pytest.approx(0.6)
    assert methods["saliency", "cnn"]["auroc_low"] == pytest.approx(0.6 - 4.302652729911275 * 0.1 / 3 ** 0.5)
    verdicts = {v["model"]: v for v in leaderboard.verdict_table(rows)}
    # cnn: presence x2 recovered (right), order not recovered (wrong) -> 2/3
    assert (verdicts["cnn"]["runs"], verdicts["cnn"]["correct"]) == (3, 2)
    # kmer_logistic: order not recovered (right), presence undetermined (wrong) -> 1/2
    assert verdicts["kmer_logistic"]["accuracy"] == pytest.approx(0.5)
    assert verdicts["cnn_null"]["accuracy"] == pytest.approx(0.5)
    assert leaderboard.false_recovery_rate(rows) == (0.5, 2)
    order_cnn = next(r for r in rows if r["rule"] == "order" and r["model"] == "cnn")
    assert (order_cnn["gap_window_error_low"], order_cnn["gap_window_error_high"]) == (1, -2)
    text = (tmp_path / "board" / "summary.md").read_text()
    assert "False-recovery rate on null models: 0.50" in text and "| ism | kmer_logistic | 2 | 0.775 |" in text
    assert methods["ism", "kmer_logistic"]["faithfulness"] == pytest.approx((0.3 + 0.475) / 2)
    # auPRC, faithfulness, motifs found and spurious (no --discover_motifs: empty), seconds
    assert f"| 0.400 | {(0.3 + 0.475) / 2:.3f} |  |  | 0.0100 |" in text
    assert "![Localization heat map](localization_heatmap.png)" in text
    assert "![Verdict grid](verdict_grid.png)" in text


# every row follows from the hand-written summary.json and attribution_scores.csv of the fixture
LEADERBOARD_CSV = """\
rule,gen_type,model,model_kind,null,method,seed,test_auroc,verdict,expected_verdict,agrees_with_capability,\
gap_window_error_low,gap_window_error_high,localization_auroc,localization_auprc,seconds_per_seq,learned_verdict,agrees_with_learning,min_effect_share,test_pearson_r,max_term_error,faithfulness,planted_motifs_found,spurious_motifs,motif_patterns
order,order,cnn,cnn,False,ism,1,0.9,not recovered,recovered,False,1.0,-2.0,0.7,0.3,0.01,recovered,False,,,,0.35,,,
order,order,cnn,cnn,False,saliency,1,0.9,not recovered,recovered,False,1.0,-2.0,0.5,0.1,0.01,recovered,False,,,,0.25,,,
order,order,cnn_null,cnn,True,ism,1,0.9,recovered,not recovered,False,1.0,-2.0,0.5,0.1,0.01,not recovered,False,,,,0.25,,,
order,order,cnn_null,cnn,True,saliency,1,0.9,recovered,not recovered,False,1.0,-2.0,0.5,0.1,0.01,not recovered,False,,,,0.25,,,
order,order,kmer_logistic,kmer_logistic,False,ism,1,0.9,not recovered,not recovered,True,1.0,-2.0,0.6,0.2,0.01,not recovered,True,,,,0.3,,,
presence,presence,cnn,cnn,False,ism,1,0.9,recovered,recovered,True,,,0.9,0.5,0.01,recovered,True,,,,0.45,,,
presence,presence,cnn,cnn,False,ism,2,0.9,recovered,recovered,True,,,0.8,0.4,0.01,recovered,True,,,,0.4,,,
presence,presence,cnn,cnn,False,saliency,1,0.9,recovered,recovered,True,,,0.7,0.3,0.01,recovered,True,,,,0.35,,,
presence,presence,cnn,cnn,False,saliency,2,0.9,recovered,recovered,True,,,0.6,0.2,0.01,recovered,True,,,,0.3,,,
presence,presence,cnn_null,cnn,True,ism,1,0.9,not recovered,not recovered,True,,,0.5,0.1,0.01,not recovered,True,,,,0.25,,,
presence,presence,kmer_logistic,kmer_logistic,False,ism,1,0.9,undetermined,recovered,False,,,0.95,0.6,0.01,recovered,False,,,,0.475,,,
"""


def test_leaderboard_csv_and_figure_inputs_are_golden(runs, tmp_path, monkeypatch):
    heatmap, grid = Spy(plots.plot_localization_heatmap), Spy(plots.plot_verdict_grid)
    monkeypatch.setattr(plots, "plot_localization_heatmap", heatmap)
    monkeypatch.setattr(plots, "plot_verdict_grid", grid)
    leaderboard.write_all(runs, tmp_path / "board")
    assert (tmp_path / "board" / "leaderboard.csv").read_text() == LEADERBOARD_CSV
    ((values, pairs, rules, path), _), = heatmap.calls
    assert path == tmp_path / "board" / "localization_heatmap.png"
    assert pairs == ["ism on cnn", "ism on kmer_logistic", "saliency on cnn"] and rules == ["order", "presence"]
    # mean over seeds, trained models only (cnn_null's 0.5 left out): presence ism on cnn = (0.9 + 0.8) / 2
    np.testing.assert_allclose(values, [[0.7, 0.85], [0.6, 0.95], [0.5, 0.65]], atol=1e-12)
    ((cells, path), _), = grid.calls
    assert path == tmp_path / "board" / "verdict_grid.png"
    assert [(c["rule"], c["model"], c["seed"], c["verdict"], c["agrees_with_capability"]) for c in cells] == [
        ("order", "cnn", 1, "not recovered", False), ("order", "cnn_null", 1, "recovered", False),
        ("order", "kmer_logistic", 1, "not recovered", True), ("presence", "cnn", 1, "recovered", True),
        ("presence", "cnn", 2, "recovered", True), ("presence", "cnn_null", 1, "not recovered", True),
        ("presence", "kmer_logistic", 1, "undetermined", False)]


def drawn_figure(monkeypatch):
    """Keep the figure a plots function saves (it is closed otherwise) -> a list that receives it."""
    kept = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: kept.append(fig) or str(path))
    return kept


def test_heatmap_draws_each_cell_on_the_chance_to_one_scale(tmp_path, monkeypatch):
    kept = drawn_figure(monkeypatch)
    plots.plot_localization_heatmap(np.array([[0.85, np.nan], [0.6, 1.0]]),
                                    ["ism on cnn", "saliency on cnn"], ["order", "presence"], tmp_path / "h.png")
    ax = kept[0].axes[0]
    image = ax.images[0]
    assert image.get_clim() == (0.5, 1.0)
    np.testing.assert_array_equal(image.get_array().filled(np.nan), [[0.85, np.nan], [0.6, 1.0]])
    labels = {(t.get_position(), t.get_text(), t.get_color()) for t in ax.texts}
    assert labels == {((0, 0), "0.85", "black"), ((0, 1), "0.60", "white"), ((1, 1), "1.00", "black")}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ism on cnn", "saliency on cnn"]


def test_verdict_grid_colours_one_cell_per_seed_and_outlines_wrong_ones(tmp_path, monkeypatch):
    from matplotlib.colors import to_hex

    kept = drawn_figure(monkeypatch)
    cells = [{"rule": "order", "model": "cnn", "seed": 1, "verdict": "recovered", "agrees_with_capability": True},
             {"rule": "order", "model": "cnn", "seed": 2, "verdict": "undetermined",
              "agrees_with_capability": False}]
    plots.plot_verdict_grid(cells, tmp_path / "v.png")
    patches = kept[0].axes[0].patches
    drawn = [(p.get_x(), p.get_width(), p.get_fill(), to_hex(p.get_facecolor()) if p.get_fill() else None)
             for p in patches]
    assert drawn == [(-0.5, 0.475, True, "#2b8a3e"), (0.0, 0.475, True, "#adb5bd"), (0.0, 0.475, False, None)]


def test_capability():
    assert leaderboard.expected_verdict("kmer_logistic", "order", False) == "not recovered"
    assert leaderboard.expected_verdict("kmer_gbt", "presence", False) == "recovered"
    assert leaderboard.expected_verdict("cnn", "distance", False) == "recovered"
    assert leaderboard.expected_verdict("cnn", "presence", True) == "not recovered"
    assert leaderboard.agrees("undetermined", "not recovered") and not leaderboard.agrees("undetermined", "recovered")


def test_verdicts_are_judged_against_what_the_model_learned(tmp_path):
    """A CNN that stayed at chance and is rightly "not recovered" is wrong for its capability but
    right for what it learned; "weakly learned" is right for a model that learned, and a false
    recovery for a null model."""
    spec = [("at_chance", "cnn", False, "not recovered", 0.52), ("weak", "cnn", False, "weakly learned", 0.7),
            ("weak_null", "cnn_null", True, "weakly learned", 0.5), ("full", "cnn", False, "recovered", 0.99),
            ("weak_called_recovered", "cnn", False, "recovered", 0.7),
            ("strong_called_weak", "cnn", False, "weakly learned", 0.99)]
    shares = {"strong_called_weak": (0.9, 0.7), "small_effects": (0.9, 0.2)}
    spec.append(("small_effects", "cnn", False, "weakly learned", 0.99))   # separates, effects small
    runs = []
    for name, model, null, verdict, auroc in spec:
        folder = tmp_path / name
        write_run(folder, "distance", verdict, "cnn", {"ism": (0.8, 0.4)}, auroc=auroc, shares=shares.get(name, ()))
        runs.append(leaderboard.Run(name, model, 1, folder, null))
    rows = leaderboard.build(runs)
    got = {r["rule"]: (r["expected_verdict"], r["agrees_with_capability"], r["learned_verdict"],
                       r["agrees_with_learning"]) for r in rows}
    assert got == {"at_chance": ("recovered", False, "not recovered", True),
                   "weak": ("recovered", False, "weakly learned", True),
                   "weak_null": ("not recovered", False, "not recovered", False),
                   "full": ("recovered", True, "recovered", True),
                   "weak_called_recovered": ("recovered", True, "weakly learned", False),
                   "strong_called_weak": ("recovered", False, "recovered", False),
                   "small_effects": ("recovered", False, "weakly learned", True)}
    assert {r["rule"]: r["min_effect_share"] for r in rows if r["rule"] in shares} == {
        "strong_called_weak": 0.7, "small_effects": 0.2}
    table = {v["model"]: (v["correct"], v["correct_learning"], v["runs"]) for v in leaderboard.verdict_table(rows)}
    assert table == {"cnn": (2, 4, 6), "cnn_null": (0, 0, 1)}
    assert leaderboard.false_recovery_rate(rows) == (1.0, 1)


def test_activity_rules_expect_an_additive_kmer_model_to_miss_only_the_interaction(tmp_path):
    """kmer_ridge (additive) should recover an activity rule without an interaction and not one
    with it; the CNN every one; the leaderboard carries the test Pearson r and the largest
    relative error of the planted terms."""
    def run(name, model, interaction, verdict, errors):
        folder = tmp_path / name / model
        folder.mkdir(parents=True)
        planted = {"gen_type": "distance" if interaction else "presence", "target": "activity",
                   "activity": {"interaction": interaction,
                                "interaction_applies": "the gap is within [10, 30] bp" if interaction else None}}
        terms = [{"term": f"t{i}", "planted": 1.0, "relative_error": e} for i, e in enumerate(errors)]
        terms.append({"term": "outside", "planted": 0.0, "relative_error": None})
        (folder / "summary.json").write_text(json.dumps({
            "verdict": verdict, "planted_rule": planted, "model_kind": model, "model_test_auroc": None,
            "model_test_pearson_r": 0.9, "found_rule": {}, "activity_terms": terms}))
        return leaderboard.Run(name, model, 1, folder)

    runs = [run("cooperative", "kmer_ridge", 1.0, "not recovered", [-0.2, -1.0]),
            run("cooperative", "cnn", 1.0, "recovered", [0.1, -0.16]),
            run("additive", "kmer_ridge", 0.0, "recovered", [-0.05, 0.12])]
    rows = {(r["rule"], r["model"]): r for r in leaderboard.build(runs)}
    assert {k: (r["expected_verdict"], r["agrees_with_capability"]) for k, r in rows.items()} == {
        ("cooperative", "kmer_ridge"): ("not recovered", True), ("cooperative", "cnn"): ("recovered", True),
        ("additive", "kmer_ridge"): ("recovered", True)}
    assert [rows[k]["max_term_error"] for k in sorted(rows)] == [0.12, 0.16, 1.0]
    assert all(r["test_pearson_r"] == 0.9 for r in rows.values())


def test_capability_table_covers_every_rule_kind_and_logic():
    for kind in planted.GEN_TYPES:
        if kind == "presence":
            for logic in planted.PRESENCE_LOGICS:
                assert f"presence {logic}" in leaderboard.CAPABILITY
        else:
            assert kind in leaderboard.CAPABILITY, f"{kind} has no row in the capability table"
    xor = {"presence_logic": "xor", "pos_motifs": ["A", "B"]}
    assert leaderboard.expected_verdict("kmer_logistic", "presence", False, xor) == "not recovered"
    assert leaderboard.expected_verdict("kmer_gbt", "presence", False, xor) == "recovered"
    assert leaderboard.expected_verdict("kmer_logistic", "presence", False,
                                        {"presence_logic": "xor", "pos_motifs": ["A"]}) == "recovered"
    assert leaderboard.expected_verdict("kmer_logistic", "phasing", False) == "not recovered"
    assert leaderboard.expected_verdict("cnn", "phasing", False) == "recovered"
    assert leaderboard.expected_verdict("kmer_logistic", "copies", False) == "recovered"
    assert leaderboard.expected_verdict("onnx", "position", False) == "recovered"
    inter = {"target": "activity", "activity": {"interaction": 1.0, "interaction_applies": "both present"}}
    assert leaderboard.expected_verdict("kmer_ridge", "presence", False, inter) == "not recovered"
    assert leaderboard.expected_verdict("kmer_gbt", "presence", False, inter) == "recovered"
    assert leaderboard.expected_verdict("kmer_gbt", "distance", False, inter) == "not recovered"
    assert leaderboard.expected_verdict("kmer_ridge", "order", False,
                                        {"target": "activity", "activity": {"interaction": 0.0}}) == "recovered"
