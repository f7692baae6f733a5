"""The rule verdict: each hypothesis test against what the planted rule predicts, and one verdict.

The planted truth comes from a data folder: ``motif_sites.bed`` (every planted motif
instance, 0-based, end exclusive) and ``metadata.json`` (which motifs the rule uses,
``pos_motifs``). Nothing here runs a model; it only compares numbers with that record.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from utils.stats import min_attainable_p


# =============================================================================================
# Verdict: did the model learn the planted rule?
#
# Each hypothesis test gets the effect the planted rule predicts (``expected``), a
# significance call (BH q-value below alpha AND a mean change in probability of at least
# ``min_effect``: with hundreds of sequences a paired test flags shifts too small to
# matter), and whether the two agree. The model "recovered" the rule when every test
# agrees: each effect the rule implies is there, and nothing the rule ignores moves it.
# =============================================================================================
MIN_EFFECT = 0.05
VERDICT_COLUMNS = ["test", "motifs", "n_seqs", "num_perturbs", "mean_delta_prob", "mean_delta_loss",
                   "effect_size", "ci_low", "ci_high", "statistic", "p_value", "q_value",
                   "significant", "expected", "agrees", "underpowered", "test_used"]


def expected_effect(test: str, motifs: str, metadata: Mapping) -> str | None:
    """What the planted rule predicts for a test: 'decrease', 'increase' or 'none' (in probability);
    None when the metadata holds no planted rule."""
    gen_type = metadata.get("gen_type")
    if gen_type not in ("presence", "order", "distance"):
        return None          # no planted rule: nothing is expected, nothing agrees or disagrees
    pos = set(metadata.get("pos_motifs") or [])
    pair = tuple((metadata.get("pos_motifs") or [])[:2])
    if test.startswith("ablate:"):
        return "decrease" if motifs in pos else "none"
    if test.startswith("insert:"):
        return "increase" if gen_type == "presence" and motifs in pos else "none"
    if test.startswith("swap:"):
        if gen_type == "order" and tuple(motifs.split(",")) == pair:
            return "decrease" if test.endswith("positives") else "increase"
        return "none"
    if test.startswith("distance:"):
        return "increase" if gen_type == "distance" and tuple(motifs.split(",")) == pair else "none"
    return "none"


def annotate(rows: list[dict], metadata: Mapping, alpha: float, min_effect: float = MIN_EFFECT) -> list[dict]:
    """Add q_value (Benjamini-Hochberg over all rows), significant, expected and agrees.

    ``agrees`` is None (no verdict) for a row that tested no sequence, and for an
    underpowered row: one whose sequences are too few for its test ever to reach
    ``alpha`` (``underpowered`` is then True); such a row neither agrees nor disagrees.
    """
    from utils.stats import benjamini_hochberg

    q = benjamini_hochberg(np.array([r["p_value"] for r in rows], dtype=np.float64))
    out = []
    for row, qv in zip(rows, q):
        row = dict(row)
        tested = row["n_seqs"] > 0 and np.isfinite(qv)
        underpowered = bool(row["n_seqs"] > 0 and min_attainable_p(row["n_seqs"]) >= alpha)
        significant = bool(tested and qv < alpha and abs(row["mean_delta_prob"]) >= min_effect)
        expected = expected_effect(row["test"], row["motifs"], metadata)
        if not tested or underpowered or expected is None:
            agrees = None
        elif expected == "none":
            agrees = not significant
        else:
            sign_ok = row["mean_delta_prob"] < 0 if expected == "decrease" else row["mean_delta_prob"] > 0
            agrees = significant and sign_ok
        row.update(q_value=float(qv), significant=significant, expected=expected, agrees=agrees,
                   underpowered=underpowered)
        out.append(row)
    return out


def required_tests(metadata: Mapping) -> list[tuple[str, str]]:
    """(test, motifs) rows the planted rule needs before "recovered" can be said.

    presence: ablation of each positive motif; order: both swaps of the pair; distance:
    the inside-vs-outside spacing test of the pair.
    """
    gen_type = metadata.get("gen_type")
    pos = list(metadata.get("pos_motifs") or [])
    if gen_type == "presence":
        return [(f"ablate:{m}", m) for m in pos]
    if gen_type == "order" and len(pos) == 2:
        return [("swap:positives", f"{pos[0]},{pos[1]}"), ("swap:negatives", f"{pos[0]},{pos[1]}")]
    if gen_type == "distance" and len(pos) == 2:
        return [("distance:inside_vs_outside", f"{pos[0]},{pos[1]}")]
    return []


def _failure(r: Mapping, pos: list[str]) -> str:
    """Why a row that disagrees with the planted rule counts against the model."""
    what, d = r["test"], f"{r['mean_delta_prob']:+.3f}"
    if r["expected"] != "none":
        if what.startswith("ablate:"):
            return f"{r['motifs']} unused (ablating it changed the probability by {d}, q={r['q_value']:.2g})"
        if what.startswith("insert:"):
            return f"inserting {r['motifs']} did not raise the probability ({d}, q={r['q_value']:.2g})"
        if what.startswith("swap:"):
            return (f"order unused (swapping {' and '.join(pos)} in {what.split(':')[1]} changed the "
                    f"probability by {d}; the rule needs a change of sign)")
        if what.startswith("distance:"):
            return (f"spacing unused (gaps inside the planted window raised the probability by {d} "
                    f"over gaps outside)")
        return f"{what} disagrees with the planted rule ({d})"
    if what.startswith("swap:"):
        return f"order used although the rule ignores it ({what} {d})"
    if what.startswith("distance:"):
        return f"spacing used although the rule ignores it ({d})"
    if what.startswith("control:"):
        return f"responds to background changes ({what} near {r['motifs']}: {d})"
    return f"decoy {r['motifs']} used ({what} {d})"


_FAILURE_RANK = ("order unused", "spacing unused")


def verdict(rows: list[dict], metadata: Mapping, curve: Mapping | None, alpha: float,
            min_effect: float = MIN_EFFECT) -> dict:
    """summary.json: the planted rule, the rule the model was found to use, one verdict and why.

    - ``not recovered``: some row with a verdict disagrees with the planted rule;
    - ``undetermined``: none disagrees, but a test the rule requires (see :func:`required_tests`)
      did not run, tested no sequence, or had too few sequences to reach significance;
    - ``recovered``: every row with a verdict agrees and every required test ran with power.
    """
    gen_type = metadata.get("gen_type")
    pos = list(metadata.get("pos_motifs") or [])
    tested = [r for r in rows if r.get("agrees") is not None]
    bad_swaps = [r for r in tested if not r["agrees"] and r["test"].startswith("swap:") and r["expected"] != "none"]
    failures = [_failure(r, pos) for r in tested if not r["agrees"] and r not in bad_swaps]
    if bad_swaps:        # one clause for the order rule, with each class's change
        detail = ", ".join(f"{r['test'].split(':')[1]} {r['mean_delta_prob']:+.3f}" for r in bad_swaps)
        failures.append(f"order unused (swapping {' and '.join(pos)} changed the probability of "
                        f"{detail}; the rule needs a change of sign)")
    failures.sort(key=lambda f: next((i for i, k in enumerate(_FAILURE_RANK) if f.startswith(k)),
                                     len(_FAILURE_RANK)))
    missing, weak = [], []
    for test, motifs in required_tests(metadata):
        found_rows = [r for r in rows if r["test"] == test and r["motifs"] == motifs]
        if not found_rows or all(r["n_seqs"] == 0 for r in found_rows):
            missing.append(f"{test} ({motifs})" if test.startswith(("swap:", "distance:")) else test)
        elif all(r.get("agrees") is None for r in found_rows):
            n = max(r["n_seqs"] for r in found_rows)
            weak.append(f"{test} on {n} sequences (its smallest attainable p-value "
                        f"{min_attainable_p(n):.2g} is not below alpha {alpha})")
    # the rule found reads every row that tested sequences with power, planted rule or not
    powered = [r for r in rows if r["n_seqs"] > 0 and not r.get("underpowered") and np.isfinite(r["p_value"])]
    swaps = [r for r in powered if r["test"].startswith("swap:")]
    dist = [r for r in powered if r["test"].startswith("distance:")]
    matter = sorted({r["motifs"] for r in powered if r["significant"] and
                     r["test"].startswith(("ablate:", "insert:"))})
    found = {
        "motifs_that_matter": matter,
        "order_matters": (any(r["significant"] for r in swaps) if swaps else None),
        "spacing_matters": (dist[0]["significant"] if dist else None),
        "gap_window": None, "gap_window_error": None,
    }
    planted_window = ([metadata.get("min_dist"), metadata.get("max_dist")]
                      if gen_type == "distance" else None)
    if curve is not None:
        found["gap_window"] = curve.get("window")
        if curve.get("window") and planted_window:
            found["gap_window_error"] = [curve["window"][0] - planted_window[0],
                                         curve["window"][1] - planted_window[1]]
    found["description"] = describe_found(found)
    if gen_type is None and not pos:
        result = None        # nothing planted to compare with: the report states the rule found
        reason = f"no planted rule to compare with; the model {found['description']}"
    elif failures:
        result, reason = "not recovered", "; ".join(failures)
    elif missing or weak or not required_tests(metadata) or not tested:
        parts = []
        if missing:
            parts.append(f"the planted rule needs {', '.join(missing)}, which did not run on any "
                         f"sequence (rerun with those --tests)")
        if weak:
            parts.append(f"underpowered: {'; '.join(weak)}; test more sequences (--num_seqs)")
        if not required_tests(metadata):
            parts.append("the data's metadata.json names no rule whose tests could be checked")
        if not parts:
            parts.append("no test could be run on these sequences")
        result, reason = "undetermined", "; ".join(parts)
    else:
        result = "recovered"
        reason = (f"all {len(tested)} tests agree with the planted rule: every effect it implies "
                  f"was found and nothing it ignores moved the model")
    return {
        "verdict": result,
        "reason": reason,
        "planted_rule": {
            "description": metadata.get("rule"), "gen_type": gen_type, "pos_motifs": pos,
            "decoy_motifs": metadata.get("decoy_motifs"), "presence_logic": metadata.get("presence_logic"),
            "gap_window": planted_window, "distance_definition": metadata.get("distance_definition"),
        },
        "found_rule": found,
        "alpha": alpha, "min_effect": min_effect,
        "n_tests": len(rows), "n_agree": sum(1 for r in tested if r["agrees"]),
        "n_disagree": sum(1 for r in tested if not r["agrees"]),
        "n_underpowered": sum(1 for r in rows if r.get("underpowered")),
        "required_tests": [t for t, _ in required_tests(metadata)],
    }


def describe_found(found: Mapping) -> str:
    parts = [f"uses {', '.join(found['motifs_that_matter'])}" if found["motifs_that_matter"]
             else "no tested motif matters"]
    if found["order_matters"] is not None:
        parts.append("order matters" if found["order_matters"] else "order does not matter")
    if found["spacing_matters"] is not None:
        parts.append("spacing matters" if found["spacing_matters"] else "spacing does not matter")
    if found["gap_window"]:
        parts.append(f"responds to gaps {found['gap_window'][0]}-{found['gap_window'][1]} bp")
    return "; ".join(parts)


def report_markdown(summary: Mapping, rows: list[dict], model_dir: str, data_dir: str,
                    curve_png: str | None) -> str:
    """report.md: the verdict for a person, with the table and the distance curve."""
    planted, found = summary["planted_rule"], summary["found_rule"]
    if summary["verdict"] is None:
        calling = summary.get("site_calling") or {}
        lines = [
            f"# Interpretation of `{model_dir}`", "",
            f"**Rule found: the model {found['description']}.** No planted rule to compare with, so "
            f"no test has an expected effect and there is no verdict.", "",
            f"- Sequences: `{data_dir}`",
            f"- Motif sites: called by scanning ({calling.get('definition', '')}; p <= "
            f"{calling.get('pvalue')}, both strands); sites per motif: {calling.get('sites_per_motif')}",
        ]
    else:
        lines = [
            f"# Interpretation of `{model_dir}`", "",
            f"**Verdict: {summary['verdict']}.** {summary['reason']}.", "",
            f"- Data: `{data_dir}`",
            f"- Planted rule: {planted['description']}",
            f"- Found: {found['description']}",
        ]
    if found.get("gap_window_error"):
        lines.append(f"- Gap window found {found['gap_window']} vs planted {planted['gap_window']} "
                     f"(error {found['gap_window_error'][0]:+d} / {found['gap_window_error'][1]:+d} bp)")
    lines += ["", f"A test is significant when its Benjamini-Hochberg q-value is below "
              f"{summary['alpha']} and the mean change in probability is at least "
              f"{summary['min_effect']}; `expected` is what the planted rule predicts.", "",
              "| test | motifs | n | mean Δprob | 95% CI | mean Δloss | effect size | p | q | "
              "significant | expected | agrees |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['test']} | {r['motifs']} | {r['n_seqs']} | {_f(r['mean_delta_prob'])} | "
                     f"[{_f(r['ci_low'])}, {_f(r['ci_high'])}] | {_f(r['mean_delta_loss'])} | "
                     f"{_f(r['effect_size'])} | {_g(r['p_value'])} | {_g(r['q_value'])} | "
                     f"{r['significant']} | {r['expected'] or ''} | {'' if r['agrees'] is None else r['agrees']} |")
    if curve_png:
        lines += ["", "## Distance response", "",
                  "Mean probability as the downstream motif is moved so the gap takes each value "
                  "(95% bootstrap band over sequences).", "", f"![distance curve]({curve_png})"]
    return "\n".join(lines) + "\n"


def _f(v) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:+.3f}"


def _g(v) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.2g}"
