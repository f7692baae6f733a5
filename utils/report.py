"""The report of an interpretation run: summary.json and report.md, assembled in one place.

:func:`summary` puts the verdict (:func:`utils.evaluate.verdict`), the run's provenance and the
attribution scores into summary.json's dict; :func:`markdown` writes report.md for a person:
the verdict or the rule found, the table of hypothesis tests, the tests that could not run,
the distance curve and the attribution maps. Every sentence reads right when nothing was
found and when there is no planted rule to compare with.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from utils.evaluate import subset_name
from utils.folders import ResultsFolder
from utils.io import write_csv


def summary(verdict: Mapping, *, model: str, data: str, n_test_seqs: int, num_perturbs: int, seed: int,
            model_kind: str | None, metrics: Mapping | None = None, site_calling: Mapping | None = None,
            scores: list[dict] | None = None, truth: bool = True, notes: Iterable[str] = (),
            discovery: Mapping | None = None, attribution_settings: Mapping | None = None) -> dict:
    """summary.json: the verdict and the rule found, then what was run on what.

    ``metrics`` is the model folder's metrics.json (its test auROC is copied for the benchmark
    leaderboard); ``scores`` the attribution rows: localization against the planted sites when
    ``truth``, else attribution mass per motif; ``discovery`` each method's motif discovery
    (:mod:`utils.motif_discovery`), as ``motif_discovery``; ``attribution_settings`` how the
    maps were made (references, gradient correction, per-position score), kept beside the scores.
    """
    out = dict(verdict)
    out.update(model=model, data=data, n_test_seqs=n_test_seqs, num_perturbs=num_perturbs, seed=seed)
    out["model_kind"] = model_kind
    if metrics is not None:
        test = metrics.get("test") or {}
        out["model_test_auroc"] = test.get("auroc")
        if test.get("pearson_r") is not None:         # a regression's metrics.json (activity targets)
            out["model_test_pearson_r"] = test.get("pearson_r")
    if site_calling:
        out["site_calling"] = dict(site_calling)
    if scores:
        if truth:
            out["attribution"] = {r["method"]: {k: r[k] for k in ("n", "auroc_mean", "auprc_mean", "seconds_per_seq")}
                                  for r in scores}
        else:
            out["attribution_mass"] = {f"{r['method']}:{r['motif']}": {k: r[k] for k in ("n", "mass_mean", "site_share")}
                                       for r in scores}
        if attribution_settings:
            out["attribution_settings"] = dict(attribution_settings)
    out["attribution_notes"] = list(notes)
    if discovery:          # --discover_motifs: utils.motif_discovery.Discovery.summary() per method
        out["motif_discovery"] = dict(discovery)
    return out


def write_distance_curve(folder: Path, curve: dict, planted_window, phase_spans=None) -> str:
    """distance_curve.csv and .png: gap -> mean probability with its 95% band, the planted and
    found windows drawn (a phasing rule's in-phase gaps, ``phase_spans``, instead of a window);
    returns the figure's name (for report.md's link)."""
    from utils.plots import plot_distance_curve

    write_csv(folder / ResultsFolder.DISTANCE_CSV, ["gap", "mean_prob", "ci_low", "ci_high", "n_seqs"],
              [curve["gaps"].tolist(), curve["mean"], curve["low"], curve["high"], curve["n"].tolist()])
    plot_distance_curve(folder / ResultsFolder.DISTANCE_PNG, curve["gaps"], curve["mean"], curve["low"],
                        curve["high"], curve["pair"], planted_window,
                        None if phase_spans else curve["window"], phase_spans)
    return ResultsFolder.DISTANCE_PNG


def write_dose_curve(folder: Path, dose: Mapping, found: Mapping, output_kind: str = "probability") -> str:
    """dose_curve.csv and .png of a copies rule: number of copies -> mean output with its 95% band,
    the planted and found thresholds drawn; returns the figure's name (for report.md's link)."""
    from utils.plots import plot_dose_curve

    write_csv(folder / ResultsFolder.DOSE_CSV, ["copies", "mean_output", "ci_low", "ci_high", "n_seqs"],
              [np.asarray(dose["counts"]).tolist(), dose["mean"], dose["low"], dose["high"],
               np.asarray(dose["n"]).tolist()])
    plot_dose_curve(folder / ResultsFolder.DOSE_PNG, dose["counts"], dose["mean"], dose["low"], dose["high"],
                    dose["motif"], dose.get("planted_threshold"), found.get("copy_threshold"), dose.get("level"),
                    "model probability" if output_kind != "value" else "model output")
    return ResultsFolder.DOSE_PNG


def dose_section(found: Mapping, planted: Mapping, dose_png: str | None = None) -> list[str]:
    """report.md's dose-response curve of a copies rule: the mean output per number of copies, the
    threshold found against the planted one."""
    curve = found.get("dose_curve")
    if not curve:
        return []
    slots = (f"their {planted.get('max_copies')} slots set to each number of instances of the positive motifs "
             f"({curve['motif'].replace(',', ', ')}; the other slots hold look-alikes, decoys untouched)"
             if planted.get("gen_type") == "code"
             else f"their {curve['motif']}-like slots set to each number of real copies (the other slots hold "
                  f"look-alikes)")
    lines = ["", "## Dose response (copies)", "",
             f"Test sequences of both classes with {slots}, mean output with a 95% bootstrap band over "
             f"sequences. Planted threshold: {planted.get('min_copies')} copies.", ""]
    if not found.get("copy_number_used"):
        lines.append("The curve does not move between 1 copy and more: the model answers alike at every "
                     "count from 1, so no threshold is claimed beyond presence.")
    else:
        lines.append(f"Threshold found: {found['copy_threshold']} copies (the smallest count reaching the "
                     f"curve's mid-level {curve['level']:.3f}).")
    lines += ["", "| copies | mean output | 95% CI | n |", "|---|---|---|---|"]
    for c, m, lo, hi, n in zip(curve["counts"], curve["mean"], curve["low"], curve["high"], curve["n"]):
        lines.append(f"| {c} | {'' if m is None else f'{m:.3f}'} | "
                     f"{'' if lo is None else f'[{lo:.3f}, {hi:.3f}]'} | {n} |")
    if dose_png:
        lines += ["", f"![dose curve]({dose_png})"]
    return lines


def write_position_curve(folder: Path, curve: dict, planted_region, found_region) -> str:
    """position_curve.csv and .png: start of the moved motif -> mean output with its 95% band, the
    planted and found regions drawn; returns the figure's name (for report.md's link)."""
    from utils.plots import plot_position_curve

    write_csv(folder / ResultsFolder.POSITION_CSV, ["start", "mean_output", "ci_low", "ci_high", "n_seqs"],
              [curve["starts"].tolist(), curve["mean"], curve["low"], curve["high"], curve["n"].tolist()])
    plot_position_curve(folder / ResultsFolder.POSITION_PNG, curve["starts"], curve["mean"], curve["low"],
                        curve["high"], curve["motif"], planted_region, found_region)
    return ResultsFolder.POSITION_PNG


def position_curve_json(curve: Mapping | None) -> dict | None:
    """summary.json's position curve: the motif moved, each start tested and the mean output there with
    its 95% band and the sequences that could take it (null where none could)."""
    if curve is None:
        return None

    def values(v):
        return [None if not np.isfinite(x) else float(x) for x in np.asarray(v, dtype=np.float64)]

    return {"motif": curve["motif"], "start_definition": "0-based start of the moved instance",
            "starts": [int(v) for v in curve["starts"]], "mean": values(curve["mean"]), "ci_low": values(curve["low"]),
            "ci_high": values(curve["high"]), "n_seqs": [int(v) for v in curve["n"]]}


def phasing_lines(found: Mapping, planted: Mapping) -> list[str]:
    """A phasing rule's reading of the distance curve: the period and phase found, and each turn."""
    if found.get("period") is None:
        head = "The curve shows no period over the planted gaps."      # it does not move
    else:
        head = (f"Period found {found['period']:.2f} bp (planted {planted.get('period'):g}), peaks "
                f"{found['phase']:+.1f} bp from its multiples; a sinusoid of that period explains "
                f"{100 * found['period_fit_explained']:.0f}% of the curve's variance over the planted gaps.")
    if found.get("period") is None:
        return [head + " Re-spacing the pair did not move the model's output, so no turn is claimed."]
    turns = ", ".join(f"{t['multiple']:g} bp {'responds' if t['responds'] else 'silent'}"
                      + (f" ({t['response']:.3f})" if t["response"] is not None else "")
                      for t in found["turns"])
    return [head, "", f"Each turn's in-phase gaps against the curve's mid-level {found['turn_level']:.3f}: "
            f"{turns}."]


def final_line(summary: Mapping, out_dir) -> str:
    """The one line the script prints last."""
    if summary["verdict"] is None:
        return (f"FOUND: {summary['found_rule']['description']} (no planted rule to compare with) "
                f"-> {out_dir}")
    return f"{summary['verdict'].upper()}: {summary['reason']} -> {out_dir}"


def effects_section(found: Mapping) -> list[str]:
    """report.md's table of the global importance analysis: each motif's effect, the pair's
    interaction inside and outside its arrangement, the dose, in the unit they were measured in."""
    effects = found.get("effects")
    if not effects:
        return []
    unit = "logit" if found.get("effects_unit") == "logit" else "the model's output (its own units)"
    lines = ["", "## Effects and interactions (global importance analysis)", "",
             f"Each motif embedded alone in background sequences drawn like the data's, and the pair "
             f"together, in {unit} (paired by background; 95% bootstrap CI; sign-flip p).", "",
             "| term | estimate | 95% CI | p |", "|---|---|---|---|"]
    for m, e in effects.items():
        lines.append(f"| effect of {m} | {_f(e['estimate'])} | [{_f(e['ci_low'])}, {_f(e['ci_high'])}] | "
                     f"{_g(e['p_value'])} |")
    inter = found.get("interaction")
    if inter:
        a, b = inter["pair"]
        for side, text in (("inside", inter["arrangement"]), ("outside", inter["outside_arrangement"])):
            e = inter.get(side)
            if e:
                lines.append(f"| interaction {a} x {b}, {side} ({text.replace('A', a, 1).replace('B', b, 1)}) | "
                             f"{_f(e['estimate'])} | [{_f(e['ci_low'])}, {_f(e['ci_high'])}] | {_g(e['p_value'])} |")
    for m, rows in (found.get("dose") or {}).items():
        for r in rows:
            lines.append(f"| {r['copies']} x {m} | {_f(r['estimate'])} | [{_f(r['ci_low'])}, {_f(r['ci_high'])}] | "
                         f"{_g(r['p_value'])} |")
    return lines


def truth_table_section(found: Mapping) -> list[str]:
    """report.md's truth table of a presence rule: each subset of the positive motifs embedded in
    background sequences, its planted class, the model's mean output with its CI, and whether it lies
    where the planted logic puts it."""
    table = found.get("truth_table")
    if not table:
        return []
    prob = table.get("unit") == "probability"
    head = "| subset | planted class | mean probability | 95% CI | mean logit | agrees |" if prob else \
        "| subset | planted class | mean output | 95% CI | agrees |"
    lines = ["", "## Truth table of the positive motifs", "",
             f"Every subset of {', '.join(table['motifs'])} embedded at the same places in the same "
             f"{table['n_backgrounds']} background sequences (drawn like the data's), the model's mean "
             f"{'probability (and logit)' if prob else 'output'} per subset, 95% bootstrap CI over backgrounds. "
             f"Criterion: {table['criterion']}. "
             + ("The table follows the planted logic." if table["follows"] else f"{table['reason'][0].upper()}"
                                                                                  f"{table['reason'][1:]}."),
             "", head, "|---|---|---|---|" + ("---|---|" if prob else "---|")]
    for r in table["subsets"]:
        cls = {0: "negative", 1: "positive"}.get(r["planted_class"], "")
        cells = [subset_name(r["motifs"]), cls, f"{r['mean']:.3f}" if prob else f"{r['mean']:.4g}",
                 f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]" if prob else f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]"]
        if prob:
            cells.append(_f(r["logit"]["mean"]) if r.get("logit") else "")
        cells.append(str(r["agrees"]))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _output_line(summary: Mapping) -> list[str]:
    """What the model outputs and so the unit of every effect below."""
    kind = summary.get("output_kind")
    if not kind:
        return []
    unit = {"probability": "probability", "logit": "probability (the logit passed through the sigmoid)",
            "value": "the model's own units (a value output is never squashed through a sigmoid)"}[kind]
    return [f"- Model output: a {kind}; effects of the tests are in {unit}"]


def _model_line(summary: dict) -> list[str]:
    """How well the model learned, beside the verdict: its own test auROC, and the separation and
    contrast between the classes on the sequences interpreted here."""
    parts = []
    if summary.get("model_test_auroc") is not None:
        parts.append(f"test auROC {summary['model_test_auroc']:.3f} (its own metrics.json)")
    if summary.get("class_separation") is not None:
        parts.append(f"auROC {summary['class_separation']:.3f} on the sequences interpreted here "
                     f"(a learned rule reaches {summary.get('separation_needed', 0.8):g})")
    if summary.get("class_contrast") is not None:
        parts.append(f"contrast between the classes {summary['class_contrast']:+.3f} (mean probability of "
                     f"the test positives minus negatives)")
    return [f"- Model: {'; '.join(parts)}"] if parts else []


def _threshold_text(calling: Mapping) -> str:
    """The site threshold of a FASTA run, as report.md says it: auto with each motif's score and
    p-value, or FIMO's p-value."""
    per = calling.get("thresholds") or {}
    if calling.get("threshold") == "auto":
        return "threshold auto: " + ", ".join(f"{m} score {t['score']:g} (p {t['pvalue']:.3g})" for m, t in per.items())
    return calling.get("threshold") or f"p <= {calling.get('pvalue')}"


def markdown(summary: Mapping, rows: list[dict], curve_png: str | None = None, scores: list[dict] | None = None,
             results_dir=None, pos_motifs: Iterable[str] = (), scale: str = "", dose_png: str | None = None,
             position_png: str | None = None) -> str:
    """report.md: the verdict (or the rule found), the tests, the distance curve, the maps."""
    planted, found = summary["planted_rule"], summary["found_rule"]
    model_dir, data_dir = summary["model"], summary["data"]
    if summary["verdict"] is None:
        calling = summary.get("site_calling") or {}
        lines = [
            f"# Interpretation of `{model_dir}`", "",
            f"**Rule found:** {found['description']}. No planted rule to compare with, so no test has "
            f"an expected effect and there is no verdict.", "",
            f"- Sequences: `{data_dir}`",
            *_output_line(summary),
            f"- Motif sites: called by scanning ({calling.get('definition', '')}; {_threshold_text(calling)}, "
            f"both strands); sites per motif: {calling.get('sites_per_motif')}",
        ]
    else:
        lines = [
            f"# Interpretation of `{model_dir}`", "",
            f"**Verdict: {summary['verdict']}.** {summary['reason']}.", "",
            f"- Data: `{data_dir}`",
            *_output_line(summary),
            *_model_line(summary),
            f"- Planted rule: {planted['description']}",
            f"- Found: {found['description']}",
        ]
    if found.get("gap_window_error"):
        lines.append(f"- Gap window found {found['gap_window']} vs planted {planted['gap_window']} "
                     f"(error {found['gap_window_error'][0]:+d} / {found['gap_window_error'][1]:+d} bp)")
    if found.get("region_error"):
        lines.append(f"- Region found [{found['region'][0]}, {found['region'][1]}) vs planted "
                     f"[{planted['region'][0]}, {planted['region'][1]}) (error {found['region_error'][0]:+d} / "
                     f"{found['region_error'][1]:+d} bp)")
    expected = ("`expected` is what the planted rule predicts." if summary["verdict"] is not None else
                "with no planted rule, `expected` and `agrees` stay empty.")
    units = summary.get("output_units", "probability")
    unit_text = "probability" if units == "probability" else "the model's output (its own units)"
    kind_note = (f" The model's output is a {summary['output_kind']}: effects are changes in {unit_text}, "
                 f"and the loss is {'squared error' if units == 'value' else 'binary cross-entropy'}."
                 if summary.get("output_kind") else "")
    lines += ["", f"A test is significant when its Benjamini-Hochberg q-value is below "
              f"{summary['alpha']} and the mean change in {unit_text} is at least "
              f"{summary['min_effect']:.4g} ({summary.get('min_effect_definition') or '--min_effect'}); "
              f"{expected}{kind_note}", ""]
    if rows:
        delta = "Δprob" if units == "probability" else "Δoutput"
        lines += [f"| test | motifs | n | mean {delta} | 95% CI | mean Δloss | effect size | p | q | "
                  "significant | expected | agrees |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['test']} | {r['motifs']} | {r['n_seqs']} | {_f(r['mean_delta_output'])} | "
                         f"[{_f(r['ci_low'])}, {_f(r['ci_high'])}] | {_f(r['mean_delta_loss'])} | "
                         f"{_f(r['effect_size'])} | {_g(r['p_value'])} | {_g(r['q_value'])} | "
                         f"{r['significant']} | {r['expected'] or ''} | "
                         f"{'' if r['agrees'] is None else r['agrees']} |")
    else:
        lines.append("No hypothesis test found sequences to perturb.")
    not_run = summary.get("not_run") or []
    if not_run:
        lines += ["", "## Not run", "", "These tests found no sequence to perturb, or do not apply to the rule, "
                  "so they are not rows of the table:", ""]
        for t in not_run:
            motifs = f" ({t['motifs']})" if t["motifs"] else ""
            lines.append(f"- {t['test']}{motifs}: {t['reason']}")
    if curve_png:
        lines += ["", "## Distance response", "",
                  "Mean probability as the downstream motif is moved so the gap takes each value "
                  "(95% bootstrap band over sequences).", ""]
        if found.get("turns"):
            lines += phasing_lines(found, planted) + [""]
        elif not found.get("gap_window"):
            lines += ["The curve does not move: re-spacing the pair did not change the model's "
                      "output, so no gap window is claimed.", ""]
        lines.append(f"![distance curve]({curve_png})")
    lines += dose_section(found, planted, dose_png)
    if position_png:
        lines += ["", "## Position response", "",
                  f"Mean output as the planted {(summary.get('position_curve') or {}).get('motif', 'motif')} is "
                  f"moved to each start (its old place refilled from the background; 95% bootstrap band over "
                  f"sequences).", ""]
        if found.get("region") is None:
            lines += ["The curve does not move: where the motif stands did not change the model's output, "
                      "so no region is claimed.", ""]
        lines.append(f"![position curve]({position_png})")
    lines += effects_section(found)
    lines += truth_table_section(found)
    text = "\n".join(lines) + "\n"
    if scores is not None:
        truth_sites = bool((summary.get("site_calling") or {}).get("source"))      # --truth_sites
        if summary["verdict"] is not None or planted.get("pos_motifs") or truth_sites:
            text += "\n" + attribution_section(scores, results_dir, summary.get("attribution_notes", ()),
                                                pos_motifs, scale)
        else:
            text += "\n" + mass_section(scores, summary.get("attribution_notes", ()), scale)
    return text


def _f(v) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:+.3f}"


def _g(v) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.2g}"


def mass_section(rows: list[dict], notes: Iterable[str] = (), scale: str = "") -> str:
    """The report.md section on attribution maps when there is no planted truth."""
    lines = ["## Where the attribution maps point", "",
             "With no planted truth, each map is summarised by its **attribution mass**: the share "
             "of the total per-position score (|attribution x input|) that falls inside the sites "
             "called for each motif, averaged over the attributed sequences holding such a site. "
             "`site share` is the share of positions those sites cover: a map blind to the motif "
             "would give about that." + (f" Maps explain the model's {scale}." if scale else ""), "",
             "| method | motif | n | attribution mass (mean ± SD) | site share |", "|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['motif']} | {r['n']} | {_pm(r['mass_mean'], r['mass_sd'])} | "
                     f"{r['site_share']:.3f} |")
    lines.append("")
    for note in notes:
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def attribution_section(rows: list[dict], results_dir=None, notes: Iterable[str] = (),
                   pos_motifs: Iterable[str] = (), scale: str = "") -> str:
    """The report.md section on attribution maps (markdown, links relative to the results folder).

    ``results_dir``, when given, is searched for ``attribution_scores.png`` and
    ``logos/*.png`` to link; ``notes`` are the skipped-method notes of :func:`utils.attribution.resolve_methods`.
    """
    motifs = ", ".join(pos_motifs) or "the rule's motifs"
    lines = ["## Attribution maps against the planted sites", ""]
    lines.append(
        f"Each method's map was scored on the attributed positive test sequences: positions "
        f"inside a planted instance of {motifs} are the truth, the per-position score is the "
        f"absolute value of attribution x input (the observed base, as the logos draw it; "
        f"mean-centred for ISM), and auROC / auPRC are computed per "
        f"sequence, then averaged (protocol of Koo and Ploenzke, 2021). Chance auROC is 0.5."
        + (f" Maps explain the model's {scale}." if scale else ""))
    lines.append("")
    if rows:
        lines.append("| method | n | auROC (mean ± SD) | auPRC (mean ± SD) | faithfulness | seconds per sequence |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for r in rows:
            faithful = r.get("faithfulness")
            faithful = "" if faithful is None or not np.isfinite(faithful) else f"{faithful:.3f}"
            lines.append(f"| {r['method']} | {r['n']} | {_pm(r['auroc_mean'], r['auroc_sd'])} | "
                         f"{_pm(r['auprc_mean'], r['auprc_sd'])} | {faithful} | {r['seconds_per_seq']:.4g} |")
        if any(r.get("faithfulness") is not None for r in rows):
            lines += ["", "Faithfulness: the share of these positives whose map *supports* every motif the planted "
                      "rule needs (presence: its logic over the supported motifs); a site is supported when the "
                      "signed sum of attribution x input over it beats the 95th percentile of the same sum over "
                      "the sequence's background windows (utils/faithfulness.py)."]
    else:
        lines.append("No attribution method was run.")
    lines.append("")
    if results_dir is not None:
        folder = Path(results_dir)
        if (folder / ResultsFolder.SCORES_PNG).exists():
            lines += [f"![attribution scores]({ResultsFolder.SCORES_PNG})", ""]
        logos = sorted((folder / ResultsFolder.LOGO_DIR).glob("*.png")) if (folder / ResultsFolder.LOGO_DIR).is_dir() else []
        logos.sort(key=lambda p: not p.stem.endswith("_pos"))   # positives first, stable
        if logos:
            links = ", ".join(f"[{p.stem}]({ResultsFolder.LOGO_DIR}/{p.name})" for p in logos)
            lines += [f"Attribution logos (planted sites shaded, rule motifs in orange): {links}", ""]
    for note in notes:
        lines.append(f"- {note}")
    if notes:
        lines.append("")
    return "\n".join(lines)


def _pm(mean: float, sd: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.3f} ± {sd:.3f}" if np.isfinite(sd) else f"{mean:.3f}"
