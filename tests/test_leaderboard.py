"""The benchmark aggregation, from hand-written per-run files with known numbers."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from utils import leaderboard


def write_run(folder: Path, gen_type: str, verdict: str, kind: str, scores: dict, auroc=0.9, error=None):
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({
        "verdict": verdict, "planted_rule": {"gen_type": gen_type}, "model_kind": kind,
        "model_test_auroc": auroc, "found_rule": {"gap_window_error": error}}))
    with open(folder / "attribution_scores.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["method", "n", "auroc_mean", "auroc_sd", "auprc_mean", "auprc_sd", "seconds_total",
                    "seconds_per_seq"])
        for method, (a, p) in scores.items():
            w.writerow([method, 10, a, 0.1, p, 0.1, 1.0, 0.01])


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
    assert (tmp_path / "board" / "localization_heatmap.png").stat().st_size > 1000
    assert (tmp_path / "board" / "verdict_grid.png").stat().st_size > 1000


def test_capability():
    assert leaderboard.expected_verdict("kmer_logistic", "order", False) == "not recovered"
    assert leaderboard.expected_verdict("kmer_gbt", "presence", False) == "recovered"
    assert leaderboard.expected_verdict("cnn", "distance", False) == "recovered"
    assert leaderboard.expected_verdict("cnn", "presence", True) == "not recovered"
    assert leaderboard.agrees("undetermined", "not recovered") and not leaderboard.agrees("undetermined", "recovered")
