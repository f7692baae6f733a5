"""The benchmark leaderboard: one row per rule x model x method x seed, and the tables a paper shows.

Reads only what each interpretation run wrote: ``summary.json`` (the verdict, the found
gap window and its error, the model's test auROC) and ``attribution_scores.csv`` (each
method's localization auROC / auPRC and seconds per sequence). A run folder's place in the
sweep (rule, model, seed) is given by the caller, e.g. the workflow's folder layout.

What each model kind can learn, and so which verdict is correct ("capability"), is one table,
:data:`CAPABILITY`: a CNN sees motifs, their order, spacing, strands and positions and should
recover every rule; a k-mer model sees only which k-mers occur and how often, so it should
recover presence (xor only with trees) and copy number and must *not* recover order, distance,
orientation, phasing or position; on an activity target an additive one (kmer_ridge) recovers a
rule without an interaction term only; a null model (trained on shuffled labels) learned
nothing: it must never be "recovered".
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from utils import planted
from utils.evaluate import EFFECT_SHARE, STRONG_SEPARATION
from utils.training import CHANCE_AUROC   # below it a model has not left chance: nothing to recover
from utils.folders import ResultsFolder
from utils.io import InputError, read_json, write_rows

DISCOVERY_COLUMNS = ("planted_motifs_found", "spurious_motifs", "motif_patterns")   # NaN without --discover_motifs

COLUMNS = ["rule", "gen_type", "model", "model_kind", "null", "method", "seed", "test_auroc", "verdict",
           "expected_verdict", "agrees_with_capability", "gap_window_error_low", "gap_window_error_high",
           "localization_auroc", "localization_auprc", "seconds_per_seq", "learned_verdict",
           "agrees_with_learning", "min_effect_share", "test_pearson_r", "max_term_error", "faithfulness",
           "planted_motifs_found", "spurious_motifs", "motif_patterns"]    # the last three: --discover_motifs


@dataclass(frozen=True)
class Run:
    """One interpretation run of the sweep and where it sits."""
    rule: str
    model: str            # the model's name in the sweep, e.g. cnn, kmer_logistic, cnn_null
    seed: int
    folder: Path
    null: bool = False


# The model capability table, written once: for each rule (its kind, and for presence its logic;
# for an activity target whether it plants an interaction), the verdict each model family should
# get. Families: "cnn" (any model that sees the sequence itself, the suite's CNN and models from
# elsewhere), "kmer_additive" (kmer_logistic, kmer_ridge: a weighted sum of k-mer counts) and
# "kmer_trees" (kmer_gbt: trees on k-mer counts). K-mer counts see which motifs occur and how
# often (a motif's forward and reverse-complement k-mers alike), never where, in which order,
# on which strand relative to the other, or at which gap.
CAPABILITY_FAMILIES = ("cnn", "kmer_additive", "kmer_trees")
R, N = "recovered", "not recovered"
CAPABILITY: dict[str, tuple[str, str, str]] = {
    #                           cnn kmer_additive kmer_trees
    "presence any":             (R, R, R),
    "presence all":             (R, R, R),    # a threshold on the summed counts
    "presence at_least":        (R, R, R),
    "presence xor":             (R, N, R),    # no weighted sum is high for one motif and low for two
    "order":                    (R, N, N),
    "distance":                 (R, N, N),
    "orientation":              (R, N, N),    # each motif on either strand equally often in both classes
    "phasing":                  (R, N, N),
    "copies":                   (R, R, R),    # counts see copy number
    "code":                     (R, R, R),    # the summed counts of the code's motifs: a weighted count
    "position":                 (R, N, N),
    "activity additive":        (R, R, R),    # each motif's effect per copy: a weighted count
    "activity presence interaction": (R, N, R),   # trees split on both motifs' counts; a sum cannot
    "activity pair interaction": (R, N, N),   # the arrangement is order or spacing: not in the counts
}
del R, N


def model_family(model_kind: str) -> str:
    """The capability family of a model kind (:data:`CAPABILITY_FAMILIES`)."""
    if model_kind == "kmer_gbt":
        return "kmer_trees"
    return "kmer_additive" if model_kind.startswith("kmer") else "cnn"


def capability_key(gen_type: str | None, planted_rule: dict | None = None) -> str | None:
    """The row of :data:`CAPABILITY` a planted rule reads (``planted_rule``: summary.json's
    planted_rule); None for a rule kind the table does not know."""
    rule = planted_rule or {}
    activity = rule.get("activity") if rule.get("target") == "activity" else None
    if activity is not None:
        if not activity.get("interaction") or activity.get("interaction_applies") is None:
            return "activity additive"
        return f"activity {'presence' if gen_type == 'presence' else 'pair'} interaction"
    if gen_type == "presence":
        logic = rule.get("presence_logic") or "any"
        if len(rule.get("pos_motifs") or [None]) <= 1:
            logic = "any"           # one positive motif: every logic is presence
        return f"presence {logic}"
    return gen_type if gen_type in CAPABILITY else None


def expected_verdict(model_kind: str, gen_type: str | None, null: bool, planted_rule: dict | None = None) -> str:
    """The verdict a model of this kind should get on this rule (:data:`CAPABILITY`; a null model,
    trained on shuffled labels, learned nothing and should never recover)."""
    if null:
        return "not recovered"
    key = capability_key(gen_type, planted_rule)
    if key is None:
        return "recovered" if model_family(model_kind) == "cnn" else "not recovered"
    return CAPABILITY[key][CAPABILITY_FAMILIES.index(model_family(model_kind))]


CLAIMS = ("recovered", "weakly learned")   # verdicts that say the model learned the rule


def agrees(verdict: str | None, expected: str) -> bool:
    """A model expected to recover must be "recovered"; one expected not to must make no claim
    (neither "recovered" nor "weakly learned")."""
    return verdict == "recovered" if expected == "recovered" else verdict not in CLAIMS


def learned_verdict(capability: str, test_auroc: float, effect_share: float = math.nan) -> str:
    """The verdict that fits what this model learned, from its test auROC and its effects: one that
    stayed at chance on its own test split (auROC below CHANCE_AUROC) has nothing to recover,
    whatever its kind could learn; one that left chance but separates its test classes weakly
    (auROC below the verdict's STRONG_SEPARATION), or whose smallest required effect is under
    EFFECT_SHARE of its contrast between the classes, learned the rule weakly."""
    if capability != "recovered" or not np.isfinite(test_auroc):
        return capability
    if test_auroc < CHANCE_AUROC:
        return "not recovered"
    if test_auroc < STRONG_SEPARATION or (np.isfinite(effect_share) and effect_share < EFFECT_SHARE):
        return "weakly learned"
    return "recovered"


def agrees_with_learning(verdict: str | None, learned: str) -> bool:
    """Against what was learned: a model that learned strongly must be "recovered"; one that learned
    weakly must not be "recovered" (weakly learned, or not recovered when a test it needs failed);
    one that learned nothing must make no claim of learning."""
    if learned == "recovered":
        return verdict == "recovered"
    if learned == "weakly learned":
        return verdict != "recovered"
    return verdict not in CLAIMS


def _number(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out


def max_term_error(summary: dict) -> float:
    """The largest |relative error| of an activity rule's non-zero planted terms (NaN otherwise)."""
    errors = [abs(_number(t.get("relative_error"))) for t in summary.get("activity_terms") or []
              if t.get("planted") and t.get("relative_error") is not None]
    return max(errors) if errors else float("nan")


def run_rows(run: Run) -> list[dict]:
    """The leaderboard rows of one run: one per attribution method (one row without methods)."""
    summary_path = run.folder / ResultsFolder.SUMMARY
    if not summary_path.exists():
        raise InputError(f"{run.folder} has no summary.json; run Interpret_models.py into it first")
    summary = read_json(summary_path)
    planted = summary.get("planted_rule") or {}
    found = summary.get("found_rule") or {}
    gen_type = planted.get("gen_type")
    kind = summary.get("model_kind") or run.model.replace("_null", "")
    expected = expected_verdict(kind, gen_type, run.null, planted)
    verdict = summary.get("verdict")
    error = found.get("gap_window_error") or [None, None]
    auroc = _number(summary.get("model_test_auroc"))
    shares = [e.get("share") for e in summary.get("effect_shares") or []]
    share = min((_number(v) for v in shares), default=math.nan)
    learned = learned_verdict(expected, auroc, share)
    base = {"rule": run.rule, "gen_type": gen_type, "model": run.model, "model_kind": kind,
            "null": run.null, "seed": run.seed, "test_auroc": auroc,
            "verdict": verdict, "expected_verdict": expected, "agrees_with_capability": agrees(verdict, expected),
            "gap_window_error_low": _number(error[0]), "gap_window_error_high": _number(error[1]),
            "learned_verdict": learned, "agrees_with_learning": agrees_with_learning(verdict, learned),
            "min_effect_share": share, "test_pearson_r": _number(summary.get("model_test_pearson_r")),
            "max_term_error": max_term_error(summary)}
    scores_path = run.folder / ResultsFolder.SCORES_CSV
    methods = []
    if scores_path.exists():
        with open(scores_path, newline="") as fh:
            methods = list(csv.DictReader(fh))
    if not methods:
        return [{**base, "method": "", "localization_auroc": float("nan"), "localization_auprc": float("nan"),
                 "seconds_per_seq": float("nan"), "faithfulness": float("nan"),
                 **{c: float("nan") for c in DISCOVERY_COLUMNS}}]
    return [{**base, "method": m["method"], "localization_auroc": _number(m.get("auroc_mean")),
             "localization_auprc": _number(m.get("auprc_mean")),
             "seconds_per_seq": _number(m.get("seconds_per_seq")),
             "faithfulness": _number(m.get("faithfulness")),
             **{c: _number(m.get(c)) for c in DISCOVERY_COLUMNS}} for m in methods]


def build(runs: Iterable[Run]) -> list[dict]:
    rows = [row for run in runs for row in run_rows(run)]
    return sorted(rows, key=lambda r: (r["rule"], r["model"], r["method"], r["seed"]))


def mean_ci(values: Iterable[float]) -> tuple[float, float, float, int]:
    """Mean and 95% t-interval of the finite values -> (mean, low, high, n)."""
    from scipy import stats

    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(v.mean())
    if n == 1:
        return mean, float("nan"), float("nan"), 1
    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def method_table(rows: list[dict]) -> list[dict]:
    """Per method and model: localization auROC and auPRC over rules and seeds (trained models,
    not nulls). Per model because a method's score is a property of the method on a model: ISM
    on a k-mer model and on a CNN answer different questions, and a method that only runs on
    some models (gradients) would otherwise be compared with another's average over more."""
    out = []
    for method in sorted({r["method"] for r in rows if r["method"]}):
        for model in sorted({r["model"] for r in rows if r["method"] == method and not r["null"]}):
            sel = [r for r in rows if r["method"] == method and r["model"] == model and not r["null"]]
            auroc = mean_ci(r["localization_auroc"] for r in sel)
            auprc = mean_ci(r["localization_auprc"] for r in sel)
            out.append({"method": method, "model": model, "n": auroc[3], "auroc_mean": auroc[0],
                        "auroc_low": auroc[1], "auroc_high": auroc[2], "auprc_mean": auprc[0],
                        "seconds_per_seq": mean_ci(r["seconds_per_seq"] for r in sel)[0],
                        "faithfulness": mean_ci(r.get("faithfulness", float("nan")) for r in sel)[0],
                        **{c: mean_ci(r.get(c, float("nan")) for r in sel)[0] for c in DISCOVERY_COLUMNS}})
    return out


def _runs_of(rows: list[dict]) -> list[dict]:
    """One row per run (rule, model, seed): the verdict columns do not depend on the method."""
    seen, out = set(), []
    for r in rows:
        key = (r["rule"], r["model"], r["seed"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def verdict_table(rows: list[dict]) -> list[dict]:
    """Per model (nulls apart): how often the verdict matches what the model kind can learn, and
    how often it matches what the model did learn (its test auROC)."""
    runs = _runs_of(rows)
    out = []
    for model in sorted({r["model"] for r in runs}):
        sel = [r for r in runs if r["model"] == model]
        right = sum(1 for r in sel if r["agrees_with_capability"])
        learned = sum(1 for r in sel if r.get("agrees_with_learning", r["agrees_with_capability"]))
        out.append({"model": model, "null": sel[0]["null"], "runs": len(sel), "correct": right,
                    "accuracy": right / len(sel), "correct_learning": learned,
                    "accuracy_learning": learned / len(sel)})
    return out


def false_recovery_rate(rows: list[dict]) -> tuple[float, int]:
    """Share of null-model runs called "recovered" or "weakly learned" -> (rate, runs); NaN without
    null runs."""
    nulls = [r for r in _runs_of(rows) if r["null"]]
    if not nulls:
        return float("nan"), 0
    return sum(1 for r in nulls if r["verdict"] in CLAIMS) / len(nulls), len(nulls)


def _fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def summary_markdown(rows: list[dict], figures: dict[str, str]) -> str:
    methods, verdicts = method_table(rows), verdict_table(rows)
    rate, n_null = false_recovery_rate(rows)
    lines = ["# Benchmark summary", "",
             f"{len(_runs_of(rows))} interpretation runs, {len(rows)} leaderboard rows "
             f"(rule x model x method x seed) in `leaderboard.csv`.", "",
             "## Localization by method", "",
             "Mean over rules and seeds of each method's localization auROC against the planted "
             "sites, per model (trained models, not the null models), with its 95% t-interval.", "",
             "Faithfulness: the share of attributed positives whose map supports (signed sum over the site "
             "above the 95th percentile of background windows) the motifs the planted rule needs "
             "(utils.faithfulness).", "",
             "Motifs found / spurious (runs with --discover_motifs): the mean number of planted motifs a modisco "
             "pattern matched at TOMTOM q < 0.05, and of patterns matching no motif in play (utils.motif_discovery).",
             "",
             "| method | model | runs | localization auROC | 95% CI | auPRC | faithfulness | motifs found | "
             "spurious | seconds per sequence |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for m in methods:
        lines.append(f"| {m['method']} | {m['model']} | {m['n']} | {_fmt(m['auroc_mean'])} | "
                     f"[{_fmt(m['auroc_low'])}, {_fmt(m['auroc_high'])}] | {_fmt(m['auprc_mean'])} | "
                     f"{_fmt(m.get('faithfulness'))} | {_fmt(m.get('planted_motifs_found'), 2)} | "
                     f"{_fmt(m.get('spurious_motifs'), 2)} | {_fmt(m['seconds_per_seq'], 4)} |")
    lines += ["", "## Verdict accuracy by model", "",
              "A verdict is correct for the capability when it matches what the model kind can learn: a "
              "CNN should recover every rule, a k-mer model presence only, a null model (shuffled labels) "
              f"nothing. It is correct for what was learned when, besides, a model whose test auROC stayed "
              f"below {CHANCE_AUROC} makes no claim (it learned nothing); one below {STRONG_SEPARATION:g}, or "
              f"whose smallest required effect is under {EFFECT_SHARE:g} of its contrast between the classes, "
              f"is not called recovered (it learned weakly); and one that learned strongly is recovered.", "",
              "| model | null | runs | correct (capability) | accuracy | correct (learned) | accuracy |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for v in verdicts:
        lines.append(f"| {v['model']} | {_fmt(v['null'])} | {v['runs']} | {v['correct']} | {_fmt(v['accuracy'], 2)} | "
                     f"{v['correct_learning']} | {_fmt(v['accuracy_learning'], 2)} |")
    called = round(rate * n_null) if n_null else 0
    lines += ["", f"**False-recovery rate on null models: {_fmt(rate, 2) or 'n/a'}** "
              f"({called} of {n_null} null-model runs called \"recovered\" or \"weakly learned\").", ""]
    for title, name in figures.items():
        lines += [f"![{title}]({name})", ""]
    return "\n".join(lines)


def localization_grid(rows: list[dict]) -> tuple[np.ndarray, list[str], list[str]]:
    """Mean localization auROC over seeds per (method, model) and rule, trained models only.

    Returns ``(grid, pairs, rules)``: grid (P, R) float64, NaN where a pair never ran on a rule;
    ``pairs`` the P row labels ``"<method> on <model>"``, ``rules`` the R rules, both sorted.
    """
    pairs = sorted({(r["method"], r["model"]) for r in rows if r["method"] and not r["null"]})
    rules = sorted({r["rule"] for r in rows})
    grid = np.full((len(pairs), len(rules)), np.nan)
    for i, (m, model) in enumerate(pairs):
        for j, rule in enumerate(rules):
            grid[i, j] = mean_ci(r["localization_auroc"] for r in rows if r["method"] == m
                                 and r["model"] == model and r["rule"] == rule and not r["null"])[0]
    return grid, [f"{m} on {model}" for m, model in pairs], rules


def write_all(runs: Iterable[Run], out_dir: str | Path) -> list[dict]:
    """leaderboard.csv, summary.md and the two figures into ``out_dir``."""
    from utils import plots
    from utils.io import atomic_path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = build(runs)
    write_rows(out / "leaderboard.csv", COLUMNS, rows)
    figures = {"Localization heat map": "localization_heatmap.png", "Verdict grid": "verdict_grid.png"}
    plots.plot_localization_heatmap(*localization_grid(rows), out / figures["Localization heat map"])
    plots.plot_verdict_grid(_runs_of(rows), out / figures["Verdict grid"])
    with atomic_path(out / "summary.md") as tmp:
        Path(tmp).write_text(summary_markdown(rows, figures))
    return rows
