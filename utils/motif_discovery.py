"""Motif discovery per attribution method: modisco-lite patterns from each method's maps, matched by TOMTOM.

The second level of truth for an attribution method (the first is localization, in
:mod:`utils.localization`): the pipeline researchers run on real data, attribution maps ->
TF-MoDISco seqlets and patterns -> TOMTOM against a motif database, run on the maps of the
attributed positives, and scored against the planted motifs.

- :func:`hypothetical_contributions` turns one method's map (as :mod:`utils.attribution`
  returns it) into the ``hypothetical_contribs`` modisco takes: what each of the four bases
  would contribute at each position. ISM, saliency, integrated gradients and SQUID give a value
  for every base; the other methods (KernelSHAP, DeepSHAP, GradientSHAP) only the position's
  total, which is placed on the observed base (``hypothetical`` False in the result).
- :func:`discover` runs modisco-lite (``modiscolite.tfmodisco.TFMoDISco``) and matches each
  pattern (its PPM trimmed to the positions carrying :data:`TRIM_THRESHOLD` of its peak
  contribution) by TOMTOM (``memelite.tomtom``) against the motifs in play plus the whole
  library (memelite's p-values take the target columns as their background and are unreliable
  with fewer than 25 targets), q-values by Benjamini-Hochberg over each pattern's targets.
- :func:`write_discovery_outputs` writes ``motifs_<method>.csv``, ``motifs_<method>.meme`` and
  ``motif_logos/<method>_<pattern>.png`` (each pattern's contribution logo beside the planted PWM
  it matches best) into a results folder the caller stages.

Definitions: ``planted_motifs_found`` are the planted motifs that some pattern matches at
q < :data:`MATCH_Q` best among the motifs in play; ``spurious_motifs`` counts the patterns that match no motif in play (the
planted and decoy motifs of the data) at that q, whatever library motif they may resemble.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from utils.motifs import Motif
from utils.stats import benjamini_hochberg

MATCH_Q = 0.05                # a pattern matches a motif at TOMTOM q below this
TRIM_THRESHOLD = 0.3          # a pattern is trimmed to the span whose |contribution| reaches this share of its peak
MIN_SEQLETS = 50              # seqlets of one sign modisco needs (more than this) to cluster them (its default 100)
MAX_SEQLETS = 2000            # seqlets of one sign kept (modisco's default 20,000; the cost is quadratic)
LEIDEN_RUNS = 10              # Leiden clusterings per step (modisco's default 50); seeds 0..9, so deterministic
FINAL_MIN_CLUSTER = 20        # seqlets a pattern needs (modisco's default)
HYPOTHETICAL_METHODS = ("ism", "saliency", "integrated_gradients", "squid")
CSV_COLUMNS = ["pattern", "sign", "n_seqlets", "length", "consensus", "best_match", "best_q", "best_in_play",
               "best_in_play_q", "planted_match", "spurious", "matches"]


@dataclass(frozen=True)
class Pattern:
    """One modisco pattern, trimmed, and its TOMTOM matches.

    ``ppm`` and ``cwm``: (w, 4) over ACGT (base frequencies of its seqlets; their mean contribution);
    ``matches``: (motif, q) of every target at q < MATCH_Q, best first; ``best_in_play``: the motif in
    play with the lowest q (matched or not) and its ``strand`` ('+' or '-') and ``offset`` in TOMTOM's
    best alignment."""
    name: str
    sign: str
    n_seqlets: int
    ppm: np.ndarray
    cwm: np.ndarray
    best_match: str | None
    best_q: float
    best_in_play: str | None
    best_in_play_q: float
    strand: str
    matches: tuple
    q_of: dict = field(default_factory=dict)     # motif in play -> q

    @property
    def consensus(self) -> str:
        return "".join("ACGT"[i] for i in self.ppm.argmax(axis=1))

    def finds(self, motif: str) -> bool:
        """``motif`` is this pattern's best match among the motifs in play, at q < MATCH_Q."""
        return self.best_in_play == motif and self.best_in_play_q < MATCH_Q

    def matches_in(self, names: Iterable[str]) -> bool:
        wanted = set(names)
        return any(m in wanted for m, _ in self.matches)


@dataclass
class Discovery:
    """What modisco + TOMTOM found in one method's maps."""
    method: str
    n_seqs: int
    hypothetical: bool
    seqlets: dict                       # sign -> seqlets modisco called
    patterns: list
    planted: list                       # the planted motifs scored
    in_play: list                       # the motifs of the data (planted and decoys)
    seconds: float
    notes: list = field(default_factory=list)

    @property
    def planted_found(self) -> list[str]:
        """Planted motifs that are some pattern's best match among the motifs in play, at q < MATCH_Q
        (best, not any: a pattern of a decoy that resembles a planted motif matches both)."""
        return [m for m in self.planted if any(p.finds(m) for p in self.patterns)]

    @property
    def spurious(self) -> int:
        return sum(1 for p in self.patterns if not p.matches_in(self.in_play))

    def best_q(self) -> dict:
        """Planted motif -> the lowest TOMTOM q of any pattern against it (None without patterns)."""
        out = {}
        for m in self.planted:
            qs = [p.q_of[m] for p in self.patterns if m in p.q_of]
            out[m] = min(qs) if qs else None
        return out

    def score_columns(self) -> dict:
        """The columns this method gains in attribution_scores.csv."""
        best = self.best_q()
        return {"motif_patterns": len(self.patterns), "planted_motifs_found": len(self.planted_found),
                "spurious_motifs": self.spurious,
                "motif_best_q": ";".join(f"{m}={_q_text(q)}" for m, q in best.items()),
                "discovery_seconds": round(self.seconds, 3)}

    def summary(self) -> dict:
        """summary.json's ``motif_discovery[method]``."""
        return {"n_seqs": self.n_seqs, "hypothetical_contributions": self.hypothetical,
                "seqlets": dict(self.seqlets), "patterns": len(self.patterns),
                "planted_motifs_found": self.planted_found, "n_planted_motifs_found": len(self.planted_found),
                "spurious_motifs": self.spurious, "best_q": self.best_q(), "seconds": round(self.seconds, 3),
                "notes": list(self.notes)}


def _q_text(q) -> str:
    return "" if q is None or not math.isfinite(q) else f"{q:.3g}"


# ----------------------------------------------------------------------------- the maps modisco takes
def hypothetical_contributions(method: str, attributions: np.ndarray, onehot: np.ndarray,
                               background=None, gradient_correction: bool = False) -> tuple[np.ndarray, bool]:
    """One method's map -> (hypothetical contributions (N, L, 4) float32, whether they are hypothetical).

    ``attributions``, ``onehot``: (N, L, 4) as :func:`utils.attribution.run_attributions` gives them.
    - ism: the change of output with each base, centred over the four bases at each position (the
      observed base then holds what the logos draw, :func:`utils.localization.observed_base_map`);
    - saliency: the gradient ``g``; integrated gradients: its path-averaged gradient ``g = A / (x - r)``
      (``r`` the background, the reference). Both as DeepLIFT's hypothetical scores, ``g - r . g``: the
      contribution base b would make against the reference (at the observed base it is the position's
      total attribution);
    - squid: its additive weights, already centred over the four bases;
    - every other method, and integrated gradients after ``gradient_correction`` (which removes the
      per-position total), gives no value for absent bases: the position's total attribution sits on
      the observed base and the other three are 0 (modisco then clusters on contributions alone).
    """
    a = np.asarray(attributions, dtype=np.float64)
    x = np.asarray(onehot, dtype=np.float64)
    r = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    if method == "ism":
        return (a - a.mean(axis=-1, keepdims=True)).astype(np.float32), True
    if method == "squid":
        return a.astype(np.float32), True
    if method == "saliency":
        return (a - (a @ r)[..., None]).astype(np.float32), True
    if method == "integrated_gradients" and not gradient_correction:
        step = x - r
        g = np.divide(a, step, out=np.zeros_like(a), where=np.abs(step) > 1e-6)
        return (g - (g @ r)[..., None]).astype(np.float32), True
    return (x * a.sum(axis=-1, keepdims=True)).astype(np.float32), False


# ----------------------------------------------------------------------------- modisco + TOMTOM
def trim(cwm: np.ndarray, threshold: float = TRIM_THRESHOLD) -> slice:
    """The span of positions whose |contribution| (summed over bases) reaches ``threshold`` of the peak."""
    score = np.abs(np.asarray(cwm)).sum(axis=1)
    keep = np.flatnonzero(score >= threshold * score.max()) if score.max() > 0 else np.arange(len(score))
    return slice(int(keep[0]), int(keep[-1]) + 1)


def match_targets(in_play: Sequence[Motif], library: Mapping[str, Motif]) -> list[Motif]:
    """TOMTOM's targets: the motifs in play, then every library motif of another name."""
    names = {m.name for m in in_play}
    return list(in_play) + [m for n, m in library.items() if n not in names]


def _run_modisco(onehot: np.ndarray, hyp: np.ndarray):
    import contextlib
    import io

    from modiscolite.tfmodisco import TFMoDISco

    with contextlib.redirect_stdout(io.StringIO()):
        return TFMoDISco(one_hot=onehot.astype(np.float32), hypothetical_contribs=hyp.astype(np.float32),
                         min_metacluster_size=MIN_SEQLETS, max_seqlets_per_metacluster=MAX_SEQLETS,
                         n_leiden_runs=LEIDEN_RUNS, final_min_cluster_size=FINAL_MIN_CLUSTER, verbose=False)


def _tomtom(queries: list[np.ndarray], targets: list[Motif]):
    import warnings

    from memelite import tomtom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, _, offsets, _, strands = tomtom([q.T.astype(np.float64) for q in queries],
                                           [t.pwm.T.astype(np.float64) for t in targets])
    return np.asarray(p, dtype=np.float64), np.asarray(offsets), np.asarray(strands)


def _count_seqlets(onehot: np.ndarray, hyp: np.ndarray) -> dict:
    """Seqlets of each sign, as TFMoDISco calls them (for the note when it finds too few)."""
    from modiscolite import extract_seqlets

    contrib = (onehot * hyp).sum(axis=2)
    window, flank = 21, 10
    coords, threshold = extract_seqlets.extract_seqlets(
        attribution_scores=contrib, window_size=window, flank=flank, suppress=int(0.5 * window) + flank,
        target_fdr=0.2, min_passing_windows_frac=0.03, max_passing_windows_frac=0.2,
        weak_threshold_for_counting_sign=0.8)
    pos = neg = 0
    for c in coords:
        s = contrib[c.example_idx, c.start + flank:c.end - flank].sum()
        pos += s > threshold
        neg += s < -threshold
    return {"positive": int(pos), "negative": int(neg)}


def discover(method: str, hyp: np.ndarray, onehot: np.ndarray, in_play: Sequence[Motif],
             planted: Sequence[str], library: Mapping[str, Motif], hypothetical: bool = True) -> Discovery:
    """modisco-lite on one method's hypothetical contributions, each pattern matched by TOMTOM.

    ``hyp``, ``onehot``: (N, L, 4) of the attributed positives; ``in_play``: the motifs of the data;
    ``planted``: the names scored as planted (the rule's positive motifs); ``library``: name -> Motif
    (e.g. :func:`utils.motifs.load_library`), matched as well so the p-values have a background."""
    start = time.perf_counter()
    x = np.asarray(onehot, dtype=np.float32)
    notes: list[str] = []
    patterns: list[Pattern] = []
    seqlets = {"positive": 0, "negative": 0}
    if len(x) == 0:
        notes.append("no attributed positive: nothing to discover")
        return Discovery(method, 0, hypothetical, seqlets, patterns, list(planted), [m.name for m in in_play],
                         time.perf_counter() - start, notes)
    seqlets = _count_seqlets(x, np.asarray(hyp, dtype=np.float32))
    pos, neg = _run_modisco(x, np.asarray(hyp, dtype=np.float32))
    raw = [("positive", p) for p in (pos or [])] + [("negative", p) for p in (neg or [])]
    for sign in ("positive", "negative"):
        found = sum(1 for s, _ in raw if s == sign)
        if found == 0 and sign == "negative" and seqlets[sign] == 0:
            continue                    # a map with no negative contribution: nothing to say
        if seqlets[sign] <= MIN_SEQLETS and found == 0:
            notes.append(f"{sign} contributions: {seqlets[sign]} seqlets, too few to cluster (modisco-lite "
                         f"needs more than {MIN_SEQLETS})"
                         + ("; attribute more positives (--num_attr_seqs)" if sign == "positive" else ""))
        elif found == 0:
            notes.append(f"{sign} contributions: {seqlets[sign]} seqlets formed no pattern of at least "
                         f"{FINAL_MIN_CLUSTER} seqlets")
    targets = match_targets(in_play, library)
    play = {m.name for m in in_play}
    if raw:
        spans = [trim(p.contrib_scores) for _, p in raw]
        ppms = [np.asarray(p.sequence, dtype=np.float64)[s] for (_, p), s in zip(raw, spans)]
        cwms = [np.asarray(p.contrib_scores, dtype=np.float64)[s] for (_, p), s in zip(raw, spans)]
        pvals, _, strands = _tomtom(ppms, targets)
        counters = {"positive": 0, "negative": 0}
        for k, ((sign, p), ppm, cwm) in enumerate(zip(raw, ppms, cwms)):
            q = benjamini_hochberg(np.nan_to_num(pvals[k], nan=1.0))
            order = np.argsort(q, kind="stable")
            play_idx = [j for j in order if targets[j].name in play]
            j_play = play_idx[0] if play_idx else None
            name = f"{'pos' if sign == 'positive' else 'neg'}_{counters[sign]}"
            counters[sign] += 1
            pat = Pattern(name, sign, len(p.seqlets), ppm, cwm, targets[order[0]].name, float(q[order[0]]),
                          targets[j_play].name if j_play is not None else None,
                          float(q[j_play]) if j_play is not None else float("nan"),
                          "-" if j_play is not None and int(strands[k, j_play]) == 1 else "+",
                          tuple((targets[j].name, float(q[j])) for j in order if q[j] < MATCH_Q),
                          {targets[j].name: float(q[j]) for j in play_idx})
            patterns.append(pat)
    return Discovery(method, len(x), hypothetical, seqlets, patterns, list(planted), sorted(play),
                     time.perf_counter() - start, notes)


def discover_all(attributed: Mapping[str, tuple], onehot: np.ndarray, labels: np.ndarray,
                 in_play: Sequence[Motif], planted: Sequence[str], library: Mapping[str, Motif],
                 background=None, gradient_correction: bool = False, quiet: bool = True) -> dict[str, Discovery]:
    """:func:`discover` for every method's maps of the attributed positives (``labels == 1``) ->
    {method: Discovery}. ``attributed``: {method: (attributions (N, L, 4), seconds)}."""
    from utils.cli import say

    positives = np.flatnonzero(np.asarray(labels) == 1)
    x = np.asarray(onehot, dtype=np.float32)[positives]
    out = {}
    for method, (attributions, _) in attributed.items():
        hyp, hypothetical = hypothetical_contributions(method, np.asarray(attributions)[positives], x,
                                                       background, gradient_correction)
        found = discover(method, hyp, x, in_play, planted, library, hypothetical)
        if not hypothetical:
            found.notes.append(f"{method} gives no value for absent bases: modisco clustered its contributions "
                               f"(the observed bases) alone")
        out[method] = found
        say(f"motif discovery ({method}): {len(found.patterns)} patterns, planted found "
            f"{', '.join(found.planted_found) or 'none'}, {found.spurious} spurious, {found.seconds:.1f} s", quiet)
    return out


# ----------------------------------------------------------------------------- files
def meme_text(patterns: Sequence[Pattern], method: str) -> str:
    """MEME minimal format of the patterns' PPMs (what TOMTOM, FIMO and modisco read)."""
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for p in patterns:
        lines += [f"MOTIF {method}_{p.name} {p.consensus}",
                  f"letter-probability matrix: alength= 4 w= {len(p.ppm)} nsites= {p.n_seqlets} E= 0", ]
        lines += [" ".join(f"{v:.6f}" for v in row) for row in p.ppm]
        lines.append("")
    return "\n".join(lines)


def csv_rows(found: Discovery) -> list[dict]:
    """motifs_<method>.csv: one row per pattern, :data:`CSV_COLUMNS`."""
    planted = set(found.planted)
    return [{"pattern": p.name, "sign": p.sign, "n_seqlets": p.n_seqlets, "length": len(p.ppm),
             "consensus": p.consensus, "best_match": p.best_match, "best_q": _q_text(p.best_q),
             "best_in_play": p.best_in_play or "", "best_in_play_q": _q_text(p.best_in_play_q),
             "planted_match": p.best_in_play if p.best_in_play in planted and p.finds(p.best_in_play) else "",
             "spurious": not p.matches_in(found.in_play),
             "matches": ";".join(f"{m}={_q_text(q)}" for m, q in p.matches)} for p in found.patterns]


def write_discovery_outputs(folder, discoveries: Mapping[str, Discovery], motifs: Mapping[str, Motif]) -> dict:
    """Write motifs_<method>.csv / .meme and motif_logos/<method>_<pattern>.png into ``folder`` (staged
    by the caller); returns {method: [logo file names relative to folder]} for report.md."""
    from utils import plots
    from utils.folders import ResultsFolder
    from utils.io import write_rows, write_text

    out = Path(folder)
    logos: dict = {}
    for method, found in discoveries.items():
        write_rows(out / ResultsFolder.motifs_csv(method), CSV_COLUMNS, csv_rows(found))
        write_text(out / ResultsFolder.motifs_meme(method), meme_text(found.patterns, method))
        logos[method] = []
        for p in found.patterns:
            (out / ResultsFolder.MOTIF_LOGO_DIR).mkdir(exist_ok=True)
            partner = motifs.get(p.best_in_play) if p.best_in_play else None
            pwm = partner.pwm if partner is not None else None
            if pwm is not None and p.strand == "-":
                pwm = pwm[::-1, ::-1]
            name = f"{ResultsFolder.MOTIF_LOGO_DIR}/{method}_{p.name}.png"
            title = (f"{method} {p.name} ({p.n_seqlets} seqlets)"
                     + (f" vs {p.best_in_play} ({p.strand}, q {_q_text(p.best_in_play_q)})" if pwm is not None else ""))
            plots.plot_pattern_logo(out / name, p.cwm, pwm, title=title)
            logos[method].append(name)
    return logos


def report_section(discoveries: Mapping[str, Discovery], logos: Mapping[str, list] | None = None) -> str:
    """report.md's section: per method the planted motifs found, spurious patterns, best q, notes, logos."""
    lines = ["## Motif discovery per method", "",
             f"modisco-lite on each method's maps of the attributed positives (hypothetical contributions where "
             f"the method gives them), each pattern trimmed and matched by TOMTOM (memelite) against the motifs "
             f"in play and the library, q by Benjamini-Hochberg over each pattern's targets. A planted motif is "
             f"*found* when a pattern matches it at q < {MATCH_Q}, better than any other motif in play; a pattern is *spurious* when it matches no "
             f"motif in play.", "",
             "| method | n | seqlets (+/-) | patterns | planted found | spurious | best q per planted motif | seconds |",
             "|---|---:|---:|---:|---|---:|---|---:|"]
    for method, d in discoveries.items():
        best = ", ".join(f"{m} {_q_text(q) or 'n/a'}" for m, q in d.best_q().items())
        lines.append(f"| {method} | {d.n_seqs} | {d.seqlets.get('positive', 0)}/{d.seqlets.get('negative', 0)} | "
                     f"{len(d.patterns)} | {', '.join(d.planted_found) or 'none'} | {d.spurious} | {best} | "
                     f"{d.seconds:.1f} |")
    lines.append("")
    for method, d in discoveries.items():
        for note in d.notes:
            lines.append(f"- {method}: {note}")
    lines.append("")
    for method, names in (logos or {}).items():
        for name, p in zip(names, discoveries[method].patterns):
            lines += [f"**{method} {p.name}** ({p.sign}, {p.n_seqlets} seqlets, {p.consensus}; best match "
                      f"{p.best_match} q {_q_text(p.best_q)})", "", f"![{method} {p.name}]({name})", ""]
    return "\n".join(lines)
