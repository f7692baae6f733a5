"""What Interpret_models.py runs on the inputs :func:`utils.interpretation.resolve_inputs` gathered:
the perturbation experiments and their verdict (:func:`run`), the attribution methods on the
picked test sequences and, for an order rule, on the same positives with their motifs swapped
(:func:`attribute`), and the results folder (:func:`write_results`, staged and moved in whole).

Sequences of mixed lengths (a model that takes any length) are one-hot encoded in batches of one
length (:func:`utils.interpretation.length_batches`); the experiments pool every length, while
the curves, the effects in background sequences and the attribution maps use the most common
length (:func:`utils.perturb.main_length`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from utils import attribution, attribution_outputs, evaluate, faithfulness, gia, io as dio, models, \
    motif_discovery, perturb, report
from utils import motifs as motiflib
from utils.encoding import one_hot
from utils.folders import ResultsFolder
from utils.interpretation import InterpretationInputs, length_batches


@dataclass(frozen=True)
class Settings:
    """The run's settings from the command line (Interpret_models.py's flags)."""
    num_perturbs: int
    num_seqs: int
    seed: int = 0
    tests: tuple | None = None        # --tests (None: every one that applies)
    alpha: float = 0.05
    min_effect: float | str = "auto"
    pair: tuple | None = None         # --pair, for sequences without a planted rule
    quiet: bool = True
    overwrite: bool = False
    data: str = ""                    # the sequences as the user named them (summary.json's data)
    truth_given: bool = False         # --truth_sites: localization is scored against the user's sites
    score_mode: str = "input"
    reference: str = attribution.REFERENCE
    gradient_correction: bool = False


@dataclass
class TestArrays:
    """The test sequences one-hot: one (n, L, 4) array per length, and the main length's."""
    xs: list[np.ndarray]
    x: np.ndarray                     # the main length's sequences
    main_rows: np.ndarray             # their rows among the test sequences


@dataclass
class Findings:
    """The experiments' outcome: the battery, the annotated rows and the verdict record."""
    battery: perturb.Battery
    rows: list[dict]
    verdict: dict


@dataclass
class Attributed:
    """The attribution maps of the picked test sequences, and of an order rule's swapped positives."""
    ids: list[str] = field(default_factory=list)
    x: np.ndarray | None = None
    labels: np.ndarray | None = None
    maps: dict = field(default_factory=dict)              # method -> (n, L, 4)
    swapped: faithfulness.Swapped | None = None
    swapped_maps: dict | None = None


def test_arrays(inp: InterpretationInputs) -> TestArrays:
    index = {sid: k for k, sid in enumerate(inp.sequences.ids)}
    seqs = [inp.sequences.seqs[index[i]] for i in inp.test_ids]
    batches = length_batches(seqs)          # one, unless a model of any length takes mixed lengths
    xs = [one_hot([seqs[k] for k in rows]) for rows in batches]
    main = perturb.main_length(xs)
    return TestArrays(xs, xs[main], np.asarray(batches[main]))


def run(inp: InterpretationInputs, arrays: TestArrays, s: Settings) -> Findings:
    """The battery on the test sequences, the effects in background sequences (``interactions``),
    a presence rule's truth table, and the verdict."""
    predictor, rule, seqs = inp.predictor, inp.sequences.rule, inp.sequences
    x = arrays.x
    battery = perturb.run_battery(predictor, x if len(arrays.xs) == 1 else arrays.xs, inp.labels,
                                  [inp.sites.get(i, []) for i in inp.test_ids], inp.plan, inp.motifs, inp.background,
                                  s.num_perturbs, s.num_seqs, s.seed, sampling=seqs.sampling, quiet=s.quiet,
                                  base_prob=inp.base_prob, target=inp.targets, thresholds=seqs.match_thresholds,
                                  strands_both=seqs.strand == "both")
    measured = None
    if s.tests is None or "interactions" in s.tests:
        activity = rule.activity if rule is not None else None
        measured = gia.measure(predictor, inp.motifs, rule, gia.pair_of(rule, s.pair), inp.background,
                               x.shape[1], n=s.num_seqs, seed=s.seed, sampling=seqs.sampling,
                               thresholds=seqs.match_thresholds,
                               max_copies=activity.max_copies if activity is not None else 1,
                               dose_motifs=tuple(rule.pos_motifs) if activity is not None else ())
    table = None
    if inp.plan.truth_table:
        tabled = rule.pos_motifs[:gia.MAX_TABLE_MOTIFS]
        if all(m in {t.name for t in inp.motifs} for m in tabled):      # --motifs may leave one out
            table = gia.truth_table(predictor, inp.motifs, tabled, inp.background, x.shape[1], n=s.num_seqs,
                                    seed=s.seed, sampling=seqs.sampling, thresholds=seqs.match_thresholds,
                                    rule=rule)
    min_effect, min_effect_text = evaluate.resolve_min_effect(s.min_effect, battery.output_kind, battery.output_sd)
    rows = evaluate.annotate(battery.rows, rule, s.alpha, min_effect)
    verdict = evaluate.verdict(rows, rule, battery.curve, s.alpha, min_effect, battery.not_run,
                               battery.contrast, separation=battery.separation, measured=measured,
                               output_kind=battery.output_kind, truth_table=table, dose_curve=battery.dose,
                               position_curve=battery.position_curve)
    verdict.update(output_kind=battery.output_kind, output_units=models.effect_unit(battery.output_kind),
                   min_effect_definition=min_effect_text)
    return Findings(battery, rows, verdict)


def attribute(inp: InterpretationInputs, arrays: TestArrays, num_attr_seqs: int, quiet: bool = True,
              **options) -> Attributed:
    """Each method of ``inp.methods`` on ``num_attr_seqs`` test sequences of the main length
    (positives first: :func:`utils.attribution.pick_attribution_seqs`); an order rule's
    positives are attributed again with their motifs swapped (:mod:`utils.faithfulness`).
    ``options``: the methods' settings (background_dist, seed, window, nsamples, ...)."""
    if not inp.methods:
        return Attributed()
    y = inp.labels
    local = attribution.pick_attribution_seqs(y[arrays.main_rows], num_attr_seqs)
    pick = arrays.main_rows[local]
    ids = [inp.test_ids[k] for k in pick]
    x = arrays.x[local]
    maps = attribution.run_attributions(inp.predictor, x, ids, inp.methods, quiet=quiet, **options)
    swapped = faithfulness.swapped_positives(inp.sequences.rule, ids, y[pick], inp.sites, x)
    swapped_maps = None if swapped is None else \
        faithfulness.attribute_swapped(inp.predictor, swapped, maps, **options)
    return Attributed(ids, x, y[pick], maps, swapped, swapped_maps)


def discover(inp: InterpretationInputs, attributed: Attributed, motif_db: str | None, s: Settings) -> dict:
    """--discover_motifs: modisco-lite patterns of each method's maps matched against the motifs in
    play and the library (:mod:`utils.motif_discovery`); a note when no method ran."""
    if not attributed.maps:
        inp.notes.append("--discover_motifs: no attribution method ran, so there are no maps to discover motifs in")
        return {}
    return motif_discovery.discover_all(
        attributed.maps, attributed.x, attributed.labels, inp.motifs, truth_motifs(inp),
        motiflib.load_library(motif_db or "encode"), background=inp.background,
        gradient_correction=s.gradient_correction, quiet=s.quiet)


def truth_motifs(inp: InterpretationInputs) -> list[str]:
    """The motifs localization is scored against: the planted rule's, else every motif in play."""
    rule = inp.sequences.rule
    return list(rule.pos_motifs) if rule is not None else [m.name for m in inp.motifs]


def write_results(inp: InterpretationInputs, findings: Findings, attributed: Attributed, discovered: dict,
                  s: Settings) -> dict:
    """Every output of the results folder (docs/files.md), written in a staged folder moved in whole
    -> summary.json's record."""
    rule, battery, verdict, rows = inp.sequences.rule, findings.battery, findings.verdict, findings.rows
    scale = attribution.output_scale(inp.predictor)
    truth = rule is not None or s.truth_given
    scores = None
    with dio.staged_dir(inp.out_dir, overwrite=s.overwrite) as tmp:
        if inp.site_calling is not None and "source" not in inp.site_calling:   # the called sites, for the user to check
            dio.write_text(tmp / ResultsFolder.CALLED_SITES, motiflib.called_sites_bed(
                inp.sites, inp.test_ids, dict(zip(inp.sequences.ids, inp.sequences.seqs)), inp.motifs,
                inp.background))
        dio.write_csv(tmp / ResultsFolder.INTERPRETATION, evaluate.VERDICT_COLUMNS,
                      [[r[c] for r in rows] for c in evaluate.VERDICT_COLUMNS])
        curve_png = dose_png = position_png = None
        if battery.curve is not None:
            spans = [(min(t["gaps"]), max(t["gaps"])) for t in verdict["found_rule"].get("turns", []) if t["gaps"]]
            curve_png = report.write_distance_curve(tmp, battery.curve, rule.gap_window if rule is not None else None,
                                                    spans or None)
        if battery.dose is not None:
            dose_png = report.write_dose_curve(tmp, battery.dose, verdict["found_rule"], battery.output_kind)
        if battery.position_curve is not None:
            position_png = report.write_position_curve(tmp, battery.position_curve, rule.region,
                                                       verdict["found_rule"].get("region"))
            verdict["position_curve"] = report.position_curve_json(battery.position_curve)
        if attributed.maps:
            scores = attribution_outputs.write_attribution_outputs(
                tmp, attributed.ids, attributed.x, attributed.labels, inp.sites, truth_motifs(inp), truth,
                attributed.maps, scale=scale, quiet=s.quiet, score_mode=s.score_mode, rule=rule,
                discovery={m: d.score_columns() for m, d in discovered.items()}, swapped=attributed.swapped,
                swapped_maps=attributed.swapped_maps)
        motif_logos = motif_discovery.write_discovery_outputs(tmp, discovered, {m.name: m for m in inp.motifs}) \
            if discovered else {}
        summary = report.summary(
            verdict, model=str(inp.model.path), data=s.data or str(inp.sequences.directory),
            n_test_seqs=len(inp.test_ids), num_perturbs=s.num_perturbs, seed=s.seed,
            model_kind=getattr(inp.predictor, "kind", None), metrics=inp.model.metrics,
            site_calling=inp.site_calling, scores=scores, truth=truth, notes=inp.notes,
            discovery={m: d.summary() for m, d in discovered.items()},
            attribution_settings={"reference": s.reference, "num_references": attribution.DEEP_BACKGROUND,
                                  "gradient_correction": s.gradient_correction, "score_mode": s.score_mode,
                                  # a model read on both strands (models.RCAveraged): each map the mean of both
                                  "strands": "both" if hasattr(inp.predictor, "strand") else "one"})
        dio.write_json(tmp / ResultsFolder.SUMMARY, summary)
        text = report.markdown(summary, rows, curve_png, scores, tmp, truth_motifs(inp), scale, dose_png,
                               position_png)
        if discovered:
            text += "\n" + motif_discovery.report_section(discovered, motif_logos)
        dio.write_text(tmp / ResultsFolder.REPORT, text)
    return summary
