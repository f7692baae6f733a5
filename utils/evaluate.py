"""The rule verdict: each hypothesis test against what the planted rule predicts, and one verdict.

The planted truth is a :class:`utils.planted.PlantedRule`; each row of the experiments
carries its :class:`utils.hypotheses.Hypothesis`, which the rule's expectations and the
verdict match on. Nothing here runs a model; it only compares numbers with the rule.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from utils.hypotheses import ABLATE, CONTROL, COPIES, DISTANCE, FLIP, INSERT, MOVE, SWAP
from utils.planted import MIN_PERIOD, Copies, PlantedRule
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
MIN_EFFECT = 0.05       # probability: the smallest mean change that counts as an effect
MIN_EFFECT_SD = 0.1     # value outputs: the same in standard deviations of the model's test outputs
EFFECT_SHARE = 0.5      # a required effect must move the output by at least this share of the
                        # model's own contrast between the classes (mean positives - negatives)
STRONG_SEPARATION = 0.8  # planted classes are separable by construction: a model whose output
                         # ranks a random test negative above a random positive more often than one
                         # time in five (auROC below 0.8) learned the rule weakly, however its
                         # effects compare with its own (small) contrast
VERDICT_COLUMNS = ["test", "motifs", "n_seqs", "num_perturbs", "mean_delta_output", "mean_delta_loss",
                   "effect_size", "ci_low", "ci_high", "statistic", "p_value", "q_value",
                   "significant", "expected", "agrees", "underpowered", "test_used"]


def resolve_min_effect(requested: float | None, output_kind: str, output_sd: float | None) -> tuple[float, str]:
    """(--min_effect in the output's units, how it was set). A probability moves on a fixed
    scale, so one number serves every classifier; a value output's scale is the model's own
    (activity, log-counts), so the default is a share of the spread of its outputs."""
    if requested is not None:
        return float(requested), f"--min_effect {requested:g}"
    if output_kind != "value":
        return MIN_EFFECT, f"{MIN_EFFECT:g} probability (the default)"
    sd = float(output_sd) if output_sd is not None and np.isfinite(output_sd) else 0.0
    return MIN_EFFECT_SD * sd, (f"{MIN_EFFECT_SD:g} standard deviation of the model's outputs over the test "
                                f"sequences ({MIN_EFFECT_SD:g} x {sd:.4g} = {MIN_EFFECT_SD * sd:.4g} in its units)")


def annotate(rows: list[dict], rule: PlantedRule | None, alpha: float, min_effect: float = MIN_EFFECT) -> list[dict]:
    """Add q_value (Benjamini-Hochberg over all rows), significant, expected and agrees.

    ``expected`` is what ``rule`` predicts for the row's hypothesis (None without a planted
    rule). ``agrees`` is None (no verdict) for an underpowered row: one whose sequences are
    too few for its test ever to reach ``alpha`` (``underpowered`` is then True); such a row
    neither agrees nor disagrees.
    """
    from utils.stats import benjamini_hochberg

    q = benjamini_hochberg(np.array([r["p_value"] for r in rows], dtype=np.float64))
    out = []
    for row, qv in zip(rows, q):
        row = dict(row)
        tested = row["n_seqs"] > 0 and np.isfinite(qv)
        underpowered = bool(row["n_seqs"] > 0 and min_attainable_p(row["n_seqs"]) >= alpha)
        significant = bool(tested and qv < alpha and abs(row["mean_delta_output"]) >= min_effect)
        # an activity rule is judged on its planted terms (activity_verdict): the perturbations of
        # the test sequences stay descriptive there, with no class to expect a change of
        expected = rule.expected(row["hypothesis"]) if rule is not None and rule.activity is None else None
        if not tested or underpowered or expected is None:
            agrees = None
        elif expected == "none":
            agrees = not significant
        else:
            sign_ok = row["mean_delta_output"] < 0 if expected == "decrease" else row["mean_delta_output"] > 0
            agrees = significant and sign_ok
        row.update(q_value=float(qv), significant=significant, expected=expected, agrees=agrees,
                   underpowered=underpowered)
        out.append(row)
    return out


def _failure(r: Mapping, pos: list[str]) -> str:
    """Why a row that disagrees with the planted rule counts against the model: one clause per
    kind of hypothesis, for an effect the rule implies that is missing and for one it does not."""
    h, d = r["hypothesis"], f"{r['mean_delta_output']:+.3f}"
    if r["expected"] != "none":
        if h.kind == ABLATE:
            return f"{r['motifs']} unused (ablating it changed the probability by {d}, q={r['q_value']:.2g})"
        if h.kind == INSERT:
            return f"inserting {r['motifs']} did not raise the probability ({d}, q={r['q_value']:.2g})"
        if h.kind == SWAP:
            return (f"order unused (swapping {' and '.join(pos)} in {h.sequences} changed the "
                    f"probability by {d}; the rule needs a change of sign)")
        if h.kind == DISTANCE and r.get("phasing"):
            return (f"helical phasing unused (in-phase gaps raised the probability by {d} over "
                    f"out-of-phase gaps)")
        if h.kind == DISTANCE:
            return (f"spacing unused (gaps inside the planted window raised the probability by {d} "
                    f"over gaps outside)")
        if h.kind == FLIP:
            return (f"orientation unused (flipping the {h.site} site in {h.sequences} changed the "
                    f"probability by {d}; the rule needs a {r['expected']})")
        return f"{r['test']} disagrees with the planted rule ({d})"
    if h.kind == FLIP:
        return (f"orientation used where the rule keeps the class (flipping the {h.site} site in "
                f"{h.sequences} changed the probability by {d}; the rule expects none)")
    if h.kind == SWAP:
        return f"order used although the rule ignores it ({r['test']} {d})"
    if h.kind == DISTANCE:
        return f"spacing used although the rule ignores it ({d})"
    if h.kind == CONTROL:
        return f"responds to background changes ({r['test']} near {r['motifs']}: {d})"
    return f"decoy {r['motifs']} used ({r['test']} {d})"


_FAILURE_RANK = ("order unused", "spacing unused", "helical phasing", "gap window", "orientation unused",
                 "copy number unused", "copy threshold", "position unused", "region")


def curve_moves(curve: Mapping | None, min_effect: float = MIN_EFFECT) -> bool:
    """Did re-spacing the pair move the model? The mean probability over the gap grid spans at
    least ``min_effect``, the 95% bands of two gaps do not overlap (the change is more than the
    noise between sequences), all over the gaps at least half the sequences took (``supported``),
    and the gaps where it predicts positive are not every gap tested (a
    model blind to spacing answers alike at every gap: its "window" would be the whole grid)."""
    if curve is None or not curve.get("window"):
        return False
    mean = np.asarray(curve["mean"], dtype=np.float64)
    seen = np.isfinite(mean) & np.asarray(curve.get("supported", np.ones(len(mean), dtype=bool)))
    if seen.sum() < 2 or float(mean[seen].max() - mean[seen].min()) < min_effect:
        return False
    low = np.asarray(curve.get("low", mean), dtype=np.float64)[seen]
    high = np.asarray(curve.get("high", mean), dtype=np.float64)[seen]
    if not np.nanmax(low) > np.nanmin(high):
        return False
    gaps = np.asarray(curve["gaps"])[seen]
    return not (curve["window"][0] <= gaps.min() and curve["window"][1] >= gaps.max())


def found_rule(rows: list[dict], curve: Mapping | None, planted_window, min_effect: float = MIN_EFFECT) -> dict:
    """The rule the model was found to use, from the rows that tested sequences with power and
    the distance curve; it claims only what was tested: no gap window unless the curve moved
    (:func:`curve_moves`) and, where the spacing test ran, it found spacing to matter."""
    powered = [r for r in rows if r["n_seqs"] > 0 and not r.get("underpowered") and np.isfinite(r["p_value"])]
    swaps = [r for r in powered if r["hypothesis"].kind == SWAP]
    dist = [r for r in powered if r["hypothesis"].kind == DISTANCE]
    found = {
        "motifs_that_matter": sorted({r["motifs"] for r in powered if r["significant"]
                                      and r["hypothesis"].kind in (ABLATE, INSERT)}),
        "order_matters": (any(r["significant"] for r in swaps) if swaps else None),
        "spacing_matters": (dist[0]["significant"] if dist else None),
        "gap_window": None, "gap_window_error": None,
    }
    # a spacing test that ran and found nothing outweighs the curve's look
    if curve_moves(curve, min_effect) and all(r["significant"] for r in dist):
        found["gap_window"] = list(curve["window"])
        if planted_window:
            found["gap_window_error"] = [curve["window"][0] - planted_window[0],
                                         curve["window"][1] - planted_window[1]]
    flips = [r for r in powered if r["hypothesis"].kind == FLIP]
    found["orientation_matters"] = any(r["significant"] for r in flips) if flips else None
    found["description"] = describe_found(found)
    return found


ACTIVITY_TOLERANCE = 0.25   # a planted term is found when its estimate lies within this share of it:
                            # wide enough for a model fit to noisy labels (noise_sd 0.2 on terms of
                            # 1.0) and PWM draws of varying strength, narrow enough that an additive
                            # model's missing interaction (off by 100%) or a halved effect fails


def planted_terms(rule: PlantedRule) -> list[dict]:
    """Every term an activity rule plants, as the analysis measures it: each motif's effect per
    instance (decoys 0), the interaction inside the arrangement (and 0 outside it), and k copies
    of each positive motif (k x its effect) when up to max_copies > 1 are planted."""
    act = rule.activity
    terms = [{"term": f"effect of {m}", "kind": "effect", "motif": m, "planted": float(v)} for m, v in act.effects]
    if rule.arrangement() is not None:
        terms.append({"term": "interaction inside the arrangement", "kind": "inside", "planted": act.interaction})
        if rule.pair is not None:
            terms.append({"term": "interaction outside the arrangement", "kind": "outside", "planted": 0.0})
    if act.max_copies > 1:
        for m in rule.pos_motifs:
            for k in range(2, act.max_copies + 1):
                terms.append({"term": f"{k} x {m}", "kind": "dose", "motif": m, "copies": k,
                              "planted": k * act.effect(m)})
    return terms


def _measured(term: dict, measured: Mapping) -> float | None:
    if term["kind"] == "effect":
        e = measured["effects"].get(term["motif"])
    elif term["kind"] in ("inside", "outside"):
        e = (measured.get("interaction") or {}).get(term["kind"])
    else:
        e = next((r for r in (measured.get("dose") or {}).get(term["motif"], []) if r["copies"] == term["copies"]),
                 None)
    return None if e is None else float(e["estimate"])


def activity_terms(rule: PlantedRule, measured: Mapping | None, min_effect: float,
                   tolerance: float = ACTIVITY_TOLERANCE) -> list[dict]:
    """Each planted term against its estimate: a non-zero term is found with its sign and within
    ``tolerance`` of its value; a zero term (a decoy, the interaction outside the arrangement, an
    absent interaction) must stay below ``min_effect``."""
    out = []
    for t in planted_terms(rule):
        est = None if measured is None else _measured(t, measured)
        planted = t["planted"]
        if est is None or not np.isfinite(est):
            ok, error = None, None
        elif planted != 0:
            error = (est - planted) / abs(planted)
            ok = bool(np.sign(est) == np.sign(planted) and abs(error) <= tolerance)
        else:
            error = None
            ok = bool(abs(est) < min_effect)
        out.append({**t, "estimate": est, "relative_error": error, "found": ok})
    return out


def _term_failure(t: dict, min_effect: float) -> str:
    if t["planted"] == 0:
        return f"{t['term']} {t['estimate']:+.3f} where none is planted (at least {min_effect:.3g} counts)"
    if t["kind"] == "inside" and abs(t["estimate"]) < 0.5 * abs(t["planted"]):
        return f"interaction missed ({t['estimate']:+.3f}, planted {t['planted']:+g})"
    return f"{t['term']} off by {abs(t['relative_error']) * 100:.0f}% ({t['estimate']:+.3f}, planted {t['planted']:+g})"


def activity_verdict(rule: PlantedRule, measured: Mapping | None, output_kind: str, min_effect: float,
                     tolerance: float = ACTIVITY_TOLERANCE) -> tuple[str, str, list[dict]]:
    """(verdict, reason, terms) of an activity rule: recovered when every planted term is found
    (:func:`activity_terms`), not recovered naming each term that failed, undetermined when the
    analysis did not run or the model's output is not a value in the label's units."""
    terms = activity_terms(rule, measured, min_effect, tolerance)
    if measured is None:
        return "undetermined", ("an activity rule is judged on its terms, measured by the interactions "
                                "experiment, which did not run (add interactions to --tests)"), terms
    if output_kind != "value":
        return "undetermined", (f"the model's output is a {output_kind}, not a value in the label's units, so "
                                f"its effects cannot be compared with the planted terms (--output_kind value "
                                f"if it predicts the activity)"), terms
    failed = [t for t in terms if t["found"] is False]
    missing = [t["term"] for t in terms if t["found"] is None]
    if failed:
        return "not recovered", "; ".join(_term_failure(t, min_effect) for t in failed), terms
    if missing:
        return "undetermined", f"not measured: {', '.join(missing)}", terms
    return "recovered", (f"all {len(terms)} planted terms found: each non-zero term within "
                         f"{tolerance * 100:.0f}% of its planted value with its sign, and each zero term "
                         f"below {min_effect:.3g}"), terms


def measured_terms(measured: Mapping | None, rule: PlantedRule | None = None) -> dict:
    """found_rule's effects, interaction and dose from the global importance analysis
    (:func:`utils.gia.measure`), in its unit (logit for classifiers, the value otherwise), each
    beside its ``planted`` value where an activity rule plants one (None otherwise)."""
    if measured is None:
        return {"effects": None, "interaction": None, "dose": None, "effects_unit": None}
    keep = ("estimate", "ci_low", "ci_high", "p_value", "n")
    act = rule.activity if rule is not None else None
    inter = measured.get("interaction")
    planted_inter = None
    if act is not None and inter is not None and rule.arrangement() is not None:
        planted_inter = act.interaction
    return {
        "effects_unit": measured["unit"],
        "effects": {m: {**{k: e[k] for k in keep}, "planted": act.effect(m) if act is not None else None}
                    for m, e in measured["effects"].items()},
        "interaction": None if inter is None else {
            "pair": inter["pair"], "arrangement": inter["arrangement"],
            "outside_arrangement": inter["outside_arrangement"],
            "inside": None if inter["inside"] is None else {k: inter["inside"][k] for k in keep},
            "outside": None if inter["outside"] is None else {k: inter["outside"][k] for k in keep},
            "planted": planted_inter},
        "dose": {m: [{**r, "planted": r["copies"] * act.effect(m) if act is not None else None} for r in rows]
                 for m, rows in (measured.get("dose") or {}).items()} or None,
    }


def effect_shares(rows: list[dict], required, contrast: float | None) -> list[dict]:
    """Each required test's effect as a share of the model's contrast between the classes: the
    rule says turning a positive into a negative (ablating its motif, swapping its pair, moving
    its gap outside the window) moves the output as far as the model moves between classes."""
    if contrast is None or not np.isfinite(contrast) or contrast <= 0:
        return []
    out = []
    for h in required:
        for r in rows:
            if r["hypothesis"] == h and r.get("agrees"):
                out.append({"test": h.name, "motifs": h.motif_text, "effect": r["mean_delta_output"],
                            "share": abs(r["mean_delta_output"]) / contrast})
    return out


def verdict(rows: list[dict], rule: PlantedRule | None, curve: Mapping | None, alpha: float,
            min_effect: float = MIN_EFFECT, not_run: list[dict] = (), contrast: float | None = None,
            effect_share: float = EFFECT_SHARE, separation: float | None = None,
            strong_separation: float = STRONG_SEPARATION, measured: Mapping | None = None,
            output_kind: str = "probability", truth_table: Mapping | None = None,
            dose_curve: Mapping | None = None, position_curve: Mapping | None = None) -> dict:
    """The planted rule, the rule the model was found to use, one verdict and why.

    - ``not recovered``: some row with a verdict disagrees with the planted rule;
    - ``undetermined``: none disagrees, but a test the rule requires (:meth:`PlantedRule.required`)
      did not run (``not_run`` lists those that found no sequence) or had too few sequences
      to reach significance;
    - ``weakly learned``: as recovered, but some required effect moves the output by less than
      ``effect_share`` of ``contrast``, the model's own contrast between the classes (mean
      output of the test positives minus negatives): the effects point the right way, but the
      rule explains little of what separates the classes for the model; or the model separates
      the classes weakly (``separation``, the auROC of its output between them, below
      ``strong_separation``): a model that barely learned has small effects and a small contrast
      alike, so the share alone cannot tell it from one that learned;
    - ``recovered``: every row with a verdict agrees, every required test ran with power and
      each required effect reaches that share.
    A presence rule with a class target also needs its ``truth_table`` (:func:`utils.gia.truth_table`):
    without one it is undetermined, and one that does not follow the planted logic
    (:func:`truth_table_check`) makes it not recovered, naming the subsets that disagree.
    A copies rule also needs its ``dose_curve`` (:func:`utils.perturb.dose_response`): recovered only
    where the copy threshold found on it is the planted K (:func:`copies_failure`).
    - None: no planted rule to compare with; the rule found is stated.
    """
    pos = list(rule.pos_motifs) if rule is not None else []
    tested = [r for r in rows if r.get("agrees") is not None]
    bad_swaps = [r for r in tested if not r["agrees"] and r["hypothesis"].kind == SWAP and r["expected"] != "none"]
    bad_flips = [r for r in tested if not r["agrees"] and r["hypothesis"].kind == FLIP and r["expected"] != "none"]
    bad_copies = [r for r in tested if not r["agrees"] and r["hypothesis"].kind == COPIES]
    bad_moves = [r for r in tested if not r["agrees"] and r["hypothesis"].kind == MOVE and r["expected"] != "none"]
    phasing = rule is not None and rule.kind == "phasing"
    failures = [_failure({**r, "phasing": phasing}, pos) for r in tested
                if not r["agrees"] and r not in bad_swaps and r not in bad_flips and r not in bad_copies
                and r not in bad_moves]
    if bad_moves:        # one clause for the position rule, with each class's change
        detail = ", ".join(f"{'out of the region in positives' if r['hypothesis'].label == 1 else 'into it in negatives'}"
                           f" {r['mean_delta_output']:+.3f}" for r in bad_moves)
        failures.append(f"position unused (moving {pos[0]} changed the probability by: {detail}; the rule needs a "
                        f"decrease out of the region and an increase into it)")
    if bad_flips:        # one clause for the orientation rule, with each flip's change
        groups = {"positives": "positives", "negatives_made_positive": "negatives made positive"}
        detail = ", ".join(f"{r['hypothesis'].site} in {groups[r['test'].split(':')[2]]} "
                           f"{r['mean_delta_output']:+.3f}" for r in bad_flips)
        failures.append(f"orientation unused (flipping one site of {' and '.join(pos)} changed the probability "
                        f"by: {detail}; the rule needs a decrease in positives and an increase in the "
                        f"negatives one flip makes positive)")
    if bad_swaps:        # one clause for the order rule, with each class's change
        detail = ", ".join(f"{r['hypothesis'].sequences} {r['mean_delta_output']:+.3f}" for r in bad_swaps)
        failures.append(f"order unused (swapping {' and '.join(pos)} changed the probability of "
                        f"{detail}; the rule needs a change of sign)")
    failures.sort(key=lambda f: next((i for i, k in enumerate(_FAILURE_RANK) if f.startswith(k)),
                                     len(_FAILURE_RANK)))
    required = rule.required() if rule is not None else []
    missing, weak = [], []
    for h in required:
        found_rows = [r for r in rows if r["hypothesis"] == h]
        if not found_rows:
            missing.append(f"{h.name} ({h.motif_text})" if h.kind in (SWAP, DISTANCE) else h.name)
        elif all(r.get("agrees") is None for r in found_rows):
            n = max(r["n_seqs"] for r in found_rows)
            weak.append(f"{h.name} on {n} sequences (its smallest attainable p-value "
                        f"{min_attainable_p(n):.2g} is not below alpha {alpha})")
    found = found_rule(rows, curve, rule.gap_window if rule is not None else None, min_effect)
    found.update(measured_terms(measured, rule))
    if rule is not None and rule.activity is not None:
        result, reason, terms = activity_verdict(rule, measured, output_kind, min_effect)
        return _verdict_record(result, reason, rule, found, rows, alpha, min_effect, not_run, [],
                               contrast, separation, effect_share, strong_separation, terms)
    if rule is not None and rule.kind == "phasing":
        # a spacing test that ran and found nothing outweighs the curve's look, as for a gap window
        spaced = all(r["significant"] for r in rows if r["hypothesis"].kind == DISTANCE)
        found.update(phasing_found(rule, curve if spaced else None, min_effect))
        found["gap_window"] = found["gap_window_error"] = None    # a phasing rule has no one window
        found["description"] = describe_found(found)
    if isinstance(rule, Copies):             # copies, and a code (its motifs counted together)
        found.update(copies_found(rule, dose_curve, min_effect))
        found["description"] = describe_found(found)
        if dose_curve is None:
            missing.append("copies:dose_response")
    if rule is not None and rule.kind == "position":
        found.update(position_found(rule, position_curve, min_effect))
        found["description"] = describe_found(found)
    window = window_failure(rule, rows, found) or phase_failure(rule, rows, found) \
        or copies_failure(rule, rows, found, bad_copies) or region_failure(rule, rows, found)
    if window:
        failures.append(window)
        failures.sort(key=lambda f: next((i for i, k in enumerate(_FAILURE_RANK) if f.startswith(k)),
                                         len(_FAILURE_RANK)))
    if rule is not None and rule.kind == "presence":        # every presence logic is judged on its table
        found["truth_table"] = truth_table_check(rule, truth_table, min_effect)
        if found["truth_table"] is None:
            missing.append("truth_table")
        elif not found["truth_table"]["follows"]:
            failures.append(found["truth_table"]["reason"])
    if rule is None:
        result = None        # nothing planted to compare with: the report states the rule found
        reason = f"no planted rule to compare with; {found['description']}"
    elif failures:
        result, reason = "not recovered", "; ".join(failures)
    elif missing or weak or not tested:
        parts = []
        if missing:
            parts.append(f"the planted rule needs {', '.join(missing)}, which did not run on any "
                         f"sequence (rerun with those --tests)")
        if weak:
            parts.append(f"underpowered: {'; '.join(weak)}; test more sequences (--num_seqs)")
        if not parts:
            parts.append("no test could be run on these sequences")
        result, reason = "undetermined", "; ".join(parts)
    else:
        small = [e for e in effect_shares(rows, required, contrast) if e["share"] < effect_share]
        blurred = separation is not None and np.isfinite(separation) and separation < strong_separation
        if small or blurred:
            parts = []
            if small:
                detail = ", ".join(f"{e['test']} {e['effect']:+.3f} ({e['share']:.2f} of it)" for e in small)
                parts.append(f"the effects it requires are small against the model's own contrast between "
                             f"the classes ({contrast:+.3f}): {detail}; a learned rule moves the output by at "
                             f"least {effect_share:g} of it")
            if blurred:
                parts.append(f"the model separates the classes weakly: auROC {separation:.3f} between the test "
                             f"positives and negatives, where a learned rule reaches {strong_separation:g}")
            result = "weakly learned"
            reason = "every test agrees with the planted rule, but " + "; and ".join(parts)
        else:
            result = "recovered"
            reason = (f"all {len(tested)} tests agree with the planted rule: every effect it implies "
                      f"was found and nothing it ignores moved the model")
    return _verdict_record(result, reason, rule, found, rows, alpha, min_effect, not_run, required, contrast,
                           separation, effect_share, strong_separation)


def _verdict_record(result, reason, rule, found, rows, alpha, min_effect, not_run, required, contrast,
                    separation, effect_share, strong_separation, terms=None) -> dict:
    """summary.json's verdict fields; ``terms``: an activity rule's planted terms against their estimates."""
    no_rule = {"description": None, "gen_type": None, "pos_motifs": [], "decoy_motifs": None,
               "presence_logic": None, "gap_window": None, "distance_definition": None}
    tested = [r for r in rows if r.get("agrees") is not None]
    out = {
        "verdict": result,
        "reason": reason,
        "planted_rule": rule.summary() if rule is not None else no_rule,
        "found_rule": found,
        "alpha": alpha, "min_effect": min_effect,
        "n_tests": len(rows), "n_agree": sum(1 for r in tested if r["agrees"]),
        "n_disagree": sum(1 for r in tested if not r["agrees"]),
        "n_underpowered": sum(1 for r in rows if r.get("underpowered")),
        "required_tests": [h.name for h in required],
        "class_contrast": contrast,
        "effect_shares": effect_shares(rows, required, contrast),
        "effect_share_needed": effect_share,
        "class_separation": separation,
        "separation_needed": strong_separation,
        "not_run": list(not_run),
    }
    if terms is not None:
        out["activity_terms"] = terms
        out["activity_tolerance"] = ACTIVITY_TOLERANCE
    return out


def window_failure(rule: PlantedRule | None, rows: list[dict], found: Mapping) -> str | None:
    """A spacing rule is learned only where the model's window is the planted one: when the
    spacing test agrees (gaps inside the planted window raise the output), the window found on
    the curve must match the planted window within the rule's tolerance; else the clause why."""
    if rule is None or rule.gap_window is None:
        return None
    spacing = [r for r in rows if r["hypothesis"].kind == DISTANCE and r.get("agrees")]
    if not spacing:
        return None            # the spacing test disagreed or did not run: said elsewhere
    planted = f"{rule.gap_window[0]}-{rule.gap_window[1]} bp"
    tol = f"each edge within {rule.window_tolerance} bp"
    if found.get("gap_window") is None:
        return (f"gap window not found (gaps inside the planted window {planted} raise the output, but "
                f"the distance curve shows no window of its own; {tol})")
    if rule.window_matches(found["gap_window"]):
        return None
    lo, hi = found["gap_window"]
    return f"gap window found {lo}-{hi} bp, planted {planted} ({tol})"


def position_found(rule: PlantedRule, curve: Mapping | None, min_effect: float = MIN_EFFECT) -> dict:
    """A position rule's reading of the position-response curve: the region found (the longest run of
    starts at or above the curve's mid-level, :func:`utils.perturb.found_region`) and its error per
    edge against the planted one, claimed only when moving A moved the model (:func:`curve_moves`)."""
    out = {"region": None, "region_error": None, "position_curve_moves": None}
    if curve is None:
        return out
    region = curve.get("region")
    as_gaps = {"gaps": curve["starts"], "mean": curve["mean"], "low": curve["low"], "high": curve["high"],
               "supported": curve.get("supported"), "window": None if region is None else [region[0], region[1] - 1]}
    out["position_curve_moves"] = moves = curve_moves(as_gaps, min_effect)
    if moves and region is not None:
        out["region"] = [int(region[0]), int(region[1])]
        out["region_error"] = [int(region[0]) - rule.region[0], int(region[1]) - rule.region[1]]
    return out


def region_failure(rule: PlantedRule | None, rows: list[dict], found: Mapping) -> str | None:
    """A position rule is learned only where the model's region is the planted one: when the move tests
    agree, each edge of the region found on the position curve must lie within REGION_TOLERANCE_BP of
    the planted one; else the clause why."""
    from utils.planted import REGION_TOLERANCE_BP

    if rule is None or rule.kind != "position":
        return None
    if not any(r["hypothesis"].kind == MOVE and r.get("agrees") for r in rows):
        return None            # the moves disagreed or did not run: said elsewhere
    planted = f"[{rule.region[0]}, {rule.region[1]})"
    if found.get("region") is None:
        return (f"region not found (moving {rule.motif} changes the output, but the position curve shows no "
                f"region of its own; planted {planted})")
    if rule.region_matches(found["region"]):
        return None
    a, b = found["region"]
    return f"region found [{a}, {b}), planted {planted} (each edge within {REGION_TOLERANCE_BP} bp)"


def phasing_found(rule: PlantedRule | None, curve: Mapping | None, min_effect: float = MIN_EFFECT) -> dict:
    """A phasing rule's reading of the distance curve: its period and phase (the least-squares
    sinusoid over the gaps the data planted, in phase and out of phase, where at least half the
    sequences could take the gap: :func:`utils.stats.curve_period`; then refined to the spacing of
    the curve's peaks, :func:`utils.stats.peak_period`, where two or more stand above the curve's
    mid-level) and, for every multiple of the
    planted period in the window, whether its in-phase gaps respond (their mean reaches the level
    half-way between the lowest and highest of those gaps: :func:`utils.perturb.response_level`).
    Empty for other rules or without a curve."""
    from utils.perturb import response_level
    from utils.stats import curve_period, peak_period

    if rule is None or rule.kind != "phasing":
        return {}
    out = {"period": None, "phase": None, "period_fit_explained": None, "period_sinusoid": None, "peaks": None,
           "turns": [], "turn_level": None}
    if curve is None:
        return out
    gaps = np.asarray(curve["gaps"])
    mean = np.asarray(curve["mean"], dtype=np.float64)
    supported = np.asarray(curve.get("supported", np.ones(len(gaps), dtype=bool)), dtype=bool)
    inside, outside = rule.spacing_masks(gaps)
    used = (inside | outside) & supported & np.isfinite(mean)
    moves = curve_moves(curve, min_effect)
    fit = curve_period(gaps[used], mean[used], min_period=MIN_PERIOD) if moves else None
    level = response_level(mean[used]) if used.any() else None
    if fit is not None:
        p = fit["period"]
        out.update(period=p, phase=float((fit["phase"] + p / 2) % p - p / 2),
                   period_fit_explained=fit["explained"], period_sinusoid=p)
        peaks = peak_period(gaps[used], mean[used], p, level)
        if peaks is not None:           # the peaks' own spacing refines the sinusoid's period
            out.update(period=peaks["period"], phase=peaks["phase"], peaks=peaks["peaks"])
    for m in rule.multiples:
        near = used & inside & (np.abs(gaps - m) <= rule.phase_tolerance + 1e-9)
        response = float(mean[near].mean()) if near.any() else None
        out["turns"].append({"multiple": m, "gaps": gaps[near].tolist(), "response": response,
                             "responds": None if response is None or level is None or not moves
                             else bool(response >= level)})
    out["turn_level"] = level
    return out


def phase_failure(rule: PlantedRule | None, rows: list[dict], found: Mapping) -> str | None:
    """A phasing rule is learned only where the model's curve repeats with the planted period: when
    the spacing test agrees (in-phase gaps raise the output over out-of-phase ones), the period
    found must lie within the rule's period tolerance, its peaks within the phase tolerance (at
    least 1 bp) of the multiples, and every turn in the window must respond; else the clause why."""
    if rule is None or rule.kind != "phasing":
        return None
    spacing = [r for r in rows if r["hypothesis"].kind == DISTANCE and r.get("agrees")]
    if not spacing:
        return None            # the spacing test disagreed or did not run: said elsewhere
    if found.get("period") is None:
        return "helical phasing not found (the distance curve has no period over the planted gaps)"
    parts = []
    if abs(found["period"] - rule.period) > rule.period_tolerance:
        parts.append(f"period found {found['period']:.2f} bp, planted {rule.period:g} bp (within "
                     f"{rule.period_tolerance:.2g} bp)")
    phase_tol = max(rule.phase_tolerance, 1.0)
    if not parts and abs(found["phase"]) > phase_tol:
        parts.append(f"peaks {found['phase']:+.1f} bp off the multiples of {rule.period:g} bp (within "
                     f"{phase_tol:g} bp)")
    silent = [t for t in found.get("turns", []) if t["responds"] is False]
    if silent:
        listed = ", ".join(f"{t['multiple']:g}" for t in silent)
        parts.append(f"in-phase gaps near {listed} bp do not respond (below the curve's mid-level "
                     f"{found['turn_level']:.3f})")
    return ("helical phasing off: " + "; ".join(parts)) if parts else None


def _band_moves(mean, low, high, seen, min_effect: float) -> bool:
    """Does a response curve move over the points ``seen``: its mean spans at least ``min_effect``
    and the 95% bands of two points do not overlap?"""
    if seen.sum() < 2 or float(mean[seen].max() - mean[seen].min()) < min_effect:
        return False
    return bool(np.nanmax(low[seen]) > np.nanmin(high[seen]))


def copies_found(rule: PlantedRule | None, dose: Mapping | None, min_effect: float = MIN_EFFECT) -> dict:
    """A copies rule's reading of the dose-response curve: whether the count matters at all
    (``copy_number_used``: the curve moves over the counts from 1 up, where presence alone answers
    alike), the threshold (the smallest count reaching the curve's mid-level,
    :func:`utils.perturb.copy_threshold`, claimed only where the curve moves) and the curve itself
    for summary.json. Empty for other rules or without a curve."""
    if not isinstance(rule, Copies) or dose is None:
        return {}
    counts = np.asarray(dose["counts"])
    mean, low, high = (np.asarray(dose[k], dtype=np.float64) for k in ("mean", "low", "high"))
    seen = np.isfinite(mean)
    moves = _band_moves(mean, low, high, seen, min_effect)
    used = _band_moves(mean, low, high, seen & (counts >= 1), min_effect)

    def listed(v):
        return [None if not np.isfinite(e) else float(e) for e in v]
    return {"copy_threshold": dose["threshold"] if moves else None, "copy_number_used": used,
            "dose_curve": {"motif": dose["motif"], "counts": counts.tolist(), "mean": listed(mean),
                           "low": listed(low), "high": listed(high), "n": np.asarray(dose["n"]).tolist(),
                           "level": float(dose["level"]) if np.isfinite(dose["level"]) else None,
                           "definition": (("mean output of test sequences (both classes) with their slots for "
                                           "the positive motifs set to each count of positive-motif instances, "
                                           "the rest look-alikes, decoys untouched" if rule.kind == "code" else
                                           "mean output of test sequences (both classes) with their A-like "
                                           "slots set to each count of real copies, the rest look-alikes") +
                                          "; 95% bootstrap band over sequences; the threshold is the smallest count "
                                          "reaching the level half-way between the curve's lowest and highest "
                                          "mean")}}


def copies_failure(rule: PlantedRule | None, rows: list[dict], found: Mapping, bad: list[dict]) -> str | None:
    """A copies rule is learned only where the model counts: its dose-response curve moves between
    counts of 1 and more, its threshold is the planted K, and the remove-one / add-one tests agree;
    else one clause naming what disagrees."""
    if not isinstance(rule, Copies) or "dose_curve" not in found:
        return None
    k, a = rule.min_copies, rule.counted_text
    curve = found["dose_curve"]
    means = ", ".join(f"{c}: {m:.3f}" for c, m in zip(curve["counts"], curve["mean"]) if m is not None)
    tests = "; ".join(f"{r['test']} {r['mean_delta_output']:+.3f} ({r['expected']} expected)" for r in bad)
    tail = f"; {tests}" if tests else ""
    if not found["copy_number_used"]:
        return (f"copy number unused (the model answers alike at every count of {a} from 1 to "
                f"{max(curve['counts'])}: mean output by count {means}{tail})")
    if found["copy_threshold"] != k:
        return (f"copy threshold at {found['copy_threshold']}, planted {k} (mean output by count of {a}: "
                f"{means}; mid-level {curve['level']:.3f}{tail})")
    if bad:
        return f"copy number tests disagree with the planted threshold {k}: {tests}"
    return None


def describe_found(found: Mapping) -> str:
    """The rule found, as a sentence that reads right whatever was (or was not) found."""
    parts = [f"the model uses {', '.join(found['motifs_that_matter'])}" if found["motifs_that_matter"]
             else "no tested motif changes the model's output"]
    if found["order_matters"] is not None:
        parts.append("order matters" if found["order_matters"] else "order does not matter")
    if found["spacing_matters"] is not None:
        parts.append("spacing matters" if found["spacing_matters"] else "spacing does not matter")
    if found["gap_window"]:
        parts.append(f"re-spaced, the pair is called positive at gaps {found['gap_window'][0]}-"
                     f"{found['gap_window'][1]} bp")
    if found.get("orientation_matters") is not None:
        parts.append("orientation matters" if found["orientation_matters"] else "orientation does not matter")
    if found.get("copy_number_used") is not None:
        parts.append(f"the copy number matters, threshold {found['copy_threshold']} copies"
                     if found["copy_number_used"] else "the copy number does not matter beyond presence")
    if found.get("region") is not None:
        parts.append(f"moved along the sequence, it is called positive at starts [{found['region'][0]}, "
                     f"{found['region'][1]})")
    elif found.get("position_curve_moves") is False:
        parts.append("where it stands does not matter")
    if found.get("period") is not None:
        parts.append(f"its distance curve repeats every {found['period']:.2f} bp, peaks {found['phase']:+.1f} bp "
                     f"from the multiples")
    return "; ".join(parts)


# =============================================================================================
# The truth table of a presence rule (utils.gia.truth_table): every subset of the positive motifs
# embedded in the same backgrounds, the model's mean output per subset against the planted logic.
#
# Read in probability for classifiers (in its own units for a value output): each subset's mean
# is placed on the table's own range, from its lowest subset to its highest. A planted-negative
# subset must lie in the lowest third of that range and a planted-positive subset in the highest
# third, and the range must reach the smallest effect that counts (min_effect). A third, because
# a model that adds the motifs up (or cannot tell AND from OR) puts the single-motif subsets of an
# AND rule halfway between none and all, in the middle third (sigmoid(-2 + 2 x count): 0.12, 0.50,
# 0.88, the singles exactly at the middle), while a model that computes the logic puts each subset
# near its class's end; a third on each side leaves a subset of a weak motif room to fall short of
# the extreme. The midpoint alone would pass the halfway model (0.5 is on neither side), and class
# means would let the halfway subsets pull the negative mean towards them.
# =============================================================================================
TABLE_SIDE_SHARE = 1 / 3


def subset_name(motifs) -> str:
    return "none" if not motifs else "{" + ", ".join(motifs) + "}"


def truth_table_check(rule: PlantedRule, table: Mapping | None, min_effect: float = MIN_EFFECT,
                      side_share: float = TABLE_SIDE_SHARE) -> dict | None:
    """The truth table against the planted logic -> {follows, reason, lowest_third_max,
    highest_third_min, subsets (each with its position on the range and whether it agrees)};
    None without a table."""
    if table is None:
        return None
    rows = [dict(r) for r in table["subsets"]]
    means = np.array([r["mean"] for r in rows], dtype=np.float64)
    lo_i, hi_i = int(np.argmin(means)), int(np.argmax(means))
    lo, hi = float(means[lo_i]), float(means[hi_i])
    span = hi - lo
    neg_top, pos_bottom = lo + side_share * span, hi - side_share * span
    fmt = (lambda v: f"{v:.3f}") if table.get("unit") == "probability" else (lambda v: f"{v:.3g}")
    logic = rule.logic_text() if hasattr(rule, "logic_text") else rule.presence_logic
    for r, v in zip(rows, means):
        r["position"] = float((v - lo) / span) if span > 0 else None
        r["agrees"] = bool(span >= min_effect and (v <= neg_top if r["planted_class"] == 0 else v >= pos_bottom))
    anchors = f"{subset_name(rows[lo_i]['motifs'])} ({fmt(lo)}) and {subset_name(rows[hi_i]['motifs'])} ({fmt(hi)})"
    reason = None
    if span < min_effect:
        reason = (f"the truth table does not follow {logic}: its subsets span only {fmt(span)}, between {anchors}, "
                  f"less than the {min_effect:.3g} an effect needs")
    else:
        parts = []
        for cls, where, bound in ((0, "above the lowest", f"at most {fmt(neg_top)}"),
                                  (1, "below the highest", f"at least {fmt(pos_bottom)}")):
            bad = [r for r in rows if r["planted_class"] == cls and not r["agrees"]]
            if bad:
                listed = " and ".join(f"{subset_name(r['motifs'])} {fmt(r['mean'])}" for r in bad)
                of_range = "" if parts else f" of the range between {anchors}"
                parts.append(f"{listed} (planted {'negative' if cls == 0 else 'positive'}) "
                             f"{'sit' if len(bad) > 1 else 'sits'} {where} third{of_range} ({bound})")
        if parts:
            reason = f"the truth table does not follow {logic}: " + "; ".join(parts)
    return {"follows": reason is None, "reason": reason, "unit": table.get("unit"),
            "n_backgrounds": table.get("n_backgrounds"), "motifs": list(table.get("motifs", [])),
            "side_share": side_share, "lowest_third_max": neg_top, "highest_third_min": pos_bottom,
            "criterion": (f"each planted-negative subset in the lowest {side_share:.3g} of the range between the "
                          f"table's lowest and highest subsets, each planted-positive subset in the highest "
                          f"{side_share:.3g}, and that range at least min_effect ({min_effect:.3g})"),
            "subsets": rows}
